"""`Trainer`: one InfoGAN training run in one run folder, built from four readable parts.

- `infogan.training.settings`: `TrainConfig`, every training setting;
- `infogan.training.step`: one optimisation step, which never waits for the host;
- `infogan.training.loop`: the schedule of steps, the log, previews, evaluation and the caller's hooks;
- `infogan.training.run_folder`: atomic checkpoints, the resume state and the log file.

The Trainer builds the model, optimisers, data order and seeded random streams, and saves and restores them.
Under `torchrun`/`accelerate launch` every process runs it on its rows of each global batch (see
infogan.training.distributed); process 0 alone writes the run folder, and everything in it is global, whatever the
number of processes.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..config import InfoGANConfig
from ..data import DATASETS, ImageData
from ..model import InfoGAN
from . import loop
from .contrastive import PairClassifier
from .devices import describe_hardware
from .distributed import Parallel
from .ema import WeightAverage
from .loop import TrainingDivergedError, TrainingStoppedError
from .run_folder import STATE_FILE, RunFolder
from .settings import TrainConfig
from .step import Networks, TrainStep

__all__ = ["STATE_FILE", "TrainConfig", "Trainer", "TrainingDivergedError", "TrainingStoppedError"]

# Offsets of the seeded random streams from TrainConfig.seed (the weights use the seed itself).
DATA_SEED, LATENT_SEED, AUGMENT_SEED, CALIBRATION_SEED = 1, 2, 3, 4
# TrainConfig fields recorded as they are in the model's training metadata (after the learning rates and λs).
RECORDED_SETTINGS = ("augment", "q_augment", "q_augment_categorical", "ema_decay", "gan_loss", "cr_weight", "seed")


class Trainer:
    """Owns the model, optimisers, data order and random streams of one run folder; `train()` runs to
    `config.steps`. `optimisation_step` is the step itself, `run_folder` the folder on disk."""

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
        _check_data(model_config, config, data)
        self.config, self.out_dir, self.eval_data = config, Path(out_dir), eval_data
        self.run_folder = RunFolder(self.out_dir)
        self.parallel = Parallel(config.device)
        self.rows = self.parallel.rows(config.batch_size)  # this process's rows of every global batch
        _check_processes(config, self.parallel, self.rows)
        if self.parallel.is_main:  # only process 0 writes (and cleans) the run folder
            self.run_folder.prepare()
        self.device = self.parallel.device
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes every step: let cuDNN pick its fastest kernels
        self._build(model_config, data)
        self.position, self.step, self.elapsed = 0, 0, 0.0
        self.last_metrics: dict[str, Any] = {}
        if resume:
            self._load_state()
        elif self.run_folder.has_state():
            raise FileExistsError(
                f"{self.out_dir} already holds a run ({STATE_FILE}); pass --resume to continue it or choose a new --out"
            )
        elif self.parallel.is_main:  # a fresh start: a log from an earlier run that never checkpointed is kept aside
            self.run_folder.rotate_old_log()
        self.optimisation_step = TrainStep(config, self._networks(), self.latent_rng, self.augment_rng, self.rows)

    def _build(self, model_config: InfoGANConfig, data: ImageData) -> None:
        """Model, optimisers, data and random streams, in the order that fixes every seeded draw."""
        cfg, device = self.config, self.device
        torch.manual_seed(cfg.seed)  # weight init
        self.model = m = InfoGAN(model_config).to(device).train()
        # capturable (CUDA): Adam keeps its step count on the device, which a CUDA graph of the step will need.
        adam = dict(betas=(cfg.beta1, cfg.beta2), capturable=device.type == "cuda")
        side = [*m.trunk.parameters(), *m.d_head.parameters(), *m.q_head.parameters()]
        self.opt_d = torch.optim.Adam(side, lr=cfg.lr_d, **adam)
        self.opt_g = torch.optim.Adam(m.generator.parameters(), lr=cfg.lr_g, **adam)
        self.images = data.images.to(device)  # uint8 (N, C, H, W)
        # The data order is drawn on the CPU (the same on any device); latents and augmentations on the step's device.
        self.data_rng = torch.Generator().manual_seed(cfg.seed + DATA_SEED)
        self.latent_rng = torch.Generator(device=device).manual_seed(cfg.seed + LATENT_SEED)
        self.augment_rng = torch.Generator(device=device).manual_seed(cfg.seed + AUGMENT_SEED)
        self.average = WeightAverage(m.generator, cfg.ema_decay, updates_done=0) if cfg.ema_decay else None
        # InfoGAN-CR's pair classifier H lives only in the training state: the exported model does not need it.
        self.pair_classifier = PairClassifier(model_config).to(device).train() if cfg.cr_weight else None
        self.opt_h = (torch.optim.Adam(self.pair_classifier.parameters(), lr=cfg.lr_d, **adam)
                      if self.pair_classifier is not None else None)  # fmt: skip
        self.order = torch.randperm(len(self.images), generator=self.data_rng).to(device)

    def _networks(self) -> Networks:
        """What the step trains, DDP-wrapped when several processes run.

        Each backward pass must reduce exactly the parameters it gave gradients to. D, Q and the trunk are wrapped
        for the D/Q pass (the trunk runs 2-3 times in it; DDP reduces once, in the backward); G is wrapped for the G
        pass, which runs the frozen D side unwrapped (see step.Networks).
        """
        m = self.model
        *trained, self.opt_d, self.opt_g = self.parallel.prepare(
            m.generator, m.trunk, m.d_head, m.q_head, self.opt_d, self.opt_g
        )
        return Networks(
            model=m,
            trained=dict(zip(("generator", "trunk", "d_head", "q_head"), trained, strict=True)),
            frozen={name: getattr(m, name) for name in ("trunk", "d_head", "q_head")},
            opt_d=self.opt_d,
            opt_g=self.opt_g,
            average=self.average,
            pair_classifier=self.pair_classifier,
            opt_h=self.opt_h,
        )

    @property
    def ema_generator(self) -> torch.nn.Module | None:
        """The averaged generator (`TrainConfig.ema_decay`), or None."""
        return self.average.generator if self.average is not None else None

    @property
    def images_seen(self) -> int:
        return self.step * self.config.batch_size

    def next_batch(self) -> torch.Tensor:
        """The next batch in a seeded permutation; a new permutation each epoch (the tail batch is dropped)."""
        b = self.config.batch_size
        if self.position + b > len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.data_rng).to(self.device)
            self.position = 0
        idx = self.order[self.position : self.position + b][self.rows]  # this process's rows, on the device
        self.position += b
        return self.images[idx].float().div_(255)  # (B / processes, C, H, W) in [0, 1]

    def train_step(self, real: torch.Tensor) -> dict[str, float]:
        """One step outside the loop, its statistics read back (averaged over processes): for tests and tools.
        The loop itself reads them only once per log interval."""
        stats = self.parallel.mean(self.optimisation_step(real))
        return dict(zip(self.optimisation_step.names, stats.tolist(), strict=True))

    def train(
        self,
        on_log: Callable[[dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> InfoGAN:
        """Train until `config.steps`, writing logs, previews and checkpoints; returns the trained model as saved in
        the run folder's `model/` (with the weight-averaged G when `ema_decay` is on, and the run's metadata).

        `on_log(record)` is called on process 0 with each log record (the line written to log.jsonl), between steps,
        so it may read or export the model (live previews). `should_stop()` is asked before every step; when it
        answers True the run stops and TrainingStoppedError is raised (the last checkpoint stays resumable).
        """
        try:
            loop.run(self, on_log, should_stop)
        finally:  # leave the model as a normal module, not mid-G-step (D side frozen)
            for p in self.optimisation_step.discriminator_side:
                p.requires_grad_(True)
        # What the run folder holds, not the live G: a caller that pushes or saves it must not undo the average.
        exported = self.export_model()
        exported.config = self.model.config
        return exported

    @torch.no_grad()
    def export_model(self) -> InfoGAN:
        """The model to sample, preview and save: the live one, or a copy whose G is the weight average."""
        if self.average is None:
            return self.model
        return self.average.export(self.model, seed=self.config.seed + CALIBRATION_SEED)

    # ---- checkpoints --------------------------------------------------------------------------------------------

    def training_metadata(self) -> dict[str, Any]:
        """How the model was trained, for config.json and the model card."""
        cfg = self.config
        return {
            "steps": self.step,
            "epochs": round(self.images_seen / len(self.images), 2),
            "images_seen": self.images_seen,
            "batch_size": cfg.batch_size,  # global: the images in one optimisation step, over all processes
            "world_size": self.parallel.world_size,  # processes that trained the last stretch (DDP)
            "lr_g": cfg.lr_g,
            "lr_d": cfg.lr_d,
            "lambda_categorical": cfg.lambda_categorical,
            "lambda_continuous": cfg.lambda_continuous,
            "continuous_std": cfg.continuous_std if cfg.continuous_std is not None else "learned",
            **{name: getattr(cfg, name) for name in RECORDED_SETTINGS},
            "wall_time_minutes": round(self.elapsed / 60, 1),
            "hardware": describe_hardware(self.device),
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "python": platform.python_version(),
        }

    def save_checkpoint(self) -> None:
        """Export the Hub folder, then the resume state (both atomic); never from a model with non-finite weights."""
        metadata: dict[str, Any] = {
            "dataset": DATASETS[self.config.dataset].card_info(self.config.dataset),
            "training": self.training_metadata(),
        }
        if self.config.code_notes:
            metadata["code_notes"] = self.config.code_notes
        if self.last_metrics:
            metadata["metrics"] = {"test_set": self.last_metrics}
        self.model.config = self.model.config.with_metadata(**metadata)
        self._refuse_non_finite_weights()
        exported = self.export_model()  # the EMA generator, when there is one
        exported.config = self.model.config
        self.run_folder.write_checkpoint(exported, self._state, self.step)

    def _refuse_non_finite_weights(self) -> None:
        modules = [self.model, self.ema_generator, self.pair_classifier]
        tensors = [t for m in modules if m is not None for t in m.state_dict().values() if t.is_floating_point()]
        if not torch.stack([torch.isfinite(t).all() for t in tensors]).all():  # one read per checkpoint
            raise TrainingDivergedError(
                f"non-finite weights at step {self.step}: not saved. The last good checkpoint is in {self.out_dir} "
                f"(step {self.run_folder.saved_step()}); resume it with --resume, e.g. with lower learning rates or λ."
            )

    def _state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "ema_generator": self.ema_generator.state_dict() if self.ema_generator is not None else {},
            "pair_classifier": self.pair_classifier.state_dict() if self.pair_classifier is not None else {},
            "opt_h": self.opt_h.state_dict() if self.opt_h is not None else {},
            "opt_d": self.opt_d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "data_rng": self.data_rng.get_state(),
            "latent_rng": self.latent_rng.get_state(),
            "augment_rng": self.augment_rng.get_state(),
            "rng_device": self.device.type,  # where latent_rng and augment_rng draw (their states are per kind)
            "order": self.order.cpu(),
            "position": self.position,
            "step": self.step,
            "elapsed": self.elapsed,
            "model_config": self.model.config.to_json(),
            "train_config": json.dumps(asdict(self.config)),
        }

    def _load_state(self) -> None:
        state = self.run_folder.read_state(self.device)
        try:
            saved = InfoGANConfig.from_dict(json.loads(state["model_config"]))
            saved_train = json.loads(state["train_config"])
        except Exception as err:
            raise ValueError(f"--resume: the state in {self.out_dir} is from another version ({type(err).__name__}: "
                             f"{err}); start a new run in another --out folder") from None  # fmt: skip
        # Resuming means the same optimisation: only the length and the bookkeeping may change.
        self.config.check_resumable(saved_train, str(self.out_dir))
        if saved.to_dict() | {"metadata": {}} != self.model.config.to_dict() | {"metadata": {}}:
            raise ValueError(f"--resume: the model in {self.out_dir} differs from the requested preset/config")
        self.model.config = saved
        self.model.load_state_dict(state["model"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.average is not None:
            self.average.generator.load_state_dict(state["ema_generator"])
            self.average.restart_count(state["step"])
        if self.pair_classifier is not None:
            self.pair_classifier.load_state_dict(state["pair_classifier"])
            self.opt_h.load_state_dict(state["opt_h"])
        self.data_rng.set_state(state["data_rng"].cpu())
        self.order, self.position = state["order"].to(self.device), state["position"]
        self.step, self.elapsed = state["step"], state["elapsed"]
        self._restore_streams(state)
        if self.parallel.is_main:  # process 0 owns the run folder
            self.run_folder.truncate_log(self.step)
            tqdm.write(f"resumed {self.out_dir} at step {self.step}")

    def _restore_streams(self, state: dict[str, Any]) -> None:
        """The latent and augmentation streams continue exactly, unless the run moved to another kind of device,
        whose generators keep a different state: then they restart from seeds derived from the run's seed and step."""
        saved_on = state.get("rng_device", "cpu")  # runs saved before this key drew both streams on the CPU
        if saved_on == self.device.type:
            self.latent_rng.set_state(state["latent_rng"].cpu())
            if "augment_rng" in state:
                self.augment_rng.set_state(state["augment_rng"].cpu())
            return
        restart = (self.config.seed + 1) * 1_000_003 + self.step
        self.latent_rng.manual_seed(restart + LATENT_SEED)
        self.augment_rng.manual_seed(restart + AUGMENT_SEED)
        if self.parallel.is_main:
            tqdm.write(f"the run was saved on {saved_on} and continues on {self.device.type}: its latents and "
                       "augmentations continue from new seeds (the data order exactly)")  # fmt: skip


def _check_data(model_config: InfoGANConfig, config: TrainConfig, data: ImageData) -> None:
    if len(data) < config.batch_size:
        raise ValueError(f"the dataset has {len(data)} images, fewer than one batch of {config.batch_size}")
    expected = (model_config.channels, model_config.image_size, model_config.image_size)
    if tuple(data.images.shape[1:]) != expected:
        raise ValueError(f"data images have shape {tuple(data.images.shape[1:])}, the model needs {expected}")


def _check_processes(config: TrainConfig, parallel: Parallel, rows: slice) -> None:
    if rows.stop - rows.start < 2:
        raise ValueError(f"batch_size {config.batch_size} leaves fewer than 2 images per process "
                         f"({parallel.world_size} processes); batch norm needs at least 2")  # fmt: skip
    if config.cr_weight and parallel.world_size > 1:
        raise ValueError("--cr-weight (InfoGAN-CR) runs in one process only: its extra generator pass is not "
                         "synchronised across processes; drop it, or run without torchrun / accelerate "
                         "launch")  # fmt: skip
