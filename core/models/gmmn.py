"""ZS3Net's generative moment matching network (GMMN) and its graph-context variant (ZS3Net + GC).

GMMN (ZS3Net paper, Sec. 2.2 and 3.1): input = ``[class embedding a ; noise z ~ N(0, I)]`` with
``dim z = dim a``, one hidden layer of 256 units, leaky ReLU 0.2, dropout 0.5, output = a pixel feature of
dimension K (followed by a ReLU here, because DeepLabv3+ features come out of a ReLU); trained with the
maximum mean discrepancy under a sum of Gaussian kernels of bandwidths {2, 5, 10, 20, 40, 60} between
generated and real features of the same class; Adam, learning rate 2e-4. ZS3's public code samples *uniform*
noise and adds a bandwidth of 80; we follow the paper (Gaussian noise, six bandwidths).

GC (paper Fig. 3): the two linear layers become graph convolutions (:class:`GraphGMMN`) over the
adjacency graph of the connected label segments of an image (:func:`segment_graph`): each node carries its
class embedding (+ its own noise) and the generated node feature is matched to real pixel features of *that
segment* (:class:`SegmentGraph` ``features``; without them, to real features of the node's class). A class
typed without context runs as a one-node graph (the plain GMMN); so that this stays in the training
distribution, every ``isolated_every``-th training step uses one-node graphs. With training graphs at hand,
:func:`generate` can also place a new class into real layouts (a random node of a random graph takes its
embedding).
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from torch import nn
from torch.nn import functional as F

#: Gaussian kernel bandwidths of the paper's MMD loss.
BANDWIDTHS = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0)
_SQUARE = np.ones((3, 3), bool)  # 8-neighbourhood


def _sqdist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xy = x @ y.transpose(-1, -2)
    return (x.pow(2).sum(-1)[..., :, None] + y.pow(2).sum(-1)[..., None, :] - 2 * xy).clamp_min(0)


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float] = BANDWIDTHS) -> torch.Tensor:
    """Squared MMD (biased estimate) between samples ``x [..., N, K]`` and ``y [..., M, K]``.

    The kernel is the sum of ``exp(-|x - x'|^2 / (2 sigma^2))`` over the bandwidths sigma. Leading dimensions
    are batch dimensions.

    Example:
        >>> x = torch.randn(50, 4)
        >>> float(mmd(x, x)), mmd(torch.randn(3, 20, 4), torch.randn(3, 30, 4)).shape
        (0.0, torch.Size([3]))
    """
    g = torch.tensor([1.0 / (2 * s**2) for s in bandwidths], device=x.device, dtype=x.dtype)
    g = g.reshape(-1, *[1] * x.dim())

    def kernel_mean(d: torch.Tensor) -> torch.Tensor:
        return torch.exp(-g * d.unsqueeze(0)).mean(dim=(-1, -2)).sum(0)

    return kernel_mean(_sqdist(x, x)) + kernel_mean(_sqdist(y, y)) - 2 * kernel_mean(_sqdist(x, y))


class GMMN(nn.Module):
    """Generator ``(embedding [N, D], noise [N, D]) -> feature [N, K]`` (module docstring).

    Example:
        >>> g = GMMN(50, 64)
        >>> g(torch.randn(3, 50)).shape
        torch.Size([3, 64])
    """

    def __init__(self, embed_dim: int, feature_dim: int, hidden: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.feature_dim = feature_dim
        self.fc1 = nn.Linear(2 * embed_dim, hidden)
        self.fc2 = nn.Linear(hidden, feature_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, emb: torch.Tensor, noise: torch.Tensor | None = None,
                adj: torch.Tensor | None = None) -> torch.Tensor:
        """``adj`` is ignored (same signature as :class:`GraphGMMN`); ``noise`` defaults to N(0, I)."""
        x = torch.cat([emb, torch.randn_like(emb) if noise is None else noise], dim=1)
        h = self.drop(F.leaky_relu(self.fc1(x), 0.2))
        return F.relu(self.fc2(h))


class GraphGMMN(GMMN):
    """GMMN whose two layers are graph convolutions over a segment graph; ``adj`` None = isolated nodes.

    Each layer is ``H' = H W_self + mean_{neighbours}(H) W_nbr + b``: Kipf & Welling's graph convolution with
    the self connection given its own weight (as in GraphSAGE). With one shared weight and self loops, the two
    nodes of a two-segment image would get identical inputs and hence identical features. An isolated node
    (no neighbours) is exactly the plain GMMN with the self weights (``fc1``, ``fc2``).

    Example:
        >>> g = GraphGMMN(50, 64)
        >>> g(torch.randn(3, 50), adj=torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]])).shape
        torch.Size([3, 64])
    """

    def __init__(self, embed_dim: int, feature_dim: int, hidden: int = 256, dropout: float = 0.5) -> None:
        super().__init__(embed_dim, feature_dim, hidden, dropout)
        self.nbr1 = nn.Linear(2 * embed_dim, hidden, bias=False)
        self.nbr2 = nn.Linear(hidden, feature_dim, bias=False)

    def forward(self, emb: torch.Tensor, noise: torch.Tensor | None = None,
                adj: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.cat([emb, torch.randn_like(emb) if noise is None else noise], dim=1)
        if adj is None:  # one-node graphs
            return super().forward(emb, x[:, emb.shape[1]:])
        a = neighbour_mean(adj.to(emb.device))
        h = self.drop(F.leaky_relu(self.fc1(x) + self.nbr1(a @ x), 0.2))
        return F.relu(self.fc2(h) + self.nbr2(a @ h))


def neighbour_mean(adj: torch.Tensor) -> torch.Tensor:
    """``D^-1 A`` of a ``[N, N]`` adjacency (self loops dropped): row i averages node i's neighbours (zero
    for an isolated node)."""
    a = adj.float() * (1 - torch.eye(len(adj), device=adj.device))
    return a / a.sum(1, keepdim=True).clamp_min(1)


@dataclass
class SegmentGraph:
    """One image's segments (nodes) and which of them touch.

    Attributes:
        classes: the class of each node (a label value or any key of the embeddings mapping).
        adjacency: ``[N, N]`` bool, symmetric, no self loops.
        features: optionally, real pixel features ``[n_i, K]`` of each segment (the GC generator's targets).
    """

    classes: list
    adjacency: np.ndarray
    features: list[torch.Tensor] | None = None


def segment_graph(label: np.ndarray, ignore: int = 255, min_pixels: int = 1) -> tuple[list[int], np.ndarray]:
    """Connected segments of ``label`` (8-connected components per class) and which of them touch.

    Two segments are adjacent when one, dilated by a 3x3 square, overlaps the other: they share a boundary
    (diagonal contact included, the same neighbourhood as the components, so adjacent segments are always of
    different classes, as in the paper). ``ignore`` pixels belong to no segment and connect nothing. Nodes are
    ordered by class, then by component (raster order of their first pixel).

    Returns:
        ``(node classes, adjacency [N, N] bool)``.

    Example:
        >>> nodes, adj = segment_graph(np.array([[1, 1, 2], [0, 0, 2]]))
        >>> nodes, adj.astype(int).tolist()
        ([0, 1, 2], [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    """
    nodes, masks = _segments(label, ignore, min_pixels)
    return nodes, _adjacency(masks)


def _segments(label: np.ndarray, ignore: int, min_pixels: int) -> tuple[list[int], list[np.ndarray]]:
    nodes: list[int] = []
    masks: list[np.ndarray] = []
    for cls in sorted(int(c) for c in np.unique(label) if c != ignore):
        comps, n = ndimage.label(label == cls, structure=_SQUARE)
        for i in range(1, n + 1):
            mask = comps == i
            if mask.sum() >= min_pixels:
                nodes.append(cls)
                masks.append(mask)
    return nodes, masks


def _adjacency(masks: list[np.ndarray]) -> np.ndarray:
    adj = np.zeros((len(masks), len(masks)), bool)
    grown = [ndimage.binary_dilation(m, structure=_SQUARE) for m in masks]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            if (grown[i] & masks[j]).any():
                adj[i, j] = adj[j, i] = True
    return adj


def graphs_from_features(
    features: torch.Tensor,
    labels: torch.Tensor,
    *,
    allowed: Sequence[int],
    max_per_segment: int = 64,
    ignore_index: int = 255,
    seed: int = 0,
) -> list[SegmentGraph]:
    """Segment graphs with real features from ``features [B, K, h, w]`` and ``labels [B, H, W]``.

    Labels are downsampled (nearest) to the feature size.

    Only ``allowed`` label values become nodes (the caller passes seen classes: unseen pixels never become
    training data); each node keeps up to ``max_per_segment`` of its pixel features.

    Example:
        >>> labels = torch.tensor([[[1, 1, 2, 2]] * 4])
        >>> graphs = graphs_from_features(torch.rand(1, 8, 4, 4), labels, allowed=[1, 2])
        >>> graphs[0].classes, [f.shape for f in graphs[0].features]
        ([1, 2], [torch.Size([8, 8]), torch.Size([8, 8])])
    """
    lab = F.interpolate(labels[:, None].float(), size=features.shape[-2:], mode="nearest")[:, 0].long().cpu()
    lab[~torch.isin(lab, torch.tensor(list(allowed), dtype=torch.long))] = ignore_index
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for b in range(len(lab)):
        nodes, masks = _segments(lab[b].numpy(), ignore_index, 1)
        if not nodes:
            continue
        flat = features[b].detach().flatten(1).T.cpu()  # [h*w, K]
        feats = []
        for mask in masks:
            idx = torch.from_numpy(np.flatnonzero(mask))
            if len(idx) > max_per_segment:
                idx = idx[torch.randperm(len(idx), generator=g)[:max_per_segment]]
            feats.append(flat[idx])
        graphs.append(SegmentGraph(nodes, _adjacency(masks), feats))
    return graphs


def image_graphs(labels: torch.Tensor, feature_size: tuple[int, int], allowed: Sequence[int],
                 ignore_index: int = 255) -> list[tuple[list[int], np.ndarray]]:
    """Segment graphs without features of label maps ``[B, H, W]``, for the ``allowed`` classes but 0.

    Labels are downsampled (nearest) to ``feature_size``; background 0 has no embedding, so no node.

    Example:
        >>> image_graphs(torch.tensor([[[1, 1, 2, 2]] * 4]), (2, 2), allowed=[0, 1, 2])[0][0]
        [1, 2]
    """
    lab = F.interpolate(labels[:, None].float().cpu(), size=feature_size, mode="nearest")[:, 0].long().numpy()
    graphs = []
    for m in lab:
        m[~np.isin(m, [c for c in allowed if c != 0])] = ignore_index
        nodes, adj = segment_graph(m, ignore=ignore_index)
        if nodes:
            graphs.append((nodes, adj))
    return graphs


def _as_graph(graph: SegmentGraph | tuple, known: Container) -> SegmentGraph | None:
    """``graph`` without the nodes whose class is not ``known`` or whose real features are empty (or None)."""
    if not isinstance(graph, SegmentGraph):
        graph = SegmentGraph(list(graph[0]), np.asarray(graph[1]), graph[2] if len(graph) > 2 else None)
    keep = [i for i, c in enumerate(graph.classes)
            if c in known and (graph.features is None or len(graph.features[i]) > 0)]
    if not keep:
        return None
    feats = [graph.features[i] for i in keep] if graph.features is not None else None
    return SegmentGraph([graph.classes[i] for i in keep], graph.adjacency[np.ix_(keep, keep)], feats)


def _batch_graphs(graphs: list[SegmentGraph], pick: list[int]) -> tuple[list, torch.Tensor, list | None]:
    """Block-diagonal union of ``graphs[pick]``: (node classes, adjacency, node features or None)."""
    chosen = [graphs[i] for i in pick]
    classes = [c for gr in chosen for c in gr.classes]
    adj = torch.block_diag(*[torch.as_tensor(gr.adjacency, dtype=torch.float32) for gr in chosen])
    feats = None
    if all(gr.features is not None for gr in chosen):
        feats = [f for gr in chosen for f in gr.features]
    return classes, adj, feats


def train_generator(
    gen: GMMN,
    features: Mapping[Hashable, torch.Tensor],
    embeddings: Mapping[Hashable, torch.Tensor],
    *,
    steps: int,
    batch: int = 64,
    seed: int = 0,
    lr: float = 2e-4,
    graphs: Sequence[SegmentGraph | tuple] | None = None,
    isolated_every: int = 2,
) -> list[float]:
    """Fit ``gen`` so that its features of each class match the real ``features[class]`` in MMD.

    Args:
        gen: a :class:`GMMN` or :class:`GraphGMMN` (left in eval mode).
        features: class key -> real pixel features ``[N, K]`` (seen classes only, not background).
        embeddings: class key -> class embedding ``[D]``; classes without one are skipped.
        steps: optimisation steps (Adam, ``lr``; paper 2e-4).
        batch: generated (and real) samples per class per step; in graph steps, nodes per step.
        seed: seeds the sampling, the noise and dropout (the caller's global RNG state is left untouched).
        graphs: GC only: segment graphs (``SegmentGraph`` or ``(classes, adjacency)`` tuples); without real
            segment features a node is matched to features of its class.
        isolated_every: GC only: every n-th step uses one-node graphs (0: never).

    Returns:
        The loss of every step.

    Example:
        >>> feats = {"a": torch.rand(100, 8), "b": torch.rand(100, 8) + 2}
        >>> emb = {"a": torch.eye(4)[0], "b": torch.eye(4)[1]}
        >>> losses = train_generator(GMMN(4, 8), feats, emb, steps=5)
    """
    classes = [c for c in features if len(features[c]) > 0 and c in embeddings]
    if not classes:
        raise ValueError("train_generator needs real features of at least one class that has an embedding")
    device = next(gen.parameters()).device
    graph_list = []
    for x in graphs or []:
        gr = _as_graph(x, embeddings)
        if gr is not None and gr.features is None:  # matched to class features: the class needs some
            gr = _as_graph(gr, set(classes))
        if gr is not None:
            graph_list.append(gr)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(gen.parameters(), lr=lr)
    losses = []
    gen.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for step in range(steps):
            isolated = not graph_list or (isolated_every > 0 and step % isolated_every == isolated_every - 1)
            if isolated:
                loss = _pool_loss(gen, features, embeddings, classes, batch, g, device)
            else:
                loss = _graph_loss(gen, features, embeddings, graph_list, batch, g, device)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    gen.eval()
    return losses


def _sample(x: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    return x[torch.randint(len(x), (n,), generator=g)]


def _pool_loss(gen, features, embeddings, classes, batch, g, device) -> torch.Tensor:
    """Mean over classes of MMD(generated, real), ``batch`` one-node samples per class, one batched pass."""
    emb = torch.stack([embeddings[c] for c in classes]).to(device).float()  # [C, D]
    emb = emb[:, None].expand(-1, batch, -1).reshape(len(classes) * batch, -1)
    fake = gen(emb, torch.randn(emb.shape, generator=g).to(device)).reshape(len(classes), batch, -1)
    real = torch.stack([_sample(features[c], batch, g) for c in classes]).to(device).float()
    return mmd(fake, real).mean()


def _graph_loss(gen, features, embeddings, graphs, batch, g, device, replicas: int = 8) -> torch.Tensor:
    """Graphs drawn until ``batch`` generated nodes, each generated ``replicas`` times (fresh noise); per
    node, MMD between its generated features and real pixels of its own segment (so that the match is
    conditional on the context, not only on the class)."""
    pick, total = [], 0
    while total * replicas < batch and len(pick) < 64:
        pick.append(int(torch.randint(len(graphs), (1,), generator=g)))
        total += len(graphs[pick[-1]].classes)
    classes, adj, seg_feats = _batch_graphs(graphs, pick)
    n = len(classes)
    emb = torch.stack([embeddings[c] for c in classes]).to(device).float().repeat(replicas, 1)
    adj = torch.block_diag(*[adj] * replicas).to(device)
    fake = gen(emb, torch.randn(emb.shape, generator=g).to(device), adj).reshape(replicas, n, -1)
    pools = seg_feats if seg_feats is not None else [features[c] for c in classes]
    real = torch.stack([_sample(f, replicas, g) for f in pools]).to(device).float()  # [n, replicas, K]
    return mmd(fake.transpose(0, 1), real).mean()


@torch.no_grad()
def generate(
    gen: GMMN,
    embedding: torch.Tensor,
    n: int,
    *,
    seed: int = 0,
    graphs: Sequence[SegmentGraph | tuple] | None = None,
    embeddings: Mapping[Hashable, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``n`` generated features ``[n, K]`` of the class with ``embedding [D]`` (generator in eval mode).

    A :class:`GraphGMMN` given training ``graphs`` and the ``embeddings`` of their node classes generates the
    class in context: in each of ``n`` random graphs a random node takes the new class's embedding and its
    generated feature is kept. Otherwise (plain GMMN, or no context) one-node graphs.

    Example:
        >>> generate(GMMN(4, 8), torch.eye(4)[0], 10).shape
        torch.Size([10, 8])
    """
    device = next(gen.parameters()).device
    g = torch.Generator().manual_seed(seed)
    gen.eval()
    emb = embedding.to(device).float()
    context = [gr for gr in (_as_graph(x, embeddings or {}) for x in graphs or []) if gr is not None]
    if not isinstance(gen, GraphGMMN) or not context:
        return gen(emb.expand(n, -1), torch.randn(n, emb.shape[0], generator=g).to(device))
    out = []
    for start in range(0, n, 64):
        pick = torch.randint(len(context), (min(64, n - start),), generator=g).tolist()
        classes, adj, _ = _batch_graphs(context, pick)
        sizes = [len(context[i].classes) for i in pick]
        offsets = np.cumsum([0, *sizes[:-1]])
        within = [int(torch.randint(s, (1,), generator=g)) for s in sizes]
        target = torch.tensor([int(o) + w for o, w in zip(offsets, within, strict=True)])
        node_emb = torch.stack([embeddings[c] for c in classes]).to(device).float()
        node_emb[target] = emb
        noise = torch.randn(node_emb.shape, generator=g).to(device)
        out.append(gen(node_emb, noise, adj.to(device))[target.to(device)])
    return torch.cat(out)
