"""The shipped WordNet resource: a typed class name -> the ImageNet-1k classes it covers.

``resources/wordnet/imagenet_wordnet.json.gz`` is made once by ``tools/build_wordnet.py`` from WordNet 3.0
(licence in ``resources/wordnet/LICENSE-WordNet.txt``). A name resolves through its first visual noun sense (an
object, animal, plant, food, person) that is an ImageNet class or has ImageNet classes below it: ``vehicle``
reaches the cars, ``mug`` the coffee mug, ``motorbike`` the moped.

Example:
    >>> wn = ImageNetWordNet.load()
    >>> sorted(wn.names(wn.classes("mug")))
    ['coffee mug']
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

from core.errors import ZerolabelError


class WordNetResourceError(ZerolabelError):
    """The shipped WordNet resource is missing or damaged."""


def resource_path() -> Path:
    """``resources/wordnet/imagenet_wordnet.json.gz`` inside the installed package."""
    from importlib.resources import files

    return Path(str(files("resources") / "wordnet" / "imagenet_wordnet.json.gz"))


def _variants(phrase: str) -> list[str]:
    """The phrase, then simple singulars of its last word (``cats`` -> ``cat``, ``boxes`` -> ``box``)."""
    out = [phrase]
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", "")):
        if phrase.endswith(suffix) and len(phrase) > len(suffix) + 2:
            out.append(phrase[: -len(suffix)] + repl)
    return out


class ImageNetWordNet:
    """ImageNet class indices, names and the WordNet noun hierarchy around them."""

    def __init__(self, data: dict, source: str = "") -> None:
        if data.get("format") != "zerolabel-imagenet-wordnet" or len(data.get("wnids", [])) != 1000:
            raise WordNetResourceError(f"{source}: not a zerolabel ImageNet-WordNet resource; reinstall zerolabel "
                                       "or rebuild it with tools/build_wordnet.py")
        self.wnids: list[str] = data["wnids"]
        self.synsets: dict[str, dict] = data["synsets"]
        self.lemmas: dict[str, list[str]] = data["lemmas"]

    @classmethod
    def load(cls, path: str | Path | None = None) -> ImageNetWordNet:
        """Read the resource (cached per path)."""
        return _load(str(path or resource_path()))

    def class_names(self) -> list[str]:
        """The first lemma of each of the 1,000 classes, in class-index order."""
        return [self.synsets[w]["lemmas"][0] for w in self.wnids]

    def names(self, indices) -> list[str]:
        """First lemmas of the given class indices."""
        return [self.synsets[self.wnids[i]]["lemmas"][0] for i in indices]

    def senses(self, name: str) -> list[str]:
        """WordNet ids of the visual senses of ``name`` (objects, animals, plants, food, people) in WordNet's order;
        empty when none of them reaches an ImageNet class."""
        phrase = " ".join(name.replace("_", " ").replace("-", " ").lower().split())
        for variant in _variants(phrase):
            for key in (variant, variant.replace(" ", "-"), variant.replace(" ", "")):
                if key in self.lemmas:
                    return list(self.lemmas[key])
        return []

    def sense(self, name: str) -> str | None:
        """The sense a name is taken to mean: its first visual sense that is an ImageNet class or has ImageNet
        classes below it; ``None`` when WordNet cannot place it (``sky``, ``water``, ``kitten``)."""
        senses = [w for w in self.senses(name) if w in self.synsets]
        return senses[0] if senses else None

    def classes(self, name: str) -> list[int]:
        """Sorted ImageNet class indices the sense of ``name`` covers (empty: WordNet cannot place it)."""
        wnid = self.sense(name)
        return list(self.synsets[wnid]["classes"]) if wnid else []

    def hypernym_chain(self, index: int) -> list[str]:
        """The first lemmas from class ``index`` up to the root (first hypernym at each step)."""
        chain, wnid = [], self.wnids[index]
        while wnid:
            chain.append(self.synsets[wnid]["lemmas"][0])
            ups = self.synsets[wnid]["hypernyms"]
            wnid = ups[0] if ups else ""
        return chain


@lru_cache(maxsize=4)
def _load(path: str) -> ImageNetWordNet:
    try:
        data = json.loads(gzip.decompress(Path(path).read_bytes()))
    except (OSError, ValueError, EOFError) as exc:
        raise WordNetResourceError(f"{path}: cannot be read ({exc}); reinstall zerolabel or rebuild it with "
                                   "tools/build_wordnet.py") from exc
    return ImageNetWordNet(data, path)
