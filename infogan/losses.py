"""The InfoGAN objective as small pure functions; only the trainer calls backward().

min_{G,Q} max_D  V(D, G) - λ·L_I(G, Q)    (paper Eq. 6)

L_I is a variational lower bound on I(c; G(z, c)): L_I = H(c) + E[log Q(c | G(z, c))]. H(c) is constant, so the
trainable part is the negative log-likelihood of the true codes under Q: cross-entropy for categorical codes and a
Gaussian NLL for continuous ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

from .latent import CategoricalCode, LatentSpec

# Bounds on Q's predicted log standard deviation: without them a confident Q drives log σ to -inf and the NLL to
# -inf on the codes it already recovers, which swamps the GAN loss.
LOG_STD_MIN, LOG_STD_MAX = -2.5, 2.0


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss: -log D(x) - log(1 - D(G(z, c)))."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -log D(G(z, c)) (Goodfellow et al. 2014, Sec. 3)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss (Lim & Ye 2017; used by SNGAN/BigGAN): max(0, 1 - D(x)) + max(0, 1 + D(G(z, c)))."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side of the hinge loss: -D(G(z, c))."""
    return -fake_logits.mean()


# The adversarial losses a run can choose (`TrainConfig.gan_loss`): (discriminator loss, generator loss).
GAN_LOSSES = {"bce": (d_loss, g_loss), "hinge": (hinge_d_loss, hinge_g_loss)}


def gaussian_nll(value: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Per-sample -log N(value; mean, exp(log_std)^2)."""
    return 0.5 * math.log(2 * math.pi) + log_std + 0.5 * ((value - mean) * torch.exp(-log_std)) ** 2


def information_terms(
    spec: LatentSpec,
    q_output: torch.Tensor,
    codes: Mapping[str, torch.Tensor],
    lambda_categorical: float = 1.0,
    lambda_continuous: float = 0.1,
    continuous_std: float | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """λ_cat·Σ CE + λ_cont·Σ Gaussian NLL over all codes, averaged over the batch, and per code the current
    mutual-information lower bound H(c) - NLL in nats, all as tensors on q_output's device (nothing is read back to
    the host, so a training step can run ahead of it; `info_loss` is the same with Python floats).

    With `continuous_std` set, the Gaussian's σ is fixed to it instead of Q's predicted log-std (the reference
    implementation fixes σ = 1). A fixed σ keeps the pull of the continuous codes constant; a learned σ shrinks as Q
    gets confident, which multiplies that pull and can let a continuous code absorb class identity.

    The information bounds are detached 0-dim tensors, float64 where the device has it (all but Apple MPS), so that
    reading one gives exactly the float `H(c) - float(nll)` would.
    """
    per_code = spec.split_q_output(q_output)
    total = q_output.new_zeros(())
    info: dict[str, torch.Tensor] = {}
    for code in spec.codes:
        if isinstance(code, CategoricalCode):
            nll = F.cross_entropy(per_code[code.name], codes[code.name])  # takes logits: no softmax before it
            total = total + lambda_categorical * nll
            entropy = math.log(code.size)
        else:
            mean, log_std = per_code[code.name]
            if continuous_std is not None:
                log_std = torch.full_like(mean, math.log(continuous_std))
            else:
                log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
            nll = gaussian_nll(codes[code.name], mean, log_std).mean()
            total = total + lambda_continuous * nll
            entropy = math.log(code.high - code.low)  # differential entropy of Uniform(low, high)
        info[code.name] = entropy - widest_float(nll.detach())
    return total, info


def info_loss(
    spec: LatentSpec,
    q_output: torch.Tensor,
    codes: Mapping[str, torch.Tensor],
    lambda_categorical: float = 1.0,
    lambda_continuous: float = 0.1,
    continuous_std: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """`information_terms` with the per-code information bounds read back as Python floats (for logging outside a
    training step: evaluation, refinement)."""
    total, info = information_terms(spec, q_output, codes, lambda_categorical, lambda_continuous, continuous_std)
    return total, {name: float(value) for name, value in info.items()}


def widest_float(value: torch.Tensor) -> torch.Tensor:
    """`value` as float64, or float32 on Apple MPS (which has no float64): statistics summed over many steps on the
    device keep the precision of the Python floats they replace."""
    return value.to(torch.float32 if value.device.type == "mps" else torch.float64)
