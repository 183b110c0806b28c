"""The README.md model card of a checkpoint folder: Hub metadata header, previews, metrics and training facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from ..config import InfoGANConfig
from ..latent import CategoricalCode
from .visualize import labelled_traversal, sample_grid, save_image

PREVIEW_SEED = 0


def write_preview_images(model: Any, folder: Path, suffix: str = "") -> list[str]:
    """Write samples<suffix>.png and traversal_<code><suffix>.png per code (fixed seed: comparable across steps).

    Traversals are labelled (code name and note, column values with the prior shaded, row numbers), so a card or a
    progress folder can be read without the code beside it. Without a suffix (a checkpoint folder), traversal images
    of codes that no longer exist are removed.
    """
    scale = 2 if model.config.image_size <= 32 else 1  # small images get 2x nearest-neighbour pixels
    names = [f"samples{suffix}.png"]
    save_image(sample_grid(model, seed=PREVIEW_SEED), folder / names[0], scale=scale)
    notes = model.config.metadata.get("code_notes") or {}
    for code in model.codes:
        name = f"traversal_{code.name}{suffix}.png"
        labelled_traversal(model, code.name, seed=PREVIEW_SEED, note=notes.get(code.name, "")).save(folder / name)
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
                  "(categories in label order, or −2…+2 for continuous codes with the prior −1…+1 shaded).",
                  ""]  # fmt: skip
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
    refinement = meta.get("recognition_refinement")
    if refinement:
        lines += [
            "## Recognition refinement",
            "",
            "After training, the trunk and Q head were refined with G frozen (`python -m infogan.refine`): on G's "
            "samples against the codes that drew them, on confident readings of perturbed real images, and with "
            "batch-norm statistics re-estimated on real images. No labels were used; D's head is not refined, so "
            "this checkpoint generates and reads codes but is not for resuming GAN training.",
            "",
            "| | |",
            "|---|---|",
        ]
        lines += [f"| {k.replace('_', ' ')} | {_format(v)} |" for k, v in refinement.items()]
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
    return [*lines, "", *_judged_tables(metrics)]


def _judged_tables(metrics: dict[str, Any]) -> list[str]:
    """What each category draws (infogan.metrics.purity), code entanglement and realism, where they were measured."""
    lines: list[str] = []
    for name, rows in metrics.get("category_purity", {}).items():
        judge = metrics.get("reference_classifier_test_accuracy")
        lines += [f"**What each `{name}` category draws**, by an independent CNN trained on the labelled training "
                  f"split{f' (its test accuracy: {judge:.1%})' if judge else ''}, on 200 samples per category; "
                  "below 60 % purity a category is labelled as mixed:", "",
                  "| category | label | purity | classes seen |", "|---|---|---|---|"]  # fmt: skip
        for i, row in enumerate(rows):
            seen = ", ".join(f"{k} {v:.1%}" for k, v in list(row["classes"].items())[:3])
            lines.append(f"| {i} | {row['label']} | {row['purity']:.1%} | {seen} |")
        lines.append("")
    entanglement = metrics.get("entanglement")
    if entanglement:
        lines += ["**Entanglement of the continuous codes** (`infogan.metrics.entanglement`, 64 seeds, each code moved "
                  "from its prior's low to its high end): cross-talk = how far Q's reading of the other codes moves, "
                  "relative to the code's own (0 = independent); spill = share of the pixel change outside the "
                  "quarter of the image where the code acts (global codes such as background spill by nature).", "",
                  "| code | max cross-talk | spill | categorical flips |", "|---|---|---|---|"]  # fmt: skip
        for name, e in entanglement.items():
            flips = ", ".join(f"{k} {v:.0%}" for k, v in e.get("category_flip_rate", {}).items()) or "–"
            lines.append(f"| `{name}` | {e['max_cross_talk']:.3f} | {e['spill']:.2f} | {flips} |")
        lines.append("")
    realism = metrics.get("realism")
    if realism:
        lines += [f"**Realism** (classifier two-sample test, `infogan.metrics.realism`): a fresh CNN trained for "
                  f"{realism['epochs']} epochs on {int(0.8 * realism['images_per_side'])} real + as many generated "
                  f"images tells held-out ones apart with accuracy **{realism['two_sample_accuracy']:.3f}** "
                  f"(0.5 = indistinguishable) and cross-entropy {realism['critic_log_loss_nats']:.4f} nats "
                  "(ln 2 = 0.693 = chance; lower = easier to tell apart).", ""]  # fmt: skip
    return lines


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
        "random forests (see `infogan/metrics/disentanglement.py`). MIG per factor: "
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
