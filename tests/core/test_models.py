"""Models: the Segmenter contract, RN's factorised relation, backbones and weights, ZS3Net's generator/refit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from core.models import ModelConfig, build_model, model_names, predict_probabilities, register_model
from core.models.backbones import WeightsError, build_backbone, effnet_weights_path, hub_weights
from core.models.gmmn import GMMN, GraphGMMN, mmd, segment_graph, train_generator
from core.models.zs3net import UnfittedClassError, fit_unseen

METHODS = ["rn", "unet", "spnet", "devise", "zs3net", "zs3net-gc"]


def _emb(n: int, d: int = 50, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def _model(method: str, **options):
    torch.manual_seed(0)
    model = build_model(ModelConfig(method, "tiny", 50, image_size=64, options=options)).eval()
    if hasattr(model, "set_seen_classes"):
        model.set_seen_classes(["a", "b", "c"], _emb(3))
    return model


def test_registry_lists_methods_and_refuses_duplicates() -> None:
    assert set(METHODS) <= set(model_names())
    with pytest.raises(ValueError, match="already registered"):
        register_model("rn")(lambda cfg: None)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        build_model(ModelConfig("nope"))


@pytest.mark.parametrize("method", METHODS)
def test_contract_shapes_and_probabilities(method: str) -> None:
    model = _model(method)
    feats = model.encode(torch.randn(2, 3, 64, 64))
    for c in (1, 3):
        scores = model.score(feats, _emb(3)[:c])
        assert scores.shape == (2, c, 16, 16)
        probs = predict_probabilities(model, feats, _emb(3)[:c], (64, 64))
        assert probs.shape == (2, 1 + c, 64, 64)
        assert (probs >= 0).all() and (probs <= 1).all()
        if model.activation == "softmax":
            assert torch.allclose(probs.sum(1), torch.ones(2, 64, 64), atol=1e-5)


def test_rn_factorised_equals_naive_concatenation() -> None:
    for module in ("fc", "cnn"):
        model = _model("rn", word_module=module)
        x, e = torch.randn(2, 3, 64, 64), _emb(5, seed=1)
        assert torch.allclose(model.score(model.encode(x), e), model.naive_score(x, e), atol=1e-5)


def test_rn_scores_twenty_classes_with_one_encoder_pass() -> None:
    model = _model("rn")
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    feats = model.encode(torch.randn(1, 3, 64, 64))
    a = model.score(feats, _emb(20))
    b = model.score(feats, _emb(20)[:1])
    assert len(calls) == 1
    assert torch.allclose(a[:, :1], b, atol=1e-5)  # a class's score does not depend on the others


def test_rn_background_rule() -> None:
    model = _model("rn", joint="sigmoid")
    feats = model.encode(torch.randn(1, 3, 64, 64))
    probs = predict_probabilities(model, feats, _emb(3), (64, 64))
    fg = torch.sigmoid(F.interpolate(model.score(feats, _emb(3)), size=(64, 64), mode="bilinear"))
    background = fg.max(1).values < 0.5
    assert torch.equal(probs.argmax(1)[0] == 0, background[0])


def test_gradients_reach_the_word_module() -> None:
    model = _model("rn", word_module="cnn").train()
    model(torch.randn(2, 3, 64, 64), _emb(3)).sum().backward()
    assert model.word.out.weight.grad.abs().sum() > 0


def test_effnet_lite0_loads_real_imagenet_weights_strictly() -> None:
    net = build_backbone("effnet-lite0", pretrained=True).eval()
    state = torch.load(effnet_weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(net.state_dict()["_blocks.15._project_conv.weight"], state["_blocks.15._project_conv.weight"])
    feats = net(torch.randn(1, 3, 96, 96))
    assert [f.shape[1] for f in feats] == net.channels and [96 // f.shape[-1] for f in feats] == net.strides
    # A trained network maps an image and its slightly noisy copy to nearly the same class distribution and is
    # confident on neither random pattern in the same way; random weights give near-uniform ImageNet logits.
    from core.models.backbones import effnet_lite0_classifier

    with torch.no_grad():
        logits = effnet_lite0_classifier(pretrained=True).eval()(torch.randn(4, 3, 128, 128))
    assert logits.std(dim=1).mean() > 0.5


def test_torchvision_weights_come_only_from_the_hub_cache(tmp_path, monkeypatch) -> None:
    from torchvision.models import VGG16_Weights, vgg16

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsError, match="download https://"):
        build_backbone("vgg16", pretrained=True)
    reference = vgg16(weights=None).state_dict()
    target = tmp_path / "hub" / "checkpoints" / VGG16_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    target.parent.mkdir(parents=True)
    torch.save(reference, target)
    assert torch.equal(hub_weights(VGG16_Weights.IMAGENET1K_V1)["features.0.weight"], reference["features.0.weight"])
    backbone = build_backbone("vgg16", pretrained=True)
    assert torch.equal(backbone.stages[0][0].weight, reference["features.0.weight"])


def test_segment_graph_adjacency() -> None:
    label = np.array([
        [1, 1, 0, 2, 2],
        [1, 1, 0, 2, 2],
        [0, 0, 0, 0, 0],
        [3, 3, 0, 0, 1],
    ])
    nodes, adj = segment_graph(label)
    assert nodes == [0, 1, 1, 2, 3]
    got = {(i, j) for i in range(5) for j in range(i + 1, 5) if adj[i, j]}
    assert got == {(0, 1), (0, 2), (0, 3), (0, 4)}  # only the background touches the others
    assert (adj == adj.T).all() and not adj.diagonal().any()
    nodes, adj = segment_graph(np.array([[1, 2], [255, 2]]))
    assert nodes == [1, 2] and adj[0, 1]


def test_gmmn_learns_class_conditional_features() -> None:
    torch.manual_seed(0)
    feats = {1: torch.randn(300, 8) * 0.3 + 3.0, 2: torch.randn(300, 8) * 0.3 + torch.tensor([0.0] * 4 + [3.0] * 4)}
    emb = {1: _emb(1, 16, 1)[0], 2: _emb(1, 16, 2)[0]}
    gen = GMMN(16, 8)
    losses = train_generator(gen, feats, emb, steps=300, seed=0, lr=2e-3)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    with torch.no_grad():
        fake1 = gen(emb[1].expand(200, -1))
        fake2 = gen(emb[2].expand(200, -1))
    assert mmd(fake1, feats[1][:200]) < mmd(fake1, feats[2][:200])
    assert (fake2.mean(0) - feats[2].mean(0)).norm() < (fake2.mean(0) - feats[1].mean(0)).norm()
    graph_gen = GraphGMMN(16, 8)
    assert graph_gen(torch.stack([emb[1], emb[2]]), adj=torch.tensor([[0, 1], [1, 0]])).shape == (2, 8)
    assert graph_gen(emb[1][None]).shape == (1, 8)


def test_zs3net_needs_fit_unseen_for_a_new_class_and_keeps_it_in_the_checkpoint(tmp_path) -> None:
    model = _model("zs3net")
    feats = model.encode(torch.randn(1, 3, 64, 64))
    new = _emb(1, seed=9)
    with pytest.raises(UnfittedClassError, match="fit_unseen"):
        model.score(feats, new)
    seen = {0: torch.rand(50, 64), 1: torch.rand(50, 64) + 1, 2: torch.rand(50, 64) + 2, 3: torch.rand(50, 64) + 3}
    fit_unseen(model, ["new"], new, seen, {1: _emb(3)[0], 2: _emb(3)[1], 3: _emb(3)[2]}, steps=20,
               classifier_steps=20)
    assert model.score(feats, torch.cat([_emb(3), new])).shape == (1, 4, 16, 16)
    path = tmp_path / "m.pt"
    torch.save(model.state_dict(), path)
    fresh = _model("zs3net")
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert torch.allclose(fresh.eval().score(feats, new), model.score(feats, new))
