"""The photo model: WordNet mapping, coverage flags, ONNX equals torch, masks on a real photograph."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.embeddings import build_encoder
from core.errors import UnknownWordError
from core.io.image import read_image
from core.photo import FEATURES, photo_model_folder, sample_photos_folder, stroke_features
from core.photo.grabcut import grabcut_logits
from core.photo.names import UnsupportedNameError
from core.photo.refine import guided_filter
from core.photo.wordnet import ImageNetWordNet

EVAL = sample_photos_folder().parent / "photo_eval"
PROJECT = ["cat", "cup", "motorcycle", "building", "flower", "rocket", "sky"]


@pytest.fixture(scope="module")
def wordnet() -> ImageNetWordNet:
    return ImageNetWordNet.load()


@pytest.fixture(scope="module")
def predictor():
    from core.inference.runtime import Predictor

    return Predictor(photo_model_folder(), device="cpu")


def test_wordnet_maps_names_to_imagenet_classes(wordnet):
    assert {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"} <= set(wordnet.names(
        wordnet.classes("cat")))
    assert wordnet.names(wordnet.classes("cats")) == wordnet.names(wordnet.classes("cat"))
    assert wordnet.names(wordnet.classes("mug")) == ["coffee mug"]
    assert "moped" in wordnet.names(wordnet.classes("motorbike"))
    vehicles = set(wordnet.names(wordnet.classes("vehicle")))
    assert {"sports car", "convertible", "moped", "airliner"} <= vehicles
    assert "tabby" not in vehicles
    assert {"church", "palace"} <= set(wordnet.names(wordnet.classes("building")))
    assert "acoustic guitar" in wordnet.names(wordnet.classes("musical instrument"))
    assert len(wordnet.classes("dog")) == 118  # the ImageNet dog breeds
    chain = wordnet.hypernym_chain(wordnet.class_names().index("tabby"))
    assert chain[0] == "tabby" and "cat" in chain and "animal" in chain
    assert wordnet.classes("zzyzx") == [] and wordnet.classes("sky") == []


def test_wnid_table_agrees_with_torchvision(wordnet):
    from torchvision.models import EfficientNet_B0_Weights

    names = EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(set(wordnet.wnids)) == 1000
    agree = [n.lower() in {w.lower() for w in wordnet.synsets[w]["lemmas"]} for n, w in zip(names, wordnet.wnids,
                                                                                             strict=True)]
    assert sum(agree) >= 998  # torchvision renamed the second 'crane' and 'maillot'


def test_unsupported_names_are_reported_not_drawn():
    enc = build_encoder("imagenet-concepts")
    assert enc.dim == 1000 and enc.source == "imagenet-concepts"
    assert enc.missing(["cat", "sky", "zzyzx"]) == {"sky": ["sky"], "zzyzx": ["zzyzx"]}
    with pytest.raises(UnsupportedNameError, match="no ImageNet concept is close to 'sky': teach it") as info:
        enc.embed(["cat", "sky"])
    assert isinstance(info.value, UnknownWordError)  # the channel the app already handles
    row = enc.embed(["cat"])[0]
    assert row.shape == (1000,) and abs(float(np.linalg.norm(row)) - 1) < 1e-5
    wn = ImageNetWordNet.load()
    assert set(wn.names(np.flatnonzero(row == row.max()))) >= {"tabby", "Egyptian cat"}


def test_text_fallback_for_names_wordnet_lacks():
    enc = build_encoder("imagenet-concepts")
    how, concepts = enc.explain("espresso cup")
    assert how == "text" and "espresso" in [c for c, _ in concepts]
    assert enc.explain("cup")[0] == "wordnet" and "coffee mug" in dict(enc.explain("cup")[1])
    assert {"suit", "jersey", "military uniform"} <= set(dict(enc.explain("person")[1]))  # people: what they wear


def test_onnx_equals_torch_on_an_odd_sized_photo(predictor):
    import torch

    from core.models import build_model
    from core.models.base import ModelConfig

    manifest = predictor.model.manifest
    model = build_model(ModelConfig(method="imagenet-concepts", backbone="effnet-lite0", embed_dim=1000,
                                    pretrained=True, image_size=manifest["input_size"], options=manifest["options"]))
    image = read_image(sample_photos_folder() / "chelsea.jpg")[:151, :229]  # odd both ways; resized to 448 x 679
    onnx_features = predictor.model.encode(image)
    with torch.no_grad():
        torch_features = model.encode(torch.from_numpy(predictor.model.preprocess(image)))
    for name, a, b in zip(FEATURES, onnx_features, torch_features, strict=True):
        assert a.shape == tuple(b.shape), name
        scale = np.abs(b.numpy()).reshape(b.shape[1], -1).max(1)[None, :, None, None]  # per channel: the guide's
        assert (np.abs(a - b.numpy()) / np.maximum(scale, 1)).max() < 1e-3, name  # inverse covariances reach 1/eps
    matrix = predictor.text.embed(["cat", "building"])
    logits, _ = predictor.model.logits(onnx_features, ["cat", "building"], matrix)
    with torch.no_grad():
        expected = model.score(torch_features, torch.from_numpy(matrix))[0].numpy()
    assert np.abs(logits - expected).max() < 1e-3


def test_cat_photo_gets_a_cat_mask_and_nothing_else(predictor):
    image = read_image(EVAL / "JPEGImages" / "chelsea.jpg")
    truth = np.array(Image.open(EVAL / "SegmentationClass" / "chelsea.png"))
    names = [n for n in PROJECT if n != "sky"]
    pred = predictor.predict(image, names)
    cat = pred.labels == 1
    valid = truth != 255
    iou = (cat & (truth == 1) & valid).sum() / ((cat | (truth == 1)) & valid).sum()
    assert iou > 0.75
    assert set(np.unique(pred.labels)) <= {0, 1}  # no motorcycle, cup, building, flower, rocket pixel
    runs = predictor.encoder_runs
    edited = predictor.predict(image, [*names, "dog"])  # a class edit scores, never encodes again
    assert predictor.encoder_runs == runs
    heat = edited.heatmap("cat")
    assert heat.shape == image.shape[:2] and heat.min() >= 0 and heat.max() <= 1
    assert heat[truth == 1].mean() > 0.7 and heat[truth == 1].mean() > heat[truth == 0].mean() + 0.15
    assert edited.uncertainty_map().shape == image.shape[:2]


def test_stroke_features_are_unit_vectors_at_stride_8(predictor):
    image = read_image(sample_photos_folder() / "coffee.jpg")  # 400 x 600 -> 448 x 672
    feats = stroke_features(predictor, image)
    assert feats.shape == (472, 56, 84)
    assert np.allclose(np.linalg.norm(feats, axis=0), 1, atol=1e-3)


def test_guided_filter_snaps_a_coarse_edge_to_the_image_edge():
    import torch

    guide = torch.zeros(1, 3, 40, 40)
    guide[..., 17:] = 1.0  # the image's edge: between columns 16 and 17
    coarse = (torch.arange(40) >= 21).float().expand(1, 1, 40, 40)  # a coarse map 4 px off, and blurred
    coarse = torch.nn.functional.avg_pool2d(coarse, (1, 15), 1, (0, 7), count_include_pad=False)
    out = guided_filter(guide, coarse, 8, 1e-2)
    assert int((coarse[0, 0, 20] >= 0.5).float().argmax()) == 21
    assert int((out[0, 0, 20] >= 0.5).float().argmax()) == 17


def test_grabcut_moves_a_coarse_mask_onto_the_flower(predictor):
    image = read_image(EVAL / "JPEGImages" / "flower.jpg")
    truth = np.array(Image.open(EVAL / "SegmentationClass" / "flower.png"))
    flower = 10  # labelmap.txt: the set's 10th class
    features = predictor.features(image)
    names = ["flower", "cat", "building"]
    logits, _ = predictor.model.logits(features, names, predictor.text.embed(names))
    refined = grabcut_logits(features[FEATURES.index("guide")][0, :3], logits)
    assert refined.shape == logits.shape and refined.dtype == np.float32
    assert (refined[1:] < 0).all()  # classes without support stay absent

    def iou(logit):
        small = np.array(Image.fromarray(truth).resize(logit.shape[::-1], Image.NEAREST))
        mask, valid = logit >= 0, small != 255
        return ((mask & (small == flower) & valid).sum()) / (((mask | (small == flower)) & valid).sum())

    assert iou(refined[0]) > 0.9 and iou(refined[0]) > iou(logits[0]) + 0.1


def test_no_class_names_is_background_everywhere(predictor):
    """An image opened before any class is typed: all background, heatmap stack empty, no scorer error."""
    image = read_image(sample_photos_folder() / "chelsea.jpg")
    prediction = predictor.predict(image, [])
    assert prediction.labels.shape == image.shape[:2] and not prediction.labels.any()
    assert prediction.uncertainty_map().shape == image.shape[:2]
