"""Generator, shared discriminator trunk, D head and Q head (paper Sec. 5 and Appendix C).

D and Q share every convolution: Q is only an extra head on D's features, which is what makes the mutual
information term nearly free to compute. For MNIST with base_channels=64, fc_dim=1024 these are exactly the
paper's Table 1 networks.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from .config import InfoGANConfig

LEAKY_SLOPE = 0.1  # the paper's leaky-ReLU slope for D


def _channels(config: InfoGANConfig) -> list[int]:
    """Conv channels from the highest resolution to the base resolution, e.g. [64, 128] for MNIST."""
    return [config.base_channels * 2**i for i in range(config.num_upsamples)]


class Generator(nn.Module):
    """G(z, c): FC layer(s) to a small feature map, then stride-2 transposed convs up to the image; sigmoid output."""

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__()
        channels = _channels(config)
        base, deepest = config.base_resolution, channels[-1]
        self.base_shape = (deepest, base, base)
        layers: list[nn.Module] = []
        in_dim = config.latent.input_dim
        if config.fc_dim:
            layers += [nn.Linear(in_dim, config.fc_dim, bias=False), nn.BatchNorm1d(config.fc_dim), nn.ReLU(True)]
            in_dim = config.fc_dim
        layers += [nn.Linear(in_dim, deepest * base * base, bias=False), nn.BatchNorm1d(deepest * base * base)]
        layers += [nn.ReLU(True)]
        self.project = nn.Sequential(*layers)
        ups: list[nn.Module] = []
        for c_in, c_out in zip(reversed(channels), reversed(channels[:-1]), strict=False):
            ups += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        ups += [nn.ConvTranspose2d(channels[0], config.channels, 4, 2, 1), nn.Sigmoid()]
        self.upsample = nn.Sequential(*ups)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        h = self.project(latent).view(-1, *self.base_shape)  # (B, C, b, b)
        return self.upsample(h)  # (B, channels, H, W) in [0, 1]


class SharedTrunk(nn.Module):
    """The convolutional body shared by D and Q: image -> feature vector."""

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__()
        channels = _channels(config)
        # No batch norm on the first layer (DCGAN practice; BN on raw pixels hurts).
        layers: list[nn.Module] = [nn.Conv2d(config.channels, channels[0], 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE, True)]
        for c_in, c_out in itertools.pairwise(channels):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out)]
            layers += [nn.LeakyReLU(LEAKY_SLOPE, True)]
        layers.append(nn.Flatten())
        conv_features = channels[-1] * config.base_resolution**2
        if config.fc_dim:
            layers += [nn.Linear(conv_features, config.fc_dim, bias=False), nn.BatchNorm1d(config.fc_dim)]
            layers += [nn.LeakyReLU(LEAKY_SLOPE, True)]
        self.layers = nn.Sequential(*layers)
        self.out_features = config.fc_dim or conv_features

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.layers(image)  # (B, out_features)


class DHead(nn.Module):
    """Real/fake logit (no sigmoid: the loss uses the numerically stable logits form)."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features).squeeze(1)  # (B,)


class QHead(nn.Module):
    """Recognition head: logits per categorical code, (mean, log-std) per continuous code, flat (B, q_dim).

    Logits stay unnormalised: applying softmax here and then cross-entropy (a common bug in public ports)
    would squash the gradients.
    """

    def __init__(self, in_features: int, config: InfoGANConfig) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, config.q_hidden, bias=False),
            nn.BatchNorm1d(config.q_hidden),
            nn.LeakyReLU(LEAKY_SLOPE, True),
            nn.Linear(config.q_hidden, config.latent.q_dim),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)  # (B, q_dim)
