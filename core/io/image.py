"""Image decoding in one place: every image the app, the CLI or training reads goes through here.

Handles EXIF orientation; grayscale, palette, RGBA, 16-bit, float and CMYK images (all become 8-bit RGB);
a pixel-count limit against decompression bombs; and non-ASCII paths. Each failure is an
:class:`~core.errors.ImageError` that names the file and says what to do.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageError
from core.io.atomic import atomic_write_bytes
from core.io.files import regular_file

#: Images with more pixels than this are refused before decoding (override: ZEROLABEL_MAX_PIXELS).
MAX_PIXELS = int(os.environ.get("ZEROLABEL_MAX_PIXELS", 200_000_000))

#: File suffixes treated as images when scanning folders.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm"})

# We enforce our own limit (with a clearer message) before Pillow decodes anything.
Image.MAX_IMAGE_PIXELS = None


def _open(path: Path, max_pixels: int) -> Image.Image:
    if not path.exists():
        raise ImageError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    regular_file(path, "image", ImageError)  # a FIFO would block, /dev/zero would never end
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes); re-export or re-download it")
    try:
        img = Image.open(path)
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{path}: not a readable image (unknown or corrupt format); "
            "convert it to PNG or JPEG, or remove it from the folder"
        ) from exc
    except OSError as exc:
        raise ImageError(f"{path}: cannot be opened ({exc})") from exc
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise ImageError(
            f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,} "
            "(a guard against decompression bombs); downscale the image or raise ZEROLABEL_MAX_PIXELS"
        )
    if width == 0 or height == 0:
        raise ImageError(f"{path}: the image has no pixels ({width}x{height})")
    return img


def _load(img: Image.Image, path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(
            f"{path}: the image data is damaged or truncated ({exc}); re-export or re-download it"
        ) from exc
    return img


def _to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if mode.startswith("I;16"):
            arr = arr / 257.0
        elif arr.max(initial=0) > 255 or arr.min(initial=0) < 0:
            lo, hi = float(arr.min()), float(arr.max())
            arr = (arr - lo) / max(hi - lo, 1e-12) * 255.0
        gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode == "CMYK":
        # Adobe JPEGs store inverted CMYK; Pillow's converter handles the JPEG case.
        img = img.convert("RGB")
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def read_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Decode an image file into an 8-bit RGB array of shape ``[H, W, 3]``, upright per its EXIF tag.

    Args:
        path: The image file (any path Python can open, non-ASCII included).
        max_pixels: Refuse images larger than this many pixels (default :data:`MAX_PIXELS`).

    Raises:
        ImageError: The file is missing, empty, corrupt, truncated, too large or not an image.

    Example:
        >>> rgb = read_image("photo.jpg")  # doctest: +SKIP
        >>> rgb.shape, rgb.dtype  # doctest: +SKIP
        ((480, 640, 3), dtype('uint8'))
    """
    path = Path(path)
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    with _open(path, limit) as img:
        _load(img, path)
        try:
            upright = ImageOps.exif_transpose(img)
        except Exception:  # a malformed EXIF block must not make the pixels unreadable
            upright = img
        return _to_rgb(upright)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """Return ``(width, height)`` after EXIF orientation, reading only the header."""
    path = Path(path)
    with _open(path, MAX_PIXELS) as img:
        width, height = img.size
        try:
            orientation = img.getexif().get(0x0112, 1)
        except Exception:
            orientation = 1
        return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


class NotIndexedError(ImageError):
    """A label file that decodes fine but holds colours (RGB, CMYK, ...) rather than class indices."""


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """Read an indexed (palette) or grayscale label PNG as a ``uint8 [H, W]`` array of class indices.

    Raises:
        NotIndexedError: The file is not a single-channel label image (e.g. an RGB colour mask).
        ImageError: The file is missing, empty, corrupt, truncated or too large.
    """
    path = Path(path)
    with _open(path, MAX_PIXELS) as img:
        _load(img, path)
        if img.mode in ("P", "L", "1"):  # "1": a bilevel mask, 0 = background, 1 = the first class
            return np.asarray(img, dtype=np.uint8).copy()
        if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
            arr = np.asarray(img)
            if arr.max(initial=0) > 255:
                raise ImageError(
                    f"{path}: label values up to {int(arr.max())} do not fit 8 bits; "
                    "zerolabel label maps hold at most 255 classes (255 = ignore)"
                )
            return arr.astype(np.uint8)
        raise NotIndexedError(
            f"{path}: a label map must be an indexed (palette) or grayscale PNG, this one is {img.mode}; "
            "save it as an indexed PNG, or as an RGB mask painted in the labelmap.txt colours "
            "(the dataset reader maps those to classes)"
        )


@functools.cache
def voc_palette() -> np.ndarray:
    """Return the VOC colour map as ``uint8 [256, 3]`` (0 = black background, 255 = (224, 224, 192) ignore)."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= ((c >> 0) & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette[index] = (r, g, b)
    palette.flags.writeable = False
    return palette



def encode_label_png(labels: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """Encode a ``uint8 [H, W]`` label map as indexed PNG bytes with ``palette`` ([256, 3] uint8)."""
    if labels.ndim != 2:
        raise ValueError(f"label map must be 2-D, got shape {labels.shape}")
    if labels.dtype != np.uint8:
        if labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
            raise ValueError("label values must be in 0..255")
        labels = labels.astype(np.uint8)
    img = Image.fromarray(labels, mode="P")
    if palette is None:
        palette = voc_palette()
    img.putpalette(np.asarray(palette, dtype=np.uint8).reshape(-1).tolist())
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_label_png(path: str | os.PathLike, labels: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write a label map as an indexed PNG, atomically (VOC colour map unless ``palette`` is given)."""
    atomic_write_bytes(path, encode_label_png(labels, palette))


def encode_image(rgb: np.ndarray, suffix: str = ".png", quality: int = 95) -> bytes:
    """Encode an 8-bit RGB ``[H, W, 3]`` array as PNG or JPEG bytes."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}")
    buffer = io.BytesIO()
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}.get(suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write images with suffix {suffix!r}; use .png or .jpg")
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    Image.fromarray(rgb, mode="RGB").save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write_image(path: str | os.PathLike, rgb: np.ndarray, quality: int = 95) -> None:
    """Write an RGB image atomically; the format follows the suffix (.png, .jpg)."""
    path = Path(path)
    atomic_write_bytes(path, encode_image(rgb, path.suffix, quality))
