"""One process's place in a training launch (Hugging Face Accelerate drives DDP), and how its networks are wrapped.

`python train.py` is one process and trains exactly as before. `torchrun --nproc_per_node N train.py` or
`accelerate launch --num_processes N train.py` starts N, and every process runs the same loop on its share of each
step (see docs/distributed.md):

- Global batch: `TrainConfig.batch_size` is the batch of one optimisation step summed over processes; process r
  takes rows [r·B/N, (r+1)·B/N) of it. Every process holds the whole dataset and the same seeded permutation, and
  draws the full global batch of latents and augmentation parameters from the shared generators before keeping its
  rows, so data order, noise and RNG states are global: the same for any N, which is what lets `--resume` change N.
- Gradients: DDP averages them over processes. Each loss is a mean over the process's rows, so the average is the
  gradient of the global batch, except for BatchNorm.
- BatchNorm: per-process statistics (plain DDP), not SyncBatchNorm. A GAN's BN normalises real and fake batches
  separately, and that stays so; only the batch it normalises over shrinks to B/N, which for GPU-sized batches
  (≥ 32 per process) changes little (measured in docs/distributed.md). SyncBatchNorm would make N processes compute
  the single-process function, but PyTorch runs it only on GPUs (not on CPU/gloo, where this is tested), and it adds
  a blocking all-gather to each of the trunk's BN layers on each of its 3–5 passes per step. Running statistics
  (used only at inference) are not synchronised either (`broadcast_buffers=False`): process 0's are saved.
"""

from __future__ import annotations

import os
import warnings

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from torch import nn

from .devices import resolve_device


class Parallel:
    """Rank, world size and device of this process, plus the wrappers that make its networks train together.

    With one process nothing is wrapped: `prepare` returns the modules themselves.
    """

    def __init__(self, device: str = "auto") -> None:
        launcher_precision = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
        if launcher_precision != "no":
            raise ValueError(
                f"accelerate launch set mixed precision {launcher_precision!r}; this trainer trains in float32 (bf16 "
                "measured slower, docs/training.md): launch with --mixed_precision no, or an accelerate config "
                "without it"
            )
        # device_placement=False: we move tensors ourselves, so `--device cuda:1` or mps keep working in one process.
        # No Accelerate mixed precision: its version patches each module's forward, which would follow the weights
        # into saved and exported models. cpu=True is also what makes Accelerate see a CPU-only multi-process launch
        # (gloo) at all.
        self.accelerator = Accelerator(
            cpu=device == "cpu" or (device == "auto" and not torch.cuda.is_available()),
            device_placement=False,
            mixed_precision="no",
            kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],
        )
        self.world_size = self.accelerator.num_processes
        self.rank = self.accelerator.process_index
        if self.world_size == 1:
            self.device = resolve_device(device)
        elif device in ("auto", "cpu", "cuda"):
            self.device = self.accelerator.device  # cuda:LOCAL_RANK, or cpu
            self.device = torch.device("cpu") if self.device.type == "cpu" else self.device
        else:
            raise ValueError(
                f"device {device!r}: with {self.world_size} processes each one's device is set by the launcher; "
                "use --device auto (one GPU per process) or cpu"
            )

    @property
    def is_main(self) -> bool:
        """Process 0 writes logs, previews and checkpoints."""
        return self.rank == 0

    def rows(self, global_batch: int) -> slice:
        """This process's rows of a global batch."""
        if global_batch % self.world_size:
            raise ValueError(
                f"batch_size {global_batch} is not divisible by the {self.world_size} processes; use a multiple of "
                f"{self.world_size} (the batch size is global: each process takes batch_size / processes)"
            )
        per_process = global_batch // self.world_size
        return slice(self.rank * per_process, (self.rank + 1) * per_process)

    def prepare(self, *objects: nn.Module | torch.optim.Optimizer) -> list:
        """DDP-wrap modules and wrap optimisers (Accelerate); with one process the modules come back as they were."""
        with warnings.catch_warnings():
            # torch deprecates broadcast_buffers for forward_sync_buffers, which would still sync at init; its own
            # advice for rank-local buffers (our BN running statistics) is to keep broadcast_buffers=False for now.
            warnings.filterwarnings("ignore", message="`broadcast_buffers` is deprecated", category=FutureWarning)
            return list(self.accelerator.prepare(*objects))

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The average over processes of a tensor of per-process numbers (summed losses), the same on every process.

        A collective: every process must call it at the same point (the training loop does, at its read-outs).
        """
        if self.world_size == 1:
            return values
        return self.accelerator.reduce(values.clone(), reduction="mean")

    def wait_for_everyone(self) -> None:
        self.accelerator.wait_for_everyone()
