"""CVAT "Segmentation mask 1.1": the zip CVAT exports and imports (its VOC-based segmentation format).

::

    OUT.zip/
      labelmap.txt                         # label:color_rgb:parts:actions, background first
      ImageSets/Segmentation/<split>.txt   image names without extension (CVAT's subset; "default")
      SegmentationClass/<id>.png           class mask, painted in the labelmap.txt colours
      SegmentationObject/<id>.png          instance mask: each connected region of a class is one instance,
                                           painted with VOC colour 1, 2, ... (0 = none)
      JPEGImages/<id>.<ext>                the images (left out with ``images=False``)

CVAT has no "ignore" label: ignore pixels (255) are written as background, and counted in the result.
Import reads a zip or an unpacked folder: class masks as RGB in the labelmap.txt colours or as indexed PNG.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.data.base import IGNORE_INDEX
from core.data.labelmap import LabelMap
from core.data.layout import IMAGES, LABELMAP, LABELS, SETS
from core.data.palette import class_colour, voc_palette
from core.errors import DatasetError
from core.formats.dataset import ImportWriter, each, open_source
from core.io.atomic import atomic_write
from core.io.image import IMAGE_SUFFIXES, NotIndexedError, encode_label_png, read_label_png

OBJECTS = "SegmentationObject"
MAX_INSTANCES = 254


@dataclass
class ExportResult:
    """What an export wrote."""

    images: int
    ignored_pixels: int = 0


def instance_mask(labels: np.ndarray) -> np.ndarray:
    """Instance ids 1..N, one per 8-connected region of each class; one per class when regions exceed 254."""
    out = np.zeros(labels.shape, dtype=np.uint8)
    values = [int(v) for v in np.unique(labels) if v not in (0, IGNORE_INDEX)]
    comps = []
    for value in values:
        n, comp = cv2.connectedComponents((labels == value).astype(np.uint8), connectivity=8)
        comps.append((value, n - 1, comp))
    if sum(n for _, n, _ in comps) > MAX_INSTANCES:
        for k, value in enumerate(values, 1):
            out[labels == value] = k
        return out
    next_id = 1
    for _, n, comp in comps:
        inside = comp > 0
        out[inside] = (comp[inside] + (next_id - 1)).astype(np.uint8)
        next_id += n
    return out


def export_cvat(dataset: str | os.PathLike, out: str | os.PathLike, images: bool = True,
                ids: Iterable[str] | None = None, progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write the CVAT "Segmentation mask 1.1" zip ``out`` for a dataset folder or project."""
    labelmap, items = open_source(dataset, ids)
    out = Path(out)
    palette = labelmap.palette()
    splits: dict[str, list[str]] = {}
    ignored = 0
    with atomic_write(out, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(LABELMAP, labelmap.to_text())
        for item in each(items, progress):
            labels = item.labels()
            ignore = labels == IGNORE_INDEX
            if ignore.any():
                ignored += int(ignore.sum())
                labels = np.where(ignore, 0, labels).astype(np.uint8)
            zf.writestr(f"{LABELS}/{item.id}.png", encode_label_png(labels, palette))
            zf.writestr(f"{OBJECTS}/{item.id}.png", encode_label_png(instance_mask(labels), voc_palette()))
            if images and item.image is not None:
                zf.write(item.image, f"{IMAGES}/{item.id}{item.image.suffix.lower()}")
            splits.setdefault(item.split, []).append(item.id)
        for split, ids in splits.items():
            zf.writestr(f"{SETS.as_posix()}/{split}.txt", "".join(f"{i}\n" for i in dict.fromkeys(ids)))
    return ExportResult(len(items), ignored)


def _extract(src: Path, into: Path) -> Path:
    """Unpack a zip safely (no paths outside ``into``) and return the folder holding labelmap.txt."""
    try:
        with zipfile.ZipFile(src) as zf:
            for info in zf.infolist():
                target = (into / info.filename).resolve()
                if into.resolve() not in target.parents and target != into.resolve():
                    raise DatasetError(f"{src}: holds the unsafe path {info.filename!r}; it is not a CVAT export")
            zf.extractall(into)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{src}: not a readable zip file ({exc}); export it from CVAT again") from exc
    found = sorted(into.rglob(LABELMAP), key=lambda p: len(p.parts))
    return found[0].parent if found else into


def _class_mask(path: Path, labelmap: LabelMap) -> np.ndarray:
    try:
        labels = read_label_png(path)
    except NotIndexedError:
        from PIL import Image

        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        return labelmap.colors_to_indices(rgb, path)
    bad = np.unique(labels[(labels >= len(labelmap.names)) & (labels != IGNORE_INDEX)])
    if bad.size:
        raise DatasetError(f"{path}: holds class indices {bad.tolist()[:10]} beyond the {len(labelmap.names)} "
                           f"classes of labelmap.txt; add the classes or repaint those pixels")
    return labels


def import_cvat(src: str | os.PathLike, out: str | os.PathLike) -> int:
    """Import a CVAT "Segmentation mask 1.1" zip (or its unpacked folder) as a project ``out``; returns the
    number of labelled images."""
    src = Path(src)
    if not src.exists():
        raise DatasetError(f"{src}: no such file or folder; give the CVAT zip or its unpacked folder")
    with tempfile.TemporaryDirectory(prefix="zerolabel-cvat-") as tmp:
        root = _extract(src, Path(tmp)) if src.is_file() else src
        if not (root / LABELMAP).is_file():
            raise DatasetError(f"{src}: holds no labelmap.txt; is it a CVAT 'Segmentation mask 1.1' export?")
        labelmap = LabelMap.read(root / LABELMAP)
        # CVAT names an item by its path in the task ("dir/img"): our id joins the parts with "__"
        images = {_item(p, root / IMAGES): p for p in sorted((root / IMAGES).rglob("*"))
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
        split_of: dict[str, str] = {}
        sets = root / SETS
        for path in sorted(sets.glob("*.txt")) if sets.is_dir() else []:
            for line in path.read_text(encoding="utf-8-sig").splitlines():
                if line.strip() and not line.strip().startswith("#"):
                    split_of.setdefault(line.strip().replace("/", "__"), path.stem)
        masks = sorted((root / LABELS).rglob("*.png"))
        if not masks:
            raise DatasetError(f"{src}: no masks in {LABELS}/; export from CVAT with 'Segmentation mask 1.1'")
        with ImportWriter(out, _black_background(labelmap)) as writer:
            for path in masks:
                sample_id = _item(path, root / LABELS)
                labels = _class_mask(path, labelmap)
                writer.add(sample_id, images.pop(sample_id, None), labels, split_of.get(sample_id, "default"))
            for sample_id, image in images.items():  # images without a mask: unlabelled
                writer.add(sample_id, image, None)
        return len(masks)


def _item(path: Path, folder: Path) -> str:
    return "__".join(path.relative_to(folder).with_suffix("").parts)


def _black_background(labelmap: LabelMap) -> LabelMap:
    """The same classes with background black, as zerolabel keeps it (a class that was black gets a colour)."""
    if labelmap.colors[0] == (0, 0, 0):
        return labelmap
    colours: list[tuple[int, int, int]] = [(0, 0, 0)]
    for name, colour in zip(labelmap.names[1:], labelmap.colors[1:], strict=True):
        colours.append(class_colour(name, colours + list(labelmap.colors)) if colour == (0, 0, 0) else colour)
    return LabelMap(labelmap.names, tuple(colours))

