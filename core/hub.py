"""Where the image backbones' ImageNet weights live, without importing torch (the app checks before training).

torchvision's weight enums name the file (``VGG16_Weights.IMAGENET1K_V1.url``); torch keeps downloads in
``<torch hub dir>/checkpoints``: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``, else
``~/.cache/torch/hub`` (``torch.hub.get_dir``). A test checks these names against torchvision's enums.

Example:
    >>> missing_weights("vgg16", pretrained=True)  # doctest: +SKIP
    'ImageNet weights for vgg16 are not in the torch hub cache: download https://... and save it as ...'
"""

from __future__ import annotations

import os
from pathlib import Path

#: backbone -> URL of the torchvision weight enum it loads (core.models.backbones).
TORCHVISION_WEIGHTS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "resnet101": "https://download.pytorch.org/models/resnet101-cd907fc2.pth",
}


def hub_dir() -> Path:
    """``torch.hub.get_dir()``, computed the way torch does."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "torch" / "hub"


def weights_file(backbone: str) -> Path | None:
    """The hub-cache file a torchvision backbone's ImageNet weights are read from; None for other backbones."""
    url = TORCHVISION_WEIGHTS.get(backbone)
    return hub_dir() / "checkpoints" / url.rsplit("/", 1)[-1] if url else None


def missing_weights(backbone: str, pretrained: bool) -> str:
    """A labeler-readable problem when ImageNet weights were asked for and are not on disk; '' when fine."""
    path = weights_file(backbone) if pretrained else None
    if path is None or path.is_file():
        return ""
    return (f"ImageNet weights for {backbone} are not in the torch hub cache: download "
            f"{TORCHVISION_WEIGHTS[backbone]} and save it as {path}, or untick ImageNet weights")
