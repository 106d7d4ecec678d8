"""Pixel agreement of export -> import for every format, and of our polygon files read by the other tools' rasterisers.

Three sets of label maps:
  photos  the real photo masks of resources/photo_eval (9 images, object borders marked ignore)
  shapes  the synthetic shapes benchmark (core.data.shapes, test split: overlapping shapes, clutter)
  blobs   smoothed noise cut into 4 classes: many regions, holes, islands in holes, one-pixel necks (a worst case)

Rows:
  zerolabel import       export with core.formats, import with core.formats (what `zerolabel import` gives)
  Ultralytics rule       our YOLO txt read as Ultralytics' polygon2mask does: float32 scale, int32 cast,
                         cv2.fillPoly, lines painted in file order
  labelme rule           our LabelMe JSON read as labelme's shape_to_mask does: PIL ImageDraw.polygon with
                         outline and fill, shapes painted in order (labelme2voc)
  pycocotools            our COCO JSON decoded by pycocotools (annToMask; RLE and polygons), largest first;
                         only when pycocotools is importable

Agreement = equal pixels / pixels, over the pixels that are not ignore in the original (YOLO and COCO carry no
ignore; LabelMe and our own import keep it). Holes = hole borders in the original masks.

Usage:
    python bench/polygon_roundtrip.py
Writes bench/results/polygon_roundtrip.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter, LayoutDataset
from core.data.shapes import ShapesConfig, make_sample, make_spec
from core.formats import export_dataset, import_dataset

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "polygon_roundtrip.md"


def photo_masks() -> tuple[list[str], dict[str, np.ndarray]]:
    ds = LayoutDataset(ROOT / "resources" / "photo_eval")
    return list(ds.classes), {i: ds.label(i) for s in ds.splits() for i in ds.ids(s)}


def shape_masks(n: int = 40) -> tuple[list[str], dict[str, np.ndarray]]:
    cfg = ShapesConfig(size=128, seed=3)
    spec = make_spec(cfg)
    return ["background", *spec.classes], {f"s{k:03d}": make_sample(cfg, spec, "test", k)[1] for k in range(n)}


def blob_masks(n: int = 20) -> tuple[list[str], dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = {}
    for k in range(n):
        f = cv2.GaussianBlur(rng.random((160, 200)).astype(np.float32), (0, 0), 2.5)
        out[f"b{k:03d}"] = np.digitize(f, np.quantile(f, [0.35, 0.6, 0.8])).astype(np.uint8)
    return ["background", "a", "b", "c"], out


def holes(masks: dict[str, np.ndarray]) -> int:
    count = 0
    for labels in masks.values():
        for value in np.unique(labels):
            if value in (0, 255):
                continue
            _, hierarchy = cv2.findContours((labels == value).astype(np.uint8), cv2.RETR_CCOMP,
                                            cv2.CHAIN_APPROX_SIMPLE)
            count += 0 if hierarchy is None else int((hierarchy[0][:, 3] != -1).sum())
    return count


def agreement(truth: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> tuple[float, int]:
    same = total = 0
    for key, labels in truth.items():
        keep = labels != 255
        same += int((got[key][keep] == labels[keep]).sum())
        total += int(keep.sum())
    return same / total, total - same


def ultralytics_rule(folder: Path, shapes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    out = {}
    for key, (h, w) in shapes.items():
        labels = np.zeros((h, w), np.uint8)
        path = next(folder.glob(f"labels/*/{key}.txt"))
        for line in path.read_text().splitlines():
            cls, *coords = line.split()
            seg = np.array(coords, np.float32).reshape(-1, 2) * np.array([w, h], np.float32)
            mask = np.zeros((h, w), np.uint8)
            cv2.fillPoly(mask, [np.asarray(seg, dtype=np.int32)], 1)
            labels[mask.astype(bool)] = int(cls) + 1
        out[key] = labels
    return out


def labelme_rule(folder: Path, names: list[str]) -> dict[str, np.ndarray]:
    value = {n: i for i, n in enumerate(names)} | {"__ignore__": 255}
    out = {}
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text())
        labels = np.zeros((doc["imageHeight"], doc["imageWidth"]), np.uint8)
        for shape in doc["shapes"]:
            mask = Image.fromarray(np.zeros(labels.shape, np.uint8))
            ImageDraw.Draw(mask).polygon([tuple(p) for p in shape["points"]], outline=1, fill=1)
            labels[np.asarray(mask).astype(bool)] = value[shape["label"]]
        out[path.stem] = labels
    return out


def pycocotools_rule(folder: Path) -> dict[str, np.ndarray] | None:
    try:
        from pycocotools import mask as cocomask
    except ImportError:
        return None
    out = {}
    for path in sorted((folder / "annotations").glob("*.json")):
        doc = json.loads(path.read_text())
        anns: dict[int, list[dict]] = {}
        for ann in doc["annotations"]:
            anns.setdefault(ann["image_id"], []).append(ann)
        for image in doc["images"]:
            h, w = image["height"], image["width"]
            labels = np.zeros((h, w), np.uint8)
            for ann in sorted(anns.get(image["id"], []), key=lambda a: -a["area"]):
                seg = ann["segmentation"]
                rle = cocomask.merge(cocomask.frPyObjects(seg, h, w)) if isinstance(seg, list) else seg
                labels[cocomask.decode(rle).astype(bool)] = ann["category_id"]
            out[Path(image["file_name"]).stem] = labels
    return out


def run_set(name: str, names: list[str], masks: dict[str, np.ndarray], work: Path, rows: list[str]) -> None:
    src = work / f"{name}-ds"
    with DatasetWriter(src, LabelMap.from_names(names)) as writer:
        for key, labels in masks.items():
            writer.add(key, np.zeros((*labels.shape, 3), np.uint8), labels, split="test")
    shapes = {k: v.shape for k, v in masks.items()}
    prefix = f"| {name} ({len(masks)} images, {holes(masks)} holes)"
    for fmt, options in (("cvat", {}), ("coco", {}), ("coco", {"masks": "polygon"}), ("yolo-seg", {}),
                         ("labelme", {})):
        label = fmt + (" polygons" if options else (" RLE" if fmt == "coco" else ""))
        base = work / f"{name}-{label.replace(' ', '-')}"
        out = base / "task.zip" if fmt == "cvat" else base
        export_dataset(src, fmt, out, **options)
        import_dataset(out, fmt, work / f"{base.name}-back")
        back = LayoutDataset(work / f"{base.name}-back")
        rate, wrong = agreement(masks, {k: back.label(k) for k in masks})
        rows.append(f"{prefix} | {label} | zerolabel import | {100 * rate:.4f} % | {wrong} |")
        other = None
        if fmt == "yolo-seg":
            other, rule = ultralytics_rule(out, shapes), "Ultralytics rule"
        elif fmt == "labelme":
            other, rule = labelme_rule(out, names), "labelme rule"
        elif fmt == "coco":
            other, rule = pycocotools_rule(out), "pycocotools"
        if other is not None:
            rate, wrong = agreement(masks, other)
            rows.append(f"{prefix} | {label} | {rule} | {100 * rate:.4f} % | {wrong} |")
        print(rows[-1], file=sys.stderr)


def main() -> None:
    rows = ["| label maps | format | read by | pixel agreement | pixels differing |", "|---|---|---|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, (names, masks) in (("photos", photo_masks()), ("shapes", shape_masks()), ("blobs", blob_masks())):
            run_set(name, names, masks, Path(tmp), rows)
    try:
        from importlib.metadata import version

        coco = f"pycocotools {version('pycocotools')}"
    except Exception:  # noqa: BLE001 - any failure means: not installed
        coco = "pycocotools not installed (its rows left out)"
    text = ("# Format round trips: pixel agreement\n\nCommand: `python bench/polygon_roundtrip.py` "
            f"({coco}; OpenCV {cv2.__version__}, Pillow {Image.__version__})\n\n" + "\n".join(rows) + "\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
