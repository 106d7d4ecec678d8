"""Valid but odd inputs decode correctly (values, shape, orientation), not as errors; and a few bad inputs through
the real ``zerolabel`` console script in a subprocess (exit 2, one line, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.labelmap import LabelMap
from core.data.layout import LayoutDataset
from core.io import read_image, read_label_png, write_image
from core.io.image import image_size

sys.path.insert(0, str(Path(__file__).parent))
from corpus import bomb_png, palette_png, write_bad_image  # noqa: E402

FOLDER = "odd é 画像/with  spaces"


def _quadrants() -> np.ndarray:
    """8 x 12 RGB, top-left red block, the rest black: where red lands tells the orientation."""
    rgb = np.zeros((8, 12, 3), np.uint8)
    rgb[:4, :6] = (255, 0, 0)
    return rgb


def _exif(orientation: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        img = Image.fromarray(_quadrants())
        exif = img.getexif()
        exif[0x0112] = orientation
        path = folder / f"exif {orientation}.jpg"
        img.save(path, exif=exif, quality=100, subsampling=0)
        return path

    return make


def _save(name: str, array: np.ndarray, mode: str | None = None, **options) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        img = Image.fromarray(array)
        (img.convert(mode) if mode else img).save(folder / name, **options)
        return folder / name

    return make


def _rgb16(folder: Path) -> Path:
    import cv2

    bgr = np.zeros((4, 6, 3), np.uint16)
    bgr[..., 2], bgr[..., 1] = 65535, 100 * 257  # red full, green 100/255
    cv2.imwrite(str(folder / "rgb 16-bit.png"), bgr)
    return folder / "rgb 16-bit.png"


def _red_at(rgb: np.ndarray) -> tuple[str, str]:
    ys, xs = np.nonzero(rgb[..., 0] > 128)
    h, w = rgb.shape[:2]
    return ("top" if ys.mean() < h / 2 else "bottom"), ("left" if xs.mean() < w / 2 else "right")


RGBA = np.zeros((2, 2, 4), np.uint8)
RGBA[0, 0] = (255, 0, 0, 255)  # opaque red; the rest transparent -> white
GRAY16 = np.array([[0, 32896, 65535]], np.uint16)

#: (id, maker, check on the decoded array)
ODD: list[tuple[str, Callable[[Path], Path], Callable[[np.ndarray], bool]]] = [
    ("exif-1-upright", _exif(1), lambda a: a.shape == (8, 12, 3) and _red_at(a) == ("top", "left")),
    ("exif-3-rotated-180", _exif(3), lambda a: a.shape == (8, 12, 3) and _red_at(a) == ("bottom", "right")),
    ("exif-6-rotated-90-cw", _exif(6), lambda a: a.shape == (12, 8, 3) and _red_at(a) == ("top", "right")),
    ("exif-8-rotated-90-ccw", _exif(8), lambda a: a.shape == (12, 8, 3) and _red_at(a) == ("bottom", "left")),
    ("exif-2-mirrored", _exif(2), lambda a: a.shape == (8, 12, 3) and _red_at(a) == ("top", "right")),
    ("exif-99-invalid-tag", _exif(99), lambda a: a.shape == (8, 12, 3) and _red_at(a) == ("top", "left")),
    ("gray-16-bit-png", _save("gray 16.png", GRAY16), lambda a: a[0, :, 0].tolist() == [0, 128, 255]),
    ("gray-16-bit-tiff", _save("gray 16.tif", GRAY16), lambda a: a[0, :, 1].tolist() == [0, 128, 255]),
    ("rgb-16-bit-png", _rgb16, lambda a: a.shape == (4, 6, 3) and a[0, 0].tolist() == [255, 100, 0]),
    ("cmyk-jpeg", _save("cmyk.jpg", np.full((8, 8, 3), (255, 0, 0), np.uint8), "CMYK", quality=100),
     lambda a: a.shape == (8, 8, 3) and a[4, 4, 0] > 240 and a[4, 4, 1:].max() < 15),
    ("cmyk-tiff", _save("cmyk.tif", np.full((8, 8, 3), (0, 0, 255), np.uint8), "CMYK"),
     lambda a: a[4, 4].tolist() == [0, 0, 255]),
    ("rgba-png", _save("rgba.png", RGBA), lambda a: a[0, 0].tolist() == [255, 0, 0] and a[1, 1].tolist() == [255] * 3),
    ("la-png", _save("la.png", np.stack([np.full((2, 2), 40, np.uint8), np.zeros((2, 2), np.uint8)], 2)),
     lambda a: a[0, 0].tolist() == [255] * 3),
    ("float-tiff-with-nan", _save("nan.tif", np.array([[np.nan, 100.0, 200.0]], np.float32)),
     lambda a: a[0, :, 0].tolist() == [0, 100, 200]),
    ("1-bit-png", _save("bilevel.png", np.array([[0, 255]], np.uint8), "1"),
     lambda a: a[0, :, 0].tolist() == [0, 255]),
    ("animated-gif-first-frame", lambda f: _gif(f), lambda a: a.shape == (4, 6, 3) and a[0, 0].tolist() == [255, 0, 0]),
]


def _gif(folder: Path) -> Path:
    frames = [Image.new("RGB", (6, 4), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    return folder / "anim.gif"


@pytest.mark.parametrize(("make", "check"), [(m, c) for _, m, c in ODD], ids=[i for i, _, _ in ODD])
def test_odd_but_valid_image_decodes(tmp_path: Path, make, check) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir(parents=True)
    path = make(folder)
    rgb = read_image(path)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert check(rgb), rgb[..., 0]
    assert image_size(path) == (rgb.shape[1], rgb.shape[0])


@pytest.mark.parametrize(
    ("labelmap", "names"),
    [("\ufeff# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:1,2,3::\n", ("background", "cat")),
     ("background:0,0,0::\r\nsea lion:1,2,3::\r\n", ("background", "sea lion")),
     ("# comment\n\n  background:0,0,0::  \nchat été 🐱:1,2,3::\n", ("background", "chat été 🐱"))],
    ids=["utf8-bom", "crlf", "blank-lines-unicode-names"],
)
def test_odd_but_valid_labelmap_reads(tmp_path: Path, labelmap: str, names: tuple[str, ...]) -> None:
    (tmp_path / "labelmap.txt").write_text(labelmap, encoding="utf-8")
    assert LabelMap.read(tmp_path / "labelmap.txt").names == names


def test_bilevel_and_grayscale_label_pngs_read_as_indices(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 255, 0]], np.uint8)).convert("1").save(tmp_path / "mask.png")
    assert read_label_png(tmp_path / "mask.png").tolist() == [[0, 1, 0]]
    root = tmp_path / "ds"
    LabelMap.from_names(["background", "cat"]).write(root / "labelmap.txt")
    write_image(root / "JPEGImages" / "x.png", np.zeros((3, 3, 3), np.uint8))
    palette_png(root / "SegmentationClass" / "x.png", np.array([[0, 1, 255]] * 3))
    assert LayoutDataset(root).label("x")[0].tolist() == [0, 1, 255]


# -- the console script itself (subprocess): exit 2, one line, no traceback -------------------------------
def _zerolabel(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("zerolabel")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "training"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_console_script_reports_bad_inputs_in_one_line(tmp_path: Path, demo_model_copy: Path) -> None:
    bad_model = tmp_path / "model"
    bad_model.mkdir()
    (bad_model / "manifest.json").write_text("{not json")
    image = write_bad_image(tmp_path / FOLDER, "truncated.png")
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    checkpoint = tmp_path / "run" / "best.pt"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"PK\x03\x04 truncated zip")
    out = tmp_path / "out"
    runs = {
        "manifest.json": _zerolabel("predict", bad_model, image, "--classes", "cat", "--out", out),
        "best.pt": _zerolabel("eval", checkpoint.parent, "--data", tmp_path, "--json", out / "m.json"),
        "zorblaxian": _zerolabel("embed", "zorblaxian"),
        "🐱": _zerolabel("predict", demo_model_copy, tmp_path / "bomb.png", "--classes", "🐱", "--out", out),
    }
    for needle, result in runs.items():
        assert result.returncode == 2, (needle, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("zerolabel: error:") and needle in lines[0], result.stderr
        assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()
