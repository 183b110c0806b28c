"""The Learn tab's lesson: written from the model's own config, metadata and fresh measurements."""

from __future__ import annotations

import math

import pytest
import torch

from infogan import ContinuousCode, InfoGAN
from infogan.explorer import lesson

from .conftest import tiny_config


@pytest.fixture
def trained_like() -> InfoGAN:
    """A tiny model whose metadata looks like a trained, evaluated checkpoint's."""
    meta = {
        "training": {"lambda_categorical": 1.0, "lambda_continuous": 0.5, "continuous_std": 1.0},
        "metrics": {
            "generated": {"shape": {"information_nats": 1.0, "max_information_nats": 1.0986},
                          "width": {"information_nats": -0.2375, "r2": 0.93}},
            "test_set": {"shape": {"accuracy": 0.9572, "nmi": 0.8972, "images": 10000}},
            "test_set_name": "shapes test split",
        },
    }  # fmt: skip
    torch.manual_seed(0)
    return InfoGAN(tiny_config(labels=("circle", "square", "star"), metadata=meta)).eval()


def test_architecture_is_drawn_from_the_built_layers(model: InfoGAN) -> None:
    text = lesson.architecture(model)
    spec = model.config.latent
    assert f"z: {spec.noise_dim} noise dims" in text and f"│ {spec.input_dim} numbers" in text
    assert "Linear 12→64 · BN · ReLU" in text  # noise 8 + one-hot 3 + width 1 → fc_dim 64
    assert "784 = (16, 7, 7)" in text  # where G reshapes to a feature map
    assert "→ (1, 28, 28)" in text and "D head  Linear 64→1" in text and "Linear 16→5" in text  # 3 logits + 2
    assert "shape: 3 logits; width: mean, log σ" in text


def test_lambda_text_reads_the_training_record(trained_like: InfoGAN, model: InfoGAN) -> None:
    assert "λ = 1 for categorical codes, λ = 0.5 for continuous codes" in lesson.lambda_text(trained_like)
    assert "not recorded" in lesson.lambda_text(model)
    plain = InfoGAN(tiny_config(metadata={"training": {"lambda_categorical": 0.0, "lambda_continuous": 0.0}}))
    assert "plain GAN" in lesson.lambda_text(plain)


def test_metrics_are_explained_in_words(trained_like: InfoGAN, model: InfoGAN) -> None:
    text = lesson.metrics_in_words(trained_like)
    assert "1.000 of ln 3 = 1.099 nats" in text
    assert "accuracy 95.7%" in text and "10,000 real images of the shapes test split" in text
    assert "Negative, but information never is" in text and "= -0.226" in text  # ln 2 − ln √(2π)
    assert "explains 93% of the variation" in text
    assert "none recorded" in lesson.metrics_in_words(model)


def test_continuous_ceiling_with_fixed_sigma() -> None:
    assert lesson.best_continuous_bound(ContinuousCode("c"), 1.0) == pytest.approx(
        math.log(2) - 0.5 * math.log(2 * math.pi)
    )
    assert lesson.best_continuous_bound(ContinuousCode("c"), 1.0) < 0  # why a continuous estimate can be negative


def test_live_estimate_measures_fresh_samples(trained_like: InfoGAN) -> None:
    text = lesson.estimate_information(trained_like, seed=3, n=64)
    assert "64 fresh samples (seed 3)" in text
    assert "| `shape` |" in text and "ln 3 = 1.099" in text and "| `width` |" in text
    assert text == lesson.estimate_information(trained_like, seed=3, n=64)  # same seed, same numbers
    assert text != lesson.estimate_information(trained_like, seed=4, n=64)


def test_exercises_name_the_models_codes(trained_like: InfoGAN) -> None:
    text = lesson.exercises(trained_like, baseline="shapes-lambda0")
    assert "**Traverse** `shape`" in text and "`width`" in text and "Compare with λ = 0* (`shapes-lambda0`)" in text
    assert [f"\n{i}. " in text for i in range(1, 7)] == [True] * 5 + [False]  # five exercises
