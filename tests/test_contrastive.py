"""InfoGAN-CR's contrastive regulariser: pairs share exactly one code, H learns to name it, the trainer runs it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN
from infogan.data import ImageData
from infogan.training.contrastive import PairClassifier, contrastive_loss, sample_pairs
from infogan.training.trainer import STATE_FILE, TrainConfig, Trainer
from tests.conftest import tiny_config

QUIET = dict(log_every=5, sample_every=10**6, checkpoint_every=10**6)


def test_pairs_share_the_chosen_code_and_not_the_noise() -> None:
    spec = tiny_config().latent
    first, second, shared = sample_pairs(spec, 400, torch.Generator().manual_seed(0))
    assert set(shared.tolist()) == {0, 1} and shared.shape == (400,)
    for k, code in enumerate(spec.codes):
        same = shared == k
        assert torch.equal(first[code.name][same], second[code.name][same])
    width_shared = shared == 1
    assert (first["width"][~width_shared] != second["width"][~width_shared]).all()  # continuous: never equal by chance
    assert (first["z"] != second["z"]).all(1).all()


def test_pair_classifier_shape_and_needs_two_codes() -> None:
    h = PairClassifier(tiny_config())
    assert h(torch.rand(5, 1, 28, 28), torch.rand(5, 1, 28, 28)).shape == (5, 2)
    from infogan import CategoricalCode, LatentSpec

    with pytest.raises(ValueError, match="at least two codes"):
        PairClassifier(tiny_config(latent=LatentSpec(noise_dim=4, codes=(CategoricalCode("c", 3),))))


def test_generator_and_pair_classifier_learn_to_name_the_shared_code() -> None:
    torch.manual_seed(0)
    model = InfoGAN(tiny_config()).train()
    h = PairClassifier(model.config).train()
    opt = torch.optim.Adam([*model.generator.parameters(), *h.parameters()], lr=2e-3, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(1)
    spec = model.config.latent
    losses = []
    for _ in range(150):
        first, second, shared = sample_pairs(spec, 32, rng)
        a, b = model.generator(spec.to_generator_input({k: torch.cat([first[k], second[k]]) for k in first})).chunk(2)
        loss = contrastive_loss(h(a, b), shared)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # Chance is ln 2 ≈ 0.69 nats; in our runs the mean over 25 steps goes 0.75 → 0.47 (and 0.36 by step 300).
    assert sum(losses[:25]) / 25 > 0.65 and sum(losses[-25:]) / 25 < 0.55, losses


def test_trainer_with_cr_logs_it_and_resumes(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=4, batch_size=16, cr_weight=1.0, **QUIET)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    before = [p.clone() for p in trainer.pair_classifier.parameters()]
    trainer.train()
    log = (tmp_path / "log.jsonl").read_text()
    assert '"cr_loss"' in log
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.pair_classifier.parameters(), strict=True))
    assert InfoGAN.from_pretrained(tmp_path / "model").config.metadata["training"]["cr_weight"] == 1.0
    state = torch.load(tmp_path / STATE_FILE, weights_only=True)
    assert state["pair_classifier"] and state["opt_h"]
    resumed = Trainer(tiny_config(), TrainConfig(**{**config.__dict__, "steps": 6}), shapes, tmp_path, resume=True)
    for a, b in zip(resumed.pair_classifier.state_dict().values(), trainer.pair_classifier.state_dict().values(),
                    strict=True):  # fmt: skip
        assert torch.equal(a.cpu(), b.cpu())
    resumed.train()
    assert resumed.step == 6


def test_cr_is_off_by_default(shapes: ImageData, tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(), TrainConfig(dataset="folder", steps=1, batch_size=16, **QUIET), shapes, tmp_path)
    assert trainer.pair_classifier is None and TrainConfig().cr_weight == 0
    with pytest.raises(ValueError, match="cr_weight"):
        TrainConfig(cr_weight=-1.0).validate()
    assert math.isfinite(trainer.train_step(trainer.next_batch())["d_loss"])
