"""A procedural compositional zero-shot benchmark: "<colour> <shape>" classes on textured backgrounds.

Every class name is a phrase of two common English words, so word vectors relate unseen classes to seen
ones (an unseen "pink heart" shares "pink" with seen "pink star" and "heart" with seen "brown heart").
Unseen classes are chosen so that each of their words also appears in some seen class, training and
validation images hold seen classes only, and the test split holds at least one unseen object per image.

Images have textured, low-saturation backgrounds, clutter (lines, arcs, small blobs that are not classes),
occlusion (later objects cover earlier ones; the label map shows what is visible), per-object colour jitter
and shading, and an ignore band (255) along object borders as in PASCAL VOC. A seed makes it reproducible:
sample ``i`` of split ``s`` depends only on (seed, s, i).
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.data.base import BACKGROUND, IGNORE_INDEX
from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter
from core.errors import DatasetError

#: Colour words and their base RGB. All are in common word-vector vocabularies (GloVe, word2vec, fastText).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35),
    "green": (40, 170, 60),
    "blue": (35, 70, 215),
    "yellow": (240, 215, 40),
    "purple": (130, 50, 170),
    "orange": (245, 135, 20),
    "pink": (245, 120, 185),
    "brown": (125, 75, 35),
}

SHAPES = ("circle", "square", "triangle", "star", "heart", "cross", "diamond", "hexagon")

#: The range of every number of a :class:`ShapesConfig` (the ``make-shapes`` flags parse with these). Below 24 px
#: the clutter and the shapes do not fit; above 2048 px one image is 12 MB in memory and the set is no longer small.
SHAPES_LIMITS: dict[str, tuple[int, int]] = {
    "size": (24, 2048),
    "train": (1, 1_000_000),
    "val": (0, 1_000_000),
    "test": (0, 1_000_000),
    "colours": (2, len(COLOURS)),
    "shapes": (2, len(SHAPES)),
    "unseen_count": (0, len(COLOURS) * len(SHAPES) - 1),
    "max_objects": (1, 32),
    "seed": (0, 2**32 - 1),
}


def _polygon(kind: str, n: int = 64) -> np.ndarray:
    """Unit-size outline of ``kind`` centred at 0, as float [K, 2] (x, y), radius about 1."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    if kind == "circle":
        return np.stack([np.cos(t), np.sin(t)], 1)
    if kind == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * 0.82
    if kind == "triangle":
        a = np.array([-90, 30, 150]) * math.pi / 180
        return np.stack([np.cos(a), np.sin(a)], 1) * 1.1
    if kind == "star":
        a = np.arange(10) * math.pi / 5 - math.pi / 2
        r = np.where(np.arange(10) % 2 == 0, 1.1, 0.45)
        return np.stack([r * np.cos(a), r * np.sin(a)], 1)
    if kind == "heart":
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return np.stack([x, y], 1) / 16.0
    if kind == "cross":
        w = 0.36
        return np.array(
            [[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w],
             [-w, -w]], float)
    if kind == "diamond":
        return np.array([[0, -1.15], [0.7, 0], [0, 1.15], [-0.7, 0]], float)
    if kind == "hexagon":
        a = np.arange(6) * math.pi / 3
        return np.stack([np.cos(a), np.sin(a)], 1)
    raise ValueError(f"unknown shape {kind!r}")


@dataclass(frozen=True)
class ShapesConfig:
    """Options of ``zerolabel data make-shapes``; :data:`SHAPES_LIMITS` gives each number's range."""

    size: int = 96
    train: int = 1500
    val: int = 300
    test: int = 300
    colours: int = 5
    shapes: int = 5
    unseen_count: int = 5
    unseen: tuple[str, ...] = ()
    max_objects: int = 3
    seed: int = 0
    clutter: bool = True

    def __post_init__(self) -> None:
        for name, (low, high) in SHAPES_LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise DatasetError(f"--{name.replace('_', '-')} must be an integer from {low} to {high}, "
                                   f"got {value!r}")

    def colour_words(self) -> list[str]:
        if not 2 <= self.colours <= len(COLOURS):
            raise DatasetError(f"--colours must be 2..{len(COLOURS)}")
        return list(COLOURS)[: self.colours]

    def shape_words(self) -> list[str]:
        if not 2 <= self.shapes <= len(SHAPES):
            raise DatasetError(f"--shapes must be 2..{len(SHAPES)}")
        return list(SHAPES[: self.shapes])


@dataclass
class ShapesSpec:
    """The class list and the unseen split derived from a config."""

    classes: list[str]
    unseen: list[str]
    parts: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def seen(self) -> list[str]:
        return [c for c in self.classes if c not in self.unseen]


def make_spec(cfg: ShapesConfig) -> ShapesSpec:
    """All "<colour> <shape>" classes and the unseen ones (a Latin-square pick unless given)."""
    colours, shapes = cfg.colour_words(), cfg.shape_words()
    parts = {f"{c} {s}": (c, s) for c in colours for s in shapes}
    classes = list(parts)
    if cfg.unseen:
        unseen = list(cfg.unseen)
        for name in unseen:
            if name not in parts:
                raise DatasetError(f"unseen class {name!r} is not a '<colour> <shape>' class of this config")
    else:
        if not 0 <= cfg.unseen_count < len(classes):
            raise DatasetError(f"--unseen-count must be 0..{len(classes) - 1}")
        rng = np.random.default_rng([cfg.seed, 7])
        shape_order = [shapes[i] for i in rng.permutation(len(shapes))]
        colour_order = [colours[i] for i in rng.permutation(len(colours))]
        # Walk the diagonals of the colour x shape grid (colour i with shape i + d): each diagonal uses every
        # colour and shape at most once per lap, and the walk visits every class, so it always terminates.
        unseen = []
        for diagonal in range(len(shapes)):
            for i in range(len(colours)):
                name = f"{colour_order[i]} {shape_order[(i + diagonal) % len(shapes)]}"
                if len(unseen) < cfg.unseen_count and name not in unseen:
                    unseen.append(name)
    seen = [c for c in classes if c not in unseen]
    seen_words = {w for name in seen for w in parts[name]}
    for name in unseen:
        for word in parts[name]:
            if word not in seen_words:
                raise DatasetError(
                    f"unseen class {name!r}: the word {word!r} appears in no seen class, so no model can "
                    "learn it; choose other unseen classes"
                )
    return ShapesSpec(classes=classes, unseen=unseen, parts=parts)


# -- drawing ---------------------------------------------------------------------------------------------

def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    hue = rng.uniform(0, 180)
    sat = rng.uniform(10, 70)
    val = rng.uniform(90, 200)
    base = cv2.cvtColor(np.uint8([[[hue, sat, val]]]), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
    cells = int(rng.integers(3, 9))
    noise = cv2.resize(rng.normal(0, 1, (cells, cells, 3)).astype(np.float32), (size, size),
                       interpolation=cv2.INTER_CUBIC)
    img = base + noise * rng.uniform(8, 25)
    kind = rng.integers(0, 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == 1:  # stripes
        angle, period = rng.uniform(0, math.pi), rng.uniform(6, 20)
        stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
        img += (stripes > 0)[..., None] * rng.uniform(-30, 30)
    elif kind == 2:  # checker
        period = int(rng.integers(6, 18))
        checker = ((xx // period + yy // period) % 2).astype(np.float32)
        img += checker[..., None] * rng.uniform(-25, 25)
    img += rng.normal(0, 4, img.shape)
    return img


def _clutter(rng: np.random.Generator, img: np.ndarray, size: int) -> None:
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(float(v) for v in rng.uniform(0, 255, 3))
        kind = rng.integers(0, 3)
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        thickness = int(rng.integers(1, 3))
        if kind == 0:
            p2 = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.line(img, p1, p2, colour, thickness, cv2.LINE_AA)
        elif kind == 1:
            axes = (int(rng.integers(4, size // 4)), int(rng.integers(2, size // 6)))
            start = float(rng.uniform(0, 360))
            cv2.ellipse(img, p1, axes, float(rng.uniform(0, 180)), start, start + float(rng.uniform(60, 200)),
                        colour, thickness, cv2.LINE_AA)
        else:
            cv2.circle(img, p1, int(rng.integers(1, 3)), colour, -1, cv2.LINE_AA)


def _object_colour(rng: np.random.Generator, word: str) -> np.ndarray:
    rgb = np.uint8([[COLOURS[word]]])
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)[0, 0]
    hsv[0] = (hsv[0] + rng.uniform(-4, 4)) % 180
    hsv[1] = np.clip(hsv[1] * rng.uniform(0.85, 1.1), 0, 255)
    hsv[2] = np.clip(hsv[2] * rng.uniform(0.8, 1.1), 0, 255)
    return cv2.cvtColor(np.uint8([[hsv]]), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def render(
    rng: np.random.Generator,
    size: int,
    objects: Sequence[tuple[int, str, str]],
    clutter: bool = True,
    border: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``objects`` (class index, colour word, shape word) in order; later objects occlude earlier.

    Returns ``(rgb uint8 [H, W, 3], labels uint8 [H, W])`` with a ``border``-pixel ignore band on edges.
    """
    img = _background(rng, size)
    if clutter:
        _clutter(rng, img, size)
    labels = np.zeros((size, size), np.uint8)
    for class_index, colour, shape in objects:
        radius = rng.uniform(0.12, 0.3) * size
        centre = rng.uniform(radius * 0.6, size - radius * 0.6, 2)
        angle = rng.uniform(0, 2 * math.pi) if shape not in ("heart", "triangle", "star") else rng.uniform(-0.4, 0.4)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        aspect = np.array([rng.uniform(0.85, 1.15), 1.0])
        pts = (_polygon(shape) * aspect) @ rot.T * radius + centre
        pts_i = np.round(pts * 16).astype(np.int32)  # 4 fractional bits for sub-pixel accuracy
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [pts_i], 1, cv2.LINE_8, shift=4)
        if mask.sum() < 6:
            continue
        colour = _object_colour(rng, colour)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        shade = 1.0 + rng.uniform(-0.12, 0.12) * ((xx - centre[0]) + (yy - centre[1])) / max(radius, 1)
        soft = np.zeros((size, size), np.float32)
        cv2.fillPoly(soft, [pts_i], 1.0, cv2.LINE_AA, shift=4)
        fill = np.clip(colour[None, None, :] * shade[..., None] + rng.normal(0, 5, (size, size, 3)), 0, 255)
        img = img * (1 - soft[..., None]) + fill * soft[..., None]
        labels[mask.astype(bool)] = class_index
    if border > 0:
        edges = np.zeros_like(labels, dtype=bool)
        kernel = np.ones((2 * border + 1, 2 * border + 1), np.uint8)
        for value in np.unique(labels):
            region = (labels == value).astype(np.uint8)
            edges |= (cv2.dilate(region, kernel) > 0) & (cv2.erode(region, kernel) == 0)
        labels[edges & (labels != 0) | edges & (cv2.dilate((labels > 0).astype(np.uint8), kernel) > 0)] = IGNORE_INDEX
    return np.clip(img, 0, 255).astype(np.uint8), labels


def _sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(split.encode()), index])


def make_sample(cfg: ShapesConfig, spec: ShapesSpec, split: str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate sample ``index`` of ``split``: train/val hold seen classes only, test at least one unseen."""
    rng = _sample_rng(cfg.seed, split, index)
    class_ids = {name: i + 1 for i, name in enumerate(spec.classes)}
    pool = spec.seen if split in ("train", "val") else spec.classes
    count = int(rng.integers(1, cfg.max_objects + 1))
    names = [pool[int(i)] for i in rng.integers(0, len(pool), count)]
    if split not in ("train", "val") and spec.unseen and not set(names) & set(spec.unseen):
        names[int(rng.integers(0, count))] = spec.unseen[int(rng.integers(0, len(spec.unseen)))]
    objects = [(class_ids[n], *spec.parts[n]) for n in names]
    return render(rng, cfg.size, objects, clutter=cfg.clutter)


def write_shapes(
    out: str | os.PathLike,
    cfg: ShapesConfig,
    progress: Callable[[int, int], None] | None = None,
) -> ShapesSpec:
    """Write the benchmark to ``out`` in zerolabel's layout and return its class spec.

    Example:
        >>> spec = write_shapes("/tmp/shapes", ShapesConfig(train=100, val=20, test=20))  # doctest: +SKIP
    """
    spec = make_spec(cfg)
    out = Path(out)
    labelmap = LabelMap.from_names([BACKGROUND, *spec.classes])
    total = cfg.train + cfg.val + cfg.test
    done = 0
    with DatasetWriter(out, labelmap, unseen=spec.unseen) as writer:
        for split, count in (("train", cfg.train), ("val", cfg.val), ("test", cfg.test)):
            for index in range(count):
                rgb, labels = make_sample(cfg, spec, split, index)
                writer.add(f"{split}_{index:05d}", rgb, labels, split=split)
                done += 1
                if progress is not None:
                    progress(done, total)
    return spec
