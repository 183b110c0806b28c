"""Measure how well the codes are disentangled; `python -m infogan.evaluate CHECKPOINT --dataset mnist`.

Labels are used here and only here: the model never saw them during training.
- categorical codes: Q's argmax on the labelled test set, categories matched to classes by the Hungarian method
  (accuracy, the paper's Sec. 5.1 figure) and normalised mutual information;
- every code: the information term H(c) - E[-log Q(c|G(z, c))] on generated images (nats; its maximum is H(c));
- continuous codes: R² of Q's predicted mean against the true code on generated images, and how much each one's
  traversal moves the others and the rest of the image (infogan.metrics.entanglement);
- on datasets with ground-truth factors (dSprites): MIG, the FactorVAE score and DCI disentanglement of Q's codes on
  real images (infogan.metrics.disentanglement);
- realism (`--realism`): a classifier two-sample test against real images (infogan.metrics.realism;
  0.5 = indistinguishable).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch
from scipy.optimize import linear_sum_assignment

from ..data import DATASETS, ImageData, load_dataset
from ..latent import CategoricalCode
from ..losses import info_loss
from ..model import InfoGAN, eval_mode
from .disentanglement import POOL_POINTS, disentanglement_metrics
from .entanglement import code_entanglement


def contingency(pred: torch.Tensor, labels: torch.Tensor, n_pred: int, n_labels: int) -> torch.Tensor:
    """Counts (n_pred, n_labels): how often category i was predicted for an image of class j."""
    table = torch.zeros(n_pred * n_labels, dtype=torch.float64)
    table.index_add_(0, pred.long() * n_labels + labels.long(), torch.ones(len(pred), dtype=torch.float64))
    return table.view(n_pred, n_labels)


def hungarian_accuracy(table: torch.Tensor) -> tuple[float, dict[int, int]]:
    """Best one-to-one category→class matching (Hungarian method); accuracy and the mapping."""
    rows, cols = linear_sum_assignment(table.numpy(), maximize=True)
    mapping = {int(r): int(c) for r, c in zip(rows, cols, strict=True)}
    return float(table[rows, cols].sum() / table.sum()), mapping


def normalized_mutual_information(table: torch.Tensor) -> float:
    """NMI with the arithmetic-mean normalisation (scikit-learn's default), from a contingency table."""
    p = table / table.sum()
    pi, pj = p.sum(1, keepdim=True), p.sum(0, keepdim=True)
    nz = p > 0
    mi = float((p[nz] * (p[nz] / (pi @ pj)[nz]).log()).sum())
    h_i = -float((pi[pi > 0] * pi[pi > 0].log()).sum())
    h_j = -float((pj[pj > 0] * pj[pj > 0].log()).sum())
    return 0.0 if h_i + h_j == 0 else 2 * mi / (h_i + h_j)


@torch.inference_mode()
def predict_categories(model: Any, images: torch.Tensor, code_name: str, batch_size: int = 1000) -> torch.Tensor:
    """Q's argmax category for every image (uint8 or float in [0, 1])."""
    preds = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        batch = batch.float() / 255 if batch.dtype == torch.uint8 else batch
        preds.append(model.infer_codes(batch)[code_name].argmax(1).cpu())
    return torch.cat(preds)


@torch.inference_mode()
def categorical_information(model: Any, images: torch.Tensor, batch_size: int = 1000) -> dict[str, float]:
    """Per categorical code, Q's mutual information with real images, I(c; x) = H(E_x q(c|x)) - E_x H(q(c|x)), nats.

    Label-free: high when Q uses every category about equally often (first term, at most ln K) *and* is sure about
    each image (second term near 0). A code whose categories Q cannot tell apart on real data scores low, which is
    what makes it usable to choose between runs without looking at labels.
    """
    names = [code.name for code in model.codes if isinstance(code, CategoricalCode)]
    mean_probs: dict[str, torch.Tensor] = {}
    mean_entropy: dict[str, float] = dict.fromkeys(names, 0.0)
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        batch = batch.float() / 255 if batch.dtype == torch.uint8 else batch
        readings = model.infer_codes(batch)
        for name in names:
            probs = readings[name].double().cpu()  # (B, K)
            mean_probs[name] = mean_probs.get(name, 0) + probs.sum(0)
            mean_entropy[name] += float(-(probs * probs.clamp_min(1e-12).log()).sum())
    out = {}
    for name in names:
        marginal = mean_probs[name] / len(images)
        entropy_of_mean = float(-(marginal * marginal.clamp_min(1e-12).log()).sum())
        out[name] = round(entropy_of_mean - mean_entropy[name] / len(images), 4)
    return out


def categorical_metrics(model: Any, data: ImageData, class_names: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Per categorical code: Hungarian accuracy, NMI and the category→class mapping on labelled data."""
    if data.labels is None:
        raise ValueError("categorical metrics need a labelled dataset")
    n_classes = int(data.labels.max()) + 1
    results = {}
    for code in model.codes:
        if not isinstance(code, CategoricalCode):
            continue
        table = contingency(predict_categories(model, data.images, code.name), data.labels, code.size, n_classes)
        accuracy, mapping = hungarian_accuracy(table)
        names = class_names or tuple(str(i) for i in range(n_classes))
        results[code.name] = {
            "accuracy": round(accuracy, 4),
            "nmi": round(normalized_mutual_information(table), 4),
            "category_to_class": {str(k): names[v] for k, v in sorted(mapping.items())},
            "images": len(data),
        }
    return results


@torch.inference_mode()
def generated_code_metrics(model: Any, n: int = 5000, seed: int = 1234, batch_size: int = 500) -> dict[str, dict]:
    """Information term per code and, for continuous codes, R² of Q's mean, on n generated images."""
    if n < 1:
        raise ValueError(f"need at least one generated image, got n={n}")
    spec = model.config.latent
    # Score the continuous codes with the σ they were trained with (a fixed σ leaves Q's log-σ output untrained).
    std = model.config.metadata.get("training", {}).get("continuous_std")
    trained_std = std if isinstance(std, (int, float)) else None
    info_sums = {c.name: 0.0 for c in spec.codes}
    truths: dict[str, list] = {c.name: [] for c in spec.continuous}
    preds: dict[str, list] = {c.name: [] for c in spec.continuous}
    for i, start in enumerate(range(0, n, batch_size)):
        b = min(batch_size, n - start)
        values = model.latent_values(b, seed + i)
        images = model.generate(n=b, seed=seed + i)
        with eval_mode(model):
            q = model.q_head(model.trunk(images))
        _, info = info_loss(spec, q, values, continuous_std=trained_std)
        for name, v in info.items():
            info_sums[name] += v * b
        split = spec.split_q_output(q)
        for code in spec.continuous:
            truths[code.name].append(values[code.name].cpu())
            preds[code.name].append(split[code.name][0].cpu())
    out: dict[str, dict] = {}
    for code in spec.codes:
        entry: dict[str, float] = {"information_nats": round(info_sums[code.name] / n, 4)}
        if isinstance(code, CategoricalCode):
            entry["max_information_nats"] = round(math.log(code.size), 4)
        else:
            t, p = torch.cat(truths[code.name]), torch.cat(preds[code.name])
            entry["r2"] = round(1 - float(((t - p) ** 2).sum() / ((t - t.mean()) ** 2).sum()), 4)
        out[code.name] = entry
    return out


def evaluate(
    model: Any,
    dataset: str | None,
    data_dir: str | None,
    n_generated: int = 5000,
    points: int = POOL_POINTS,
    seed: int = 0,
    realism: bool = False,
    purity: bool = False,
) -> dict[str, Any]:
    """All metrics for a model: generated-image metrics always; test-set metrics (and, with `purity`, what each
    category draws) when a labelled dataset is given; disentanglement scores (on `points` real images, seeded) when
    the dataset knows its ground-truth factors; the realism test against the dataset's images when asked (it trains
    a small critic: minutes on a CPU)."""
    results: dict[str, Any] = {}
    source = DATASETS[dataset] if dataset else None
    if source and source.factor_names:  # first: the headline scores where a dataset has them
        data = load_dataset(dataset, data_dir or ".", model.config.image_size, model.config.channels, split="test")
        scores = disentanglement_metrics(model, data.images, data.factors, source.factor_names, points, seed)
        results["disentanglement"] = {**scores["summary"], "dataset": source.title}
        results["factor_information"] = scores["codes"]  # per code: MI with each factor / H(factor)
        del data  # the full dSprites set is 3 GB
    results["generated"] = generated_code_metrics(model, n=n_generated)
    if len(model.config.latent.continuous) > 0:
        results["entanglement"] = code_entanglement(model)
    if source and source.class_names and model.config.latent.categorical:
        data = load_dataset(dataset, data_dir or ".", model.config.image_size, model.config.channels, split="test")
        results["test_set"] = categorical_metrics(model, data, source.class_names)
        results["test_set_name"] = f"{source.title} test split"
        if purity:
            from .purity import category_purity, train_reference_classifier

            size, channels = model.config.image_size, model.config.channels
            train = load_dataset(dataset, data_dir or ".", size, channels, split="train")
            classifier, accuracy = train_reference_classifier(train, data)
            results["category_purity"] = category_purity(model, classifier, source.class_names)
            results["reference_classifier_test_accuracy"] = accuracy
    if realism:
        if not dataset:
            raise ValueError("--realism compares samples with real images: pass --dataset (e.g. celeba)")
        from .realism import two_sample_test

        split = "test" if source.class_names else "train"  # celeba-10k has no test split
        real = load_dataset(dataset, data_dir or ".", model.config.image_size, model.config.channels, split=split)
        results["realism"] = {**two_sample_test(model, real.images), "real_images": f"{dataset} {split} split"}
    return results


def write_category_labels(model: Any, test_metrics: dict[str, dict], purity: dict[str, list] | None = None) -> Any:
    """A copy of the model config whose categorical codes carry class names as labels.

    With a purity table (infogan.metrics.purity), each category is named after what its generated images are (mixed ones
    get "A/B?") and the purities go into metadata["category_purity"]; otherwise after the class Q's category is
    matched to on real test images.
    """
    from dataclasses import replace

    from .purity import unique_labels

    codes = []
    for code in model.config.latent.codes:
        if isinstance(code, CategoricalCode) and purity and code.name in purity:
            code = replace(code, labels=tuple(unique_labels([row["label"] for row in purity[code.name]])))
        elif isinstance(code, CategoricalCode) and code.name in test_metrics:
            mapping = test_metrics[code.name]["category_to_class"]
            labels = [mapping.get(str(i), f"cat{i}") for i in range(code.size)]
            # Two categories can match no class (when categories > classes); keep labels unique for the dropdowns.
            seen: dict[str, int] = {}
            for i, label in enumerate(labels):
                seen[label] = seen.get(label, 0) + 1
                labels[i] = label if seen[label] == 1 else f"{label} ({seen[label]})"
            code = replace(code, labels=tuple(labels))
        codes.append(code)
    config = model.config.with_latent(replace(model.config.latent, codes=tuple(codes)))
    if purity:
        table = {name: [row["purity"] for row in rows] for name, rows in purity.items()}
        config = config.with_metadata(category_purity=table)
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infogan.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="checkpoint folder or Hub repo id")
    parser.add_argument("--dataset", choices=sorted(DATASETS),
                        help="labelled dataset (categorical accuracy, NMI) or one with ground-truth factors "
                             "(dsprites: MIG, FactorVAE, DCI)")  # fmt: skip
    parser.add_argument("--data-dir", default="data", help="folder holding the dataset (torchvision layout)")
    parser.add_argument("--generated", type=int, default=5000, help="generated images for information and R²")
    parser.add_argument("--points", type=int, default=POOL_POINTS,
                        help="real images whose codes the disentanglement scores sample from "
                             "(datasets with factors)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the disentanglement scores' sampling")
    parser.add_argument("--write-labels", action="store_true",
                        help="write the matched class names into the checkpoint's config as category labels, and "
                             "the metrics into its metadata and model card")  # fmt: skip
    parser.add_argument(
        "--no-purity",
        action="store_true",
        help="skip what-each-category-draws (it trains a reference classifier: a minute or two)",
    )
    parser.add_argument(
        "--realism",
        action="store_true",
        help="also run the classifier two-sample realism test against --dataset's images (minutes)",
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.write_labels and not Path(args.checkpoint).is_dir():
            raise ValueError(f"--write-labels needs a local checkpoint folder; {args.checkpoint!r} is not one")
        model = InfoGAN.from_pretrained(args.checkpoint)
        results = evaluate(model, args.dataset, args.data_dir, args.generated, args.points, args.seed,
                           realism=args.realism, purity=not args.no_purity)  # fmt: skip
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=2))
    if args.write_labels:
        config = write_category_labels(model, results.get("test_set", {}), results.get("category_purity"))
        note = (
            f"Measured with `python -m infogan.evaluate` on {datetime.date.today().isoformat()}: information terms "
            f"and R² on {args.generated} generated images"
            + (f"; accuracy (Hungarian-matched) and NMI on the {results['test_set_name']}, whose labels were "
               "never used in training" if "test_set" in results else "")
            + (f"; MIG, FactorVAE score and DCI disentanglement of Q's codes on {args.points:,} real images "
               f"(seed {args.seed}) of {results['disentanglement']['dataset']}, whose factors were never used in "
               "training" if "disentanglement" in results else "")
            + "."
        )  # fmt: skip
        model.config = config.with_metadata(metrics=results, metrics_note=note)
        model.save_pretrained(args.checkpoint)
        print(f"wrote labels and metrics into {args.checkpoint}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
