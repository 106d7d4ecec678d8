"""The outputs of one pre-labelled image and the rules both engines (local threads, Ray) follow.

Per image, in this order: the input image (hard-linked, else copied, never re-encoded) under ``JPEGImages/``,
heatmap PNGs (``--heatmaps``), a COCO fragment ``.coco/ID.json`` (``--format coco|both``), and last the label map
``SegmentationClass/ID.png``, which marks the image done. An image counts as done only when every output the run
asks for exists, so a run killed at any point and re-run completes every output; ``coco.json`` is assembled
from the fragments of every image of the run (done earlier or now).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.layout import IMAGES, LABELS, DatasetWriter
from core.errors import ZerolabelError
from core.formats.rle import rle_encode
from core.io.atomic import atomic_write_text
from core.io.image import IMAGE_SUFFIXES, write_image

COCO_PARTS = ".coco"


@dataclass(frozen=True)
class Outputs:
    """What a run writes for each image."""

    out: Path
    names: tuple[str, ...]
    heatmaps: bool = False
    coco: bool = False
    lock: list[str] = field(default_factory=list, compare=False)  # the project lock's token while a run holds OUT

    def heatmap_folder(self, name: str) -> Path:
        return self.out / "heatmaps" / name.replace(" ", "_").replace(os.sep, "_")

    def check_names(self) -> None:
        """Two class names must not share a heatmap folder (``red circle`` and ``red_circle``)."""
        folders: dict[Path, str] = {}
        for name in self.names:
            other = folders.setdefault(self.heatmap_folder(name), name)
            if other != name:
                raise ZerolabelError(f"classes {other!r} and {name!r} would share the heatmap folder "
                                     f"{self.heatmap_folder(name).name!r}; rename one of them")

    def done(self, sample_id: str) -> bool:
        """Every output of this run exists for the image (the label map is written last)."""
        if not (self.out / LABELS / f"{sample_id}.png").is_file():
            return False
        if self.coco and not (self.out / COCO_PARTS / f"{sample_id}.json").is_file():
            return False
        return not self.heatmaps or all((self.heatmap_folder(n) / f"{sample_id}.png").is_file() for n in self.names)


def place_image(source: Path, target_dir: Path, sample_id: str) -> str:
    """Hard-link (else copy, atomically) the input into the dataset; returns its file name."""
    name = f"{sample_id}{source.suffix.lower()}"
    target = target_dir / name
    for suffix in IMAGE_SUFFIXES:  # an earlier run's copy with another suffix
        old = target_dir / f"{sample_id}{suffix}"
        if old.name != name and old.is_file():
            old.unlink()
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return name
    temp = target.with_name(f".{name}.tmp{os.getpid()}")
    try:
        try:
            os.link(source, temp)
        except OSError:
            shutil.copyfile(source, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return name


def write_outputs(outputs: Outputs, writer: DatasetWriter, sample_id: str, source: Path, pred) -> None:
    """Every output of one image, the label map last (see the module docstring)."""
    out = outputs.out
    file_name = place_image(source, out / IMAGES, sample_id)
    if outputs.heatmaps:
        for i, name in enumerate(outputs.names):
            target = outputs.heatmap_folder(name) / f"{sample_id}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            heat = (pred.heatmap(i) * 255).round().astype(np.uint8)
            write_image(target, np.repeat(heat[..., None], 3, axis=2))
    if outputs.coco:
        (out / COCO_PARTS).mkdir(exist_ok=True)
        atomic_write_text(out / COCO_PARTS / f"{sample_id}.json", json.dumps(coco_fragment(file_name, pred)))
    writer.add(sample_id, None, pred.labels)


def coco_fragment(file_name: str, pred) -> dict:
    """The image entry and its annotations (ids are assigned when the fragments are assembled)."""
    h, w = pred.labels.shape
    scores = pred.mean_scores() if len(pred.names) else np.zeros(0)
    annotations = []
    for c in range(1, len(pred.names) + 1):
        mask = pred.labels == c
        if mask.any():
            ys, xs = np.nonzero(mask)
            annotations.append({
                "category_id": c, "iscrowd": 0, "segmentation": rle_encode(mask), "area": int(mask.sum()),
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                "score": float(scores[c - 1]),
            })
    return {"image": {"file_name": f"{IMAGES}/{file_name}", "height": h, "width": w}, "annotations": annotations}


def assemble_coco(outputs: Outputs, sample_ids: list[str], target: Path) -> None:
    """``coco.json`` of the given images (sorted ids), from their fragments."""
    coco: dict = {"images": [], "annotations": [],
                  "categories": [{"id": i + 1, "name": n} for i, n in enumerate(outputs.names)]}
    for image_id, sample_id in enumerate(sample_ids, start=1):
        part = outputs.out / COCO_PARTS / f"{sample_id}.json"
        try:
            fragment = json.loads(part.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an image that failed in this run: reported by the caller, absent here
        coco["images"].append({"id": image_id, **fragment["image"]})
        for a in fragment["annotations"]:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": image_id, **a})
    atomic_write_text(target, json.dumps(coco))
