"""CVAT "Segmentation mask" style ``labelmap.txt``: class names and colours, background first.

Format::

    # label:color_rgb:parts:actions
    background:0,0,0::
    red circle:128,0,0::

Names follow :mod:`core.data.names` (spaces inside are fine; no ``:``, no line breaks). Colours are unique.
Index = line order (0 = background).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.base import BACKGROUND
from core.data.names import check_class_name
from core.data.palette import voc_palette
from core.errors import DatasetError
from core.io.atomic import atomic_write_text
from core.io.files import regular_file

HEADER = "# label:color_rgb:parts:actions"


@dataclass(frozen=True)
class LabelMap:
    """Ordered class names with their RGB colours; index 0 is background.

    Example:
        >>> lm = LabelMap.from_names(["background", "red circle"])
        >>> lm.colors[1]
        (128, 0, 0)
    """

    names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.colors):
            raise ValueError("names and colors differ in length")
        if not self.names or self.names[0] != BACKGROUND:
            raise DatasetError(f"the first class must be {BACKGROUND!r}, got {self.names[:1]}")
        if len(self.names) > 255:
            raise DatasetError(f"{len(self.names)} classes do not fit an 8-bit label map (at most 255)")
        seen: set[str] = set()
        for name in self.names:
            check_class_name(name)
            if name in seen:
                raise DatasetError(f"class {name!r} is listed twice")
            seen.add(name)
        if len(set(self.colors)) != len(self.colors):
            raise DatasetError("two classes share a colour; every class needs its own colour")

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...]) -> LabelMap:
        """Build a label map with VOC colours by index; prepends background when it is missing."""
        names = tuple(names)
        if not names or names[0] != BACKGROUND:
            names = (BACKGROUND, *[n for n in names if n != BACKGROUND])
        palette = voc_palette()
        return cls(names, tuple(tuple(int(v) for v in palette[i]) for i in range(len(names))))

    def palette(self) -> np.ndarray:
        """A ``uint8 [256, 3]`` PNG palette: our colours at their indices, VOC colours elsewhere."""
        palette = voc_palette().copy()
        for index, color in enumerate(self.colors):
            palette[index] = color
        return palette

    def to_text(self) -> str:
        lines = [HEADER] + [f"{n}:{r},{g},{b}::" for n, (r, g, b) in zip(self.names, self.colors, strict=True)]
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, self.to_text())

    @classmethod
    def read(cls, path: str | os.PathLike) -> LabelMap:
        """Parse a ``labelmap.txt``; errors name the file and line."""
        path = Path(path)
        if path.exists() and not path.is_dir():  # a FIFO or a device: refused before it is opened
            regular_file(path, "label map", DatasetError)
        try:
            text = path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark (Windows editors) is dropped
        except FileNotFoundError:
            raise DatasetError(f"{path}: missing; a dataset folder needs labelmap.txt (background first)") from None
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from exc
        except OSError as exc:
            raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc}); it must be a text file") from exc
        names: list[str] = []
        colors: list[tuple[int, int, int]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":")
            if len(parts) < 2:
                raise DatasetError(f"{path}:{number}: expected 'name:r,g,b::', got {raw!r}")
            name, color = parts[0].strip(), parts[1].strip()
            try:
                rgb = tuple(int(v) for v in color.split(","))
            except ValueError:
                rgb = ()
            if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                raise DatasetError(f"{path}:{number}: colour {color!r} is not 'r,g,b' with values 0..255")
            names.append(name)
            colors.append(rgb)  # type: ignore[arg-type]
        if not names:
            raise DatasetError(f"{path}: lists no classes; add 'background:0,0,0::' and one line per class")
        try:
            return cls(tuple(names), tuple(colors))
        except DatasetError as exc:
            raise type(exc)(f"{path}: {exc}") from None

    def colors_to_indices(self, rgb: np.ndarray, source: str | os.PathLike = "mask") -> np.ndarray:
        """Map an RGB colour mask (CVAT export) to class indices; the VOC ignore colour maps to 255."""
        lut = {c: i for i, c in enumerate(self.colors)}
        lut.setdefault(tuple(int(v) for v in voc_palette()[255]), 255)
        flat = rgb.reshape(-1, 3).astype(np.int32)
        keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
        uniques, inverse = np.unique(keys, return_inverse=True)
        out = np.empty(len(uniques), dtype=np.uint8)
        for k, key in enumerate(uniques.tolist()):
            color = ((key >> 16) & 255, (key >> 8) & 255, key & 255)
            if color not in lut:
                raise DatasetError(
                    f"{source}: colour {color} is not in labelmap.txt; add the class or repaint those pixels"
                )
            out[k] = lut[color]
        return out[inverse].reshape(rgb.shape[:2])
