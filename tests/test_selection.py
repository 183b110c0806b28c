"""Label-free restarts: K candidates, the one with the most real-image information continues; resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN
from infogan.data import ImageData
from infogan.training.selection import SELECTION_FILE, candidate_score, train_with_selection
from infogan.training.trainer import TrainConfig, Trainer
from tests.conftest import tiny_config

QUIET = dict(dataset="folder", batch_size=16, log_every=5, sample_every=10**6, checkpoint_every=10**6)


def test_the_best_scoring_candidate_is_finished_and_recorded(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(steps=12, **QUIET)
    model, folder = train_with_selection(tiny_config(), config, shapes, tmp_path, candidates=3, select_at=6)
    record = json.loads((tmp_path / SELECTION_FILE).read_text())
    scores = {int(k): v for k, v in record["scores_nats"].items()}
    assert sorted(scores) == [0, 1, 2] and record["chosen"] == max(scores, key=scores.get)
    assert folder == tmp_path / "candidates" / str(record["chosen"])
    saved = InfoGAN.from_pretrained(folder / "model")
    assert saved.config.metadata["training"]["steps"] == 12
    assert saved.config.metadata["training"]["seed"] == record["chosen_seed"] == 1000 * record["chosen"]
    assert saved.config.metadata["selection"]["chosen"] == record["chosen"]
    for k in set(scores) - {record["chosen"]}:  # the others stopped at the selection step
        other = InfoGAN.from_pretrained(tmp_path / "candidates" / str(k) / "model")
        assert other.config.metadata["training"]["steps"] == 6
    # Candidate k is exactly the plain run with seed + 1000·k: a score recomputed from scratch matches.
    plain = Trainer(tiny_config(), TrainConfig(steps=6, seed=1000, **QUIET), shapes, tmp_path / "plain").train()
    assert candidate_score(plain, shapes.images) == pytest.approx(scores[1], abs=1e-4)
    assert torch.equal(next(iter(model.state_dict().values())), next(iter(saved.state_dict().values())))


def test_a_finished_selection_resumes_without_retraining_candidates(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(steps=8, **QUIET)
    train_with_selection(tiny_config(), config, shapes, tmp_path, candidates=2, select_at=4)
    record = (tmp_path / SELECTION_FILE).read_text()
    with pytest.raises(FileExistsError, match="--resume"):
        train_with_selection(tiny_config(), config, shapes, tmp_path, candidates=2, select_at=4)
    longer = TrainConfig(steps=10, **QUIET)
    _, folder = train_with_selection(tiny_config(), longer, shapes, tmp_path, candidates=2, select_at=4, resume=True)
    assert (tmp_path / SELECTION_FILE).read_text() == record
    assert InfoGAN.from_pretrained(folder / "model").config.metadata["training"]["steps"] == 10
    with pytest.raises(ValueError, match="same values"):
        train_with_selection(tiny_config(), longer, shapes, tmp_path, candidates=3, select_at=4, resume=True)


def test_selection_needs_a_categorical_code_and_sane_settings(shapes: ImageData, tmp_path: Path) -> None:
    from infogan import ContinuousCode, LatentSpec

    continuous_only = tiny_config(latent=LatentSpec(noise_dim=4, codes=(ContinuousCode("width"),)))
    with pytest.raises(ValueError, match="has none"):
        train_with_selection(continuous_only, TrainConfig(steps=4, **QUIET), shapes, tmp_path, 2, 2)
    with pytest.raises(ValueError, match="select_at"):
        train_with_selection(tiny_config(), TrainConfig(steps=4, **QUIET), shapes, tmp_path, 2, 4)
    with pytest.raises(ValueError, match="candidates"):
        train_with_selection(tiny_config(), TrainConfig(steps=4, **QUIET), shapes, tmp_path, 1, 2)
