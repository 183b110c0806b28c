"""Restarts with a label-free choice: train K candidates briefly, keep the one whose codes say most about real images.

InfoGAN's categorical code is seed-sensitive: on MNIST some seeds give two categories to one digit and merge two
others, and that outcome is settled within the first few thousand steps. Which candidate to keep is decided without
labels, by Q's mutual information with real training images, I(c; x) = H(E_x q(c|x)) - E_x H(q(c|x))
(`infogan.evaluate.categorical_information`): a code that Q reads confidently *and* that uses every category scores
high. In our MNIST runs this ranked five seeds at 3,000 steps with the two ≥ 95 % seeds on top (README: "MNIST:
every seed"). Labels never enter the choice; they only measure it afterwards.

Layout: `out_dir/candidates/k/` is a normal run folder per candidate (candidate k uses seed + 1000·k; k = 0 is the
plain run), `out_dir/selection.json` records every candidate's score and the choice, and the chosen candidate's
folder is trained on to the full length. Every phase resumes: a killed run picks up where it stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..config import InfoGANConfig
from ..data import ImageData
from ..metrics.evaluate import categorical_information
from ..model import InfoGAN
from .trainer import STATE_FILE, TrainConfig, Trainer

SELECTION_FILE = "selection.json"
SEED_STRIDE = 1000
SCORED_IMAGES = 10_000  # real training images Q reads to score a candidate (no labels involved)


def candidate_score(model: InfoGAN, images: Any) -> float:
    """Mean real-image information (nats) over the model's categorical codes."""
    information = categorical_information(model, images[:SCORED_IMAGES])
    return sum(information.values()) / len(information)


def train_with_selection(
    model_config: InfoGANConfig,
    config: TrainConfig,
    data: ImageData,
    out_dir: str | Path,
    candidates: int,
    select_at: int,
    eval_data: ImageData | None = None,
    resume: bool = False,
) -> tuple[InfoGAN, Path]:
    """Train `candidates` runs for `select_at` steps, keep the best by real-image information, finish it.

    Returns the trained model and the chosen candidate's run folder (its `model/` is the final checkpoint).
    """
    if not model_config.latent.categorical:
        raise ValueError("--candidates chooses by the categorical codes' information: this model has none")
    if not isinstance(candidates, int) or candidates < 2:
        raise ValueError(f"candidates must be an integer ≥ 2, got {candidates!r}")
    if not isinstance(select_at, int) or not 0 < select_at < config.steps:
        raise ValueError(f"select_at must be a step count between 1 and steps - 1 ({config.steps - 1})")
    out_dir = Path(out_dir)
    record_path = out_dir / SELECTION_FILE
    if record_path.exists() and not resume:
        raise FileExistsError(f"{out_dir} already holds a run ({SELECTION_FILE}); pass --resume or choose a new --out")
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else {}
    if record and (record.get("candidates") != candidates or record.get("select_at") != select_at):
        raise ValueError(f"--resume: {out_dir} was started with candidates={record.get('candidates')}, "
                         f"select_at={record.get('select_at')}; resume with the same values")  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)

    if "chosen" not in record:
        scores = {}
        for k in range(candidates):
            folder = out_dir / "candidates" / str(k)
            short = replace(config, steps=select_at, seed=config.seed + SEED_STRIDE * k)
            again = (folder / STATE_FILE).exists()
            trainer = Trainer(model_config, short, data, folder, eval_data=eval_data, resume=again)
            tqdm.write(f"candidate {k + 1}/{candidates} (seed {short.seed})")
            model = trainer.train()
            if trainer.step < select_at or not (folder / STATE_FILE).exists():
                trainer.save_checkpoint()
            scores[str(k)] = round(candidate_score(model, data.images), 4)
            tqdm.write(f"candidate {k}: real-image information {scores[str(k)]} nats")
        chosen = max(scores, key=lambda k: scores[k])
        record = {"candidates": candidates, "select_at": select_at, "scores_nats": scores, "chosen": int(chosen),
                  "chosen_seed": config.seed + SEED_STRIDE * int(chosen),
                  "rule": "max mean categorical I(c; x) under Q on the first 10,000 training images"}  # fmt: skip
        tmp = record_path.with_name(f".{SELECTION_FILE}.tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, record_path)
    folder = out_dir / "candidates" / str(record["chosen"])
    tqdm.write(f"continuing candidate {record['chosen']} (seed {record['chosen_seed']}) to {config.steps} steps")
    final = replace(config, seed=record["chosen_seed"])
    trainer = Trainer(model_config, final, data, folder, eval_data=eval_data, resume=True)
    trainer.model.config = trainer.model.config.with_metadata(selection=record)
    return trainer.train(), folder
