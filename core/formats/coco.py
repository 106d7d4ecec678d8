"""COCO JSON: the one writer and reader of COCO annotations in zerolabel (app export, ``predict``, ``export``).

Written: ``{"info", "images", "annotations", "categories"}``; category ids are the label values (1..C, background
left out) with ``name`` and ``color``; each annotation has ``segmentation``, ``area``, ``bbox`` [x, y, w, h] and
``iscrowd`` 0. ``masks="rle"``: the segmentation is a COCO RLE (compressed string by default, as pycocotools
writes it; exact to the pixel); ``masks="polygon"``: a list of rings along pixel edges, holes bridged in (see
:mod:`core.formats.polygons`; exact too, read by us or by pycocotools).
``per="region"``: one annotation per connected region (instances); ``per="class"``: one per class and image
(COCO-Stuff's semantic form).

Read: polygons (a pixel is inside when its centre is, as in COCO), uncompressed and compressed RLE; categories
keep their names, in id order.

Example:
    >>> coco = CocoWriter(LabelMap.from_names(["background", "cat"]))  # doctest: +SKIP
    >>> coco.add_image("0001.jpg", labels)  # doctest: +SKIP
    >>> atomic_write_text("instances.json", json.dumps(coco.document()))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.data.base import BACKGROUND, IGNORE_INDEX
from core.data.labelmap import LabelMap
from core.errors import DatasetError
from core.formats.polygons import check_points, label_regions, mask_rings, paint_centres
from core.formats.rle import counts_to_string, region_runs, rle_counts, rle_encode, rle_paint

MASKS = ("rle", "polygon")
PER = ("region", "class")


def _bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def _ring_bbox(ring: np.ndarray) -> list[float]:
    lo, hi = ring.min(axis=0), ring.max(axis=0)
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


class CocoWriter:
    """Collect images and their label maps into one COCO document."""

    def __init__(self, labelmap: LabelMap, masks: str = "rle", per: str = "region", compressed: bool = True,
                 info: dict | None = None) -> None:
        if masks not in MASKS or per not in PER:
            raise ValueError(f"masks must be one of {MASKS} and per one of {PER}")
        self.labelmap = labelmap
        self.masks, self.per, self.compressed = masks, per, compressed
        self.info = info or {"description": "zerolabel export"}
        self.images: list[dict] = []
        self.annotations: list[dict] = []

    def add_image(self, file_name: str, labels: np.ndarray) -> list[dict]:
        """Add one image and its annotations; returns the annotations added (a caller may add fields)."""
        image_id = len(self.images) + 1
        h, w = labels.shape
        self.images.append({"id": image_id, "file_name": file_name, "width": int(w), "height": int(h)})
        added = []
        for value, segmentation, area, bbox in self._shapes(labels):
            ann = {"id": len(self.annotations) + 1, "image_id": image_id, "category_id": value, "iscrowd": 0,
                   "segmentation": segmentation, "area": area, "bbox": bbox}
            self.annotations.append(ann)
            added.append(ann)
        return added

    def _shapes(self, labels: np.ndarray):
        if self.masks == "polygon":
            if self.per == "region":
                for r in label_regions(labels, corners=True):
                    yield r.value, [_flat(r.ring)], float(r.area), _ring_bbox(r.ring)
                return
            for value in _values(labels):
                rings = mask_rings(labels == value, corners=True)
                all_pts = np.concatenate([ring for ring, _, _ in rings])
                yield value, [_flat(ring) for ring, _, _ in rings], float(sum(a for _, a, _ in rings)), \
                    _ring_bbox(all_pts)
            return
        for value in _values(labels):
            mask = labels == value
            if self.per == "class":
                yield value, rle_encode(mask, self.compressed), int(mask.sum()), _bbox(mask)
                continue
            n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
            for k in range(1, n):
                x, y, w, h, area = (int(v) for v in stats[k])
                counts = region_runs(comp[y:y + h, x:x + w] == k, y, x, *labels.shape)
                rle = {"size": [int(labels.shape[0]), int(labels.shape[1])],
                       "counts": counts_to_string(counts) if self.compressed else counts}
                yield value, rle, area, [x, y, w, h]

    def document(self) -> dict:
        categories = [{"id": i, "name": n, "supercategory": "", "color": list(c)}
                      for i, (n, c) in enumerate(zip(self.labelmap.names, self.labelmap.colors, strict=True)) if i]
        return {"info": self.info, "licenses": [], "images": self.images, "annotations": self.annotations,
                "categories": categories}


def _values(labels: np.ndarray) -> list[int]:
    return [int(v) for v in np.unique(labels) if v not in (0, IGNORE_INDEX)]


def _flat(ring: np.ndarray) -> list[float]:
    """A ring as COCO's flat [x1, y1, x2, y2, ...] (at least three points, as COCO readers need)."""
    pts = ring if len(ring) >= 3 else np.concatenate([ring, np.repeat(ring[-1:], 3 - len(ring), axis=0)])
    return [float(v) for v in pts.reshape(-1)]


@dataclass(frozen=True)
class CocoImage:
    """One image entry of a COCO document."""

    id: object
    file_name: str
    width: int
    height: int


class CocoReader:
    """Parse a COCO JSON file; :meth:`labels` paints an image's annotations into a label map.

    Category ids map to label values 1..C in id order (a category named ``background`` is value 0).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise DatasetError(f"{self.path}: no such COCO JSON file") from None
        except (OSError, UnicodeError, ValueError) as exc:
            raise DatasetError(f"{self.path}: not valid COCO JSON ({exc}); export it again") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
                or not isinstance(doc.get("categories"), list):
            raise DatasetError(f"{self.path}: not a COCO document (needs 'images' and 'categories' lists)")
        try:
            cats = sorted(doc["categories"], key=lambda c: c["id"])
            self.names = [str(c["name"]) for c in cats if str(c["name"]) != BACKGROUND]
            self.colours = {str(c["name"]): tuple(int(v) for v in c["color"]) for c in cats
                            if isinstance(c.get("color"), list) and len(c["color"]) == 3}
            self.value = {c["id"]: (0 if str(c["name"]) == BACKGROUND else self.names.index(str(c["name"])) + 1)
                          for c in cats}
            self.images = [CocoImage(i["id"], str(i["file_name"]), int(i["width"]), int(i["height"]))
                           for i in doc["images"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{self.path}: a category or image entry lacks a field ({exc}); each category "
                               "needs 'id' and 'name', each image 'id', 'file_name', 'width' and 'height'") from None
        self.by_image: dict[object, list[dict]] = {}
        for ann in doc.get("annotations") or []:
            if not isinstance(ann, dict) or "image_id" not in ann or "category_id" not in ann:
                raise DatasetError(f"{self.path}: an annotation without 'image_id' or 'category_id'")
            self.by_image.setdefault(ann["image_id"], []).append(ann)

    def labels(self, image: CocoImage) -> np.ndarray:
        """The label map of ``image``: annotations painted largest first, so small ones lie on top."""
        source = f"{self.path} (image {image.file_name!r})"
        h, w = image.height, image.width
        shapes: list[tuple[float, int, object]] = []
        for ann in self.by_image.get(image.id, []):
            where = f"{source}, annotation {ann.get('id')}"
            if ann["category_id"] not in self.value:
                raise DatasetError(f"{where} has category_id {ann['category_id']!r}, which is not in "
                                   "'categories'; add the category or remove the annotation")
            value = self.value[ann["category_id"]]
            seg = ann.get("segmentation")
            if isinstance(seg, dict):
                rh, rw, counts = rle_counts(seg, where)
                if (rh, rw) != (h, w):
                    raise DatasetError(f"{where}: the mask is {rw}x{rh}, the image {w}x{h}")
                shapes.append((float(counts[1::2].sum()), value, counts))
            elif isinstance(seg, list) and seg:
                try:
                    rings = [check_points(np.asarray(p, dtype=np.float64), w, h, where, corners=True) for p in seg]
                except (TypeError, ValueError) as exc:
                    raise DatasetError(f"{where}: polygons must be lists of numbers ({exc})") from None
                area = ann.get("area")
                shapes.append((float(area) if isinstance(area, (int, float)) else 0.0, value, rings))
        shapes.sort(key=lambda t: -t[0])
        flat = np.zeros(h * w, dtype=np.uint8)  # column-major, as RLE runs are
        for _, value, shape in shapes:
            if isinstance(shape, np.ndarray):
                rle_paint(flat, shape, value)
            else:
                paint_centres(flat.reshape((h, w), order="F"), shape, value)  # a view: painting it paints flat
        return np.ascontiguousarray(flat.reshape((h, w), order="F"))


def export_coco(dataset: str | os.PathLike, out: str | os.PathLike, masks: str = "rle", per: str = "region",
                images: bool = True, ids: Iterable[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Write ``OUT/annotations/instances_<split>.json`` (and ``OUT/images/<split>/``) for a dataset or project."""
    from core.formats.dataset import copy_image, each, open_source
    from core.io.atomic import atomic_write_text

    labelmap, items = open_source(dataset, ids)
    out = Path(out)
    writers: dict[str, CocoWriter] = {}
    for item in each(items, progress):
        writer = writers.setdefault(item.split, CocoWriter(labelmap, masks, per, info={
            "description": f"zerolabel export of {Path(dataset).name}"}))
        suffix = item.image.suffix.lower() if item.image is not None else ".jpg"
        writer.add_image(f"{item.id}{suffix}", item.labels())
        if images and item.image is not None:
            copy_image(item.image, out / "images" / item.split / f"{item.id}{suffix}")
    for split, writer in writers.items():
        atomic_write_text(out / "annotations" / f"instances_{split}.json", json.dumps(writer.document()))
    return len(items)


def _find_image(json_path: Path, split: str, file_name: str) -> Path | None:
    name = Path(file_name.replace("\\", "/"))
    here, up = json_path.parent, json_path.parent.parent
    for base in (here, up / "images" / split, up / "images", up, here / "images" / split, here / "images"):
        if (base / name).is_file():
            return base / name
    return None


def import_coco(src: str | os.PathLike, out: str | os.PathLike) -> int:
    """Import COCO JSON (a file, or a folder with ``annotations/*.json``) as a project; returns the number of
    labelled images. Images are looked up beside the JSON file, in ``images/<split>/`` and ``images/`` next to it
    or next to its folder."""
    from core.formats.dataset import ImportWriter, labelmap_from_names

    src = Path(src)
    if src.is_file():
        files = [src]
    elif src.is_dir():
        files = sorted((src / "annotations").glob("*.json")) or sorted(src.glob("*.json"))
        if not files:
            raise DatasetError(f"{src}: no COCO JSON in {src / 'annotations'} or {src}")
    else:
        raise DatasetError(f"{src}: no such file or folder")
    readers = [CocoReader(f) for f in files]
    names: list[str] = []
    colours: dict[str, tuple[int, int, int]] = {}
    for r in readers:
        names += [n for n in r.names if n not in names]
        colours.update({n: c for n, c in r.colours.items() if c != (0, 0, 0)})
    if len(set(colours.values())) != len(colours):
        colours = {}
    labelmap = labelmap_from_names(names, colours, source=str(files[0]))
    done = 0
    with ImportWriter(out, labelmap) as writer:
        for reader in readers:
            split = reader.path.stem.removeprefix("instances_") or "default"
            lut = np.zeros(256, np.uint8)
            lut[IGNORE_INDEX] = IGNORE_INDEX
            for k, name in enumerate(reader.names, 1):
                lut[k] = labelmap.names.index(name)
            for image in reader.images:
                path = _find_image(reader.path, split, image.file_name)
                if path is None:
                    raise DatasetError(f"{reader.path}: image {image.file_name!r} not found beside the file or in "
                                       f"images/{split}/; copy the images there")
                sample_id = "__".join(Path(image.file_name.replace("\\", "/")).with_suffix("").parts)
                writer.add(sample_id, path, lut[reader.labels(image)], split)
                done += 1
    return done
