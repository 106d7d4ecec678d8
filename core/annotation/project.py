"""An annotation project on disk: its images, its class list, its label maps, autosaves and per-image status.

Layout (zerolabel's dataset layout, so a project is also a training set)::

    ROOT/project.json                 classes (name, colour, visible), image folder, status per image
    ROOT/labelmap.txt                 CVAT-style, background first (written on every class change)
    ROOT/SegmentationClass/ID.png     indexed PNG per saved image (0 = background, 255 = ignore)
    ROOT/ImageSets/Segmentation/default.txt   the saved image ids
    ROOT/.autosave/ID.png             unsaved edits (crash recovery); removed when the image is saved
    ROOT/.zerolabel.lock              pid and host of the one process writing the project (:meth:`Project.lock`)
    ROOT/.zerolabel-txn/              a class removal or move in progress (a transaction, see core.annotation.store)

Every write holds the project's lock (one thread at a time); a project another process holds opens read-only, and
every write then raises :class:`ProjectError` saying so. Image files whose name breaks the naming rule of
:mod:`core.data.names` (a newline, a leading space or ``#``, hidden files) are listed in :attr:`Project.skipped`.

Opening a plain folder of images makes that folder the project root (images stay where they are); a folder in
the dataset layout uses its ``JPEGImages``. A folder that cannot be written (or the app's own sample images)
gets its project under the user's data directory instead.

Example:
    >>> p = Project.open_folder("photos")  # doctest: +SKIP
    >>> p.add_class("sea lion")  # doctest: +SKIP
    >>> p.save_labels(p.ids[0], labels)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from core.annotation.store import ProjectLocked, Transaction, acquire_lock, recover, release_lock
from core.data.base import BACKGROUND, IGNORE_INDEX
from core.data.labelmap import LabelMap
from core.data.names import check_class_name, check_image_id
from core.data.palette import class_colour
from core.errors import InvalidNameError, ZerolabelError
from core.io.atomic import atomic_write_text
from core.io.image import IMAGE_SUFFIXES, read_label_png, write_label_png

PROJECT_FILE = "project.json"
LABELS = "SegmentationClass"
AUTOSAVE = ".autosave"
MAX_CLASSES = 254  # 0 = background, 255 = ignore


class ProjectError(ZerolabelError):
    """A project cannot be opened or changed as asked (the message says which file or class, and what to do)."""


@dataclass
class ClassSpec:
    """One class of the project: its name (free text), overlay colour and visibility."""

    name: str
    color: tuple[int, int, int]
    visible: bool = True


def _class_spec(raw: object) -> ClassSpec:
    """One entry of project.json's ``classes``, checked (a name string, an [r, g, b] colour of 0..255)."""
    if not isinstance(raw, dict):
        raise ValueError(f"a class must be an object with 'name' and 'color', got {raw!r}")
    name, color = raw["name"], raw["color"]
    if not isinstance(name, str):
        raise ValueError(f"class name {name!r} is not a string")
    if (not isinstance(color, list) or len(color) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in color)):
        raise ValueError(f"class {name!r}: colour {color!r} is not [r, g, b] with values 0..255")
    return ClassSpec(name, tuple(color), bool(raw.get("visible", True)))


def default_data_dir() -> Path:
    """Where projects of read-only folders live (``$ZEROLABEL_DATA`` or ``~/.local/share/zerolabel``)."""
    base = os.environ.get("ZEROLABEL_DATA") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "zerolabel")
    return Path(base)


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def _inside_resources(folder: Path) -> bool:
    from importlib.resources import files

    resources = Path(str(files("resources"))).resolve()
    return resources in folder.resolve().parents or folder.resolve() == resources


class Project:
    """A folder of images with its classes and label maps; every write is atomic."""

    def __init__(self, root: Path, image_dir: Path, classes: list[ClassSpec], status: dict[str, str]) -> None:
        self.root = root
        self.image_dir = image_dir
        self.classes = classes
        self.status = status
        self.images: dict[str, Path] = {}
        self.skipped: dict[Path, str] = {}  # image files left out, with the reason
        self.read_only = ""  # why this project may not be written ("" = it may)
        self._guard = threading.RLock()
        self._lock_token: str | None = None
        self.rescan()

    # -- opening -----------------------------------------------------------------------------------------
    @classmethod
    def open_folder(cls, folder: str | os.PathLike, data_dir: str | os.PathLike | None = None, *,
                    private: bool = False) -> Project:
        """Open ``folder`` (a project, a dataset-layout folder or a plain image folder) as a project.

        A read-only folder, one inside the app's resources, or any folder opened with ``private=True`` (a single
        image the user opened) gets its project under the data folder, so nothing is written beside the images.
        """
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise ProjectError(f"{folder}: not a folder; pick a folder of images")
        if (folder / PROJECT_FILE).is_file() or (folder / ".zerolabel-txn").is_dir():
            return cls.load(folder)
        image_dir = folder / "JPEGImages" if (folder / "JPEGImages").is_dir() else folder
        root = folder
        if private or not _writable(folder) or _inside_resources(folder):
            digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
            root = Path(data_dir or default_data_dir()) / "projects" / f"{folder.name}-{digest}"
            if (root / PROJECT_FILE).is_file() or (root / ".zerolabel-txn").is_dir():
                return cls.load(root)
        root.mkdir(parents=True, exist_ok=True)
        classes = []
        if (folder / "labelmap.txt").is_file() and root == folder:  # a dataset: keep its classes and colours
            lm = LabelMap.read(folder / "labelmap.txt")
            classes = [ClassSpec(n, c) for n, c in zip(lm.names[1:], lm.colors[1:], strict=True)]
        project = cls(root, image_dir, classes, {})
        project.save_meta()
        return project

    @classmethod
    def load(cls, root: str | os.PathLike) -> Project:
        root = Path(root)
        path = root / PROJECT_FILE
        try:
            recover(root)  # a class change a crash cut short: completed (journal written) or undone
            meta = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError(f"expected a JSON object, found a {type(meta).__name__}")
            images = meta.get("images", ".")
            if not isinstance(images, str):
                raise ValueError(f"'images' must be a folder path, not {images!r}")
            if not isinstance(meta["classes"], list):
                raise ValueError(f"'classes' must be a list, not {type(meta['classes']).__name__}")
            classes = [_class_spec(c) for c in meta["classes"]]
            status = meta.get("status", {})
            if not isinstance(status, dict):
                raise ValueError("'status' must be an object {image id: status}")
            status = {str(k): str(v) for k, v in status.items()}
            LabelMap((BACKGROUND, *[c.name for c in classes]), ((0, 0, 0), *[c.color for c in classes]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError, ZerolabelError) as exc:
            raise ProjectError(f"{path}: unreadable project file ({exc}); restore it from a backup or delete it "
                               "and open the image folder again (label maps in SegmentationClass/ are kept)") from exc
        return cls(root, (root / images).resolve(), classes, status)

    def rescan(self) -> None:
        """List the images of the image folder (sorted by name; ids are file stems, made unique)."""
        self.images, self.skipped = {}, {}
        files = sorted(p for p in self.image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()) \
            if self.image_dir.is_dir() else []
        for path in files:
            key = path.stem if path.stem not in self.images else path.name.replace(".", "_")
            try:
                self.images[check_image_id(key)] = path
            except InvalidNameError as exc:  # would corrupt the split lists and exports: rename the file
                self.skipped[path] = str(exc)

    # -- one writer ---------------------------------------------------------------------------------------
    def lock(self, purpose: str = "zerolabel") -> None:
        """Take the project's lock file; when another live process holds it, the project becomes read-only.

        Raises:
            ProjectLocked: (after making the project read-only) who holds it, and what to do.
        """
        if self._lock_token is None:
            try:
                self._lock_token = acquire_lock(self.root, purpose)
            except ProjectLocked as exc:
                self.read_only = str(exc)
                raise
            except OSError as exc:  # no lock file can be made here: nothing else could be written either
                self.read_only = f"{self.root}: the lock file cannot be created ({exc})"
                raise ProjectLocked(self.read_only, {}) from exc

    def unlock(self) -> None:
        if self._lock_token is not None:
            release_lock(self.root, self._lock_token)
            self._lock_token = None

    def _writing(self) -> None:
        if self.read_only:
            raise ProjectError(f"not saved: the project is read-only here. {self.read_only}")

    @property
    def ids(self) -> list[str]:
        return list(self.images)

    def _meta_text(self, classes: list[ClassSpec]) -> str:
        try:
            images = os.path.relpath(self.image_dir, self.root)
        except ValueError:  # another drive (Windows)
            images = str(self.image_dir)
        meta = {"version": 1, "images": images, "classes": [asdict(c) for c in classes], "status": self.status}
        return json.dumps(meta, indent=1)

    def save_meta(self, classes: list[ClassSpec] | None = None) -> None:
        """Write project.json (and labelmap.txt) with ``classes`` (default: the current ones), which then become
        the project's classes: a class list that could not be written is never the one in memory."""
        with self._guard:
            self._writing()
            classes = self.classes if classes is None else classes
            atomic_write_text(self.root / PROJECT_FILE, self._meta_text(classes))
            self.classes = classes
            self.labelmap().write(self.root / "labelmap.txt")

    # -- classes -----------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def labelmap(self, classes: list[ClassSpec] | None = None) -> LabelMap:
        classes = self.classes if classes is None else classes
        return LabelMap((BACKGROUND, *[c.name for c in classes]), ((0, 0, 0), *[tuple(c.color) for c in classes]))

    def _check_name(self, name: str, skip: int | None = None) -> str:
        try:
            name = check_class_name(" ".join(str(name).split()))
        except InvalidNameError as exc:
            raise ProjectError(str(exc)) from exc
        if name.lower() == BACKGROUND:
            raise ProjectError(f"invalid class name {name!r}: 'background' is class 0 of every project")
        if any(c.name.lower() == name.lower() for i, c in enumerate(self.classes) if i != skip):
            raise ProjectError(f"class {name!r} is already in the list")
        return name

    def add_class(self, name: str, color: tuple[int, int, int] | None = None) -> ClassSpec:
        name = self._check_name(name)
        if len(self.classes) >= MAX_CLASSES:
            raise ProjectError(f"a project holds at most {MAX_CLASSES} classes")
        if color is None:
            color = class_colour(name, [tuple(c.color) for c in self.classes])
        spec = ClassSpec(name, tuple(color))
        self.save_meta([*self.classes, spec])
        return spec

    def rename_class(self, index: int, name: str) -> None:
        name = self._check_name(name, skip=index)
        self.save_meta([replace(c, name=name) if i == index else c for i, c in enumerate(self.classes)])

    def set_class(self, index: int, *, color: tuple[int, int, int] | None = None, visible: bool | None = None) -> None:
        spec = self.classes[index]
        spec = replace(spec, color=spec.color if color is None else tuple(color),
                       visible=spec.visible if visible is None else visible)
        self.save_meta([spec if i == index else c for i, c in enumerate(self.classes)])

    def remove_class(self, index: int) -> np.ndarray:
        """Remove class ``index`` (0-based in :attr:`classes`); its pixels become background everywhere.

        Returns the lookup table (old label value -> new) that was applied to every saved and autosaved label
        map, for the caller to apply to a map it holds in memory.
        """
        lut = np.arange(256, dtype=np.uint8)
        value = index + 1
        lut[value] = 0
        lut[value + 1:IGNORE_INDEX] -= 1
        self._remap(lut, [c for i, c in enumerate(self.classes) if i != index])
        return lut

    def move_class(self, index: int, to: int) -> np.ndarray:
        """Move class ``index`` to position ``to``; label maps are renumbered (returns the lookup table)."""
        order = list(range(len(self.classes)))
        order.insert(to, order.pop(index))
        lut = np.arange(256, dtype=np.uint8)
        for new, old in enumerate(order):
            lut[old + 1] = new + 1
        self._remap(lut, [self.classes[i] for i in order])
        return lut

    def _remap(self, lut: np.ndarray, classes: list[ClassSpec]) -> None:
        """Renumber every saved and autosaved map and switch to ``classes``: all of it, or (on any error) none."""
        with self._guard:
            self._writing()
            labelmap = self.labelmap(classes)
            try:
                with Transaction(self.root) as txn:
                    for folder in (LABELS, AUTOSAVE):
                        for path in sorted((self.root / folder).glob("*.png")):
                            try:
                                labels = read_label_png(path)
                            except Exception as exc:
                                raise ProjectError(f"{path}: unreadable label map ({exc}); nothing was changed: "
                                                   "delete or restore this file and try again") from exc
                            write_label_png(txn.path_for(f"{folder}/{path.name}"), lut[labels], labelmap.palette())
                    txn.write_text(PROJECT_FILE, self._meta_text(classes))
                    labelmap.write(txn.path_for("labelmap.txt"))
            except OSError as exc:
                raise ProjectError(f"{self.root}: the class change could not be written ({exc}); nothing was "
                                   "changed") from exc
            self.classes = classes

    # -- label maps --------------------------------------------------------------------------------------
    def label_path(self, image_id: str) -> Path:
        return self.root / LABELS / f"{image_id}.png"

    def saved_ids(self, ids: list[str] | None = None) -> list[str]:
        """The ids (of ``ids``, default all) that have a saved label map."""
        return [i for i in (self.ids if ids is None else ids) if self.label_path(i).is_file()]

    def load_labels(self, image_id: str) -> np.ndarray | None:
        """The saved label map of an image, or None when it has none.

        Raises:
            ImageError: the file is not a readable label PNG.
            ProjectError: it holds class indices the project does not have.
        """
        path = self.label_path(image_id)
        return self._checked(path, read_label_png(path)) if path.is_file() else None

    def _checked(self, path: Path, labels: np.ndarray) -> np.ndarray:
        bad = np.unique(labels[(labels > len(self.classes)) & (labels != IGNORE_INDEX)])
        if bad.size:
            raise ProjectError(
                f"{path}: holds class indices {bad.tolist()[:10]} but the project has only {len(self.classes)} "
                f"classes (1..{len(self.classes)}, 0 = background, 255 = ignore); add the missing classes or "
                "delete the file to label the image again")
        return labels

    def save_labels(self, image_id: str, labels: np.ndarray, done: bool | None = None) -> None:
        """Write the label map atomically, list the image in ImageSets, and drop its autosave."""
        with self._guard:
            self._writing()
            if labels[labels != IGNORE_INDEX].max(initial=0) > len(self.classes):
                raise ProjectError(f"{image_id}: the label map holds a class index beyond the {len(self.classes)} "
                                   "classes of the project")
            write_label_png(self.label_path(image_id), labels, self.labelmap().palette())
            if done is not None or self.status.get(image_id) != "done":
                self.status[image_id] = "done" if done else "draft"
            self.discard_autosave(image_id)
            atomic_write_text(self.root / "ImageSets" / "Segmentation" / "default.txt",
                              "".join(f"{i}\n" for i in self.saved_ids()))
            self.save_meta()

    def ids_with_status(self, *statuses: str) -> list[str]:
        """The images with a saved label map whose status is one of ``statuses`` (``done``, ``draft``)."""
        return [i for i in self.saved_ids() if self.image_status(i) in statuses]

    def image_status(self, image_id: str) -> str:
        """``unlabeled``, ``draft`` (saved or autosaved edits) or ``done``."""
        if image_id in self.status and self.label_path(image_id).is_file():
            return self.status[image_id]
        if self.label_path(image_id).is_file() or self.autosave_path(image_id).is_file():
            return "draft"
        return "unlabeled"

    def next_unlabeled(self, after: str | None = None) -> str | None:
        """The first unlabeled image after ``after`` (wrapping around), or None when every image has labels."""
        ids = self.ids
        start = ids.index(after) + 1 if after in ids else 0
        for image_id in ids[start:] + ids[:start]:
            if self.image_status(image_id) == "unlabeled":
                return image_id
        return None

    # -- autosave / recovery -----------------------------------------------------------------------------
    def autosave_path(self, image_id: str) -> Path:
        return self.root / AUTOSAVE / f"{image_id}.png"

    def autosave(self, image_id: str, labels: np.ndarray) -> None:
        with self._guard:
            self._writing()
            write_label_png(self.autosave_path(image_id), labels, self.labelmap().palette())

    def discard_autosave(self, image_id: str) -> None:
        self.autosave_path(image_id).unlink(missing_ok=True)

    def recoverable(self) -> list[str]:
        """Images with unsaved edits left by a session that did not end cleanly."""
        folder = self.root / AUTOSAVE
        return sorted(p.stem for p in folder.glob("*.png") if p.stem in self.images) if folder.is_dir() else []

    def recover(self, image_id: str) -> np.ndarray:
        path = self.autosave_path(image_id)
        return self._checked(path, read_label_png(path))
