"""The training loop: alternating D/Q and G steps, logging, previews, atomic resumable checkpoints.

Run folder layout (`out_dir`):
    log.jsonl               one JSON object per logged step
    samples/                sample and traversal grids every `sample_every` steps (fixed seed: comparable)
    model/                  the latest checkpoint as a Hub-ready folder (config.json, model.safetensors, README.md)
    training_state.pt       weights + optimisers + RNG + data position: everything `--resume` needs

Under `torchrun`/`accelerate launch` every process runs this loop on its rows of each global batch (see
infogan.training.distributed); process 0 alone writes the run folder, and everything in it is global, whatever the
number of processes.

A checkpoint never leaves a mixed or half-written folder: model/ is written as .model.tmp/ and swapped in with two
renames (a crash between them leaves .model.old/, which the next start puts back), and training_state.pt is
written as .training_state.pt.tmp and renamed. Leftover temp files are removed when a Trainer starts.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..config import InfoGANConfig
from ..data import DATASETS, ImageData
from ..export.model_card import write_preview_images
from ..latent import CategoricalCode
from ..losses import GAN_LOSSES, info_loss, real_information
from ..metrics.evaluate import categorical_information, categorical_metrics
from ..model import InfoGAN
from .augment import augment, parse_policy
from .contrastive import PairClassifier, contrastive_loss, sample_pairs
from .devices import describe_hardware
from .distributed import MIXED_PRECISION, Parallel

STATE_FILE = "training_state.pt"
MODEL_DIR = "model"
LOG_FILE = "log.jsonl"
# Temp names a crash can leave behind: the model folder being written, the one being replaced, the resume state.
MODEL_TMP, MODEL_OLD, STATE_TMP = f".{MODEL_DIR}.tmp", f".{MODEL_DIR}.old", f".{STATE_FILE}.tmp"


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings (the model itself is described by InfoGANConfig)."""

    dataset: str = "mnist"
    steps: int = 6000
    batch_size: int = 100
    lr_g: float = 1e-3  # the paper's MNIST rates: G learns 5x faster than D
    lr_d: float = 2e-4
    beta1: float = 0.5  # Adam β1 = 0.5 (Radford et al. 2015): momentum 0.9 makes GAN training oscillate
    beta2: float = 0.999
    # λ weights the information term (paper Eq. 6). 1 for discrete codes; smaller for continuous ones, whose NLL
    # has a different scale (paper Sec. 6/Appendix).
    lambda_categorical: float = 1.0
    lambda_continuous: float = 0.1
    # Fixed σ for the continuous codes' Gaussian NLL (None: Q's learned σ). See losses.info_loss.
    continuous_std: float | None = None
    # Differentiable augmentation (infogan.training.augment policy strings) of D's inputs, real and fake alike, and
    # of the generated images Q reads. Separate because an op can hide what a code controls (colour jitter vs hair
    # colour).
    augment: str = ""
    q_augment: str = ""
    # Optional separate policy for the images Q reads the *categorical* codes from ("" = q_augment). Lets the
    # category be made invariant to a change (e.g. rotation) that a continuous code (slant) must still see.
    q_augment_categorical: str = ""
    # Exponential moving average of G's weights, used for every sample, preview and saved model (0 = off). Averaging
    # out the last steps' oscillation gives visibly cleaner samples at no training cost (Yazıcı et al. 2019).
    ema_decay: float = 0.0
    gan_loss: str = "bce"  # "bce" (the paper's) or "hinge" (SNGAN/BigGAN); see losses.GAN_LOSSES
    # Weight of InfoGAN-CR's contrastive regulariser (infogan.training.contrastive; 0 = off, plain InfoGAN). It
    # trains an extra pair classifier and costs one more generator pass per step, for codes that each change the
    # image differently.
    cr_weight: float = 0.0
    # Weight of Q's mutual information with its categorical codes on the *real* batch (losses.real_information),
    # maximised by D/Q's trunk alongside L_I (0 = off, the paper's objective). Label-free. Measured on MNIST (weight 1,
    # five seeds): every seed ended at 80-89 %, alike but below the best plain seeds, so the presets leave it off.
    real_info_weight: float = 0.0
    seed: int = 0
    device: str = "auto"
    # bf16 autocast on CUDA (weights and optimiser state stay fp32); "no" on CPU, where bf16 is slower.
    mixed_precision: str = "no"
    compile: bool = False  # torch.compile the networks: faster steps on GPU after a compile of a minute or so
    log_every: int = 50
    sample_every: int = 500
    # None: min(500, steps // 4), so even a short run leaves checkpoints to resume from (at least four per run).
    checkpoint_every: int | None = None
    code_notes: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {sorted(DATASETS)}")
        for name in ("steps", "batch_size", "log_every", "sample_every", "checkpoint_every"):
            value = getattr(self, name)
            if name == "checkpoint_every" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (batch norm needs more than one sample)")
        for name in ("lr_g", "lr_d", "lambda_categorical", "lambda_continuous", "cr_weight", "real_info_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
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
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false, got {self.compile!r}")
        if self.gan_loss not in GAN_LOSSES:
            raise ValueError(f"gan_loss must be one of {sorted(GAN_LOSSES)}, got {self.gan_loss!r}")

    @property
    def checkpoint_interval(self) -> int:
        """Steps between checkpoints: `checkpoint_every`, or by default min(500, steps // 4)."""
        if self.checkpoint_every is not None:
            return self.checkpoint_every
        return max(1, min(500, self.steps // 4))


class TrainingStoppedError(RuntimeError):
    """`train(should_stop=...)` asked the run to stop before `config.steps`: the run folder keeps its last checkpoint
    (resumable), and no model is returned, so a caller cannot mistake a half-trained model for a finished one."""


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


class Trainer:
    """Owns the model, optimisers, data order and RNG for one run folder; `train()` runs until `config.steps`."""

    def __init__(
        self,
        model_config: InfoGANConfig,
        config: TrainConfig,
        data: ImageData,
        out_dir: str | Path,
        eval_data: ImageData | None = None,
        resume: bool = False,
    ) -> None:
        config.validate()
        if len(data) < config.batch_size:
            raise ValueError(f"the dataset has {len(data)} images, fewer than one batch of {config.batch_size}")
        expected = (model_config.channels, model_config.image_size, model_config.image_size)
        if tuple(data.images.shape[1:]) != expected:
            raise ValueError(f"data images have shape {tuple(data.images.shape[1:])}, the model needs {expected}")
        self.config, self.out_dir = config, Path(out_dir)
        self.parallel = Parallel(config.device, config.mixed_precision, config.compile)
        self.rows = self.parallel.rows(config.batch_size)  # this process's rows of every global batch
        if self.rows.stop - self.rows.start < 2:
            raise ValueError(f"batch_size {config.batch_size} leaves fewer than 2 images per process "
                             f"({self.parallel.world_size} processes); batch norm needs at least 2")  # fmt: skip
        if config.cr_weight and self.parallel.world_size > 1:
            raise ValueError("--cr-weight (InfoGAN-CR) runs in one process only: its extra generator pass is not "
                             "synchronised across processes; drop it, or run without torchrun / accelerate "
                             "launch")  # fmt: skip
        if self.parallel.is_main:  # only process 0 writes (and cleans) the run folder
            prepare_run_folder(self.out_dir)
        self.device = self.parallel.device
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes every step: let cuDNN pick its fastest kernels
        self.eval_data = eval_data
        torch.manual_seed(config.seed)  # weight init
        self.model = InfoGAN(model_config).to(self.device).train()
        m = self.model
        betas = (config.beta1, config.beta2)
        # D, Q and the shared trunk form the "discriminator side": they all see the information term (as in the
        # paper's reference code), so Q's gradient reaches the shared convolutions, not just Q's own head.
        self.d_params = [*m.trunk.parameters(), *m.d_head.parameters(), *m.q_head.parameters()]
        self.opt_d = torch.optim.Adam(self.d_params, lr=config.lr_d, betas=betas)
        self.opt_g = torch.optim.Adam(m.generator.parameters(), lr=config.lr_g, betas=betas)
        self.images = data.images.to(self.device)  # uint8 (N, C, H, W)
        self.data_rng = torch.Generator().manual_seed(config.seed + 1)
        self.latent_rng = torch.Generator().manual_seed(config.seed + 2)
        self.augment_rng = torch.Generator().manual_seed(config.seed + 3)
        # Which of Q's output columns are categorical logits (for `q_augment_categorical`).
        self.categorical_columns = torch.tensor(
            [isinstance(c, CategoricalCode) for c in model_config.latent.codes for _ in range(c.q_outputs)],
            device=self.device,
        )
        # The averaged generator is a separate copy, never trained directly (see TrainConfig.ema_decay).
        self.ema_generator = copy.deepcopy(m.generator).requires_grad_(False) if config.ema_decay else None
        # InfoGAN-CR's pair classifier H lives only in the training state: the exported model does not need it.
        self.pair_classifier = PairClassifier(model_config).to(self.device).train() if config.cr_weight else None
        self.opt_h = (torch.optim.Adam(self.pair_classifier.parameters(), lr=config.lr_d, betas=betas)
                      if self.pair_classifier is not None else None)  # fmt: skip
        self.order = torch.randperm(len(self.images), generator=self.data_rng)
        self.position = 0
        self.step = 0
        self.elapsed = 0.0
        self.last_metrics: dict[str, Any] = {}
        if resume:
            self._load_state()
        elif (self.out_dir / STATE_FILE).exists():
            raise FileExistsError(
                f"{self.out_dir} already holds a run ({STATE_FILE}); pass --resume to continue it or choose a new --out"
            )
        elif self.parallel.is_main:  # a fresh start: a log from an earlier run that never checkpointed is kept aside
            rotate_old_log(self.out_dir)
        self._prepare_networks()

    def _prepare_networks(self) -> None:
        """The callables the step trains through: DDP-wrapped when several processes run, compiled if asked.

        Each backward pass must reduce exactly the parameters it gave gradients to. D, Q and the trunk are wrapped
        for the D/Q pass (the trunk runs 2-3 times in it; DDP reduces once, in the backward); G is wrapped for the G
        pass. The G pass runs the frozen D side *unwrapped*: a DDP forward there would wait for gradients that never
        come (requires_grad is off) and fail the next step.
        """
        m = self.model
        nets = self.parallel.prepare(m.generator, m.trunk, m.d_head, m.q_head, self.opt_d, self.opt_g)
        *trained, self.opt_d, self.opt_g = nets
        run = self.parallel.runner
        self.train_nets = dict(zip(("generator", "trunk", "d_head", "q_head"), map(run, trained), strict=True))
        self.frozen_nets = {name: run(getattr(m, name)) for name in ("trunk", "d_head", "q_head")}

    # ---- one optimisation step ----------------------------------------------------------------------------------

    def next_batch(self) -> torch.Tensor:
        """The next batch in a seeded permutation; a new permutation each epoch (the tail batch is dropped)."""
        b = self.config.batch_size
        if self.position + b > len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.data_rng)
            self.position = 0
        idx = self.order[self.position : self.position + b][self.rows].to(self.device)  # this process's rows
        self.position += b
        return self.images[idx].float().div_(255)  # (B / processes, C, H, W) in [0, 1]

    def train_step(self, real: torch.Tensor) -> dict[str, float]:
        spec, cfg = self.model.config.latent, self.config
        lambdas = dict(lambda_categorical=cfg.lambda_categorical, lambda_continuous=cfg.lambda_continuous,
                       continuous_std=cfg.continuous_std)  # fmt: skip
        d_loss, g_loss = GAN_LOSSES[cfg.gan_loss]
        # The whole global batch of latents, then this process's rows: the generator stays in step on every process.
        latents = spec.sample(cfg.batch_size, generator=self.latent_rng)
        codes = {k: v[self.rows].to(self.device) for k, v in latents.items()}
        fake = self.train_nets["generator"](spec.to_generator_input(codes))  # (B / processes, C, H, W)

        # -- discriminator side: D learns real vs fake; Q (and the trunk under it) learns to read the codes back
        nets = self.train_nets
        _set_requires_grad(self.d_params, True)
        fake_d_features, fake_q_output = self._read_fake(fake.detach(), nets)
        real_d_features = nets["trunk"](self._augment(real, cfg.augment))
        loss_d = d_loss(nets["d_head"](real_d_features), nets["d_head"](fake_d_features))
        info_d, _ = info_loss(spec, fake_q_output, codes, **lambdas)
        real_info = {}
        if cfg.real_info_weight:
            # Q reads real categories the way it reads generated ones (the same policy), reusing D's pass if it can.
            policy = cfg.q_augment_categorical or cfg.q_augment
            real_q_features = real_d_features if policy == cfg.augment else nets["trunk"](self._augment(real, policy))
            real_total, real_info = real_information(spec, nets["q_head"](real_q_features))
            info_d = info_d - cfg.real_info_weight * real_total
        self.opt_d.zero_grad(set_to_none=True)
        (loss_d + info_d).backward()
        self.opt_d.step()

        # -- generator: fool D and make the codes recoverable; D-side weights are frozen (no wasted grads)
        nets = self.frozen_nets
        _set_requires_grad(self.d_params, False)
        fake_d_features, fake_q_output = self._read_fake(fake, nets)
        loss_g = g_loss(nets["d_head"](fake_d_features))
        info_g, information = info_loss(spec, fake_q_output, codes, **lambdas)
        self.opt_g.zero_grad(set_to_none=True)
        (loss_g + info_g).backward()
        self.opt_g.step()
        cr_loss = self._contrastive_step(len(real)) if self.pair_classifier is not None else None
        self._update_ema()

        # Averaged over processes (one all-reduce), so every process logs and checks the same global numbers.
        names = [
            "d_loss",
            "g_loss",
            "info_loss",
            *(f"info/{k}" for k in information),
            *(f"real_info/{k}" for k in real_info),
        ]
        values = [loss_d.item(), loss_g.item(), info_g.item(), *information.values(), *real_info.values()]
        stats = dict(zip(names, self.parallel.mean(values), strict=True))
        if cr_loss is not None:
            stats["cr_loss"] = cr_loss
        if not all(math.isfinite(v) for v in stats.values()):
            raise TrainingDivergedError(
                f"non-finite loss at step {self.step + 1}: {stats}. The last good checkpoint is in {self.out_dir} "
                f"(step {self._saved_step()}); resume it with --resume, e.g. with lower learning rates or λ."
            )
        return stats

    def _contrastive_step(self, batch_size: int) -> float:
        """InfoGAN-CR: G and H together minimise H's error at naming the code an image pair shares."""
        m, spec = self.model, self.model.config.latent
        first, second, shared = sample_pairs(spec, max(2, batch_size // 2), self.latent_rng, self.device)
        images = m.generator(spec.to_generator_input({k: torch.cat([first[k], second[k]]) for k in first}))
        a, b = images.chunk(2)  # (B/2, C, H, W) each; one G pass keeps batch-norm statistics over both halves
        loss = contrastive_loss(self.pair_classifier(a, b), shared)
        self.opt_g.zero_grad(set_to_none=True)
        self.opt_h.zero_grad(set_to_none=True)
        (self.config.cr_weight * loss).backward()
        self.opt_g.step()
        self.opt_h.step()
        return loss.item()

    def _read_fake(self, fake: torch.Tensor, nets: dict) -> tuple[torch.Tensor, torch.Tensor]:
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

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_generator is None:
            return
        # Warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): early on, the average would mostly
        # hold the random initial weights.
        decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
        for averaged, live in zip(self.ema_generator.parameters(), self.model.generator.parameters(), strict=True):
            averaged.lerp_(live, 1 - decay)

    @torch.no_grad()
    def export_model(self) -> InfoGAN:
        """The model to sample, preview and save: the live one, or a copy whose G is the weight average.

        The averaged weights never ran through BatchNorm in training, so the copy's BN statistics are re-estimated
        on fresh latent batches ("standing statistics", as BigGAN does for its EMA generator).
        """
        if self.ema_generator is None:
            return self.model
        exported = copy.copy(self.model)  # shallow: trunk and heads are shared, only G is swapped
        exported._modules = dict(self.model._modules)
        generator = copy.deepcopy(self.ema_generator)
        spec = self.model.config.latent
        rng = torch.Generator().manual_seed(self.config.seed + 4)  # the same batches every time: reproducible
        for module in generator.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the calibration batches
        generator.train()
        for _ in range(16):
            codes = {k: v.to(self.device) for k, v in spec.sample(256, generator=rng).items()}
            generator(spec.to_generator_input(codes))
        for module in generator.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.momentum = 0.1
        exported._modules["generator"] = generator.eval()
        return exported

    # ---- the loop -----------------------------------------------------------------------------------------------

    def train(
        self,
        on_log: Callable[[dict[str, float]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> InfoGAN:
        """Train until `config.steps`, writing logs, previews and checkpoints; returns the trained model.

        `on_log(record)` is called on process 0 with each log record (the line written to log.jsonl), between steps,
        so it may read or export the model (live previews). `should_stop()` is asked before every step; when it
        answers True the run stops and TrainingStoppedError is raised (the last checkpoint stays resumable).
        """
        cfg, main = self.config, self.parallel.is_main  # process 0 alone writes the run folder
        if main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "samples").mkdir(exist_ok=True)
        window: dict[str, float] = {}
        window_steps, window_start = 0, time.perf_counter()
        bar = tqdm(
            total=cfg.steps, initial=self.step, desc="training", unit="step", dynamic_ncols=True, disable=not main
        )
        with (self.out_dir / LOG_FILE).open("a", encoding="utf-8") if main else contextlib.nullcontext() as log:
            while self.step < cfg.steps:
                if should_stop is not None and should_stop():
                    bar.close()
                    raise TrainingStoppedError(f"stopped at step {self.step} of {cfg.steps}")
                t0 = time.perf_counter()
                stats = self.train_step(self.next_batch())
                self.elapsed += time.perf_counter() - t0
                self.step += 1
                for k, v in stats.items():
                    window[k] = window.get(k, 0.0) + v
                window_steps += 1
                bar.update(1)
                if not main:
                    continue
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    seconds = time.perf_counter() - window_start
                    record = {k: round(v / window_steps, 5) for k, v in window.items()}
                    info_total = sum(v for k, v in record.items() if k.startswith("info/"))
                    record.update(step=self.step, epoch=round(self.images_seen / len(self.images), 3),
                                  images_per_s=round(window_steps * cfg.batch_size / seconds, 1),
                                  information_nats=round(info_total, 4))  # fmt: skip
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    bar.set_postfix(d=record["d_loss"], g=record["g_loss"], info=record["information_nats"])
                    if on_log is not None:
                        on_log(record)
                    window, window_steps, window_start = {}, 0, time.perf_counter()
                if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                    self.write_previews()
                if self.step % cfg.checkpoint_interval == 0 or self.step == cfg.steps:
                    self.evaluate_on_labels(log)
                    self.save_checkpoint()
        bar.close()
        self.parallel.wait_for_everyone()  # no process exits while process 0 still writes the last checkpoint
        _set_requires_grad(self.d_params, True)  # leave the model as a normal module, not mid-G-step
        return self.model

    @property
    def images_seen(self) -> int:
        return self.step * self.config.batch_size

    def write_previews(self) -> None:
        write_preview_images(self.export_model(), self.out_dir / "samples", suffix=f"_step_{self.step:07d}")

    def evaluate_on_labels(self, log: Any) -> None:
        """Test-set accuracy/NMI of the categorical codes, for monitoring only (labels never reach a network)."""
        if self.eval_data is None or self.eval_data.labels is None or not self.model.config.latent.categorical:
            return
        names = DATASETS[self.config.dataset].class_names
        self.last_metrics = categorical_metrics(self.model, self.eval_data, names)
        # The label-free counterpart: how much Q's categories say about real images, I(c; x) under Q. Logged next
        # to accuracy so that a selection rule can be checked against the labelled figure.
        information = categorical_information(self.model, self.eval_data.images)
        brief = {k: {"accuracy": v["accuracy"], "nmi": v["nmi"], "real_information_nats": information[k]}
                 for k, v in self.last_metrics.items()}  # fmt: skip
        log.write(json.dumps({"step": self.step, "eval": brief}) + "\n")
        log.flush()
        tqdm.write(f"step {self.step}: test-set {brief}")

    # ---- checkpoints --------------------------------------------------------------------------------------------

    def training_metadata(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "steps": self.step,
            "epochs": round(self.images_seen / len(self.images), 2),
            "images_seen": self.images_seen,
            "batch_size": cfg.batch_size,  # global: the images in one optimisation step, over all processes
            "world_size": self.parallel.world_size,  # processes that trained the last stretch (DDP)
            "mixed_precision": cfg.mixed_precision,
            "lr_g": cfg.lr_g,
            "lr_d": cfg.lr_d,
            "lambda_categorical": cfg.lambda_categorical,
            "lambda_continuous": cfg.lambda_continuous,
            "continuous_std": cfg.continuous_std if cfg.continuous_std is not None else "learned",
            "augment": cfg.augment,
            "q_augment": cfg.q_augment,
            "q_augment_categorical": cfg.q_augment_categorical,
            "ema_decay": cfg.ema_decay,
            "gan_loss": cfg.gan_loss,
            "cr_weight": cfg.cr_weight,
            "real_info_weight": cfg.real_info_weight,
            "seed": cfg.seed,
            "wall_time_minutes": round(self.elapsed / 60, 1),
            "hardware": describe_hardware(self.device),
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "python": platform.python_version(),
        }

    def save_checkpoint(self) -> None:
        """Export the Hub folder, then the resume state; both written atomically (temp file + rename)."""
        metadata: dict[str, Any] = {
            "dataset": DATASETS[self.config.dataset].card_info(self.config.dataset),
            "training": self.training_metadata(),
        }
        if self.config.code_notes:
            metadata["code_notes"] = self.config.code_notes
        if self.last_metrics:
            metadata["metrics"] = {"test_set": self.last_metrics}
        self.model.config = self.model.config.with_metadata(**metadata)
        try:
            self._write_model_folder()
            self._write_state()
        except OSError as err:  # disk full, permissions, a vanished drive: the previous checkpoint is intact
            raise OSError(
                f"could not write the step-{self.step} checkpoint in {self.out_dir} ({err.strerror or err}); the "
                f"previous checkpoint (step {self._saved_step()}) is intact — free some space or fix the folder's "
                "permissions, then continue with --resume"
            ) from None

    def _write_model_folder(self) -> None:
        """Write model/ as .model.tmp/, then swap it in: readers see the old folder or the new one, never a mix."""
        tmp, old, final = self.out_dir / MODEL_TMP, self.out_dir / MODEL_OLD, self.out_dir / MODEL_DIR
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            exported = self.export_model()  # the EMA generator, when there is one
            exported.config = self.model.config
            exported.save_pretrained(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            final.rename(old)
        tmp.rename(final)  # a crash right before this leaves .model.old/, restored by prepare_run_folder
        shutil.rmtree(old, ignore_errors=True)

    def _write_state(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "ema_generator": self.ema_generator.state_dict() if self.ema_generator is not None else {},
            "pair_classifier": self.pair_classifier.state_dict() if self.pair_classifier is not None else {},
            "opt_h": self.opt_h.state_dict() if self.opt_h is not None else {},
            "augment_rng": self.augment_rng.get_state(),
            "opt_d": self.opt_d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "data_rng": self.data_rng.get_state(),
            "latent_rng": self.latent_rng.get_state(),
            "order": self.order,
            "position": self.position,
            "step": self.step,
            "elapsed": self.elapsed,
            "model_config": self.model.config.to_json(),
            "train_config": json.dumps(asdict(self.config)),
        }
        tmp = self.out_dir / STATE_TMP
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.out_dir / STATE_FILE)
        finally:
            tmp.unlink(missing_ok=True)  # a failed write (disk full) leaves no partial 40 MB temp file

    def _saved_step(self) -> int | str:
        path = self.out_dir / STATE_FILE
        try:
            return torch.load(path, weights_only=True)["step"] if path.exists() else "none yet"
        except Exception:  # only used in error messages: never mask the error being reported
            return "unknown"

    def _load_state(self) -> None:
        path = self.out_dir / STATE_FILE
        if not path.exists():
            raise FileNotFoundError(f"--resume: no {STATE_FILE} in {self.out_dir}; start without --resume")
        # Our own local training state (optimiser moments, RNG); weights_only=True never unpickles arbitrary code.
        try:
            state = torch.load(path, weights_only=True, map_location=self.device)
            saved = InfoGANConfig.from_dict(json.loads(state["model_config"]))
            saved_train = json.loads(state["train_config"])
        except Exception as err:
            raise ValueError(
                f"--resume: {path} is unreadable or from another version ({type(err).__name__}: {err}); "
                "start a new run in another --out folder"
            ) from None
        # Resuming means the same optimisation: only the length and the bookkeeping may change.
        free = {"steps", "log_every", "sample_every", "checkpoint_every", "device", "mixed_precision", "compile",
                "code_notes"}  # fmt: skip
        current = asdict(self.config)
        defaults = asdict(TrainConfig())  # runs saved before a setting existed used its default
        changed = sorted(k for k in current.keys() - free if saved_train.get(k, defaults[k]) != current[k])
        if changed:
            was = {k: saved_train.get(k) for k in changed}
            raise ValueError(
                f"--resume: {', '.join(changed)} differ from the run in {self.out_dir} (it used {was}); resume with "
                "the same settings, or start a new run in another --out folder"
            )
        if saved.to_dict() | {"metadata": {}} != self.model.config.to_dict() | {"metadata": {}}:
            raise ValueError(f"--resume: the model in {path} differs from the requested preset/config")
        self.model.config = saved
        self.model.load_state_dict(state["model"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.data_rng.set_state(state["data_rng"].cpu())
        self.latent_rng.set_state(state["latent_rng"].cpu())
        if "augment_rng" in state:
            self.augment_rng.set_state(state["augment_rng"].cpu())
        if self.ema_generator is not None:
            self.ema_generator.load_state_dict(state["ema_generator"])
        if self.pair_classifier is not None:
            self.pair_classifier.load_state_dict(state["pair_classifier"])
            self.opt_h.load_state_dict(state["opt_h"])
        self.order, self.position = state["order"].cpu(), state["position"]
        self.step, self.elapsed = state["step"], state["elapsed"]
        if self.parallel.is_main:  # process 0 owns the run folder
            self._truncate_log()
            tqdm.write(f"resumed {self.out_dir} at step {self.step}")

    def _truncate_log(self) -> None:
        """Drop log lines written after the checkpoint we resume from: those steps are about to be redone."""
        log = self.out_dir / LOG_FILE
        if log.exists():
            kept = [line for line in log.read_text(encoding="utf-8").splitlines(keepends=True)
                    if json.loads(line).get("step", 0) <= self.step]  # fmt: skip
            log.write_text("".join(kept), encoding="utf-8")


def prepare_run_folder(out_dir: Path) -> None:
    """Create `out_dir` (clear error when it cannot be written) and tidy what a crash left: restore model/ from an
    interrupted swap, delete half-written temp files."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = "no space left on the device" if err.errno == errno.ENOSPC else (err.strerror or str(err))
        raise ValueError(f"cannot write to --out {out_dir} ({reason}); choose a folder you can write to") from None
    model, old = out_dir / MODEL_DIR, out_dir / MODEL_OLD
    if old.is_dir() and not model.exists():  # killed between the two renames of a checkpoint swap
        old.rename(model)
        tqdm.write(f"restored {model} from an interrupted checkpoint swap")
    for leftover in (out_dir / MODEL_TMP, old, out_dir / STATE_TMP):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def rotate_old_log(out_dir: Path) -> Path | None:
    """Move log.jsonl of an earlier run that never checkpointed to log.N.jsonl (the first free N); returns it."""
    log = out_dir / LOG_FILE
    if not log.exists():
        return None
    n = 1
    while (out_dir / f"log.{n}.jsonl").exists():
        n += 1
    log.rename(out_dir / f"log.{n}.jsonl")
    tqdm.write(f"{out_dir} held a log but no checkpoint (an earlier run stopped before its first one): kept as "
               f"log.{n}.jsonl; this run starts a new {LOG_FILE}")  # fmt: skip
    return out_dir / f"log.{n}.jsonl"


def _set_requires_grad(params: list[torch.nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)
