"""A folder of unlabeled images (for self-training and batch pre-labelling), scanned recursively."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import DatasetError, ImageError
from core.io.image import IMAGE_SUFFIXES, read_image


@dataclass
class UnlabeledFolder:
    """Every readable image under ``root``, recursively, in a stable (sorted) order.

    Files with an image suffix that fail to decode are reported in ``failures`` (path, reason) and
    skipped; the rest go on. Hidden files and folders (starting with ``.``) are skipped.

    Example:
        >>> folder = UnlabeledFolder("/data/unlabeled")  # doctest: +SKIP
        >>> for path, rgb in folder: ...  # doctest: +SKIP
        >>> folder.failures  # doctest: +SKIP
        [(PosixPath('/data/unlabeled/broken.jpg'), '... truncated ...')]
    """

    root: Path
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: no such folder of images")
        self.paths = self._scan()

    def _scan(self) -> list[Path]:
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                    found.append(Path(dirpath) / name)
        return found

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[tuple[Path, np.ndarray]]:
        self.failures = []
        for path in self.paths:
            try:
                yield path, read_image(path)
            except ImageError as exc:
                self.failures.append((path, str(exc)))
