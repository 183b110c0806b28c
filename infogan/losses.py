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


def info_loss(
    spec: LatentSpec,
    q_output: torch.Tensor,
    codes: Mapping[str, torch.Tensor],
    lambda_categorical: float = 1.0,
    lambda_continuous: float = 0.1,
    continuous_std: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """λ_cat·Σ CE + λ_cont·Σ Gaussian NLL over all codes, averaged over the batch.

    With `continuous_std` set, the Gaussian's σ is fixed to it instead of Q's predicted log-std (the reference
    implementation fixes σ = 1). A fixed σ keeps the pull of the continuous codes constant; a learned σ shrinks as Q
    gets confident, which multiplies that pull and can let a continuous code absorb class identity.

    Returns the loss and, per code, the current mutual-information lower bound H(c) - NLL in nats (logged during
    training; it rises as Q learns to read the codes back).
    """
    per_code = spec.split_q_output(q_output)
    total = q_output.new_zeros(())
    info: dict[str, float] = {}
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
        info[code.name] = entropy - float(nll.detach())
    return total, info


def real_information(spec: LatentSpec, q_output: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Σ over categorical codes of Q's mutual information with a batch of *real* images, in nats (differentiable).

    I(c; x) = H(E_x q(c|x)) - E_x H(q(c|x)), estimated on the batch (as IMSAT, Hu et al. 2017, and the label-free
    run score in `evaluate.categorical_information`). Maximising it asks Q to read every real image confidently *and*
    to use every category equally often, which is what the categories drawn by G (sampled uniformly) look like when
    they line up with the data's own clusters. No labels are involved. Returns the total and the per-code values.
    """
    per_code = spec.split_q_output(q_output)
    total = q_output.new_zeros(())
    info: dict[str, float] = {}
    for code in spec.codes:
        if not isinstance(code, CategoricalCode):
            continue
        log_probs = F.log_softmax(per_code[code.name], dim=1)  # (B, K)
        probs = log_probs.exp()
        marginal = probs.mean(0)
        entropy_of_mean = -(marginal * marginal.clamp_min(1e-12).log()).sum()
        mean_entropy = -(probs * log_probs).sum(1).mean()
        value = entropy_of_mean - mean_entropy
        total = total + value
        info[code.name] = float(value.detach())
    return total, info
