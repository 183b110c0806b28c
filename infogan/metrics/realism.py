"""How realistic are the samples? A classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017) that needs no weights.

Train a fresh small CNN to tell real images from generated ones, then report its accuracy on held-out images of
both kinds: 0.5 means it cannot tell them apart, 1.0 means every sample is recognisably fake. Its held-out
cross-entropy is reported too: it still ranks models when the accuracy of both is at 1.0 (ln 2 = chance). Unlike
FID it needs no downloaded Inception network, so it runs offline, on any resolution and on grey images. Its absolute
value depends on the classifier's size and training budget, so everything is fixed here (architecture, image counts,
epochs, seeds): scores are comparable between models of the same dataset, not with published FIDs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn


@dataclass(frozen=True)
class TwoSampleSettings:
    """The fixed budget of the test; change it and scores are no longer comparable with earlier ones."""

    images_per_side: int = 4000  # real and generated each; 80 % train the critic, 20 % measure it
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0  # picks the real images, the generated images' seeds, the critic's init and batch order


class _Critic(nn.Module):
    """Three stride-2 convs and a linear layer: enough to spot blur, artefacts and wrong colours in a few epochs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 1),
        )  # fmt: skip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images * 2 - 1).squeeze(1)  # (B,) logits, real = 1


@torch.inference_mode()
def _generated(model: Any, n: int, seed: int, batch_size: int = 250) -> torch.Tensor:
    batches = [model.generate(min(batch_size, n - s), seed=seed + s).cpu() for s in range(0, n, batch_size)]
    return torch.cat(batches)


def two_sample_test(model: Any, real_images: torch.Tensor, settings: TwoSampleSettings | None = None) -> dict:
    """Held-out accuracy of a fresh critic telling `real_images` (uint8 or [0, 1] floats) from the model's samples."""
    settings = settings or TwoSampleSettings()
    n = settings.images_per_side
    if len(real_images) < n:
        raise ValueError(f"the realism test needs at least {n} real images, got {len(real_images)}")
    expected = (model.config.channels, model.config.image_size, model.config.image_size)
    if tuple(real_images.shape[1:]) != expected:
        raise ValueError(f"real images have shape {tuple(real_images.shape[1:])}, the model draws {expected}")
    g = torch.Generator().manual_seed(settings.seed)
    real = real_images[torch.randperm(len(real_images), generator=g)[:n]]
    real = real.float() / 255 if real.dtype == torch.uint8 else real.float()
    fake = _generated(model, n, seed=10_000_000 + settings.seed * n)
    split = int(0.8 * n)
    train_x = torch.cat([real[:split], fake[:split]])
    train_y = torch.cat([torch.ones(split), torch.zeros(split)])
    test_x = torch.cat([real[split:], fake[split:]])
    test_y = torch.cat([torch.ones(n - split), torch.zeros(n - split)])

    torch.manual_seed(settings.seed)
    critic = _Critic(expected[0])
    optimiser = torch.optim.Adam(critic.parameters(), lr=settings.learning_rate)
    for _ in range(settings.epochs):
        for idx in torch.randperm(len(train_x), generator=g).split(settings.batch_size):
            loss = F.binary_cross_entropy_with_logits(critic(train_x[idx]), train_y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    with torch.inference_mode():
        logits = torch.cat([critic(batch) for batch in test_x.split(500)])
    accuracy = float(((logits > 0).float() == test_y).float().mean())
    # Accuracy saturates at 1.0 once every sample is recognisable; the critic's held-out cross-entropy keeps ranking
    # models beyond that point (ln 2 ≈ 0.693 nats = chance, lower = more easily told apart).
    log_loss = float(F.binary_cross_entropy_with_logits(logits, test_y))
    return {
        "two_sample_accuracy": round(accuracy, 4),
        "critic_log_loss_nats": round(log_loss, 4),
        "held_out_images": len(test_x),
        **asdict(settings),
    }
