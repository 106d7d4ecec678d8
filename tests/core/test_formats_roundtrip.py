"""Export -> import -> the same pixels, for every format; the imported folder opens as a project."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from formats_helpers import NAMES, make_dataset, scene

from core.annotation.project import Project
from core.data.layout import LayoutDataset
from core.formats import export_dataset, import_dataset


@pytest.mark.parametrize("fmt", ["cvat", "coco", "yolo-seg", "labelme"])
def test_round_trip_is_exact(tmp_path, fmt):
    src, truth = make_dataset(tmp_path / "ds")
    out = tmp_path / ("task.zip" if fmt == "cvat" else "out")
    export_dataset(src, fmt, out)
    count = import_dataset(out, fmt, tmp_path / "back")
    assert count == 3
    back = LayoutDataset(tmp_path / "back")
    assert back.classes == tuple(NAMES)
    for sample_id, labels in truth.items():
        got = back.label(sample_id)
        agreement = float((got == labels).mean())
        assert agreement == 1.0, f"{fmt} {sample_id}: {agreement:.5f}"
        assert (back.image(sample_id) == LayoutDataset(src).image(sample_id)).all()  # images copied unchanged
    project = Project.open_folder(tmp_path / "back")
    assert sorted(project.ids) == ["a", "b", "c"]
    assert {project.image_status(i) for i in project.ids} == {"done"}


@pytest.mark.parametrize("fmt", ["cvat", "coco", "yolo-seg"])
def test_splits_survive(tmp_path, fmt):
    src, _ = make_dataset(tmp_path / "ds")
    out = tmp_path / ("task.zip" if fmt == "cvat" else "out")
    export_dataset(src, fmt, out)
    import_dataset(out, fmt, tmp_path / "back")
    back = LayoutDataset(tmp_path / "back")
    assert back.ids("train") == ["a", "b"] and back.ids("val") == ["c"]


def test_cvat_zip_layout(tmp_path):
    src, truth = make_dataset(tmp_path / "ds")
    export_dataset(src, "cvat", tmp_path / "task.zip")
    with zipfile.ZipFile(tmp_path / "task.zip") as zf:
        names = set(zf.namelist())
        labelmap = zf.read("labelmap.txt").decode()
        train = zf.read("ImageSets/Segmentation/train.txt").decode().split()
    assert {"labelmap.txt", "SegmentationClass/a.png", "SegmentationObject/a.png", "JPEGImages/a.png"} <= names
    assert train == ["a", "b"]
    lines = [ln for ln in labelmap.splitlines() if not ln.startswith("#")]
    assert lines[0] == "background:0,0,0::" and all(ln.count(":") == 3 for ln in lines)  # 4 fields, as CVAT parses


def test_cvat_instances_are_regions(tmp_path):
    from core.formats.cvat import instance_mask

    labels = scene(0)
    inst = instance_mask(labels)
    assert ((inst > 0) == ((labels > 0) & (labels != 255))).all()
    for k in np.unique(inst[inst > 0]):
        assert len(np.unique(labels[inst == k])) == 1  # one class per instance


def test_cvat_ignore_becomes_background_and_is_counted(tmp_path):
    src, truth = make_dataset(tmp_path / "ds", ignore=True)
    result = export_dataset(src, "cvat", tmp_path / "task.zip")
    assert result.ignored_pixels == int((truth["a"] == 255).sum()) > 0
    import_dataset(tmp_path / "task.zip", "cvat", tmp_path / "back")
    got = LayoutDataset(tmp_path / "back").label("a")
    assert (got == np.where(truth["a"] == 255, 0, truth["a"])).all()


def test_labelme_keeps_ignore_as_labelme2voc_does(tmp_path):
    src, truth = make_dataset(tmp_path / "ds", ignore=True)
    export_dataset(src, "labelme", tmp_path / "lm")
    doc = json.loads((tmp_path / "lm" / "a.json").read_text())
    assert {s["label"] for s in doc["shapes"]} >= {"red circle", "sky", "__ignore__"}
    assert doc["imagePath"] == "a.png" and (doc["imageHeight"], doc["imageWidth"]) == truth["a"].shape
    assert all(s["shape_type"] == "polygon" for s in doc["shapes"])
    import_dataset(tmp_path / "lm", "labelme", tmp_path / "back")
    assert (LayoutDataset(tmp_path / "back").label("a") == truth["a"]).all()


def test_yolo_files_follow_ultralytics(tmp_path):
    import yaml

    src, _ = make_dataset(tmp_path / "ds")
    export_dataset(src, "yolo-seg", tmp_path / "y")
    data = yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())
    assert data["names"] == {0: "red circle", 1: "sky", 2: "tree"}
    assert data["train"] == "images/train" and data["val"] == "images/val" and "path" not in data
    assert (tmp_path / "y" / "images" / "train" / "a.png").is_file()
    for line in (tmp_path / "y" / "labels" / "train" / "a.txt").read_text().splitlines():
        fields = line.split()
        values = np.array(fields[1:], float)
        assert int(fields[0]) in (0, 1, 2) and len(values) % 2 == 0 and len(values) >= 6
        assert values.min() >= 0 and values.max() <= 1


def test_coco_polygons_and_per_class(tmp_path):
    src, truth = make_dataset(tmp_path / "ds")
    export_dataset(src, "coco", tmp_path / "c", masks="polygon")
    doc = json.loads((tmp_path / "c" / "annotations" / "instances_train.json").read_text())
    assert all(isinstance(a["segmentation"], list) for a in doc["annotations"])
    assert [c["name"] for c in doc["categories"]] == NAMES[1:]
    import_dataset(tmp_path / "c", "coco", tmp_path / "back")
    assert (LayoutDataset(tmp_path / "back").label("c") == truth["c"]).all()
    export_dataset(src, "coco", tmp_path / "c2", per="class")
    doc = json.loads((tmp_path / "c2" / "annotations" / "instances_val.json").read_text())
    per_image = [(a["image_id"], a["category_id"]) for a in doc["annotations"]]
    assert len(per_image) == len(set(per_image))  # one annotation per class and image


def test_export_of_a_project(tmp_path):
    from core.io.image import write_image

    folder = tmp_path / "photos"
    folder.mkdir()
    labels = scene(3)
    write_image(folder / "one.png", np.zeros((*labels.shape, 3), np.uint8))
    write_image(folder / "two.png", np.zeros((*labels.shape, 3), np.uint8))
    project = Project.open_folder(folder)
    for name in NAMES[1:]:
        project.add_class(name)
    project.save_labels("one", labels, done=True)
    export_dataset(folder, "yolo-seg", tmp_path / "y")
    assert sorted(p.name for p in (tmp_path / "y" / "labels" / "default").iterdir()) == ["one.txt"]
    import_dataset(tmp_path / "y", "yolo-seg", tmp_path / "back")
    assert (LayoutDataset(tmp_path / "back").label("one") == labels).all()


@pytest.mark.parametrize("seed", range(3))
def test_rings_with_many_holes_are_exact_also_for_pil(seed):
    """Noisy masks (hundreds of holes, islands, one-pixel necks): each ring alone gives its region back, with
    our rasteriser and with PIL's polygon fill (labelme's), and COCO's corner rings by pixel centre."""
    import cv2
    from PIL import Image, ImageDraw

    from core.formats.polygons import fill_centres, mask_rings, rasterise

    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.random((90, 120)).astype(np.float32), (0, 0), 1.2)
    mask = field > np.quantile(field, 0.5)
    n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    rings = mask_rings(mask)
    assert len(rings) == n - 1
    union_cv, union_pil = np.zeros(mask.shape, bool), Image.new("1", mask.shape[::-1])
    for ring, _, _ in rings:
        alone = rasterise(mask.shape, [(1, ring)]).astype(bool)
        assert len(np.unique(comp[alone])) == 1 and alone.sum() == (comp == comp[alone][0]).sum()
        union_cv |= alone
        points = [tuple(p) for p in ring] * (3 if len(ring) < 3 else 1)  # the exporters repeat short rings too
        ImageDraw.Draw(union_pil).polygon(points, outline=1, fill=1)
    assert (union_cv == mask).all() and (np.asarray(union_pil) == mask).all()
    corner = [r for r, _, _ in mask_rings(mask, corners=True)]
    assert (fill_centres(mask.shape, corner) == mask).all()
