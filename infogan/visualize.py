"""Sample grids, code traversals and sweep animations, built on torchvision's `make_grid`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid

from .latent import CategoricalCode, ContinuousCode

TRAVERSAL_RANGE = 2.0  # continuous traversals sweep ±2, twice the Uniform(-1, 1) prior, as in the paper's Fig. 2


def traversal_values(code: CategoricalCode | ContinuousCode, steps: int = 9, span: float | None = None) -> list:
    """Column values for a traversal: every category, or `steps` evenly spaced values over ±span."""
    if isinstance(code, CategoricalCode):
        return list(range(code.size))
    span = TRAVERSAL_RANGE if span is None else span
    return torch.linspace(-span, span, steps).tolist()


def sample_grid(model: Any, seed: int = 0, rows: int = 8) -> torch.Tensor:
    """A grid of random samples. With a categorical code, column j shows category j (like the paper's Fig. 2a)."""
    first_cat = next((c for c in model.codes if isinstance(c, CategoricalCode)), None)
    if first_cat is None:
        return make_grid(model.generate(n=rows * rows, seed=seed).cpu(), nrow=rows, padding=2, pad_value=1.0)
    return traversal_grid(model, first_cat.name, seed=seed, rows=rows)


def traversal_grid(
    model: Any,
    code_name: str,
    seed: int = 0,
    rows: int = 8,
    steps: int = 9,
    span: float | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> torch.Tensor:
    """Rows are samples (seeds), columns sweep `code_name`; every other input stays fixed along a row."""
    images = traversal_images(model, code_name, seed=seed, rows=rows, steps=steps, span=span, fixed=fixed)
    cols = images.shape[1]
    return make_grid(images.flatten(0, 1), nrow=cols, padding=2, pad_value=1.0)


def traversal_images(
    model: Any,
    code_name: str,
    seed: int = 0,
    rows: int = 8,
    steps: int = 9,
    span: float | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> torch.Tensor:
    """Images (rows, cols, C, H, W) for a traversal; row i is sample i of `generate(n=rows, seed=seed)`."""
    code = model.config.latent.code(code_name)
    fixed = dict(fixed or {})
    fixed.pop(code_name, None)
    columns = [model.generate(n=rows, seed=seed, codes={**fixed, code_name: v}).cpu() for v in
               traversal_values(code, steps, span)]  # fmt: skip
    return torch.stack(columns, dim=1)


def upscale(image: torch.Tensor, size: int) -> Image.Image:
    """A (C, H, W) tensor in [0, 1] as a PIL image whose longer side is `size`, with crisp nearest-neighbour pixels."""
    pil = to_pil_image(image.clamp(0, 1).cpu())
    factor = max(1, round(size / max(pil.size)))
    return pil.resize((pil.width * factor, pil.height * factor), Image.Resampling.NEAREST)


def save_animation(frames: Sequence[Image.Image], path: str | Path, duration_ms: int = 80) -> Path:
    """Save frames as a looping GIF or WebP (by suffix), going there and back so the loop has no jump."""
    path = Path(path)
    loop = list(frames) + list(frames)[-2:0:-1]
    loop[0].save(path, save_all=True, append_images=loop[1:], duration=duration_ms, loop=0)
    return path


def save_image(grid: torch.Tensor, path: str | Path, scale: int = 1) -> Path:
    """Save a (C, H, W) grid as PNG, optionally enlarged with nearest-neighbour pixels."""
    path = Path(path)
    image = to_pil_image(grid.clamp(0, 1).cpu())
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    image.save(path)
    return path
