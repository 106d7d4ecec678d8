"""File input/output in one place: image decoding and atomic writes."""

from core.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from core.io.image import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    image_size,
    read_image,
    read_label_png,
    write_image,
    write_label_png,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "image_size",
    "write_image",
    "read_image",
    "read_label_png",
    "write_label_png",
]
