"""Disentanglement scores where the answer is known: codes equal to the factors, random codes, mixed factors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from infogan import CategoricalCode, ContinuousCode, InfoGAN, InfoGANConfig, LatentSpec
from infogan.metrics.disentanglement import (
    dci_disentanglement,
    discrete_mutual_information,
    discretize,
    disentanglement_metrics,
    factor_vae_score,
    mutual_information_gap,
    read_codes,
    score_codes,
)
from infogan.metrics.evaluate import main as evaluate_main

SIZES = (3, 6, 10, 8, 8)  # a small dSprites-like product (at most 20 classes, so 20 bins keep every class apart)


def factor_grid(n: int = 4000, seed: int = 0) -> np.ndarray:
    """(n, 5) factor classes drawn uniformly, as points of a ground-truth dataset."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in SIZES], 1)


def test_mutual_information_by_hand() -> None:
    a = np.array([0, 0, 1, 1])
    assert discrete_mutual_information(a, a) == pytest.approx(np.log(2))
    assert discrete_mutual_information(a, np.array([0, 1, 0, 1])) == pytest.approx(0.0, abs=1e-12)
    assert discretize(np.array([[0.0], [0.49], [0.51], [1.0]]), bins=2)[:, 0].tolist() == [1, 1, 2, 2]


def test_mutual_information_matches_scikit_learn() -> None:
    from sklearn.metrics import mutual_info_score  # what disentanglement_lib's MIG uses

    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 7, 3000), rng.integers(0, 4, 3000)
    b = np.where(rng.uniform(size=3000) < 0.5, a % 4, b)  # partly dependent
    assert discrete_mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), rel=1e-12)


def test_codes_equal_to_the_factors_score_one() -> None:
    factors = factor_grid()
    codes = np.concatenate([factors.astype(float), np.random.default_rng(1).uniform(size=(len(factors), 1))], 1)
    scores = score_codes(codes, factors)
    assert scores["mig"]["score"] > 0.95
    assert scores["factor_vae"]["score"] == 1.0
    assert scores["dci"]["disentanglement"] > 0.9
    assert scores["dci"]["informativeness_test"] > 0.99


def test_codes_equal_to_the_factors_in_any_order_and_scale() -> None:
    factors = factor_grid()
    codes = factors[:, ::-1] * np.array([-0.1, 2.0, 0.3, 5.0, -1.0])  # permuted, rescaled, flipped
    assert mutual_information_gap(codes, factors)["score"] > 0.95
    assert factor_vae_score(codes, factors)["score"] == 1.0


def test_random_codes_score_near_zero() -> None:
    factors = factor_grid()
    codes = np.random.default_rng(2).normal(size=(len(factors), 6))
    scores = score_codes(codes, factors)
    assert scores["mig"]["score"] < 0.03
    assert scores["factor_vae"]["score"] < 0.35  # chance is 1/5: each code is mapped to whichever factor won its votes
    assert scores["dci"]["disentanglement"] < 0.1


def test_codes_carrying_two_factors_each_score_low() -> None:
    factors = factor_grid()[:, 3:]  # x and y, 8 classes each
    codes = np.stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]], 1).astype(float)
    scores = score_codes(codes, factors)
    assert scores["mig"]["score"] < 0.1
    assert scores["factor_vae"]["score"] < 0.65  # chance is 1/2
    assert scores["dci"]["disentanglement"] < 0.2


def test_one_code_for_two_factors_leaves_them_entangled() -> None:
    factors = factor_grid()
    codes = factors.astype(float)
    codes[:, 3] = factors[:, 3] + factors[:, 4]  # x and y both in one code; the y code is noise
    codes[:, 4] = np.random.default_rng(3).normal(size=len(factors))
    scores = score_codes(codes, factors)
    clean = score_codes(factors.astype(float), factors)
    # MIG scores factors: neither x nor y can be read from one code, so both gaps are low (the others stay ≈ 1).
    assert max(scores["mig"]["per_factor"][3:]) < 0.3 < 0.95 < min(clean["mig"]["per_factor"])
    assert scores["mig"]["score"] < 0.75
    assert scores["factor_vae"]["score"] < 0.85
    assert scores["dci"]["disentanglement"] < clean["dci"]["disentanglement"] - 0.2


def test_dci_from_known_importance_matrices() -> None:
    assert dci_disentanglement(np.eye(4))["disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert dci_disentanglement(np.eye(4))["completeness"] == pytest.approx(1.0, abs=1e-6)
    assert dci_disentanglement(np.ones((4, 4)))["disentanglement"] == pytest.approx(0.0, abs=1e-6)
    # One code holds all importance, spread evenly over two of four factors: 1 − log 2 / log 4 = 0.5.
    one_code = np.array([[1.0, 1.0, 0, 0], [0, 0, 0, 0]])
    assert dci_disentanglement(one_code)["disentanglement"] == pytest.approx(0.5, abs=1e-6)


def test_scores_are_repeatable_with_a_seed() -> None:
    factors = factor_grid(2000)
    codes = factors + np.random.default_rng(4).normal(scale=2.0, size=factors.shape)
    a, b = factor_vae_score(codes, factors, seed=7), factor_vae_score(codes, factors, seed=7)
    assert a == b


class FactorReadingModel:
    """A stand-in whose Q reads factor classes written into the first pixels: shape as a category, the rest as means."""

    codes = (CategoricalCode("shape", 3), *(ContinuousCode(f"c{i}") for i in range(2, 6)))

    def infer_codes(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        values = (images[:, 0, 0, :5] * 255).round()  # (B, 5)
        out = {"shape": torch.nn.functional.one_hot(values[:, 0].long(), 3).float()}
        out.update({f"c{i}": values[:, i - 1] for i in range(2, 6)})
        return out


def test_disentanglement_metrics_read_codes_from_images() -> None:
    factors = torch.from_numpy(factor_grid(3000))
    images = torch.zeros(len(factors), 1, 8, 8, dtype=torch.uint8)
    images[:, 0, 0, :5] = factors.to(torch.uint8)
    model = FactorReadingModel()
    codes = read_codes(model, images[:4])
    assert codes.tolist() == factors[:4].double().tolist()
    names = ("shape", "scale", "orientation", "pos_x", "pos_y")
    result = disentanglement_metrics(model, images, factors, names, points=2000)
    summary = result["summary"]
    assert summary["mig"] > 0.95 and summary["factor_vae"] == 1.0 and summary["pool_images"] == 2000
    assert set(summary["mig_per_factor"]) == set(names)
    assert result["codes"]["shape"]["shape"] == pytest.approx(1.0) and result["codes"]["c2"]["shape"] < 0.01
    assert disentanglement_metrics(model, images, factors, names, points=2000) == result


def test_disentanglement_metrics_reject_missing_factors() -> None:
    with pytest.raises(ValueError, match="factor classes"):
        disentanglement_metrics(FactorReadingModel(), torch.zeros(10, 1, 8, 8), None, ("a",))


def test_evaluate_cli_scores_dsprites_into_the_card(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    codes = (CategoricalCode("shape", 3), ContinuousCode("scale"), ContinuousCode("x"))
    config = InfoGANConfig(latent=LatentSpec(noise_dim=4, codes=codes), image_size=64, channels=1, base_channels=4,
                           fc_dim=0, q_hidden=8)  # fmt: skip
    InfoGAN(config).save_pretrained(tmp_path / "m")
    argv = [str(tmp_path / "m"), "--dataset", "dsprites-small", "--points", "1000", "--generated", "50"]
    argv.append("--write-labels")
    assert evaluate_main(argv) == 0
    results = json.loads(capsys.readouterr().out)
    scores = results["disentanglement"]
    assert 0 <= scores["mig"] <= 1 and 0 <= scores["factor_vae"] <= 1 and scores["pool_images"] == 1000
    assert set(results["factor_information"]) == {"shape", "scale", "x"}
    assert set(results["factor_information"]["x"]) == {"shape", "scale", "orientation", "pos_x", "pos_y"}
    saved = InfoGAN.from_pretrained(tmp_path / "m").config.metadata
    assert saved["metrics"]["disentanglement"] == scores
    card = (tmp_path / "m" / "README.md").read_text()
    assert "### Disentanglement against the ground-truth factors" in card and "1,000 real images (seed 0)" in card
