"""RN episodic meta-learning: which seen classes one episode scores, and its per-class targets.

Each episode samples up to ``k`` classes from the *seen* label space (RN paper: 10): the seen classes present in
the batch, then *confusable* negatives (seen classes sharing a word with a present one: "pink star" for a batch
with "pink heart"), then random seen classes. Pixels of seen classes left out of the episode are ignored in the
loss, as are 255 pixels; unseen classes never enter an episode (the batch holds none: see ``training.data``).
Without confusable negatives a model learns "colour OR shape" and fails in GZLSS (docs/training.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from core.data.base import IGNORE_INDEX
from core.embeddings import name_words


def sample_episode(
    labels: torch.Tensor,
    seen_indices: Sequence[int],
    class_names: Sequence[str],
    k: int,
    rng: np.random.Generator,
) -> list[int]:
    """Dataset class indices of one episode (present first, then confusable, then random seen classes)."""
    seen = list(seen_indices)
    present_all = [c for c in torch.unique(labels).tolist() if c in set(seen)]
    present = list(rng.permutation(present_all))[:k] if len(present_all) > k else list(present_all)
    present_words = {w for c in present for w in name_words(class_names[c])}
    others = [c for c in seen if c not in present]
    confusable = [c for c in others if present_words & set(name_words(class_names[c]))]
    rest = [c for c in others if c not in confusable]
    chosen = [int(c) for c in present]
    for pool in (confusable, rest):
        for c in rng.permutation(pool):
            if len(chosen) >= k:
                break
            chosen.append(int(c))
    return chosen


def episode_targets(labels: torch.Tensor, chosen: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary targets ``[B, K, H, W]`` and the valid-pixel mask ``[B, 1, H, W]`` of an episode.

    A pixel is valid when it is background or belongs to a chosen class; ignore (255) and unselected seen
    classes are left out of the loss (RN paper, Sec. IV).
    """
    chosen_t = torch.as_tensor(list(chosen), dtype=labels.dtype, device=labels.device)
    targets = (labels[:, None] == chosen_t[None, :, None, None]).float()
    valid = (labels == 0) | targets.bool().any(dim=1)
    valid &= labels != IGNORE_INDEX
    return targets, valid[:, None].float()


def episode_columns(targets: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Softmax targets ``[B, H, W]`` of an episode: 0 background, k + 1 the episode's k-th class, 255 for the
    pixels :func:`episode_targets` leaves out (ignore, seen classes not in the episode)."""
    columns = torch.where(targets.bool().any(dim=1), targets.argmax(dim=1) + 1, 0)
    return torch.where(valid[:, 0].bool(), columns, torch.full_like(columns, IGNORE_INDEX))
