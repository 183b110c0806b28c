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
from collections.abc import Callable

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from torch import nn

from .devices import resolve_device

MIXED_PRECISION = ("no", "bf16")


class Parallel:
    """Rank, world size and device of this process, plus the wrappers that make its networks train together.

    With one process nothing is wrapped: `prepare` returns the module itself (compiled or under autocast if asked).
    """

    def __init__(self, device: str = "auto", mixed_precision: str = "no", compile: bool = False) -> None:
        if mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {mixed_precision!r}")
        launcher_precision = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
        if launcher_precision != "no":
            raise ValueError(
                f"accelerate launch set mixed precision {launcher_precision!r}; this trainer does its own: launch with "
                "--mixed_precision no (or an accelerate config without it) and pass --mixed-precision bf16 to train.py"
            )
        # device_placement=False: we move tensors ourselves, so `--device cuda:1` or mps keep working in one process.
        # Mixed precision is our own autocast (below), not Accelerate's: its version patches each module's forward,
        # which would follow the weights into saved and exported models.
        # cpu=True is also what makes Accelerate see a CPU-only multi-process launch (gloo) at all.
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
        if mixed_precision == "bf16" and self.device.type != "cuda":
            raise ValueError(f"mixed_precision 'bf16' needs CUDA (on {self.device.type} it is slower); use 'no'")
        self.bf16 = mixed_precision == "bf16"
        self.compile = compile

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

    def runner(self, module: nn.Module) -> Callable[..., torch.Tensor]:
        """`module` as the training loop calls it: compiled if asked, under bf16 autocast if asked, fp32 out.

        Weights (and Adam's moments) stay fp32; autocast runs matmuls and convolutions in bf16, and the float32
        output keeps every loss in full precision.
        """
        run = torch.compile(module) if self.compile else module
        if not self.bf16:
            return run

        def autocast_run(*args: torch.Tensor) -> torch.Tensor:
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                return run(*args).float()

        return autocast_run

    def mean(self, values: list[float]) -> list[float]:
        """The average over processes of per-process numbers (losses), identical on every process."""
        if self.world_size == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        return self.accelerator.reduce(tensor, reduction="mean").tolist()

    def wait_for_everyone(self) -> None:
        self.accelerator.wait_for_everyone()
