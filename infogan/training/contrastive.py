"""InfoGAN-CR's contrastive regulariser (Lin et al., ICML 2020, Sec. 4): an optional extra term for disentanglement.

Draw two latent vectors that share the value of one code k (chosen at random) and differ in everything else, generate
both images, and ask a classifier H, which sees the pair, which code they share. G and H both minimise H's
cross-entropy: G is pushed to make each code change the image in its own recognisable way, which is what the
disentanglement scores reward and what the plain information term does not ask for (it only asks that each code be
recoverable, not that codes act differently). Off by default (`TrainConfig.cr_weight = 0`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn

from ..config import InfoGANConfig
from ..latent import LatentSpec
from ..networks import SharedTrunk


class PairClassifier(nn.Module):
    """H(x, x'): which code an image pair shares; a D-like trunk on the two images stacked as channels."""

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__()
        if len(config.latent.codes) < 2:
            raise ValueError("the contrastive regulariser needs at least two codes (it asks which one a pair shares)")
        self.trunk = SharedTrunk(config)  # D's architecture, with its own weights...
        first = self.trunk.layers[0]
        self.trunk.layers[0] = nn.Conv2d(2 * config.channels, first.out_channels, 4, 2, 1)  # ...reading two images
        self.head = nn.Linear(self.trunk.out_features, len(config.latent.codes))

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(torch.cat([first, second], dim=1)))  # (B, n_codes) logits


def sample_pairs(
    spec: LatentSpec, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor]:
    """Two latent draws of n vectors each, where pair i shares code `shared[i]` and nothing else (z included).

    Drawn where `generator` lives (the CPU without one), then moved to `device`, as `LatentSpec.sample`."""
    first, second = spec.sample(n, generator, device), spec.sample(n, generator, device)
    where = generator.device if generator is not None else torch.device("cpu")
    shared = torch.randint(len(spec.codes), (n,), generator=generator, device=where).to(device)  # (n,) code index
    for k, code in enumerate(spec.codes):
        same = shared == k
        second[code.name] = torch.where(same, first[code.name], second[code.name])
    return first, second, shared


def contrastive_loss(logits: torch.Tensor, shared: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of H's guess of the shared code; minimised by both H and G."""
    return F.cross_entropy(logits, shared)
