"""Differentiable augmentation of the images D (and optionally Q) sees (DiffAugment, Zhao et al. 2020).

With 10k faces, D memorises the training set within a few epochs and G's samples stop improving. Augmenting *both*
real and generated images before D, with ops that are differentiable w.r.t. the image, keeps D from memorising
without teaching G to draw augmented images (the augmentation sits after G, so G is judged on what D sees after the
same random transform as the real data).

For InfoGAN the codes must stay readable: an op that destroys what a code controls (colour jitter for a hair-colour
code, translation for a position code) must not be applied to Q's input. So D and Q take separate policies
(`TrainConfig.augment` and `TrainConfig.q_augment`). A small translation on Q's input makes the categorical code
describe what is drawn rather than where, which helped MNIST digits (see the README's results).

A policy is a comma-separated list of ops, each optionally with a strength: "translation:0.125,cutout:0.5,color".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)


class Rows(NamedTuple):
    """Draw random parameters for `total` images, apply those of rows `mine` (see `augment`)."""

    total: int
    mine: slice


DEFAULT_STRENGTH = {"translation": 0.125, "cutout": 0.5, "color": 1.0, "rotation": 0.17}


def _where(generator: torch.Generator | None) -> torch.device:
    """Random parameters are drawn where the generator lives (the CPU without one): the trainer's generator is on
    its device, so a step draws them there and never waits for a host-to-device copy."""
    return generator.device if generator is not None else torch.device("cpu")


def _translation(x: torch.Tensor, ratio: float, generator: torch.Generator | None, rows: Rows) -> torch.Tensor:
    """Shift each image by up to ±ratio·size pixels in x and y (zero padding); integer shifts, no blurring."""
    b, _, h, w = x.shape
    sh, sw = round(h * ratio), round(w * ratio)
    if sh == 0 and sw == 0:
        return x
    dy = torch.randint(-sh, sh + 1, (rows.total, 1, 1), generator=generator, device=_where(generator))
    dx = torch.randint(-sw, sw + 1, (rows.total, 1, 1), generator=generator, device=_where(generator))
    dy, dx = dy[rows.mine].to(x.device), dx[rows.mine].to(x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) + dy  # (B, H, 1) source row for each target row
    xs = torch.arange(w, device=x.device).view(1, 1, w) + dx  # (B, 1, W)
    padded = F.pad(x, (1, 1, 1, 1))  # index 0 and size+1 are the zero border
    ys = (ys + 1).clamp(0, h + 1).expand(b, h, w)
    xs = (xs + 1).clamp(0, w + 1).expand(b, h, w)
    flat = padded.flatten(2)  # (B, C, (H+2)(W+2))
    index = (ys * (w + 2) + xs).flatten(1).unsqueeze(1).expand(-1, x.shape[1], -1)
    return flat.gather(2, index).view_as(x)


def _cutout(x: torch.Tensor, ratio: float, generator: torch.Generator | None, rows: Rows) -> torch.Tensor:
    """Zero one random square of side ratio·size per image (DiffAugment's cutout)."""
    _, _, h, w = x.shape
    ch, cw = max(1, round(h * ratio)), max(1, round(w * ratio))
    top = torch.randint(0, h - ch + 1, (rows.total, 1, 1), generator=generator, device=_where(generator))
    left = torch.randint(0, w - cw + 1, (rows.total, 1, 1), generator=generator, device=_where(generator))
    top, left = top[rows.mine].to(x.device), left[rows.mine].to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def _color(x: torch.Tensor, strength: float, generator: torch.Generator | None, rows: Rows) -> torch.Tensor:
    """Random brightness, saturation and contrast (DiffAugment's ranges, rescaled to images in [0, 1])."""

    def uniform(low: float, high: float) -> torch.Tensor:
        u = torch.rand(rows.total, 1, 1, 1, generator=generator, device=_where(generator))[rows.mine].to(x.device)
        return low + (high - low) * u

    x = x + strength * uniform(-0.25, 0.25)  # brightness (±0.5 on DiffAugment's [-1, 1] scale)
    mean = x.mean(dim=1, keepdim=True)
    x = mean + (x - mean) * (1 + strength * uniform(-1.0, 1.0))  # saturation ×[0, 2]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * (1 + strength * uniform(-0.5, 0.5))  # contrast ×[0.5, 1.5]


def _rotation(x: torch.Tensor, ratio: float, generator: torch.Generator | None, rows: Rows) -> torch.Tensor:
    """Rotate each image about its centre by up to ±ratio·90° (bilinear, zero fill); 0.17 is about ±15°.

    For Q's *categorical* reading of digits (`TrainConfig.q_augment_categorical`): a digit's identity survives a small
    rotation, its slant does not, so the category cannot be spent on slant, which is the continuous codes' job.
    """
    u = torch.rand(rows.total, generator=generator, device=_where(generator))[rows.mine]
    angle = (u * 2 - 1).to(x.device) * ratio * torch.pi / 2
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


OPS: dict[str, Callable[[torch.Tensor, float, torch.Generator | None, Rows], torch.Tensor]] = {
    "translation": _translation,
    "cutout": _cutout,
    "color": _color,
    "rotation": _rotation,
}


def parse_policy(policy: str) -> list[tuple[str, float]]:
    """'translation:0.1,cutout' -> [('translation', 0.1), ('cutout', 0.5)]; a clear error for unknown ops."""
    ops: list[tuple[str, float]] = []
    for item in filter(None, (part.strip() for part in policy.split(","))):
        name, _, strength = item.partition(":")
        if name not in OPS:
            raise ValueError(f"unknown augmentation {name!r} in {policy!r}; choose from {sorted(OPS)}")
        try:
            value = float(strength) if strength else DEFAULT_STRENGTH[name]
        except ValueError:
            raise ValueError(f"augmentation {item!r}: the strength after ':' must be a number") from None
        if not 0 <= value <= 1:
            raise ValueError(f"augmentation {item!r}: strength must lie in [0, 1]")
        ops.append((name, value))
    return ops


def augment(
    images: torch.Tensor,
    policy: str,
    generator: torch.Generator | None = None,
    global_batch: int | None = None,
    first_row: int = 0,
) -> torch.Tensor:
    """Apply `policy` to a batch (B, C, H, W); an empty policy returns the batch unchanged. Differentiable.

    In multi-process training `images` are rows [first_row, first_row + B) of a global batch: the random parameters
    are drawn for the whole `global_batch` and this process keeps its rows, so every process's generator stays in
    step and the draws are those of a one-process run.
    """
    total = len(images) if global_batch is None else global_batch
    rows = Rows(total, slice(first_row, first_row + len(images)))
    for name, strength in parse_policy(policy):
        images = OPS[name](images, strength, generator, rows)
    return images
