"""`TrainConfig`: every training setting in one place, with the help text `train.py` shows for its flag.

The defaults here are the base; presets (`infogan/presets/*.json`, their "training" block) are the only place they
differ, and `train.py`'s flags (derived from these fields) override a preset for one run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Only light imports: train.py builds its flags from these fields and must answer -h without loading torch.
from ..data import DATASETS


def setting(default: Any, text: str, flag: str | None = None, **metadata: Any) -> Any:
    """A TrainConfig field whose `text` becomes train.py's help; `flag` overrides the --name derived from its name.

    Other metadata: `choices` (the allowed values), `none_word` (the word a flag uses for None, e.g. 'learned').
    """
    return field(default=default, metadata={"help": text, "flag": flag, **metadata})


# Settings a resumed run may change: the run's length and its bookkeeping, not the optimisation itself.
RESUMABLE_CHANGES = frozenset({"steps", "log_every", "sample_every", "checkpoint_every", "device", "code_notes",
                               "candidates", "select_at"})  # fmt: skip
# Removed settings that changed the optimisation, with the value under which a run saved before their removal trains
# the same today (real_info_weight made every MNIST seed worse: docs/training.md). The removed mixed_precision and
# compile could already change at a resume, so a run saved with them resumes in fp32, eager.
REMOVED_SETTINGS = {"real_info_weight": 0.0}


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings of one run (the networks are described by InfoGANConfig)."""

    dataset: str = setting("mnist", "dataset id (its images must match the preset's model)",
                           choices=tuple(sorted(DATASETS)))  # fmt: skip
    steps: int = setting(6000, "total optimisation steps")
    batch_size: int = setting(100, "images per optimisation step, over all processes (global batch)")
    # The paper's MNIST rates: G learns 5x faster than D.
    lr_g: float = setting(1e-3, "generator learning rate")
    lr_d: float = setting(2e-4, "discriminator/Q learning rate")
    # Adam β1 = 0.5 (Radford et al. 2015): momentum 0.9 makes GAN training oscillate.
    beta1: float = setting(0.5, "Adam β1 of every optimiser")
    beta2: float = setting(0.999, "Adam β2 of every optimiser")
    # λ weights the information term (paper Eq. 6): 1 for discrete codes; smaller for continuous ones with a learned
    # σ, whose NLL has another scale (paper Sec. 6/Appendix).
    lambda_categorical: float = setting(1.0, "λ for categorical codes", flag="--lambda-cat")
    lambda_continuous: float = setting(0.1, "λ for continuous codes", flag="--lambda-cont")
    # A fixed σ keeps the continuous codes' pull constant; a learned one shrinks as Q gets confident (losses.info_loss).
    continuous_std: float | None = setting(None, "fix σ of the continuous codes' Gaussian NLL, or 'learned' to use "
                                                 "Q's predicted σ", none_word="learned")  # fmt: skip
    # Separate policies because an op can hide what a code controls (colour jitter vs hair colour).
    augment: str = setting("", "differentiable augmentation of D's inputs, real and fake alike, e.g. "
                               "'translation,cutout' or 'translation:0.1' ('' = none)")  # fmt: skip
    q_augment: str = setting("", "augmentation of the generated images Q reads")
    # Lets the category be made invariant to a change (rotation) that a continuous code (slant) must still see.
    q_augment_categorical: str = setting("", "augmentation of the images Q reads the categorical codes from, e.g. "
                                             "'translation:0.1,rotation' ('' = as --q-augment)")  # fmt: skip
    # Averaging out the last steps' oscillation gives cleaner samples at no training cost (Yazıcı et al. 2019).
    ema_decay: float = setting(0.0, "average G's weights with this decay for samples, previews and the saved model "
                                    "(0 = off; 0.999 is typical)")  # fmt: skip
    gan_loss: str = setting("bce", "adversarial loss: bce (the paper's binary cross-entropy) or hinge (SNGAN/BigGAN)")
    # InfoGAN-CR (infogan.training.contrastive): one more generator pass per step, for codes that each change the
    # image differently.
    cr_weight: float = setting(0.0, "InfoGAN-CR contrastive regulariser weight (0 = off)")
    seed: int = setting(0, "seed for weights, data order, latents and augmentations")
    device: str = setting("auto", "auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    log_every: int = setting(50, "steps between log lines (and reads of the losses from the device)")
    sample_every: int = setting(500, "steps between sample/traversal grids")
    # None: min(500, steps // 4), so even a short run leaves checkpoints to resume from.
    checkpoint_every: int | None = setting(None, "steps between checkpoints (default min(500, steps / 4))")
    # Label-free restarts (infogan.training.selection): K seeds train `select_at` steps, the most informative one
    # is finished. Only train.py and train_with_selection read these two; a Trainer trains one run.
    candidates: int = setting(1, "train this many seeds for --select-at steps, keep the one whose categorical codes "
                                 "carry the most information about real images (label-free), and finish it "
                                 "(1 = one plain run)")  # fmt: skip
    select_at: int | None = setting(None, "steps per candidate before choosing (default: the preset's share of the "
                                          "steps, else half)")  # fmt: skip
    code_notes: dict[str, str] = field(default_factory=dict, metadata={"help": "what each code does (model card)"})

    @classmethod
    def from_preset(cls, training: dict[str, Any], where: str = "preset") -> TrainConfig:
        """A config from a preset's "training" block; an unknown key is an error naming it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(training) - known)
        if unknown:
            raise ValueError(f"{where}: unknown training key(s) {unknown}; known: {sorted(known)}")
        return cls(**training)

    def validate(self) -> None:
        """Raise one ValueError naming the first bad setting, what was expected and how to fix it."""
        from ..losses import GAN_LOSSES  # torch: loaded only when a run is really configured
        from .augment import parse_policy

        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {sorted(DATASETS)}")
        for name in ("steps", "batch_size", "log_every", "sample_every", "checkpoint_every", "candidates",
                     "select_at"):  # fmt: skip
            value = getattr(self, name)
            if value is None and name in ("checkpoint_every", "select_at"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (batch norm needs more than one sample)")
        for name in ("lr_g", "lr_d", "lambda_categorical", "lambda_continuous", "cr_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
        if self.continuous_std is not None and not (
            isinstance(self.continuous_std, (int, float)) and 0.01 <= self.continuous_std <= 10
        ):
            raise ValueError(f"continuous_std must be None or a number in [0.01, 10], got {self.continuous_std!r}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("Adam betas must lie in [0, 1)")
        for name in ("augment", "q_augment", "q_augment_categorical"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a policy string such as 'translation,cutout'")
            parse_policy(getattr(self, name))  # ValueError naming an unknown op
        if not isinstance(self.ema_decay, (int, float)) or not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must lie in [0, 1) (0 = off; 0.999 is typical), got {self.ema_decay!r}")
        if self.gan_loss not in GAN_LOSSES:
            raise ValueError(f"gan_loss must be one of {sorted(GAN_LOSSES)}, got {self.gan_loss!r}")

    @property
    def checkpoint_interval(self) -> int:
        """Steps between checkpoints: `checkpoint_every`, or by default min(500, steps // 4)."""
        if self.checkpoint_every is not None:
            return self.checkpoint_every
        return max(1, min(500, self.steps // 4))

    def check_resumable(self, saved: dict[str, Any], where: str) -> None:
        """Refuse to resume the run saved with settings `saved` (a JSON dict) under settings that train differently."""
        defaults = asdict(TrainConfig())  # runs saved before a setting existed used its default
        current = asdict(self)
        changed = sorted(k for k in current.keys() - RESUMABLE_CHANGES if saved.get(k, defaults[k]) != current[k])
        if changed:
            was = {k: saved.get(k) for k in changed}
            raise ValueError(
                f"--resume: {', '.join(changed)} differ from the run in {where} (it used {was}); resume with "
                "the same settings, or start a new run in another --out folder"
            )
        removed = {k: saved[k] for k, same in REMOVED_SETTINGS.items() if saved.get(k, same) != same}
        if removed:
            raise ValueError(
                f"--resume: the run in {where} was trained with {removed}, a setting this version no longer has; "
                "finish it with the version that started it, or start a new run in another --out folder"
            )
