"""Relation Network for zero-shot segmentation (RN paper, Zhang & Khriyenko): encoder, word, relation modules.

Scores are relation logits ``r[b, c, y, x] = g([f(image_b) ⊕ φ(class_c)])`` (paper eq. 4): the relation module
g is a U-Net decoder run once per (image, class) pair over the image features concatenated with the tiled word
features φ. Its first layer at each level is one 3x3 convolution over ``[skip feature ⊕ tile(φ) ⊕ up(h)]``,
which splits *exactly* (a convolution is linear in its input channels) into

* ``conv(skip feature)``: image only, once per image, done in :meth:`RelationNet.encode`;
* ``conv(tile(φ))``: class only, once per class. A tiled vector is spatially constant, so this is a per-class
  bias that differs only at the borders (zero padding); it is computed exactly as 9 tap projections of φ
  times 9 border masks, never by convolving a tiled map (:func:`tiled_conv`);
* ``conv1x1(up(h))``: the only per-pair part of the first layer, run at the coarser resolution before the
  upsampling (a 1x1 convolution commutes with bilinear upsampling).

Per pair there remain one 3x3 convolution, a GroupNorm and ReLUs per level, with 32 channels (16 at stride
4), at strides 32 to 4; logits come out at stride 4. C classes cost one encoder pass plus C small decoder
passes. :meth:`RelationNet.naive_score` computes the same function the textbook way (concatenate, then
convolve, per pair) to prove the identity in tests and to measure it (``bench/relation_factorised.py``).

Options (``ModelConfig.options``):

* ``word_module``: ``fc`` (default, the paper's best: linear layers map the D-dim class vector to the channels
  of the feature it is concatenated with, then it is tiled) or ``cnn`` (paper Table III: the vector is mapped
  to a 4x4 map, upsampled to each level and refined by 3x3 convolutions).
* ``head``: ``unet`` (default; paper Fig. 6: U-Net decoder with skip features at strides 32, 16, 8, 4) or
  ``deeplabv3`` (paper Fig. 7: DeepLabv3 without its classifier, i.e. backbone + ASPP, is the image
  embedding; the relation module is conv layers on [ASPP ⊕ tile(φ)], then upsampling + conv layers down to
  stride 4, no skips; meant for ``resnet101``, whose layer4 is dilated to output stride 16).
* ``width`` (default 32), ``fine_width`` (default ``max(16, width // 2)``): channels per pair at the coarse
  levels and at stride 4. ``word_channels``: channels of φ (default: the feature's channels for ``fc``, the
  level's width for ``cnn``). ``word_hidden``: hidden units of the word FC (default ``max(64, embed_dim)``).
  ``feature_dim``: ASPP channels of the ``deeplabv3`` head (default 64 for tiny / effnet-lite0, else 256).

* ``joint``: ``softmax`` (default) or ``sigmoid``. The paper scores each class as an independent binary relation
  (sigmoid) and joins the maps by argmax, a pixel being background when no class reaches 0.5; those per-class
  scores are not calibrated against each other or against background, and with an ImageNet backbone the binary
  loss left every pixel below 0.5 for hundreds of steps. ``softmax`` adds a learned *background relation* (a
  learned class vector through the same word and relation modules, one more decoder pass per image) and trains
  with cross-entropy over background + the episode's classes, so the maps compete as one distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from core.models.backbones import build_backbone
from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.deeplab import ASPP, head_width, norm

#: Strides of the U-Net head's levels, coarse to fine (those the backbone has).
LEVEL_STRIDES = (32, 16, 8, 4)
#: The CNN word module's spatial seed: ``GRID_CHANNELS`` maps of ``GRID x GRID``.
GRID, GRID_CHANNELS = 4, 16
OPTIONS = {"word_module", "head", "width", "fine_width", "word_channels", "word_hidden", "feature_dim", "word_act",
           "image_norm", "joint"}


@dataclass(frozen=True)
class Level:
    """One decoder level: its backbone feature (``skip`` index, None for none), channels, stride, width."""

    skip: int | None
    channels: int
    stride: int
    width: int


def tiled_conv(weight: torch.Tensor, vectors: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``conv2d(tile(v), weight, padding=k // 2)`` for each row v of ``vectors``, exactly, without the tiles.

    Args:
        weight: ``[O, D, k, k]`` convolution weight (odd k, stride 1, zero padding ``k // 2``).
        vectors: ``[C, D]``, each tiled over the spatial size of ``like``.
        like: any ``[*, *, h, w]`` tensor giving the size (and dtype / device).

    Returns:
        ``[C, O, h, w]``: interior pixels get ``sum over taps of W_tap · v``, border pixels only the taps
        that fall inside the image, as zero padding gives.
    """
    k = weight.shape[-1]
    taps = torch.einsum("odij,cd->coij", weight, vectors).flatten(2)  # [C, O, k*k]
    eye = torch.eye(k * k, dtype=like.dtype, device=like.device).view(k * k, 1, k, k)
    inside = F.conv2d(torch.ones_like(like[:1, :1]), eye, padding=k // 2)[0]  # [k*k, h, w]: tap t in bounds
    return torch.einsum("cot,thw->cohw", taps, inside)


class WordModule(nn.Module):
    """Class embeddings ``[C, D]`` -> φ per level: ``[C, c_l]`` (fc) or ``[C, c_l, h_l, w_l]`` (cnn)."""

    def __init__(self, dim: int, channels: list[int], kind: str = "fc", hidden: int | None = None,
                 act: str = "linear") -> None:
        super().__init__()
        if kind not in ("fc", "cnn"):
            raise ValueError(f"unknown word_module {kind!r}; choose fc or cnn")
        if act not in ("linear", "relu"):
            raise ValueError(f"unknown word_act {act!r}; choose linear or relu")
        self.kind, self.channels, self.act, self.dim = kind, list(channels), act, dim
        hidden = hidden or max(64, dim)
        # ``linear``: unit-variance input and a LayerNorm, so the class term meets the (normalised) image term on
        # its scale; with unit-length 50-d vectors the word path started ~100x smaller and weight decay zeroed it.
        layers = [nn.Linear(dim, hidden)] + ([nn.LayerNorm(hidden)] if act == "linear" else [])
        self.mlp = nn.Sequential(*layers, nn.ReLU(inplace=True))
        if kind == "fc":
            self.out = nn.Linear(hidden, sum(channels))
        else:
            self.out = nn.Linear(hidden, GRID_CHANNELS * GRID * GRID)
            self.convs = nn.ModuleList(
                nn.Sequential(nn.Conv2d(GRID_CHANNELS, GRID_CHANNELS, 3, padding=1), nn.ReLU(inplace=True),
                              nn.Conv2d(GRID_CHANNELS, c, 3, padding=1), nn.ReLU(inplace=True))
                for c in channels
            )

    def forward(self, emb: torch.Tensor, sizes: list[torch.Tensor]) -> list[torch.Tensor]:
        """``sizes``: one tensor per level whose last two dims give the map size (used by ``cnn`` only)."""
        if self.act == "linear":
            emb = F.normalize(emb, dim=1) * self.dim**0.5
        h = self.out(self.mlp(emb))
        if self.act == "relu" or self.kind == "cnn":
            h = F.relu(h)
        if self.kind == "fc":
            parts = torch.split(h, self.channels, dim=1)
            if self.act == "linear":  # each level's φ at unit variance: a class term as large as the image's
                parts = [F.layer_norm(p, (c,)) for p, c in zip(parts, self.channels, strict=True)]
            return list(parts)
        grid = h.view(-1, GRID_CHANNELS, GRID, GRID)
        return [conv(F.interpolate(grid, size=like.shape[-2:], mode="bilinear", align_corners=False))
                for conv, like in zip(self.convs, sizes, strict=True)]


class RelationNet(Segmenter):
    """Relation Network (see the module docstring); :class:`core.models.unet.UNetBaseline` drops the words."""

    activation = "sigmoid"
    uses_words = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        opts = dict(config.options)
        unknown = set(opts) - OPTIONS
        if unknown:
            raise ValueError(
                f"unknown option(s) {sorted(unknown)} for {config.method}; known: {sorted(OPTIONS)}"
            )
        head = opts.get("head", "unet")
        if head not in ("unet", "deeplabv3"):
            raise ValueError(f"unknown head {head!r}; choose unet or deeplabv3")
        self.backbone = build_backbone(config.backbone, pretrained=config.pretrained)
        strides, channels = self.backbone.strides, self.backbone.channels
        width = int(opts.get("width", 32))
        fine = int(opts.get("fine_width", max(16, width // 2)))
        self.aspp: ASPP | None = None
        if head == "deeplabv3":
            aspp_dim = head_width(config.backbone, opts)
            self.aspp = ASPP(channels[-1], aspp_dim, strides[-1])
            levels = [Level(len(channels) - 1, aspp_dim, strides[-1], width)]
            while levels[-1].stride > 4:
                levels.append(Level(None, 0, levels[-1].stride // 2, width))
        else:
            levels = [Level(max(i for i, s in enumerate(strides) if s == target),
                            channels[strides.index(target)], target, width)
                      for target in LEVEL_STRIDES if target in strides]
        levels[-1] = Level(levels[-1].skip, levels[-1].channels, levels[-1].stride, fine)
        self.levels = levels
        skips = [lv for lv in levels if lv.skip is not None]
        # First relation layer split by input: image part (encode), word part (per class), up part (per pair).
        self.image_convs = nn.ModuleList(nn.Conv2d(lv.channels, lv.width, 3, padding=1) for lv in skips)
        # Each image term is normalised (once per image) so the class term it meets is on the same scale; with
        # raw ImageNet features (std 3-7) the class terms were negligible and the word module's ReLUs died.
        self.image_norms = (nn.ModuleList(norm(lv.width) for lv in skips) if opts.get("image_norm", True)
                            else None)
        if self.uses_words:
            kind = str(opts.get("word_module", "fc"))
            word_ch = [int(opts.get("word_channels", lv.width if kind == "cnn" else lv.channels))
                       for lv in skips]
            self.word = WordModule(config.embed_dim, word_ch, kind, opts.get("word_hidden"),
                                   str(opts.get("word_act", "linear")))
            self.word_convs = nn.ModuleList(nn.Conv2d(c, lv.width, 3, padding=1, bias=False)
                                            for c, lv in zip(word_ch, skips, strict=True))
            joint = str(opts.get("joint", "softmax"))
            if joint not in ("softmax", "sigmoid"):
                raise ValueError(f"unknown joint {joint!r}; choose softmax or sigmoid")
            if joint == "softmax":  # the learned background relation: a class vector of its own
                self.activation = "softmax"
                self.bg_embedding = nn.Parameter(F.normalize(torch.randn(config.embed_dim), dim=0))
        self.up_convs = nn.ModuleList(nn.Conv2d(a.width, b.width, 1, bias=False)
                                      for a, b in zip(levels[:-1], levels[1:], strict=True))
        # Per-pair rest of each level, then the relation logit.
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(lv.width, lv.width, 3, padding=1),
                                                  norm(lv.width), nn.ReLU()) for lv in levels)
        self.logit = nn.Conv2d(levels[-1].width, 1, 1)

    # -- image side (once per image) ------------------------------------------------------------------
    def _skip_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The backbone (and ASPP) maps the decoder levels take, coarse to fine."""
        feats = self.backbone(images)
        if self.aspp is not None:
            feats = [*feats[:-1], self.aspp(feats[-1])]
        return [feats[lv.skip] for lv in self.levels if lv.skip is not None]

    def encode(self, images: torch.Tensor) -> Features:
        """ImageNet-normalised ``[B, 3, H, W]`` -> the image part of each level's first layer (small maps)."""
        terms = [conv(f) for conv, f in zip(self.image_convs, self._skip_features(images), strict=True)]
        if self.image_norms is not None:
            terms = [n(t) for n, t in zip(self.image_norms, terms, strict=True)]
        return tuple(terms)

    # -- class side and pairs -------------------------------------------------------------------------
    def class_terms(self, features: Features, class_embeddings: torch.Tensor) -> list[torch.Tensor]:
        """Word part of each level's first layer: ``[C, width, h, w]`` per skip level (once per class)."""
        phi = self.word(class_embeddings, list(features))
        if self.word.kind == "fc":
            return [tiled_conv(conv.weight, p, f)
                    for conv, p, f in zip(self.word_convs, phi, features, strict=True)]
        return [conv(p) for conv, p in zip(self.word_convs, phi, strict=True)]

    def _decode(self, features: Features, terms: list[torch.Tensor] | None) -> torch.Tensor:
        """Per-pair decoder -> logits ``[B * C, 1, h, w]`` (``terms`` None: class-agnostic, per image)."""
        h: torch.Tensor | None = None
        k = 0
        for i, level in enumerate(self.levels):
            x = None
            if level.skip is not None:
                img = features[k][:, None]  # [B, 1, width, h, w]
                x = (img + terms[k][None] if terms is not None else img).flatten(0, 1)
                k += 1
            if h is not None:
                up = self.up_convs[i - 1](h)
                if x is None:  # deeplabv3 head below the ASPP level: plain x2 upsampling
                    x = F.interpolate(up, scale_factor=2.0, mode="bilinear", align_corners=False)
                else:
                    x = x + F.interpolate(up, size=x.shape[-2:], mode="bilinear", align_corners=False)
            h = self.blocks[i](x)
        return self.logit(h)

    def background_score(self, features: Features) -> torch.Tensor | None:
        """The learned background relation ``[B, 1, h, w]`` (``joint=softmax``), else ``None``."""
        if self.activation != "softmax":
            return None
        out = self._decode(features, self.class_terms(features, self.bg_embedding[None]))
        return out.view(features[0].shape[0], 1, *out.shape[-2:])

    def _check(self, class_embeddings: torch.Tensor) -> None:
        dim = self.config.embed_dim
        if class_embeddings.dim() != 2 or (self.uses_words and class_embeddings.shape[1] != dim):
            raise ValueError(
                f"class embeddings must be [C, {dim}] for this model, got {list(class_embeddings.shape)}; "
                "embed the class names with the checkpoint's embedding source"
            )

    def _empty(self, features: Features) -> torch.Tensor:
        b, (h, w) = features[0].shape[0], features[-1].shape[-2:]
        scale = 2 ** sum(lv.skip is None for lv in self.levels)
        return features[0].new_zeros(b, 0, h * scale, w * scale)

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Features from :meth:`encode` + ``[C, D]`` class embeddings -> relation logits ``[B, C, H/4, W/4]``.

        Example:
            >>> model = build_rn(ModelConfig("rn", "tiny", embed_dim=50)).eval()
            >>> feats = model.encode(torch.zeros(2, 3, 64, 64))
            >>> model.score(feats, torch.randn(3, 50)).shape
            torch.Size([2, 3, 16, 16])
        """
        self._check(class_embeddings)
        if class_embeddings.shape[0] == 0:
            return self._empty(features)
        out = self._decode(features, self.class_terms(features, class_embeddings))
        return out.view(features[0].shape[0], class_embeddings.shape[0], *out.shape[-2:])

    def naive_score(self, images: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        """The same function the textbook way, for tests and the benchmark only: per (image, class) pair, tile
        φ, concatenate it with the upsampled decoder state and run one 3x3 conv over both, plus the image term
        (normalised with ``image_norm``, so it is computed on its own; without it, it joins the concatenation)."""
        self._check(class_embeddings)
        feats = self._skip_features(images)
        phi = self.word(class_embeddings, feats)
        rows = []
        for b in range(images.shape[0]):
            for c in range(class_embeddings.shape[0]):
                h, k = None, 0
                for i, level in enumerate(self.levels):
                    parts, weights, bias, image = [], [], None, 0
                    if level.skip is not None:
                        f, p = feats[k][b : b + 1], phi[k][c : c + 1]
                        tile = p[:, :, None, None].expand(-1, -1, *f.shape[-2:]) if p.dim() == 2 else p
                        if self.image_norms is not None:
                            image = self.image_norms[k](self.image_convs[k](f))
                        else:
                            parts.append(f)
                            weights.append(self.image_convs[k].weight)
                            bias = self.image_convs[k].bias
                        parts.append(tile)
                        weights.append(self.word_convs[k].weight)
                        size, k = f.shape[-2:], k + 1
                    else:
                        size = [2 * s for s in h.shape[-2:]]
                    if h is not None:
                        parts.append(F.interpolate(h, size=size, mode="bilinear", align_corners=False))
                        weights.append(F.pad(self.up_convs[i - 1].weight, [1, 1, 1, 1]))  # 1x1 as a 3x3
                    x = image + F.conv2d(torch.cat(parts, 1), torch.cat(weights, 1), bias, padding=1)
                    h = self.blocks[i](x)
                rows.append(self.logit(h))
        out = torch.cat(rows)
        return out.view(images.shape[0], class_embeddings.shape[0], *out.shape[-2:])


@register_model("rn")
def build_rn(config: ModelConfig) -> Segmenter:
    """Relation Network; ``options``: word_module fc|cnn, head unet|deeplabv3, widths (module docstring).

    Example:
        >>> model = build_rn(ModelConfig("rn", "tiny", embed_dim=50, options={"word_module": "cnn"}))
    """
    if config.embed_dim <= 0:
        raise ValueError("the Relation Network needs class embeddings (embed_dim > 0)")
    return RelationNet(config)
