"""Evaluation metrics against hand-computed values, and category labels written from matched classes."""

from __future__ import annotations

import math

import pytest
import torch

from infogan import CategoricalCode, InfoGAN
from infogan.data import ImageData
from infogan.evaluate import (
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


def test_generated_code_metrics_report_every_code(model: InfoGAN) -> None:
    metrics = generated_code_metrics(model, n=120, batch_size=50)
    assert metrics.keys() == {"shape", "width"}
    assert metrics["shape"]["max_information_nats"] == pytest.approx(math.log(3), abs=1e-4)
    assert metrics["shape"]["information_nats"] <= math.log(3)
    assert math.isfinite(metrics["width"]["r2"]) and metrics["width"]["r2"] <= 1
    assert metrics == generated_code_metrics(model, n=120, batch_size=50), "fixed seed: metrics are reproducible"
