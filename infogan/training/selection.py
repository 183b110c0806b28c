"""Restarts with a label-free choice: train K candidates briefly, keep the one whose codes say most about real images.

InfoGAN's categorical code is seed-sensitive: on MNIST some seeds give two categories to one digit and merge two
others, and that outcome is settled within the first few thousand steps. Which candidate to keep is decided without
labels, by Q's mutual information with real training images, I(c; x) = H(E_x q(c|x)) - E_x H(q(c|x))
(`infogan.evaluate.categorical_information`): a code that Q reads confidently *and* that uses every category scores
high. In our MNIST runs this ranked five seeds at 3,000 steps with the two ≥ 95 % seeds on top (README: "MNIST:
every seed"). Labels never enter the choice; they only measure it afterwards.

Under torchrun / accelerate launch every process trains each candidate in turn (process 0 scores and records).

Layout: `out_dir/candidates/k/` is a normal run folder per candidate (candidate k uses seed + 1000·k; k = 0 is the
plain run), `out_dir/selection.json` records every candidate's score and the choice, and the chosen candidate's
folder is trained on to the full length. Every phase resumes: a killed run picks up where it stopped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..config import InfoGANConfig
from ..data import ImageData
from ..metrics.evaluate import categorical_information
from ..model import InfoGAN
from .run_folder import STATE_FILE
from .settings import TrainConfig
from .trainer import Trainer

SELECTION_FILE = "selection.json"
SEED_STRIDE = 1000
SCORED_IMAGES = 10_000  # real training images Q reads to score a candidate (no labels involved)
# Called before each phase with its Trainer, the steps done in earlier phases and a one-line description, so a live
# caller (the explorer's Train tab) can count steps over the whole run and say which candidate is training.
PhaseHook = Callable[[Trainer, int, str], None]


def candidate_score(model: InfoGAN, images: Any) -> float:
    """Mean real-image information (nats) over the model's categorical codes."""
    information = categorical_information(model, images[:SCORED_IMAGES])
    return sum(information.values()) / len(information)


def train_with_selection(
    model_config: InfoGANConfig,
    config: TrainConfig,
    data: ImageData,
    out_dir: str | Path,
    candidates: int | None = None,
    select_at: int | None = None,
    eval_data: ImageData | None = None,
    resume: bool = False,
    on_phase: PhaseHook | None = None,
    **hooks: Any,
) -> tuple[InfoGAN, Path]:
    """Train `candidates` runs for `select_at` steps, keep the best by real-image information, finish it.

    `candidates` and `select_at` default to the config's (`select_at` None: half the steps). Under torchrun /
    accelerate launch every process trains each candidate in turn; process 0 scores them and records the choice,
    which every process then reads. Returns the trained model and the chosen candidate's run folder (its `model/` is
    the final checkpoint). `hooks` (`on_log`, `should_stop`) go to every phase's `Trainer.train`.
    """
    candidates = config.candidates if candidates is None else candidates
    select_at = (config.select_at or config.steps // 2) if select_at is None else select_at
    if not model_config.latent.categorical:
        raise ValueError("--candidates chooses by the categorical codes' information: this model has none")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 2:
        raise ValueError(f"candidates must be an integer ≥ 2, got {candidates!r}")
    if isinstance(select_at, bool) or not isinstance(select_at, int) or not 0 < select_at < config.steps:
        raise ValueError(f"select_at must be a step count between 1 and steps - 1 ({config.steps - 1})")
    out_dir = Path(out_dir)
    record_path = out_dir / SELECTION_FILE
    if record_path.exists() and not resume:
        raise FileExistsError(f"{out_dir} already holds a run ({SELECTION_FILE}); pass --resume or choose a new --out")
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else {}
    if record and (record.get("candidates") != candidates or record.get("select_at") != select_at):
        raise ValueError(f"--resume: {out_dir} was started with candidates={record.get('candidates')}, "
                         f"select_at={record.get('select_at')}; resume with the same values")  # fmt: skip
    if "chosen" not in record:
        phases = Phases(candidates, select_at, on_phase)
        record = _train_candidates(model_config, config, data, out_dir, phases, eval_data, hooks)
    folder = out_dir / "candidates" / str(record["chosen"])
    final = replace(config, seed=record["chosen_seed"])
    trainer = Trainer(model_config, final, data, folder, eval_data=eval_data, resume=True)
    phase = (f"continuing candidate {record['chosen']} (seed {record['chosen_seed']}, real-image information "
             f"{record['scores_nats'][str(record['chosen'])]} nats, the highest) to {config.steps} steps")  # fmt: skip
    if trainer.parallel.is_main:
        tqdm.write(phase)
    if on_phase is not None:
        on_phase(trainer, (candidates - 1) * select_at, phase)
    trainer.model.config = trainer.model.config.with_metadata(selection=record)
    return trainer.train(**hooks), folder


class Phases:
    """The candidates' schedule: how many, how long each, and who hears when one starts."""

    def __init__(self, candidates: int, select_at: int, on_phase: PhaseHook | None) -> None:
        self.candidates, self.select_at, self.on_phase = candidates, select_at, on_phase

    def start(self, k: int, trainer: Trainer, seed: int) -> None:
        if trainer.parallel.is_main:
            tqdm.write(f"candidate {k + 1}/{self.candidates} (seed {seed})")
        if self.on_phase is not None:
            done = k * self.select_at  # steps of the earlier candidates
            self.on_phase(trainer, done, f"candidate {k + 1} of {self.candidates} (seed {seed})")


def _train_candidates(
    model_config: InfoGANConfig,
    config: TrainConfig,
    data: ImageData,
    out_dir: Path,
    phases: Phases,
    eval_data: ImageData | None,
    hooks: dict[str, Any],
) -> dict[str, Any]:
    """Train (or finish) every candidate to `select_at`; process 0 scores them and writes the choice; every
    process returns it (read back after a barrier: BatchNorm's running statistics, hence scores, are per process)."""
    candidates, select_at = phases.candidates, phases.select_at
    scores = {}
    for k in range(candidates):
        folder = out_dir / "candidates" / str(k)
        short = replace(config, steps=select_at, seed=config.seed + SEED_STRIDE * k)
        again = (folder / STATE_FILE).exists()
        trainer = Trainer(model_config, short, data, folder, eval_data=eval_data, resume=again)
        main = trainer.parallel.is_main
        phases.start(k, trainer, short.seed)
        model = trainer.train(**hooks)
        if not main:
            continue
        if trainer.step < select_at or not (folder / STATE_FILE).exists():
            trainer.save_checkpoint()
        scores[str(k)] = round(candidate_score(model, data.images), 4)
        tqdm.write(f"candidate {k}: real-image information {scores[str(k)]} nats")
    record_path = out_dir / SELECTION_FILE
    if main:
        chosen = max(scores, key=lambda k: scores[k])
        record = {"candidates": candidates, "select_at": select_at, "scores_nats": scores, "chosen": int(chosen),
                  "chosen_seed": config.seed + SEED_STRIDE * int(chosen),
                  "rule": "max mean categorical I(c; x) under Q on the first 10,000 training images"}  # fmt: skip
        tmp = record_path.with_name(f".{SELECTION_FILE}.tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, record_path)
    trainer.parallel.wait_for_everyone()  # the choice is on disk before any process reads it
    return json.loads(record_path.read_text(encoding="utf-8"))
