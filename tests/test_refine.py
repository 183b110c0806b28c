"""Label-free refinement of Q (`infogan.training.refine`): what it changes, what it leaves alone, and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN
from infogan.data import ImageData
from infogan.losses import info_loss
from infogan.training.refine import RefineConfig, main, recalibrate_batch_norm, refine_recognition

from .conftest import synthetic_shapes, tiny_config


def _q_loss_on_samples(model: InfoGAN, seed: int = 7) -> float:
    spec = model.config.latent
    codes = spec.sample(200, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        model.eval()
        q = model.q_head(model.trunk(model.generator(spec.to_generator_input(codes))))
        return float(info_loss(spec, q, codes)[0])


def test_refinement_teaches_q_and_leaves_g_and_d_alone() -> None:
    torch.manual_seed(0)
    model = InfoGAN(tiny_config()).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss_before = _q_loss_on_samples(model)
    # "Real" images that look like G's (as they do after training), so real-image batch-norm statistics fit both;
    # no labels: refinement must not need (or read) them.
    unlabelled = ImageData((model.generate(n=256, seed=1) * 255).round().to(torch.uint8), None)
    stats = refine_recognition(model, unlabelled, RefineConfig(40, 32, 1e-3, categorical_policy=""), progress=False)
    after = model.state_dict()
    assert _q_loss_on_samples(model) < loss_before - 0.4  # Q reads G's codes better (1.24 -> 0.50 nats)
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("generator.", "d_head.")))
    learned = [k for k, _ in model.named_parameters() if k.startswith(("trunk.", "q_head."))]  # weights, not buffers
    assert all(not torch.equal(before[k], after[k]) for k in learned)
    assert 0 <= stats["confident_share"] <= 1 and not model.training


def test_refinement_re_estimates_the_q_heads_batch_norm_too(shapes: ImageData) -> None:
    torch.manual_seed(0)
    model = InfoGAN(tiny_config()).eval()
    refine_recognition(model, shapes, RefineConfig(3, 16, categorical_policy=""), progress=False)
    q_norm = model.q_head.layers[1]
    order = torch.randperm(len(shapes), generator=torch.Generator().manual_seed(0))[:5000]
    batch_means = []
    with torch.no_grad():
        model.trunk.train()  # real batches of 250, normalised by their own statistics as in training
        for start in range(0, len(order), 250):
            features = model.trunk(shapes.images[order[start : start + 250]].float() / 255)
            batch_means.append(model.q_head.layers[0](features).mean(0))
        model.trunk.eval()
    # a cumulative average over batches: each batch's mean counts once
    torch.testing.assert_close(q_norm.running_mean, torch.stack(batch_means).mean(0), atol=1e-5, rtol=1e-4)


def test_learned_sigma_in_metadata_and_models_without_categories(model: InfoGAN, shapes: ImageData) -> None:
    learned = InfoGAN(tiny_config()).eval()
    learned.config = learned.config.with_metadata(training={"continuous_std": "learned", "lambda_continuous": 0.1})
    refine_recognition(learned, shapes, RefineConfig(2, 16), progress=False)  # the trainer's "learned" = Q's own σ
    from infogan import ContinuousCode, LatentSpec

    no_categories = InfoGAN(tiny_config(latent=LatentSpec(noise_dim=8, codes=(ContinuousCode("width"),))))
    with pytest.raises(ValueError, match="has none"):
        refine_recognition(no_categories, shapes, RefineConfig(1), progress=False)


def test_batch_norm_statistics_become_those_of_real_images(shapes: ImageData) -> None:
    torch.manual_seed(0)
    model = InfoGAN(tiny_config()).eval()
    recalibrate_batch_norm(model.trunk, shapes, images=200)
    first_conv, first_norm = model.trunk.layers[2], model.trunk.layers[3]
    order = torch.randperm(len(shapes), generator=torch.Generator().manual_seed(0))[:200]
    with torch.no_grad():
        features = first_conv(model.trunk.layers[1](model.trunk.layers[0](shapes.images[order].float() / 255)))
    torch.testing.assert_close(first_norm.running_mean, features.mean((0, 2, 3)), atol=1e-5, rtol=1e-4)
    assert first_norm.momentum == 0.1 and not model.trunk.training  # settings restored


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps", 0, "steps"),
        ("lr", 0.0, "lr"),
        ("confidence", 1.0, "confidence"),
        ("categorical_policy", "zoom:1", "zoom"),
    ],
)
def test_config_is_validated(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RefineConfig(**{field: value}).validate()


def test_wrong_image_shape_is_refused(model: InfoGAN) -> None:
    with pytest.raises(ValueError, match=r"real images must be \(N, 1, 28, 28\)"):
        refine_recognition(model, synthetic_shapes(10, size=32), RefineConfig(steps=1), progress=False)


def test_cli_writes_a_refined_checkpoint_with_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    torch.manual_seed(0)
    InfoGAN(tiny_config()).save_pretrained(tmp_path / "run")
    monkeypatch.setattr("infogan.training.refine.load_dataset", lambda *args: synthetic_shapes(64))
    code = main([str(tmp_path / "run"), "--dataset", "mnist", "--out", str(tmp_path / "refined"), "--steps", "3"])
    assert code == 0
    record = json.loads((tmp_path / "refined" / "config.json").read_text())["metadata"]["recognition_refinement"]
    assert record["steps"] == 3 and record["real_images"].startswith("mnist training split, 64 images")
    assert 0 <= record["confident_share_last_100_steps"] <= 1
    assert "## Recognition refinement" in (tmp_path / "refined" / "README.md").read_text()
    InfoGAN.from_pretrained(tmp_path / "refined")  # loads (weights hash matches)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "missing"), "--dataset", "mnist"]) == 2
    assert "is not a checkpoint folder" in capsys.readouterr().err
    assert main([str(tmp_path), "--dataset", "mnist", "--confidence", "2"]) == 2
    assert "confidence must be in (0, 1)" in capsys.readouterr().err
    model = InfoGAN(tiny_config())
    model.config = model.config.with_metadata(dataset={"id": "fashion-mnist"})
    model.save_pretrained(tmp_path / "fashion")
    assert main([str(tmp_path / "fashion"), "--dataset", "mnist"]) == 2
    assert "trained on 'fashion-mnist'; refine it with --dataset fashion-mnist" in capsys.readouterr().err
