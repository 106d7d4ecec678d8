"""Class-name rules shared by every text encoder (the zero-shot segmentation papers' rule).

A class name is lower-cased and split on spaces, underscores and hyphens. Dataset-specific spellings are undone:
CUB folder names lose their number prefix (``"001.Black_footed_Albatross"`` -> ``"black footed albatross"``) and
VOC / COCO-Stuff joined words are split (``"tvmonitor"`` -> ``"tv monitor"``, ``"playingfield"`` ->
``"playing field"``). Word-vector providers sum the vectors of the words; sentence encoders embed the phrase.
"""

from __future__ import annotations

import re

from core.errors import ZerolabelError

#: Joined class names of PASCAL VOC / Pascal-Context / COCO-Stuff, split into the words they stand for.
JOINED_NAMES: dict[str, tuple[str, ...]] = {
    "tvmonitor": ("tv", "monitor"),
    "pottedplant": ("potted", "plant"),
    "diningtable": ("dining", "table"),
    "playingfield": ("playing", "field"),
    "waterdrops": ("water", "drops"),
}

_SEPARATORS = re.compile(r"[\s_\-]+")
_CUB_PREFIX = re.compile(r"^\s*\d+\.(?=[^\W\d_])")  # "001.Black_footed_Albatross", not "1.5"


class ClassNameError(ZerolabelError, ValueError):
    """A class name is empty or has no words once separators are removed."""


def name_words(name: str) -> list[str]:
    """Split a class name into the lower-case words a word-vector provider looks up.

    Args:
        name: a class name as a user or a dataset spells it.

    Returns:
        The words, in order (never empty).

    Raises:
        ClassNameError: when the name is not a string or holds no word.

    Example:
        >>> name_words("001.Black_footed_Albatross")
        ['black', 'footed', 'albatross']
        >>> name_words("tvmonitor"), name_words("wall-concrete")
        (['tv', 'monitor'], ['wall', 'concrete'])
    """
    if not isinstance(name, str):
        raise ClassNameError(f"a class name must be a string, got {type(name).__name__} {name!r}")
    stripped = _CUB_PREFIX.sub("", name).lower()
    words: list[str] = []
    for token in _SEPARATORS.split(stripped):
        if token:
            words.extend(JOINED_NAMES.get(token, (token,)))
    if not words:
        raise ClassNameError(
            f"the class name {name!r} is empty; give every class a name of at least one word"
        )
    return words


def normalize_name(name: str) -> str:
    """The canonical phrase of a class name: its words joined by single spaces.

    Example:
        >>> normalize_name("  Sea_Lion ")
        'sea lion'
    """
    return " ".join(name_words(name))
