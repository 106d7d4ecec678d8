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

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from core.errors import ZerolabelError
from core.models import gmmn
from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.deeplab import embedding_head
from core.models.gmmn import image_graphs
from core.models.zs3fit import MATCH, _nearest, collect_features, collect_graphs, fit_unseen

__all__ = ["MATCH", "UnfittedClassError", "ZS3Net", "collect_features", "collect_graphs", "fit_unseen",
           "image_graphs"]

_SEP = "\x1f"  # separates the row names in the ``bank_names`` byte buffer
#: Tensors whose size is set by the classes fitted, resized on load.
_DYNAMIC = ("weight", "bias", "class_embeddings", "bank_names", "reservoir_features", "reservoir_labels",
            "reservoir_embeddings", "reservoir_priors")


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
        self.register_buffer("reservoir_priors", torch.zeros(0))  # pixel share of background, seen classes
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
        k = self.head.feature_dim
        # Rows of unit scale (std 1/sqrt(K)), not ~0: from near-zero rows Adam moves every row by the same
        # sign step, the seen rows stayed alike (cosine 0.96) and stage 1 learned background vs. object only
        # (seen val mIoU 4 % after 250 steps, 24 % with these rows; bench/results/zs3_stages.md).
        weight = torch.randn(len(names), k) / k**0.5
        self.set_bank(weight, torch.zeros(len(names)), embeddings, names)
        with torch.no_grad():
            self.bg_weight.copy_(torch.randn(k) / k**0.5)
            # Background starts as likely as all seen classes together times e: the first steps then fit
            # the classes instead of pushing every class row away from the (mostly background) pixels.
            self.bg_bias.fill_(math.log(max(1, len(names))) + 1.0)

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


@register_model("zs3net")
def build_zs3net(config: ModelConfig) -> Segmenter:
    """Registry builder of ``zs3net`` (GMMN generator)."""
    return ZS3Net(config)


@register_model("zs3net-gc")
def build_zs3net_gc(config: ModelConfig) -> Segmenter:
    """Registry builder of ``zs3net-gc`` (graph-context generator)."""
    return ZS3Net(config)
