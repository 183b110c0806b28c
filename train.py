"""Train an InfoGAN: `python train.py --preset mnist --data-dir ../shared/data --out runs/mnist`.

Kill it any time; `--resume` continues from the last checkpoint exactly (same batches, same noise).
Several processes (GPUs, nodes): `torchrun --nproc_per_node N train.py ...` or `accelerate launch train.py ...`;
--batch-size stays the global batch (see docs/distributed.md).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import Field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only light imports here, so `train.py -h` answers at once; torch and the trainer load in main() after parsing.
from infogan.presets import available_presets
from infogan.training.settings import TrainConfig

if TYPE_CHECKING:
    from infogan import InfoGAN, InfoGANConfig
    from infogan.data import ImageData

# How a flag's text becomes the field's value, by the field's annotation.
FLAG_TYPES = {"int": int, "int | None": int, "float": float, "float | None": float, "str": str}
NOT_FLAGS = {"code_notes"}  # a mapping belongs in a preset file, not on a command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--preset",
        default="mnist",
        help=f"model + training defaults: one of {available_presets()} or a preset .json file",
    )
    parser.add_argument(
        "--data-dir",
        default="data",
        help="dataset root (torchvision layout; downloaded there when online). For --dataset folder: "
        "any folder of images, searched recursively",
    )
    parser.add_argument("--out", required=True, help="run folder for logs, previews, checkpoints and the model")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--epochs", type=float, help="total epochs instead of --steps")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-eval", action="store_true", help="skip test-set accuracy at checkpoints")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the final model to this Hub repo")
    settings = parser.add_argument_group(
        "training settings (infogan.training.TrainConfig)",
        "each defaults to the preset's value, else to the default shown in brackets",
    )
    for setting in fields(TrainConfig):
        if setting.name not in NOT_FLAGS:
            _add_setting_flag(settings, setting)
    return parser


def _add_setting_flag(group: argparse._ArgumentGroup, setting: Field) -> None:
    """`--name` (or the field's own flag) for a TrainConfig field, with its help text; None = keep the preset's."""
    meta, parse = setting.metadata, FLAG_TYPES[str(setting.type)]
    none_word = meta.get("none_word")  # e.g. 'learned' for continuous_std = None
    default = none_word if setting.default is None and none_word else setting.default
    text = repr(default) if isinstance(default, str) else str(default)
    shown = "" if default is None else f" (default: {text})"
    kwargs: dict[str, Any] = dict(dest=setting.name, default=None, help=meta["help"] + shown)
    if meta.get("choices"):
        kwargs["choices"] = meta["choices"]
    kwargs["type"] = (lambda text: text if text == none_word else parse(text)) if none_word else parse
    group.add_argument(meta.get("flag") or f"--{setting.name.replace('_', '-')}", **kwargs)


def settings_from(preset_training: dict[str, Any], args: argparse.Namespace, where: str) -> TrainConfig:
    """The preset's TrainConfig with the flags given on the command line applied (a flag's none word = None)."""
    config = TrainConfig.from_preset(preset_training, where=where)
    given = {}
    for setting in fields(TrainConfig):
        value = getattr(args, setting.name, None)
        if value is not None:
            given[setting.name] = None if value == setting.metadata.get("none_word") else value
    return replace(config, **given)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    from infogan.training import TrainingDivergedError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model_config, config, data, eval_data = _configure(args)
        model, main = _train(args, model_config, config, data, eval_data)
    except (ValueError, OSError, TrainingDivergedError) as err:  # OSError: disk full, unwritable --out, …
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with --resume (last checkpoint in {args.out})", file=sys.stderr)
        return 130
    if not main:
        return 0
    print(f"done: model in {args.out}/model", file=sys.stderr)
    return _push(model, args) if args.push_to_hub else 0


def _configure(args: argparse.Namespace) -> tuple[InfoGANConfig, TrainConfig, ImageData, ImageData | None]:
    """The preset, the flags and the data: the run's model config, settings, training and evaluation data."""
    from infogan.data import DATASETS, load_dataset
    from infogan.presets import load_preset
    from infogan.training.run_folder import STATE_FILE

    preset = load_preset(args.preset)
    preset_config = TrainConfig.from_preset(preset.training, where=f"preset {preset.name}")
    preset_config.validate()
    config = settings_from(preset.training, args, where=f"preset {preset.name}")
    model_config = preset.model
    data = load_dataset(config.dataset, args.data_dir, model_config.image_size, model_config.channels)
    config.validate()
    if args.epochs is not None:
        if not args.epochs > 0:
            raise ValueError(f"--epochs must be positive, got {args.epochs}")
        config = replace(config, steps=max(1, math.ceil(args.epochs * len(data) / config.batch_size)))
    if args.select_at is None:  # a preset's choice point keeps its share of training when the length changes
        share = preset_config.select_at / preset_config.steps if preset_config.select_at else 0.5
        config = replace(config, select_at=max(1, round(share * config.steps)))
    if args.resume and args.candidates is None:  # a run folder resumes the way it started
        saved = _saved_selection(Path(args.out))
        if (Path(args.out) / STATE_FILE).exists():
            config = replace(config, candidates=1)  # a plain run (e.g. from before its preset chose restarts)
        elif saved:
            config = replace(config, candidates=saved["candidates"], select_at=args.select_at or saved["select_at"])
    eval_data = None
    if not args.no_eval and DATASETS[config.dataset].class_names:
        eval_data = load_dataset(config.dataset, args.data_dir, model_config.image_size, model_config.channels,
                                 split="test")  # fmt: skip
    return model_config, config, data, eval_data


def _train(
    args: argparse.Namespace,
    model_config: InfoGANConfig,
    config: TrainConfig,
    data: ImageData,
    eval_data: ImageData | None,
) -> tuple[InfoGAN, bool]:
    """Train one run or, with candidates > 1, label-free restarts; returns the model and whether this process is
    process 0 (the one that reports and pushes)."""
    import torch

    from infogan.training import Trainer

    if config.candidates > 1:
        return _train_candidates(args, model_config, config, data, eval_data)
    trainer = Trainer(model_config, config, data, args.out, eval_data=eval_data, resume=args.resume)
    main = trainer.parallel.is_main
    processes = f" × {trainer.parallel.world_size} processes" if trainer.parallel.world_size > 1 else ""
    if main:
        print(f"training {Path(args.preset).stem} on {config.dataset} ({len(data)} images) on {trainer.device}"
              f"{processes}, {torch.get_num_threads()} threads, {config.steps} steps → {args.out}",
              file=sys.stderr)  # fmt: skip
    return trainer.train(), main


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
) -> tuple[InfoGAN, bool]:
    """Label-free restarts (infogan.training.selection); process 0 copies the chosen model to OUT/model. Under
    torchrun / accelerate launch every process trains each candidate in turn."""
    import shutil

    from infogan.training.selection import train_with_selection

    main = int(os.environ.get("RANK", "0")) == 0  # set by torchrun and accelerate launch for every process
    if main:
        print(f"training {config.candidates} candidates for {config.select_at} steps each, then the best to "
              f"{config.steps} → {args.out}", file=sys.stderr)  # fmt: skip
    model, folder = train_with_selection(model_config, config, data, args.out, eval_data=eval_data,
                                         resume=args.resume)  # fmt: skip
    if main:
        target, tmp = Path(args.out) / "model", Path(args.out) / ".model.copy.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(folder / "model", tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return model, main


def _push(model: InfoGAN, args: argparse.Namespace) -> int:
    """Upload the final model; a failure leaves it safe on disk and says how to push it later."""
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


if __name__ == "__main__":
    sys.exit(main())
