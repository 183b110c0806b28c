"""Run under torchrun by tests/test_distributed.py: each process records the gradients of a few training steps.

`python -m torch.distributed.run --standalone --nproc_per_node 2 tests/ddp_worker.py OUT` writes OUT/grads_rank{r}.pt.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from infogan.training.trainer import TrainConfig, Trainer
from tests.conftest import synthetic_shapes, tiny_config

# lr = 0: the weights stay put, so a one-process reference can recompute each process's gradients for every step.
# Different D and Q augmentations make the trunk run three times in the D/Q pass; the EMA runs after each G step.
CONFIG = TrainConfig(dataset="folder", device="cpu", steps=3, batch_size=16, lr_g=0.0, lr_d=0.0,
                     augment="translation,cutout", q_augment="translation", ema_decay=0.9, log_every=10**6,
                     sample_every=10**6, checkpoint_every=10**6)  # fmt: skip


def record_gradients(trainer: Trainer) -> list[list[torch.Tensor]]:
    """Per step: the D/Q side's gradients as opt_d steps, then G's as opt_g steps (after DDP's all-reduce)."""
    recorded: list[list[torch.Tensor]] = []
    for optimizer in (trainer.opt_d, trainer.opt_g):
        params = [p for group in optimizer.param_groups for p in group["params"]]

        def step(original=optimizer.step, params=params) -> None:
            recorded.append([p.grad.detach().clone() for p in params])
            original()

        optimizer.step = step
    for _ in range(trainer.config.steps):
        trainer.train_step(trainer.next_batch())
    return recorded


def make_trainer(out: Path) -> Trainer:
    torch.set_num_threads(1)
    return Trainer(tiny_config(), CONFIG, synthetic_shapes(64), out)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    trainer = make_trainer(out)
    torch.save(record_gradients(trainer), out / f"grads_rank{trainer.parallel.rank}.pt")
