"""The one rule for class names and image ids, checked where a name enters (user, file) and before it is stored.

Every format that stores names follows it: ``labelmap.txt`` (``name:r,g,b::`` lines), ``unseen.txt`` and the split
lists (one name or id per line, ``#`` starts a comment, lines are stripped), COCO and other exports, and folders
named after a class (heatmaps). A name that passes is written and read back unchanged by all of them.

Class names (:func:`check_class_name`):

* a non-empty string of at most :data:`MAX_NAME_LENGTH` characters, without leading or trailing white space;
* no control character (``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f``: tab, CR, LF ...), no line or paragraph separator
  (U+2028, U+2029) and no lone surrogate: each would split or corrupt a line of ``labelmap.txt``;
* no ``:`` (the ``labelmap.txt`` field separator) and no leading ``#`` (a comment line in every list file).

Image ids (:func:`check_image_id`, the stem of an image file) follow the same line rules (no control characters,
no separators, no leading or trailing space, no leading ``#``), hold no ``/`` or ``\\``, and do not start with ``.``
(hidden files, and the ``.NAME.XXXX.tmp`` files of an interrupted atomic save, are never images of a dataset).

:func:`class_folder_name` gives the file-system folder of a class: distinct classes get distinct folders, also on a
case-insensitive file system (``red circle`` -> ``red_circle~…``, ``red_circle`` -> ``red_circle``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from core.errors import InvalidNameError

__all__ = [
    "MAX_NAME_LENGTH",
    "InvalidNameError",
    "check_class_name",
    "check_image_id",
    "class_folder_name",
    "class_folder_names",
    "is_valid_image_id",
]

#: Longest class name, in characters (a label, not a sentence; keeps folder names and messages short).
MAX_NAME_LENGTH = 100

_BAD_CATEGORIES = {"Cc": "a control character", "Zl": "a line separator", "Zp": "a paragraph separator",
                   "Cs": "a lone surrogate (not valid text)"}
_SAFE_FOLDER = re.compile(r"[a-z0-9_-]+")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_SHOWN = 60


def _show(text: str) -> str:
    """``repr`` of a name, cut to a readable length (a 5000-character name is not quoted whole)."""
    return repr(text) if len(text) <= _SHOWN else repr(text[:_SHOWN]) + f"… ({len(text)} characters)"


def _line_problem(text: str) -> str | None:
    """Why ``text`` cannot be one line of a list file, or None."""
    if not text.strip():
        return "is empty"
    for char in text:
        category = unicodedata.category(char)
        if category in _BAD_CATEGORIES:
            return f"holds {_BAD_CATEGORIES[category]} (U+{ord(char):04X})"
    if text != text.strip():
        return "starts or ends with white space"
    if text.startswith("#"):
        return "starts with '#', which marks a comment line in labelmap.txt and the list files"
    return None


def check_class_name(name: object) -> str:
    """Return ``name`` if it is a valid class name, else raise :class:`InvalidNameError` saying why and what to do.

    Example:
        >>> check_class_name("red circle")
        'red circle'
        >>> check_class_name("red\\rcircle")
        Traceback (most recent call last):
        ...
        core.errors.InvalidNameError: class name 'red\\rcircle' holds a control character (U+000D); ...
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"class name {name!r} is not a string (a {type(name).__name__}); give a text name")
    problem = _line_problem(name)
    if problem is None and ":" in name:
        problem = "holds ':', the separator of labelmap.txt"
    if problem is None and len(name) > MAX_NAME_LENGTH:
        problem = f"is longer than {MAX_NAME_LENGTH} characters"
    if problem is not None:
        raise InvalidNameError(
            f"class name {_show(name)} {problem}; use a name of printable characters on one line "
            f"(spaces inside are fine), without ':' and not starting with '#', at most {MAX_NAME_LENGTH} characters"
        )
    return name


def check_image_id(stem: object) -> str:
    """Return ``stem`` if it is a valid image id (a file stem stored in split lists and exports), else raise.

    Example:
        >>> check_image_id("2007_000032")
        '2007_000032'
    """
    if not isinstance(stem, str):
        raise InvalidNameError(f"image id {stem!r} is not a string (a {type(stem).__name__})")
    problem = _line_problem(stem)
    if problem is None and ("/" in stem or "\\" in stem):
        problem = "holds a path separator ('/' or '\\')"
    if problem is None and stem.startswith("."):
        problem = "starts with '.' (a hidden file)"
    if problem is not None:
        raise InvalidNameError(
            f"image id {_show(stem)} {problem}; rename the image file to a name of printable characters that "
            "does not start with '.', '#' or a space"
        )
    return stem


def is_valid_image_id(stem: str) -> bool:
    """Whether :func:`check_image_id` accepts ``stem`` (for listing a folder: other files are not images)."""
    try:
        check_image_id(stem)
    except InvalidNameError:
        return False
    return True


def class_folder_name(name: str) -> str:
    """The folder name of a class: the name itself when it is lower-case ``[a-z0-9_-]``, else a readable slug
    plus ``~`` and a hash of the exact name. Distinct names never share a folder, even where the file system
    ignores case (``Cat`` -> ``cat~…``, ``cat`` -> ``cat``), and the result is a valid file name everywhere.

    Example:
        >>> class_folder_name("red_circle")
        'red_circle'
        >>> class_folder_name("red circle").startswith("red_circle~")
        True
    """
    check_class_name(name)
    if _SAFE_FOLDER.fullmatch(name) and name not in _WINDOWS_RESERVED:
        return name
    slug = re.sub(r"[^a-z0-9_-]+", "_", unicodedata.normalize("NFKD", name).lower()).strip("_")[:48] or "class"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return f"{slug}~{digest}"


def class_folder_names(names: Iterable[str]) -> dict[str, str]:
    """``{name: folder}`` for a list of classes; raises when two names are the same class or share a folder."""
    folders: dict[str, str] = {}
    owners: dict[str, str] = {}
    for name in names:
        folder = class_folder_name(name)
        other = owners.get(folder.lower())
        if other is not None:
            raise InvalidNameError(f"classes {other!r} and {name!r} would share the folder {folder!r}; rename one")
        owners[folder.lower()] = name
        folders[name] = folder
    return folders
