"""torch.distributed glue for ``torchrun --nproc_per_node N -m training train ...`` (never a home-made launcher).

Under torchrun (``WORLD_SIZE`` > 1) the process group starts with NCCL on GPUs and gloo on CPUs; each rank takes
its slice of the step's global batch (``training.data.TrainData.indices``), BatchNorm becomes SyncBatchNorm, and
only rank 0 writes checkpoints and messages.
"""

from __future__ import annotations

import os

import torch
from torch import nn


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)``; starts the process group the first time when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as td

    if not td.is_initialized():
        td.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return td.get_rank(), td.get_world_size()


def device_for(rank: int) -> torch.device:
    """``cuda:LOCAL_RANK`` when a GPU is visible (set ``ZEROLABEL_DEVICE=cpu`` to force the CPU), else the CPU."""
    if os.environ.get("ZEROLABEL_DEVICE", "") == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    local = int(os.environ.get("LOCAL_RANK", rank))
    torch.cuda.set_device(local)
    return torch.device("cuda", local)


def wrap(module: nn.Module, world: int) -> nn.Module:
    """DistributedDataParallel when ``world`` > 1, else the module itself.

    On GPUs BatchNorm becomes SyncBatchNorm; torch's SyncBatchNorm does not run on CPU tensors, so CPU ranks
    keep per-rank BatchNorm statistics (the tiny backbone uses GroupNorm, which needs no synchronisation).
    """
    if world <= 1:
        return module
    if torch.cuda.is_available():
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if torch.cuda.is_available() and next(module.parameters()).is_cuda:
        return nn.parallel.DistributedDataParallel(module, device_ids=[torch.cuda.current_device()])
    return nn.parallel.DistributedDataParallel(module)


def global_count(count: torch.Tensor, world: int) -> torch.Tensor:
    """The loss normaliser: the count summed over ranks and divided by the world size (DDP averages grads)."""
    count = count.detach().float()
    if world <= 1:
        return count.clamp_min(1.0)
    import torch.distributed as td

    total = count.clone()
    td.all_reduce(total)
    return (total / world).clamp_min(1.0 / world)


def cleanup(world: int) -> None:
    if world > 1:
        import torch.distributed as td

        if td.is_initialized():
            td.destroy_process_group()
