"""Exports of a project's label maps: indexed PNG, colour PNG, COCO JSON, or a full dataset to train on.

Each export is a generator that yields ``(done, total)`` after each image, so the app can show progress and
cancel between images; every file is written atomically. Images without a saved label map are skipped.

COCO JSON follows COCO-Stuff's semantic format (one annotation per image and class, uncompressed RLE, exact to the
pixel), written by :mod:`core.formats.coco`, the one COCO writer; CVAT, YOLO-seg and LabelMe go through
:mod:`core.formats` as well. The ``dataset`` export also carries the review decisions and notes of the images it
exports, as ``review.json`` (see :mod:`core.annotation.review`).

Example:
    >>> for done, total in export_png(project, project.ids, "out", colour=True):  # doctest: +SKIP
    ...     print(done, total)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from core.annotation.project import Project
from core.data.layout import DatasetWriter
from core.formats.coco import CocoWriter
from core.io.atomic import atomic_write_text
from core.io.image import read_image, write_image, write_label_png

FORMATS = ("indexed", "colour", "coco", "dataset", "cvat", "yolo-seg", "labelme")


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


def export_coco(project: Project, ids: Sequence[str], out_json: str | os.PathLike) -> Iterator[tuple[int, int]]:
    """Write one COCO JSON for the images (file names relative to the project's image folder)."""
    ids = project.saved_ids(list(ids))
    coco = CocoWriter(project.labelmap(), masks="rle", per="class", compressed=False,
                      info={"description": f"zerolabel export of {project.root}"})
    for n, image_id in enumerate(ids, 1):
        coco.add_image(project.images[image_id].name, project.load_labels(image_id))
        yield n, len(ids)
    atomic_write_text(out_json, json.dumps(coco.document()))


def export_other(project: Project, ids: Sequence[str], fmt: str, out: str | os.PathLike
                 ) -> Iterator[tuple[int, int]]:
    """CVAT / YOLO-seg / LabelMe through :mod:`core.formats` (the one owner of those formats), in one step: the
    format writers report no progress between images, so this yields once, when everything is written."""
    from core.formats import export_dataset as export_format

    ids = project.saved_ids(list(ids))
    export_format(project.root, fmt, out, ids=ids)
    yield len(ids), len(ids)


def export_dataset(project: Project, ids: Sequence[str], out: str | os.PathLike) -> Iterator[tuple[int, int]]:
    """A training set in zerolabel's layout (JPEGImages, SegmentationClass, ImageSets, labelmap.txt), with the
    review decisions and notes of the exported images in ``review.json`` when the project has any."""
    ids = project.saved_ids(list(ids))
    with DatasetWriter(out, project.labelmap(), image_suffix=".jpg") as writer:
        for n, image_id in enumerate(ids, 1):
            writer.add(image_id, read_image(project.images[image_id]), project.load_labels(image_id), split="train")
            yield n, len(ids)
    export_review(project, ids, out)


def export_review(project: Project, ids: Sequence[str], out: str | os.PathLike) -> int:
    """Write ``out/review.json`` with the review decisions ({id: {"state", "note"}}) of ``ids`` (the format of
    :mod:`core.annotation.review`, so the folder opened as a project shows them); returns how many."""
    from core.annotation.review import REVIEW_FILE, Review

    entries = Review(project).entries
    chosen = {i: entries[i] for i in ids if i in entries}
    if chosen:
        atomic_write_text(Path(out) / REVIEW_FILE, json.dumps(chosen, indent=1, ensure_ascii=False))
    return len(chosen)


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
    if fmt in ("cvat", "yolo-seg", "labelme"):
        return export_other(project, ids, fmt, out)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
