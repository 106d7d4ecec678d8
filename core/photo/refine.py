"""Edge-aware refinement of coarse score maps: a colour guided filter (He, Sun and Tang, 2010) in torch.

Written with separable box filters (cumulative sums, border-normalised) and a closed-form 3x3 inverse, so it exports
to ONNX and runs inside the scorer graph: the refinement costs one pass per class set, never an encoder pass.
opencv-python-headless has no ``cv2.ximgproc``, hence this implementation.

Example:
    >>> import torch
    >>> guide, p = torch.rand(1, 3, 32, 40), torch.rand(1, 2, 32, 40)
    >>> guided_filter(guide, p, 4, 1e-3).shape
    torch.Size([1, 2, 32, 40])
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _sums(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Sums over ``2r+1`` neighbours along ``dim`` (zeros outside), by a cumulative sum: O(1) per pixel."""
    pad = [0, 0, r + 1, r] if dim == 2 else [r + 1, r]
    c = torch.cumsum(F.pad(x, pad), dim=dim)
    n = x.shape[dim]
    return c.narrow(dim, 2 * r + 1, n) - c.narrow(dim, 0, n)


def box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a ``(2r+1)^2`` window, the window cut at the borders (separable cumulative sums)."""
    ones = torch.ones_like(x[:1, :1])
    return _sums(_sums(x, r, 3), r, 2) / _sums(_sums(ones, r, 3), r, 2)


def guide_statistics(guide: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    """The class-independent half of the filter: ``[B, 9, H, W]`` = window means of the guide's colours (3) and
    the inverse of their regularised covariance (6: i11, i12, i13, i22, i23, i33)."""
    mean_i = box(guide, r)
    ii = torch.stack([guide[:, i] * guide[:, j] for i in range(3) for j in range(i, 3)], 1)
    var = box(ii, r) - torch.stack([mean_i[:, i] * mean_i[:, j] for i in range(3) for j in range(i, 3)], 1)
    a11, a12, a13, a22, a23, a33 = (var[:, k] for k in range(6))
    a11, a22, a33 = a11 + eps, a22 + eps, a33 + eps
    # inverse of the symmetric 3x3 covariance by its adjugate
    c11, c12, c13 = a22 * a33 - a23 * a23, a13 * a23 - a12 * a33, a12 * a23 - a13 * a22
    c22, c23, c33 = a11 * a33 - a13 * a13, a12 * a13 - a11 * a23, a11 * a22 - a12 * a12
    det = a11 * c11 + a12 * c12 + a13 * c13
    return torch.cat([mean_i, torch.stack([c11, c12, c13, c22, c23, c33], 1) / det[:, None]], 1)


def guided_filter_with(guide: torch.Tensor, stats: torch.Tensor, p: torch.Tensor, r: int) -> torch.Tensor:
    """The per-class half: filter ``p [B, C, H, W]`` with the guide and its :func:`guide_statistics`."""
    b, c, h, w = p.shape
    mean_i = stats[:, :3]
    i11, i12, i13, i22, i23, i33 = (stats[:, 3 + k : 4 + k] for k in range(6))
    inv = [[i11, i12, i13], [i12, i22, i23], [i13, i23, i33]]
    mean_p = box(p, r)  # [B, C, H, W]
    ip = box((guide[:, :, None] * p[:, None]).reshape(b, 3 * c, h, w), r).reshape(b, 3, c, h, w)
    cov = [ip[:, j] - mean_i[:, j : j + 1] * mean_p for j in range(3)]  # 3 x [B, C, H, W]
    a = [sum(inv[i][j] * cov[j] for j in range(3)) for i in range(3)]
    bias = mean_p - sum(a[i] * mean_i[:, i : i + 1] for i in range(3))
    return sum(box(a[i], r) * guide[:, i : i + 1] for i in range(3)) + box(bias, r)


def guided_filter(guide: torch.Tensor, p: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    """Filter ``p [B, C, H, W]`` with the colour ``guide [B, 3, H, W]`` (values in [0, 1]).

    The output is locally an affine function of the guide's colours, so it follows the image's edges: a coarse
    score map takes the object's outline. ``eps`` sets how strong an edge must be to be kept.
    """
    return guided_filter_with(guide, guide_statistics(guide, r, eps), p, r)
