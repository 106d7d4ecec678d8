"""Class colours that agree with class names (and, re-exported, the VOC colour map of label PNGs).

:func:`voc_palette` is the index -> RGB map of every indexed label PNG zerolabel writes; it lives with the PNG
encoding in :mod:`core.io.image` (so ``io`` needs nothing from ``data``). A label map is one unit:
:class:`core.data.labelmap.LabelMap` holds the names and colours (``labelmap.txt``), this module picks a new
class's colour, :mod:`core.io.image` reads and writes the indexed PNGs with the label map's palette.

:func:`class_colour` picks the overlay colour of a new class: the colour its name names ("red triangle" red,
"dark green leaf" dark green, "sky" light blue), else the colour of a fixed set of well-separated hues that lies
farthest (in CIELAB) from the colours already used, so no two classes look alike. Deterministic: the same names
in the same order get the same colours. Never black (background) nor the VOC ignore colour.

Example:
    >>> class_colour("red triangle")
    (220, 30, 30)
    >>> class_colours(["cat", "sky"])[1]
    (135, 206, 235)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import numpy as np

from core.io.image import voc_palette as voc_palette  # re-exported: every caller keeps its import

RGB = tuple[int, int, int]


#: Colour words (and two-word colours) a class name may hold. "black" is a dark grey: black is background.
COLOUR_WORDS: dict[str, RGB] = {
    "red": (220, 30, 30), "green": (40, 170, 60), "blue": (30, 90, 220), "yellow": (245, 215, 40),
    "orange": (245, 135, 20), "purple": (140, 60, 180), "violet": (150, 90, 220), "pink": (245, 130, 190),
    "brown": (140, 85, 40), "black": (45, 45, 45), "white": (245, 245, 245), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "cyan": (20, 210, 220), "magenta": (220, 40, 200), "teal": (0, 128, 128),
    "navy": (20, 30, 120), "maroon": (128, 20, 30), "olive": (128, 128, 0), "lime": (150, 230, 40),
    "gold": (230, 180, 20), "golden": (230, 180, 20), "silver": (190, 190, 200), "beige": (225, 210, 170),
    "tan": (210, 180, 140), "turquoise": (60, 215, 200), "indigo": (75, 30, 140), "crimson": (190, 20, 60),
    "scarlet": (250, 40, 20), "cream": (250, 240, 200), "ivory": (250, 250, 230), "khaki": (190, 180, 110),
    "lavender": (190, 160, 230), "amber": (255, 190, 0), "aqua": (0, 220, 230), "rust": (180, 65, 14),
    "sky blue": (135, 206, 235), "navy blue": (20, 30, 120), "royal blue": (65, 105, 225),
    "light blue": (135, 190, 240), "dark blue": (15, 40, 130), "light green": (140, 220, 120),
    "dark green": (20, 95, 35), "forest green": (34, 110, 34), "dark red": (130, 10, 15),
}
#: Modifiers that darken or lighten a named colour ("dark green", "pale yellow").
MODIFIERS: dict[str, float] = {"dark": -0.45, "deep": -0.35, "light": 0.45, "pale": 0.55, "bright": 0.15}
#: Things whose colour everybody knows, used when a name holds no colour word.
THING_COLOURS: dict[str, RGB] = {
    "sky": (135, 206, 235), "cloud": (225, 230, 240), "sea": (20, 80, 160), "ocean": (20, 80, 160),
    "water": (40, 110, 200), "river": (40, 110, 200), "lake": (40, 110, 200), "grass": (90, 180, 60),
    "lawn": (90, 180, 60), "tree": (30, 120, 45), "leaf": (70, 160, 50), "leaves": (70, 160, 50),
    "forest": (34, 110, 34), "snow": (240, 245, 250), "sand": (225, 200, 140), "beach": (225, 200, 140),
    "soil": (120, 80, 45), "dirt": (120, 80, 45), "mud": (100, 75, 45), "road": (110, 110, 115),
    "asphalt": (90, 90, 95), "fire": (250, 110, 20), "flame": (250, 110, 20), "blood": (150, 10, 20),
}
#: Well-separated hues for names that name no colour (Kelly's colours of maximum contrast, minus black/white).
DISTINCT: tuple[RGB, ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (213, 94, 0), (204, 121, 167), (240, 228, 66),
    (0, 114, 178), (166, 86, 40), (152, 78, 163), (228, 26, 28), (77, 175, 74), (255, 127, 0),
    (161, 202, 241), (190, 0, 50), (194, 178, 128), (132, 132, 130), (0, 136, 86), (230, 143, 172),
    (0, 103, 165), (249, 147, 121), (96, 78, 151), (246, 166, 0), (179, 68, 108), (220, 211, 0),
    (136, 45, 23), (141, 182, 0), (101, 69, 34), (226, 88, 34), (43, 61, 38),
)
BACKGROUND_COLOUR: RGB = (0, 0, 0)
_MIN_DISTANCE = 12.0  # CIELAB units: two colours closer than this read as the same colour


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``[..., 3]`` (0..255) to CIELAB (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]])
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _words(name: str) -> list[str]:
    return re.findall(r"[a-z]+", name.lower())


def _shade(rgb: RGB, amount: float) -> RGB:
    """Towards white (amount > 0) or black (amount < 0) by ``|amount|``."""
    c = np.asarray(rgb, dtype=np.float64)
    c = c + (255 - c) * amount if amount > 0 else c * (1 + amount)
    return tuple(int(v) for v in np.clip(np.rint(c), 0, 255))  # type: ignore[return-value]


def named_colour(name: str) -> RGB | None:
    """The colour a class name names, or None. The last colour word wins ("red-and-blue ball" blue); a modifier
    right before it shades it ("dark green"); a known thing ("sky", "pine tree") counts when no colour word does
    and it is the last word (a "sea lion" is not sea-blue)."""
    words = _words(name)
    for k in range(len(words) - 1, -1, -1):
        pair = " ".join(words[k - 1:k + 1]) if k else ""
        if pair in COLOUR_WORDS:
            return COLOUR_WORDS[pair]
        if words[k] in COLOUR_WORDS:
            colour = COLOUR_WORDS[words[k]]
            if k and words[k - 1] in MODIFIERS:
                colour = _shade(colour, MODIFIERS[words[k - 1]])
            return colour
    if words and words[-1] in THING_COLOURS:  # the head noun only: "sky" and "blue sky", not "sea lion"
        return THING_COLOURS[words[-1]]
    return None


def _too_close(colour: RGB, used: list[RGB]) -> bool:
    if not used:
        return False
    return float(np.linalg.norm(_lab(np.array(used)) - _lab(np.array(colour)), axis=-1).min()) < _MIN_DISTANCE


def _reserved() -> list[RGB]:
    return [BACKGROUND_COLOUR, tuple(int(v) for v in voc_palette()[255])]  # type: ignore[list-item]


def class_colour(name: str, used: Iterable[RGB] = ()) -> RGB:
    """The colour of a new class called ``name``, given the colours ``used`` by the other classes.

    A named colour is kept when no used colour is close to it; else the nearest free shade of it (lighter,
    darker) is taken, so "red circle" and "red square" are both red yet tell apart. Otherwise the well-separated
    colour farthest from every used one.
    """
    taken = [tuple(int(v) for v in c) for c in used] + _reserved()
    named = named_colour(name)
    if named is not None:
        for amount in (0.0, -0.3, 0.3, -0.5, 0.5, -0.15, 0.15, -0.65, 0.65):
            shade = _shade(named, amount)
            if not _too_close(shade, taken):
                return shade
    candidates = DISTINCT if len(taken) < len(DISTINCT) + 2 else _grid()
    dist = np.linalg.norm(_lab_of(candidates)[:, None, :] - _lab(np.array(taken))[None, :, :], axis=-1).min(axis=1)
    best = candidates[int(np.argmax(dist))]
    if best in taken:  # every grid colour used (hundreds of classes): any unused colour
        best = next(c for c in _grid() if c not in taken)
    return best  # type: ignore[return-value]


@functools.cache
def _lab_of(colours: tuple[RGB, ...]) -> np.ndarray:
    return _lab(np.array(colours))


@functools.cache
def _grid() -> tuple[RGB, ...]:
    """A 16 x 16 x 16 grid of colours (for projects with more classes than :data:`DISTINCT`)."""
    levels = range(8, 256, 16)
    return tuple((r, g, b) for r in levels for g in levels for b in levels)


def class_colours(names: Iterable[str], used: Iterable[RGB] = ()) -> list[RGB]:
    """Colours for ``names`` in order, each chosen with :func:`class_colour` against ``used`` and those before."""
    taken = list(used)
    out: list[RGB] = []
    for name in names:
        colour = class_colour(name, taken)
        taken.append(colour)
        out.append(colour)
    return out
