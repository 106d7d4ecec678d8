"""Dense ImageNet concepts: EfficientNet-Lite0's classifier applied at every position of its last feature map.

The ``_fc`` layer is a 1x1 convolution over ``relu6(bn(_conv_head(features)))`` (class activation maps); a softmax
over the 1,000 classes at each position gives per-pixel concept probabilities. To make the maps fine enough to label
with and to see objects of every size:

* the last stage runs without its stride (dilation 2 instead, as DeepLab does), so the main scale has stride 16;
* a second pass at half the resolution (objects the size the classifier was trained on) is upsampled and averaged
  in;
* each position's distribution is mixed (geometric mean, weight ``context``) with the image-level distribution of
  the same pass, so a concept the whole image does not support stays weak everywhere: scores mean the same on
  every image, and absent classes stay absent when a project lists many names.

The encoder (see :class:`ConceptSegmenter`) returns ``(concepts, strokes, guide)``; the scorer turns a class's
concept weights into a calibrated logit per pixel, refined to the image's edges (:mod:`core.photo.refine`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.models.backbones import EfficientNetLite0Classifier, MBConv, effnet_lite0_classifier
from core.models.base import IMAGENET_MEAN, IMAGENET_STD
from core.photo.refine import guide_statistics, guided_filter_with

#: Index of the last stride-2 block of EfficientNet-Lite0 (stage 6): run with stride 1 and the blocks after it
#: with dilation 2.
LAST_STRIDE_BLOCK = 11


def _same(x: torch.Tensor, conv: nn.Conv2d, stride: int, dilation: int) -> torch.Tensor:
    """``conv`` with TF "SAME" padding at an explicit stride and dilation (odd kernels)."""
    k = conv.kernel_size[0]
    if stride == 1:
        pad = dilation * (k // 2)
        return F.conv2d(x, conv.weight, conv.bias, 1, pad, dilation, conv.groups)
    return conv(x)


def _block(block: MBConv, x: torch.Tensor, stride: int, dilation: int) -> torch.Tensor:
    y = F.relu6(block._bn0(block._expand_conv(x))) if block.has_expand else x
    y = F.relu6(block._bn1(_same(y, block._depthwise_conv, stride, dilation)))
    y = block._bn2(block._project_conv(y))
    return x + y if block.residual else y


class DenseConcepts(nn.Module):
    """EfficientNet-Lite0 run densely: ``taps`` (stride 8, 16 and the head's input) and concept logits."""

    def __init__(self, classifier: EfficientNetLite0Classifier, dilate: bool = True) -> None:
        super().__init__()
        self.net = classifier
        self.dilate = dilate

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """ImageNet-normalised ``[B, 3, H, W]`` -> ([stride-8 (40 ch), stride-16 (112 ch), last (320 ch)],
        concept logits ``[B, 1000, h, w]`` at the last map's stride)."""
        b = self.net.backbone
        x = F.relu6(b._bn0(b._conv_stem(x * b.in_scale + b.in_shift)))
        taps = []
        for i, block in enumerate(b._blocks):
            if self.dilate and i >= LAST_STRIDE_BLOCK:
                x = _block(block, x, 1, 1 if i == LAST_STRIDE_BLOCK else 2)
            else:
                x = block(x)
            if i in (4, 10):
                taps.append(x)
        taps.append(x)
        head = F.relu6(self.net._bn1(self.net._conv_head(x)))
        fc = self.net._fc
        logits = F.conv2d(head, fc.weight[:, :, None, None], fc.bias)
        return taps, logits


def _mix(logits: torch.Tensor, context: float, temperature: float) -> torch.Tensor:
    """Per-position log-probabilities mixed with the image-level ones: ``(1 - c) log p(x) + c log P``,
    renormalised over the concepts."""
    local = F.log_softmax(logits / temperature, dim=1)
    image = F.log_softmax(logits.mean(dim=(2, 3), keepdim=True), dim=1)
    return F.softmax((1 - context) * local + context * image, dim=1)


class ConceptEncoder(nn.Module):
    """The photo model's encoder graph: image -> ``concepts``, ``strokes``, ``guide`` (shapes in the package
    docstring, :mod:`core.photo`)."""

    def __init__(self, classifier: EfficientNetLite0Classifier, scales: tuple[float, ...] = (1.0, 0.5),
                 context: float = 0.3, temperature: float = 1.0, radius: int = 24, eps: float = 1e-2) -> None:
        super().__init__()
        self.radius = radius
        self.eps = eps
        self.dense = DenseConcepts(classifier)
        self.scales = tuple(scales)
        self.context = context
        self.temperature = temperature
        mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        taps, logits = self.dense(image)
        size = logits.shape[-2:]
        concepts = _mix(logits, self.context, self.temperature)
        for scale in self.scales[1:]:
            small = F.interpolate(image, scale_factor=scale, mode="bilinear", align_corners=False,
                                  antialias=False)
            _, more = self.dense(small)
            more = F.interpolate(_mix(more, self.context, self.temperature), size=size, mode="bilinear",
                                 align_corners=False)
            concepts = concepts + more
        concepts = concepts / len(self.scales)
        fine = taps[0].shape[-2:]
        parts = [F.normalize(F.interpolate(t, size=fine, mode="bilinear", align_corners=False), dim=1)
                 for t in taps]
        strokes = torch.cat(parts, dim=1) / len(parts) ** 0.5
        rgb = F.avg_pool2d(image * self.std + self.mean, 2, ceil_mode=True)
        guide = torch.cat([rgb, guide_statistics(rgb, max(self.radius, 1), self.eps)], 1)
        return concepts, strokes, guide


class ConceptScorer(nn.Module):
    """``concepts [B, K, h, w]``, ``guide [B, 12, H/2, W/2]``, ``classes [C, K]`` -> logits ``[B, C, H/2, W/2]``.

    A class's score at a pixel is the concept probability mass of its concepts, each weighted by its share of
    the class row (rows are unit-length; divided by their maximum, a WordNet class's concepts weigh 1 each). The
    logit is ``log(mass / threshold)``: a sigmoid of it is 0.5 exactly at ``threshold`` mass, on every image.
    ``radius`` > 0 snaps the mass to the guide's edges with a colour guided filter (radius in guide pixels; the
    guide's channels 3-11 are its class-independent statistics, computed once by the encoder).
    """

    def __init__(self, threshold: float = 0.15, radius: int = 24) -> None:
        super().__init__()
        self.threshold = threshold
        self.radius = radius

    def forward(self, concepts: torch.Tensor, guide: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        weights = classes / classes.amax(dim=1, keepdim=True).clamp_min(1e-6)
        mass = torch.einsum("bkhw,ck->bchw", concepts, weights)
        mass = F.interpolate(mass, size=guide.shape[-2:], mode="bilinear", align_corners=False)
        if self.radius > 0:
            mass = guided_filter_with(guide[:, :3], guide[:, 3:], mass, self.radius)
        return torch.log(mass.clamp(1e-6, 1.0) / self.threshold)


def build_encoder_scorer(**options) -> tuple[ConceptEncoder, ConceptScorer]:
    """The encoder and scorer with the shipped ImageNet weights (options: scales, context, temperature,
    threshold, radius, eps)."""
    enc_keys = {"scales", "context", "temperature", "radius", "eps"}
    encoder = ConceptEncoder(effnet_lite0_classifier(True).eval(),
                             **{k: v for k, v in options.items() if k in enc_keys})
    scorer = ConceptScorer(**{k: v for k, v in options.items() if k in {"threshold", "radius"}})
    return encoder.eval(), scorer.eval()
