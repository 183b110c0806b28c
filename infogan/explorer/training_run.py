"""One live training run as a generator of progress events: the part of the Train tab that does the GPU work.

`run_training(plan)` trains in a thread of its own and yields `RunEvent`s (log records, a preview image every few
seconds, the finished model's name). Everything it takes and yields is plain, picklable data, because on a ZeroGPU
Space `spaces.GPU` runs it in a forked worker process that holds the GPU slice (`run_on_gpu`), and only what is
yielded comes back. For the same reason a stop request is a file (the worker sees it; a flag in the parent's memory
it would not).

Folders, all under the app's own folder: the run trains in `plan.run_dir` (the Trainer's run folders), the finished
model is written to `plan.run_dir/publish/` and then renamed into `plan.models_dir/<name>/` in one step, so a model
folder appears complete or not at all; a stopped or failed run leaves nothing in `models_dir`.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from ..data import ImageData, load_dataset
from ..export.visualize import labelled_traversal
from ..latent import CategoricalCode
from ..presets import load_preset

PREVIEW_SEED = 0  # fixed noise: every preview of a run shows the same rows, so frames compare
PREVIEW_ROWS = 5
PREVIEW_EVERY_S = 3.0  # at least this long between previews ...
PREVIEW_SHARE = 0.1  # ... and long enough that drawing them takes at most this share of the run
GPU_DURATION_S = 240  # the GPU time asked of a ZeroGPU Space per run; runs there are capped a little below it

# Events a run yields; the last one is always "done", "stopped" or "failed".
STATUS, LOG, DONE, STOPPED, FAILED = "status", "log", "done", "stopped", "failed"
FINAL_KINDS = (DONE, STOPPED, FAILED)


@dataclass(frozen=True)
class RunPlan:
    """Everything one run needs, as plain data (it is pickled into a ZeroGPU worker process)."""

    preset: str
    steps: int
    batch_size: int
    device: str
    data_dir: str
    run_dir: str  # the run's own working folder (removed when it ends)
    models_dir: str  # where the finished model is published
    wall_cap_s: float  # the run stops (and keeps nothing) when training has taken this long
    candidates: int = 1  # >1: label-free restarts as the preset's `candidates`; each trains `select_at` steps first
    select_at: int = 0
    log_every: int = 10
    seed: int = 0

    @property
    def total_steps(self) -> int:
        """Optimisation steps over the whole run: every candidate's start, then the chosen one's remainder."""
        return self.candidates * self.select_at + self.steps - self.select_at if self.candidates > 1 else self.steps

    @property
    def stop_file(self) -> Path:
        return Path(self.run_dir) / "STOP"


@dataclass(frozen=True)
class RunEvent:
    """Progress of a run. `record` is a trainer log record (losses, `information_nats`, `step`) plus `progress`, the
    step counted over the whole run (candidates included); `preview` a traversal of the categorical code."""

    kind: str
    progress: int = 0
    total: int = 0
    message: str = ""
    record: dict[str, Any] | None = None
    preview: Image.Image | None = None
    model_name: str | None = None
    model_dir: str | None = None


def run_training(plan: RunPlan) -> Iterator[RunEvent]:
    """Train `plan` in a thread and yield its events as they come; closing the generator early stops the run."""
    events: queue.Queue[RunEvent] = queue.Queue()
    worker = threading.Thread(target=_run, args=(plan, events.put), name="live-training", daemon=True)
    worker.start()
    try:
        while True:
            event = _next_event(events, worker)
            yield event
            if event.kind in FINAL_KINDS:
                break
    finally:
        if worker.is_alive():  # the consumer went away (a closed page): stop rather than train for nobody
            request_stop(plan)
            worker.join()


def _next_event(events: queue.Queue[RunEvent], worker: threading.Thread) -> RunEvent:
    """The run's next event; a FAILED one if its thread died without sending its final event (never hang)."""
    while True:
        try:
            return events.get(timeout=1.0)
        except queue.Empty:
            if not worker.is_alive() and events.empty():
                return RunEvent(FAILED, message="training failed: the run ended without a result (see the server log)")


def request_stop(plan: RunPlan) -> None:
    """Ask the run to stop before its next step (a file, so a run in another process sees it too)."""
    stop_file = plan.stop_file
    if stop_file.parent.is_dir():
        stop_file.touch()


def _gpu(function: Callable[..., Any]) -> Callable[..., Any]:
    """`spaces.GPU(duration=GPU_DURATION_S)` where the `spaces` package is installed (a no-op off ZeroGPU)."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(duration=GPU_DURATION_S)(function)


run_on_gpu = _gpu(run_training)


# ---- the run (in its own thread) -----------------------------------------------------------------------------------


def _run(plan: RunPlan, emit: Callable[[RunEvent], None]) -> None:
    """Train and publish; the working folder is removed before the one final event, which is always sent last."""
    progress = _Progress(plan, emit)
    total = plan.total_steps
    try:
        from ..training import TrainingStoppedError  # imported here: listing presets stays cheap

        emit(RunEvent(STATUS, 0, total, f"loading the {plan.preset} preset's data"))
        model = _train(plan, progress)
        preview = progress.render(model)  # before publishing: a failure here must not leave a listed model
        if plan.stop_file.exists():  # Stop pressed after the last step: the page was told nothing is kept
            raise TrainingStoppedError("stopped after the last step")
        emit(RunEvent(STATUS, total, total, "saving the model"))
        name, folder = _publish(plan, model)
        final = RunEvent(DONE, total, total, f"trained {name}", model_name=name, model_dir=str(folder),
                         preview=preview)  # fmt: skip
    except TrainingStoppedError:
        final = RunEvent(STOPPED, progress.done, total, progress.stop_reason())
    except Exception as err:  # one clear line for the page; the server log keeps the rest
        final = RunEvent(FAILED, progress.done, total, f"training failed: {err}")
    finally:
        shutil.rmtree(plan.run_dir, ignore_errors=True)
    emit(final)


class _Progress:
    """The hooks a Trainer calls: log records and previews out, stop requests and the wall-time cap in."""

    def __init__(self, plan: RunPlan, emit: Callable[[RunEvent], None]) -> None:
        self.plan, self.emit = plan, emit
        self.started = time.monotonic()
        self.offset, self.done, self.phase = 0, 0, ""
        self.next_preview = 0.0
        self.trainer: Any = None

    def follow(self, trainer: Any, offset: int, phase: str) -> None:
        """Report `trainer`'s steps as steps `offset + trainer.step` of the whole run."""
        self.trainer, self.offset, self.phase = trainer, offset, phase
        self.emit(RunEvent(STATUS, self.done, self.plan.total_steps, phase))

    def should_stop(self) -> bool:
        return self.plan.stop_file.exists() or self.elapsed() > self.plan.wall_cap_s

    def on_log(self, record: dict[str, Any]) -> None:
        self.done = self.offset + int(record["step"])
        record = {**record, "progress": self.done}
        preview = None
        if time.monotonic() >= self.next_preview:
            began = time.monotonic()
            preview = self.render(self.trainer.export_model())
            spent = time.monotonic() - began
            self.next_preview = time.monotonic() + max(PREVIEW_EVERY_S, spent / PREVIEW_SHARE)
        self.emit(RunEvent(LOG, self.done, self.plan.total_steps, self.phase, record=record, preview=preview))

    def render(self, model: Any) -> Image.Image:
        """The categorical code's traversal on fixed noise (the first code when the model has no categorical one)."""
        code = next((c for c in model.codes if isinstance(c, CategoricalCode)), model.codes[0])
        note = f"step {self.done:,} of {self.plan.total_steps:,}"
        return labelled_traversal(model, code.name, seed=PREVIEW_SEED, rows=PREVIEW_ROWS, note=note, target=640)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop_reason(self) -> str:
        where = f"at step {self.done:,} of {self.plan.total_steps:,}; nothing was kept"
        if self.plan.stop_file.exists():
            return f"stopped {where}"
        return (f"stopped by the wall-time cap ({self.plan.wall_cap_s:g} s) {where}: choose fewer steps to finish "
                "within it")  # fmt: skip


def _train(plan: RunPlan, progress: _Progress) -> Any:
    """Train the plan: one run, or label-free restarts when the plan has candidates. Returns the model to publish."""
    from ..training import TrainConfig, Trainer, train_with_selection

    preset = load_preset(plan.preset)
    known = {f.name for f in fields(TrainConfig)}
    base = TrainConfig(**{k: v for k, v in preset.training.items() if k in known})
    # One checkpoint (with the test-set evaluation) at the very end, samples never: the live preview replaces them.
    config = replace(base, steps=plan.steps, batch_size=plan.batch_size, device=plan.device, seed=plan.seed,
                     log_every=plan.log_every, sample_every=plan.steps, checkpoint_every=plan.steps,
                     candidates=plan.candidates, select_at=plan.select_at or None)  # fmt: skip
    data = cached_dataset(config.dataset, plan.data_dir, preset.model, "train")
    eval_data = _optional_test_split(config.dataset, plan.data_dir, preset.model)
    hooks = {"on_log": progress.on_log, "should_stop": progress.should_stop}
    run_dir = Path(plan.run_dir)
    if plan.candidates < 2:
        trainer = Trainer(preset.model, config, data, run_dir / "run", eval_data=eval_data)
        progress.follow(trainer, 0, f"training {plan.preset} on {trainer.device}")
        return trainer.train(**hooks)
    # Label-free restarts exactly as `train.py --candidates` runs them, reported as one run of total_steps steps.
    model, _ = train_with_selection(preset.model, config, data, run_dir, eval_data=eval_data,
                                    on_phase=progress.follow, **hooks)  # fmt: skip
    return model


def _publish(plan: RunPlan, model: Any) -> tuple[str, Path]:
    """Write the model beside the run, then rename it into models_dir under a fresh `my-<preset>-HHMM` name."""
    staged = Path(plan.run_dir) / "publish"
    model.save_pretrained(staged)
    models = Path(plan.models_dir)
    models.mkdir(parents=True, exist_ok=True)
    stem = f"my-{plan.preset}-{datetime.now():%H%M}"
    for n in range(1, 1000):
        name = stem if n == 1 else f"{stem}-{n}"
        if (models / name).exists():
            continue
        try:
            os.rename(staged, models / name)  # atomic: a folder in models_dir is complete or absent
        except OSError:  # taken meanwhile (another process): try the next name
            continue
        return name, models / name
    raise OSError(f"no free model name {stem}-N in {models}; delete some models there")


# ---- data, loaded once per process ---------------------------------------------------------------------------------

_DATA: dict[tuple[str, str, str], ImageData] = {}
_DATA_LOCK = threading.Lock()


def cached_dataset(dataset: str, data_dir: str, model_config: Any, split: str) -> ImageData:
    """`load_dataset` once per (dataset, folder, split) and process: a second run starts without reloading."""
    key = (dataset, data_dir, split)
    with _DATA_LOCK:
        if key not in _DATA:
            if len(_DATA) >= 4:  # two datasets' splits at most: MNIST-sized sets are ~50 MB each
                _DATA.pop(next(iter(_DATA)))
            _DATA[key] = load_dataset(dataset, data_dir, model_config.image_size, model_config.channels, split)
        return _DATA[key]


def _optional_test_split(dataset: str, data_dir: str, model_config: Any) -> ImageData | None:
    """The labelled test split, for the accuracy in the model card; a run without one still trains."""
    try:
        data = cached_dataset(dataset, data_dir, model_config, "test")
    except (FileNotFoundError, ValueError):
        return None
    return data if data.labels is not None else None
