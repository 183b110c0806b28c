"""Label-free refinement of the recognition network Q after training: `python -m infogan.refine CHECKPOINT`.

After training, G may draw each category more cleanly than Q reads real images: on MNIST every category's samples
are ≥ 97.5 % one digit (by an independent classifier) while Q matched only 96.8 % of the real test digits. Q learned
on G's samples and meets real images only through the trunk it shares with D. Refinement trains the recognition path
(shared trunk + Q head) a little longer, with G frozen, on three label-free signals:

1. **G's own codes**, as in training: Q reads generated images (categorical codes from a copy perturbed by
   `categorical_policy`, e.g. shifted and rotated; continuous codes with the run's own `q_augment`) and is scored
   against the codes that drew them. This anchors every category to what G draws, so category labels stay valid.
2. **Its own confident readings of real images** (pseudo-labels, as in FixMatch, Sohn et al. 2020): where Q reads an
   unperturbed real image with probability ≥ `confidence`, the perturbed copy of that image must read the same.
   Real images enter without labels; labels never enter at all.
3. **Batch-norm statistics of real images**: in training the trunk normalised real batches by their own statistics,
   but its running averages mix real, generated and augmented batches. Reading real images is what Q is used for, so
   the statistics are re-estimated on real images at the end.

D's head is left as it was and no longer matches the refined trunk: a refined checkpoint is for generating and
reading codes (the explorer, `infer_codes`), not for resuming GAN training (which resumes from a run folder anyway).
On the shipped MNIST model it lifted test accuracy from 96.8 % to 97.3 % (docs/training.md, "Refining Q after
training"); the settings are recorded in the checkpoint's metadata and model card.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from tqdm.auto import tqdm

from ..data import DATASETS, ImageData, load_dataset
from ..latent import CategoricalCode
from ..losses import info_loss
from ..model import InfoGAN
from .augment import augment, parse_policy

BATCH_NORM_IMAGES = 5000  # real images whose statistics replace the running averages (a cumulative average)


@dataclass(frozen=True)
class RefineConfig:
    """How long and how Q is refined (see the module docstring)."""

    steps: int = 2000
    batch_size: int = 100
    lr: float = 1e-4
    categorical_policy: str = "translation:0.1,rotation:0.2"  # perturbation Q must see through for categories
    confidence: float = 0.95  # a real image's reading becomes its pseudo-label above this probability
    seed: int = 0

    def validate(self) -> None:
        for name, value, low, high in (("steps", self.steps, 1, 1_000_000), ("batch_size", self.batch_size, 2, 4096)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
        if not 0 < self.lr <= 1:
            raise ValueError(f"lr must be in (0, 1], got {self.lr!r}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence!r}")
        parse_policy(self.categorical_policy)  # raises a clear error on an unknown op or strength


def refine_recognition(
    model: InfoGAN, real: ImageData, config: RefineConfig = RefineConfig(), progress: bool = True
) -> dict[str, float]:
    """Refine `model`'s trunk and Q head in place on G's samples and unlabelled `real` images; returns final stats.

    `real.images` are uint8 (N, C, H, W) matching the model; `real.labels` are never read.
    """
    config.validate()
    spec, device = model.config.latent, model.device
    if not spec.categorical:
        raise ValueError("refinement reads categorical codes on real images: this model has none")
    expected = (model.config.channels, model.config.image_size, model.config.image_size)
    if real.images.dim() != 4 or tuple(real.images.shape[1:]) != expected:
        raise ValueError(f"real images must be (N, {', '.join(map(str, expected))}), got {tuple(real.images.shape)}")
    lambdas, continuous_policy = _as_trained(model)
    categorical_columns = torch.tensor(
        [isinstance(c, CategoricalCode) for c in spec.codes for _ in range(c.q_outputs)], device=device
    )
    rng = torch.Generator().manual_seed(config.seed)
    params = [*model.trunk.parameters(), *model.q_head.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=(0.5, 0.999))  # the trainer's betas

    def read(images: torch.Tensor, policy: str) -> torch.Tensor:
        return model.q_head(model.trunk(augment(images, policy, rng)))

    model.generator.eval()  # G is frozen: its batch norm uses its running statistics, as when sampling
    model.trunk.train()
    model.q_head.train()
    stats: dict[str, float] = {}
    confident_shares: list[float] = []  # per step; the record keeps the mean over the last 100 steps
    for _ in tqdm(range(config.steps), desc="refining Q", disable=not progress, leave=False):
        codes = spec.sample(config.batch_size, generator=rng, device=device)
        with torch.no_grad():
            fake = model.generator(spec.to_generator_input(codes))
        q_fake = torch.where(categorical_columns, read(fake, config.categorical_policy), read(fake, continuous_policy))
        loss, information = info_loss(spec, q_fake, codes, **lambdas)

        rows = torch.randint(len(real), (config.batch_size,), generator=rng)
        images = real.images[rows].to(device, torch.float32) / 255
        with torch.no_grad():
            plain = spec.split_q_output(model.q_head(model.trunk(images)))
        perturbed = spec.split_q_output(read(images, config.categorical_policy))
        confident_share = 0.0
        for code in spec.categorical:
            confidence, target = plain[code.name].softmax(1).max(1)
            keep = (confidence >= config.confidence).float()
            loss = loss + (F.cross_entropy(perturbed[code.name], target, reduction="none") * keep).mean()
            confident_share += float(keep.mean()) / len(spec.categorical)

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        confident_shares.append(confident_share)
        stats = {"loss": float(loss.detach()), **information}
    stats["confident_share"] = sum(confident_shares[-100:]) / len(confident_shares[-100:])
    recalibrate_batch_norm(torch.nn.Sequential(model.trunk, model.q_head), real)  # both hold batch norm
    model.eval()
    return stats


def _as_trained(model: InfoGAN) -> tuple[dict[str, Any], str]:
    """The code loss's weights and the continuous codes' augmentation as the model's training used them (the
    trainer's defaults where its metadata is silent)."""
    training = model.config.metadata.get("training", {})
    std = training.get("continuous_std")
    lambdas = {
        "lambda_categorical": float(training.get("lambda_categorical", 1.0)),
        "lambda_continuous": float(training.get("lambda_continuous", 0.1)),
        "continuous_std": float(std) if isinstance(std, (int, float)) else None,  # "learned" (or absent): Q's own σ
    }
    return lambdas, str(training.get("q_augment", ""))  # continuous codes are read as in training


@torch.no_grad()
def recalibrate_batch_norm(module: torch.nn.Module, real: ImageData, images: int = BATCH_NORM_IMAGES) -> None:
    """Replace `module`'s batch-norm running statistics by those of `images` real images (a cumulative average)."""
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # None = cumulative moving average: every batch counts equally
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:images]
    device = next(module.parameters()).device
    was_training = module.training
    module.train()  # train mode updates the running statistics; no_grad keeps the weights as they are
    for start in range(0, len(order), 250):
        module(real.images[order[start : start + 250]].to(device, torch.float32) / 255)
    module.train(was_training)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum


def main(argv: list[str] | None = None) -> int:
    defaults = RefineConfig()
    parser = argparse.ArgumentParser(prog="python -m infogan.refine", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="checkpoint folder to refine")
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="the real images (labels unused)")
    parser.add_argument("--data-dir", default="data", help="folder holding the dataset (torchvision layout)")
    parser.add_argument("--out", help="where to write the refined checkpoint (default: refine in place)")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="refinement steps")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate of trunk and Q head")
    parser.add_argument("--policy", default=defaults.categorical_policy,
                        help="perturbation Q reads categories through (infogan.training.augment ops)")  # fmt: skip
    parser.add_argument("--confidence", type=float, default=defaults.confidence,
                        help="probability above which Q's reading of a real image is its pseudo-label")  # fmt: skip
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = RefineConfig(args.steps, defaults.batch_size, args.lr, args.policy, args.confidence, args.seed)
    try:
        config.validate()
        if not Path(args.checkpoint).is_dir():
            raise ValueError(f"{args.checkpoint!r} is not a checkpoint folder; download it first (hf download …)")
        model = InfoGAN.from_pretrained(args.checkpoint)
        trained_on = model.config.metadata.get("dataset", {}).get("id")
        if trained_on and trained_on != args.dataset:
            raise ValueError(f"this model was trained on {trained_on!r}; refine it with --dataset {trained_on}")
        real = load_dataset(args.dataset, args.data_dir, model.config.image_size, model.config.channels, "train")
        stats = refine_recognition(model, real, config)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    record = refinement_record(config, args.dataset, len(real), stats)
    model.config = model.config.with_metadata(recognition_refinement=record)
    out = args.out or args.checkpoint
    model.save_pretrained(out)
    print(f"refined Q ({config.steps} steps; confident share {stats['confident_share']:.2f}): {out}", file=sys.stderr)
    print(f"measure it: python -m infogan.evaluate {out} --dataset {args.dataset} --data-dir {args.data_dir}",
          file=sys.stderr)  # fmt: skip
    return 0


def refinement_record(config: RefineConfig, dataset: str, images: int, stats: dict[str, float]) -> dict[str, Any]:
    """What the checkpoint's metadata keeps about a refinement (shown in its model card)."""
    return {
        **asdict(config),
        "real_images": f"{dataset} training split, {images:,} images, labels unused",
        "confident_share_last_100_steps": round(stats["confident_share"], 3),
        "date": datetime.date.today().isoformat(),
    }


if __name__ == "__main__":
    sys.exit(main())
