"""YOLO segmentation (Ultralytics): one text file per image, one polygon per object, normalised coordinates.

::

    OUT/data.yaml                 train/val/test folders (relative to the file) and ``names: {0: cat, ...}``
    OUT/images/<split>/<id>.<ext>
    OUT/labels/<split>/<id>.txt   "<class> x1 y1 x2 y2 ..." per line; class 0 = the first class after background

Each connected region of a class is one line: its outer border with the holes bridged in (YOLO has no holes;
:mod:`core.formats.polygons`), x / width and y / height as Ultralytics' own mask converter writes them, nudged up
by 0.01 pixel so that Ultralytics' float32 scaling and integer truncation give the same pixels back. Ignore
pixels become background. An image without a label file is all background (Ultralytics' rule); a line of four
numbers after the class is read as a box (cx cy w h).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from core.data.base import IGNORE_INDEX
from core.errors import DatasetError
from core.formats.dataset import ImportWriter, copy_image, each, labelmap_from_names, open_source
from core.formats.polygons import check_points, label_regions, rasterise
from core.io.atomic import atomic_write_text
from core.io.image import IMAGE_SUFFIXES, image_size

DIGITS = 6
_MARGIN = 0.01


def yolo_lines(labels: np.ndarray) -> list[str]:
    """The YOLO-seg lines of one label map."""
    h, w = labels.shape
    labels = np.where(labels == IGNORE_INDEX, 0, labels)
    lines = []
    for region in label_regions(labels):
        # x / w, rounded up at the 6th digit from x + 0.01: reading back with rounding (ours) or truncation after a
        # float32 scale (Ultralytics' polygon2mask) both give the pixel x again
        pts = np.ceil((region.ring + _MARGIN) / np.array([w, h]) * 10**DIGITS) / 10**DIGITS
        if len(pts) < 3:  # a one- or two-pixel region: repeat the last point (Ultralytics wants 3 or more)
            pts = np.concatenate([pts, np.repeat(pts[-1:], 3 - len(pts), axis=0)])
        lines.append(" ".join([str(region.value - 1), *(f"{v:.{DIGITS}f}" for v in pts.reshape(-1))]))
    return lines


def export_yolo(dataset: str | os.PathLike, out: str | os.PathLike, images: bool = True,
                ids: Iterable[str] | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Write a YOLO-seg dataset for a dataset folder or project; returns the number of images."""
    labelmap, items = open_source(dataset, ids)
    out = Path(out)
    splits: list[str] = []
    for item in each(items, progress):
        if item.split not in splits:
            splits.append(item.split)
        atomic_write_text(out / "labels" / item.split / f"{item.id}.txt",
                          "".join(f"{line}\n" for line in yolo_lines(item.labels())))
        if images and item.image is not None:
            copy_image(item.image, out / "images" / item.split / f"{item.id}{item.image.suffix.lower()}")
    train = "train" if "train" in splits else (splits[0] if splits else "train")
    val = "val" if "val" in splits else train
    lines = [f"train: images/{train}", f"val: images/{val}"]
    if "test" in splits:
        lines.append("test: images/test")
    lines.append("names:")
    lines += [f"  {k}: {json.dumps(name, ensure_ascii=False)}" for k, name in enumerate(labelmap.names[1:])]
    atomic_write_text(out / "data.yaml", "# YOLO segmentation dataset written by zerolabel\n" + "\n".join(lines) + "\n")
    return len(items)


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: not readable YAML ({exc})") from exc
    if not isinstance(doc, dict) or "names" not in doc:
        raise DatasetError(f"{path}: needs a 'names' list or mapping of the classes")
    return doc


def _names(doc: dict, path: Path) -> list[str]:
    names = doc["names"]
    if isinstance(names, dict):
        try:
            keys = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            raise DatasetError(f"{path}: 'names' keys must be class numbers 0, 1, ...") from None
        if keys != list(range(len(keys))):
            raise DatasetError(f"{path}: 'names' must number the classes 0..{len(keys) - 1} without gaps")
        names = [names.get(k, names.get(str(k))) for k in keys]
    if not isinstance(names, list) or not names:
        raise DatasetError(f"{path}: 'names' must list the classes")
    return [str(n) for n in names]


def _split_images(root: Path, entry: object, yaml_path: Path) -> list[Path]:
    """The image files of one split entry: a folder, a .txt list of images, or a list of those."""
    entries = entry if isinstance(entry, list) else [entry]
    found: list[Path] = []
    for e in entries:
        path = (root / str(e)).resolve()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file() and path.suffix == ".txt":
            for line in path.read_text(encoding="utf-8-sig").splitlines():
                if line.strip():
                    p = Path(line.strip())
                    found.append(p if p.is_absolute() else (path.parent / p).resolve())
        else:
            raise DatasetError(f"{yaml_path}: the split folder {e!r} does not exist ({path})")
    return found


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, the suffix ``.txt``."""
    parts = list(image.parts)
    for k in range(len(parts) - 2, -1, -1):
        if parts[k] == "images":
            parts[k] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def read_yolo_labels(path: Path, width: int, height: int, classes: int) -> np.ndarray:
    """Paint one YOLO-seg label file onto a background label map (values = class + 1)."""
    shapes: list[tuple[int, np.ndarray]] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        try:
            cls = int(fields[0])
            values = np.array([float(v) for v in fields[1:]])
        except ValueError:
            raise DatasetError(f"{where}: expected '<class> x1 y1 x2 y2 ...' numbers, got {line[:60]!r}") from None
        if not 0 <= cls < classes:
            raise DatasetError(f"{where}: class {cls} is not in data.yaml's names (0..{classes - 1})")
        if len(values) == 4:  # a box: cx cy w h
            cx, cy, bw, bh = values
            values = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy - bh / 2,
                               cx + bw / 2, cy + bh / 2, cx - bw / 2, cy + bh / 2])
        if len(values) < 2 or len(values) % 2:
            raise DatasetError(f"{where}: a polygon needs x y pairs; this line has {len(values)} numbers")
        pts = values.reshape(-1, 2) * np.array([width, height])
        shapes.append((cls + 1, check_points(pts, width, height, where)))
    return rasterise((height, width), shapes)


def import_yolo(src: str | os.PathLike, out: str | os.PathLike) -> int:
    """Import a YOLO-seg dataset (a folder with data.yaml, or the yaml file) as a project; returns the number
    of labelled images."""
    src = Path(src)
    if src.is_dir():
        yamls = sorted(src.glob("*.yaml")) + sorted(src.glob("*.yml"))
        if not yamls:
            raise DatasetError(f"{src}: no data.yaml; a YOLO dataset needs one with the class names")
        yaml_path = src / "data.yaml" if (src / "data.yaml").is_file() else yamls[0]
    elif src.is_file():
        yaml_path = src
    else:
        raise DatasetError(f"{src}: no such file or folder")
    doc = _read_yaml(yaml_path)
    names = _names(doc, yaml_path)
    root = yaml_path.parent / str(doc.get("path") or ".")
    if not root.is_dir():  # Ultralytics reads a relative 'path' under its datasets folder; here: the yaml's folder
        root = yaml_path.parent
    labelmap = labelmap_from_names(names, source=str(yaml_path))
    done = 0
    seen: set[Path] = set()
    with ImportWriter(out, labelmap) as writer:
        for split in ("train", "val", "test"):
            if not doc.get(split):
                continue
            for image in _split_images(root, doc[split], yaml_path):
                if image in seen:
                    continue
                seen.add(image)
                if not image.is_file():
                    raise DatasetError(f"{image}: listed in {yaml_path} but missing")
                w, h = image_size(image)
                lab = label_path(image)
                labels = read_yolo_labels(lab, w, h, len(names)) if lab.is_file() else np.zeros((h, w), np.uint8)
                writer.add(image.stem, image, labels, split)
                done += 1
    return done
