"""ZS3Net's second stage (Bucher et al., NeurIPS 2019, Sec. 3): real pixel features of background and the seen
classes, the GMMN generator trained on them (:mod:`core.models.gmmn`), and the final 1x1 classifier refitted on
real seen + generated unseen features (:func:`fit_unseen`); the model is :class:`core.models.zs3net.ZS3Net`.

Every setting here was chosen on seen classes only (a few seen classes played unseen, scored on the seen-only
validation split): ``bench/zs3_stages.py`` and ``bench/results/zs3_stages.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from core.models import gmmn
from core.models.gmmn import SegmentGraph

if TYPE_CHECKING:
    from core.models.zs3net import ZS3Net

__all__ = ["GENERATOR_LR", "GENERATOR_STEPS", "MATCH", "UNSEEN_PRIOR", "collect_features", "collect_graphs",
           "fit_unseen", "label_shares"]

#: Cosine above which a requested class embedding is the class of a bank row.
MATCH = 0.9999
#: Generator training (Adam); chosen on held-out seen classes (bench/zs3_stages.py).
GENERATOR_STEPS = 400
GENERATOR_LR = 2e-3
#: Prior of an unseen class relative to the mean seen-class pixel share (logit adjustment of the refit). Chosen
#: on seen classes only: five seen classes held out as pseudo-unseen, their GZLSS hIoU on the seen-only val split
#: for x1 / 3 / 10 / 30 / 100 / 300 was 30.6 / 45.6 / 56.2 / 67.0 / 77.6 / 75.8 (bench/results/zs3_stages.md).
UNSEEN_PRIOR = 100.0


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
    counts: dict[int, int] | None = None,
) -> dict[int, torch.Tensor]:
    """Real pixel features per label value, at the feature resolution (labels downsampled nearest).

    The caller passes background (0) and the seen classes in ``allowed``: unseen pixels never become training
    data. ``ignore_index`` pixels are never taken. ``counts`` (label -> pixels) gets the number of pixels of
    each allowed label added (all of them, not only those taken): the class shares ``fit_unseen`` wants.

    Example:
        >>> feats = collect_features(model, images, labels, allowed=[0, 1, 2])  # doctest: +SKIP
    """
    feats = model.encode(images)[0]
    lab = _labels_at(labels, feats.shape[-2:]).flatten()
    if counts is not None:
        for c, n in label_shares(labels, feats.shape[-2:], [c for c in allowed if c != ignore_index]).items():
            counts[c] = counts.get(c, 0) + n
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
    steps: int = GENERATOR_STEPS,
    classifier_steps: int = 300,
    per_class: int | None = None,
    seed: int = 0,
    graphs: Sequence[SegmentGraph | tuple] | None = None,
    retrain_generator: bool = False,
    keep_per_class: int = 256,
    generator_lr: float = GENERATOR_LR,
    priors: Mapping[int, float] | None = None,
    unseen_prior: float = UNSEEN_PRIOR,
) -> None:
    """Make ``names`` scorable: train the generator (once), generate their features, refit the classifier.

    The refit uses real seen features (+ background) and generated features of ``names`` and of every
    class fitted before (their rows are kept, refitted together), class-balanced cross-entropy,
    warm-started from the current rows. Names that are seen classes are refitted on their real features.
    The balanced classifier then gets each class's log prior added to its bias (logit adjustment): the
    share of training pixels of background and of each seen class (``priors``), and ``unseen_prior`` times
    the mean seen-class share for each unseen class. Without it, the balanced refit treats background as
    rare as one shape and paints background pixels with classes.

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
        per_class: generated features per unseen class; None: as many as real features per seen class
            (the paper's balance).
        graphs: ``zs3net-gc``: segment graphs (classes keyed as in ``seen_embeddings``) to train the
            generator on and to generate new classes in context.
        keep_per_class: real features per seen class the model keeps for later calls.
        priors: label value -> share of training pixels of background (0) and each seen class; kept in
            the model for later calls. None: the kept shares (none kept: no adjustment).
        unseen_prior: prior of an unseen class, relative to the mean seen-class share.

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
        if priors is None and len(model.reservoir_priors) == len(seen_embeddings) + 1:
            priors = dict(enumerate(model.reservoir_priors.tolist()))
    elif seen_embeddings is None:
        raise ValueError("fit_unseen: pass seen_embeddings (label -> class embedding) with seen_features")
    unknown = sorted(c for c in seen_features if c != 0 and c not in seen_embeddings)
    if unknown:
        raise ValueError(f"fit_unseen: seen_features has labels {unknown} that seen_embeddings lacks")
    seen_keys = list(seen_embeddings)
    seen_emb = F.normalize(torch.stack([seen_embeddings[c] for c in seen_keys]).float().to(device), dim=1)
    _keep_sample(model, seen_features, seen_keys, seen_emb, keep_per_class, seed)
    model.reservoir_priors = (torch.tensor([float(priors.get(c, 0.0)) for c in [0, *seen_keys]], device=device)
                              if priors else model.reservoir_priors[:0])
    real = {c: f.to(device).float() for c, f in seen_features.items()}
    context = dict(zip(seen_keys, seen_emb, strict=True))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if retrain_generator or not bool(model.generator_trained):
            gmmn.train_generator(model.generator, {c: f for c, f in real.items() if c != 0}, context,
                            steps=steps, seed=seed, graphs=graphs, lr=generator_lr)
            model.generator_trained.fill_(True)
        new_names, new_emb = _unseen_classes(model, names, embeddings.float().to(device), seen_emb)
        if per_class is None:
            per_class = round(sum(len(real[c]) for c in seen_keys if c in real) / max(1, len(seen_keys)))
        fake = [gmmn.generate(model.generator, e, per_class, seed=seed + i, graphs=graphs, embeddings=context)
                for i, e in enumerate(new_emb)]
        xs = [real.get(0, seen_emb.new_zeros(0, model.head.feature_dim))]
        xs += [real.get(c, xs[0][:0]) for c in seen_keys] + fake
        all_emb = torch.cat([seen_emb, new_emb.reshape(-1, seen_emb.shape[1])])
        log_prior = _log_priors(priors, seen_keys, len(new_emb), unseen_prior, device)
        weight, bias = _refit(model, xs, all_emb, classifier_steps, log_prior)
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


def _log_priors(priors: Mapping[int, float] | None, seen_keys: list[int], unseen: int, unseen_prior: float,
                device: torch.device) -> torch.Tensor:
    """Log prior of [background, seen..., unseen...] (zeros without ``priors``)."""
    if not priors:
        return torch.zeros(1 + len(seen_keys) + unseen, device=device)
    seen = [max(float(priors.get(c, 0.0)), 1e-6) for c in seen_keys]
    shares = [max(float(priors.get(0, 0.0)), 1e-6), *seen, *[unseen_prior * sum(seen) / max(1, len(seen))] * unseen]
    return torch.tensor(shares, device=device).log()


def _refit(model: ZS3Net, xs: list[torch.Tensor], embeddings: torch.Tensor, steps: int,
           log_prior: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """1x1 classifier over [background, classes...] on ``xs`` (one tensor per class), class-balanced,
    warm-started from the current rows; returned with ``log_prior`` added to the biases (logit adjustment,
    taken off the warm start first)."""
    x = torch.cat(xs)
    y = torch.cat([torch.full((len(f),), i, dtype=torch.long, device=x.device) for i, f in enumerate(xs)])
    clf = nn.Linear(x.shape[1], len(xs)).to(x.device)
    with torch.no_grad():
        clf.weight[0], clf.bias[0] = model.bg_weight, model.bg_bias
        rows, matched = model.match_rows(embeddings)
        for i, (r, ok) in enumerate(zip(rows.tolist(), matched.tolist(), strict=True)):
            if ok:
                clf.weight[1 + i], clf.bias[1 + i] = model.weight[r], model.bias[r]
        clf.bias -= log_prior
    counts = torch.bincount(y, minlength=len(xs)).float()
    weights = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))  # balance classes
    weights = weights / weights[counts > 0].mean()
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(clf(x), y, weight=weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return clf.weight.detach(), clf.bias.detach() + log_prior


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




def label_shares(labels: torch.Tensor, size: tuple[int, int], allowed: Sequence[int]) -> dict[int, int]:
    """Pixel count of each ``allowed`` label value in ``labels [B, H, W]`` at feature resolution ``size``
    (downsampled nearest, as :func:`collect_features` takes them): what ``fit_unseen``'s ``priors`` are
    made of.

    Example:
        >>> label_shares(torch.tensor([[[0, 0, 1, 1]] * 4]), (2, 2), [0, 1])
        {0: 2, 1: 2}
    """
    lab = _labels_at(labels, size).flatten().cpu()
    counts = torch.bincount(lab[lab < 255], minlength=max(allowed) + 1)
    return {int(c): int(counts[c]) for c in allowed}
