"""ZS3Net's generative moment matching network (GMMN) and its graph-context variant (ZS3Net + GC).

GMMN (ZS3Net paper, Sec. 3 and implementation details): input = [class embedding ; Gaussian noise of the same
dimension], one hidden layer of 256 units, leaky ReLU 0.2, dropout 0.5, output = a pixel feature; trained with the
maximum mean discrepancy under Gaussian kernels of bandwidths {2, 5, 10, 20, 40, 60} between generated and real
features of the same class; Adam 2e-4. ZS3's public code samples *uniform* noise and uses bandwidth 80 as well;
we follow the paper.

GC: the linear layers become graph convolutions over the adjacency graph of connected label segments (paper
Fig. 3): each node is a segment with its class embedding (+ noise); the generated node features are matched to
the real features of the segment's class. A class typed without context runs as a one-node graph (self loop).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch import nn
from torch.nn import functional as F

BANDWIDTHS = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0)


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidths=BANDWIDTHS) -> torch.Tensor:
    """Squared MMD between samples ``x`` [N, K] and ``y`` [M, K] with a sum of Gaussian kernels."""
    xx, yy, xy = torch.cdist(x, x) ** 2, torch.cdist(y, y) ** 2, torch.cdist(x, y) ** 2
    total = x.new_zeros(())
    for s in bandwidths:
        g = 1.0 / (2 * s**2)
        total = total + torch.exp(-g * xx).mean() + torch.exp(-g * yy).mean() - 2 * torch.exp(-g * xy).mean()
    return total


class GMMN(nn.Module):
    """Generator: ``(embedding [N, D], noise [N, D]) -> feature [N, K]``.

    Example:
        >>> g = GMMN(50, 64)
        >>> g(torch.randn(3, 50)).shape
        torch.Size([3, 64])
    """

    def __init__(self, embed_dim: int, feature_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.fc1 = nn.Linear(2 * embed_dim, hidden)
        self.fc2 = nn.Linear(hidden, feature_dim)
        self.drop = nn.Dropout(0.5)

    def forward(self, emb: torch.Tensor, noise: torch.Tensor | None = None, adj: torch.Tensor | None = None):
        noise = torch.randn_like(emb) if noise is None else noise
        h = self.drop(F.leaky_relu(self.fc1(torch.cat([emb, noise], dim=1)), 0.2))
        return F.relu(self.fc2(h))  # pixel features come after a ReLU in DeepLabv3+


class GraphGMMN(GMMN):
    """GMMN with graph convolutions: ``H' = Â H W`` (Â: symmetric-normalised adjacency with self loops)."""

    def forward(self, emb: torch.Tensor, noise: torch.Tensor | None = None, adj: torch.Tensor | None = None):
        noise = torch.randn_like(emb) if noise is None else noise
        a = normalised_adjacency(adj if adj is not None else torch.zeros(len(emb), len(emb)))
        h = self.drop(F.leaky_relu(a @ self.fc1(torch.cat([emb, noise], dim=1)), 0.2))
        return F.relu(a @ self.fc2(h))


def normalised_adjacency(adj: torch.Tensor) -> torch.Tensor:
    a = adj.float() + torch.eye(len(adj), device=adj.device)
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


def segment_graph(label: np.ndarray, ignore: int = 255, min_pixels: int = 1) -> tuple[list[int], np.ndarray]:
    """Connected segments of ``label`` and their adjacency (segments touching, 8-connected).

    Returns ``(classes of the nodes, adjacency [N, N] bool)``.

    Example:
        >>> segment_graph(np.array([[1, 1, 2], [0, 0, 2]]))[0]
        [0, 1, 2]
    """
    nodes: list[int] = []
    masks: list[np.ndarray] = []
    for cls in sorted(int(c) for c in np.unique(label) if c != ignore):
        comps, n = ndimage.label(label == cls)
        for i in range(1, n + 1):
            mask = comps == i
            if mask.sum() >= min_pixels:
                nodes.append(cls)
                masks.append(mask)
    adj = np.zeros((len(nodes), len(nodes)), bool)
    grown = [ndimage.binary_dilation(m, structure=np.ones((3, 3))) for m in masks]
    for i in range(len(nodes)):
        for j in range(i + 1, len(nodes)):
            if (grown[i] & masks[j]).any():
                adj[i, j] = adj[j, i] = True
    return nodes, adj


def train_generator(
    gen: GMMN,
    features: dict[int, torch.Tensor],
    embeddings: dict[int, torch.Tensor],
    *,
    steps: int,
    batch: int = 64,
    seed: int = 0,
    lr: float = 2e-4,
    graphs: list[tuple[list[int], np.ndarray]] | None = None,
) -> list[float]:
    """Fit ``gen`` so generated features of each class match the real ``features[class]`` (MMD). Returns losses.

    ``graphs`` (GC variant): segment graphs whose nodes are generated jointly; without them each class is a
    batch of independent one-node graphs.
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(gen.parameters(), lr=lr)
    classes = [c for c in features if len(features[c]) > 1 and c in embeddings]
    losses = []
    gen.train()
    for step in range(steps):
        loss = torch.zeros(())
        if graphs:
            nodes, adj = graphs[step % len(graphs)]
            emb = torch.stack([embeddings[c] for c in nodes])
            fake = gen(emb, torch.randn(emb.shape, generator=g), torch.as_tensor(adj))
            reps = max(1, batch // max(1, len(nodes)))
            fakes = [fake] + [gen(emb, torch.randn(emb.shape, generator=g), torch.as_tensor(adj))
                              for _ in range(reps - 1)]
            fake_all = torch.cat(fakes)
            node_cls = torch.tensor(nodes * reps)
            for c in set(nodes):
                if c in classes:
                    real = features[c][torch.randint(len(features[c]), (batch,), generator=g)]
                    loss = loss + mmd(fake_all[node_cls == c], real)
        else:
            for c in classes:
                emb = embeddings[c].expand(batch, -1)
                fake = gen(emb, torch.randn(emb.shape, generator=g))
                real = features[c][torch.randint(len(features[c]), (batch,), generator=g)]
                loss = loss + mmd(fake, real)
            loss = loss / max(1, len(classes))
        if loss.requires_grad:
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(float(loss))
    gen.eval()
    return losses
