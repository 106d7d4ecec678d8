"""ZS3Net's feature generators: MMD, the paper's GMMN, segment graphs, the graph-context (GC) generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from core.models.gmmn import (
    BANDWIDTHS,
    GMMN,
    GraphGMMN,
    SegmentGraph,
    generate,
    graphs_from_features,
    image_graphs,
    mmd,
    neighbour_mean,
    segment_graph,
    train_generator,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: intra-op threads only add waiting on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _unit(d: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(d, generator=torch.Generator().manual_seed(seed)), dim=0)


def _gaussian(n: int, mean: torch.Tensor, std: float, seed: int) -> torch.Tensor:
    return mean + std * torch.randn(n, len(mean), generator=torch.Generator().manual_seed(seed))


def test_mmd_is_zero_on_identical_samples_symmetric_and_batched() -> None:
    x, y = _gaussian(40, torch.zeros(6), 1.0, 0), _gaussian(30, torch.full((6,), 3.0), 1.0, 1)
    assert float(mmd(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(mmd(x, y)) == pytest.approx(float(mmd(y, x)), rel=1e-5)
    near = _gaussian(30, torch.zeros(6), 1.0, 2)
    assert mmd(x, near) < 0.2 * mmd(x, y)
    batched = mmd(torch.stack([x, x]), torch.stack([near, y]))
    assert torch.allclose(batched, torch.stack([mmd(x, near), mmd(x, y)]), atol=1e-6)
    # the paper's kernel: a sum of Gaussians with bandwidths {2, 5, 10, 20, 40, 60}
    a, b = torch.zeros(1, 2), torch.tensor([[3.0, 4.0]])  # squared distance 25
    expected = sum(2 - 2 * np.exp(-25 / (2 * s**2)) for s in (2, 5, 10, 20, 40, 60))
    assert BANDWIDTHS == (2.0, 5.0, 10.0, 20.0, 40.0, 60.0)
    assert float(mmd(a, b)) == pytest.approx(expected, rel=1e-5)


def test_gmmn_architecture_follows_the_paper() -> None:
    gen = GMMN(50, 64)
    assert gen.fc1.in_features == 100  # [embedding ; noise of the same dimension]
    assert gen.fc1.out_features == 256 and gen.fc2.out_features == 64  # one hidden layer of 256 units
    assert gen.drop.p == 0.5
    emb, noise = _unit(50, 0).expand(4, -1), torch.randn(4, 50)
    gen.eval()
    assert torch.equal(gen(emb, noise), gen(emb, noise))  # dropout off in eval
    assert (gen(emb, noise) >= 0).all()  # DeepLab features come out of a ReLU
    gen.train()
    torch.manual_seed(0)
    assert not torch.equal(gen(emb, noise), gen(emb, noise))  # dropout on in training
    h = gen.fc1(torch.cat([emb, noise], 1))
    assert torch.allclose(F.leaky_relu(h, 0.2), torch.where(h > 0, h, 0.2 * h))


def test_gmmn_learns_two_gaussian_classes() -> None:
    feats = {"a": _gaussian(400, torch.full((8,), 3.0), 0.3, 0),
             "b": _gaussian(400, torch.tensor([0.5] * 4 + [4.0] * 4), 0.3, 1)}
    emb = {"a": _unit(16, 1), "b": _unit(16, 2)}
    gen = GMMN(16, 8)
    with torch.no_grad():
        before = {c: generate(gen, emb[c], 300, seed=5).mean(0) for c in emb}
    state = torch.get_rng_state()
    losses = train_generator(gen, feats, emb, steps=300, seed=0, lr=2e-3)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's RNG is left alone
    assert np.mean(losses[-20:]) < 0.1 * np.mean(losses[:20])
    after = {c: generate(gen, emb[c], 300, seed=5) for c in emb}
    for c, other in (("a", "b"), ("b", "a")):
        real, wrong = feats[c].mean(0), feats[other].mean(0)
        moved = (after[c].mean(0) - real).norm()
        assert moved < 0.1 * (before[c] - real).norm()
        assert moved < 0.1 * (after[c].mean(0) - wrong).norm()
        assert mmd(after[c], feats[c][:300]) < 0.05 * mmd(after[c], feats[other][:300])
    with pytest.raises(ValueError, match="at least one class"):
        train_generator(gen, feats, {}, steps=1)


def test_training_is_reproducible_with_a_seed() -> None:
    feats = {1: _gaussian(50, torch.ones(4), 0.3, 0)}
    emb = {1: _unit(4, 0)}
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        gen = GMMN(4, 4)
        runs.append(train_generator(gen, feats, emb, steps=5, seed=3))
    assert runs[0] == runs[1]


def test_segment_graph_on_a_hand_drawn_map() -> None:
    label = np.array([
        [1, 1, 0, 0, 2, 2],
        [1, 1, 0, 0, 2, 2],
        [0, 0, 0, 3, 3, 0],
        [4, 4, 255, 3, 3, 0],
        [4, 4, 255, 0, 0, 1],
    ])
    nodes, adj = segment_graph(label)
    # 0: the big region (A) and the right/bottom strip (B, one 8-connected piece); 1: top-left (D) and the
    # single pixel bottom-right (E); 2: F; 3: G; 4: H.
    assert nodes == [0, 0, 1, 1, 2, 3, 4]
    a, b, d, e, f, g, h = range(7)
    expected = {(a, d), (a, f), (a, g), (a, h), (b, e), (b, f), (b, g), (e, g), (f, g)}
    got = {(i, j) for i in range(7) for j in range(i + 1, 7) if adj[i, j]}
    assert got == expected
    assert adj.dtype == bool and (adj == adj.T).all() and not adj.diagonal().any()
    # ignore pixels are no node and do not connect the segments on either side
    nodes, adj = segment_graph(np.array([[1, 255, 2]]))
    assert nodes == [1, 2] and not adj.any()
    nodes, adj = segment_graph(np.full((2, 2), 255))
    assert nodes == [] and adj.shape == (0, 0)


def test_graphs_from_features_keep_each_segments_own_pixels() -> None:
    labels = torch.tensor([[[1, 1, 5, 2], [1, 1, 5, 2], [3, 3, 3, 3], [3, 3, 3, 3]]])
    features = labels[:, None].float().repeat(1, 4, 1, 1) * torch.arange(1, 5.0)[None, :, None, None]
    graphs = graphs_from_features(features, labels, allowed=[1, 2, 3], max_per_segment=3)
    (graph,) = graphs
    assert graph.classes == [1, 2, 3]  # 5 is not allowed (an unseen class): no node, no pixel
    assert graph.adjacency.astype(int).tolist() == [[0, 0, 1], [0, 0, 1], [1, 1, 0]]
    for cls, f in zip(graph.classes, graph.features, strict=True):
        assert len(f) == min(3, int((labels == cls).sum()))
        assert torch.equal(f, cls * torch.arange(1, 5.0).expand(len(f), -1))
    lab = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]]])
    assert image_graphs(lab, (2, 2), allowed=[0, 1, 2])[0][0] == [1, 2]  # no background node


def test_graph_generator_on_multi_and_single_node_graphs() -> None:
    torch.manual_seed(0)
    gen = GraphGMMN(8, 16).eval()
    emb = torch.stack([_unit(8, i) for i in range(3)])
    noise = torch.randn(3, 8)
    chain = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    out = gen(emb, noise, chain)
    assert out.shape == (3, 16) and (out >= 0).all()
    # a single node (self loop only) is exactly the plain GMMN with the same weights
    plain = GMMN(8, 16).eval()
    plain.load_state_dict({k: v for k, v in gen.state_dict().items() if not k.startswith("nbr")})
    assert torch.allclose(gen(emb[:1], noise[:1], torch.zeros(1, 1)), plain(emb[:1], noise[:1]), atol=1e-6)
    assert torch.allclose(gen(emb, noise), plain(emb, noise), atol=1e-6)  # adj None: isolated nodes
    # context matters: a neighbour's class changes node 0's feature, a non-neighbour's does not
    path = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    emb4, noise4 = torch.stack([_unit(8, i) for i in range(4)]), torch.randn(4, 8)
    out4 = gen(emb4, noise4, path)
    for node, seed in ((3, 9), (2, 10)):  # three hops away: no effect (two layers); two hops: an effect
        changed = emb4.clone()
        changed[node] = _unit(8, seed)
        same = torch.allclose(gen(changed, noise4, path)[0], out4[0], atol=1e-6)
        assert same == (node == 3)
    # a two-segment image: the two nodes get different features (a shared-weight GCN would average them)
    pair = gen(emb[:2], noise[:2], torch.tensor([[0, 1], [1, 0]]))
    assert not torch.allclose(pair[0], pair[1], atol=1e-3)
    assert torch.allclose(neighbour_mean(chain)[1], torch.tensor([0.5, 0.0, 0.5]))
    assert torch.equal(neighbour_mean(torch.zeros(2, 2)), torch.zeros(2, 2))


def test_graph_generator_learns_context_dependent_features() -> None:
    """Class 1 looks different next to class 2 than next to class 3; GC generates the right one in context."""
    k = 6
    near2, near3 = torch.full((k,), 1.0), torch.full((k,), 5.0)
    graphs = []
    for i in range(20):
        edge = np.array([[0, 1], [1, 0]], bool)
        other2 = _gaussian(16, torch.full((k,), 3.0), 0.2, 50 + i)
        other3 = _gaussian(16, torch.zeros(k), 0.2, i)
        graphs.append(SegmentGraph([1, 2], edge, [_gaussian(16, near2, 0.2, 100 + i), other2]))
        graphs.append(SegmentGraph([1, 3], edge, [_gaussian(16, near3, 0.2, 150 + i), other3]))
    pooled = {c: torch.cat([f for gr in graphs for cc, f in zip(gr.classes, gr.features, strict=True)
                            if cc == c]) for c in (1, 2, 3)}
    emb = {c: _unit(8, c) for c in (1, 2, 3)}
    torch.manual_seed(0)
    gen = GraphGMMN(8, k)
    losses = train_generator(gen, pooled, emb, steps=400, batch=32, seed=0, lr=2e-3, graphs=graphs)
    assert np.mean(losses[-40:]) < 0.5 * np.mean(losses[:40])
    pair = torch.tensor([[0, 1], [1, 0]])
    with torch.no_grad():
        next_to_2 = torch.stack([gen(torch.stack([emb[1], emb[2]]), adj=pair)[0] for _ in range(100)]).mean(0)
        next_to_3 = torch.stack([gen(torch.stack([emb[1], emb[3]]), adj=pair)[0] for _ in range(100)]).mean(0)
        alone = generate(gen, emb[1], 200).mean(0)  # one-node graphs: between the two, like the pooled class
    assert (next_to_2 - near2).norm() < 0.2 * (next_to_2 - near3).norm()
    assert (next_to_3 - near3).norm() < 0.2 * (next_to_3 - near2).norm()
    assert (alone - pooled[1].mean(0)).norm() < 0.5 * (near3 - near2).norm()
    in_context = generate(gen, emb[1], 50, graphs=graphs, embeddings=emb, seed=1)
    assert in_context.shape == (50, k) and torch.isfinite(in_context).all()


def test_generator_places_a_held_out_class_nearer_its_own_features_than_any_other() -> None:
    """The paper's check of the generator, on classes it never saw: features relu(A a_c + noise) of 10 classes,
    trained on 8 with ZS3Net's default settings; the 2 held out are generated from their embeddings alone."""
    from core.models.zs3fit import GENERATOR_LR, GENERATOR_STEPS

    g = torch.Generator().manual_seed(1)
    emb = F.normalize(torch.randn(10, 16, generator=g), dim=1)
    lift = torch.randn(32, 16, generator=g) * 1.5
    feats = {c: F.relu(emb[c] @ lift.T + 0.5 * torch.randn(300, 32, generator=g)) for c in range(10)}
    torch.manual_seed(0)
    gen = GMMN(16, 32)
    train_generator(gen, {c: feats[c] for c in range(8)}, dict(enumerate(emb)), steps=GENERATOR_STEPS,
                    lr=GENERATOR_LR)
    for c in (8, 9):
        fake = generate(gen, emb[c], 300, seed=c)
        wrong = min(float(mmd(fake, feats[o])) for o in range(10) if o != c)
        assert float(mmd(fake, feats[c])) < wrong  # at lr 2e-4 (400 steps): above it
        means = torch.stack([feats[o].mean(0) for o in range(10)])
        assert (torch.cdist(fake, means).argmin(1) == c).float().mean() > 0.8  # nearest class mean; 2e-4: 0.24, 0.01
