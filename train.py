"""Train an InfoGAN: `python train.py --preset mnist --data-dir ../shared/data --out runs/mnist`.

Kill it any time; `--resume` continues from the last checkpoint exactly (same batches, same noise).
Several processes (GPUs, nodes): `torchrun --nproc_per_node N train.py ...` or `accelerate launch train.py ...`;
--batch-size stays the global batch (see docs/distributed.md).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

# Only light imports here, so `train.py -h` answers at once; torch and the trainer load in main() after parsing.
from infogan.data import DATASETS
from infogan.presets import available_presets

# TrainConfig fields a command-line flag may override (None = keep the preset's value).
OVERRIDABLE = (
    "dataset",
    "steps",
    "batch_size",
    "lr_g",
    "lr_d",
    "lambda_categorical",
    "lambda_continuous",
    "continuous_std",
    "augment",
    "q_augment",
    "q_augment_categorical",
    "cr_weight",
    "real_info_weight",
    "ema_decay",
    "gan_loss",
    "seed",
    "device",
    "mixed_precision",
    "compile",
    "log_every",
    "sample_every",
    "checkpoint_every",
)
# Preset training keys that choose label-free restarts (train.py's --candidates/--select-at), not TrainConfig fields.
SELECTION_KEYS = ("candidates", "select_at")

if TYPE_CHECKING:
    from infogan import InfoGAN, InfoGANConfig
    from infogan.data import ImageData
    from infogan.training.trainer import TrainConfig

LEARNED = "learned"


def _std_or_learned(text: str) -> float | str:
    return LEARNED if text == LEARNED else float(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--preset",
        default="mnist",
        help=f"model + training defaults: one of {available_presets()} or a preset .json file",
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="override the preset's dataset")
    parser.add_argument(
        "--data-dir",
        default="data",
        help="dataset root (torchvision layout; downloaded there when online). For --dataset folder: "
        "any folder of images, searched recursively",
    )
    parser.add_argument("--out", required=True, help="run folder for logs, previews, checkpoints and the model")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--steps", type=int, help="total optimisation steps (overrides the preset)")
    parser.add_argument("--epochs", type=float, help="total epochs instead of --steps")
    parser.add_argument("--batch-size", type=int, help="images per step")
    parser.add_argument("--lr-g", type=float, help="generator learning rate")
    parser.add_argument("--lr-d", type=float, help="discriminator/Q learning rate")
    parser.add_argument("--lambda-cat", type=float, dest="lambda_categorical", help="λ for categorical codes")
    parser.add_argument("--lambda-cont", type=float, dest="lambda_continuous", help="λ for continuous codes")
    parser.add_argument(
        "--continuous-std",
        type=_std_or_learned,
        dest="continuous_std",
        help="fix σ of the continuous codes' Gaussian NLL, or 'learned' to use Q's predicted σ (default: the preset's)",
    )
    parser.add_argument(
        "--augment",
        help="differentiable augmentation of D's inputs, e.g. 'translation,cutout' or 'translation:0.1' ('' = none)",
    )
    parser.add_argument("--q-augment", dest="q_augment", help="augmentation of the generated images Q reads")
    parser.add_argument(
        "--q-augment-categorical",
        dest="q_augment_categorical",
        help="augmentation of the images Q reads the categorical codes from, e.g. 'translation:0.1,rotation' "
        "('' = as --q-augment)",
    )
    parser.add_argument("--ema-decay", type=float, help="average G's weights with this decay (0 = off; 0.999)")
    parser.add_argument("--gan-loss", choices=["bce", "hinge"], help="adversarial loss")
    parser.add_argument("--cr-weight", type=float, help="InfoGAN-CR contrastive regulariser weight (0 = off)")
    parser.add_argument(
        "--real-info-weight",
        dest="real_info_weight",
        type=float,
        help="weight of Q's information about its categorical codes on real images (0 = off, the paper's loss)",
    )
    parser.add_argument("--seed", type=int, help="seed for weights, data order and latent samples")
    parser.add_argument("--device", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--mixed-precision",
        choices=["no", "bf16"],
        help="bf16 autocast on CUDA with fp32 weights (default: the preset's, else no; CPU: no)",
    )
    parser.add_argument(
        "--compile", action="store_true", default=None, help="torch.compile the networks (worth it on GPUs)"
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--log-every", type=int, help="steps between log lines")
    parser.add_argument("--sample-every", type=int, help="steps between sample/traversal grids")
    parser.add_argument("--checkpoint-every", type=int,
                        help="steps between checkpoints (default: the preset's, else min(500, steps / 4))")  # fmt: skip
    parser.add_argument(
        "--candidates",
        type=int,
        help="train this many seeds for --select-at steps, keep the one whose categorical codes carry the most\n"
        "information about real images (label-free; see infogan/selection.py), and finish it\n"
        "(default: the preset's, e.g. 3 for mnist; 1 = one plain run)",
    )
    parser.add_argument("--select-at", type=int,
                        help="steps per candidate before choosing (default: the preset's share of the steps, "
                             "else steps / 2)")  # fmt: skip
    parser.add_argument("--no-eval", action="store_true", help="skip test-set accuracy at checkpoints")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the final model to this Hub repo")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    from infogan.data import load_dataset
    from infogan.presets import load_preset
    from infogan.training.trainer import STATE_FILE, TrainConfig, Trainer, TrainingDivergedError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        preset = load_preset(args.preset)
        training = dict(preset.training)
        selection = {k: training.pop(k) for k in SELECTION_KEYS if k in training}  # label-free restarts
        for key, value in selection.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"preset {preset.name}: training.{key} must be a positive integer, got {value!r}")
        known = {f.name for f in fields(TrainConfig)}
        config = TrainConfig(**{k: v for k, v in training.items() if k in known})
        preset_steps = config.steps
        unknown = set(training) - known
        if unknown:
            raise ValueError(f"preset {preset.name}: unknown training key(s) {sorted(unknown)}")
        overrides = {k: getattr(args, k) for k in OVERRIDABLE}
        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
        if config.continuous_std == LEARNED:
            config = replace(config, continuous_std=None)
        model_config = preset.model
        data = load_dataset(config.dataset, args.data_dir, model_config.image_size, model_config.channels)
        config.validate()
        if args.epochs is not None:
            if not args.epochs > 0:
                raise ValueError(f"--epochs must be positive, got {args.epochs}")
            config = replace(config, steps=max(1, math.ceil(args.epochs * len(data) / config.batch_size)))
        eval_data = None
        if not args.no_eval and DATASETS[config.dataset].class_names:
            eval_data = load_dataset(config.dataset, args.data_dir, model_config.image_size, model_config.channels,
                                     split="test")  # fmt: skip
        candidates = args.candidates if args.candidates is not None else selection.get("candidates", 1)
        # A preset's choice point keeps its share of training when --steps/--epochs change the length.
        share = selection["select_at"] / preset_steps if "select_at" in selection else 0.5
        select_at = args.select_at or max(1, round(share * config.steps))
        if args.resume and args.candidates is None:  # a run folder resumes the way it started
            saved = _saved_selection(Path(args.out))
            if (Path(args.out) / STATE_FILE).exists():
                candidates = 1  # a plain run (e.g. from before its preset chose restarts)
            elif saved:
                candidates, select_at = saved["candidates"], args.select_at or saved["select_at"]
        if candidates > 1:
            model = _train_candidates(args, model_config, config, data, eval_data, candidates, select_at)
            main = True  # --candidates runs in one process (see _train_candidates)
        else:
            trainer = Trainer(model_config, config, data, args.out, eval_data=eval_data, resume=args.resume)
            main = trainer.parallel.is_main
            processes = f" × {trainer.parallel.world_size} processes" if trainer.parallel.world_size > 1 else ""
            if main:
                print(f"training {preset.name} on {config.dataset} ({len(data)} images) on {trainer.device}"
                      f"{processes}, {torch.get_num_threads()} threads, {config.steps} steps → {args.out}",
                      file=sys.stderr)  # fmt: skip
            model = trainer.train()
    except (ValueError, OSError, TrainingDivergedError) as err:  # OSError: disk full, unwritable --out, …
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with --resume (last checkpoint in {args.out})", file=sys.stderr)
        return 130
    if not main:
        return 0
    print(f"done: model in {args.out}/model", file=sys.stderr)
    if args.push_to_hub:
        try:
            url = model.push_to_hub(args.push_to_hub)
        except Exception as err:  # network, auth or Hub errors: the trained model is safe on disk
            print(f"error: push to {args.push_to_hub} failed ({type(err).__name__}: {err}); the model is saved in "
                  f"{args.out}/model — push it later with InfoGAN.from_pretrained(...).push_to_hub(...)",
                  file=sys.stderr)  # fmt: skip
            return 3
        model.save_pretrained(f"{args.out}/model")  # the local card now names the Hub repo, like the pushed one
        print(f"pushed to {url}", file=sys.stderr)
    return 0


def _saved_selection(out: Path) -> dict | None:
    """The candidates/select_at a restarts run in `out` started with (its selection.json), if it is one."""
    import json

    from infogan.training.selection import SELECTION_FILE

    try:
        saved = json.loads((out / SELECTION_FILE).read_text(encoding="utf-8"))
        return {"candidates": int(saved["candidates"]), "select_at": int(saved["select_at"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a restarts run (or an unreadable record: train_with_selection then says what is wrong)


def _train_candidates(
    args: argparse.Namespace,
    model_config: InfoGANConfig,
    config: TrainConfig,
    data: ImageData,
    eval_data: ImageData | None,
    candidates: int,
    select_at: int,
) -> InfoGAN:
    """`--candidates K`: label-free restarts (infogan.training.selection); the chosen model is copied to OUT/model."""
    import os
    import shutil

    from infogan.training.selection import train_with_selection

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(f"{candidates} candidates (--candidates, or the preset's default) train one after another "
                         "in one process: run without torchrun/accelerate launch, or pass --candidates 1")  # fmt: skip

    print(f"training {candidates} candidates for {select_at} steps each, then the best to {config.steps} "
          f"→ {args.out}", file=sys.stderr)  # fmt: skip
    model, folder = train_with_selection(model_config, config, data, args.out, candidates, select_at,
                                         eval_data=eval_data, resume=args.resume)  # fmt: skip
    target = Path(args.out) / "model"
    tmp = Path(args.out) / ".model.copy.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder / "model", tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return model


if __name__ == "__main__":
    sys.exit(main())
