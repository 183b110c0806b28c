"""Pictures of a model: one crisp upscaled image, the `generate` API's PNG, labelled traversal grids and the
animation frames of a sweep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ..export.visualize import (
    balanced_columns,
    cell_scale,
    column_labels,
    column_values,
    draw_frame,
    draw_traversal,
    format_value,
    label_order,
    prior_mask,
    purity_notes,
    traversal_caption,
    traversal_images,
    upscale,
)
from ..latent import CategoricalCode, LatentCode
from ..model import InfoGAN
from .codes import allowed_codes, category_purity, category_text, parse_codes, parse_seed, slider_range
from .outputs import OutputStore, download_stem
from .registry import ModelRegistry

DISPLAY_SIZE = 448  # longer side of the explorer image: 28 px × 16, 64 px × 7 — big, with whole-pixel upscaling
MAX_TRAVERSAL_ROWS = 10
MAX_ANIMATION_FRAMES = 48


def render(model: InfoGAN, seed: int, codes: Mapping[str, Any], size: int = DISPLAY_SIZE) -> Image.Image:
    """One image for (seed, codes), upscaled with nearest-neighbour pixels so it stays crisp."""
    image = model.generate(n=1, seed=seed, codes=codes)[0]  # (C, H, W)
    return upscale(image, size)


def generate_file(registry: ModelRegistry, store: OutputStore, model_name: Any, seed: Any, codes: Any) -> Path:
    """The `generate` API: validate a model name, seed and codes object, render, save a PNG named after them."""
    model = registry.get(model_name)
    try:
        values = parse_codes(model, codes)
    except ValueError as err:
        raise ValueError(f"{err}. Model {model_name!r} takes: {allowed_codes(model)}") from None
    seed = parse_seed(seed)
    return store.save_image(render(model, seed, values), download_stem(model_name, seed, values, model))


def traversal_rows(model: InfoGAN, code_name: str, rows: str, n_seeds: int = 6) -> tuple[int, dict[str, Any]]:
    """How to fill the rows of a traversal: "seeds" (n samples) or the name of a categorical code (its categories).

    Returns the row count and the codes to fix per row.
    """
    if rows == "seeds":
        return max(1, min(MAX_TRAVERSAL_ROWS, n_seeds)), {}
    code = model.config.latent.code(rows)
    if not isinstance(code, CategoricalCode):
        raise ValueError(f"rows must be 'seeds' or a categorical code, got continuous code {rows!r}")
    if rows == code_name:
        raise ValueError(f"rows and columns both sweep {rows!r}; pick 'seeds' or another categorical code for rows")
    size = min(code.size, MAX_TRAVERSAL_ROWS)
    return size, {rows: list(range(size))}


def row_options(model: InfoGAN, code_name: str) -> list[tuple[str, str]]:
    """Choices for what the traversal rows show."""
    options = [("several seeds", "seeds")]
    options += [(f"each {c.name}", c.name) for c in model.config.latent.categorical if c.name != code_name]
    return options


def traversal(
    model: InfoGAN,
    code_name: str,
    seed: int,
    codes: Mapping[str, Any] | None = None,
    rows: str = "seeds",
    steps: int = 9,
    frames: int = 24,
    size: int = 720,
    title: str = "",
) -> tuple[Image.Image, list[Image.Image]]:
    """A labelled traversal grid (rows × code values) and labelled animation frames sweeping the same code.

    `codes` fixes the other codes (the Explore state). The grid's caption names the code, its note and what the rows
    are; its columns carry the values with the prior shaded. Each frame shows the current value on a track with the
    prior band. `size` is the grid's approximate width (whole-pixel upscaling); `title` (e.g. the model's name)
    starts the caption.
    """
    n_rows, fixed = traversal_rows(model, code_name, rows)
    fixed = {**(codes or {}), **fixed}
    fixed.pop(code_name, None)
    code = model.config.latent.code(code_name)
    span = _traversal_span(code)
    values = column_values(code, steps, span)
    labels = _row_labels(model, rows, seed, n_rows)
    if rows != "seeds":  # one row per category, in label order
        order = label_order(model.config.latent.code(rows))[:n_rows]  # type: ignore[arg-type]
        fixed[rows] = order
        labels = [labels[i] for i in order]
    images = traversal_images(model, code_name, seed=seed, rows=n_rows, values=values, fixed=fixed)
    scale = cell_scale(model.config.image_size, len(values), size, n_rows)
    caption = _caption(model, code, rows, seed, codes)
    grid = draw_traversal(images, column_labels(code, values), labels, f"{title} · {caption}" if title else caption,
                          prior_mask(code, values), scale, purity_notes(model, code, values))  # fmt: skip
    return grid, _sweep_frames(model, code, seed, n_rows, fixed, labels, frames, span)


def _sweep_frames(
    model: InfoGAN,
    code: LatentCode,
    seed: int,
    n_rows: int,
    fixed: Mapping[str, Any],
    labels: Sequence[str],
    frames: int,
    span: float | None,
) -> list[Image.Image]:
    """Animation frames: every row at one value of `code`, titled "code = value", tiles in balanced columns."""
    if isinstance(code, CategoricalCode):
        values: list[Any] = label_order(code)
    else:
        values = torch.linspace(-span, span, max(2, min(MAX_ANIMATION_FRAMES, frames))).tolist()  # type: ignore[operator]
    sweep = traversal_images(model, code.name, seed=seed, rows=n_rows, values=values, fixed=fixed)
    scale = cell_scale(model.config.image_size, balanced_columns(n_rows), 420)
    out = []
    for j, value in enumerate(values):
        if isinstance(code, CategoricalCode):
            title, position, prior = f"{code.name} = {category_text(code, value)}", None, None
        else:
            title = f"{code.name} = {format_value(value)}"
            position = (value + span) / (2 * span)  # type: ignore[operator]
            prior = ((code.low + span) / (2 * span), (code.high + span) / (2 * span))  # type: ignore[operator]
        out.append(draw_frame(sweep[:, j], labels, title, position, prior, scale))
    return out


def _row_labels(model: InfoGAN, rows: str, seed: int, n_rows: int) -> list[str]:
    """Row labels by row index: "#1 (Explore)" … for noise samples, "7 (98 %)" … for the categories of a code."""
    if rows == "seeds":
        return ["#1 (Explore)" if i == 0 else f"#{i + 1}" for i in range(n_rows)]
    code = model.config.latent.code(rows)
    purity = category_purity(model, rows)
    return [f"{rows} {category_text(code, i, purity)}" for i in range(code.size)]  # type: ignore[arg-type]


def _caption(model: InfoGAN, code: LatentCode, rows: str, seed: int, codes: Mapping[str, Any] | None) -> str:
    """The grid's caption: code name and note, what columns and rows are, and the other codes held fixed."""
    note = (model.config.metadata.get("code_notes") or {}).get(code.name, "")
    if rows == "seeds":
        row_text = f"rows: noise samples of seed {seed} (#1 is the Explore image)"
    else:
        row_text = f"rows: each {rows} (same noise, seed {seed})"
    others = {k: v for k, v in (codes or {}).items() if k not in (code.name, rows)}
    if others:
        shown = [f"{k}={format_value(v) if isinstance(v, float) else v}" for k, v in others.items()]
        row_text += "; fixed: " + ", ".join(shown)
    return traversal_caption(code, note, row_text)


def _traversal_span(code: LatentCode) -> float | None:
    """Continuous traversals sweep the slider range (±2 for a Uniform(-1, 1) prior, as in the paper's Fig. 2)."""
    if isinstance(code, CategoricalCode):
        return None
    return max(abs(v) for v in slider_range(code))
