"""Exports of a project's label maps: indexed PNG, colour PNG, COCO JSON, or a full dataset to train on.

Each export is a generator that yields ``(done, total)`` after each image, so the app can show progress and
cancel between images; every file is written atomically. Images without a saved label map are skipped.

COCO JSON follows COCO-Stuff's semantic format: one annotation per (image, class) whose segmentation is an
uncompressed RLE (column-major run lengths, ``{"counts": [...], "size": [h, w]}``), exact to the pixel, with
``bbox`` and ``area``; category ids are the label values (1..C).

Example:
    >>> for done, total in export_png(project, project.ids, "out", colour=True):  # doctest: +SKIP
    ...     print(done, total)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from core.annotation.project import Project
from core.data.base import IGNORE_INDEX
from core.data.layout import DatasetWriter
from core.io.atomic import atomic_write_text
from core.io.image import image_size, read_image, write_image, write_label_png

FORMATS = ("indexed", "colour", "coco", "dataset")


def export_png(project: Project, ids: Sequence[str], out: str | os.PathLike, *, colour: bool = False
               ) -> Iterator[tuple[int, int]]:
    """Write ``out/ID.png`` per image: indexed (values = class indices) or an RGB picture in the class colours."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids = project.saved_ids(list(ids))
    palette = project.labelmap().palette()
    for n, image_id in enumerate(ids, 1):
        labels = project.load_labels(image_id)
        if colour:
            write_image(out / f"{image_id}.png", palette[labels])
        else:
            write_label_png(out / f"{image_id}.png", labels, palette)
        yield n, len(ids)
    project.labelmap().write(out / "labelmap.txt")


def rle_encode(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE of a boolean mask (column-major, starting with a run of zeros)."""
    flat = np.asarray(mask, bool).reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}


def rle_decode(rle: dict) -> np.ndarray:
    """Inverse of :func:`rle_encode`."""
    h, w = rle["size"]
    values = np.zeros(len(rle["counts"]), bool)
    values[1::2] = True
    return np.repeat(values, rle["counts"]).reshape((h, w), order="F")


def export_coco(project: Project, ids: Sequence[str], out_json: str | os.PathLike) -> Iterator[tuple[int, int]]:
    """Write one COCO JSON for the images (file names relative to the project's image folder)."""
    ids = project.saved_ids(list(ids))
    categories = [{"id": i + 1, "name": c.name, "supercategory": "", "color": list(c.color)}
                  for i, c in enumerate(project.classes)]
    images, annotations = [], []
    for n, image_id in enumerate(ids, 1):
        labels = project.load_labels(image_id)
        w, h = image_size(project.images[image_id])
        images.append({"id": n, "file_name": project.images[image_id].name, "width": w, "height": h})
        for value in np.unique(labels):
            if value in (0, IGNORE_INDEX):
                continue
            mask = labels == value
            ys, xs = np.nonzero(mask)
            annotations.append({
                "id": len(annotations) + 1, "image_id": n, "category_id": int(value), "iscrowd": 0,
                "area": int(mask.sum()), "segmentation": rle_encode(mask),
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
            })
        yield n, len(ids)
    doc = {"info": {"description": f"zerolabel export of {project.root}"}, "images": images,
           "annotations": annotations, "categories": categories}
    atomic_write_text(out_json, json.dumps(doc))


def export_dataset(project: Project, ids: Sequence[str], out: str | os.PathLike) -> Iterator[tuple[int, int]]:
    """A training set in zerolabel's layout (JPEGImages, SegmentationClass, ImageSets, labelmap.txt)."""
    ids = project.saved_ids(list(ids))
    with DatasetWriter(out, project.labelmap(), image_suffix=".jpg") as writer:
        for n, image_id in enumerate(ids, 1):
            writer.add(image_id, read_image(project.images[image_id]), project.load_labels(image_id), split="train")
            yield n, len(ids)


def export(project: Project, ids: Sequence[str], fmt: str, out: str | os.PathLike) -> Iterator[tuple[int, int]]:
    """Dispatch on ``fmt`` (one of :data:`FORMATS`); ``out`` is a folder, or the JSON file for ``coco``."""
    if fmt == "indexed":
        return export_png(project, ids, out)
    if fmt == "colour":
        return export_png(project, ids, out, colour=True)
    if fmt == "coco":
        return export_coco(project, ids, out)
    if fmt == "dataset":
        return export_dataset(project, ids, out)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
