"""``imagenet-concepts``: the text encoder of the photo model. A class name -> weights over the 1,000 ImageNet
concepts (a unit row of length 1000; the scorer divides it by its maximum).

1. WordNet (:mod:`core.photo.wordnet`): the name's sense and every ImageNet class below it, weight 1 each.
   Concepts the classifier itself confuses with those (cosine of their ``_fc`` rows, shipped as
   ``resources/wordnet/concept_neighbours.npz``) join with a weight that ramps from 0 at ``NEAR[0]`` to 1 at
   ``NEAR[1]``: ``cup`` also takes ``coffee mug`` and ``espresso``, ``missile`` takes ``projectile``.
   ImageNet has no class for a person; a name whose sense is ``person`` (``person``, ``someone``) also takes the
   classes below ``clothing`` (suit, jersey, military uniform, ...), the way ImageNet sees people (``CUES``).
2. Names WordNet cannot place: ConSE (Norouzi et al., 2014), a convex combination of the ``TOP`` concepts whose
   MiniLM text embedding is closest to the name's, weighted by similarity; only when the closest one reaches
   ``MIN_SIMILARITY`` (below it, ``sky`` would become ``fly`` or ``plane``).
3. Anything else is *unsupported*: :meth:`ImageNetConceptNames.missing` reports it (the class panel marks it) and
   :meth:`embed` raises :class:`UnsupportedNameError` with "no ImageNet concept is close to 'sky': teach it with a
   few strokes". Such a name is never drawn.

Example:
    >>> enc = ImageNetConceptNames()
    >>> enc.embed(["cat"]).shape
    (1, 1000)
    >>> enc.missing(["cat", "sky"])
    {'sky': ['sky']}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.embeddings.base import BaseEncoder
from core.errors import UnknownWordError
from core.photo.wordnet import ImageNetWordNet

DIM = 1000
TOP = 3
MIN_SIMILARITY = 0.75
SOURCE = "imagenet-concepts"
#: Classifier-similarity ramp (cosine of ``_fc`` rows) for neighbour concepts of a WordNet class set.
NEAR = (0.2, 0.4)
#: Senses ImageNet sees through other concepts: person (n00007846) -> what people wear (clothing, n03051540).
CUES = {"n00007846": "n03051540"}
#: Neighbours kept per concept in the shipped file.
NEIGHBOURS = 16


class UnsupportedNameError(UnknownWordError):
    """A class name that no ImageNet concept supports (WordNet cannot place it, no concept name is close)."""

    def __init__(self, name: str) -> None:
        Exception.__init__(self, unsupported_message(name))
        self.word = self.name = name
        self.provider = SOURCE


def unsupported_message(name: str) -> str:
    """What the app and the CLI say about a name the photo model cannot score."""
    return f"no ImageNet concept is close to {name!r}: teach it with a few strokes"


def concept_text_path() -> Path:
    """MiniLM embeddings of the 1,000 concept names (``resources/wordnet/concept_names_minilm.npy``)."""
    from importlib.resources import files

    return Path(str(files("resources") / "wordnet" / "concept_names_minilm.npy"))


def neighbours_path() -> Path:
    """The classifier's nearest concepts per concept (``resources/wordnet/concept_neighbours.npz``)."""
    from importlib.resources import files

    return Path(str(files("resources") / "wordnet" / "concept_neighbours.npz"))


def build_neighbours(fc_weight: np.ndarray, out: str | Path | None = None) -> Path:
    """Save each concept's ``NEIGHBOURS`` nearest concepts by cosine of the classifier rows ``[1000, K]``."""
    from core.io.atomic import atomic_write_bytes

    rows = fc_weight / np.linalg.norm(fc_weight, axis=1, keepdims=True)
    sims = rows @ rows.T
    np.fill_diagonal(sims, -1)
    index = np.argsort(-sims, axis=1)[:, :NEIGHBOURS]
    import io

    buffer = io.BytesIO()
    np.savez(buffer, index=index.astype(np.int16), sim=np.take_along_axis(sims, index, 1).astype(np.float16))
    out = Path(out or neighbours_path())
    atomic_write_bytes(out, buffer.getvalue())
    return out


def concept_texts(wordnet: ImageNetWordNet) -> list[str]:
    """The phrase embedded for each concept: its first two lemmas (``tabby, tabby cat``)."""
    return [", ".join(wordnet.synsets[w]["lemmas"][:2]) for w in wordnet.wnids]


def build_concept_text(out: str | Path | None = None) -> Path:
    """Embed the concept phrases with MiniLM once and save them as float16 (``tools/build_wordnet.py --text``)."""
    from core.embeddings import build_encoder
    from core.io.atomic import atomic_write_bytes

    out = Path(out or concept_text_path())
    vectors = build_encoder("minilm").embed(concept_texts(ImageNetWordNet.load())).astype(np.float16)
    import io

    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    atomic_write_bytes(out, buffer.getvalue())
    return out


class ImageNetConceptNames(BaseEncoder):
    """Class names -> ImageNet concept weights through WordNet, then MiniLM nearest concepts (see module)."""

    provider = SOURCE
    source = SOURCE
    dim = DIM

    def __init__(self, wordnet: ImageNetWordNet | None = None) -> None:
        super().__init__()
        self.wordnet = wordnet or ImageNetWordNet.load()
        self._text = None
        self._concepts: np.ndarray | None = None
        self._near: tuple[np.ndarray, np.ndarray] | None = None

    def _neighbours(self, classes: list[int]) -> np.ndarray:
        """Weights ``[1000]`` of the concepts the classifier confuses with ``classes`` (0 for the classes)."""
        if self._near is None:
            path = neighbours_path()
            if not path.is_file():
                self._near = (np.zeros((DIM, 0), np.int64), np.zeros((DIM, 0)))
            else:
                with np.load(path, allow_pickle=False) as data:
                    self._near = (data["index"].astype(np.int64), data["sim"].astype(np.float64))
        index, sim = self._near
        ramp = np.clip((sim[classes] - NEAR[0]) / (NEAR[1] - NEAR[0]), 0.0, 1.0)
        out = np.zeros(DIM)
        np.maximum.at(out, index[classes].ravel(), ramp.ravel())
        out[classes] = 0.0
        return out

    # -- the two lookups ---------------------------------------------------------------------------------
    def _consenses(self, phrase: str) -> list[tuple[int, float]]:
        """ConSE: the ``TOP`` concepts closest to the phrase (similarity-weighted), or [] when none is close."""
        if self._text is None:
            from core.embeddings import build_encoder

            self._text = build_encoder("minilm")
            path = concept_text_path()
            self._concepts = (np.load(path, allow_pickle=False).astype(np.float32) if path.is_file()
                              else self._text.embed(concept_texts(self.wordnet)))
        sims = self._concepts @ self._text.embed([phrase])[0]
        best = np.argsort(-sims)[:TOP]
        if sims[best[0]] < MIN_SIMILARITY:
            return []
        return [(int(i), float(sims[i])) for i in best if sims[i] >= MIN_SIMILARITY - 0.1]

    def weights(self, name: str) -> tuple[str, np.ndarray]:
        """``(how, weights [1000])`` for a name: how is ``wordnet``, ``text`` or ``unsupported`` (all zero)."""
        phrase = " ".join(str(name).lower().split())
        row = np.zeros(DIM, np.float64)
        classes = self.wordnet.classes(phrase)
        cue = CUES.get(self.wordnet.sense(phrase) or "")
        if cue:
            classes = sorted({*classes, *self.wordnet.synsets[cue]["classes"]})
        if classes:
            row = self._neighbours(classes)
            row[classes] = 1.0
            return "wordnet", row
        for index, sim in self._consenses(phrase):
            row[index] = sim
        return ("text" if row.any() else "unsupported"), row

    def explain(self, name: str) -> tuple[str, list[tuple[str, float]]]:
        """``(how, [(concept name, weight), ...])``: what a name is scored with, strongest first (for tooltips)."""
        how, row = self.weights(name)
        order = np.argsort(-row)[: int((row > 0).sum())]
        names = self.wordnet.class_names()
        return how, [(names[i], round(float(row[i] / row.max()), 3)) for i in order]

    # -- BaseEncoder -------------------------------------------------------------------------------------
    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        rows = []
        for phrase, name in zip(phrases, names, strict=True):
            how, row = self.weights(phrase)
            if how == "unsupported":
                raise UnsupportedNameError(name)
            rows.append(row)
        return np.stack(rows)

    def _unknown(self, phrase: str, words: list[str]) -> list[str]:
        return [phrase] if self.weights(phrase)[0] == "unsupported" else []

    def unknown_error(self, word: str, name: str) -> UnknownWordError:
        return UnsupportedNameError(name)
