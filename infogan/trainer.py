"""The training loop: alternating D/Q and G steps, logging, previews, atomic resumable checkpoints.

Run folder layout (`out_dir`):
    log.jsonl               one JSON object per logged step
    samples/                sample and traversal grids every `sample_every` steps (fixed seed: comparable)
    model/                  the latest checkpoint as a Hub-ready folder (config.json, model.safetensors, README.md)
    training_state.pt       weights + optimisers + RNG + data position: everything `--resume` needs

A checkpoint never leaves a mixed or half-written folder: model/ is written as .model.tmp/ and swapped in with two
renames (a crash between them leaves .model.old/, which the next start puts back), and training_state.pt is
written as .training_state.pt.tmp and renamed. Leftover temp files are removed when a Trainer starts.
"""

from __future__ import annotations

import errno
import json
import math
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .config import InfoGANConfig
from .data import DATASETS, ImageData
from .devices import describe_hardware, resolve_device
from .evaluate import categorical_metrics
from .losses import d_loss, g_loss, info_loss
from .model import InfoGAN
from .model_card import write_preview_images

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
    seed: int = 0
    device: str = "auto"
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
        for name in ("lr_g", "lr_d", "lambda_categorical", "lambda_continuous"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
        if self.continuous_std is not None and not (
            isinstance(self.continuous_std, (int, float)) and 0.01 <= self.continuous_std <= 10
        ):
            raise ValueError(f"continuous_std must be None or a number in [0.01, 10], got {self.continuous_std!r}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("Adam betas must lie in [0, 1)")

    @property
    def checkpoint_interval(self) -> int:
        """Steps between checkpoints: `checkpoint_every`, or by default min(500, steps // 4)."""
        if self.checkpoint_every is not None:
            return self.checkpoint_every
        return max(1, min(500, self.steps // 4))


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
        prepare_run_folder(self.out_dir)
        self.device = resolve_device(config.device)
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
        else:  # a fresh start: a log from an earlier run that never checkpointed is kept aside, not appended to
            rotate_old_log(self.out_dir)

    # ---- one optimisation step ----------------------------------------------------------------------------------

    def next_batch(self) -> torch.Tensor:
        """The next batch in a seeded permutation; a new permutation each epoch (the tail batch is dropped)."""
        b = self.config.batch_size
        if self.position + b > len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.data_rng)
            self.position = 0
        idx = self.order[self.position : self.position + b].to(self.device)
        self.position += b
        return self.images[idx].float().div_(255)  # (B, C, H, W) in [0, 1]

    def train_step(self, real: torch.Tensor) -> dict[str, float]:
        m, spec, cfg = self.model, self.model.config.latent, self.config
        lambdas = dict(lambda_categorical=cfg.lambda_categorical, lambda_continuous=cfg.lambda_continuous,
                       continuous_std=cfg.continuous_std)  # fmt: skip
        codes = {k: v.to(self.device) for k, v in spec.sample(len(real), generator=self.latent_rng).items()}
        fake = m.generator(spec.to_generator_input(codes))  # (B, C, H, W)

        # -- discriminator side: D learns real vs fake; Q (and the trunk under it) learns to read the codes back
        _set_requires_grad(self.d_params, True)
        fake_features = m.trunk(fake.detach())
        loss_d = d_loss(m.d_head(m.trunk(real)), m.d_head(fake_features))
        info_d, _ = info_loss(spec, m.q_head(fake_features), codes, **lambdas)
        self.opt_d.zero_grad(set_to_none=True)
        (loss_d + info_d).backward()
        self.opt_d.step()

        # -- generator: fool D and make the codes recoverable; D-side weights are frozen (no wasted grads)
        _set_requires_grad(self.d_params, False)
        features = m.trunk(fake)
        loss_g = g_loss(m.d_head(features))
        info_g, information = info_loss(spec, m.q_head(features), codes, **lambdas)
        self.opt_g.zero_grad(set_to_none=True)
        (loss_g + info_g).backward()
        self.opt_g.step()

        stats = {"d_loss": loss_d.item(), "g_loss": loss_g.item(), "info_loss": info_g.item()}
        if not all(math.isfinite(v) for v in stats.values()):
            raise TrainingDivergedError(
                f"non-finite loss at step {self.step + 1}: {stats}. The last good checkpoint is in {self.out_dir} "
                f"(step {self._saved_step()}); resume it with --resume, e.g. with lower learning rates or λ."
            )
        stats.update({f"info/{k}": v for k, v in information.items()})
        return stats

    # ---- the loop -----------------------------------------------------------------------------------------------

    def train(self) -> InfoGAN:
        """Train until `config.steps`, writing logs, previews and checkpoints; returns the trained model."""
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "samples").mkdir(exist_ok=True)
        window: dict[str, float] = {}
        window_steps, window_start = 0, time.perf_counter()
        bar = tqdm(total=cfg.steps, initial=self.step, desc="training", unit="step", dynamic_ncols=True)
        with (self.out_dir / LOG_FILE).open("a", encoding="utf-8") as log:
            while self.step < cfg.steps:
                t0 = time.perf_counter()
                stats = self.train_step(self.next_batch())
                self.elapsed += time.perf_counter() - t0
                self.step += 1
                for k, v in stats.items():
                    window[k] = window.get(k, 0.0) + v
                window_steps += 1
                bar.update(1)
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
                    window, window_steps, window_start = {}, 0, time.perf_counter()
                if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                    self.write_previews()
                if self.step % cfg.checkpoint_interval == 0 or self.step == cfg.steps:
                    self.evaluate_on_labels(log)
                    self.save_checkpoint()
        bar.close()
        _set_requires_grad(self.d_params, True)  # leave the model as a normal module, not mid-G-step
        return self.model

    @property
    def images_seen(self) -> int:
        return self.step * self.config.batch_size

    def write_previews(self) -> None:
        write_preview_images(self.model, self.out_dir / "samples", suffix=f"_step_{self.step:07d}")

    def evaluate_on_labels(self, log: Any) -> None:
        """Test-set accuracy/NMI of the categorical codes, for monitoring only (labels never reach a network)."""
        if self.eval_data is None or self.eval_data.labels is None or not self.model.config.latent.categorical:
            return
        names = DATASETS[self.config.dataset].class_names
        self.last_metrics = categorical_metrics(self.model, self.eval_data, names)
        brief = {k: {"accuracy": v["accuracy"], "nmi": v["nmi"]} for k, v in self.last_metrics.items()}
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
            "batch_size": cfg.batch_size,
            "lr_g": cfg.lr_g,
            "lr_d": cfg.lr_d,
            "lambda_categorical": cfg.lambda_categorical,
            "lambda_continuous": cfg.lambda_continuous,
            "continuous_std": cfg.continuous_std if cfg.continuous_std is not None else "learned",
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
            self.model.save_pretrained(tmp)
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
        free = {"steps", "log_every", "sample_every", "checkpoint_every", "device", "code_notes"}
        current = asdict(self.config)
        changed = sorted(k for k in current.keys() - free if saved_train.get(k) != current[k])
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
        self.order, self.position = state["order"].cpu(), state["position"]
        self.step, self.elapsed = state["step"], state["elapsed"]
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
