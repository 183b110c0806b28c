"""One InfoGAN optimisation step: networks, optimisers and a batch of real images in, device statistics out.

min_{G,Q} max_D  V(D, G) - λ·L_I(G, Q)    (paper Eq. 6), in two updates and an average:

1. the discriminator side (shared trunk, D head, Q head) learns real vs fake and to read the codes back from G's
   images: Q's gradient reaches the shared convolutions, as in the paper's reference code;
2. G learns to fool D and to make its codes readable, through the frozen discriminator side;
3. optionally InfoGAN-CR's pair classifier and G minimise its error (`cr_weight`), and G's weight average moves.

The step never waits for the host: it reads no tensor back (no `.item()`, no `float(...)`), draws latents and
augmentation parameters on its own device from seeded generators, has no Python branch on a tensor's value and the
same shapes every call. Its statistics come back as one device tensor that the loop sums and reads once per log
interval. That is also what a CUDA graph capture of the step needs (not done yet: see docs/training.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..latent import CategoricalCode
from ..losses import GAN_LOSSES, information_terms, widest_float
from ..model import InfoGAN
from .augment import augment
from .contrastive import PairClassifier, contrastive_loss, sample_pairs
from .ema import WeightAverage
from .settings import TrainConfig

Network = Callable[..., torch.Tensor]  # a module, or its DDP wrapper


@dataclass
class Networks:
    """What a step trains: the model, how the step calls its parts, the optimisers and the optional extras.

    `trained` holds the callables of the passes that train them (DDP-wrapped when several processes run); `frozen`
    holds the discriminator side unwrapped, for G's pass: a DDP forward there would wait for gradients that never
    come (requires_grad is off) and fail the next step.
    """

    model: InfoGAN
    trained: dict[str, Network]  # generator, trunk, d_head, q_head
    frozen: dict[str, Network]  # trunk, d_head, q_head
    opt_d: torch.optim.Optimizer
    opt_g: torch.optim.Optimizer
    average: WeightAverage | None = None
    pair_classifier: PairClassifier | None = None
    opt_h: torch.optim.Optimizer | None = None

    @property
    def discriminator_side(self) -> list[nn.Parameter]:
        """D, Q and the shared trunk: everything the D/Q update trains."""
        m = self.model
        return [*m.trunk.parameters(), *m.d_head.parameters(), *m.q_head.parameters()]


class TrainStep:
    """`step(real)` runs one optimisation step on this process's rows and returns its statistics (`names`)."""

    def __init__(
        self,
        config: TrainConfig,
        nets: Networks,
        latent_rng: torch.Generator,
        augment_rng: torch.Generator,
        rows: slice,
    ) -> None:
        self.config, self.nets, self.rows = config, nets, rows
        self.latent_rng, self.augment_rng = latent_rng, augment_rng
        self.spec = nets.model.config.latent
        self.device = next(nets.model.parameters()).device
        self.d_loss, self.g_loss = GAN_LOSSES[config.gan_loss]
        self.lambdas = dict(lambda_categorical=config.lambda_categorical, lambda_continuous=config.lambda_continuous,
                            continuous_std=config.continuous_std)  # fmt: skip
        # Which of Q's output columns are categorical logits (for `q_augment_categorical`).
        self.categorical_columns = torch.tensor(
            [isinstance(c, CategoricalCode) for c in self.spec.codes for _ in range(c.q_outputs)], device=self.device
        )
        self.discriminator_side = nets.discriminator_side
        cr = ["cr_loss"] if nets.pair_classifier is not None else []
        self.names = ("d_loss", "g_loss", "info_loss", *(f"info/{code.name}" for code in self.spec.codes), *cr)

    def __call__(self, real: torch.Tensor) -> torch.Tensor:
        """One step on `real` (this process's rows of the global batch, in [0, 1]); returns the statistics named by
        `names`, as one detached device tensor (float64 where the device has it), mean over this process's rows."""
        # The whole global batch of latents, then this process's rows: the generator stays in step on every process.
        latents = self.spec.sample(self.config.batch_size, generator=self.latent_rng, device=self.device)
        codes = {name: value[self.rows] for name, value in latents.items()}
        fake = self.nets.trained["generator"](self.spec.to_generator_input(codes))  # (B / processes, C, H, W)
        loss_d = self._update_discriminator_side(real, fake, codes)
        loss_g, info_g, information = self._update_generator(fake, codes)
        stats = [widest_float(loss.detach()) for loss in (loss_d, loss_g, info_g)] + list(information.values())
        if self.nets.pair_classifier is not None:
            stats.append(widest_float(self._update_pair_classifier(len(real)).detach()))
        if self.nets.average is not None:
            self.nets.average.update(self.nets.model.generator)
        return torch.stack(stats)

    def _update_discriminator_side(
        self, real: torch.Tensor, fake: torch.Tensor, codes: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """D learns real vs fake; Q (and the trunk under it) learns to read the codes back. Returns D's loss."""
        nets, cfg = self.nets.trained, self.config
        _set_requires_grad(self.discriminator_side, True)
        fake_d_features, fake_q_output = self.read_fake(fake.detach(), nets)
        real_d_features = nets["trunk"](self._augment(real, cfg.augment))
        loss_d = self.d_loss(nets["d_head"](real_d_features), nets["d_head"](fake_d_features))
        info_d, _ = information_terms(self.spec, fake_q_output, codes, **self.lambdas)
        self.nets.opt_d.zero_grad(set_to_none=True)
        (loss_d + info_d).backward()
        self.nets.opt_d.step()
        return loss_d

    def _update_generator(
        self, fake: torch.Tensor, codes: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """G learns to fool D and to make the codes recoverable, through the frozen D side (no wasted gradients).
        Returns G's loss, its information loss and the information bound per code."""
        nets = self.nets.frozen
        _set_requires_grad(self.discriminator_side, False)
        fake_d_features, fake_q_output = self.read_fake(fake, nets)
        loss_g = self.g_loss(nets["d_head"](fake_d_features))
        info_g, information = information_terms(self.spec, fake_q_output, codes, **self.lambdas)
        self.nets.opt_g.zero_grad(set_to_none=True)
        (loss_g + info_g).backward()
        self.nets.opt_g.step()
        return loss_g, info_g, information

    def _update_pair_classifier(self, batch_size: int) -> torch.Tensor:
        """InfoGAN-CR: G and H together minimise H's error at naming the code an image pair shares."""
        m, nets = self.nets.model, self.nets
        first, second, shared = sample_pairs(self.spec, max(2, batch_size // 2), self.latent_rng, self.device)
        images = m.generator(self.spec.to_generator_input({k: torch.cat([first[k], second[k]]) for k in first}))
        a, b = images.chunk(2)  # (B/2, C, H, W) each; one G pass keeps batch-norm statistics over both halves
        loss = contrastive_loss(nets.pair_classifier(a, b), shared)
        nets.opt_g.zero_grad(set_to_none=True)
        nets.opt_h.zero_grad(set_to_none=True)
        (self.config.cr_weight * loss).backward()
        nets.opt_g.step()
        nets.opt_h.step()
        return loss

    def read_fake(self, fake: torch.Tensor, nets: dict[str, Network]) -> tuple[torch.Tensor, torch.Tensor]:
        """Trunk features of generated images as D sees them, and Q's output on them (one trunk pass when the
        policies agree). With `q_augment_categorical`, Q's categorical logits come from a separately augmented copy."""
        cfg, trunk = self.config, nets["trunk"]
        d_features = trunk(self._augment(fake, cfg.augment))
        q_features = d_features if cfg.q_augment == cfg.augment else trunk(self._augment(fake, cfg.q_augment))
        q_output = nets["q_head"](q_features)
        if not cfg.q_augment_categorical:
            return d_features, q_output
        categorical = nets["q_head"](trunk(self._augment(fake, cfg.q_augment_categorical)))
        return d_features, torch.where(self.categorical_columns, categorical, q_output)

    def _augment(self, images: torch.Tensor, policy: str) -> torch.Tensor:
        """This process's rows of an augmented global batch: the draws are those of a one-process run."""
        return augment(images, policy, self.augment_rng, self.config.batch_size, self.rows.start)


def _set_requires_grad(params: list[nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)
