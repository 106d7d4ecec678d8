"""Training data under the zero-shot protocol: a seen-classes-only view, deterministic batches per step.

Batches depend only on (seed, step): a resumed run, or a run split across ``torchrun`` ranks, sees exactly the
images a single uninterrupted process would have seen. Every batch's labels are checked: an unseen-class pixel
with a non-ignore target stops training (``ProtocolError``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from core.data.base import IGNORE_INDEX, SegDataset, check_same_size
from core.data.zeroshot import ZeroShotView, assert_no_unseen
from core.errors import DatasetError
from core.models.base import IMAGENET_MEAN, IMAGENET_STD

_MEAN = np.array(IMAGENET_MEAN, np.float32) * 255
_STD = np.array(IMAGENET_STD, np.float32) * 255


def resize_pair(image: np.ndarray, label: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize so the short side is ``size`` (area for images, nearest for labels)."""
    h, w = image.shape[:2]
    if min(h, w) == size:
        return image, label
    scale = size / min(h, w)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(image, new, interpolation=interp)
    if label is not None:
        label = cv2.resize(label, new, interpolation=cv2.INTER_NEAREST)
    return image, label


def random_crop(image: np.ndarray, label: np.ndarray, size: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random ``size`` square crop and, half the time, a horizontal flip of an image and its label map."""
    h, w = label.shape
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    image, label = image[y : y + size, x : x + size], label[y : y + size, x : x + size]
    if rng.random() < 0.5:
        image, label = image[:, ::-1], label[:, ::-1]
    return image, label


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` -> ImageNet-normalised float ``[B, 3, H, W]``."""
    x = (images.astype(np.float32) - _MEAN) / _STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


@dataclass
class Batch:
    images: torch.Tensor  # [B, 3, S, S] normalised
    labels: torch.Tensor  # [B, S, S] int64 in dataset indices, 255 ignore
    ids: list[str]


class TrainData:
    """The seen-class training (or validation) split of a dataset, kept in memory at the training size.

    Args:
        dataset: a dataset (``LayoutDataset`` or a papers' loader).
        split: split name (``train`` / ``val``).
        unseen: unseen class names (default: the dataset's).
        view: ``drop`` (ZS3Net: images with unseen pixels removed) or ``ignore`` (SPNet: unseen pixels -> 255).
        size: training resolution (short side, then square crops).
        limit: keep only the first ``limit`` images (evaluation subsets).
        holdout: if > 0, every ``holdout``-th image of the split is held out (validation) and the rest kept;
            ``held_out=True`` selects the held-out images instead.

    Example:
        >>> data = TrainData(LayoutDataset("/data/shapes"), "train", size=96)  # doctest: +SKIP
        >>> batch = data.batch(step=0, batch_size=8, seed=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: SegDataset,
        split: str,
        *,
        unseen: tuple[str, ...] | None = None,
        view: str = "drop",
        size: int = 96,
        limit: int | None = None,
        holdout: int = 0,
        held_out: bool = False,
    ) -> None:
        self.view = ZeroShotView(dataset, unseen=unseen, mode=view)
        self.classes = dataset.classes
        self.unseen = self.view.unseen
        self.unseen_indices = self.view.unseen_indices
        self.seen = tuple(c for c in self.classes[1:] if c not in self.unseen)
        self.seen_indices = tuple(self.classes.index(c) for c in self.seen)
        self.size = size
        ids = self.view.ids(split)
        if holdout > 0:
            ids = [i for k, i in enumerate(ids) if (k % holdout == 0) == held_out]
        if limit is not None:
            ids = ids[:limit]
        if not ids:
            raise DatasetError(
                f"split {split!r} has no usable images (after removing images with unseen classes: "
                f"{len(self.view.dropped.get(split, []))} dropped); check the dataset and unseen.txt"
            )
        self.ids = ids
        self.images: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        for sample_id in ids:
            image, label = self.view.image(sample_id), self.view.label(sample_id)
            check_same_size(image, label, dataset.label_where(sample_id))
            image, label = resize_pair(image, label, size)
            assert_no_unseen(label, self.unseen_indices, where=f"training image {sample_id!r}")
            self.images.append(image)
            self.labels.append(label)

    def __len__(self) -> int:
        return len(self.ids)

    def indices(self, step: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> np.ndarray:
        """The image indices of ``step``'s global batch that belong to ``rank`` (a pure function of its args)."""
        rng = np.random.default_rng([seed, step])
        chosen = rng.choice(len(self), size=batch_size, replace=len(self) < batch_size)
        return chosen[rank::world]

    def batch(self, step: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> Batch:
        """Random square crops and horizontal flips of ``step``'s images (deterministic in step and seed)."""
        images, labels = [], []
        idx = self.indices(step, batch_size, seed, rank, world)
        for i in idx:
            rng = np.random.default_rng([seed, step, int(i)])
            image, label = random_crop(self.images[i], self.labels[i], self.size, rng)
            images.append(image)
            labels.append(label)
        lab = np.stack(labels)
        assert_no_unseen(lab, self.unseen_indices)
        return Batch(to_tensor(np.stack(images)), torch.from_numpy(lab.astype(np.int64)), [self.ids[i] for i in idx])

    def eval_batches(self, batch_size: int):
        """Whole images in order (same size only: shapes sets; otherwise one image per batch)."""
        same = len({lab.shape for lab in self.labels}) == 1
        step = batch_size if same else 1
        for start in range(0, len(self), step):
            imgs = np.stack(self.images[start : start + step])
            labs = np.stack(self.labels[start : start + step])
            yield to_tensor(imgs), labs


__all__ = ["IGNORE_INDEX", "Batch", "TrainData", "random_crop", "resize_pair", "to_tensor"]
