"""Imports of files other tools wrote (not our own exports), and clear errors for bad input."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.data.layout import LayoutDataset
from core.errors import DatasetError, ZerolabelError
from core.formats import import_dataset
from core.io.image import write_image


def _png(path, h=20, w=30):
    write_image(path, np.full((h, w, 3), 90, np.uint8))


def test_labelme_rectangle_circle_and_embedded_image(tmp_path):
    src = tmp_path / "lm"
    src.mkdir()
    buf = io.BytesIO()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(buf, format="PNG")
    doc = {"version": "5.4.1", "flags": {}, "imagePath": "gone.png", "imageData": base64.b64encode(buf.getvalue())
           .decode(), "imageHeight": 20, "imageWidth": 30, "shapes": [
               {"label": "box", "points": [[2, 3], [10, 8]], "shape_type": "rectangle", "group_id": None, "flags": {}},
               {"label": "dot", "points": [[20, 10], [23, 10]], "shape_type": "circle", "group_id": None, "flags": {}},
               {"label": "box", "points": [[5, 5]], "shape_type": "point", "group_id": None, "flags": {}},
               {"label": "_background_", "points": [[4, 4], [6, 4], [6, 6], [4, 6]], "shape_type": "polygon"}]}
    (src / "img.json").write_text(json.dumps(doc))
    assert import_dataset(src, "labelme", tmp_path / "out") == 1
    ds = LayoutDataset(tmp_path / "out")
    labels = ds.label("img")
    assert ds.classes == ("background", "box", "dot")
    assert (labels[3:9, 2:11][labels[3:9, 2:11] != 0] == 1).all() and labels[4:7, 4:7].max() == 0  # hole painted
    assert labels[10, 20] == 2 and labels[10, 23] == 2 and labels[10, 25] == 0
    assert ds.image("img").shape == (20, 30, 3)


def test_yolo_list_names_box_line_and_missing_label_file(tmp_path):
    src = tmp_path / "y"
    (src / "images" / "train").mkdir(parents=True)
    (src / "labels" / "train").mkdir(parents=True)
    _png(src / "images" / "train" / "one.png")
    _png(src / "images" / "train" / "empty.png")
    (src / "labels" / "train" / "one.txt").write_text("1 0.5 0.5 0.2 0.5\n0 0 0 0.2 0 0.2 0.25 0 0.25\n")
    (src / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/train\nnames: ['cat', 'dog']\n")
    assert import_dataset(src, "yolo-seg", tmp_path / "out") == 2
    ds = LayoutDataset(tmp_path / "out")
    one = ds.label("one")
    assert one[10, 15] == 2 and one[0, 0] == 1 and one[19, 29] == 0
    assert ds.label("empty").max() == 0


def test_coco_compressed_rle_from_pycocotools(tmp_path):
    (tmp_path / "images").mkdir()
    _png(tmp_path / "images" / "x.png", 6, 5)
    doc = {"images": [{"id": 7, "file_name": "x.png", "width": 5, "height": 6}],
           "categories": [{"id": 3, "name": "cat"}, {"id": 9, "name": "dog"}],
           "annotations": [{"id": 1, "image_id": 7, "category_id": 9, "iscrowd": 0,
                            "segmentation": {"size": [6, 5], "counts": "7330:N"}}]}
    (tmp_path / "images" / "ann.json").write_text(json.dumps(doc))
    import_dataset(tmp_path / "images" / "ann.json", "coco", tmp_path / "out")
    labels = LayoutDataset(tmp_path / "out").label("x")
    assert labels[1:4, 1:3].tolist() == [[2, 2]] * 3 and labels[5, 4] == 2 and int((labels > 0).sum()) == 7


def test_cvat_rgb_masks_with_green_background(tmp_path):
    """As CVAT's documentation shows it: a labelmap whose background is not black, masks as RGB PNG."""
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:] = (0, 128, 0)
    rgb[2:5, 2:5] = (10, 10, 128)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    with zipfile.ZipFile(tmp_path / "task.zip", "w") as zf:
        zf.writestr("labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,128,0::\naeroplane:10,10,128::\n")
        zf.writestr("ImageSets/Segmentation/default.txt", "frame_000\n")
        zf.writestr("SegmentationClass/frame_000.png", buf.getvalue())
    import_dataset(tmp_path / "task.zip", "cvat", tmp_path / "out")
    ds = LayoutDataset(tmp_path / "out")
    assert ds.labelmap.colors[0] == (0, 0, 0)
    labels = ds.label("frame_000")
    assert int(labels.sum()) == 9 and labels[3, 3] == 1


# -- bad input: each error names the file ------------------------------------------------------------------------

def test_missing_source(tmp_path):
    for fmt in ("cvat", "yolo-seg", "labelme", "coco"):
        with pytest.raises(ZerolabelError, match="nowhere"):
            import_dataset(tmp_path / "nowhere", fmt, tmp_path / f"out-{fmt}")


def test_bad_json_names_the_file(tmp_path):
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "broken.json").write_text("{not json")
    with pytest.raises(DatasetError, match="broken.json.*not valid LabelMe JSON"):
        import_dataset(tmp_path / "lm", "labelme", tmp_path / "out")
    (tmp_path / "c.json").write_text('{"images": 3}')
    with pytest.raises(DatasetError, match="c.json.*not a COCO document"):
        import_dataset(tmp_path / "c.json", "coco", tmp_path / "out2")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()


def test_unknown_class(tmp_path):
    src = tmp_path / "y"
    (src / "images").mkdir(parents=True)
    (src / "labels").mkdir()
    _png(src / "images" / "a.png")
    (src / "labels" / "a.txt").write_text("5 0.1 0.1 0.2 0.1 0.2 0.2\n")
    (src / "data.yaml").write_text("train: images\nnames: {0: cat}\n")
    with pytest.raises(DatasetError, match=r"a\.txt:1: class 5 is not in data.yaml"):
        import_dataset(src, "yolo-seg", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written left behind

    lm = tmp_path / "lm"
    lm.mkdir()
    _png(lm / "b.png")
    (lm / "labels.txt").write_text("__ignore__\n_background_\ncat\n")
    (lm / "b.json").write_text(json.dumps({"imagePath": "b.png", "shapes": [
        {"label": "dog", "points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon"}]}))
    with pytest.raises(DatasetError, match="b.json.*label 'dog' is not in"):
        import_dataset(lm, "labelme", tmp_path / "out")

    (tmp_path / "c").mkdir()
    _png(tmp_path / "c" / "z.png")
    (tmp_path / "c" / "ann.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "z.png", "width": 30, "height": 20}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{"id": 4, "image_id": 1, "category_id": 2, "segmentation": [[1, 1, 4, 1, 4, 4]]}]}))
    with pytest.raises(DatasetError, match="ann.json.*category_id 2"):
        import_dataset(tmp_path / "c" / "ann.json", "coco", tmp_path / "out")


def test_polygon_outside_the_image(tmp_path):
    lm = tmp_path / "lm"
    lm.mkdir()
    _png(lm / "b.png")
    (lm / "b.json").write_text(json.dumps({"imagePath": "b.png", "imageWidth": 30, "imageHeight": 20, "shapes": [
        {"label": "cat", "points": [[1, 1], [50, 1], [5, 5]], "shape_type": "polygon"}]}))
    with pytest.raises(DatasetError, match=r"b.json: polygon point \(50, 1\) lies outside the 30x20 image"):
        import_dataset(lm, "labelme", tmp_path / "out")


def test_wrong_size_and_missing_image(tmp_path):
    lm = tmp_path / "lm"
    lm.mkdir()
    _png(lm / "b.png")
    (lm / "b.json").write_text(json.dumps({"imagePath": "b.png", "imageWidth": 64, "imageHeight": 20, "shapes": []}))
    with pytest.raises(DatasetError, match="b.json: says the image is 64x20 but b.png is 30x20"):
        import_dataset(lm, "labelme", tmp_path / "out")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "ann.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "gone.jpg", "width": 3, "height": 2}], "categories": []}))
    with pytest.raises(DatasetError, match="ann.json: image 'gone.jpg' not found"):
        import_dataset(tmp_path / "c" / "ann.json", "coco", tmp_path / "out")


def test_bad_class_name_and_non_empty_target(tmp_path):
    src = tmp_path / "y"
    (src / "images").mkdir(parents=True)
    (src / "data.yaml").write_text("train: images\nnames: ['a:b']\n")
    with pytest.raises(ZerolabelError, match="data.yaml.*':'"):
        import_dataset(src, "yolo-seg", tmp_path / "out")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    (src / "data.yaml").write_text("train: images\nnames: ['a']\n")
    with pytest.raises(DatasetError, match="full: exists and is not an empty folder"):
        import_dataset(src, "yolo-seg", tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_not_a_zip(tmp_path):
    (tmp_path / "task.zip").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="task.zip: not a readable zip"):
        import_dataset(tmp_path / "task.zip", "cvat", tmp_path / "out")


def test_coco_polygons_read_as_coco_does(tmp_path):
    """COCO polygons are continuous: [0,0, 4,0, 4,3, 0,3] covers pixels x 0..3, y 0..2 (pycocotools gives 12)."""
    (tmp_path / "images").mkdir()
    _png(tmp_path / "images" / "p.png", 6, 8)
    doc = {"images": [{"id": 1, "file_name": "p.png", "width": 8, "height": 6}],
           "categories": [{"id": 1, "name": "box"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "area": 12,
                            "segmentation": [[0, 0, 4, 0, 4, 3, 0, 3], [6, 4, 8, 4, 8, 6]]}]}
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    import_dataset(tmp_path / "ann.json", "coco", tmp_path / "out")
    labels = LayoutDataset(tmp_path / "out").label("p")
    # the triangle holds the pixel centre (7.5, 4.5) (two more lie on its slanted edge)
    assert labels[:3, :4].all() and int((labels[:4] > 0).sum()) == 12 and labels[4, 7] == 1


def test_corner_rings_run_along_pixel_edges():
    from core.formats.polygons import fill_centres, mask_rings

    m = np.zeros((4, 5), bool)
    m[1, 2] = True
    ((ring, area, _),) = mask_rings(m, corners=True)
    assert sorted(map(tuple, ring.astype(int).tolist())) == [(2, 1), (2, 2), (3, 1), (3, 2)] and area == 1
    m = np.ones((7, 7), bool)
    m[2:5, 2:5] = False
    m[3, 3] = True  # an island in the hole
    rings = [r for r, _, _ in mask_rings(m, corners=True)]
    assert len(rings) == 2 and (fill_centres(m.shape, rings) == m).all()


def test_cvat_items_in_subfolders(tmp_path):
    """A CVAT task made from a folder tree names its items "dir/img"; they come in as "dir__img"."""
    labels = np.zeros((4, 5), np.uint8)
    labels[1:3, 1:4] = 1
    buf = io.BytesIO()
    img = Image.fromarray(labels, mode="P")
    img.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    img.save(buf, format="PNG")
    image = io.BytesIO()
    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(image, format="PNG")
    with zipfile.ZipFile(tmp_path / "task.zip", "w") as zf:
        zf.writestr("labelmap.txt", "background:0,0,0::\nred car:200,10,10::\n")
        zf.writestr("ImageSets/Segmentation/default.txt", "street/0001\n")
        zf.writestr("SegmentationClass/street/0001.png", buf.getvalue())
        zf.writestr("JPEGImages/street/0001.png", image.getvalue())
    import_dataset(tmp_path / "task.zip", "cvat", tmp_path / "out")
    ds = LayoutDataset(tmp_path / "out")
    assert ds.ids("default") == ["street__0001"] and (ds.label("street__0001") == labels).all()
    assert ds.image("street__0001").shape == (4, 5, 3)
