"""Label-free and judge-based scores: real-image information, what categories draw, realism, code entanglement."""

from __future__ import annotations

import math

import pytest
import torch

from infogan import CategoricalCode, ContinuousCode, InfoGAN, LatentSpec
from infogan.metrics.entanglement import code_entanglement
from infogan.metrics.evaluate import categorical_information, write_category_labels
from infogan.metrics.purity import category_purity, unique_labels
from infogan.metrics.realism import TwoSampleSettings, two_sample_test
from tests.conftest import tiny_config


class FixedReader:
    """A stand-in whose Q gives every image the same probabilities (or one-hot of pixel (0, 0) when sharp=True)."""

    codes = (CategoricalCode("shape", 3),)

    def __init__(self, sharp: bool) -> None:
        self.sharp = sharp

    def infer_codes(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.sharp:
            return {"shape": torch.nn.functional.one_hot((images[:, 0, 0, 0] * 255).round().long() % 3, 3).float()}
        return {"shape": torch.full((len(images), 3), 1 / 3)}


def test_categorical_information_is_ln_k_for_sure_balanced_readings_and_zero_for_unsure_ones() -> None:
    images = torch.zeros(300, 1, 4, 4, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(300) % 3
    assert categorical_information(FixedReader(sharp=True), images, batch_size=64)["shape"] == pytest.approx(
        math.log(3), abs=1e-3
    )
    assert categorical_information(FixedReader(sharp=False), images)["shape"] == pytest.approx(0.0, abs=1e-6)
    images[:, 0, 0, 0] = 1  # sure, but always the same category: no information either
    assert categorical_information(FixedReader(sharp=True), images)["shape"] == pytest.approx(0.0, abs=1e-6)


class PixelJudge(torch.nn.Module):
    """A 'classifier' that calls an image class 0 when its mean is below 0.5, else class 1."""

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float().flatten(1).mean(1) > 0.5).long()


class CategoryPainter:
    """A stand-in generator: category 0 paints black, 1 white, 2 half of each (a mixed category)."""

    codes = (CategoricalCode("shape", 3),)

    def generate(self, n: int, seed: int, codes: dict) -> torch.Tensor:
        value = {0: torch.zeros(n), 1: torch.ones(n), 2: (torch.arange(n) % 2).float()}[codes["shape"]]
        return value.view(n, 1, 1, 1).expand(n, 1, 4, 4)


def test_category_purity_names_clean_categories_and_marks_mixed_ones(model: InfoGAN) -> None:
    table = category_purity(CategoryPainter(), PixelJudge(), ("dark", "light"), per_category=10)
    rows = table["shape"]
    assert [r["label"] for r in rows[:2]] == ["dark", "light"] and [r["purity"] for r in rows[:2]] == [1.0, 1.0]
    assert rows[2]["purity"] == 0.5 and rows[2]["label"] in ("dark/light?", "light/dark?")
    table["shape"][1]["label"] = "dark"  # two categories drawing the same class get unique labels
    config = write_category_labels(model, {}, table)
    assert config.latent.code("shape").labels == ("dark", "dark (2)", rows[2]["label"])
    assert config.metadata["category_purity"] == {"shape": [1.0, 1.0, 0.5]}
    assert unique_labels(["7", "7", "1", "7"]) == ["7", "7 (2)", "1", "7 (3)"]


def test_two_sample_test_tells_noise_from_data_and_is_repeatable() -> None:
    torch.manual_seed(0)
    model = InfoGAN(tiny_config()).eval()  # untrained: its samples look nothing like the bars below
    real = torch.zeros(200, 1, 28, 28, dtype=torch.uint8)
    real[:, :, 10:18, :] = 255
    settings = TwoSampleSettings(images_per_side=200, epochs=2, batch_size=32)
    result = two_sample_test(model, real, settings)
    assert result["two_sample_accuracy"] > 0.9 and result["held_out_images"] == 80
    assert two_sample_test(model, real, settings) == result, "fixed seeds: the same score every time"
    with pytest.raises(ValueError, match="at least 200 real images"):
        two_sample_test(model, real[:10], settings)


def test_two_sample_test_is_near_chance_when_samples_are_real_images() -> None:
    class Replayer:
        """A 'model' whose samples are drawn from the same distribution as the real images."""

        config = tiny_config()

        def generate(self, n: int, seed: int) -> torch.Tensor:
            return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))

    real = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    result = two_sample_test(Replayer(), real, TwoSampleSettings(images_per_side=300, epochs=2, batch_size=32))
    assert 0.3 <= result["two_sample_accuracy"] <= 0.7


def test_entanglement_is_zero_for_a_code_the_generator_ignores_and_reports_every_pair() -> None:
    spec = LatentSpec(noise_dim=4, codes=(CategoricalCode("kind", 2), ContinuousCode("a"), ContinuousCode("b")))
    torch.manual_seed(0)
    model = InfoGAN(tiny_config(latent=spec)).eval()
    with torch.no_grad():  # make G blind to code "b": zero its input weights
        first = model.generator.project[0]
        first.weight[:, spec.input_dim - 1] = 0
    scores = code_entanglement(model, seeds=16)
    assert scores.keys() == {"a", "b"}
    assert scores["a"]["cross_talk"].keys() == {"b"} and scores["a"]["category_flip_rate"].keys() == {"kind"}
    assert scores["b"]["own_change"] == 0.0 and scores["b"]["max_cross_talk"] == 0.0
    assert scores["a"]["own_change"] > 0 and 0 <= scores["a"]["spill"] <= 1
    assert code_entanglement(model, seeds=16) == scores
