"""ZS3Net (Bucher et al., NeurIPS 2019): DeepLabv3+ trained on seen classes, a GMMN that generates features of
unseen classes from their embeddings, and the final 1x1 classifier retrained on real seen + generated unseen
features. ``zs3net-gc`` uses the graph-context generator. ZS5Net = ZS3Net + self-training (training.selftrain).

The classifier is a bank of rows, one per class, each tied to its class embedding: :meth:`ZS3Net.score` looks a
requested class up by its embedding (cosine > 0.9999). A class the user types later needs only
:func:`fit_unseen` — generator (trained once) + classifier refit, seconds on a CPU — never backbone training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from core.data.base import IGNORE_INDEX
from core.errors import ZerolabelError
from core.models.backbones import build_backbone
from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.deeplab import DeepLabV3Plus, head_width
from core.models.gmmn import GMMN, GraphGMMN, segment_graph, train_generator

MATCH = 0.9999


class UnfittedClassError(ZerolabelError):
    """A class has no classifier row yet."""


class ZS3Net(Segmenter):
    activation = "softmax"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if config.embed_dim <= 0:
            raise ValueError("ZS3Net needs class embeddings (embed_dim > 0)")
        backbone = build_backbone(config.backbone, pretrained=config.pretrained)
        self.head = DeepLabV3Plus(backbone, head_width(config.backbone, config.options))
        k, d = self.head.feature_dim, config.embed_dim
        self.bg_weight = nn.Parameter(torch.zeros(k))
        self.bg_bias = nn.Parameter(torch.zeros(()))
        # The bank: rows [N, K], biases [N], and the unit embedding of each row's class [N, D].
        self.weight = nn.Parameter(torch.zeros(0, k))
        self.bias = nn.Parameter(torch.zeros(0))
        self.register_buffer("class_embeddings", torch.zeros(0, d))
        self.register_buffer("generator_trained", torch.zeros((), dtype=torch.bool))
        gen_cls = GraphGMMN if config.method == "zs3net-gc" else GMMN
        self.generator = gen_cls(d, k)

    # -- bank ---------------------------------------------------------------------------------------
    def set_seen_classes(self, names: Sequence[str], embeddings: torch.Tensor) -> None:
        """Create trainable rows for the seen classes (stage 1: supervised training)."""
        self.seen_classes = list(names)
        k = self.head.feature_dim
        self.weight = nn.Parameter(torch.randn(len(names), k) * 0.01)
        self.bias = nn.Parameter(torch.zeros(len(names)))
        self.class_embeddings = embeddings.detach().clone().float()

    def set_bank(self, weight: torch.Tensor, bias: torch.Tensor, embeddings: torch.Tensor) -> None:
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = nn.Parameter(bias.detach().clone())
        self.class_embeddings = embeddings.detach().clone().float()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in ("weight", "bias"):
            if prefix + name in state_dict:
                setattr(self, name, nn.Parameter(torch.empty_like(state_dict[prefix + name])))
        if prefix + "class_embeddings" in state_dict:
            self.class_embeddings = torch.empty_like(state_dict[prefix + "class_embeddings"])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def rows_for(self, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Bank row index of each requested embedding; raises for a class with no row."""
        if len(class_embeddings) == 0:
            return torch.zeros(0, dtype=torch.long)
        if len(self.class_embeddings) == 0:
            raise UnfittedClassError("this model has no classifier rows yet; train it or call fit_unseen")
        sims = F.normalize(class_embeddings.float(), dim=1) @ F.normalize(self.class_embeddings, dim=1).T
        best, rows = sims.max(dim=1)
        missing = (best < MATCH).nonzero().flatten().tolist()
        if missing:
            raise UnfittedClassError(
                f"classes {missing} (by position) have no classifier in this ZS3Net model; call "
                "core.models.zs3net.fit_unseen with their names and embeddings (seconds on a CPU) first"
            )
        return rows

    # -- Segmenter ----------------------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> Features:
        return (self.head(images),)

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        rows = self.rows_for(class_embeddings)
        return torch.einsum("bkhw,ck->bchw", features[0], self.weight[rows]) + self.bias[rows][None, :, None, None]

    def background_score(self, features: Features) -> torch.Tensor:
        return torch.einsum("bkhw,k->bhw", features[0], self.bg_weight)[:, None] + self.bg_bias


@torch.no_grad()
def collect_features(
    model: ZS3Net,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    allowed: Sequence[int],
    max_per_class: int = 2000,
    seed: int = 0,
) -> dict[int, torch.Tensor]:
    """Real pixel features per label value (labels downsampled nearest to the feature size), ``allowed`` only.

    The caller passes only seen classes (+ background) in ``allowed``: unseen pixels never become training data.
    """
    feats = model.encode(images)[0]
    lab = F.interpolate(labels[:, None].float(), size=feats.shape[-2:], mode="nearest")[:, 0].long()
    flat = feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1])
    lab = lab.flatten()
    g = torch.Generator().manual_seed(seed)
    out = {}
    for c in allowed:
        idx = (lab == c).nonzero().flatten()
        if len(idx) > max_per_class:
            idx = idx[torch.randperm(len(idx), generator=g)[:max_per_class]]
        if len(idx):
            out[int(c)] = flat[idx]
    return out


def fit_unseen(
    model: ZS3Net,
    names: Sequence[str],
    embeddings: torch.Tensor,
    seen_features: dict[int, torch.Tensor],
    seen_embeddings: dict[int, torch.Tensor],
    *,
    steps: int = 400,
    classifier_steps: int = 300,
    per_class: int = 500,
    seed: int = 0,
    graphs: list | None = None,
    retrain_generator: bool = False,
) -> None:
    """Make ``names`` scorable: train the generator (once) on real seen features, then refit the classifier on
    real seen features (+ background, key 0) and generated features of ``names``.

    Args:
        seen_features: label value -> real features ``[N, K]``; key 0 is background.
        seen_embeddings: label value -> unit embedding of that seen class (background excluded).
    """
    torch.manual_seed(seed)
    if retrain_generator or not bool(model.generator_trained):
        train_generator(model.generator, {c: f for c, f in seen_features.items() if c != 0}, seen_embeddings,
                        steps=steps, seed=seed, graphs=graphs)
        model.generator_trained = torch.ones((), dtype=torch.bool)
    model.generator.eval()
    with torch.no_grad():
        fake = [model.generator(e.expand(per_class, -1).float(), torch.randn(per_class, e.shape[0]))
                for e in embeddings]
    seen_keys = list(seen_embeddings)  # every seen class keeps a row, with or without sampled features
    xs = [seen_features[0]] + [seen_features.get(c, seen_features[0][:0]) for c in seen_keys] + fake
    ys = [torch.full((len(x),), i, dtype=torch.long) for i, x in enumerate(xs)]
    x, y = torch.cat(xs), torch.cat(ys)
    clf = nn.Linear(x.shape[1], len(xs))
    with torch.no_grad():  # warm start from the current rows where they exist
        clf.weight[0], clf.bias[0] = model.bg_weight, model.bg_bias
        if len(model.class_embeddings):
            known = torch.stack([seen_embeddings[c] for c in seen_keys]).float()
            sims = F.normalize(known, dim=1) @ F.normalize(model.class_embeddings, dim=1).T
            best, rows = sims.max(dim=1)
            for i, (b, r) in enumerate(zip(best.tolist(), rows.tolist(), strict=True)):
                if b >= MATCH:
                    clf.weight[1 + i], clf.bias[1 + i] = model.weight[r], model.bias[r]
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    counts = torch.bincount(y, minlength=len(xs)).float()
    weights = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))  # balance classes
    for _ in range(classifier_steps):
        loss = F.cross_entropy(clf(x), y, weight=weights / weights.mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
    emb = torch.cat([torch.stack([seen_embeddings[c] for c in seen_keys]).float(), embeddings.float()])
    with torch.no_grad():
        model.bg_weight.copy_(clf.weight[0])
        model.bg_bias.copy_(clf.bias[0])
    model.set_bank(clf.weight[1:], clf.bias[1:], emb)


def image_graphs(labels: torch.Tensor, feature_size: tuple[int, int], allowed: Sequence[int]) -> list:
    """Segment graphs (GC generator training) of label maps at the feature size, ``allowed`` classes only."""
    lab = F.interpolate(labels[:, None].float(), size=feature_size, mode="nearest")[:, 0].long().numpy()
    graphs = []
    for m in lab:
        m = m.copy()
        m[~torch.isin(torch.from_numpy(m), torch.tensor(list(allowed))).numpy()] = IGNORE_INDEX
        nodes, adj = segment_graph(m)
        nodes_keep = [i for i, c in enumerate(nodes) if c != 0]
        if nodes_keep:
            graphs.append(([nodes[i] for i in nodes_keep], adj[nodes_keep][:, nodes_keep]))
    return graphs


@register_model("zs3net")
def build_zs3net(config: ModelConfig) -> Segmenter:
    return ZS3Net(config)


@register_model("zs3net-gc")
def build_zs3net_gc(config: ModelConfig) -> Segmenter:
    return ZS3Net(config)
