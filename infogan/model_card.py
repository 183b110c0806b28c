"""The README.md model card of a checkpoint folder: Hub metadata header, previews, metrics and training facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from .config import InfoGANConfig
from .latent import CategoricalCode
from .visualize import sample_grid, save_image, traversal_grid

PREVIEW_SEED = 0


def write_preview_images(model: Any, folder: Path, suffix: str = "") -> list[str]:
    """Write samples<suffix>.png and traversal_<code><suffix>.png per code (fixed seed: comparable across steps).

    Without a suffix (a checkpoint folder), traversal images of codes that no longer exist are removed.
    """
    scale = 2 if model.config.image_size <= 32 else 1  # small images get 2x nearest-neighbour pixels
    names = [f"samples{suffix}.png"]
    save_image(sample_grid(model, seed=PREVIEW_SEED), folder / names[0], scale=scale)
    for code in model.codes:
        name = f"traversal_{code.name}{suffix}.png"
        save_image(traversal_grid(model, code.name, seed=PREVIEW_SEED), folder / name, scale=scale)
        names.append(name)
    if not suffix:
        for stale in {p.name for p in folder.glob("traversal_*.png")} - set(names):  # e.g. after renaming a code
            (folder / stale).unlink()
    return names


def build_model_card(config: InfoGANConfig, images: list[str]) -> ModelCard:
    """A model card whose every number comes from `config.metadata` (written by the trainer and the evaluator)."""
    meta = config.metadata
    dataset = meta.get("dataset", {})
    card_data = ModelCardData(
        library_name="infogan-explorer",
        license=dataset.get("license", "mit"),
        license_name=dataset.get("license_name"),
        license_link=dataset.get("license_link"),
        tags=["infogan", "gan", "disentanglement", "pytorch", "unconditional-image-generation"],
        datasets=[dataset["hub_id"]] if dataset.get("hub_id") else None,
        pipeline_tag="unconditional-image-generation",
    )
    title = meta.get("title", f"InfoGAN on {dataset.get('name', 'images')}")
    lines = [f"# {title}", ""]
    lines += [
        f"An [InfoGAN](https://arxiv.org/abs/1606.03657) generating {config.image_size}×{config.image_size} "
        f"{'RGB' if config.channels == 3 else 'greyscale'} images, trained **unsupervised** (labels are never "
        "shown to any network). Open it in the live latent explorer, or use it from Python:",
        "",
        "```python",
        "from infogan import InfoGAN",
        f'model = InfoGAN.from_pretrained("{meta.get("repo_id", "path/to/this/folder")}")',
        f"images = model.generate(n=8, seed=0, codes={json.dumps(_example_codes(config))})  # (8, C, H, W) in [0, 1]",
        "codes = model.infer_codes(images)  # Q reads the codes back",
        "```",
        "",
        "## Latent codes",
        "",
        f"Noise z: {config.latent.noise_dim} dims, N(0, I).",
        "",
        "| code | kind | prior | what it controls |",
        "|---|---|---|---|",
    ]
    notes = meta.get("code_notes", {})
    for code in config.latent.codes:
        if isinstance(code, CategoricalCode):
            prior = f"uniform over {code.size} categories" + (
                f" (labels: {', '.join(code.labels)})" if code.labels else ""
            )
        else:
            prior = f"Uniform({code.low:g}, {code.high:g})"
        lines.append(f"| `{code.name}` | {code.kind} | {prior} | {notes.get(code.name, '')} |")
    if images:
        lines += ["", "## Samples and traversals", ""]
        lines += [f"Fixed seed {PREVIEW_SEED}. Traversals: rows are samples, columns sweep one code "
                  "(categories, or −2…+2 for continuous codes; the prior is −1…+1).", ""]  # fmt: skip
        lines += [f"**{Path(name).stem.replace('_', ' ')}**\n\n![{name}]({name})\n" for name in images]
    metrics = meta.get("metrics")
    if metrics:
        lines += ["## Measured metrics", "", meta.get("metrics_note", ""), ""]
        lines += _metrics_table(metrics)
        if "disentanglement" in metrics:
            lines += _disentanglement_table(metrics["disentanglement"], metrics.get("factor_information", {}))
    training = meta.get("training")
    if training:
        lines += ["## Training", "", meta.get("training_note", ""), "", "| | |", "|---|---|"]
        lines += [f"| {k.replace('_', ' ')} | {_format(v)} |" for k, v in training.items()]
        lines.append("")
    if dataset:
        lines += ["## Data", "", f"{dataset.get('name', '')}: {dataset.get('terms', '')}", ""]
    lines += [
        "## Citation",
        "",
        "```bibtex",
        "@inproceedings{chen2016infogan,",
        "  title={InfoGAN: Interpretable Representation Learning by Information Maximizing Generative "
        "Adversarial Nets},",
        "  author={Chen, Xi and Duan, Yan and Houthooft, Rein and Schulman, John and Sutskever, Ilya and "
        "Abbeel, Pieter},",
        "  booktitle={NeurIPS},",
        "  year={2016}",
        "}",
        "```",
    ]
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    """One row per code: test-set accuracy/NMI (categorical codes) and information/R² on generated images."""
    test, generated = metrics.get("test_set", {}), metrics.get("generated", {})
    lines = [
        "| code | test accuracy (Hungarian) | test NMI | information (nats) | R² of Q's mean |",
        "|---|---|---|---|---|",
    ]
    for name in dict.fromkeys([*test, *generated]):
        t, g = test.get(name, {}), generated.get(name, {})
        info = g.get("information_nats")
        if info is not None and "max_information_nats" in g:
            info = f"{info:.3f} of {g['max_information_nats']:.3f}"
        cells = [t.get("accuracy"), t.get("nmi"), info, g.get("r2")]
        lines.append(f"| `{name}` | " + " | ".join("–" if c is None else _format(c) for c in cells) + " |")
    lines += [
        "",
        "Information = H(c) − E[−log Q(c | G(z, c))] in nats, a lower bound on I(c; G(z, c)). For continuous codes "
        "trained with a fixed σ the bound is loose (it can be negative); R² of Q's mean is the clearer measure there.",
    ]
    mapping = {k: v["category_to_class"] for k, v in test.items() if "category_to_class" in v}
    for name, pairs in mapping.items():
        lines += ["", f"`{name}` category → class: " + ", ".join(f"{k}→{v}" for k, v in pairs.items())]
    return [*lines, ""]


def _disentanglement_table(scores: dict[str, Any], information: dict[str, dict[str, float]]) -> list[str]:
    """The three scores against ground-truth factors, and per code its mutual information with each factor."""
    lines = [
        f"### Disentanglement against the ground-truth factors of {scores.get('dataset', 'the dataset')}",
        "",
        "| MIG | FactorVAE score | DCI disentanglement | DCI completeness | DCI informativeness (test accuracy) |",
        "|---|---|---|---|---|",
        "| " + " | ".join(_format(scores.get(k, "–")) for k in ("mig", "factor_vae", "dci_disentanglement",
                                                                "dci_completeness", "dci_informativeness_test"))
        + " |",
        "",
        f"Q's codes (categorical: argmax; continuous: predicted mean) on {_format(scores.get('pool_images', '?'))} "
        f"real images, seed {scores.get('seed', '?')}; definitions and sample sizes of disentanglement_lib, DCI from "
        "random forests (see `infogan/disentanglement.py`). MIG per factor: "
        + ", ".join(f"{k} {_format(v)}" for k, v in scores.get("mig_per_factor", {}).items()) + ".",
    ]  # fmt: skip
    if information:
        factors = list(next(iter(information.values())))
        lines += ["", "Mutual information of each code with each factor, divided by the factor's entropy (1 = the "
                  "code determines the factor):", "", "| code | " + " | ".join(factors) + " |",
                  "|---|" + "---|" * len(factors)]  # fmt: skip
        lines += [f"| `{name}` | " + " | ".join(_format(row.get(f)) for f in factors) + " |"
                  for name, row in information.items()]  # fmt: skip
    return [*lines, ""]


def _example_codes(config: InfoGANConfig) -> dict[str, Any]:
    return {c.name: (c.labels[0] if c.labels else 0) if isinstance(c, CategoricalCode) else 0.5
            for c in config.latent.codes[:2]}  # fmt: skip


def _format(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value) + "`"
    return str(value)
