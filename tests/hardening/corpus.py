"""Makers of bad (and odd but valid) input files for the hardening corpus; each writes into a folder it is given."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.labelmap import LabelMap


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header claiming ``width x height`` RGB pixels, with a few bytes of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))


def noise(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def encoded(rgb: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt)
    return buffer.getvalue()


#: Bad image files: name -> bytes (or None for "a folder with an image name"), and what the message must say.
BAD_IMAGES: dict[str, tuple[bytes | None, str]] = {
    "zero-byte.png": (b"", "empty"),
    "truncated.png": (encoded(noise(), "PNG")[:1500], "truncated"),
    "truncated.jpg": (encoded(noise(), "JPEG")[:800], "truncated"),
    "bomb-50000x50000.png": (bomb_png(), "decompression bomb"),
    "text.png": (b"this is a text file, not a PNG\n" * 4, "not a readable image"),
    "html-page.jpg": (b"<html><body>404 Not Found</body></html>", "not a readable image"),
    "signature-only.png": (b"\x89PNG\r\n\x1a\n", "not a readable image"),
    "damaged-idat.png": (encoded(noise(), "PNG")[:200] + b"\xff" * 400 + encoded(noise(), "PNG")[600:], "damaged"),
    "folder.png": (None, "folder"),
}


def write_bad_image(folder: Path, name: str) -> Path:
    data, _ = BAD_IMAGES[name]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    return path


def palette_png(path: Path, labels: np.ndarray) -> Path:
    """An indexed PNG with the given values (whatever classes exist)."""
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    img.putpalette(list(range(256)) * 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def unknown_index_labels(value: int = 200) -> np.ndarray:
    labels = np.zeros((16, 16), np.uint8)
    labels[4:8, 4:8] = value
    return labels


#: Malformed project.json texts and the words their message must hold.
BAD_PROJECT_JSON: dict[str, tuple[str | bytes, str]] = {
    "empty": ("", "Expecting value"),
    "binary": (b"\x00\x01\xff\xfe", "utf-8"),
    "a-list": ("[]", "JSON object"),
    "no-classes": ('{"images": "."}', "classes"),
    "classes-a-string": ('{"classes": "cat"}', "must be a list"),
    "colour-a-word": ('{"classes": [{"name": "cat", "color": "red"}]}', "colour 'red'"),
    "colour-two-values": ('{"classes": [{"name": "cat", "color": [1, 2]}]}', "[1, 2]"),
    "colour-out-of-range": ('{"classes": [{"name": "cat", "color": [1, 2, 300]}]}', "0..255"),
    "duplicate-names": ('{"classes": [{"name": "cat", "color": [1, 2, 3]}, {"name": "cat", "color": [3, 2, 1]}]}',
                        "listed twice"),
    "name-with-colon": ('{"classes": [{"name": "a:b", "color": [1, 2, 3]}]}', "':'"),
    "name-a-number": ('{"classes": [{"name": 5, "color": [1, 2, 3]}]}', "not a string"),
    "status-a-list": ('{"classes": [], "status": []}', "status"),
    "images-a-number": ('{"classes": [], "images": 5}', "images"),
    "nested-100000-deep": ("[" * 100_000 + "]" * 100_000, "recursion"),
}

#: Malformed labelmap.txt texts (None: a folder named labelmap.txt) and the words their message must hold.
BAD_LABELMAPS: dict[str, tuple[str | bytes | None, str]] = {
    "empty": ("", "lists no classes"),
    "comments-only": ("# label:color_rgb:parts:actions\n", "lists no classes"),
    "no-background-first": ("cat:1,2,3::\n", "background"),
    "colour-not-rgb": ("background:0,0,0::\ncat:red::\n", "'red'"),
    "colour-out-of-range": ("background:0,0,0::\ncat:1,2,300::\n", "0..255"),
    "no-colon": ("background:0,0,0::\njust a name\n", "expected 'name:r,g,b::'"),
    "shared-colour": ("background:0,0,0::\ncat:0,0,0::\n", "share a colour"),
    "duplicate-name": ("background:0,0,0::\ncat:1,2,3::\ncat:3,2,1::\n", "listed twice"),
    "300-classes": ("background:0,0,0::\n" + "".join(f"c{i}:{i // 256},{i % 256},7::\n" for i in range(1, 300)),
                    "do not fit"),
    "latin-1": (b"background:0,0,0::\ncaf\xe9:1,2,3::\n", "not UTF-8"),
    "a-folder": (None, "cannot be read"),
}


def write_text_or_folder(path: Path, content: str | bytes | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def labelmap_text(names: list[str]) -> str:
    return LabelMap.from_names(names).to_text()


def plain_pickle(path: Path) -> Path:
    """A .pt file that is a plain pickle of an arbitrary object (not a torch zip file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3], "note": "not a checkpoint"}))
    return path


def edit_manifest(folder: Path, **changes: object) -> None:
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    data.update(changes)
    manifest.write_text(json.dumps(data))


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` made unwritable: mode 555, or for root (who ignores modes) the immutable attribute."""
    folder.mkdir(parents=True, exist_ok=True)
    undo: Callable[[], object]
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a file system without chattr +i: cannot make a read-only folder")
        undo = lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)  # noqa: E731
    else:
        folder.chmod(0o555)
        undo = lambda: folder.chmod(0o755)  # noqa: E731
    try:
        try:
            (folder / "probe").write_text("x")
        except OSError:
            yield folder
        else:
            (folder / "probe").unlink()
            pytest.skip("could not make a read-only folder here")
    finally:
        undo()


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path
