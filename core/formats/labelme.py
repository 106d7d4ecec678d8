"""LabelMe JSON: one file per image beside it, with polygon shapes in pixel coordinates.

::

    OUT/<id>.json     {"version", "flags", "shapes": [{"label", "points": [[x, y], ...], "group_id",
                       "shape_type": "polygon", "flags", ...}], "imagePath": "<id>.jpg", "imageData": null,
                       "imageHeight", "imageWidth"}
    OUT/<id>.jpg
    OUT/labels.txt    "__ignore__", "_background_", then the classes (labelme2voc's --labels file)

Each connected region of a class is one polygon (holes bridged in; :mod:`core.formats.polygons`); ignore pixels
are ``__ignore__`` polygons, as labelme2voc reads them. Import reads polygons, rectangles, circles and masks
(later shapes on top, ``_background_`` paints background, ``__ignore__`` ignore); lines and points hold no area
and are skipped. Without labels.txt the classes are taken in order of first appearance.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from core.data.base import IGNORE_INDEX
from core.errors import DatasetError
from core.formats.dataset import ImportWriter, copy_image, each, labelmap_from_names, open_source
from core.formats.polygons import check_points, label_regions, paint_rings
from core.io.atomic import atomic_write_text
from core.io.image import IMAGE_SUFFIXES, image_size

VERSION = "5.5.0"
IGNORE = "__ignore__"
BACKGROUND = "_background_"
AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")


def labelme_shapes(labels: np.ndarray, names: tuple[str, ...]) -> list[dict]:
    """The polygon shapes of one label map (``names[value]`` labels them; 255 is ``__ignore__``)."""
    shapes = []
    for region in label_regions(np.where(labels == IGNORE_INDEX, 0, labels)):
        shapes.append(_shape(names[region.value], region.ring))
    ignore = labels == IGNORE_INDEX
    if ignore.any():
        for region in label_regions(ignore.astype(np.uint8)):
            shapes.append(_shape(IGNORE, region.ring))
    return shapes


def _shape(label: str, ring: np.ndarray) -> dict:
    pts = ring if len(ring) >= 3 else np.concatenate([ring, np.repeat(ring[-1:], 3 - len(ring), axis=0)])
    return {"label": label, "points": [[float(x), float(y)] for x, y in pts], "group_id": None,
            "description": "", "shape_type": "polygon", "flags": {}, "mask": None}


def export_labelme(dataset: str | os.PathLike, out: str | os.PathLike, ids: Iterable[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> int:
    """Write LabelMe JSON files (and copies of the images) for a dataset folder or project."""
    labelmap, items = open_source(dataset, ids)
    out = Path(out)
    for item in each(items, progress):
        labels = item.labels()
        h, w = labels.shape
        image_name = f"{item.id}{item.image.suffix.lower()}" if item.image is not None else f"{item.id}.jpg"
        if item.image is not None:
            copy_image(item.image, out / image_name)
        doc = {"version": VERSION, "flags": {}, "shapes": labelme_shapes(labels, labelmap.names),
               "imagePath": image_name, "imageData": None, "imageHeight": int(h), "imageWidth": int(w)}
        atomic_write_text(out / f"{item.id}.json", json.dumps(doc, indent=1, ensure_ascii=False))
    atomic_write_text(out / "labels.txt", "\n".join([IGNORE, BACKGROUND, *labelmap.names[1:]]) + "\n")
    return len(items)


def _load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError, ValueError) as exc:
        raise DatasetError(f"{path}: not valid LabelMe JSON ({exc}); save it again from LabelMe") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise DatasetError(f"{path}: not a LabelMe file (no 'shapes' list)")
    return doc


def _image_of(path: Path, doc: dict, tmp: Path) -> Path:
    """The image a LabelMe file annotates: imagePath beside it, a same-named image, or its embedded imageData."""
    candidates = []
    if isinstance(doc.get("imagePath"), str) and doc["imagePath"]:
        candidates.append(path.parent / doc["imagePath"].replace("\\", "/"))
    candidates += [path.with_suffix(s) for s in sorted(IMAGE_SUFFIXES)]
    for c in candidates:
        if c.is_file():
            return c
    if isinstance(doc.get("imageData"), str) and doc["imageData"]:
        from PIL import Image

        try:
            data = base64.b64decode(doc["imageData"])
            with Image.open(io.BytesIO(data)) as img:
                suffix = ".jpg" if img.format == "JPEG" else ".png"
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the file's fault
            raise DatasetError(f"{path}: imageData is not a readable image ({exc})") from exc
        target = tmp / f"{path.stem}{suffix}"
        target.write_bytes(data)
        return target
    raise DatasetError(f"{path}: its image {doc.get('imagePath')!r} is missing (looked beside the file) and the "
                       "file embeds no imageData; put the image beside the JSON file")


def _shape_points(shape: dict, where: str) -> tuple[str, np.ndarray | None]:
    """(label, ring in pixels) of one shape; ring None for shapes without area."""
    if not isinstance(shape, dict) or not isinstance(shape.get("label"), str):
        raise DatasetError(f"{where}: a shape without a 'label'")
    kind = shape.get("shape_type") or "polygon"
    if kind not in AREA_SHAPES:
        return shape["label"], None
    try:
        pts = np.asarray(shape.get("points"), dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: shape {shape['label']!r} has points that are not [x, y] pairs") from None
    if kind == "rectangle" and len(pts) == 2:
        (x1, y1), (x2, y2) = pts
        pts = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    elif kind == "circle" and len(pts) == 2:
        r = float(np.hypot(*(pts[1] - pts[0])))
        t = np.linspace(0, 2 * np.pi, max(8, int(4 * r)), endpoint=False)
        pts = pts[0] + r * np.stack([np.cos(t), np.sin(t)], 1)
    return shape["label"], pts


def _mask_shape(shape: dict, shape_hw: tuple[int, int], where: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(base64.b64decode(shape["mask"]))) as img:
            mask = np.asarray(img.convert("L")) > 0
        (x1, y1) = np.rint(np.asarray(shape["points"], dtype=np.float64)[0]).astype(int)
    except Exception as exc:  # noqa: BLE001
        raise DatasetError(f"{where}: shape {shape.get('label')!r}: unreadable mask ({exc})") from exc
    out = np.zeros(shape_hw, bool)
    h, w = mask.shape
    out[y1:y1 + h, x1:x1 + w] = mask[: max(0, shape_hw[0] - y1), : max(0, shape_hw[1] - x1)]
    return out


def import_labelme(src: str | os.PathLike, out: str | os.PathLike) -> int:
    """Import a folder of LabelMe JSON files (searched recursively) as a project; returns the number of labelled
    images. Images in the folder without a JSON file come in unlabelled."""
    src = Path(src)
    if not src.is_dir():
        raise DatasetError(f"{src}: no such folder; give the folder of LabelMe JSON files")
    files = sorted(src.rglob("*.json"))
    if not files:
        raise DatasetError(f"{src}: holds no LabelMe .json files")
    docs = [(f, _load(f)) for f in files]
    fixed = src / "labels.txt"
    if fixed.is_file():
        listed = [ln.strip() for ln in fixed.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
        names = [n for n in listed if n not in (IGNORE, BACKGROUND)]
    else:
        names = []
        for _, doc in docs:
            for shape in doc["shapes"]:
                label = shape.get("label") if isinstance(shape, dict) else None
                if isinstance(label, str) and label not in (IGNORE, BACKGROUND) and label not in names:
                    names.append(label)
    labelmap = labelmap_from_names(names, source=str(fixed if fixed.is_file() else src))
    value = {n: i for i, n in enumerate(labelmap.names)}
    value.update({BACKGROUND: 0, IGNORE: IGNORE_INDEX})
    with tempfile.TemporaryDirectory(prefix="zerolabel-labelme-") as tmp, ImportWriter(out, labelmap) as writer:
        used: set[Path] = set()
        for path, doc in docs:
            image = _image_of(path, doc, Path(tmp))
            used.add(image.resolve())
            w, h = image_size(image)
            if doc.get("imageWidth") not in (None, w) or doc.get("imageHeight") not in (None, h):
                raise DatasetError(f"{path}: says the image is {doc.get('imageWidth')}x{doc.get('imageHeight')} "
                                   f"but {image.name} is {w}x{h}")
            labels = np.zeros((h, w), np.uint8)
            for shape in doc["shapes"]:
                label, pts = _shape_points(shape, str(path))
                if label not in value:
                    raise DatasetError(f"{path}: label {label!r} is not in {fixed}; add it there or rename the shape")
                if shape.get("shape_type") == "mask":
                    labels[_mask_shape(shape, (h, w), str(path))] = value[label]
                elif pts is not None:
                    paint_rings(labels, [(value[label], check_points(pts, w, h, str(path)))])
            writer.add(path.stem, image, labels)
        for image in sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
            if image.resolve() not in used:
                writer.add(image.stem, image, None)
    return len(docs)
