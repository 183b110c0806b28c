"""An exponential moving average of G's weights (`TrainConfig.ema_decay`), and the model that samples with it.

Averaging out the last steps' oscillation gives visibly cleaner samples at no training cost (Yazıcı et al. 2019).
The averaged generator is a separate copy, never trained directly; every sample, preview and saved model uses it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..model import InfoGAN

CALIBRATION_BATCHES, CALIBRATION_BATCH = 16, 256  # fresh latent batches for the averaged G's BatchNorm statistics


class WeightAverage:
    """The averaged copy of a generator, updated after every step from the live one on the device.

    The decay warms up as TensorFlow's ExponentialMovingAverage with num_updates does, min(decay, (1 + t) / (10 + t))
    after t updates (early on the average would mostly hold the random initial weights). t is a device tensor, not a
    Python number, so an update reads nothing from the host and a captured step (CUDA graph) stays correct.
    """

    def __init__(self, generator: nn.Module, decay: float, updates_done: int) -> None:
        self.generator = copy.deepcopy(generator).requires_grad_(False)
        self.decay = decay
        device = next(generator.parameters()).device
        # float64 as the Python arithmetic this replaces (bit-identical weights); MPS has no float64.
        dtype = torch.float32 if device.type == "mps" else torch.float64
        self.updates = torch.tensor(float(updates_done), dtype=dtype, device=device)

    @torch.no_grad()
    def update(self, live: nn.Module) -> None:
        """Move the average towards `live`'s weights by 1 - decay (warm-up included); no host read."""
        decay = ((1 + self.updates) / (10 + self.updates)).clamp(max=self.decay)
        weight = (1 - decay).to(torch.float32)
        for averaged, current in zip(self.generator.parameters(), live.parameters(), strict=True):
            averaged.lerp_(current, weight)
        self.updates += 1

    def restart_count(self, updates_done: int) -> None:
        """Set the number of updates done (on resume: the step the run continues from)."""
        self.updates.fill_(float(updates_done))

    @torch.no_grad()
    def export(self, model: InfoGAN, seed: int) -> InfoGAN:
        """A shallow copy of `model` whose G is the average, with BatchNorm statistics re-estimated.

        The averaged weights never ran through BatchNorm in training, so the copy's BN statistics are measured on
        fresh latent batches ("standing statistics", as BigGAN does for its EMA generator), drawn from `seed` on the
        CPU: the same batches every time, on any device.
        """
        exported = copy.copy(model)  # shallow: trunk and heads are shared, only G is swapped
        exported._modules = dict(model._modules)
        generator = copy.deepcopy(self.generator)
        spec, device = model.config.latent, next(model.parameters()).device
        rng = torch.Generator().manual_seed(seed)
        norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average over the calibration batches
        generator.train()
        for _ in range(CALIBRATION_BATCHES):
            codes = spec.sample(CALIBRATION_BATCH, generator=rng, device=device)
            generator(spec.to_generator_input(codes))
        for norm in norms:
            norm.momentum = 0.1
        exported._modules["generator"] = generator.eval()
        return exported
