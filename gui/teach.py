"""Teach classes by strokes in the app, and merge the taught classes into the model's draft (Qt-free parts).

* :class:`StrokeRecorder`: the pixels the labeler brushed on the open image, per class name (eraser strokes are
  "not this class" samples). Teaching consumes them: their feature vectors join the project's
  :class:`core.photo.strokes.StrokeHead`, which is refitted; more strokes later add to it.
* :func:`merge_taught`: a taught class takes a pixel when the head's probability there is above 0.5 and above the
  model's own score of the pixel's label (the two scores merged by their maximum).
* The head lives in the project folder as ``strokes.npz`` next to ``project.json`` (written atomically).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: Built-in models selectable by name (the Model menu and ``--samples``).
BUILTINS = ("photos", "shapes")  # the order of the Model menu; core.inference.runtime.BUILTIN_MODELS owns them
#: Starting class names for the shipped sample photographs.
PHOTO_CLASSES = ("cat", "cup", "person", "rocket", "flower")
HEAD_FILE = "strokes.npz"


def builtin_folder(name: str) -> Path:
    """The model folder of a built-in model: ``photos`` (ImageNet concepts) or ``shapes`` (the demo)."""
    from core.inference.builtin import builtin_model_folder

    return builtin_model_folder(name)


def samples_folder(name: str) -> Path:
    """The shipped sample images that go with a built-in model."""
    if name == "photos":
        from core.photo import sample_photos_folder

        return sample_photos_folder()
    from core.inference.runtime import sample_images_folder

    return sample_images_folder()


def head_path(root: Path) -> Path:
    return Path(root) / HEAD_FILE


def extractor_name(manifest: dict) -> str | None:
    """The stroke-feature extractor a model offers (its encoder's ``strokes`` output), else None."""
    if "strokes" not in list(manifest.get("features", [])):
        return None
    return f"{manifest.get('method', manifest.get('name', 'model'))}/strokes"


class StrokeRecorder:
    """Brushed pixels of the open image, per class name, as masks at the image's size (the brush's footprint,
    whether or not it changed the labels: an eraser stroke on background still says "not this class")."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.masks: dict[str, np.ndarray] = {}

    def segment(self, name: str, a: tuple[int, int], b: tuple[int, int], radius: float) -> None:
        """Mark the brush's footprint from image point ``a`` to ``b`` (x, y) for class ``name``."""
        mask = self.masks.get(name)
        if mask is None:
            mask = self.masks[name] = np.zeros(self.shape, np.uint8)
        r = max(1, round(radius))
        cv2.line(mask, a, b, 1, thickness=2 * r)
        cv2.circle(mask, a, r, 1, -1)
        cv2.circle(mask, b, r, 1, -1)

    def take(self) -> dict[str, np.ndarray]:
        """The recorded masks (emptied: a teach consumes them)."""
        masks, self.masks = {n: m > 0 for n, m in self.masks.items() if m.any()}, {}
        return masks

    def __bool__(self) -> bool:
        return any(m.any() for m in self.masks.values())


def teach_samples(recorded: dict[str, np.ndarray], labels: np.ndarray, names: list[str],
                  eraser: str) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Strokes per class and the negatives: eraser strokes, plus the pixels labelled with classes not brushed."""
    strokes = {n: m for n, m in recorded.items() if n != eraser}
    negatives = recorded.get(eraser)
    others = [i + 1 for i, n in enumerate(names) if n not in strokes]
    if others:
        other = np.isin(labels, others)
        if other.any():
            negatives = other if negatives is None else negatives | other
    return strokes, negatives


def merge_taught(labels: np.ndarray, score: np.ndarray, probs: np.ndarray, indices: list[int]) -> None:
    """In place: pixels where a taught class's probability beats 0.5 and ``score`` take that class.

    ``probs`` ``[1 + C, h, w]`` (other first) at the feature grid, ``indices[c]`` the label value of taught class
    ``c`` (0: not asked for). ``score`` is the probability of each pixel's label (0 on background); it is raised to
    the taught probability where a taught class wins.
    """
    size = (labels.shape[1], labels.shape[0])
    taught = probs[1:]
    if not len(taught):
        return
    best = taught.argmax(0)
    top = np.take_along_axis(taught, best[None], 0)[0]
    # the winner and its probability at full resolution, one upsample each (never C full-size float maps)
    top_full = cv2.resize(top, size, interpolation=cv2.INTER_LINEAR)
    lut = np.asarray(indices, np.uint8)
    win_full = cv2.resize(lut[best], size, interpolation=cv2.INTER_NEAREST)
    take = (top_full > 0.5) & (top_full > score) & (win_full > 0)
    labels[take] = win_full[take]
    score[take] = top_full[take]
