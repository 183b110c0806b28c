"""Code values between people, controls and links: validating what users and API clients send, mapping the
explorer's dropdowns and sliders to a codes dict and back, and share links (`?model=…&seed=…&<code>=…`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..export.visualize import MIXED_BELOW, label_order
from ..latent import CategoricalCode, ContinuousCode, LatentCode
from ..model import InfoGAN
from .registry import ModelRegistry

MAX_SEED = 2**31 - 1  # seeds a person can type and share; the library allows up to 2**63


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
