"""Image decoding: every odd format becomes upright 8-bit RGB; every failure names the file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ImageError, ZerolabelError
from core.io import atomic_write, read_image, read_label_png, write_image, write_label_png
from core.io.image import image_size


def _gradient(h: int = 6, w: int = 8) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 30, y * 40, (x + y) * 10], axis=2).astype(np.uint8)


def test_png_round_trip_and_unicode_path(tmp_path: Path) -> None:
    rgb = _gradient()
    path = tmp_path / "dossier é 画像" / "image with spaces ü.png"
    write_image(path, rgb)
    assert np.array_equal(read_image(path), rgb)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    rgb = np.zeros((40, 80, 3), np.uint8)  # stored landscape: left half red, right half blue
    rgb[:, :40] = (255, 0, 0)
    rgb[:, 40:] = (0, 0, 255)
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise: the left half ends up on top
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif, quality=95)
    out = read_image(path)
    assert out.shape == (80, 40, 3)
    assert image_size(path) == (40, 80)
    top, bottom = out[20, 20].astype(int), out[60, 20].astype(int)
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_grayscale_and_16_bit(tmp_path: Path) -> None:
    gray = np.array([[0, 128, 255]], np.uint8)
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (1, 3, 3) and out[0, 1].tolist() == [128, 128, 128]
    deep = np.array([[0, 32896, 65535]], np.uint16)
    Image.fromarray(deep).save(tmp_path / "d16.png")
    out16 = read_image(tmp_path / "d16.png")
    assert out16[0, :, 0].tolist() == [0, 128, 255]


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[1, 1] = (0, 0, 255, 0)  # fully transparent blue -> white
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[1, 1].tolist() == [255, 255, 255]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    Image.new("CMYK", (5, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)  # red in CMYK
    out = read_image(tmp_path / "c.jpg")
    assert out.shape == (4, 5, 3)
    r, g, b = out[2, 2].tolist()
    assert r > 200 and g < 60 and b < 60


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not a readable image"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_truncated_jpeg(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        read_image(tmp_path / "cut.jpg")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(50_000, 50_000))  # 2.5 G pixels declared, a few bytes on disk
    with pytest.raises(ImageError, match="decompression bombs") as info:
        read_image(path)
    assert "bomb.png" in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        read_image(tmp_path)


def test_label_png_round_trip_and_rgb_refused(tmp_path: Path) -> None:
    labels = np.array([[0, 1, 2], [255, 20, 0]], np.uint8)
    write_label_png(tmp_path / "l.png", labels)
    with Image.open(tmp_path / "l.png") as img:
        assert img.mode == "P"
        assert img.getpalette()[3:6] == [128, 0, 0]
    assert np.array_equal(read_label_png(tmp_path / "l.png"), labels)
    Image.fromarray(_gradient()).save(tmp_path / "rgb.png")
    with pytest.raises(ImageError, match="indexed"):
        read_label_png(tmp_path / "rgb.png")


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("new but unfinished")
        raise RuntimeError("crash mid-write")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_image_error_is_a_user_error() -> None:
    assert issubclass(ImageError, ZerolabelError)


def test_atomic_writes_get_the_usual_file_mode(tmp_path) -> None:
    import os
    import stat

    from core.io.atomic import atomic_write_text

    atomic_write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~umask
