"""Does a shipped InfoGAN's synthetic labelled data help a classifier that has only k real images per class?

    python benchmarks/augmentation.py                  # MNIST and Fashion-MNIST, k = 1, 10, 100, 3 seeds

For each dataset the same small CNN is trained, for the same number of steps, on
  - real only:          k real labelled training images per class (a different random subset per seed);
  - real + synthetic:   the same k per class plus the synthetic set, every batch half real and half synthetic (plain
                        concatenation would weight 10 real images 1:1000 against 10,000 synthetic ones at k = 1);
  - synthetic only:     the synthetic set alone (no real labels at all beyond naming the categories once);
and scored on the 10,000 test images. The synthetic set is `--per-class` images per category from the shipped
checkpoint (`infogan.export.synthesize.draw_category`), each category labelled with the class it was matched to on the
test set by `python -m infogan.evaluate --write-labels` (the checkpoint's `category_to_class`). Prints a markdown
table (mean ± std over seeds) and writes it to `--out` with the settings and timings.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from infogan import InfoGAN
from infogan.data import DATASETS, ImageData, load_dataset
from infogan.export.synthesize import categorical_code, draw_category
from infogan.training.devices import describe_hardware

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = {"mnist": REPO / "checkpoints" / "mnist", "fashion-mnist": REPO / "checkpoints" / "fashion-mnist"}
SETTINGS = ("real only", "real + synthetic", "synthetic only")


class SmallCNN(nn.Module):
    """Two conv blocks and a linear layer (20k weights at 28×28 grey): trains in seconds on one CPU thread."""

    def __init__(self, channels: int, classes: int, size: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classify = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * (size // 4) ** 2, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))  # (B, classes)


# ---- data ---------------------------------------------------------------------------------------------------------


def real_subset(data: ImageData, k: int, seed: int) -> ImageData:
    """k images of every class, chosen at random with `seed`."""
    g = torch.Generator().manual_seed(seed)
    picks = []
    for label in data.labels.unique().tolist():
        indices = torch.nonzero(data.labels == label).flatten()
        picks.append(indices[torch.randperm(len(indices), generator=g)[:k]])
    chosen = torch.cat(picks)
    return ImageData(data.images[chosen], data.labels[chosen])


def category_classes(model: InfoGAN, code_name: str, class_names: tuple[str, ...]) -> list[int]:
    """The dataset class of every category: the checkpoint's test-set matching, or else its label when it names one."""
    matching = model.config.metadata.get("metrics", {}).get("test_set", {}).get(code_name, {}).get("category_to_class")
    code = categorical_code(model, code_name)
    classes = []
    for i in range(code.size):
        name = matching.get(str(i)) if isinstance(matching, dict) else code.label_of(i)
        if name not in class_names:
            raise ValueError(f"category {i} of {code_name!r} ({name!r}) is none of the classes {list(class_names)}")
        classes.append(class_names.index(name))
    return classes


def synthetic_set(model: InfoGAN, per_class: int, class_names: tuple[str, ...], min_confidence: float) -> ImageData:
    """`per_class` generated images per category, labelled with the category's matched class."""
    code = categorical_code(model)
    classes = category_classes(model, code.name, class_names)
    images, labels = [], []
    for category, label in enumerate(classes):
        for chunk in draw_category(model, code, category, per_class, seed=0, min_confidence=min_confidence):
            images.append(chunk.images)
            labels.append(torch.full((len(chunk.images),), label))
    return ImageData(torch.cat(images), torch.cat(labels))


# ---- training and scoring -----------------------------------------------------------------------------------------


def train_classifier(
    real: ImageData | None, synthetic: ImageData | None, classes: int, steps: int, batch_size: int, seed: int
) -> SmallCNN:
    """Adam for `steps` batches; with both sources each batch is half real, half synthetic (drawn with replacement)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    shape = (real or synthetic).images.shape
    net = SmallCNN(shape[1], classes, shape[-1])
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    sources = [s for s in (real, synthetic) if s is not None]
    share = batch_size // len(sources)
    for _ in range(steps):
        picks = [torch.randint(len(s), (share,), generator=g) for s in sources]
        x = torch.cat([s.images[i] for s, i in zip(sources, picks, strict=True)]).float() / 255  # (B, C, H, W)
        y = torch.cat([s.labels[i] for s, i in zip(sources, picks, strict=True)])
        loss = nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return net.eval()


@torch.inference_mode()
def accuracy(net: nn.Module, test: ImageData, batch_size: int = 1000) -> float:
    correct = 0
    for start in range(0, len(test), batch_size):
        x = test.images[start : start + batch_size].float() / 255
        correct += int((net(x).argmax(1) == test.labels[start : start + batch_size]).sum())
    return correct / len(test)


def run_dataset(name: str, args: argparse.Namespace) -> dict:
    """Every (setting, k, seed) accuracy for one dataset, plus how long the synthetic set took."""
    model = InfoGAN.from_pretrained(Path(args.checkpoint_dir) / name)
    size, channels = model.config.image_size, model.config.channels
    train = load_dataset(name, args.data_dir, size, channels, split="train")
    test = load_dataset(name, args.data_dir, size, channels, split="test")
    class_names = DATASETS[name].class_names
    start = time.perf_counter()
    synthetic = synthetic_set(model, args.per_class, class_names, args.min_confidence)
    result = {"synthesis_seconds": round(time.perf_counter() - start, 1), "synthetic_images": len(synthetic),
              "runs": {s: {} for s in SETTINGS}}  # fmt: skip
    fit = dict(classes=len(class_names), steps=args.steps, batch_size=args.batch_size)
    for seed in range(args.seeds):
        result["runs"]["synthetic only"].setdefault("0", []).append(
            accuracy(train_classifier(None, synthetic, seed=seed, **fit), test)
        )
        for k in args.k:
            real = real_subset(train, k, seed)
            for setting, extra in (("real only", None), ("real + synthetic", synthetic)):
                acc = accuracy(train_classifier(real, extra, seed=seed, **fit), test)
                result["runs"][setting].setdefault(str(k), []).append(acc)
                print(f"{name} seed {seed} k={k} {setting}: {acc:.4f}", file=sys.stderr, flush=True)
    return result


# ---- reporting ----------------------------------------------------------------------------------------------------


def mean_std(values: list[float]) -> str:
    """'mean ± std' in percent (sample std over seeds; ± 0.0 for a single seed)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


def format_table(results: dict[str, dict], k_values: list[int]) -> str:
    """One markdown row per (dataset, k): test accuracy (%) of each setting."""
    lines = ["| dataset | real images per class | real only | real + synthetic | synthetic only |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, result in results.items():
        runs = result["runs"]
        synthetic_only = mean_std(runs["synthetic only"]["0"])
        for k in k_values:
            row = [DATASETS[name].title, str(k), mean_std(runs["real only"][str(k)])]
            row += [mean_std(runs["real + synthetic"][str(k)]), synthetic_only]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(CHECKPOINTS), choices=sorted(CHECKPOINTS),
                        help="datasets to run (each uses the checkpoint folder of the same name)")  # fmt: skip
    shared = os.environ.get("INFOGAN_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data-dir", default=shared,
                        help="folder holding MNIST/ and FashionMNIST/ (torchvision layout); default "
                             "$INFOGAN_SHARED_DATA or ../shared/data beside the clone")  # fmt: skip
    parser.add_argument("--checkpoint-dir", default=str(REPO / "checkpoints"), help="folder of checkpoint folders")
    parser.add_argument("--k", nargs="+", type=int, default=[1, 10, 100], help="real labelled images per class")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per setting (subset choice and classifier init)")
    parser.add_argument("--per-class", type=int, default=1000, help="synthetic images per category")
    parser.add_argument("--min-confidence", type=float, default=0.0, help="Q-confidence filter for synthetic images")
    parser.add_argument("--steps", type=int, default=400, help="training steps per classifier (same for all)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "augmentation.md"),
                        help="markdown file for the table, settings and timings ('' to only print)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        results = {name: run_dataset(name, args) for name in args.datasets}
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    minutes = (time.perf_counter() - start) / 60
    table = format_table(results, args.k)
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "data_dir", "checkpoint_dir")}
    note = (
        f"Test accuracy (%) on the 10,000 test images, mean ± std over {args.seeds} seeds. Measured "
        f"{datetime.date.today().isoformat()} on {describe_hardware(torch.device('cpu'))}, torch {torch.__version__}, "
        f"{args.threads} thread(s), in {minutes:.1f} min. Settings: {json.dumps(settings)}."
    )
    print(table)
    print(note)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        body = f"# Synthetic-data augmentation benchmark\n\n`python benchmarks/augmentation.py`\n\n{table}\n\n{note}\n"
        body += f"\n```json\n{json.dumps(results, indent=1)}\n```\n"
        Path(args.out).write_text(body, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
