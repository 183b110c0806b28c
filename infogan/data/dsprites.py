"""dSprites (Matthey et al. 2017), rendered procedurally: 737,280 binary 64×64 sprites from five known factors.

The original (github.com/deepmind/dsprites-dataset, Apache-2.0) is every combination of
    shape        3 values: square, ellipse, heart (latents_values 1, 2, 3)
    scale        6 values: linspace(0.5, 1, 6)
    orientation 40 values: linspace(0, 2π, 40) — endpoint included, as in the original's latents_values, so the
                           first and last orientation draw the same image (the original has this duplicate too)
    posX        32 values: linspace(0, 1, 32)
    posY        32 values: linspace(0, 1, 32)
stored in that index order with posY varying fastest, so index = ((((shape·6 + scale)·40 + orientation)·32 + posX)·32
+ posY). We keep that order, so factor classes follow from the index (`factor_classes`).

How we draw a sprite (the original's renderer is not published; these are our choices, to be compared with the
original where a copy is available):
- each shape is defined once in a box of half-size R = 10 px at scale 1: the square is 20×20 px, the ellipse
  10×20 px (tall at orientation 0), the heart 20 px across its larger side, point down, centred on its bounding box;
- rotation is counter-clockwise as displayed, about that centre (the ellipse is thus symmetric under π and the
  square under π/2, as in the original: orientation is not identifiable from the image alone for those shapes);
- rendering is 4×4 supersampled, pixel on where at least half its samples are inside (binary 0/255, no noise);
- the centre sits at image coordinate (16 + 31·posX, 16 + 31·posY) (x = column, y = row, measured in pixels from
  the top-left corner; so on a pixel corner, which keeps an unrotated square exactly 2R·scale pixels wide): one
  pixel per position step, the smallest step that changes every image, as the original README says its values
  were chosen; 16 px from the left/top border at 0 and 17 px from the right/bottom one at 1. posY grows downwards.
Rendering all 720 centred sprites once and pasting them at the 32×32 integer offsets builds the whole set in seconds.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch loads on first use: infogan.data lists this dataset without it (train.py -h)
    import torch

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
NUM_IMAGES = math.prod(FACTOR_SIZES)  # 737,280
IMAGE_SIZE = 64
SUBSET_SIZE = 100_000  # `dsprites-small`: a fixed random subset for machines where 3 GB of images is too much
SUBSET_SEED = 0

_HALF_SIZE = 10.0  # R: a scale-1 sprite fits a 2R box before rotation
_WINDOW = 32  # every sprite fits the 32×32 px window whose middle is its centre (a rotated square reaches R·√2 ≈ 14.1)
_SUPERSAMPLE = 4


def factor_values() -> tuple[np.ndarray, ...]:
    """The value of each class of each factor, in FACTOR_NAMES order, as in the original's latents_values."""
    return (
        np.arange(1.0, 4.0),  # shape: 1 square, 2 ellipse, 3 heart
        np.linspace(0.5, 1.0, 6),
        np.linspace(0.0, 2 * math.pi, 40),
        np.linspace(0.0, 1.0, 32),
        np.linspace(0.0, 1.0, 32),
    )


def factor_classes(indices: np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
    """(N, 5) int64 class of each factor for the images at `indices` of the full set (all of it by default)."""
    import torch

    flat = torch.arange(NUM_IMAGES) if indices is None else torch.as_tensor(indices, dtype=torch.int64)
    classes = []
    for size in reversed(FACTOR_SIZES):  # posY varies fastest
        classes.append(flat % size)
        flat = flat // size
    return torch.stack(classes[::-1], dim=1)


def classes_to_values(classes: torch.Tensor) -> torch.Tensor:
    """(N, 5) float64 factor values for (N, 5) factor classes."""
    import torch

    return torch.stack([torch.from_numpy(v)[classes[:, i]] for i, v in enumerate(factor_values())], dim=1)


def subset_indices() -> np.ndarray:
    """The fixed, sorted SUBSET_SIZE indices of `dsprites-small` (the same on every machine: a seeded draw)."""
    return np.sort(np.random.default_rng(SUBSET_SEED).choice(NUM_IMAGES, SUBSET_SIZE, replace=False))


def _inside(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether points (x right, y up; units of R) lie inside the unrotated unit-size shape."""
    if shape == "square":
        return (np.abs(x) <= 1) & (np.abs(y) <= 1)
    if shape == "ellipse":
        return (x / 0.5) ** 2 + y**2 <= 1
    # Heart: the implicit curve (u² + v² − 1)³ ≤ u² v³, which spans u ∈ [−1.139, 1.139], v ∈ [−1, 1.236]; mapped so
    # its larger side spans [−1, 1] and its bounding box is centred, point down.
    half_width, v_low, v_high = 1.1390, -1.0, 1.2361
    k = max(half_width, (v_high - v_low) / 2)
    u, v = x * k, y * k + (v_high + v_low) / 2
    return (u**2 + v**2 - 1) ** 3 <= u**2 * v**3


@lru_cache(maxsize=1)
def render_sprites() -> np.ndarray:
    """(3, 6, 40, 32, 32) uint8 0/1: every shape × scale × orientation, centred on the window's middle corner.

    Cached (0.7 MB, read-only): every image of the set is one of these 720 sprites shifted by whole pixels.
    """
    s = _SUPERSAMPLE
    # Sample points at sub-pixel centres, relative to the window's middle (x right, y up).
    offsets = (np.arange(_WINDOW * s) + 0.5) / s - _WINDOW / 2  # (W·s,)
    x, y = np.meshgrid(offsets, -offsets)  # (W·s, W·s); rows run downwards, so y = −row offset
    _, scales, angles, _, _ = factor_values()
    cos = np.cos(angles)[None, :, None, None]
    sin = np.sin(angles)[None, :, None, None]
    radius = (_HALF_SIZE * scales)[:, None, None, None]
    # Rotate the sample points by −θ into the sprite's own frame: the sprite appears rotated by +θ (anticlockwise).
    u = (cos * x + sin * y) / radius  # (6, 40, W·s, W·s)
    v = (-sin * x + cos * y) / radius
    sprites = np.empty((len(SHAPE_NAMES), len(scales), len(angles), _WINDOW, _WINDOW), dtype=np.uint8)
    for i, shape in enumerate(SHAPE_NAMES):
        coverage = _inside(shape, u, v).reshape(len(scales), len(angles), _WINDOW, s, _WINDOW, s).mean((3, 5))
        sprites[i] = coverage >= 0.5
    sprites.flags.writeable = False
    return sprites


def render_images(indices: np.ndarray | None = None) -> np.ndarray:
    """(N, 64, 64) uint8 0/255 images: the full set in the original's order, or only the images at `indices`."""
    if indices is not None:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or (len(indices) and (indices.min() < 0 or indices.max() >= NUM_IMAGES)):
            raise ValueError(f"dSprites indices must be a 1-D array of integers in [0, {NUM_IMAGES}), got {indices!r}")
    sprites = render_sprites() * np.uint8(255)  # (3, 6, 40, 32, 32)
    n_pos = FACTOR_SIZES[3]
    if indices is None:
        images = np.zeros((*FACTOR_SIZES, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)  # 3.0 GB
        for ix in range(n_pos):
            for iy in range(n_pos):
                # Position class k puts the window's corner at pixel k, so the sprite centre at coordinate 16 + k.
                images[:, :, :, ix, iy, iy : iy + _WINDOW, ix : ix + _WINDOW] = sprites
        return images.reshape(NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE)
    flat_sprites = sprites.reshape(-1, _WINDOW, _WINDOW)
    sprite_of = indices // (n_pos * n_pos)  # shape, scale and orientation together
    position = indices % (n_pos * n_pos)
    images = np.zeros((len(indices), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    order = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[order], np.arange(n_pos * n_pos + 1))
    for p in range(n_pos * n_pos):
        rows = order[bounds[p] : bounds[p + 1]]
        if len(rows):
            ix, iy = divmod(p, n_pos)
            images[rows, iy : iy + _WINDOW, ix : ix + _WINDOW] = flat_sprites[sprite_of[rows]]
    return images
