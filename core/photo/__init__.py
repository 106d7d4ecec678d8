"""Zero-shot masks on real photographs from what a fresh install ships (no training, offline).

The method (registry name ``imagenet-concepts``, :mod:`core.models.photo_concepts`): EfficientNet-Lite0's ImageNet
classifier applied densely gives per-pixel probabilities of 1,000 concepts; a class name becomes a weighting of
concepts (WordNet descendants, else text-near concepts, else *unsupported*); its score is the concept mass at each
pixel, calibrated the same on every image, and snapped to the image's edges by a guided filter.

Model folder (loaded by :class:`core.inference.runtime.Predictor` unchanged): ``resources/photo_model``
(:func:`photo_model_folder`); re-made by ``python -m core.photo.export --out resources/photo_model``.

* manifest: ``method`` ``imagenet-concepts``, ``text_encoder`` ``imagenet-concepts`` (a :class:`TextEncoder`
  giving 1000-d unit rows), ``activation`` ``sigmoid``, ``threshold`` 0.5, ``input_size`` 448 (short side),
  ImageNet mean / std.
* ``encoder.onnx``: ``image [1, 3, H, W]`` (ImageNet-normalised) -> three outputs, in this order
  (``Predictor.features(image)`` returns them as a list; ``OnnxModel.preprocess`` gives H, W):

  - ``concepts`` ``[1, 1000, ceil(H/16), ceil(W/16)]``: ImageNet concept probabilities per position;
  - ``strokes`` ``[1, 472, ceil(H/8), ceil(W/8)]``: multi-scale backbone features for stroke teaching
    (stride-8 40 ch, stride-16 112 ch, last map 320 ch, each bilinearly upsampled to stride 8 and L2-normalised,
    concatenated and divided by sqrt(3): every position is a unit vector);
  - ``guide`` ``[1, 12, ceil(H/2), ceil(W/2)]``: channels 0-2 the input as RGB in [0, 1] at half size (the edge
    guide), 3-11 its guided-filter statistics (computed once per image, so a class edit filters only the class).
* ``scorer.onnx``: ``concepts``, ``guide``, ``classes [C, 1000]`` -> ``logits [1, C, ceil(H/2), ceil(W/2)]``,
  ``log(mass / 0.15)``; a sigmoid of it is the heatmap and background is "no class reaches 0.5". A class edit
  re-runs only this graph.

Python API:

* :class:`core.photo.names.ImageNetConceptNames` (``build_encoder("imagenet-concepts")``): ``embed(names)``,
  ``missing(names) -> {name: [name]}`` for unsupported names (the class panel's unknown-word channel),
  ``explain(name) -> (how, [(concept, weight)])`` with how in ``wordnet`` / ``text`` / ``unsupported``;
  :func:`core.photo.names.unsupported_message` is the sentence to show.
* :class:`core.photo.wordnet.ImageNetWordNet`: ``classes(name)``, ``names(indices)``, ``hypernym_chain(index)``.
* :func:`core.photo.refine.guided_filter` (torch, exportable, inside the scorer graph) and
  :func:`core.photo.grabcut.grabcut_logits` (OpenCV post-process on the scorer's logits, per class; the manifest's
  ``"refine": "grabcut"`` asks a runtime to apply it: on the real-photo set it lifts the project-protocol mean IoU
  from 0.39 to 0.49).
* :func:`stroke_features` below.

Example:
    >>> from core.inference.runtime import Predictor  # doctest: +SKIP
    >>> p = Predictor(photo_model_folder())  # doctest: +SKIP
    >>> p.predict(rgb, ["cat", "cup"]).labels  # doctest: +SKIP
    >>> feats = stroke_features(p, rgb)  # [472, H/8, W/8] for a stroke classifier  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Names of the encoder's outputs, in order.
FEATURES = ("concepts", "strokes", "guide")


def photo_model_folder() -> Path:
    """The shipped photo model folder ``resources/photo_model``."""
    from importlib.resources import files

    return Path(str(files("resources") / "photo_model"))


def sample_photos_folder() -> Path:
    """The shipped sample photographs ``resources/photos`` (licences in its LICENSES.md)."""
    from importlib.resources import files

    return Path(str(files("resources") / "photos"))


def stroke_features(predictor, image: np.ndarray, key: str | None = None) -> np.ndarray:
    """The ``strokes`` feature map ``[472, h, w]`` of ``image`` (uint8 RGB) from a photo-model Predictor.

    Uses the Predictor's per-image cache, so features for strokes and masks come from one encoder run. Position
    ``(i, j)`` covers image pixels around ``(i * 8 + 4, j * 8 + 4)`` scaled by ``image short side / 448``.
    """
    feats = predictor.features(image, key)
    names = list(predictor.model.manifest["features"])
    return feats[names.index("strokes")][0]
