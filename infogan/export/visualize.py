"""Sample grids, code traversals and sweep animations, built on torchvision's `make_grid`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid

from ..latent import CategoricalCode, ContinuousCode

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
    values: Sequence[Any] | None = None,
) -> torch.Tensor:
    """Images (rows, cols, C, H, W) for a traversal; row i is sample i of `generate(n=rows, seed=seed)`.

    Columns take `values` when given, else `traversal_values(code, steps, span)`.
    """
    code = model.config.latent.code(code_name)
    fixed = dict(fixed or {})
    fixed.pop(code_name, None)
    values = traversal_values(code, steps, span) if values is None else values
    columns = [model.generate(n=rows, seed=seed, codes={**fixed, code_name: v}).cpu() for v in values]
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


# ---- labelled figures: what a reader needs to read a traversal without the code beside it --------------------------

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MUTED = (90, 90, 90)
PRIOR_BAND = (214, 228, 255)  # the columns inside the prior: what the code was trained on
PRIOR_EDGE = (60, 110, 220)
GAP = 4  # px between cells of a labelled figure
MAX_GIF_COLUMNS = 5
MIXED_BELOW = 0.6  # a category whose purity is below this draws two or more classes: marked "mixed"
DASHES = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2212": "-", "λ": "lambda"})


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` px (no system font needed)."""
    return ImageFont.load_default(size=size)


def format_value(value: float) -> str:
    """A code value for a column or frame label: '+1.5', '0', '-0.25'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return f"+{text}" if value > 0 and text != "0" else text


def label_order(code: CategoricalCode) -> list[int]:
    """Category indices in the order of their labels (digits numerically, words alphabetically); index order without
    labels. Training discovers categories in no particular order, so MNIST's category 0 may draw a 4."""
    if not code.labels:
        return list(range(code.size))

    def key(i: int) -> tuple[int, float, str]:
        label = code.labels[i].rstrip("?")
        try:
            return (0, float(label), "")
        except ValueError:
            return (1, 0.0, label.lower())

    return sorted(range(code.size), key=key)


def balanced_columns(n: int, max_columns: int = MAX_GIF_COLUMNS) -> int:
    """Columns for n tiles in rows of equal length where possible: 6 → 3 × 2, not 5 + 1; 10 → 5 × 2; 7 → 4 + 3."""
    rows = math.ceil(n / max_columns)
    return math.ceil(n / rows)


def _cells(images: torch.Tensor, scale: int) -> torch.Tensor:
    """(..., C, H, W) in [0, 1] upscaled by `scale` with nearest-neighbour pixels."""
    return images.clamp(0, 1).repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def _to_rgb(image: torch.Tensor) -> Image.Image:
    return to_pil_image(image.cpu()).convert("RGB")


def _text_width(draw: ImageDraw.ImageDraw, text: str, face: Any) -> int:
    return int(draw.textlength(text, font=face))


def _plain(text: str) -> str:
    """Pillow's bundled font has no en/em dash, minus sign or λ: draw hyphens and "lambda"."""
    return text.translate(DASHES)


def column_label_lines(draw: ImageDraw.ImageDraw, labels: Sequence[str], width: int) -> tuple[list[list[str]], Any]:
    """Each column label as lines that fit `width` px, and the font to draw them in.

    Long category labels ("Boot/Sneaker?") would run into their neighbours: the font shrinks from 13 to 10 px first,
    and if a label still does not fit it is broken after its last "/" or space onto a second line.
    """
    for size in (13, 12, 11, 10):
        face = font(size)
        if all(_text_width(draw, label, face) <= width for label in labels):
            return [[label] for label in labels], face
    face = font(11)
    lines = []
    for label in labels:
        cut = max(label.rfind("/", 0, len(label) - 1), label.rfind(" "))
        fits = _text_width(draw, label, face) <= width or cut <= 0
        lines.append([label] if fits else [label[: cut + 1].rstrip(), label[cut + 1 :]])
    return lines, face


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: Any, width: int) -> list[str]:
    """Greedy word wrap to `width` px."""
    lines: list[str] = []
    for paragraph in _plain(text).split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and _text_width(draw, candidate, face) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def draw_traversal(
    images: torch.Tensor,
    columns: Sequence[str],
    rows: Sequence[str],
    caption: str = "",
    in_prior: Sequence[bool] | None = None,
    scale: int = 3,
    column_notes: Sequence[str] | None = None,
) -> Image.Image:
    """A labelled traversal grid: caption on top, column values (prior columns on a shaded band), row labels left.

    `images` is (rows, cols, C, H, W) in [0, 1]; `in_prior[j]` marks column j as inside the code's prior;
    `column_notes` adds a second, muted header line (e.g. each category's purity).
    """
    n_rows, n_cols = images.shape[:2]
    columns, rows = [_plain(c) for c in columns], [_plain(r) for r in rows]
    if len(columns) != n_cols or len(rows) != n_rows:
        raise ValueError(f"need {n_cols} column and {n_rows} row labels, got {len(columns)} and {len(rows)}")
    cells = _cells(images, scale)  # (R, K, C, h, w)
    h, w = cells.shape[-2:]
    small, big = font(13), font(15)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = max([_text_width(probe, r, small) for r in rows] + [0]) + 12
    grid_w = n_cols * (w + GAP) + GAP
    caption_lines = _wrap(probe, caption, big, left + grid_w - 12) if caption else []
    label_lines, label_face = column_label_lines(probe, columns, w + GAP - 4)
    label_height = 13 * max(len(lines) for lines in label_lines) if label_lines else 13
    header = 9 + label_height + (16 if column_notes else 0)
    top = 8 + 19 * len(caption_lines) + header
    canvas = Image.new("RGB", (left + grid_w, top + n_rows * (h + GAP) + GAP), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(caption_lines):
        draw.text((6, 6 + 19 * i), line, fill=INK, font=big)
    x0 = lambda j: left + GAP + j * (w + GAP)  # noqa: E731 (column j's left edge)
    if in_prior is not None and any(in_prior):
        first, last = in_prior.index(True), len(in_prior) - 1 - list(reversed(in_prior)).index(True)
        band = [x0(first) - GAP // 2, top - header, x0(last) + w + GAP // 2, top + n_rows * (h + GAP) + GAP // 2]
        draw.rectangle(band, fill=PRIOR_BAND)
        draw.line([band[0], top - 3, band[2], top - 3], fill=PRIOR_EDGE, width=2)
    for j, lines in enumerate(label_lines):
        for k, line in enumerate(lines):
            tw = _text_width(draw, line, label_face)
            draw.text((x0(j) + (w - tw) / 2, top - header + 3 + 13 * k), line, fill=INK, font=label_face)
        note = _plain(column_notes[j]) if column_notes else ""
        draw.text((x0(j) + (w - _text_width(draw, note, font(11))) / 2, top - 20), note, fill=MUTED, font=font(11))
    for i, label in enumerate(rows):
        y = top + GAP + i * (h + GAP)
        draw.text((left - 8 - _text_width(draw, label, small), y + h / 2 - 7), label, fill=MUTED, font=small)
        for j in range(n_cols):
            canvas.paste(_to_rgb(cells[i, j]), (x0(j), y))
    return canvas


def draw_frame(
    images: torch.Tensor,
    rows: Sequence[str],
    title: str,
    position: float | None = None,
    prior: tuple[float, float] | None = None,
    scale: int = 3,
) -> Image.Image:
    """One animation frame: `title` (e.g. "slant = +1.25") over a track showing where the value sits (0…1) and the
    prior band, then the rows as tiles in balanced columns, each with its label underneath."""
    n = images.shape[0]
    rows, title = [_plain(r) for r in rows], _plain(title)
    cells = _cells(images, scale)  # (R, C, h, w)
    h, w = cells.shape[-2:]
    n_cols = balanced_columns(n)
    n_lines = math.ceil(n / n_cols)
    small, big = font(12), font(18)
    tile_w = max(w, 60)
    width = n_cols * (tile_w + GAP) + GAP
    top = 34 + (16 if position is not None else 0)
    canvas = Image.new("RGB", (width, top + n_lines * (h + 18 + GAP) + GAP), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text(((width - _text_width(draw, title, big)) / 2, 6), title, fill=INK, font=big)
    if position is not None:
        track = (12, 36, width - 12, 42)
        draw.rectangle(track, fill=(230, 230, 230))
        if prior is not None:
            a, b = (track[0] + f * (track[2] - track[0]) for f in prior)
            draw.rectangle((a, track[1], b, track[3]), fill=PRIOR_BAND, outline=PRIOR_EDGE)
        x = track[0] + min(1.0, max(0.0, position)) * (track[2] - track[0])
        draw.rectangle((x - 2, track[1] - 4, x + 2, track[3] + 4), fill=INK)
    for i in range(n):
        col, line = i % n_cols, i // n_cols
        x = GAP + col * (tile_w + GAP)
        y = top + line * (h + 18 + GAP)
        canvas.paste(_to_rgb(cells[i]), (x + (tile_w - w) // 2, y))
        tw = _text_width(draw, rows[i], small)
        draw.text((x + (tile_w - tw) / 2, y + h + 2), rows[i], fill=MUTED, font=small)
    return canvas


def cell_scale(image_size: int, n_cols: int, target: int, n_rows: int = 1) -> int:
    """Whole-pixel upscaling so `n_cols` cells of `image_size` px fill about `target` px across, and `n_rows` no more
    than about `target` px down (a 3-column grid of 6 rows stays a reasonable size)."""
    return max(1, round(min(target / n_cols, target / n_rows) / image_size))


def labelled_traversal(
    model: Any,
    code_name: str,
    seed: int = 0,
    rows: int = 8,
    steps: int = 9,
    span: float | None = None,
    fixed: Mapping[str, Any] | None = None,
    note: str = "",
    target: int = 720,
) -> Image.Image:
    """A traversal grid with its labels (for model cards): rows are samples of `seed`, columns sweep `code_name`."""
    code = model.config.latent.code(code_name)
    values = column_values(code, steps, span)
    images = traversal_images(model, code_name, seed=seed, rows=rows, values=values, fixed=fixed)
    caption = traversal_caption(code, note, f"rows: samples 1-{rows} of seed {seed}")
    scale = cell_scale(model.config.image_size, len(values), target, rows)
    return draw_traversal(images, column_labels(code, values), [f"#{i + 1}" for i in range(rows)], caption,
                          prior_mask(code, values), scale, purity_notes(model, code, values))  # fmt: skip


def purity_notes(model: Any, code: CategoricalCode | ContinuousCode, values: Sequence[Any]) -> list[str] | None:
    """Per column, the category's purity ("98 %", "45 % mixed") when the config records it (`category_purity`)."""
    purity = (model.config.metadata.get("category_purity") or {}).get(code.name)
    if not isinstance(code, CategoricalCode) or not isinstance(purity, list) or len(purity) != code.size:
        return None
    return [f"{round(purity[v] * 100)} %" + (" mixed" if purity[v] < MIXED_BELOW else "") for v in values]


def column_values(code: CategoricalCode | ContinuousCode, steps: int = 9, span: float | None = None) -> list:
    """What the columns of a traversal show: every category in label order, or values over ±span."""
    if isinstance(code, CategoricalCode):
        return label_order(code)
    return traversal_values(code, steps, span)


def column_labels(code: CategoricalCode | ContinuousCode, values: Sequence[Any]) -> list[str]:
    if isinstance(code, CategoricalCode):
        return [code.label_of(v) if code.labels else f"cat {v}" for v in values]
    return [format_value(v) for v in values]


def prior_mask(code: CategoricalCode | ContinuousCode, values: Sequence[Any]) -> list[bool] | None:
    """Which columns lie inside a continuous code's prior (None for categorical codes: every category is)."""
    if isinstance(code, CategoricalCode):
        return None
    return [code.low - 1e-6 <= v <= code.high + 1e-6 for v in values]


def traversal_caption(code: CategoricalCode | ContinuousCode, note: str, rows: str) -> str:
    """'slant: tilt …' then what the columns and rows are (ASCII dashes: Pillow's bundled font has no en/em dash)."""
    head = f"{code.name}: {note}" if note else code.name
    if isinstance(code, CategoricalCode):
        order = "in label order" if code.labels else "in index order"
        columns = f"columns: the {code.size} categories of {code.name} ({order})"
    else:
        columns = f"columns: {code.name} values; shaded = the prior {code.low:g}…{code.high:g} it was trained on"
    return f"{head}\n{columns}; {rows}"
