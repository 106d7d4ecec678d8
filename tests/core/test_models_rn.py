"""Relation Network, U-Net baseline and backbones: real models, tiny sizes, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from core.models import ModelConfig, build_model, predict_probabilities
from core.models.backbones import (
    SameConv2d,
    WeightsError,
    backbone_names,
    build_backbone,
    effnet_lite0_classifier,
    effnet_weights_path,
    hub_weights_path,
    load_state_strict,
    register_backbone,
)
from core.models.base import IMAGENET_MEAN, IMAGENET_STD
from core.models.relation import tiled_conv

VARIANTS = [{}, {"word_module": "cnn"}, {"head": "deeplabv3"}, {"head": "deeplabv3", "word_module": "cnn"}]


pytestmark = pytest.mark.usefixtures("one_thread")


def _emb(n: int, d: int = 50, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def _images(n: int = 2, size: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _rn(method: str = "rn", **options: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(method, "tiny", 50, image_size=64, options=options)).eval()


# -- Relation Network ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(o.values()) or "fc-unet")
def test_rn_shapes_for_one_three_and_zero_classes(options: dict) -> None:
    model = _rn(**options)
    with torch.no_grad():
        feats = model.encode(_images())
        for c in (1, 3):
            assert model.score(feats, _emb(3)[:c]).shape == (2, c, 16, 16)
            probs = predict_probabilities(model, feats, _emb(3)[:c], (64, 64))
            assert probs.shape == (2, 1 + c, 64, 64) and probs.min() >= 0 and probs.max() <= 1
        assert model.score(feats, _emb(0)).shape == (2, 0, 16, 16)


def test_predict_probabilities_with_no_classes_is_all_background() -> None:
    model = _rn()
    with torch.no_grad():
        probs = predict_probabilities(model, model.encode(_images()), _emb(0), (64, 64))
    assert probs.shape == (2, 1, 64, 64) and (probs.argmax(1) == 0).all()


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(o.values()) or "fc-unet")
def test_factorised_score_equals_the_naive_concatenation(options: dict) -> None:
    model = _rn(**options)
    x, e = _images(), _emb(3, seed=1)
    with torch.no_grad():
        fast, naive = model.score(model.encode(x), e), model.naive_score(x, e)
    assert fast.abs().max() > 0.1  # not a vacuous comparison of zeros
    torch.testing.assert_close(fast, naive, atol=1e-5, rtol=0)


def test_tiled_conv_is_the_convolution_of_the_tile_borders_included() -> None:
    weight, vectors = torch.randn(6, 5, 3, 3), torch.randn(4, 5)
    like = torch.zeros(1, 1, 7, 9)
    direct = F.conv2d(vectors[:, :, None, None].expand(-1, -1, 7, 9), weight, padding=1)
    fast = tiled_conv(weight, vectors, like)
    torch.testing.assert_close(fast, direct, atol=1e-5, rtol=0)
    assert (fast[..., 0, :] - fast[..., 3, :]).abs().max() > 0.1  # the borders do differ from the interior


def test_twenty_classes_take_one_encoder_pass_and_do_not_interact() -> None:
    model = _rn()
    calls: list[int] = []
    model.backbone.register_forward_hook(lambda *_: calls.append(1))
    e = _emb(20)
    with torch.no_grad():
        feats = model.encode(_images())
        all_classes = model.score(feats, e)
        subset = model.score(feats, e[[4, 17]])
    assert len(calls) == 1
    torch.testing.assert_close(all_classes[:, [4, 17]], subset, atol=1e-5, rtol=0)
    model.train()  # GroupNorm per pair: a class's score does not depend on the others in training either
    with torch.no_grad():
        torch.testing.assert_close(model.score(feats, e)[:, [4, 17]], model.score(feats, e[[4, 17]]),
                                   atol=1e-5, rtol=0)


def test_background_is_where_no_class_reaches_one_half() -> None:
    model = _rn(joint="sigmoid")  # the paper's independent binary maps
    feats = model.encode(_images())
    e = _emb(3)
    with torch.no_grad():
        logits = F.interpolate(model.score(feats, e), size=(64, 64), mode="bilinear", align_corners=False)
        model.logit.bias -= logits.max(1).values.median()  # about half the pixels above 0.5 for some class
        probs = predict_probabilities(model, feats, e, (64, 64))
        best = torch.sigmoid(F.interpolate(model.score(feats, e), size=(64, 64), mode="bilinear",
                                           align_corners=False)).max(1).values
    background = best < 0.5
    assert 0.2 < background.float().mean() < 0.8  # both cases occur
    assert torch.equal(probs.argmax(1) == 0, background)
    assert torch.equal(probs.argmax(1)[~background] - 1, probs[:, 1:].argmax(1)[~background])


def test_the_learned_background_relation_competes_with_the_classes_in_one_softmax() -> None:
    model = _rn()  # joint=softmax: background is a learned class vector through the same relation module
    feats = model.encode(_images())
    e = _emb(3)
    with torch.no_grad():
        background = model.background_score(feats)
        logits = torch.cat([background, model.score(feats, e)], 1)
        probs = predict_probabilities(model, feats, e, tuple(logits.shape[-2:]))
        torch.testing.assert_close(probs, logits.softmax(1), atol=1e-5, rtol=0)
        # the background relation is the relation module run with the learned vector as the class
        torch.testing.assert_close(background, model.score(feats, model.bg_embedding[None]), atol=1e-5, rtol=0)


def test_earlier_relation_checkpoints_load_as_they_were_trained(tmp_path) -> None:
    from core.models import load_checkpoint, save_checkpoint

    old = _rn(image_norm=False, word_act="relu", joint="sigmoid")
    old.config = ModelConfig("rn", "tiny", 50, image_size=64)  # saved before these options existed
    save_checkpoint(tmp_path / "old.pt", old, embedding_source="glove50", split={"classes": [], "seen": [],
                                                                                 "unseen": []})
    model, ckpt = load_checkpoint(tmp_path / "old.pt")
    assert model.activation == "sigmoid" and ckpt.config.options["joint"] == "sigmoid"
    feats = _images()
    with torch.no_grad():
        torch.testing.assert_close(model(feats, _emb(2)), old(feats, _emb(2)))


@pytest.mark.parametrize("module", ["fc", "cnn"])
def test_gradients_reach_word_module_relation_module_and_encoder(module: str) -> None:
    model = _rn(word_module=module).train()
    feats = model.encode(_images())  # what the trainer's step runs: the classes and the background relation
    (model.score(feats, _emb(3)).square().mean() + model.background_score(feats).square().mean()).backward()
    for name in ("word.mlp.0.weight", "word.out.weight", "word_convs.0.weight", "image_convs.0.weight",
                 "blocks.3.1.weight", "logit.weight", "backbone.stages.0.0.0.weight"):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert all(p.grad is not None for p in model.parameters())  # no unused parameters (DDP-safe)


@pytest.mark.parametrize(("backbone", "options"), [("effnet-lite0", {}), ("tiny", {"head": "deeplabv3"})])
def test_every_parameter_is_used_so_ddp_needs_no_unused_search(backbone: str, options: dict) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", backbone, 50, image_size=64, options=options)).train()
    feats = model.encode(_images())
    (model.score(feats, _emb(2)).mean() + model.background_score(feats).mean()).backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_options_and_embedding_size_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown option"):
        _rn(word_modul="cnn")
    with pytest.raises(ValueError, match="unknown head"):
        _rn(head="pspnet")
    with pytest.raises(ValueError, match="word_module"):
        _rn(word_module="rnn")
    model = _rn()
    with pytest.raises(ValueError, match=r"\[C, 50\]"):
        model.score(model.encode(_images(1)), _emb(2, d=300))


# -- U-Net baseline ------------------------------------------------------------------------------------------
def test_unet_gives_every_class_the_same_foreground_map() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig("unet", "tiny", 0, image_size=64)).eval()
    assert not hasattr(model, "word")
    with torch.no_grad():
        feats = model.encode(_images())
        scores = model.score(feats, _emb(4, d=300))
        assert scores.shape == (2, 4, 16, 16) and model.score(feats, _emb(0)).shape == (2, 0, 16, 16)
        assert torch.equal(scores, model.foreground(feats).expand(-1, 4, -1, -1))
        assert torch.equal(model.score(feats, _emb(1, d=7, seed=5))[:, 0], scores[:, 0])  # embeddings ignored
    model.train()
    model(_images(), _emb(2)).mean().backward()
    assert all(p.grad is not None for p in model.parameters())


# -- backbones -----------------------------------------------------------------------------------------------
def test_backbone_registry() -> None:
    assert {"tiny", "effnet-lite0", "vgg16", "resnet101"} <= set(backbone_names())
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("tiny")(lambda pretrained: None)
    with pytest.raises(ValueError, match="unknown backbone 'nope'.*tiny"):
        build_backbone("nope", pretrained=False)
    with pytest.raises(WeightsError, match="no pretrained weights"):
        build_backbone("tiny", pretrained=True)


@pytest.mark.parametrize("name", ["tiny", "effnet-lite0", "resnet101"])
def test_backbone_contract(name: str) -> None:
    net = build_backbone(name, pretrained=False).eval()
    with torch.no_grad():
        feats = net(_images(1))
    assert [f.shape[1] for f in feats] == net.channels
    assert [64 // f.shape[-1] for f in feats] == net.strides
    assert net.strides[:2] == [2, 4] and net.strides == sorted(net.strides)


@pytest.mark.parametrize(("size", "kernel", "first"), [(8, 3, [1, 3, 5, 7]), (7, 3, [0, 2, 4, 6]),
                                                       (8, 5, [0, 2, 4, 6]), (13, 6, [0, 5, 10])])
def test_same_padding_puts_the_extra_pixel_at_the_bottom_right(size: int, kernel: int, first: list) -> None:
    # TF "SAME": ceil(n / s) outputs, total padding max((out - 1) * s + k - n, 0), the smaller half on the
    # top / left. A kernel reading only its first tap returns the input pixel each window starts at (0: pad).
    stride = 5 if kernel == 6 else 2
    conv = SameConv2d(1, 1, kernel, stride)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0
        x = torch.arange(1.0, size + 1).view(1, 1, 1, size).expand(1, 1, size, size)
        row = conv(x)[0, 0, -1]
    assert row.tolist() == [float(v) for v in first]


def test_same_padding_follows_the_input_size_in_an_onnx_export(tmp_path) -> None:
    import warnings

    import onnxruntime as ort

    torch.manual_seed(0)
    conv = torch.nn.Sequential(SameConv2d(3, 4, 3, 2), SameConv2d(4, 4, 5, 2, groups=4)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(conv, (torch.randn(1, 3, 32, 32),), str(tmp_path / "c.onnx"), dynamo=False,
                          input_names=["x"], output_names=["y"], opset_version=17,
                          dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "oh", 3: "ow"}})
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    for h, w in ((32, 32), (33, 35), (30, 31)):  # exported at even sizes, run at odd ones too
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            expected = conv(x).numpy()
        got = session.run(None, {"x": x.numpy()})[0]
        assert got.shape == expected.shape == (1, 4, -(-h // 4), -(-w // 4))
        assert abs(got - expected).max() < 1e-4


def test_effnet_lite0_uses_every_tensor_of_the_weights_file() -> None:
    state = torch.load(effnet_weights_path(), map_location="cpu", weights_only=True)
    net = effnet_lite0_classifier(pretrained=True)
    mine = net.file_state_dict()
    assert mine.keys() == state.keys() and len(state) == 296
    assert all(torch.equal(mine[k], v) for k, v in state.items())
    backbone = build_backbone("effnet-lite0", pretrained=True)
    assert not any(k.startswith(("_fc", "_conv_head", "_bn1.")) for k in backbone.state_dict())  # no head
    assert torch.equal(backbone.state_dict()["_blocks.15._project_conv.weight"],
                       state["_blocks.15._project_conv.weight"])
    for damage in (lambda s: s.pop("_fc.bias"), lambda s: s.update(extra=torch.zeros(1)),
                   lambda s: s.update({"_bn0.weight": torch.zeros(31)})):
        broken = dict(state)
        damage(broken)
        with pytest.raises(WeightsError, match="do not fit"):
            load_state_strict(effnet_lite0_classifier(pretrained=False).backbone, broken, "x.pth")


def _patterns(size: int = 224) -> torch.Tensor:
    """Zebra-like wavy stripes, a fine grid, a checkerboard: ImageNet-normalised, as the app feeds them."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    zebra = (((xx + 20 * torch.sin(yy / 15.0)) // 12) % 2).float()
    grid = ((xx % 16 == 0) | (yy % 16 == 0)).float()
    checker = ((xx // 28 + yy // 28) % 2).float()
    rgb = torch.stack([zebra, grid, checker])[:, None].expand(-1, 3, -1, -1)
    return (rgb - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def test_effnet_lite0_weights_are_really_imagenet_trained() -> None:
    from torchvision.models import VGG16_Weights

    names = VGG16_Weights.IMAGENET1K_V1.meta["categories"]  # the 1000 ImageNet class names, in index order

    expected = ["zebra", "window screen", "crossword puzzle"]
    with torch.no_grad():
        probs = effnet_lite0_classifier(pretrained=True).eval()(_patterns()).softmax(1)
        random_probs = effnet_lite0_classifier(pretrained=False).eval()(_patterns()).softmax(1)
    assert [names[i] for i in probs.argmax(1)] == expected
    assert probs.max(1).values.min() > 0.05  # confident, not a near-uniform guess (1/1000)
    assert [names[i] for i in random_probs.argmax(1)] != expected and random_probs.max() < 0.01


def test_torchvision_weights_come_only_from_the_hub_cache(tmp_path, monkeypatch) -> None:
    from torchvision.models import ResNet101_Weights, VGG16_Weights, vgg16

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = hub_weights_path(VGG16_Weights.IMAGENET1K_V1)
    assert target == tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    for name, weights in (("vgg16", VGG16_Weights.IMAGENET1K_V1),
                          ("resnet101", ResNet101_Weights.IMAGENET1K_V2)):
        with pytest.raises(WeightsError) as info:
            build_backbone(name, pretrained=True)
        assert weights.url in str(info.value) and str(hub_weights_path(weights)) in str(info.value)
    # A stand-in file with torchvision's key names and shapes: random conv weights, the 120M-parameter
    # classifier as zero-stride views (a few bytes on disk; the backbone does not use it).
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in vgg16(weights=None).state_dict().items()}
    state = {k: torch.randn(s) if k.startswith("features") else torch.zeros(1).expand(s)
             for k, s in shapes.items()}
    target.parent.mkdir(parents=True)
    torch.save(state, target)
    backbone = build_backbone("vgg16", pretrained=True)
    assert torch.equal(backbone.stages[0][0].weight, state["features.0.weight"])
    assert torch.equal(backbone.stages[4][-3].bias, state["features.28.bias"])
    assert [f.shape[1] for f in backbone(_images(1, 32))] == backbone.channels
    state["features.0.weight"] = torch.randn(64, 3, 5, 5)
    torch.save(state, target)
    with pytest.raises(WeightsError, match=r"vgg16-397923af.pth: the weights do not fit.*features.0.weight"):
        build_backbone("vgg16", pretrained=True)


def test_the_torch_free_weights_check_names_the_files_torchvision_reads(tmp_path, monkeypatch) -> None:
    """core.hub (the app's pre-start check, no torch) agrees with the weight enums and the hub dir."""
    from torchvision.models import ResNet101_Weights, VGG16_Weights

    from core.hub import hub_dir, missing_weights, weights_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert hub_dir() == Path(torch.hub.get_dir())
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub_dir() == Path(torch.hub.get_dir())
    for name, weights in (("vgg16", VGG16_Weights.IMAGENET1K_V1), ("resnet101", ResNet101_Weights.IMAGENET1K_V2)):
        assert weights_file(name) == hub_weights_path(weights)
        assert weights.url in missing_weights(name, pretrained=True)
        assert missing_weights(name, pretrained=False) == ""
        weights_file(name).parent.mkdir(parents=True, exist_ok=True)
        weights_file(name).write_bytes(b"")
        assert missing_weights(name, pretrained=True) == ""
    assert weights_file("tiny") is None and missing_weights("effnet-lite0", pretrained=True) == ""
