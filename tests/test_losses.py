"""Loss values against hand-computed ones, and where the information term's gradient flows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from infogan import CategoricalCode, ContinuousCode, LatentSpec
from infogan.data import ImageData
from infogan.losses import LOG_STD_MAX, LOG_STD_MIN, d_loss, g_loss, gaussian_nll, info_loss, information_terms
from infogan.training.trainer import TrainConfig, Trainer
from tests.conftest import tiny_config

SPEC = LatentSpec(noise_dim=2, codes=(CategoricalCode("c", 3), ContinuousCode("u")))


def test_d_loss_and_g_loss_by_hand() -> None:
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected_d = (
        -(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2
        - (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2
    )
    expected_g = -(math.log(sigmoid(0.5)) + math.log(sigmoid(-3.0))) / 2
    assert d_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert g_loss(fake).item() == pytest.approx(expected_g, rel=1e-6)


def test_gaussian_nll_by_hand() -> None:
    value, mean, log_std = torch.tensor([0.3]), torch.tensor([0.1]), torch.tensor([-0.5])
    sigma = math.exp(-0.5)
    expected = 0.5 * math.log(2 * math.pi) + math.log(sigma) + 0.5 * ((0.3 - 0.1) / sigma) ** 2
    assert gaussian_nll(value, mean, log_std).item() == pytest.approx(expected, rel=1e-6)


def test_info_loss_clamps_only_the_learned_sigma() -> None:
    spec = LatentSpec(noise_dim=1, codes=(ContinuousCode("u"),))
    codes = {"u": torch.tensor([0.3])}

    def nll(log_std: float, **kwargs: float) -> float:
        q = torch.tensor([[0.1, log_std]])  # (B, mean + log_std)
        return info_loss(spec, q, codes, lambda_continuous=1.0, **kwargs)[0].item()

    # A learned log-σ outside the clamp counts as the bound ...
    assert nll(-50.0) == pytest.approx(nll(LOG_STD_MIN))
    assert nll(50.0) == pytest.approx(nll(LOG_STD_MAX))
    # ... but a fixed σ is used as given, even below the learned-σ bound.
    sigma = 0.02
    expected = 0.5 * math.log(2 * math.pi) + math.log(sigma) + 0.5 * ((0.3 - 0.1) / sigma) ** 2
    assert nll(0.0, continuous_std=sigma) == pytest.approx(expected, rel=1e-5)


def test_info_loss_is_cross_entropy_on_raw_logits_plus_weighted_gaussian_nll() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.5]])
    q = torch.cat([logits, torch.tensor([[0.2, 0.0], [-0.4, -1.0]])], dim=1)  # (B, 3 logits + mean + log_std)
    codes = {"c": torch.tensor([0, 2]), "u": torch.tensor([0.0, -0.5])}

    # Cross-entropy by hand: -log softmax(logits)[true class], averaged. A softmax applied before F.cross_entropy
    # (the classic port bug) would give a different, much flatter number.
    ce = -((2.0 - math.log(math.exp(2) + 1 + math.exp(-1))) + (0.5 - math.log(1 + math.exp(3) + math.exp(0.5)))) / 2
    nll = (
        0.5 * math.log(2 * math.pi) * 2 + 0.0 + 0.5 * 0.2**2 + (-1.0) + 0.5 * ((-0.5 + 0.4) / math.exp(-1.0)) ** 2
    ) / 2
    total, info = info_loss(SPEC, q, codes, lambda_categorical=1.0, lambda_continuous=0.1)

    assert total.item() == pytest.approx(ce + 0.1 * nll, rel=1e-5)
    assert F.cross_entropy(logits, codes["c"]).item() == pytest.approx(ce, rel=1e-6)
    assert F.cross_entropy(logits.softmax(1), codes["c"]).item() != pytest.approx(ce, rel=1e-2)
    assert info["c"] == pytest.approx(math.log(3) - ce, rel=1e-5)  # H(c) - NLL
    assert info["u"] == pytest.approx(math.log(2) - nll, rel=1e-5)  # Uniform(-1, 1) has entropy log 2


def test_info_loss_lambdas_weight_each_kind() -> None:
    q = torch.randn(4, SPEC.q_dim, generator=torch.Generator().manual_seed(0))
    codes = SPEC.sample(4, generator=torch.Generator().manual_seed(1))
    only_cat, _ = info_loss(SPEC, q, codes, lambda_categorical=1.0, lambda_continuous=0.0)
    only_cont, _ = info_loss(SPEC, q, codes, lambda_categorical=0.0, lambda_continuous=1.0)
    both, _ = info_loss(SPEC, q, codes, lambda_categorical=2.0, lambda_continuous=3.0)
    assert both.item() == pytest.approx(2 * only_cat.item() + 3 * only_cont.item(), rel=1e-5)


def test_information_gradient_reaches_generator_trunk_and_q_head(shapes: ImageData, tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(), TrainConfig(dataset="folder", batch_size=16), shapes, tmp_path)
    m, spec = trainer.model, trainer.model.config.latent
    codes = spec.sample(16, generator=torch.Generator().manual_seed(0))
    loss, _ = info_loss(spec, m.q_head(m.trunk(m.generator(spec.to_generator_input(codes)))), codes)
    m.zero_grad(set_to_none=True)
    loss.backward()

    def has_grad(module: torch.nn.Module) -> bool:
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())

    assert has_grad(m.generator), "L_I must train G (paper Eq. 6: min over G and Q)"
    assert has_grad(m.trunk), "Q shares D's convolutions: L_I must train the shared trunk"
    assert has_grad(m.q_head)
    assert not has_grad(m.d_head), "the D head plays no part in L_I"


def parameters_of(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the trainable weights only: BatchNorm's running statistics change in any forward pass in train mode,
    so a state_dict comparison would report "updated" even for a network whose optimiser never stepped."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_train_step_updates_every_network(shapes: ImageData, tmp_path: Path) -> None:
    torch.manual_seed(0)
    trainer = Trainer(tiny_config(), TrainConfig(dataset="folder", batch_size=16), shapes, tmp_path)
    m = trainer.model
    before = parameters_of(m)
    stats = trainer.train_step(trainer.next_batch())
    after = parameters_of(m)
    for prefix in ("generator.", "trunk.", "d_head.", "q_head."):
        changed = [k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])]
        assert changed, f"{prefix} weights were not updated by a train step"
    assert {"d_loss", "g_loss", "info_loss", "info/shape", "info/width"} <= stats.keys()


def test_the_information_term_alone_trains_q_and_the_trunk(
    shapes: ImageData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the GAN losses zeroed, whatever still moves on the discriminator side moved because of L_I."""
    import infogan.losses

    def no_gan(logits: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        return logits.sum() * 0.0  # keeps the graph, contributes no gradient

    monkeypatch.setitem(infogan.losses.GAN_LOSSES, "bce", (no_gan, no_gan))
    torch.manual_seed(0)
    trainer = Trainer(tiny_config(), TrainConfig(dataset="folder", batch_size=16), shapes, tmp_path)
    m = trainer.model
    before = parameters_of(m)
    trainer.train_step(trainer.next_batch())
    after = parameters_of(m)

    def moved(prefix: str) -> list[str]:
        return [k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])]

    q_weights = [k for k in before if k.startswith("q_head.")]
    assert moved("q_head.") == q_weights, "every Q-head weight must be trained by L_I in the D/Q step"
    assert moved("trunk."), "Q shares D's trunk: L_I must train it too"
    assert moved("generator."), "L_I trains G as well (paper Eq. 6: min over G and Q)"
    assert not moved("d_head."), "only the GAN loss trains the D head"


def test_information_terms_stay_on_the_device_and_match_info_loss() -> None:
    """The training step's path: the same loss, and per code a detached float64 tensor equal to info_loss's float."""
    q = torch.randn(8, SPEC.q_dim, generator=torch.Generator().manual_seed(2), requires_grad=True)
    codes = SPEC.sample(8, generator=torch.Generator().manual_seed(3))
    total, terms = information_terms(SPEC, q, codes, continuous_std=1.0)
    same_total, floats = info_loss(SPEC, q, codes, continuous_std=1.0)
    assert torch.equal(total, same_total) and terms.keys() == floats.keys()
    for name, term in terms.items():
        assert term.dtype == torch.float64 and term.dim() == 0 and not term.requires_grad
        assert term.item() == floats[name]


def test_fixed_continuous_std_ignores_q_log_std() -> None:
    q = torch.tensor([[0.0, 0.0, 0.0, 0.3, -2.0]])  # Q predicts mean 0.3 and a (now ignored) log-std of -2
    codes = {"c": torch.tensor([0]), "u": torch.tensor([0.8])}
    only_cont = dict(lambda_categorical=0.0, lambda_continuous=1.0)
    fixed, info = info_loss(SPEC, q, codes, continuous_std=1.0, **only_cont)
    expected = 0.5 * math.log(2 * math.pi) + 0.5 * (0.8 - 0.3) ** 2  # log σ = 0
    assert fixed.item() == pytest.approx(expected, rel=1e-6)
    assert info["u"] == pytest.approx(math.log(2) - expected, rel=1e-6)
    wide, _ = info_loss(SPEC, q, codes, continuous_std=2.0, **only_cont)
    assert wide.item() == pytest.approx(0.5 * math.log(2 * math.pi) + math.log(2) + 0.5 * (0.5 / 2) ** 2, rel=1e-6)


def test_categorical_codes_can_be_read_from_a_differently_augmented_copy(shapes: ImageData, tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = TrainConfig(dataset="folder", batch_size=16, q_augment_categorical="rotation:0.5")
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    nets = trainer.optimisation_step.nets.frozen
    fake = torch.rand(16, 1, 28, 28)
    d_features, q_output = trainer.optimisation_step.read_fake(fake, nets)
    plain = nets["q_head"](d_features)  # what Q reads without the categorical policy (q_augment is "")
    assert torch.equal(q_output[:, 3:], plain[:, 3:]), "continuous codes are read from the q_augment copy"
    assert not torch.allclose(q_output[:, :3], plain[:, :3]), "the category is read from the rotated copy"
    assert trainer.training_metadata()["q_augment_categorical"] == "rotation:0.5"
