"""Real-dataset loaders on tiny fixtures written in the datasets' own on-disk formats, and the class splits.

VOC palette PNGs, SBD MATLAB structs, COCO-Stuff stuffthingmaps, CUB text files and soft masks, Pascal-Context
converted PNGs and original .mat files: each loader must read back exactly what was written, apply its index
mapping, and name the missing file when one is missing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
from PIL import Image

from core.data.base import IGNORE_INDEX
from core.data.coco_stuff import COCO_STUFF_CLASSES, COCO_STUFF_UNUSED, COCOStuffDataset
from core.data.cub import CUB_CLASS_DIRS, CUB_CLASSES, CUBDataset, readable_name
from core.data.pascal_context import PASCAL_CONTEXT_59, PASCAL_CONTEXT_CLASSES, PascalContextDataset
from core.data.splits import Split, dataset_classes, list_splits, load_split
from core.data.voc import VOC_CLASSES, SBDDataset, VOCAugDataset, VOCDataset
from core.errors import DatasetError
from core.io.image import write_label_png

H, W = 10, 14


def _jpeg(path: Path, seed: int) -> np.ndarray:
    """Write a small JPEG with a distinct flat colour per seed; return what a decoder reads back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = np.array([(40 * seed) % 256, (90 + 70 * seed) % 256, (200 - 30 * seed) % 256], np.uint8)
    Image.fromarray(np.broadcast_to(colour, (H, W, 3)).copy()).save(path, quality=95)
    return np.asarray(Image.open(path).convert("RGB"))


def _lines(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")


def _labels(seed: int, top: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, top + 1, (H, W)).astype(np.uint8)


# ---------------------------------------------------------------- VOC 2012 + SBD
def _sbd_mat(path: Path, seg: np.ndarray) -> None:
    """An SBD cls/<id>.mat: struct GTcls{Boundaries 20x1 cell of sparse, Segmentation, CategoriesPresent}."""
    bounds = np.empty((20, 1), dtype=object)
    for k in range(20):
        bounds[k, 0] = scipy.sparse.csc_matrix((seg == k + 1) & (np.roll(seg, 1, axis=1) != k + 1))
    present = np.unique(seg[seg > 0]).astype(np.uint8).reshape(-1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    gt = {"Boundaries": bounds, "Segmentation": seg, "CategoriesPresent": present}
    scipy.io.savemat(path, {"GTcls": gt})


@pytest.fixture
def voc_sbd(tmp_path: Path) -> dict:
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    sbd = tmp_path / "benchmark_RELEASE" / "dataset"
    ids = {"a": "2007_000032", "b": "2007_000039", "c": "2007_000063", "d": "2008_000002", "e": "2008_000003"}
    out: dict = {"root": tmp_path, "ids": ids, "voc_img": {}, "voc_lab": {}, "sbd_img": {}, "sbd_lab": {}}
    for k, key in enumerate(("a", "b", "c")):  # VOC trainval: a, b = train; c = val
        sid = ids[key]
        out["voc_img"][sid] = _jpeg(voc / "JPEGImages" / f"{sid}.jpg", k)
        lab = _labels(k, 20)
        lab[0, :] = IGNORE_INDEX  # VOC's object-border value
        write_label_png(voc / "SegmentationClass" / f"{sid}.png", lab)
        out["voc_lab"][sid] = lab
    _lines(voc / "ImageSets" / "Segmentation" / "train.txt", [ids["a"], ids["b"]])
    _lines(voc / "ImageSets" / "Segmentation" / "val.txt", [ids["c"]])
    _lines(voc / "ImageSets" / "Segmentation" / "trainval.txt", [ids["a"], ids["b"], ids["c"]])
    for k, key in enumerate(("b", "c", "d", "e")):  # SBD: b, c, d = train; e = val
        sid = ids[key]
        out["sbd_img"][sid] = _jpeg(sbd / "img" / f"{sid}.jpg", 10 + k)
        seg = _labels(10 + k, 20)
        _sbd_mat(sbd / "cls" / f"{sid}.mat", seg)
        out["sbd_lab"][sid] = seg
    _lines(sbd / "train.txt", [ids["b"], ids["c"], ids["d"]])
    _lines(sbd / "val.txt", [ids["e"]])
    return out


def test_voc_palette_png_labels_and_images_read_back(voc_sbd: dict) -> None:
    for root in (voc_sbd["root"] / "VOCdevkit", voc_sbd["root"] / "VOCdevkit" / "VOC2012", voc_sbd["root"]):
        ds = VOCDataset(root)
        assert ds.splits() == ("train", "val", "trainval")
    assert Image.open(ds.label_path(ds.ids("val")[0])).mode == "P"  # the fixture is a real palette PNG
    assert ds.ids("train") == [voc_sbd["ids"]["a"], voc_sbd["ids"]["b"]]
    assert ds.classes[0] == "background" and ds.classes[20] == "tvmonitor" and len(ds.classes) == 21
    for sid in ds.ids("trainval"):
        np.testing.assert_array_equal(ds.label(sid), voc_sbd["voc_lab"][sid])
        np.testing.assert_array_equal(ds.image(sid), voc_sbd["voc_img"][sid])
    assert (ds.label(ds.ids("val")[0]) == IGNORE_INDEX).any()


def test_sbd_mat_struct_reads_segmentation(voc_sbd: dict) -> None:
    sbd = SBDDataset(voc_sbd["root"] / "benchmark_RELEASE")
    assert sbd.splits() == ("train", "val")
    for sid in sbd.ids("train") + sbd.ids("val"):
        label = sbd.label(sid)
        assert label.dtype == np.uint8 and label.shape == (H, W)
        np.testing.assert_array_equal(label, voc_sbd["sbd_lab"][sid])
        np.testing.assert_array_equal(sbd.image(sid), voc_sbd["sbd_img"][sid])


def test_voc_aug_union_drops_voc_val_and_prefers_voc_labels(voc_sbd: dict) -> None:
    ids = voc_sbd["ids"]
    aug = VOCAugDataset(voc_sbd["root"] / "VOCdevkit", voc_sbd["root"] / "benchmark_RELEASE")
    assert aug.splits() == ("train_aug", "val")
    # (VOC train {a, b} | SBD train {b, c, d} | SBD val {e}) - VOC val {c}
    assert aug.ids("train_aug") == sorted([ids["a"], ids["b"], ids["d"], ids["e"]])
    assert aug.ids("val") == [ids["c"]]
    assert aug.label_source(ids["b"]) == "voc" and aug.label_source(ids["d"]) == "sbd"
    np.testing.assert_array_equal(aug.label(ids["b"]), voc_sbd["voc_lab"][ids["b"]])  # both have b: VOC wins
    np.testing.assert_array_equal(aug.label(ids["d"]), voc_sbd["sbd_lab"][ids["d"]])
    np.testing.assert_array_equal(aug.image(ids["e"]), voc_sbd["sbd_img"][ids["e"]])
    with pytest.raises(DatasetError, match="train_aug"):
        aug.ids("train")


def test_voc_and_sbd_errors_name_the_missing_file(voc_sbd: dict, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="JPEGImages"):
        VOCDataset(tmp_path / "nowhere")
    voc = voc_sbd["root"] / "VOCdevkit" / "VOC2012"
    ds = VOCDataset(voc)
    sid = voc_sbd["ids"]["a"]
    (voc / "SegmentationClass" / f"{sid}.png").unlink()
    with pytest.raises(DatasetError, match=f"{sid}.png"):
        ds.label(sid)
    with pytest.raises(DatasetError, match="test.txt"):
        ds.ids("test")
    bad = voc_sbd["voc_lab"][voc_sbd["ids"]["b"]].copy()
    bad[1, 1] = 37  # not a VOC class, not 255
    write_label_png(voc / "SegmentationClass" / f"{voc_sbd['ids']['b']}.png", bad)
    with pytest.raises(DatasetError, match="37"):
        ds.label(voc_sbd["ids"]["b"])
    (voc / "SegmentationClass").rename(voc / "moved")
    with pytest.raises(DatasetError, match="SegmentationClass"):
        VOCDataset(voc)

    sbd_dir = voc_sbd["root"] / "benchmark_RELEASE" / "dataset"
    sbd = SBDDataset(sbd_dir)
    (sbd_dir / "cls" / f"{voc_sbd['ids']['d']}.mat").unlink()
    with pytest.raises(DatasetError, match=f"{voc_sbd['ids']['d']}.mat"):
        sbd.label(voc_sbd["ids"]["d"])
    scipy.io.savemat(sbd_dir / "cls" / "inst.mat", {"GTinst": {"Segmentation": np.zeros((2, 2), np.uint8)}})
    with pytest.raises(DatasetError, match="GTcls"):
        sbd.label("inst")


def test_unseen_names_are_checked(voc_sbd: dict) -> None:
    ds = VOCDataset(voc_sbd["root"], unseen=("sofa", "train"))
    assert ds.unseen == ("sofa", "train") and "sofa" not in ds.seen and len(ds.seen) == 18
    with pytest.raises(ValueError, match="airplane"):
        VOCDataset(voc_sbd["root"], unseen=("airplane",))


# ---------------------------------------------------------------- COCO-Stuff
def test_cocostuff_maps_v_to_v_plus_1_and_handles_unlabeled(tmp_path: Path) -> None:
    sid = "000000000139"
    stored = np.array([[0, 20, 168, 181, 255, 99, 171]], np.uint8).repeat(3, axis=0)
    ann = tmp_path / "annotations" / "val2017" / f"{sid}.png"
    ann.parent.mkdir(parents=True)
    Image.fromarray(stored, mode="L").save(ann)  # stuffthingmaps are single-channel index PNGs
    (tmp_path / "annotations" / "train2017").mkdir()
    image = _jpeg(tmp_path / "images" / "val2017" / f"{sid}.jpg", 3)

    ds = COCOStuffDataset(tmp_path)
    assert ds.splits() == ("train", "val") and ds.ids("val") == [sid] and ds.ids("train") == []
    label = ds.label(sid)
    np.testing.assert_array_equal(label[0], [1, 21, 169, 182, 255, 100, 172])
    names = [ds.classes[v] for v in label[0, :4]] + [ds.classes[v] for v in label[0, 5:]]
    assert names == ["person", "cow", "tree", "wood", "cardboard", "wall-concrete"]
    np.testing.assert_array_equal(ds.image(sid), image)
    as_background = COCOStuffDataset(tmp_path, unlabeled="background").label(sid)
    assert as_background[0, 4] == 0 and (as_background[:, :4] == label[:, :4]).all()
    assert len(COCO_STUFF_CLASSES) == 183 and all(n in COCO_STUFF_CLASSES for n in COCO_STUFF_UNUSED)
    assert COCO_STUFF_CLASSES.index("street sign") == 12 and COCO_STUFF_CLASSES.index("hair brush") == 91

    stored[0, 0] = 200  # neither a class value (0..181) nor 255
    Image.fromarray(stored, mode="L").save(ann)
    with pytest.raises(DatasetError, match="200"):
        ds.label(sid)
    with pytest.raises(ValueError, match="unlabeled"):
        COCOStuffDataset(tmp_path, unlabeled="drop")
    with pytest.raises(DatasetError, match="annotations"):
        COCOStuffDataset(tmp_path / "images")


# ---------------------------------------------------------------- CUB-200-2011
@pytest.fixture
def cub(tmp_path: Path) -> dict:
    top = tmp_path / "CUB"
    root = top / "CUB_200_2011"
    _lines(root / "classes.txt", [f"{k} {d}" for k, d in enumerate(CUB_CLASS_DIRS, start=1)])
    files = [  # (class id, file stem, is_train, mask values)
        (1, "Black_Footed_Albatross_0046_18", 1, (0, 51, 153, 255)),
        (43, "Yellow_Bellied_Flycatcher_0004_795997", 0, (0, 102, 127, 128)),
        (200, "Common_Yellowthroat_0055_190967", 1, (255, 204, 0, 0)),
    ]
    rows, labels, split, masks = [], [], [], {}
    for image_id, (class_id, stem, train, values) in enumerate(files, start=1):
        rel = f"{CUB_CLASS_DIRS[class_id - 1]}/{stem}.jpg"
        rows.append(f"{image_id} {rel}")
        labels.append(f"{image_id} {class_id}")
        split.append(f"{image_id} {train}")
        _jpeg(root / "images" / rel, image_id)
        mask = np.repeat(np.array(values, np.uint8), [4, 3, 4, 3])[None].repeat(H, axis=0)
        (top / "segmentations" / rel).with_suffix(".png").parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask, mode="L").save((top / "segmentations" / rel).with_suffix(".png"))
        masks[rel[:-4]] = mask
    _lines(root / "images.txt", rows)
    _lines(root / "image_class_labels.txt", labels)
    _lines(root / "train_test_split.txt", split)
    names = ["has_bill_shape::curved_(up_or_down)"] + [f"has_attribute_{k}::value_{k}" for k in range(2, 313)]
    _lines(top / "attributes.txt", [f"{k} {n}" for k, n in enumerate(names, start=1)])
    table = np.random.default_rng(0).uniform(0, 100, (200, 312)).round(4)
    (root / "attributes").mkdir()
    np.savetxt(root / "attributes" / "class_attribute_labels_continuous.txt", table, fmt="%.10g")
    return {"top": top, "root": root, "masks": masks, "table": table, "names": names}


def test_cub_classes_splits_and_thresholded_masks(cub: dict) -> None:
    ds = CUBDataset(cub["top"])
    assert ds.classes == CUB_CLASSES and len(ds.classes) == 201
    assert readable_name("001.Black_footed_Albatross") == "black footed albatross"
    assert ds.classes[43] == "yellow bellied flycatcher" and ds.classes[126] == "nelson sharp tailed sparrow"
    albatross, flycatcher, yellowthroat = cub["masks"]
    assert ds.ids("train") == [albatross, yellowthroat] and ds.ids("test") == [flycatcher]
    for sid, index in ((albatross, 1), (flycatcher, 43), (yellowthroat, 200)):
        expected = np.where(cub["masks"][sid] >= 128, index, 0).astype(np.uint8)
        np.testing.assert_array_equal(ds.label(sid), expected)
        assert ds.class_index_of(sid) == index
    assert ds.label(flycatcher)[0].tolist() == [0] * 11 + [43] * 3  # 102 and 127 background, 128 bird
    strict = CUBDataset(cub["root"], threshold=255)
    assert strict.label(albatross)[0].tolist() == [0] * 11 + [1] * 3
    assert ds.image(albatross).shape == (H, W, 3)


def test_cub_attributes(cub: dict) -> None:
    ds = CUBDataset(cub["root"])
    table = ds.class_attributes()
    assert table.dtype == np.float32 and table.shape == (200, 312)
    np.testing.assert_allclose(table, cub["table"], rtol=1e-6)
    assert ds.attribute_names() == tuple(cub["names"])


def test_cub_errors_name_the_missing_file(cub: dict, tmp_path: Path) -> None:
    (cub["top"] / "segmentations").rename(cub["top"] / "elsewhere")
    ds = CUBDataset(cub["top"])
    with pytest.raises(DatasetError, match="segmentations"):
        ds.label(ds.ids("train")[0])
    assert CUBDataset(cub["top"], segmentations=cub["top"] / "elsewhere").label(ds.ids("train")[0]).max() == 1
    (cub["root"] / "train_test_split.txt").unlink()
    with pytest.raises(DatasetError, match="train_test_split.txt"):
        CUBDataset(cub["top"])
    with pytest.raises(DatasetError, match="images.txt"):
        CUBDataset(tmp_path / "empty")


# ---------------------------------------------------------------- Pascal-Context
#: Real labels.txt ids of the 59 classes (mmsegmentation's pascal_context converter), alphabetical = id order.
CONTEXT_459_IDS = (
    2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85, 98, 104, 105, 113, 115, 144,
    158, 159, 162, 187, 189, 207, 220, 232, 258, 259, 260, 284, 295, 296, 308, 324, 326, 347, 349, 354, 355,
    360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458,
)  # fmt: skip


@pytest.fixture
def context_original(tmp_path: Path) -> Path:
    root = tmp_path / "pascal_context"
    full = dict(zip(CONTEXT_459_IDS, PASCAL_CONTEXT_59, strict=True))
    full.update({1: "accordion", 3: "air conditioner", 8: "baby carriage"})
    _lines(root / "labels.txt", [f"{k}: {full[k]}" for k in sorted(full)])
    spelled = {"table": "diningtable", "bedclothes": "bedcloth", "cloth": "clothes"}  # FCN / ZS3Net copies
    order = sorted(PASCAL_CONTEXT_59, key=lambda n: (n not in VOC_CLASSES, n))  # a different order than ours
    _lines(root / "59_labels.txt", [f"{k}: {spelled.get(n, n)}" for k, n in enumerate(order, start=1)])
    label_map = np.array([[2, 397, 1, 8, 458, 0, 80, 19]], np.uint16).repeat(3, axis=0)
    (root / "trainval").mkdir()
    scipy.io.savemat(root / "trainval" / "2008_000002.mat", {"LabelMap": label_map})
    scipy.io.savemat(root / "trainval" / "2008_000007.mat", {"LabelMap": label_map[:, ::-1].copy()})
    _jpeg(root / "JPEGImages" / "2008_000002.jpg", 1)
    _lines(root / "val.txt", ["2008_000002"])
    return root


def test_context_original_maps_459_to_59(context_original: Path) -> None:
    ds = PascalContextDataset(context_original)
    assert ds.layout == "original" and ds.splits() == ("val", "trainval")
    assert ds.ids("val") == ["2008_000002"] and ds.ids("trainval") == ["2008_000002", "2008_000007"]
    label = ds.label("2008_000002")
    assert label.dtype == np.uint8
    names = [ds.classes[v] for v in label[0]]  # ids 2, 397, 1, 8, 458, 0, 80, 19 of labels.txt
    expected = ["aeroplane", "table", "background", "background", "wood", "background", "cloth", "bedclothes"]
    assert names == expected
    assert ds.image("2008_000002").shape == (H, W, 3)
    assert len(PASCAL_CONTEXT_CLASSES) == 60 and PASCAL_CONTEXT_CLASSES[50] == "table"


def test_context_converted_layout_gives_the_same_indices(context_original: Path, tmp_path: Path) -> None:
    voc = tmp_path / "VOCdevkit" / "VOC2010"
    expected = PascalContextDataset(context_original).label("2008_000002")
    png = voc / "SegmentationClassContext" / "2008_000002.png"
    png.parent.mkdir(parents=True)
    Image.fromarray(expected, mode="L").save(png)  # mmsegmentation writes plain 8-bit PNGs
    image = _jpeg(voc / "JPEGImages" / "2008_000002.jpg", 4)
    _lines(voc / "ImageSets" / "SegmentationContext" / "train.txt", [])
    _lines(voc / "ImageSets" / "SegmentationContext" / "val.txt", ["2008_000002"])
    ds = PascalContextDataset(tmp_path / "VOCdevkit")
    assert ds.layout == "converted" and ds.splits() == ("train", "val") and ds.ids("val") == ["2008_000002"]
    np.testing.assert_array_equal(ds.label("2008_000002"), expected)
    np.testing.assert_array_equal(ds.image("2008_000002"), image)


def test_context_errors_name_the_missing_file(context_original: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="SegmentationClassContext"):
        PascalContextDataset(tmp_path / "nothing")
    ds = PascalContextDataset(context_original)
    (context_original / "trainval" / "2008_000007.mat").unlink()
    with pytest.raises(DatasetError, match="2008_000007.mat"):
        ds.label("2008_000007")
    (context_original / "labels.txt").unlink()
    with pytest.raises(DatasetError, match="labels.txt"):
        PascalContextDataset(context_original)


# ---------------------------------------------------------------- class splits
REQUIRED = ["voc_15_5", *(f"voc_zs3_{k}" for k in (2, 4, 6, 8, 10)), "cocostuff_15",
            *(f"context_zs3_{k}" for k in (2, 4, 6, 8, 10)), "cub_150_50"]  # fmt: skip
LOADER_CLASSES = {
    "voc": VOC_CLASSES,
    "coco_stuff": COCO_STUFF_CLASSES,
    "pascal_context": PASCAL_CONTEXT_CLASSES,
    "cub": CUB_CLASSES,
}


@pytest.mark.parametrize("name", REQUIRED)
def test_split_names_are_classes_of_their_dataset(name: str) -> None:
    split = load_split(name)
    classes = LOADER_CLASSES[split.dataset]
    assert dataset_classes(split.dataset) == classes
    assert split.name == name and split.source
    assert split.unknown_names(classes) == []
    seen = split.seen_in(classes)
    assert not set(seen) & set(split.unseen)
    assert sorted((*seen, *split.unseen)) == sorted(classes[1:])


def test_split_contents() -> None:
    assert set(REQUIRED) <= set(list_splits())
    assert load_split("voc_15_5").unseen == ("pottedplant", "sheep", "sofa", "train", "tvmonitor")
    assert set(load_split("cocostuff_15").unseen) == {
        "cow", "giraffe", "suitcase", "frisbee", "skateboard", "carrot", "scissors", "cardboard", "clouds",
        "grass", "playingfield", "river", "road", "tree", "wall-concrete",
    }  # fmt: skip
    # Our COCO-Stuff index = labels.txt id: the unseen indices are the ids other zero-shot code hard-codes.
    coco_ids = [34, 41, 100, 57, 87, 33, 25, 21, 149, 172, 169, 124, 148, 106, 145]
    assert sorted(COCO_STUFF_CLASSES.index(n) for n in load_split("cocostuff_15").unseen) == sorted(coco_ids)
    cub = load_split("cub_150_50")
    assert len(cub.unseen) == 50 and len(cub.seen or ()) == 150
    assert cub.unseen[:3] == ("yellow bellied flycatcher", "loggerhead shrike", "brandt cormorant")
    assert load_split("context_zs3_10").unseen[-2:] == ("keyboard", "aeroplane")
    with pytest.raises(ValueError, match="voc_15_5"):
        load_split("voc_16_4")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cub.name = "x"  # type: ignore[misc]
    assert isinstance(cub, Split)


@pytest.mark.parametrize("prefix", ["voc_zs3", "context_zs3"])
def test_incremental_splits_nest(prefix: str) -> None:
    previous: tuple[str, ...] = ()
    for k in (2, 4, 6, 8, 10):
        unseen = load_split(f"{prefix}_{k}").unseen
        assert len(unseen) == k and unseen[: len(previous)] == previous
        previous = unseen


def test_cub_split_matches_a_loaded_cub_folder(cub: dict) -> None:
    ds = CUBDataset(cub["top"], unseen=load_split("cub_150_50").unseen)
    assert len(ds.unseen) == 50 and len(ds.seen) == 150
    assert ds.classes[ds.class_index_of(ds.ids("test")[0])] in ds.unseen  # 043 flycatcher is a test class
