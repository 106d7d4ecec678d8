"""The two ends of every conversion: a zerolabel dataset or project read for export, and one written by an import.

:func:`open_source` reads a folder in zerolabel's layout (``JPEGImages``, ``SegmentationClass``, ``ImageSets``,
``labelmap.txt``) or a project (``project.json``: images where the project says, its saved label maps).
:class:`ImportWriter` writes one: images are copied byte for byte (no re-encoding), label maps as indexed PNG,
and the result opens as a project whose imported labels are marked done.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.base import BACKGROUND, IGNORE_INDEX
from core.data.labelmap import LabelMap
from core.data.layout import IMAGES, LABELMAP, LABELS, SETS, LayoutDataset
from core.data.names import check_class_name, check_image_id
from core.data.palette import class_colours
from core.errors import DatasetError, ZerolabelError
from core.io.atomic import atomic_write_bytes, atomic_write_text
from core.io.image import IMAGE_SUFFIXES, image_size, write_label_png


@dataclass(frozen=True)
class Item:
    """One labelled image of a source dataset."""

    id: str
    split: str
    image: Path | None
    load: Callable[[], np.ndarray]

    def labels(self) -> np.ndarray:
        return self.load()


def open_source(root: str | os.PathLike, ids: Iterable[str] | None = None) -> tuple[LabelMap, list[Item]]:
    """The label map and labelled images of a dataset folder or project, in split then id order (only ``ids``
    when given)."""
    labelmap, items = _open_source(root)
    if ids is not None:
        wanted = set(ids)
        items = [item for item in items if item.id in wanted]
    return labelmap, items


def each(items: list[Item], progress: Callable[[int, int], None] | None) -> Iterator[Item]:
    """The items, calling ``progress(done, total)`` after each (it may raise to cancel)."""
    for n, item in enumerate(items, 1):
        yield item
        if progress is not None:
            progress(n, len(items))


def _open_source(root: str | os.PathLike) -> tuple[LabelMap, list[Item]]:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder; give a folder in zerolabel's layout or a project")
    if (root / "project.json").is_file():
        from core.annotation.project import Project

        project = Project.load(root)
        items = [Item(i, "default", project.images[i], lambda i=i: project.load_labels(i))
                 for i in project.saved_ids()]
        return project.labelmap(), items
    ds = LayoutDataset(root)
    items = []
    for split in ds.splits():
        for sample_id in ds.ids(split):
            if not ds.label_path(sample_id).is_file():
                continue
            try:
                image = ds.image_path(sample_id)
            except DatasetError:
                image = None
            items.append(Item(sample_id, split, image, lambda s=sample_id: ds.label(s)))
    return ds.labelmap, items


def copy_image(src: Path, dst: Path) -> None:
    """Copy an image file byte for byte, atomically."""
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{src}: cannot be read ({exc.strerror or exc})") from exc
    atomic_write_bytes(dst, data)


def labelmap_from_names(names: list[str], colours: dict[str, tuple[int, int, int]] | None = None,
                        source: str = "") -> LabelMap:
    """A label map for imported class names (background first); colours given, else from the names."""
    checked = []
    for name in names:
        try:
            checked.append(check_class_name(name))
        except ZerolabelError as exc:
            raise type(exc)(f"{source}: {exc}" if source else str(exc)) from None
    names = [n for n in checked if n != BACKGROUND]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DatasetError(f"{source}: class {dup!r} is listed twice; give each class once")
    colours = dict(colours or {})
    auto = iter(class_colours(names, used=[colours[n] for n in names if n in colours]))
    chosen = [colours[n] if n in colours else next(auto) for n in names]
    return LabelMap((BACKGROUND, *names), ((0, 0, 0), *chosen))


class ImportWriter:
    """Write imported images and label maps as a project in zerolabel's layout.

    Example:
        >>> with ImportWriter("/tmp/ds", LabelMap.from_names(["background", "cat"])) as w:  # doctest: +SKIP
        ...     w.add("0001", Path("a.jpg"), labels, split="train")
    """

    def __init__(self, root: str | os.PathLike, labelmap: LabelMap) -> None:
        self.root = Path(root)
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise DatasetError(f"{self.root}: exists and is not an empty folder; import into a new folder")
        self._created = not self.root.exists()
        self.labelmap = labelmap
        self.palette = labelmap.palette()
        self.splits: dict[str, list[str]] = {}
        self.labelled: list[str] = []
        self.images: dict[str, str] = {}
        for sub in (IMAGES, LABELS, str(SETS)):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def add(self, sample_id: str, image: Path | None, labels: np.ndarray | None, split: str = "default") -> None:
        """Copy ``image`` (if any) and write ``labels`` (None: an unlabelled image) for ``sample_id``."""
        try:
            check_image_id(sample_id)
        except ZerolabelError as exc:
            raise type(exc)(f"{image or sample_id}: {exc}") from None
        if sample_id in self.images:
            raise DatasetError(f"{image or sample_id}: a second image with the id {sample_id!r} (first: "
                               f"{self.images[sample_id]}); rename one of them")
        self.images[sample_id] = str(image or sample_id)
        if image is not None:
            if image.suffix.lower() not in IMAGE_SUFFIXES:
                raise DatasetError(f"{image}: not an image file zerolabel reads ({', '.join(sorted(IMAGE_SUFFIXES))})")
            if labels is not None:
                w, h = image_size(image)
                if (h, w) != labels.shape:
                    raise DatasetError(f"{image}: the image is {w}x{h} but its annotation is "
                                       f"{labels.shape[1]}x{labels.shape[0]}; they must match")
            copy_image(image, self.root / IMAGES / f"{sample_id}{image.suffix.lower()}")
        if labels is not None:
            top = int(labels[labels != IGNORE_INDEX].max(initial=0))
            if top >= len(self.labelmap.names):
                raise DatasetError(f"{sample_id}: class index {top} beyond the {len(self.labelmap.names) - 1} classes")
            write_label_png(self.root / LABELS / f"{sample_id}.png", labels, self.palette)
            self.splits.setdefault(split, []).append(sample_id)
            self.labelled.append(sample_id)

    def close(self) -> None:
        """Write the split lists and label map, and open the folder as a project with the labels marked done."""
        for split, ids in self.splits.items():
            atomic_write_text(self.root / SETS / f"{split}.txt", "".join(f"{i}\n" for i in ids))
        self.labelmap.write(self.root / LABELMAP)
        from core.annotation.project import Project

        project = Project.open_folder(self.root)
        for sample_id in self.labelled:
            if sample_id in project.images:
                project.status[sample_id] = "done"
        project.save_meta()

    def __enter__(self) -> ImportWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        # a failed import leaves nothing half-written behind (the folder was new or empty)
        if self._created:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            for child in self.root.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)


def find_images(folder: Path) -> Iterator[Path]:
    """Image files directly in ``folder``, sorted by name."""
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
