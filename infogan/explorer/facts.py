"""The model-card facts the explorer shows for a model: images, dataset, codes, training and measured metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..latent import CategoricalCode
from ..model import InfoGAN
from .codes import category_choices, category_purity

MAX_METRICS_IN_FACTS = 24  # the Learn tab lists this many metric values; the model card has them all
MAX_LIST_IN_FACTS = 10  # longer lists (e.g. confusion matrices) are left to the model card


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
