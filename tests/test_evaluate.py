"""Evaluation metrics against hand-computed values, and category labels written from matched classes."""

from __future__ import annotations

import math

import pytest
import torch

from infogan import CategoricalCode, InfoGAN
from infogan.data import ImageData
from infogan.metrics.evaluate import (
    categorical_metrics,
    contingency,
    generated_code_metrics,
    hungarian_accuracy,
    normalized_mutual_information,
    write_category_labels,
)


def test_contingency_counts() -> None:
    table = contingency(torch.tensor([0, 0, 1, 2, 2]), torch.tensor([1, 1, 0, 0, 1]), n_pred=3, n_labels=2)
    assert table.tolist() == [[0, 2], [1, 0], [1, 1]]


def test_hungarian_accuracy_finds_the_best_one_to_one_matching() -> None:
    table = torch.tensor([[0, 5, 1], [4, 0, 0], [1, 1, 3]], dtype=torch.float64)
    accuracy, mapping = hungarian_accuracy(table)
    assert mapping == {0: 1, 1: 0, 2: 2}
    assert accuracy == pytest.approx((5 + 4 + 3) / 15)


def test_hungarian_accuracy_with_more_categories_than_classes() -> None:
    table = torch.tensor([[3, 0], [2, 0], [0, 4]], dtype=torch.float64)  # two categories both draw class 0
    accuracy, mapping = hungarian_accuracy(table)
    assert mapping == {0: 0, 2: 1} and accuracy == pytest.approx(7 / 9)


def test_nmi_by_hand() -> None:
    table = torch.tensor([[3, 1], [0, 2]], dtype=torch.float64)  # n = 6
    mi = 0.5 * math.log(0.5 / (2 / 3 * 0.5)) + 1 / 6 * math.log((1 / 6) / (2 / 3 * 0.5)) + 1 / 3 * math.log(2)
    h_pred = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    h_label = math.log(2)
    assert normalized_mutual_information(table) == pytest.approx(2 * mi / (h_pred + h_label), rel=1e-9)
    assert normalized_mutual_information(torch.eye(3, dtype=torch.float64) * 7) == pytest.approx(1.0)
    assert normalized_mutual_information(torch.ones(2, 2, dtype=torch.float64)) == pytest.approx(0.0, abs=1e-12)
    assert normalized_mutual_information(torch.tensor([[5.0]], dtype=torch.float64)) == 0.0


class LabelReadingModel:
    """A stand-in model whose Q 'reads' the class stored in pixel (0, 0) and reports category (class + 1) mod 3."""

    codes = (CategoricalCode("shape", 3),)

    def infer_codes(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        classes = (images[:, 0, 0, 0] * 255).round().long()
        return {"shape": torch.nn.functional.one_hot((classes + 1) % 3, 3).float()}


def test_categorical_metrics_match_categories_to_classes() -> None:
    labels = torch.tensor([0, 1, 2, 2, 1, 0, 0])
    images = torch.zeros(len(labels), 1, 28, 28, dtype=torch.uint8)
    images[:, 0, 0, 0] = labels.to(torch.uint8)
    metrics = categorical_metrics(LabelReadingModel(), ImageData(images, labels), ("bar", "pillar", "blob"))
    assert metrics == {
        "shape": {
            "accuracy": 1.0,
            "nmi": 1.0,
            "category_to_class": {"0": "blob", "1": "bar", "2": "pillar"},
            "images": 7,
        }
    }
    with pytest.raises(ValueError, match="need a labelled dataset"):
        categorical_metrics(LabelReadingModel(), ImageData(images))


def test_write_category_labels_keeps_labels_unique(model: InfoGAN) -> None:
    metrics = {"shape": {"category_to_class": {"0": "bar", "1": "bar", "2": "blob"}}}
    config = write_category_labels(model, metrics)
    assert config.latent.code("shape").labels == ("bar", "bar (2)", "blob")
    assert model.config.latent.code("shape").labels is None, "the model's own config is not modified"
    partial = write_category_labels(model, {"shape": {"category_to_class": {"1": "pillar"}}})
    assert partial.latent.code("shape").labels == ("cat0", "pillar", "cat2")


class CodeWriter(torch.nn.Module):
    """A stand-in G that writes its input vector [z (8), shape one-hot (3), width (1)] into the first 12 pixels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = torch.zeros(len(x), 1, 28, 28)
        images.view(len(x), -1)[:, : x.shape[1]] = x
        return images


class CodeReader(torch.nn.Module):
    """A stand-in Q that reads those pixels back: confident logits for the shape, the exact width, log σ = 0.

    `blind=True` answers the same for every image (uniform logits, mean 0): a Q that learned nothing."""

    def __init__(self, blind: bool = False) -> None:
        super().__init__()
        self.blind = blind

    def forward(self, flat: torch.Tensor) -> torch.Tensor:
        logits, width = 30 * flat[:, 8:11], flat[:, 11]
        if self.blind:
            logits, width = torch.zeros_like(logits), torch.zeros_like(width)
        return torch.cat([logits, width[:, None], torch.zeros(len(flat), 1)], dim=1)  # (B, 3 + 2)


@pytest.mark.parametrize("blind", [False, True], ids=["perfect-q", "blind-q"])
def test_generated_code_metrics_report_every_code(model: InfoGAN, blind: bool) -> None:
    model.generator, model.trunk, model.q_head = CodeWriter(), torch.nn.Flatten(), CodeReader(blind)
    metrics = generated_code_metrics(model, n=120, batch_size=50)  # batches of 50, 50, 20: weighted by size
    assert metrics.keys() == {"shape", "width"}
    assert metrics["shape"]["max_information_nats"] == pytest.approx(math.log(3), abs=1e-4)
    # Information = H(c) − E[−log Q(c|x)]. A perfect Q reads the category exactly (H = ln 3); a blind one gives
    # uniform probabilities (NLL = ln 3, so 0 nats). For width ~ U(-1, 1), H = ln 2 and Q's Gaussian with σ = 1 has
    # NLL ½ln(2π) + ½(c − mean)²: at best ln 2 − ½ln(2π) = −0.2258 nats (the bound is loose for a unit σ).
    if blind:
        assert metrics["shape"]["information_nats"] == pytest.approx(0.0, abs=1e-4)
        width_nll = 0.5 * math.log(2 * math.pi) + 0.5 / 3  # E[c²] = 1/3 for U(-1, 1)
        assert metrics["width"]["information_nats"] == pytest.approx(math.log(2) - width_nll, abs=0.05)
        assert metrics["width"]["r2"] < 0.0, "a constant prediction explains none of the variance"
    else:
        assert metrics["shape"]["information_nats"] == pytest.approx(math.log(3), abs=1e-4)
        assert metrics["width"]["information_nats"] == pytest.approx(math.log(2) - 0.5 * math.log(2 * math.pi),
                                                                     abs=1e-4)  # fmt: skip
        assert metrics["width"]["r2"] == pytest.approx(1.0, abs=1e-6)
    assert metrics == generated_code_metrics(model, n=120, batch_size=50), "fixed seed: metrics are reproducible"
