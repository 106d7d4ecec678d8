"""SPNet, DeViSE, ZS3Net (+GC) and their DeepLabv3+ head: the Segmenter contract, the scores each method
defines, and ZS3Net's classifier bank (seen rows, fit_unseen for new names, checkpoints)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from core.errors import ZerolabelError
from core.models import (
    ModelConfig,
    build_model,
    load_checkpoint,
    model_names,
    predict_probabilities,
    save_checkpoint,
)
from core.models.backbones import Backbone, build_backbone
from core.models.deeplab import DeepLabV3Plus, aspp_rates, head_width
from core.models.gmmn import GraphGMMN, generate
from core.models.zs3net import UnfittedClassError, collect_features, collect_graphs, fit_unseen

METHODS = ["spnet", "devise", "zs3net", "zs3net-gc"]
SEEN, UNSEEN, LATER = list(range(8)), [8, 9, 10, 11], 12


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: intra-op threads only add waiting on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _emb(n: int, d: int = 50, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def _model(method: str, embed_dim: int = 50, **options):
    torch.manual_seed(0)
    model = build_model(ModelConfig(method, "tiny", embed_dim, image_size=64, options=options)).eval()
    if hasattr(model, "set_seen_classes"):
        model.set_seen_classes(["a", "b", "c"], _emb(3, embed_dim))
    return model


class World:
    """Synthetic pixel features where a class's features are a fixed map of its embedding (K = 64, D = 16):
    ``relu(A a_c + noise)``; what a generator can learn from seen classes and carry over to unseen ones."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(1)
        self.emb = F.normalize(torch.randn(13, 16, generator=g), dim=1)
        self.map = torch.randn(64, 16, generator=g) * 1.5
        self.bg = torch.randn(64, generator=g)
        self.g = g

    def features(self, c: int | None, n: int) -> torch.Tensor:
        mean = self.bg if c is None else self.emb[c] @ self.map.T
        return F.relu(mean + 0.5 * torch.randn(n, 64, generator=self.g))

    def seen_data(self) -> tuple[dict, dict]:
        """Label values as a dataset has them: 0 background, class c -> label c + 1."""
        feats = {0: self.features(None, 300), **{c + 1: self.features(c, 300) for c in SEEN}}
        return feats, {c + 1: self.emb[c] for c in SEEN}


def _predict(model, feats: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Argmax over [background, classes] of pixel features ``[N, K]`` (as a 1 x N feature map); -1 = bg."""
    fmap = (feats.T[None, :, :, None],)
    logits = torch.cat([model.background_score(fmap), model.score(fmap, classes)], dim=1)
    return logits[0, :, :, 0].argmax(0) - 1


def _fit(world: World, steps: int):
    torch.manual_seed(0)
    model = build_model(ModelConfig("zs3net", "tiny", 16, image_size=64)).eval()
    model.set_seen_classes([f"s{c}" for c in SEEN], world.emb[SEEN])
    feats, emb = world.seen_data()
    fit_unseen(model, [f"u{u}" for u in UNSEEN], world.emb[UNSEEN], feats, emb, steps=steps,
               generator_lr=2e-3, classifier_steps=200, per_class=300)
    return model


@pytest.fixture(scope="module")
def fitted():
    """A zs3net whose seen rows exist and whose four unseen classes were fitted from the world's seen data."""
    torch.set_num_threads(1)
    world = World()
    return world, _fit(world, steps=150)


def test_deeplab_head_rates_skip_and_shapes() -> None:
    assert aspp_rates(16) == [6, 12, 18] and aspp_rates(32) == [3, 6, 9] and aspp_rates(8) == [12, 24, 36]
    head = DeepLabV3Plus(build_backbone("tiny", pretrained=False), feature_dim=32)
    assert head.aspp.rates == aspp_rates(head.backbone.strides[-1])
    assert head.low_proj[0].out_channels == 48
    assert head.backbone.strides[head.low_index] == 4
    assert head(torch.randn(2, 3, 64, 96)).shape == (2, 32, 16, 24)
    assert head_width("tiny", {}) == 64 and head_width("resnet101", {}) == 256
    assert head_width("tiny", {"feature_dim": 24}) == 24

    class NoStride4(Backbone):
        def __init__(self) -> None:
            super().__init__([8], [8])

    with pytest.raises(ValueError, match="stride-4"):
        DeepLabV3Plus(NoStride4())


@pytest.mark.parametrize("method", METHODS)
def test_contract_shapes_and_softmax_background(method: str) -> None:
    assert method in model_names()
    model = _model(method)
    assert model.activation == "softmax"
    feats = model.encode(torch.randn(2, 3, 64, 64))
    for c in (1, 3):
        scores = model.score(feats, _emb(3)[:c])
        assert scores.shape == (2, c, 16, 16)
        bg = model.background_score(feats)
        assert bg.shape == (2, 1, 16, 16)
        probs = predict_probabilities(model, feats, _emb(3)[:c], (64, 64))
        assert probs.shape == (2, 1 + c, 64, 64)
        assert torch.allclose(probs.sum(1), torch.ones(2, 64, 64), atol=1e-5)
        up = F.interpolate(torch.cat([bg, scores], 1), size=(64, 64), mode="bilinear", align_corners=False)
        assert torch.allclose(probs[:, 0], torch.softmax(up, 1)[:, 0], atol=1e-5)


def test_spnet_score_is_the_scaled_dot_product() -> None:
    model = _model("spnet")
    x = torch.randn(2, 3, 64, 64)
    feats = model.encode(x)
    pix = model.pixel_embeddings(feats)
    assert pix.shape == (2, 50, 16, 16) and torch.allclose(pix, model.project(model.head(x)), atol=1e-6)
    classes, scale = _emb(4, seed=2), model.log_scale.exp()
    explicit = (pix[:, None] * classes[None, :, :, None, None]).sum(2) * scale
    assert torch.allclose(model.score(feats, classes), explicit, atol=1e-4)
    bg = (pix * model.background[None, :, None, None]).sum(1, keepdim=True) * scale
    assert torch.allclose(model.background_score(feats), bg, atol=1e-4)
    model.train()
    loss = model(torch.randn(1, 3, 64, 64), classes).sum() + model.background_score(feats).sum()
    loss.backward()
    assert model.log_scale.grad is not None and model.background.grad.abs().sum() > 0
    assert not _model("spnet", learn_scale=False).log_scale.requires_grad


def test_devise_scores_are_scaled_cosines() -> None:
    model = _model("devise", scale=5.0)
    assert model.scale == 5.0 and not hasattr(model, "log_scale")
    feats = model.encode(torch.randn(2, 3, 64, 64))
    pix = model.pixel_embeddings(feats)
    assert torch.allclose(pix.norm(dim=1), torch.ones(2, 16, 16), atol=1e-5)
    classes = _emb(4, seed=3)
    scores = model.score(feats, classes)
    cosine = F.cosine_similarity(pix[:, None], classes[None, :, :, None, None], dim=2)
    assert torch.allclose(scores, 5.0 * cosine, atol=1e-5)
    assert torch.allclose(model.score(feats, 3 * classes), scores, atol=1e-5)  # a cosine, whatever the length
    assert scores.abs().max() <= 5.0 + 1e-5 and model.background_score(feats).abs().max() <= 5.0 + 1e-5


def test_zs3net_seen_rows_are_trainable_right_after_set_seen_classes() -> None:
    model = _model("zs3net")
    assert model.seen_classes == ["a", "b", "c"] and model.class_names == ["a", "b", "c"]
    feats = model.encode(torch.randn(1, 3, 64, 64))
    picked = _emb(3)[[2, 0]]
    explicit = torch.einsum("bkhw,ck->bchw", feats[0], model.weight[[2, 0]])
    explicit = explicit + model.bias[[2, 0]][:, None, None]
    assert torch.allclose(model.score(feats, picked), explicit, atol=1e-5)
    model.train()
    model(torch.randn(1, 3, 64, 64), picked).sum().backward()
    assert model.weight.grad[[0, 2]].abs().sum() > 0 and model.weight.grad[1].abs().sum() == 0


def test_zs3net_seen_rows_start_apart_and_stay_apart_under_adam() -> None:
    """Near-zero rows made Adam move every seen row by the same step (mostly-background pixels push every
    class down alike): the rows stayed alike and stage 1 learned background vs. object only."""
    torch.manual_seed(0)
    model = build_model(ModelConfig("zs3net", "tiny", 16, image_size=64))
    model.set_seen_classes([f"s{i}" for i in range(20)], _emb(20))
    assert 0.5 < float(model.weight.norm(dim=1).mean()) < 2 and 0.5 < float(model.bg_weight.norm()) < 2
    assert float(model.bg_bias) > float(model.bias.max()) + 3  # background: most pixels

    def cosine() -> float:
        w = F.normalize(model.weight.detach(), dim=1)
        return float(((w @ w.T).sum() - 20) / (20 * 19))

    g = torch.Generator().manual_seed(3)
    means = torch.randn(21, 64, generator=g)
    opt = torch.optim.Adam([model.bg_weight, model.bg_bias, model.weight, model.bias], lr=1e-3)
    for _ in range(100):  # 85 % background, as segmentation images
        y = torch.where(torch.rand(512, generator=g) < 0.85, 0, torch.randint(1, 21, (512,), generator=g))
        x = F.relu(means[y] + torch.randn(512, 64, generator=g))
        logits = torch.cat([(x @ model.bg_weight + model.bg_bias)[:, None], x @ model.weight.T + model.bias], 1)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert cosine() < 0.3  # rows from randn * 0.01: 0.69


def test_score_names_the_fix_for_a_class_without_a_row() -> None:
    model = _model("zs3net")
    feats = model.encode(torch.randn(1, 3, 64, 64))
    new = _emb(1, seed=9)
    with pytest.raises(UnfittedClassError, match=r"positions \[3\].*it knows: a, b, c.*fit_unseen") as err:
        model.score(feats, torch.cat([_emb(3), new]))
    assert err.value.positions == [3] and isinstance(err.value, ZerolabelError)
    assert model.missing_classes(["b", "zebra"], torch.cat([_emb(3)[1:2], new])) == ["zebra"]


def _accuracy(model, world: World, classes: list[int], n: int = 300) -> torch.Tensor:
    """Per class, the share of its real pixels predicted as it among background + classes 0..11."""
    return torch.stack([(_predict(model, world.features(c, n), world.emb[:12]) == c).float().mean()
                        for c in classes])


def test_fit_unseen_classifies_unseen_pixels_it_never_saw(fitted) -> None:
    world, model = fitted
    names = [f"s{c}" for c in SEEN] + [f"u{u}" for u in UNSEEN]
    assert model.class_names == names and bool(model.generator_trained)
    # real pixels of the unseen classes, 13-way (background + 12 classes): chance 1/13
    assert _accuracy(model, world, UNSEEN).min() > 0.8
    for u in UNSEEN:  # and the generated ones the classifier was fitted on
        fake = generate(model.generator, world.emb[u], 200, seed=7)
        assert (_predict(model, fake, world.emb[:12]) == u).float().mean() > 0.9
    assert _accuracy(model, world, SEEN, 100).mean() > 0.9
    assert (_predict(model, world.features(None, 200), world.emb[:12]) == -1).float().mean() > 0.9
    # control: with an untrained generator, "not a seen class" is all the classifier can learn
    assert _accuracy(_fit(World(), steps=0), world, UNSEEN).mean() < 0.6


def test_a_later_class_needs_no_seen_data_and_keeps_the_earlier_ones(fitted) -> None:
    world, model = fitted
    model = copy.deepcopy(model)
    generator = copy.deepcopy(model.generator.state_dict())
    fit_unseen(model, ["u12"], world.emb[LATER:], classifier_steps=200, per_class=300)  # the app: name only
    assert all(torch.equal(generator[k], v) for k, v in model.generator.state_dict().items())  # trained once
    assert model.class_names == [f"s{c}" for c in SEEN] + ["u12"] + [f"u{u}" for u in UNSEEN]
    for u in [*UNSEEN, LATER]:
        assert (_predict(model, world.features(u, 300), world.emb) == u).float().mean() > 0.7
    fit_unseen(model, ["u8 again", "s0"], world.emb[[8, 0]], classifier_steps=5)  # no duplicate rows
    assert len(model.weight) == 13 and model.class_names.count("u8 again") == 1
    assert "u8" not in model.class_names


def test_refit_keeps_background_as_common_as_the_training_pixels_say() -> None:
    """The refit is class-balanced; the pixel shares given as priors are added back (logit adjustment), so
    pixels that could be background or a seen class go to background, as in the images; a later call (the
    app) reuses the kept shares."""
    world = World()
    feats, emb = world.seen_data()
    feats[0] = world.features(0, 300)  # background looks like seen class s0 (label 1): ambiguous
    shares = {0: 0.9, **{c: 0.1 / 8 for c in emb}}
    bg_share = {}
    for priors in (None, shares):
        torch.manual_seed(0)
        model = build_model(ModelConfig("zs3net", "tiny", 16, image_size=64)).eval()
        fit_unseen(model, ["u8"], world.emb[8:9], feats, emb, steps=0, classifier_steps=150, per_class=300,
                   priors=priors)
        probe = world.features(0, 400)
        bg_share[priors is not None] = float((_predict(model, probe, world.emb[:9]) == -1).float().mean())
    assert bg_share[True] > 0.8 and bg_share[True] > bg_share[False] + 0.2
    assert torch.allclose(model.reservoir_priors, torch.tensor([0.9] + [0.1 / 8] * 8))
    fit_unseen(model, ["u9"], world.emb[9:10], classifier_steps=150, per_class=300)  # kept shares
    assert float((_predict(model, probe, world.emb[:10]) == -1).float().mean()) > 0.8


def test_fit_unseen_refuses_what_it_cannot_use() -> None:
    model = _model("zs3net")
    with pytest.raises(ValueError, match="keeps no seen-class features"):
        fit_unseen(model, ["x"], _emb(1, seed=5))
    with pytest.raises(ValueError, match=r"labels \[4\]"):
        fit_unseen(model, ["x"], _emb(1, seed=5), {0: torch.rand(5, 64), 4: torch.rand(5, 64)},
                   {1: _emb(1)[0]})
    with pytest.raises(ValueError, match="2 class names but 1"):
        fit_unseen(model, ["x", "y"], _emb(1, seed=5), {0: torch.rand(5, 64)}, {})


def test_state_dict_round_trip_keeps_the_fitted_rows(fitted, tmp_path) -> None:
    world, model = fitted
    path = tmp_path / "state.pt"
    torch.save(model.state_dict(), path)
    fresh = build_model(ModelConfig("zs3net", "tiny", 16, image_size=64)).eval()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    feats = model.encode(torch.randn(1, 3, 64, 64))
    assert torch.allclose(fresh.score(feats, world.emb[:12]), model.score(feats, world.emb[:12]), atol=1e-5)
    assert torch.allclose(fresh.background_score(feats), model.background_score(feats), atol=1e-5)
    assert fresh.class_names == model.class_names and bool(fresh.generator_trained)
    assert torch.equal(fresh.reservoir_features, model.reservoir_features)
    fit_unseen(fresh, ["u12"], world.emb[LATER:], classifier_steps=50)  # the app, from a checkpoint alone
    assert fresh.score(feats, world.emb).shape == (1, 13, 16, 16)
    # through a checkpoint file as well, and a state dict from before names and the feature sample existed
    split = {"seen": [], "unseen": []}
    ckpt = save_checkpoint(tmp_path / "best.pt", model, embedding_source="test", split=split)
    loaded, _ = load_checkpoint(ckpt)
    assert loaded.class_names == model.class_names
    old = {k: v for k, v in model.state_dict().items() if k != "bank_names" and not k.startswith("reservoir")}
    fresh.load_state_dict(old)
    assert fresh.class_names == [f"row {i}" for i in range(12)] and len(fresh.reservoir_features) == 0


def test_collect_features_takes_only_allowed_labelled_pixels() -> None:
    model = _model("zs3net")
    images = torch.randn(2, 3, 64, 64)
    labels = torch.zeros(2, 64, 64, dtype=torch.long)
    labels[:, :32, :32] = 1
    labels[:, 32:, 32:] = 2  # an unseen class: the caller leaves it out of ``allowed``
    labels[0, :, 60:] = 255
    found = collect_features(model, images, labels, allowed=[0, 1, 255], max_per_class=10_000)
    assert set(found) == {0, 1}
    feats = model.encode(images)[0]
    lab = F.interpolate(labels[:, None].float(), size=(16, 16), mode="nearest")[:, 0].long()
    flat = feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1])
    assert torch.equal(found[1], flat[lab.flatten() == 1]) and torch.equal(found[0], flat[lab.flatten() == 0])
    few = collect_features(model, images, labels, allowed=[1], max_per_class=20)
    assert few[1].shape == (20, 64)


def test_zs3net_gc_fits_a_new_class_with_segment_graphs() -> None:
    model = _model("zs3net-gc")
    assert isinstance(model.generator, GraphGMMN)
    images, labels = torch.randn(2, 3, 64, 64), torch.zeros(2, 64, 64, dtype=torch.long)
    labels[:, :, :24], labels[:, :, 24:48] = 1, 2
    labels[1, 40:, :] = 3
    graphs = collect_graphs(model, images, labels, allowed=[1, 2, 3])
    assert [g.classes for g in graphs] == [[1, 2], [1, 2, 3]] and graphs[1].adjacency.sum() == 6
    seen = collect_features(model, images, labels, allowed=[0, 1, 2, 3])
    new = _emb(1, seed=9)
    fit_unseen(model, ["new"], new, seen, dict(enumerate(_emb(3), start=1)), steps=20, graphs=graphs,
               classifier_steps=20, per_class=50)
    feats = model.encode(images)
    assert model.score(feats, torch.cat([_emb(3), new])).shape == (2, 4, 16, 16)
    assert model.class_names == ["a", "b", "c", "new"]
