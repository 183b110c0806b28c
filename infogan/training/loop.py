"""The training loop: the schedule of steps, the log, previews, evaluation, checkpoints and the caller's hooks.

Steps run back to back without reading anything from the device. The loop reads the summed step statistics once
at each point where it has host work to do (a log line, previews, an evaluation, a checkpoint): that single read
is where it waits for the device, and where a non-finite loss of any step since the previous read stops the run
before anything is written from a diverged model.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

from ..data import DATASETS
from ..export.model_card import write_preview_images
from ..metrics.evaluate import categorical_information, categorical_metrics
from .distributed import Parallel

if TYPE_CHECKING:
    from ..model import InfoGAN
    from .trainer import Trainer


class TrainingStoppedError(RuntimeError):
    """`train(should_stop=...)` asked the run to stop before `config.steps`: the run folder keeps its last checkpoint
    (resumable), and no model is returned, so a caller cannot mistake a half-trained model for a finished one."""


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


class StatsWindow:
    """Sums of the step statistics since the last log line, kept on the device and read to the host on demand.

    Sums in float64, as the Python floats they replace, so the logged means are the same to the last digit. A sum
    is non-finite exactly when some step's value was, so checking the sums checks every step since the last reset.
    """

    def __init__(self, names: tuple[str, ...], device: torch.device) -> None:
        self.names = names
        dtype = torch.float32 if device.type == "mps" else torch.float64
        self.sums = torch.zeros(len(names), dtype=dtype, device=device)
        self.steps, self.started = 0, time.perf_counter()

    def add(self, stats: torch.Tensor) -> None:
        self.sums.add_(stats)  # on the device: no wait
        self.steps += 1

    def read(self, parallel: Parallel) -> dict[str, float]:
        """The sums, averaged over processes (a collective: every process calls it at the same step)."""
        return dict(zip(self.names, parallel.mean(self.sums).tolist(), strict=True))  # the one host read

    def reset(self) -> None:
        self.sums.zero_()
        self.steps, self.started = 0, time.perf_counter()


def run(
    trainer: Trainer,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> InfoGAN:
    """Train `trainer` to its config's steps (see `Trainer.train`); returns its model."""
    cfg, main = trainer.config, trainer.parallel.is_main  # process 0 alone writes the run folder
    if main:
        trainer.run_folder.samples.mkdir(parents=True, exist_ok=True)
    window = StatsWindow(trainer.optimisation_step.names, trainer.device)
    checked = trainer.step  # every step up to this one had finite statistics
    bar = tqdm(total=cfg.steps, initial=trainer.step, desc="training", unit="step", dynamic_ncols=True,
               disable=not main)  # fmt: skip
    opened = trainer.run_folder.log.open("a", encoding="utf-8") if main else contextlib.nullcontext()
    with opened as log, contextlib.closing(bar):
        clock = time.perf_counter()
        while trainer.step < cfg.steps:
            if should_stop is not None and should_stop():
                raise TrainingStoppedError(f"stopped at step {trainer.step} of {cfg.steps}")
            window.add(trainer.optimisation_step(trainer.next_batch()))
            trainer.step += 1
            bar.update(1)
            due = _due(trainer.step, cfg.steps, cfg.log_every, cfg.sample_every, cfg.checkpoint_interval)
            if not due:
                continue
            sums = window.read(trainer.parallel)  # waits for the device: the optimisation time ends here
            trainer.elapsed += time.perf_counter() - clock
            _stop_if_diverged(trainer, sums, first_unchecked=checked + 1)
            checked = trainer.step
            if "log" in due:
                record = _record(trainer, sums, window)
                if main:
                    _write_log(log, bar, record, on_log)
                window.reset()
            if main:
                _host_work(trainer, due, log)
            clock = time.perf_counter()
    trainer.parallel.wait_for_everyone()  # no process exits while process 0 still writes the last checkpoint
    return trainer.model


def _due(step: int, last: int, log_every: int, sample_every: int, checkpoint_every: int) -> set[str]:
    """What the loop does after `step`: the log line, previews and the checkpoint (with evaluation), all at the end."""
    schedule = {"log": log_every, "previews": sample_every, "checkpoint": checkpoint_every}
    return {work for work, every in schedule.items() if step % every == 0 or step == last}


def _stop_if_diverged(trainer: Trainer, sums: dict[str, float], first_unchecked: int) -> None:
    """Raise TrainingDivergedError (on every process) when a step since `first_unchecked` had a non-finite statistic.

    The window's sums cover every step since the last log line; the steps before `first_unchecked` were found
    finite at an earlier read, so a non-finite sum now names the steps since then."""
    if all(math.isfinite(v) for v in sums.values()):
        return
    bad = sorted(k for k, v in sums.items() if not math.isfinite(v))
    last = trainer.step
    when = f"at step {last}" if first_unchecked == last else f"in steps {first_unchecked}–{last}"
    saved = trainer.run_folder.saved_step()
    if isinstance(saved, int):
        advice = (f"The last good checkpoint is in {trainer.out_dir} (step {saved}); resume it with --resume, e.g. "
                  "with lower learning rates or λ.")  # fmt: skip
    else:  # nothing to resume from: say so rather than point at a --resume that would fail
        advice = "No checkpoint was written yet: start again with lower learning rates or λ."
    raise TrainingDivergedError(f"non-finite loss {when} ({', '.join(bad)}). {advice}")


def _record(trainer: Trainer, sums: dict[str, float], window: StatsWindow) -> dict[str, Any]:
    """The log line: each statistic's mean over the window, then step, epoch, speed and the information total."""
    seconds = time.perf_counter() - window.started
    record: dict[str, Any] = {k: round(v / window.steps, 5) for k, v in sums.items()}
    info_total = sum(v for k, v in record.items() if k.startswith("info/"))
    record.update(step=trainer.step, epoch=round(trainer.images_seen / len(trainer.images), 3),
                  images_per_s=round(window.steps * trainer.config.batch_size / seconds, 1),
                  information_nats=round(info_total, 4))  # fmt: skip
    return record


def _write_log(log: IO[str], bar: tqdm, record: dict[str, Any], on_log: Callable | None) -> None:
    log.write(json.dumps(record) + "\n")
    log.flush()
    bar.set_postfix(d=record["d_loss"], g=record["g_loss"], info=record["information_nats"])
    if on_log is not None:
        on_log(record)


def _host_work(trainer: Trainer, due: set[str], log: IO[str]) -> None:
    """Process 0's previews, evaluation and checkpoint for this step."""
    if "previews" in due:
        write_previews(trainer)
    if "checkpoint" in due:
        evaluate_on_labels(trainer, log)
        trainer.save_checkpoint()


def write_previews(trainer: Trainer) -> None:
    """Sample and traversal grids of the model as it would be saved now, named by step."""
    write_preview_images(trainer.export_model(), trainer.run_folder.samples, suffix=f"_step_{trainer.step:07d}")


def evaluate_on_labels(trainer: Trainer, log: IO[str]) -> None:
    """Test-set accuracy/NMI of the categorical codes, for monitoring only (labels never reach a network)."""
    model: InfoGAN = trainer.model
    if trainer.eval_data is None or trainer.eval_data.labels is None or not model.config.latent.categorical:
        return
    names = DATASETS[trainer.config.dataset].class_names
    trainer.last_metrics = categorical_metrics(model, trainer.eval_data, names)
    # The label-free counterpart: how much Q's categories say about real images, I(c; x) under Q. Logged next to
    # accuracy so that a selection rule can be checked against the labelled figure.
    information = categorical_information(model, trainer.eval_data.images)
    brief = {k: {"accuracy": v["accuracy"], "nmi": v["nmi"], "real_information_nats": information[k]}
             for k, v in trainer.last_metrics.items()}  # fmt: skip
    log.write(json.dumps({"step": trainer.step, "eval": brief}) + "\n")
    log.flush()
    tqdm.write(f"step {trainer.step}: test-set {brief}")
