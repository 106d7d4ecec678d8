"""``attributes:PATH``: per-class attribute vectors (CUB-200-2011's table, or a CSV ``name,attr1,attr2,...``).

Attributes describe whole classes, not words: a class name is looked up as one normalised phrase (the CUB
folder name ``"001.Black_footed_Albatross"`` and ``"Black-footed albatross"`` both become
``"black footed albatross"``), and a class that is not a row of the table is an error.

PATH is the ``CUB_200_2011`` folder, its ``attributes/class_attribute_labels_continuous.txt`` (``classes.txt``
is found next to it or one folder up), or a ``.csv`` (a header row is optional).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from core.embeddings.base import BaseEncoder
from core.embeddings.names import normalize_name
from core.errors import EmbeddingSourceError
from core.io.files import regular_file

CUB_TABLE = Path("attributes") / "class_attribute_labels_continuous.txt"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv_table(file: Path) -> tuple[list[str], np.ndarray]:
    """Class names and float rows of a ``name,attr1,...`` CSV (the first row is skipped if it is a header)."""
    with open(file, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if rows and not all(_is_number(cell) for cell in rows[0][1:]):
        rows = rows[1:]
    if not rows or len(rows[0]) < 2:
        raise EmbeddingSourceError(f"{file} holds no 'name,attr1,attr2,...' rows; check the CSV")
    width = len(rows[0])
    names, values = [], []
    for number, row in enumerate(rows, start=1):
        if len(row) != width or not all(_is_number(cell) for cell in row[1:]):
            raise EmbeddingSourceError(
                f"{file}: row {number} ({row[0]!r}) does not hold {width - 1} numbers like the first row"
            )
        names.append(row[0])
        values.append([float(cell) for cell in row[1:]])
    return names, np.asarray(values, dtype=np.float64)


def read_cub_table(table: Path) -> tuple[list[str], np.ndarray]:
    """CUB class names (``classes.txt``, ordered by id) and the 200 x 312 continuous attribute table."""
    candidates = [table.parent / "classes.txt", table.parent.parent / "classes.txt"]
    classes = next((c for c in candidates if c.is_file()), None)
    if classes is None:
        raise EmbeddingSourceError(
            f"classes.txt was not found next to {table} (looked in {candidates[0].parent} and "
            f"{candidates[1].parent}); point attributes: at the CUB_200_2011 folder"
        )
    entries = []
    for line in classes.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and parts[0].isdigit():
            entries.append((int(parts[0]), parts[1].strip()))
    try:
        values = np.loadtxt(table, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise EmbeddingSourceError(f"{table} is not a table of numbers ({exc}); check the file") from exc
    if len(entries) != len(values):
        raise EmbeddingSourceError(
            f"{classes} lists {len(entries)} classes but {table} has {len(values)} rows; the files do not match"
        )
    return [name for _, name in sorted(entries)], values


def locate_table(path: Path) -> Path:
    """The attribute file behind ``path`` (a folder is searched for CUB's table)."""
    if path.is_dir():
        for folder in (path, path / "CUB_200_2011"):
            if (folder / CUB_TABLE).is_file():
                return folder / CUB_TABLE
        raise EmbeddingSourceError(f"{path} holds no {CUB_TABLE}; point attributes: at the CUB_200_2011 folder")
    return regular_file(path, "attribute file", EmbeddingSourceError)


class AttributeEncoder(BaseEncoder):
    """Class embeddings from a class-attribute table (one row per class, L2-normalised).

    Example:
        >>> enc = AttributeEncoder("CUB_200_2011")  # doctest: +SKIP
        >>> enc.embed(["Black footed Albatross"]).shape  # doctest: +SKIP
        (1, 312)
    """

    provider = "attributes"

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(path).expanduser().resolve()
        self.source = f"attributes:{self.path}"
        table = locate_table(self.path)
        names, values = read_csv_table(table) if table.suffix.lower() == ".csv" else read_cub_table(table)
        self.table = values
        self.dim = int(values.shape[1])
        self.rows: dict[str, int] = {}
        for row, name in enumerate(names):
            phrase = normalize_name(name)
            if phrase in self.rows:
                raise EmbeddingSourceError(f"{table}: classes {names[self.rows[phrase]]!r} and {name!r} collide")
            self.rows[phrase] = row
        self.suggestion = (
            f"attribute tables describe whole classes and this one has {len(names)} rows "
            f"(e.g. {next(iter(self.rows))!r}); add a row for it or use a word-vector provider "
            "(glove50, word2vec:PATH, fasttext:PATH) or minilm"
        )

    @property
    def class_names(self) -> list[str]:
        """The normalised class names, in table order."""
        return list(self.rows)

    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        for phrase, name in zip(phrases, names, strict=True):
            if phrase not in self.rows:
                raise self.unknown_error(phrase, name)
        return self.table[[self.rows[p] for p in phrases]]

    def _unknown(self, phrase: str, words: list[str]) -> list[str]:
        return [] if phrase in self.rows else [phrase]
