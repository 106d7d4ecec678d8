"""Moving labelled work between zerolabel and other tools: CVAT, YOLO-seg, LabelMe and COCO.

:func:`export_dataset` writes a dataset folder or project in one of :data:`FORMATS`; :func:`import_dataset`
reads a folder (or file) in one of them and writes a project in zerolabel's layout, its labels marked done.

Example:
    >>> export_dataset("my-project", "cvat", "task.zip")  # doctest: +SKIP
    >>> import_dataset("labelme-folder", "labelme", "my-new-project")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable

from core.formats.coco import export_coco, import_coco
from core.formats.cvat import export_cvat, import_cvat
from core.formats.labelme import export_labelme, import_labelme
from core.formats.yolo_seg import export_yolo, import_yolo

#: format name -> (exporter(dataset, out), importer(src, out)); each returns a count of images.
FORMATS: dict[str, tuple[Callable[..., object], Callable[..., int]]] = {
    "cvat": (export_cvat, import_cvat),
    "yolo-seg": (export_yolo, import_yolo),
    "labelme": (export_labelme, import_labelme),
    "coco": (export_coco, import_coco),
}


def _lookup(fmt: str) -> tuple[Callable[..., object], Callable[..., int]]:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None


def export_dataset(dataset: str | os.PathLike, fmt: str, out: str | os.PathLike, **options) -> object:
    """Export a dataset folder or project to ``out`` in format ``fmt`` (a zip file for cvat, else a folder)."""
    return _lookup(fmt)[0](dataset, out, **options)


def import_dataset(src: str | os.PathLike, fmt: str, out: str | os.PathLike) -> int:
    """Import ``src`` in format ``fmt`` as a new project ``out``; returns the number of labelled images."""
    return _lookup(fmt)[1](src, out)
