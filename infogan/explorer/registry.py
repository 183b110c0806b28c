"""Model logic behind the live latent explorer (`app.py`): loading, validating user input, rendering and encoding.

`app.py` is UI only. Everything it needs from the models lives here, so it can be tested without a browser:
a `ModelRegistry` that loads every checkpoint once at start, validation of the values a user or an API client
sends, crisp upscaled renders, traversal grids and animations, preprocessing of uploads and sketches for Q, share
links, and the model-card facts shown in the app.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import torch
from PIL import Image, ImageOps

from ..config import shorten
from ..export.visualize import (
    MIXED_BELOW,
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
    save_animation,
    traversal_caption,
    traversal_images,
    upscale,
)
from ..latent import CategoricalCode, ContinuousCode, LatentCode
from ..model import CONFIG_FILE, InfoGAN

DISPLAY_SIZE = 448  # longer side of the explorer image: 28 px × 16, 64 px × 7 — big, with whole-pixel upscaling
MAX_SEED = 2**31 - 1  # seeds a person can type and share; the library allows up to 2**63
MAX_TRAVERSAL_ROWS = 10
MAX_ANIMATION_FRAMES = 48
MAX_METRICS_IN_FACTS = 24  # the Learn tab lists this many metric values; the model card has them all
MAX_LIST_IN_FACTS = 10  # longer lists (e.g. confusion matrices) are left to the model card
MODELS_ENV = "INFOGAN_MODELS"  # comma-separated Hub repo ids loaded in addition to checkpoints/
HUB_TIMEOUT_S = 30.0  # per Hub model at start: an unreachable Hub costs this much, then the app starts without it

log = logging.getLogger(__name__)


# ---- loading ----------------------------------------------------------------------------------------------------


def discover_checkpoints(folder: str | Path) -> dict[str, Path]:
    """Checkpoint folders `folder/<name>/config.json` by folder name, sorted; a missing folder has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {p.parent.name: p.parent for p in sorted(folder.glob(f"*/{CONFIG_FILE}"))}


def hub_ids_from(flag: Iterable[str] | None = None, env: Mapping[str, str] | None = None) -> list[str]:
    """Hub repo ids from the `--models` flag and INFOGAN_MODELS (comma or space separated), deduplicated."""
    env = os.environ if env is None else env
    items = [*(flag or []), *env.get(MODELS_ENV, "").replace(",", " ").split()]
    ids: list[str] = []
    for item in items:
        for repo_id in item.replace(",", " ").split():
            if repo_id not in ids:
                ids.append(repo_id)
    return ids


class ModelRegistry:
    """The models the explorer serves, by name, each loaded once at start (loading a name again is a no-op).

    Local checkpoints are named by their folder (`checkpoints/mnist` → "mnist"), Hub models by their repo id.
    A model that fails to load is recorded in `failures` (name → reason) and the others are still served.
    """

    def __init__(self) -> None:
        self._models: dict[str, InfoGAN] = {}
        self._sources: dict[str, str] = {}
        self.failures: dict[str, str] = {}

    @classmethod
    def from_sources(
        cls,
        checkpoint_dir: str | Path | None = "checkpoints",
        hub_ids: Iterable[str] = (),
        hub_timeout: float | None = HUB_TIMEOUT_S,
    ) -> ModelRegistry:
        """Load every checkpoint folder under `checkpoint_dir`, then the given Hub repo ids (safetensors only).

        One broken folder or unreachable repo does not stop the others: its error goes to `failures` and the log.
        """
        registry = cls()
        for name, path in discover_checkpoints(checkpoint_dir).items() if checkpoint_dir else ():
            registry.try_load(name, path)
        for repo_id in hub_ids:
            registry.try_load(repo_id, repo_id, timeout=hub_timeout)
        return registry

    def try_load(self, name: str, source: str | Path, timeout: float | None = None) -> InfoGAN | None:
        """`load`, but a failure is recorded in `failures` and logged instead of raised."""
        try:
            return self.load(name, source, timeout=timeout)
        except Exception as err:  # any bad file or network error: serve the other models (RuntimeError from torch too)
            reason = shorten(f"{type(err).__name__}: {err}", 500)
            self.failures[name] = reason
            log.warning("model %r (%s) was not loaded: %s", name, source, reason)
            return None

    def load(self, name: str, source: str | Path, timeout: float | None = None) -> InfoGAN:
        """Load `source` (folder or Hub id) under `name`; an already loaded name returns the loaded model."""
        if name in self._models:
            return self._models[name]
        model = InfoGAN.from_pretrained(source, timeout=timeout).eval().requires_grad_(False)
        self.add(name, model, source=str(source))
        self.failures.pop(name, None)
        return model

    def failure_notice(self) -> str:
        """Markdown naming every model that failed to load and why ("" when all loaded), for the UI."""
        if not self.failures:
            return ""
        lines = [f"- **{name}**: {reason}" for name, reason in self.failures.items()]
        return "**Not loaded** (the other models work; fix or remove these and restart):\n" + "\n".join(lines)

    def add(self, name: str, model: InfoGAN, source: str = "memory") -> None:
        """Register an already built model (tests and notebooks)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"model names must be non-empty strings, got {name!r}")
        self._models[name] = model.eval()
        self._sources[name] = source

    @property
    def names(self) -> list[str]:
        return list(self._models)

    @property
    def default(self) -> str:
        """The model the explorer opens on: "mnist" (the paper's classic) when loaded, else the first one."""
        return "mnist" if "mnist" in self._models else self.names[0]

    def get(self, name: Any) -> InfoGAN:
        """The model called `name`; ValueError listing the available names otherwise."""
        if not isinstance(name, str) or name not in self._models:
            raise ValueError(f"unknown model {name!r}; available models: {self.names}")
        return self._models[name]

    def baseline_for(self, name: str) -> str | None:
        """The loaded model whose config says `"baseline_for": name` (a λ = 0 GAN of the same architecture), if any."""
        for other, model in self._models.items():
            if other != name and model.config.metadata.get("baseline_for") == name:
                return other
        return None

    def source(self, name: str) -> str:
        self.get(name)
        return self._sources[name]

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models


# ---- validating what users and API clients send -----------------------------------------------------------------


def parse_seed(seed: Any) -> int:
    """A seed from a number box or an API call: an integer in [0, MAX_SEED]; ValueError otherwise."""
    if isinstance(seed, str):
        try:
            seed = float(seed.strip())
        except ValueError:
            raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}") from None
    if isinstance(seed, bool) or not isinstance(seed, (int, float)):
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {type(seed).__name__} {seed!r}")
    if not math.isfinite(seed) or seed != int(seed) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    return int(seed)


def parse_codes(model: InfoGAN, codes: Any) -> dict[str, Any]:
    """Validate a JSON object (dict or JSON text) of code values by name for one image; return it as a dict.

    Categorical codes take an index or one of the labels, continuous codes a finite number within ±10. Errors name
    the code and what it allows (they come from the latent spec).
    """
    if codes is None or (isinstance(codes, str) and not codes.strip()):
        return {}
    if isinstance(codes, str):
        try:
            codes = json.loads(codes)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"codes must be a JSON object like {example_codes(model)}; could not parse it: {err}"
            ) from None
    if not isinstance(codes, Mapping):
        raise ValueError(f"codes must be a JSON object of code name → value like {example_codes(model)}")
    for name, value in codes.items():
        if isinstance(value, (list, tuple, dict)):
            raise ValueError(f"code {name!r}: give one value per code, got {type(value).__name__} {value!r}")
    model.config.latent.resolve_values(1, codes)  # raises ValueError naming the code and the allowed values
    return dict(codes)


def example_codes(model: InfoGAN) -> dict[str, Any]:
    """A valid codes object for `model`, for error messages and the API docs."""
    out: dict[str, Any] = {}
    for code in model.codes:
        if isinstance(code, CategoricalCode):
            out[code.name] = code.label_of(label_order(code)[0]) if code.labels else 0
        else:
            out[code.name] = 0.5
    return out


def allowed_codes(model: InfoGAN) -> str:
    """One line per code saying what values it takes (for docs and error messages)."""
    lines = []
    for code in model.codes:
        if isinstance(code, CategoricalCode):
            labels = f" or a label {list(code.labels)}" if code.labels else ""
            lines.append(f"{code.name}: categorical, an index 0..{code.size - 1}{labels}")
        else:
            lines.append(
                f"{code.name}: continuous, a number within ±{code.max_abs_value:g} (prior {code.low:g}…{code.high:g})"
            )
    return "; ".join(lines)


# ---- controls ↔ codes --------------------------------------------------------------------------------------------


def slider_range(code: ContinuousCode) -> tuple[float, float]:
    """Slider bounds: the prior widened by half its width on each side (±2 for the usual Uniform(-1, 1))."""
    margin = (code.high - code.low) / 2
    limit = code.max_abs_value
    return max(-limit, code.low - margin), min(limit, code.high + margin)


def category_purity(model: InfoGAN, code_name: str) -> list[float] | None:
    """Per category, the fraction of its generated images an independent classifier puts in its majority class.

    Written by `python -m infogan.evaluate --write-labels` as `metadata.category_purity[code_name]`; None without it.
    """
    purity = (model.config.metadata.get("category_purity") or {}).get(code_name)
    code = model.config.latent.code(code_name)
    if not isinstance(purity, list) or len(purity) != getattr(code, "size", -1):
        return None
    return [float(p) for p in purity]


def category_text(code: CategoricalCode, index: int, purity: Sequence[float] | None = None) -> str:
    """What a person sees for a category: its label (or "category i"), with purity "7 (98 %)" and a mixed marker."""
    text = code.labels[index] if code.labels else f"category {index}"
    if purity is not None:
        share = purity[index]
        text += f" ({round(share * 100)} %" + (", mixed)" if share < MIXED_BELOW else ")")
    return text


def category_choices(code: CategoricalCode, purity: Sequence[float] | None = None) -> list[tuple[str, int]]:
    """Dropdown choices (shown text, category index), in label order (MNIST: 0, 1, 2 … not discovery order)."""
    return [(category_text(code, i, purity), i) for i in label_order(code)]


def codes_from_controls(model: InfoGAN, categorical: Sequence[Any], continuous: Sequence[Any]) -> dict[str, Any]:
    """Map the explorer's control slots (first N dropdowns, first M sliders) to a codes dict; empty slots skipped."""
    spec = model.config.latent
    codes: dict[str, Any] = {}
    for code, value in zip(spec.categorical, categorical, strict=False):
        if value is not None:
            codes[code.name] = int(value) if isinstance(value, float) and value.is_integer() else value
    for code, value in zip(spec.continuous, continuous, strict=False):
        if value is not None:
            codes[code.name] = value
    return codes


def default_codes(model: InfoGAN) -> dict[str, Any]:
    """The explorer's starting point: the first category in label order (MNIST: the 0) and each prior's middle."""
    return {c.name: label_order(c)[0] if isinstance(c, CategoricalCode) else (c.low + c.high) / 2 for c in model.codes}


def controls_from_codes(model: InfoGAN, codes: Mapping[str, Any]) -> tuple[list[int], list[float]]:
    """Slot values for a codes dict (defaults where a code is missing; continuous values clipped to the slider)."""
    full = {**default_codes(model), **codes}
    spec = model.config.latent
    categorical = [spec.code(c.name).index_of(full[c.name]) for c in spec.categorical]  # type: ignore[union-attr]
    continuous = []
    for code in spec.continuous:
        low, high = slider_range(code)
        continuous.append(round(min(high, max(low, float(full[code.name]))), 2))
    return categorical, continuous


# ---- rendering ---------------------------------------------------------------------------------------------------


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


def comparable_codes(baseline: InfoGAN, codes: Mapping[str, Any], model: InfoGAN) -> dict[str, Any]:
    """`codes` (values for `model`) as the same latent inputs for `baseline`: categories by index, not by label."""
    out: dict[str, Any] = {}
    for name, value in codes.items():
        code = model.config.latent.code(name)
        out[name] = code.index_of(value) if isinstance(code, CategoricalCode) else value
    names = {c.name for c in baseline.codes}
    missing = sorted(set(out) - names)
    if missing or {c.name for c in model.codes} != names:
        raise ValueError(f"the baseline's codes {sorted(names)} differ from this model's: it cannot be compared")
    return out


def download_stem(model_name: str, seed: int, codes: Mapping[str, Any], model: InfoGAN | None = None) -> str:
    """A file name stem that says what a picture is: `mnist_seed42_digit-7_slant+1.5_width0`."""
    parts = [model_name, f"seed{seed}"]
    for name, value in codes.items():
        code = model.config.latent.code(name) if model is not None else None
        if isinstance(code, CategoricalCode):
            value = code.label_of(code.index_of(value))
            parts.append(f"{name}-{value}")
        else:
            parts.append(f"{name}{format_value(float(value))}")
    stem = "_".join(parts)
    return "".join(ch if ch.isalnum() or ch in "+-._" else "-" for ch in stem)[:150]


class OutputStore:
    """Writes rendered files to one temporary folder under names that say what they show (downloads keep the name),
    one sub-folder per request so equal names never collide, keeping only the newest `keep` (bounded disk use).

    Give it a folder inside Gradio's cache (`root`): Gradio serves files from there as they are, instead of copying
    every returned image and GIF into its cache, so `keep` bounds the disk they use.
    """

    def __init__(self, keep: int = 64, root: str | Path | None = None) -> None:
        if root is not None:
            Path(root).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="infogan-explorer-", dir=root))
        self.keep = keep
        self._numbers = itertools.count(1)  # next() on a count is atomic under the GIL: unique names per request
        self._lock = threading.Lock()  # pruning must not race another request's pruning (concurrency > 1)

    def _slot(self, name: str) -> Path:
        slot = self.folder / f"{next(self._numbers):08d}"
        slot.mkdir()
        with self._lock:
            slots = sorted(self.folder.iterdir())
            for old in slots[: max(0, len(slots) - self.keep)]:
                shutil.rmtree(old, ignore_errors=True)
        return slot / name

    def save_animation(self, frames: Sequence[Image.Image], stem: str, suffix: str = ".gif") -> Path:
        return save_animation(frames, self._slot(stem + suffix), duration_ms=90)

    def save_image(self, image: Image.Image, stem: str) -> Path:
        path = self._slot(stem + ".png")
        image.save(path)
        return path


def trim_files(paths: Iterable[str | Path], max_bytes: int | None = None, max_files: int | None = None) -> list[Path]:
    """Delete the oldest of `paths` until at most `max_files` remain holding at most `max_bytes`; returns those
    deleted. Files that vanish meanwhile (another request or Gradio's own cleanup) are skipped."""
    files = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        files.append((info.st_mtime, info.st_size, str(path)))
    files.sort()
    total, deleted = sum(size for _, size, _ in files), []
    for _, size, path in files:
        over_count = max_files is not None and len(files) - len(deleted) > max_files
        over_size = max_bytes is not None and total > max_bytes
        if not (over_count or over_size):
            break
        Path(path).unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return [Path(p) for p in deleted]


def start_cache_trimmer(
    file_sets: Callable[[], Sequence[set[str]]], max_bytes: int, every_s: float = 60
) -> threading.Event:
    """Every `every_s` seconds (daemon thread), delete the oldest files of `file_sets()` beyond `max_bytes` in all,
    and forget them; set the returned event to stop. Gradio's `delete_cache` bounds its cache by age only; this
    bounds it by size too (a burst of requests)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_s):
            try:
                sets = list(file_sets())
                deleted = {str(p) for p in trim_files([f for s in sets for f in list(s)], max_bytes=max_bytes)}
                for files in sets:
                    files.difference_update(deleted)
            except Exception as err:  # never let housekeeping take the app down (e.g. a set changed size)
                log.warning("cache trimming failed: %s", err)

    threading.Thread(target=run, name="cache-trimmer", daemon=True).start()
    return stop


class AdmissionGate:
    """Admits a request while fewer than `limit` are waiting, counting `waiting()` (the queue's own count) plus the
    requests admitted in the last `window_s` seconds, which may not have reached the queue yet (admission checks
    run concurrently, so the queue's count alone lets a burst through)."""

    def __init__(self, limit: int, waiting: Callable[[], int], window_s: float = 1.0) -> None:
        self.limit, self.waiting, self.window_s = limit, waiting, window_s
        self._recent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] > self.window_s:
                self._recent.popleft()
            if self.waiting() + len(self._recent) >= self.limit:
                return False
            self._recent.append(now)
            return True


# ---- encoding images with Q ----------------------------------------------------------------------------------------

# Decoded-pixel cap for uploads, checked from the image header before any pixel is decoded: a 24-megapixel photo
# (6000×4000) is accepted, a 263 KB PNG of 13,000×13,000 (1.2–1.5 GB once decoded) is not.
MAX_UPLOAD_PIXELS = 24_000_000


def open_upload(value: Any) -> Image.Image | None:
    """The picture in an upload or sketch as sent by Gradio without preprocessing, or an image already in memory.

    Accepts None, a file path, a FileData-like dict ({"path": ...}), a sketch ({"composite": ...}), a PIL image or
    an array. Files are checked against MAX_UPLOAD_PIXELS from their header before decoding; ValueError for files
    that are too large or not images.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        if "composite" in value:  # gr.Sketchpad / ImageEditor: the flattened drawing
            return open_upload(value.get("composite"))
        value = value.get("path")
        if value is None:
            return None
    if isinstance(value, np.ndarray):
        value = Image.fromarray(value)
    if isinstance(value, Image.Image):
        _check_pixels(value)
        return value
    if not isinstance(value, (str, Path)):
        raise ValueError(f"expected an image, got {type(value).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(value)  # reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(_too_many_pixels_message(None)) from None
        except (OSError, ValueError) as err:
            raise ValueError(
                f"could not read the upload as an image ({type(err).__name__}); use a PNG or JPEG"
            ) from None
    _check_pixels(image)
    image.draft(image.mode, (1024, 1024))  # JPEGs decode at a reduced scale when they are much bigger than needed
    try:
        image.load()
    except (OSError, ValueError) as err:
        raise ValueError(f"could not decode the image ({type(err).__name__}: {shorten(err, 200)})") from None
    return image


def _check_pixels(image: Image.Image) -> None:
    if image.width * image.height > MAX_UPLOAD_PIXELS:
        raise ValueError(_too_many_pixels_message(image.size))


def _too_many_pixels_message(size: tuple[int, int] | None) -> str:
    shown = f" is {size[0]:,}×{size[1]:,} pixels;" if size else " has too many pixels;"
    return (f"the image{shown} the limit is {MAX_UPLOAD_PIXELS / 1e6:g} megapixels. Resize it (the models see 28–64 "
            "pixels anyway) and upload it again")  # fmt: skip


def sketch_to_image(value: Any) -> Image.Image | None:
    """The drawn picture from a gr.Sketchpad/ImageEditor value (a dict with "composite") or a plain image."""
    return open_upload(value)


def is_blank(image: Image.Image | None) -> bool:
    """True for nothing, or a picture with no visible strokes (an untouched sketchpad)."""
    if image is None:
        return True
    grey = np.asarray(_flatten_alpha(image).convert("L"), dtype=np.float32)
    return float(grey.max() - grey.min()) < 8


def preprocess_for_q(image: Image.Image, model: InfoGAN, sketch: bool = False) -> torch.Tensor:
    """An uploaded or drawn picture as a (1, C, H, W) tensor in [0, 1] shaped like the model's training images.

    Transparency is flattened onto white; grey models get greyscale, with white-background pictures inverted so
    strokes are bright on black like MNIST. Sketches are cropped to their strokes and centred in a 20/28 box, as
    MNIST digits were prepared; other pictures are centre-cropped to a square and resized.
    """
    size, channels = model.config.image_size, model.config.channels
    image = _flatten_alpha(image)
    image = image.convert("L" if channels == 1 else "RGB")
    if channels == 1 and _border_mean(image) > 127:
        image = ImageOps.invert(image)
    if sketch and channels == 1:
        image = _centre_strokes(image, size)
    else:
        image = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array.copy())
    tensor = tensor.unsqueeze(0) if channels == 1 else tensor.permute(2, 0, 1)  # (C, H, W)
    return tensor.unsqueeze(0)  # (1, C, H, W)


def q_view(tensor: torch.Tensor, size: int = 224) -> Image.Image:
    """The (1, C, H, W) tensor Q actually receives, enlarged with crisp pixels so a person can check it."""
    return upscale(tensor[0], size)


def encode_hint(model: InfoGAN, name: str) -> tuple[str, str]:
    """(instructions, sketchpad label) for the Encode tab, in the words of the model's data."""
    dataset = (model.config.metadata.get("dataset") or {}).get("name") or name
    size = f"{model.config.image_size}×{model.config.image_size}"
    if model.config.channels == 1:
        thing = {"MNIST": "a digit", "Fashion-MNIST": "a garment (shirt, shoe, bag …)"}.get(dataset, "a shape")
        text = (
            f"Draw {thing} or upload a picture like the **{dataset}** images. It is turned into the {size} "
            "greyscale image shown on the right, bright strokes on black, the way the training images look."
        )
        return text, f"Draw {thing}"
    text = (f"Upload a photo like the **{dataset}** images (a centred face for CelebA); it is centre-cropped and "
            f"shrunk to the {size} colour image shown on the right. Drawing works too, but a black sketch looks "
            "nothing like a photo.")  # fmt: skip
    return text, "Draw (the model expects photos)"


def infer(model: InfoGAN, images: torch.Tensor) -> dict[str, Any]:
    """Q's reading of one image: {name: {label: probability}} for categorical codes, {name: mean} for continuous."""
    q = model.infer_codes(images)
    out: dict[str, Any] = {}
    for code in model.codes:
        value = q[code.name][0]
        if isinstance(code, CategoricalCode):
            out[code.name] = {text: float(value[i]) for text, i in category_choices(code)}
        else:
            out[code.name] = float(value)
    return out


def codes_from_inference(model: InfoGAN, inferred: Mapping[str, Any]) -> dict[str, Any]:
    """Explore-ready code values from `infer`'s output: the most likely category, the predicted mean."""
    codes: dict[str, Any] = {}
    for code in model.codes:
        value = inferred[code.name]
        if isinstance(code, CategoricalCode):
            best = max(value, key=value.get)  # the shown text of the most likely category
            codes[code.name] = next(i for text, i in category_choices(code) if text == best)
        else:
            codes[code.name] = float(value)
    return codes


def _flatten_alpha(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image


def _border_mean(image: Image.Image) -> float:
    array = np.asarray(image.convert("L"), dtype=np.float32)
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return float(border.mean())


def _centre_strokes(image: Image.Image, size: int) -> Image.Image:
    """Crop to the bright strokes, fit them in a (20/28·size) box keeping aspect, and centre on black."""
    box = image.point(lambda v: 255 if v > 30 else 0).getbbox()
    if box is None:
        return image.resize((size, size), Image.Resampling.LANCZOS)
    strokes = image.crop(box)
    inner = max(1, round(size * 20 / 28))
    scale = inner / max(strokes.size)
    w, h = max(1, round(strokes.width * scale)), max(1, round(strokes.height * scale))
    strokes = strokes.resize((w, h), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(strokes, ((size - w) // 2, (size - h) // 2))
    return canvas


# ---- sharing -----------------------------------------------------------------------------------------------------


def share_query(model_name: str, seed: int, codes: Mapping[str, Any], model: InfoGAN | None = None) -> str:
    """A query string (`?model=…&seed=…&<code>=…`) that `state_from_query` turns back into the same view.

    With `model`, categories are written by label (`digit=7` means the category that draws sevens), which is what a
    person typing a link expects.
    """
    params: dict[str, Any] = {"model": model_name, "seed": seed}
    for name, value in codes.items():
        code = model.config.latent.code(name) if model is not None else None
        if isinstance(code, CategoricalCode) and code.labels and not isinstance(value, str):
            value = code.label_of(code.index_of(value))
        params[name] = f"{value:g}" if isinstance(value, float) else value
    return "?" + urlencode(params)


@dataclass(frozen=True)
class ExploreState:
    """What the Explore tab shows: a model, a seed and every code's value, plus what a link asked for in vain."""

    model_name: str
    seed: int
    codes: dict[str, Any]
    notices: tuple[str, ...] = ()  # one line per ignored or clamped link parameter, shown to the visitor


GRADIO_PARAMS = {"view", "__theme", "__sharing"}  # query parameters Gradio itself reads: not ours to report


def state_from_query(registry: ModelRegistry, params: Mapping[str, str]) -> ExploreState:
    """The view a share link describes. Unknown or invalid parameters fall back to defaults (links may be stale), and
    each one is reported in `notices` so the visitor knows the picture is not exactly what the link described."""
    notices: list[str] = []
    name = params.get("model")
    if name is not None and name not in registry:
        notices.append(f"model {name!r} is not loaded here: showing {registry.default!r}")
    if name not in registry:
        name = registry.default
    model = registry.get(name)
    try:
        seed = parse_seed(params.get("seed", 0))
    except ValueError:
        notices.append(f"seed {params.get('seed')!r} is not an integer in [0, {MAX_SEED}]: using 0")
        seed = 0
    codes: dict[str, Any] = {}
    for code in model.codes:
        raw = params.get(code.name)
        if raw is None:
            continue
        try:
            codes[code.name] = _value_from_link(model, code, raw)
        except ValueError as err:
            notices.append(f"{code.name}={raw!r} ignored ({err}): using the default")
            continue
        if isinstance(code, ContinuousCode):
            low, high = slider_range(code)
            if not low <= codes[code.name] <= high:
                notices.append(f"{code.name}={raw} is beyond the slider's {low:g} … {high:g}: shown at the nearest end")
    known = {"model", "seed", *GRADIO_PARAMS, *(c.name for c in model.codes)}
    notices += [f"unknown parameter {key!r} ignored" for key in params if key not in known]
    return ExploreState(name, seed, codes, tuple(notices))


def _value_from_link(model: InfoGAN, code: LatentCode, raw: str) -> Any:
    """A link parameter's text as a code value; ValueError saying what the code allows otherwise."""
    value: Any = raw
    if isinstance(code, CategoricalCode) and code.labels and raw in code.labels:
        pass  # a label wins over an index: with digit labels, "7" is the category drawing sevens
    elif isinstance(code, ContinuousCode) or raw.lstrip("-").replace(".", "", 1).isdigit():
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number for {code.name!r}") from None
        value = int(value) if isinstance(code, CategoricalCode) and value.is_integer() else value
    parse_codes(model, {code.name: value})
    return value


# ---- model card facts ----------------------------------------------------------------------------------------------


def model_facts(model: InfoGAN, name: str, raw_metrics: bool = True) -> str:
    """Markdown with the model-card facts of a model: dataset, codes, training time and (optionally, as recorded)
    measured metrics — the Learn tab explains them in words instead (`infogan.explorer.lesson.metrics_in_words`)."""
    config, meta = model.config, model.config.metadata
    dataset = meta.get("dataset") or {}
    kind = "RGB" if config.channels == 3 else "greyscale"
    lines = [f"### This model: {meta.get('title', name)}", ""]
    lines.append(f"- **Images:** {config.image_size}×{config.image_size} {kind}")
    if dataset:
        lines.append(f"- **Dataset:** {dataset.get('name', 'unknown')}" + _license(dataset))
    lines.append(f"- **Noise z:** {config.latent.noise_dim} dims, N(0, I)")
    notes = meta.get("code_notes") or {}
    for code in model.codes:
        if isinstance(code, CategoricalCode):
            purity = category_purity(model, code.name)
            shown = ", ".join(text for text, _ in category_choices(code, purity)) if code.labels else ""
            prior = f"categorical, {code.size} categories" + (f" ({shown})" if shown else "")
        else:
            prior = f"continuous, Uniform({code.low:g}, {code.high:g})"
        note = f" — {notes[code.name]}" if notes.get(code.name) else ""
        lines.append(f"- **Code `{code.name}`:** {prior}{note}")
    training = meta.get("training") or {}
    if training:
        parts = [f"{key}: {_format(training[key])}" for key in ("steps", "epochs") if key in training]
        if "wall_time_minutes" in training:
            parts.append(f"training time: {_format(training['wall_time_minutes'])} min")
        if "hardware" in training:
            parts.append(f"on {_format(training['hardware'])}")
        lines.append("- **Training:** " + ("; ".join(parts) if parts else _format(training)))
    else:
        lines.append("- **Training:** no training facts recorded (an untrained or hand-made checkpoint)")
    metrics = meta.get("metrics") or {}
    if not raw_metrics:
        return "\n".join(lines)
    if metrics:
        lines.append("- **Measured metrics:**")
        items = [(k, v) for k, v in _flatten(metrics) if not isinstance(v, list) or len(v) <= MAX_LIST_IN_FACTS]
        lines += [f"  - {k.replace('_', ' ')}: {_format(v)}" for k, v in items[:MAX_METRICS_IN_FACTS]]
        if len(items) > MAX_METRICS_IN_FACTS:
            lines.append(f"  - … {len(items) - MAX_METRICS_IN_FACTS} more in the model card (README.md)")
        if meta.get("metrics_note"):
            lines.append(f"  - _{meta['metrics_note']}_")
    else:
        lines.append("- **Measured metrics:** none recorded")
    return "\n".join(lines)


def _license(dataset: Mapping[str, Any]) -> str:
    parts = [dataset.get("license_name") or dataset.get("license"), dataset.get("terms")]
    text = "; ".join(str(p) for p in parts if p)
    return f" ({text})" if text else ""


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            items += _flatten(value, f"{prefix}{key} › ")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
