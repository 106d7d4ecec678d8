"""ZS3Net (Bucher et al., NeurIPS 2019): DeepLabv3+ trained on seen classes, a GMMN that generates pixel
features of unseen classes from their embeddings, and the final 1x1 classifier refitted on real seen +
generated unseen features. ``zs3net-gc`` uses the graph-context generator (:mod:`core.models.gmmn`).
ZS5Net = ZS3Net + self-training (``training.selftrain``).

The classifier is a *bank* of rows (``weight [N, K]``, ``bias [N]``), each tied to its class by the class's
unit embedding (``class_embeddings [N, D]``) and name (:attr:`ZS3Net.class_names`). :meth:`ZS3Net.score`
looks each requested class up by embedding (cosine > 0.9999) and raises :class:`UnfittedClassError` for a
class without a row. Background has its own row (``bg_weight``, ``bg_bias``; ``background_score``).

Life of a model: (1) stage 1 (``training``): :meth:`ZS3Net.set_seen_classes` creates trainable seen rows and
the network is trained with cross-entropy over background + seen classes; (2) stage 2 (:func:`fit_unseen`):
the generator is trained once on real seen features, the classifier refitted, and a sample of real seen
features stays in the model; (3) in the app, a class typed later needs only
``fit_unseen(model, [name], embedding)``: generation + refit, seconds on a CPU, never backbone training.
Classes fitted earlier keep their rows (they are regenerated and refitted with the new ones).

Everything is in the state dict (bank, names as UTF-8 bytes, real-feature sample, generator): checkpoints
save and restore fitted classes and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from core.errors import ZerolabelError
from core.models import gmmn
from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.deeplab import embedding_head
from core.models.gmmn import SegmentGraph, image_graphs

__all__ = ["MATCH", "UnfittedClassError", "ZS3Net", "collect_features", "collect_graphs", "fit_unseen",
           "image_graphs"]

#: Cosine above which a requested class embedding is the class of a bank row.
MATCH = 0.9999
_SEP = "\x1f"  # separates the row names in the ``bank_names`` byte buffer
#: Tensors whose size is set by the classes fitted, resized on load.
_DYNAMIC = ("weight", "bias", "class_embeddings", "bank_names", "reservoir_features", "reservoir_labels",
            "reservoir_embeddings")


class UnfittedClassError(ZerolabelError):
    """Some requested classes have no classifier row; ``positions`` says which (0-based, in request order)."""

    def __init__(self, positions: list[int], count: int, known: list[str]) -> None:
        self.positions = positions
        shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") if known else "no class yet"
        super().__init__(
            f"classes at positions {positions} of the {count} requested have no classifier row in this "
            f"ZS3Net model (it knows: {shown}); call core.models.zs3net.fit_unseen(model, names, "
            "embeddings) with their names and embeddings first (seconds on a CPU, no network retraining)"
        )


class ZS3Net(Segmenter):
    """DeepLabv3+ features scored by a bank of 1x1 classifier rows looked up by class embedding.

    Example:
        >>> from core.models import build_model
        >>> model = build_model(ModelConfig("zs3net", "tiny", embed_dim=50, image_size=64))
        >>> seen = F.normalize(torch.randn(2, 50), dim=1)
        >>> model.set_seen_classes(["cat", "dog"], seen)
        >>> model.score(model.encode(torch.zeros(1, 3, 64, 64)), seen).shape
        torch.Size([1, 2, 16, 16])
    """

    activation = "softmax"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.head = embedding_head(config)
        k, d = self.head.feature_dim, config.embed_dim
        self.bg_weight = nn.Parameter(torch.zeros(k))
        self.bg_bias = nn.Parameter(torch.zeros(()))
        self.weight = nn.Parameter(torch.zeros(0, k))
        self.bias = nn.Parameter(torch.zeros(0))
        self.register_buffer("class_embeddings", torch.zeros(0, d))
        self.register_buffer("bank_names", torch.zeros(0, dtype=torch.uint8))
        # Real seen features kept for later refits: label 0 = background, i >= 1 = reservoir_embeddings[i-1].
        self.register_buffer("reservoir_features", torch.zeros(0, k))
        self.register_buffer("reservoir_labels", torch.zeros(0, dtype=torch.long))
        self.register_buffer("reservoir_embeddings", torch.zeros(0, d))
        self.register_buffer("generator_trained", torch.zeros((), dtype=torch.bool))
        gen_cls = gmmn.GraphGMMN if config.method == "zs3net-gc" else gmmn.GMMN
        self.generator = gen_cls(d, k)

    # -- the bank ---------------------------------------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        """Name of each bank row (``row i`` where none was given)."""
        text = bytes(self.bank_names.cpu().tolist()).decode("utf-8")
        names = text.split(_SEP) if text else []
        return names if len(names) == len(self.weight) else [f"row {i}" for i in range(len(self.weight))]

    def set_seen_classes(self, names: Sequence[str], embeddings: torch.Tensor) -> None:
        """Create fresh trainable rows for the seen classes (stage 1) and set ``seen_classes``.

        Example:
            >>> model.set_seen_classes(["cat", "dog"], torch.eye(50)[:2])  # doctest: +SKIP
        """
        if len(names) != len(embeddings):
            raise ValueError(f"{len(names)} seen class names but {len(embeddings)} embeddings")
        self.seen_classes = list(names)
        weight = torch.randn(len(names), self.head.feature_dim) * 0.01
        self.set_bank(weight, torch.zeros(len(names)), embeddings, names)

    def set_bank(self, weight: torch.Tensor, bias: torch.Tensor, embeddings: torch.Tensor,
                 names: Sequence[str] | None = None) -> None:
        """Replace the classifier bank (rows become new trainable parameters on the model's device)."""
        device = self.bg_weight.device
        self.weight = nn.Parameter(weight.detach().clone().float().to(device))
        self.bias = nn.Parameter(bias.detach().clone().float().to(device))
        self.class_embeddings = F.normalize(embeddings.detach().float(), dim=1).to(device)
        encoded = _SEP.join(names).encode("utf-8") if names is not None else b""
        self.bank_names = torch.tensor(list(encoded), dtype=torch.uint8, device=device)

    def match_rows(self, class_embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(row, matched)`` of each requested embedding: its nearest row, and whether cosine > MATCH."""
        return _nearest(class_embeddings, self.class_embeddings)

    def rows_for(self, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Bank row of each requested embedding.

        Raises:
            UnfittedClassError: some classes have no row (call :func:`fit_unseen`).
        """
        rows, matched = self.match_rows(class_embeddings)
        if not bool(matched.all()):
            missing = (~matched).nonzero().flatten().tolist()
            raise UnfittedClassError(missing, len(class_embeddings), self.class_names)
        return rows

    def missing_classes(self, names: Sequence[str], class_embeddings: torch.Tensor) -> list[str]:
        """The ``names`` whose embeddings have no row yet: what the app passes to :func:`fit_unseen`."""
        _, matched = self.match_rows(class_embeddings)
        return [n for n, ok in zip(names, matched.tolist(), strict=True) if not ok]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Resize the bank and the feature sample to the checkpoint's (older files lack names / sample)."""
        for name in _DYNAMIC:
            current = getattr(self, name)
            shape = state_dict.setdefault(prefix + name, current.new_zeros((0, *current.shape[1:]))).shape
            new = torch.empty(shape, dtype=current.dtype, device=current.device)
            setattr(self, name, nn.Parameter(new) if isinstance(current, nn.Parameter) else new)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- Segmenter ----------------------------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> Features:
        """ImageNet-normalised ``[B, 3, H, W]`` -> ``(DeepLabv3+ features [B, K, H/4, W/4],)``."""
        return (self.head(images),)

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        """The bank rows of the requested classes applied as a 1x1 convolution: logits ``[B, C, h, w]``."""
        rows = self.rows_for(class_embeddings).to(self.weight.device)
        logits = torch.einsum("bkhw,ck->bchw", features[0], self.weight[rows])
        return logits + self.bias[rows][None, :, None, None]

    def background_score(self, features: Features) -> torch.Tensor:
        """The background row's logit ``[B, 1, h, w]``."""
        return torch.einsum("bkhw,k->bhw", features[0], self.bg_weight)[:, None] + self.bg_bias


# -- data for the generator and the refit -------------------------------------------------------------------
def _labels_at(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:  # nearest, as the paper
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()


@torch.no_grad()
def collect_features(
    model: ZS3Net,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    allowed: Sequence[int],
    max_per_class: int = 2000,
    ignore_index: int = 255,
    seed: int = 0,
) -> dict[int, torch.Tensor]:
    """Real pixel features per label value, at the feature resolution (labels downsampled nearest).

    The caller passes background (0) and the seen classes in ``allowed``: unseen pixels never become training
    data. ``ignore_index`` pixels are never taken.

    Example:
        >>> feats = collect_features(model, images, labels, allowed=[0, 1, 2])  # doctest: +SKIP
    """
    feats = model.encode(images)[0]
    lab = _labels_at(labels, feats.shape[-2:]).flatten()
    flat = feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1])
    g = torch.Generator().manual_seed(seed)
    out = {}
    for c in allowed:
        if c == ignore_index:
            continue
        idx = (lab == c).nonzero().flatten().cpu()
        if len(idx) > max_per_class:
            idx = idx[torch.randperm(len(idx), generator=g)[:max_per_class]]
        if len(idx):
            out[int(c)] = flat[idx.to(flat.device)]
    return out


@torch.no_grad()
def collect_graphs(model: ZS3Net, images: torch.Tensor, labels: torch.Tensor, *, allowed: Sequence[int],
                   max_per_segment: int = 64, seed: int = 0) -> list[SegmentGraph]:
    """GC generator data: segment graphs of ``labels`` with each segment's real features (``allowed`` only).

    Background nodes are kept out by passing ``allowed`` without 0 (background has no class embedding).

    Example:
        >>> graphs = collect_graphs(model, images, labels, allowed=[1, 2, 3])  # doctest: +SKIP
        >>> fit_unseen(model, names, emb, feats, seen_emb, graphs=graphs)  # doctest: +SKIP
    """
    return gmmn.graphs_from_features(model.encode(images)[0], labels, allowed=allowed,
                                max_per_segment=max_per_segment, seed=seed)


# -- stage 2 ------------------------------------------------------------------------------------------------
def fit_unseen(
    model: ZS3Net,
    names: Sequence[str],
    embeddings: torch.Tensor,
    seen_features: Mapping[int, torch.Tensor] | None = None,
    seen_embeddings: Mapping[int, torch.Tensor] | None = None,
    *,
    steps: int = 400,
    classifier_steps: int = 300,
    per_class: int = 500,
    seed: int = 0,
    graphs: Sequence[SegmentGraph | tuple] | None = None,
    retrain_generator: bool = False,
    keep_per_class: int = 256,
    generator_lr: float = 2e-4,
) -> None:
    """Make ``names`` scorable: train the generator (once), generate their features, refit the classifier.

    The refit uses real seen features (+ background) and generated features of ``names`` and of every
    class fitted before (their rows are kept, refitted together), class-balanced cross-entropy,
    warm-started from the current rows. Names that are seen classes are refitted on their real features.

    Args:
        model: a ``zs3net`` / ``zs3net-gc`` model.
        names: the new classes' names; embeddings: their unit embeddings ``[U, D]``.
        seen_features: label value -> real features ``[N, K]`` (:func:`collect_features`); key 0 is
            background. None: use the sample the model kept from an earlier call.
        seen_embeddings: label value -> embedding ``[D]`` of each seen class (not background); needed with
            ``seen_features``.
        steps: generator training steps, Adam with ``generator_lr`` (paper: 2e-4); only when the generator
            is not trained yet, or with ``retrain_generator``.
        classifier_steps: full-batch Adam steps of the refit.
        per_class: generated features per unseen class.
        graphs: ``zs3net-gc``: segment graphs (classes keyed as in ``seen_embeddings``) to train the
            generator on and to generate new classes in context.
        keep_per_class: real features per seen class the model keeps for later calls.

    Raises:
        ValueError: no seen features given and none kept; a seen label without an embedding.

    Example:
        >>> feats = collect_features(model, images, labels, allowed=[0, 1, 2])  # doctest: +SKIP
        >>> fit_unseen(model, ["zebra"], enc.embed(["zebra"]), feats, {1: cat, 2: dog})  # doctest: +SKIP
        >>> fit_unseen(model, ["giraffe"], enc.embed(["giraffe"]))  # later, in the app  # doctest: +SKIP
    """
    device = model.bg_weight.device
    if len(names) != len(embeddings):
        raise ValueError(f"{len(names)} class names but {len(embeddings)} embeddings")
    if seen_features is None:
        seen_features, seen_embeddings = _kept_sample(model)
    elif seen_embeddings is None:
        raise ValueError("fit_unseen: pass seen_embeddings (label -> class embedding) with seen_features")
    unknown = sorted(c for c in seen_features if c != 0 and c not in seen_embeddings)
    if unknown:
        raise ValueError(f"fit_unseen: seen_features has labels {unknown} that seen_embeddings lacks")
    seen_keys = list(seen_embeddings)
    seen_emb = F.normalize(torch.stack([seen_embeddings[c] for c in seen_keys]).float().to(device), dim=1)
    _keep_sample(model, seen_features, seen_keys, seen_emb, keep_per_class, seed)
    real = {c: f.to(device).float() for c, f in seen_features.items()}
    context = dict(zip(seen_keys, seen_emb, strict=True))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if retrain_generator or not bool(model.generator_trained):
            gmmn.train_generator(model.generator, {c: f for c, f in real.items() if c != 0}, context,
                            steps=steps, seed=seed, graphs=graphs, lr=generator_lr)
            model.generator_trained.fill_(True)
        new_names, new_emb = _unseen_classes(model, names, embeddings.float().to(device), seen_emb)
        fake = [gmmn.generate(model.generator, e, per_class, seed=seed + i, graphs=graphs, embeddings=context)
                for i, e in enumerate(new_emb)]
        xs = [real.get(0, seen_emb.new_zeros(0, model.head.feature_dim))]
        xs += [real.get(c, xs[0][:0]) for c in seen_keys] + fake
        all_emb = torch.cat([seen_emb, new_emb.reshape(-1, seen_emb.shape[1])])
        weight, bias = _refit(model, xs, all_emb, classifier_steps)
    old_names = model.class_names
    rows, matched = model.match_rows(seen_emb)
    seen_names = [old_names[r] if ok else f"class {c}"
                  for c, r, ok in zip(seen_keys, rows.tolist(), matched.tolist(), strict=True)]
    with torch.no_grad():
        model.bg_weight.copy_(weight[0])
        model.bg_bias.copy_(bias[0])
    model.set_bank(weight[1:], bias[1:], all_emb, seen_names + new_names)


def _unseen_classes(model: ZS3Net, names: Sequence[str], embeddings: torch.Tensor,
                    seen_emb: torch.Tensor) -> tuple[list[str], torch.Tensor]:
    """Requested classes + classes fitted before, minus seen classes and duplicates (by embedding)."""
    old_rows = [i for i, ok in enumerate(~_nearest(model.class_embeddings, seen_emb)[1]) if ok]
    cand_names = list(names) + [model.class_names[i] for i in old_rows]
    cand = torch.cat([F.normalize(embeddings, dim=1), model.class_embeddings[old_rows]])
    keep_names, keep = [], []
    for n, e in zip(cand_names, cand, strict=True):
        taken = torch.cat([seen_emb, *[k[None] for k in keep]])
        if not bool(_nearest(e[None], taken)[1][0]):
            keep_names.append(n)
            keep.append(e)
    return keep_names, torch.stack(keep) if keep else cand[:0]


def _nearest(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of ``a``: the row of ``b`` nearest in cosine, and whether the cosine is above MATCH."""
    if len(a) == 0 or len(b) == 0:
        return torch.zeros(len(a), dtype=torch.long), torch.zeros(len(a), dtype=torch.bool)
    best, rows = (F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).to(a.device).T).max(dim=1)
    return rows.cpu(), (best > MATCH).cpu()


def _refit(model: ZS3Net, xs: list[torch.Tensor], embeddings: torch.Tensor,
           steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """1x1 classifier over [background, classes...] on ``xs`` (one tensor per class), warm-started."""
    x = torch.cat(xs)
    y = torch.cat([torch.full((len(f),), i, dtype=torch.long, device=x.device) for i, f in enumerate(xs)])
    clf = nn.Linear(x.shape[1], len(xs)).to(x.device)
    with torch.no_grad():
        clf.weight[0], clf.bias[0] = model.bg_weight, model.bg_bias
        rows, matched = model.match_rows(embeddings)
        for i, (r, ok) in enumerate(zip(rows.tolist(), matched.tolist(), strict=True)):
            if ok:
                clf.weight[1 + i], clf.bias[1 + i] = model.weight[r], model.bias[r]
    counts = torch.bincount(y, minlength=len(xs)).float()
    weights = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))  # balance classes
    weights = weights / weights[counts > 0].mean()
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(clf(x), y, weight=weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return clf.weight.detach(), clf.bias.detach()


def _keep_sample(model: ZS3Net, features: Mapping[int, torch.Tensor], seen_keys: list[int],
                 seen_emb: torch.Tensor, per_class: int, seed: int) -> None:
    """Store up to ``per_class`` real features of background and each seen class in the model's buffers."""
    g = torch.Generator().manual_seed(seed)
    device = model.bg_weight.device
    feats, labels = [model.reservoir_features[:0]], [model.reservoir_labels[:0]]
    for i, key in enumerate([0, *seen_keys]):
        if key in features:
            part = features[key]
            part = part[torch.randperm(len(part), generator=g)[:per_class].to(part.device)]
            feats.append(part.float().to(device))
            labels.append(torch.full((len(part),), i, dtype=torch.long, device=device))
    model.reservoir_features, model.reservoir_labels = torch.cat(feats), torch.cat(labels)
    model.reservoir_embeddings = seen_emb.clone()


def _kept_sample(model: ZS3Net) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
    if len(model.reservoir_embeddings) == 0:
        raise ValueError(
            "fit_unseen: this model keeps no seen-class features (it was never refitted); pass "
            "seen_features and seen_embeddings (core.models.zs3net.collect_features on seen-class "
            "training images)"
        )
    labels = model.reservoir_labels
    feats = {int(c): model.reservoir_features[labels == c] for c in labels.unique()}
    return feats, {i + 1: e for i, e in enumerate(model.reservoir_embeddings)}


@register_model("zs3net")
def build_zs3net(config: ModelConfig) -> Segmenter:
    """Registry builder of ``zs3net`` (GMMN generator)."""
    return ZS3Net(config)


@register_model("zs3net-gc")
def build_zs3net_gc(config: ModelConfig) -> Segmenter:
    """Registry builder of ``zs3net-gc`` (graph-context generator)."""
    return ZS3Net(config)
