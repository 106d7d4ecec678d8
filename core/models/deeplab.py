"""DeepLabv3+ pieces shared by ZS3Net, SPNet, DeViSE and the RN DeepLab variant: ASPP and the decoder.

ASPP rates are given for output stride 16 (6, 12, 18) and scaled to the backbone's deepest stride (3, 6, 9
at stride 32; 12, 24, 36 at stride 8). The decoder projects the stride-4 feature to 48 channels, concatenates
it with the upsampled ASPP output and applies two 3x3 convolutions (Chen et al., ECCV 2018), giving a
per-pixel feature map ``F [B, K, H/4, W/4]`` (K = 256 in the paper; ``options["feature_dim"]``, 64 by default
for the small backbones).

Normalisation is GroupNorm, not BatchNorm: CPU batches of 4-8 images and DDP without SyncBN.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.models.backbones import Backbone, build_backbone

#: ASPP rates of the DeepLab papers, for output stride 16.
ASPP_RATES_OS16 = (6, 12, 18)


def norm(c: int) -> nn.GroupNorm:
    """GroupNorm everywhere in our heads: batch-size independent (CPU batches of 4-8, DDP without SyncBN)."""
    return nn.GroupNorm(min(32, max(1, c // 8)), c)


def conv_norm(cin: int, cout: int, k: int = 3, dilation: int = 1) -> nn.Sequential:
    """``k x k`` convolution (same padding, optional dilation) + GroupNorm + ReLU."""
    pad = dilation * (k // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False), norm(cout),
                         nn.ReLU(inplace=True))


def aspp_rates(stride: int) -> list[int]:
    """ASPP dilation rates for a feature map of ``stride``: the OS-16 rates scaled by ``16 / stride``.

    Example:
        >>> aspp_rates(16), aspp_rates(32), aspp_rates(8)
        ([6, 12, 18], [3, 6, 9], [12, 24, 36])
    """
    return [max(1, round(r * 16 / stride)) for r in ASPP_RATES_OS16]


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, three dilated 3x3 and an image-pooling branch, then 1x1."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.rates = aspp_rates(stride)
        dilated = [conv_norm(cin, cout, 3, r) for r in self.rates]
        self.branches = nn.ModuleList([conv_norm(cin, cout, 1), *dilated])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                                  nn.ReLU(inplace=True))
        self.project = conv_norm(cout * 5, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, dim=1))


class DeepLabV3Plus(nn.Module):
    """Backbone + ASPP (deepest feature) + decoder (stride-4 skip) -> features ``[B, feature_dim, H/4, W/4]``.

    The output ends with a ReLU, so features are non-negative (ZS3Net's generator reproduces that).

    Args:
        backbone: any :class:`~core.models.backbones.Backbone` with a stride-4 map.
        feature_dim: K, the width of the decoder and of the output features.
        aspp_dim: ASPP width (default ``feature_dim``).
        low_dim: width of the projected stride-4 skip (48 in DeepLabv3+).

    Example:
        >>> from core.models.backbones import build_backbone
        >>> head = DeepLabV3Plus(build_backbone("tiny", pretrained=False), feature_dim=32)
        >>> head(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 32, 16, 16])
    """

    def __init__(self, backbone: Backbone, feature_dim: int = 256, aspp_dim: int | None = None,
                 low_dim: int = 48) -> None:
        super().__init__()
        if 4 not in backbone.strides:
            raise ValueError(f"DeepLabv3+ needs a stride-4 feature map; the backbone has {backbone.strides}")
        self.backbone = backbone
        aspp_dim = aspp_dim or feature_dim
        self.low_index = backbone.strides.index(4)
        self.aspp = ASPP(backbone.channels[-1], aspp_dim, backbone.strides[-1])
        self.low_proj = conv_norm(backbone.channels[self.low_index], low_dim, 1)
        self.decoder = nn.Sequential(conv_norm(aspp_dim + low_dim, feature_dim),
                                     conv_norm(feature_dim, feature_dim))
        self.feature_dim = feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(images)
        deep = self.aspp(feats[-1])
        low = self.low_proj(feats[self.low_index])
        deep = F.interpolate(deep, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.decoder(torch.cat([deep, low], dim=1))


def head_width(backbone: str, options: dict, small: int = 64, large: int = 256) -> int:
    """Feature width: ``options['feature_dim']``, else 64 for tiny/effnet backbones and 256 (paper) otherwise.

    Example:
        >>> head_width("tiny", {}), head_width("resnet101", {}), head_width("tiny", {"feature_dim": 32})
        (64, 256, 32)
    """
    return int(options.get("feature_dim", small if backbone in ("tiny", "effnet-lite0") else large))


def embedding_head(config) -> DeepLabV3Plus:
    """The DeepLabv3+ head over ``config.backbone`` for the methods that score class embeddings (SPNet, DeViSE,
    ZS3Net); refuses a config without embeddings."""
    if config.embed_dim <= 0:
        raise ValueError(f"{config.method} needs class embeddings: embed_dim > 0, not {config.embed_dim}")
    backbone = build_backbone(config.backbone, pretrained=config.pretrained)
    return DeepLabV3Plus(backbone, head_width(config.backbone, config.options))
