"""Relation Network for zero-shot segmentation (RN paper): image encoder + word module + U-Net relation module.

The relation module is a U-Net decoder over [image features ⊕ tiled word vector] with skip features. Its first
layer at each level is a 1x1 convolution of that concatenation, which splits exactly into
``conv(features)`` (once per image, part of :meth:`RelationNet.encode`) plus ``W_word · w`` (once per class): a
per-class bias. Only small convolutions at stride >= 4 run per (image, class) pair, so C classes cost far less
than C encoder passes. :meth:`RelationNet.naive_score` computes the same function the direct way (concatenate,
then convolve, per pair) and exists to prove the identity and to measure it (``bench/relation_factorised.py``).

Word module: ``fc`` (default; linear layers, vectors tiled) or ``cnn`` (paper Table III: the vector is reshaped
to a 4x4 map, upsampled to the feature size and refined by 3x3 convolutions; the per-class term is then a map).
Options: ``word_module`` (fc|cnn), ``head`` (unet|deeplabv3: ASPP on the deepest feature, paper Fig. 7),
``width`` (relation channels, default 32).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.models.backbones import build_backbone
from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.deeplab import ASPP, norm

#: Relation levels: the backbone features at these strides are fused with the word vector.
LEVEL_STRIDES = (32, 16, 8, 4)


class WordModule(nn.Module):
    """Class embedding ``[C, D]`` -> one per-class term per level: ``[C, c_l]`` (fc) or ``[C, c_l, 4, 4]`` (cnn)."""

    def __init__(self, dim: int, widths: list[int], kind: str = "fc") -> None:
        super().__init__()
        if kind not in ("fc", "cnn"):
            raise ValueError(f"unknown word_module {kind!r}; choose fc or cnn")
        self.kind, self.widths = kind, widths
        hidden = max(64, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True))
        if kind == "fc":
            self.out = nn.Linear(hidden, sum(widths))
        else:
            self.out = nn.Linear(hidden, 16 * 16)
            self.convs = nn.ModuleList(
                [nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(16, w, 3, padding=1))
                 for w in widths]
            )

    def forward(self, emb: torch.Tensor, sizes: list[tuple[int, int]]) -> list[torch.Tensor]:
        h = self.out(self.mlp(emb))
        if self.kind == "fc":
            return list(torch.split(h, self.widths, dim=1))
        grid = h.view(-1, 16, 4, 4)
        return [conv(F.interpolate(grid, size=s, mode="bilinear", align_corners=False))
                for conv, s in zip(self.convs, sizes, strict=True)]


def _add_class_term(x: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
    """``x`` ``[B, 1, c, h, w]`` (image part) + per-class ``term`` -> ``[B, C, c, h, w]``."""
    t = term[None, :, :, None, None] if term.dim() == 2 else term[None]
    return x + t


class RelationNet(Segmenter):
    """See the module docstring. ``activation = "sigmoid"``: background where the best score < 0.5."""

    activation = "sigmoid"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        opts = config.options
        self.backbone = build_backbone(config.backbone, pretrained=config.pretrained)
        strides, channels = self.backbone.strides, self.backbone.channels
        width = int(opts.get("width", 32))
        self.levels = [max(i for i, s in enumerate(strides) if s == target) for target in LEVEL_STRIDES
                       if target in strides]
        self.widths = [width] * (len(self.levels) - 1) + [max(16, width // 2)]
        self.aspp = ASPP(channels[-1], channels[-1], strides[-1]) if opts.get("head") == "deeplabv3" else None
        # First layer of each level, image part: 1x1 conv of the backbone feature (once per image).
        self.image_proj = nn.ModuleList([nn.Conv2d(channels[i], w, 1) for i, w in zip(self.levels, self.widths,
                                                                                       strict=True)])
        self.word = WordModule(config.embed_dim, self.widths, str(opts.get("word_module", "fc")))
        # Per-pair layers: normalise + ReLU + 3x3 conv at each level, then a 1x1 to the relation logit.
        self.pair_norms = nn.ModuleList([norm(w) for w in self.widths])
        self.pair_convs = nn.ModuleList([nn.Conv2d(w, w, 3, padding=1) for w in self.widths])
        self.up_convs = nn.ModuleList([nn.Conv2d(a, b, 1) for a, b in zip(self.widths[:-1], self.widths[1:],
                                                                            strict=True)])
        self.logit = nn.Conv2d(self.widths[-1], 1, 1)

    def encode(self, images: torch.Tensor) -> Features:
        feats = self.backbone(images)
        if self.aspp is not None:
            feats = [*feats[:-1], self.aspp(feats[-1])]
        return tuple(proj(feats[i]) for proj, i in zip(self.image_proj, self.levels, strict=True))

    def _decode(self, fused_first: list) -> torch.Tensor:
        """Run the per-pair decoder given a function per level returning the fused first-layer map."""
        h = None
        for level, first in enumerate(fused_first):
            x = first(h)
            x = self.pair_convs[level](F.relu(self.pair_norms[level](x)))
            h = x
        return self.logit(F.relu(h))

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        b = features[0].shape[0]
        c = class_embeddings.shape[0]
        if c == 0:
            h, w = features[-1].shape[-2:]
            return features[-1].new_zeros(b, 0, h, w)
        terms = self.word(class_embeddings, [f.shape[-2:] for f in features])

        def first(level: int):
            def run(h: torch.Tensor | None) -> torch.Tensor:
                img = features[level][:, None]  # [B, 1, c, h, w]
                x = _add_class_term(img, terms[level]).flatten(0, 1)  # [B*C, c, h, w]
                if h is not None:
                    up = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
                    x = x + self.up_convs[level - 1](up)
                return x

            return run

        out = self._decode([first(i) for i in range(len(features))])
        return out.view(b, c, *out.shape[-2:])

    def naive_score(self, images: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        """The same function computed the direct way: per (image, class) pair, concatenate the backbone features
        with the tiled word term and convolve. For tests and the factorisation benchmark only."""
        feats = self.backbone(images)
        if self.aspp is not None:
            feats = [*feats[:-1], self.aspp(feats[-1])]
        b, c = images.shape[0], class_embeddings.shape[0]
        sizes = [feats[i].shape[-2:] for i in self.levels]
        terms = self.word(class_embeddings, sizes)

        def first(level: int):
            proj = self.image_proj[level]
            f = feats[self.levels[level]]

            def run(h: torch.Tensor | None) -> torch.Tensor:
                maps = []
                for bi in range(b):
                    for ci in range(c):
                        t = terms[level][ci]
                        tiled = t[:, None, None].expand(-1, *f.shape[-2:]) if t.dim() == 1 else t
                        eye = torch.eye(tiled.shape[0], device=f.device)[:, :, None, None]
                        weight = torch.cat([proj.weight, eye], dim=1)  # conv([f ⊕ tile(w)]) with [W_f | I]
                        maps.append(F.conv2d(torch.cat([f[bi], tiled])[None], weight, proj.bias))
                x = torch.cat(maps)
                if h is not None:
                    up = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
                    x = x + self.up_convs[level - 1](up)
                return x

            return run

        out = self._decode([first(i) for i in range(len(self.levels))])
        return out.view(b, c, *out.shape[-2:])


@register_model("rn")
def build_rn(config: ModelConfig) -> Segmenter:
    """Relation Network (``options``: word_module fc|cnn, head unet|deeplabv3, width)."""
    if config.embed_dim <= 0:
        raise ValueError("the Relation Network needs class embeddings (embed_dim > 0)")
    return RelationNet(config)
