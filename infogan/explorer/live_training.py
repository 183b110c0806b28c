"""The Train tab's backend: one live training at a time per server, its progress, and the models it produced.

    live = LiveTraining(Path("live"))          # the app's own folder: everything this writes stays under it
    for snapshot in live.stream("mnist", None):  # a Gradio generator callback: preview, losses, progress
        ...
    live.finished_models()                     # [("my-mnist-1412", Path("live/models/my-mnist-1412")), ...]

A shared server stays safe: a second `start`/`stream` while one runs raises TrainingBusyError ("busy, try again");
presets and step counts are checked before anything starts; a wall-time cap stops runs that would take too long; at
most `max_kept` trained models are kept (the oldest go); and a run that is stopped or fails publishes nothing (see
infogan.explorer.training_run: models appear by one atomic rename).

On a ZeroGPU Space call `stream()` from the Gradio callback: its GPU work is decorated with `spaces.GPU`, which needs
the visitor's request. `start()` trains in a background thread (fine on a CPU or a dedicated GPU, not on ZeroGPU)
and `snapshot()` reads the progress from anywhere, e.g. for a second visitor's page.

Folder layout under `root`: `models/<name>/` (finished, Hub format), `runs/<id>/` (the run in progress, removed when
it ends), `zips/<name>.zip` (downloads), `data/` (the default data folder; torchvision downloads MNIST there when the
server is online).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

from .training_run import (
    DONE,
    FAILED,
    FINAL_KINDS,
    GPU_DURATION_S,
    LOG,
    STOPPED,
    RunEvent,
    RunPlan,
    request_stop,
    run_on_gpu,
    run_training,
)

MIN_STEPS = 10
# Presets the Train tab offers, and the default run length on a CPU (None: GPU only). On a GPU a run is the preset's
# own recipe, restarts included. 800 mnist steps, measured on this project's 2-vCPU Xeon with one torch thread (the
# app's limits.THREADS): 167 s of CPU time for the whole run (data, ~520 images/s of training, previews, test-set
# evaluation, saving), so under 3 minutes on a core of its own; most categories already draw one digit (58.3 % test
# accuracy, seed 0; 1,200 steps: 78.1 %, 1,600: 88.9 %).
CPU_STEPS: dict[str, int | None] = {"mnist": 800, "fashion-mnist": None}
CPU_WALL_CAP_S = 300.0
GPU_WALL_CAP_S = 600.0
ZERO_GPU_MARGIN_S = 20.0  # stop (cleanly) this long before ZeroGPU would end the GPU call
GPU_LOG_EVERY = 50  # a log record is a host read: rarer on a GPU, where steps are fast
STREAM_EVERY_S = 2.0  # stream() yields at least this often while only numbers change (new previews: at once)


class TrainingBusyError(RuntimeError):
    """Another training is running on this server; the message says so ("busy, try again")."""


@dataclass(frozen=True)
class LiveSnapshot:
    """Where the live training stands. `history` holds the trainer's log records (d_loss, g_loss, info_loss,
    information_nats, ...), each with `progress`: its step counted over the whole run, the x axis for a plot."""

    state: str = "idle"  # "idle" | "running" | "done" | "stopped" | "failed"
    step: int = 0
    total: int = 0
    history: tuple[dict[str, Any], ...] = ()
    preview: Image.Image | None = None
    message: str = ""
    preset: str | None = None
    device: str | None = None
    model_name: str | None = None  # when done
    model_dir: Path | None = None


class LiveTraining:
    """One training at a time per server process, thread-safe; everything it writes stays under `root`."""

    def __init__(
        self,
        root: str | Path,
        data_dir: str | Path | None = None,
        max_kept: int = 3,
        wall_cap_s: float | None = None,
        batch_size: int | None = None,
        device: str = "auto",
    ) -> None:
        """`data_dir`: where datasets are read (default root/data); `wall_cap_s`: None = 5 min on a CPU, 10 min on
        a GPU; `batch_size`: None = the preset's (tests and small servers pass a smaller one)."""
        if isinstance(max_kept, bool) or not isinstance(max_kept, int) or max_kept < 1:
            raise ValueError(f"max_kept must be a positive integer (trained models kept), got {max_kept!r}")
        if wall_cap_s is not None and not (isinstance(wall_cap_s, (int, float)) and wall_cap_s > 0):
            raise ValueError(f"wall_cap_s must be a positive number of seconds, got {wall_cap_s!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 2):  # fmt: skip
            raise ValueError(f"batch_size must be an integer ≥ 2 or None (the preset's), got {batch_size!r}")
        self.root = Path(root).resolve()
        claim_folder(self.root)  # before anything below deletes or prunes in it
        self.models_dir, self.runs_dir, self.zips_dir = self.root / "models", self.root / "runs", self.root / "zips"
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else self.root / "data"
        self.max_kept, self.batch_size = max_kept, batch_size
        self.device = training_device(device)
        self.wall_cap_s = wall_cap_s or (CPU_WALL_CAP_S if self.device == "cpu" else GPU_WALL_CAP_S)
        for folder in (self.models_dir, self.runs_dir, self.zips_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if data_dir is None:
            self.data_dir.mkdir(exist_ok=True)
        shutil.rmtree(self.runs_dir, ignore_errors=True)  # runs a crashed server left: never published, never kept
        self.runs_dir.mkdir()
        self._lock = threading.Lock()
        self._plan: RunPlan | None = None
        self._snapshot = LiveSnapshot(device=self.device)

    # ---- choices ---------------------------------------------------------------------------------------------------

    def trainable_presets(self) -> list[str]:
        """The presets this server's hardware can train live (mnist first: the default)."""
        return trainable_presets(self.device)

    def default_steps(self, preset: str) -> int:
        """The run length when the visitor gives none: measured to fit on a CPU, the preset's own on a GPU."""
        return default_steps(preset, self.device)

    # ---- runs ------------------------------------------------------------------------------------------------------

    def start(self, preset: str, steps: int | None = None) -> None:
        """Start training in a background thread (not on ZeroGPU: use stream()); follow it with snapshot()."""
        plan = self._claim(preset, steps)
        threading.Thread(target=self._follow_in_background, args=(plan,), name="live-training", daemon=True).start()

    def stream(self, preset: str, steps: int | None = None) -> Iterator[LiveSnapshot]:
        """Train in this call (on ZeroGPU: in the GPU worker) and yield snapshots every few seconds; the last one is
        done, stopped or failed. Abandoning the generator (a closed page) stops the run."""
        plan = self._claim(preset, steps)
        events = run_on_gpu(plan) if self.device != "cpu" else run_training(plan)
        last_yield = 0.0
        try:
            for event in events:
                snapshot = self._apply(plan, event)
                if event.kind in FINAL_KINDS or event.preview is not None or time.monotonic() - last_yield > (
                        STREAM_EVERY_S):  # fmt: skip
                    last_yield = time.monotonic()
                    yield snapshot
        finally:
            if self.snapshot().state == "running":  # the consumer left mid-run: stop it (in a ZeroGPU worker too)
                request_stop(plan)
            events.close()  # in this process: waits for the run's thread to finish and clean up
            self._release(plan)

    def stop(self) -> bool:
        """Ask the running training to stop before its next step (it then keeps nothing); False when none runs."""
        with self._lock:
            if self._plan is None:
                return False
            request_stop(self._plan)
            return True

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            return self._snapshot

    def _claim(self, preset: str, steps: int | None) -> RunPlan:
        """Validate the request, then take the server's one training slot (TrainingBusyError when taken)."""
        plan = self._plan_for(preset, steps)
        with self._lock:
            if self._plan is not None:
                now = self._snapshot
                raise TrainingBusyError(f"busy, try again: another visitor is training {now.preset} (step "
                                        f"{now.step:,} of {now.total:,}); one training runs at a time")  # fmt: skip
            Path(plan.run_dir).mkdir(parents=True)
            self._plan = plan
            self._snapshot = LiveSnapshot("running", 0, plan.total_steps, message="starting", preset=preset,
                                          device=self.device)  # fmt: skip
        return plan

    def _plan_for(self, preset: str, steps: int | None) -> RunPlan:
        choices = self.trainable_presets()
        if preset not in choices:
            raise ValueError(f"preset {preset!r} cannot be trained live on this server ({self.device}); choose one "
                             f"of {choices}")  # fmt: skip
        if not self.data_dir.is_dir():
            raise FileNotFoundError(f"the training data folder {self.data_dir} does not exist: create it and put the "
                                    "dataset there in torchvision's layout (e.g. MNIST/raw/), or point the app to the "
                                    "folder that holds it")  # fmt: skip
        return make_plan(preset, steps, self.device, batch_size=self.batch_size, data_dir=self.data_dir,
                         run_dir=self.runs_dir / uuid.uuid4().hex, models_dir=self.models_dir,
                         wall_cap_s=self.wall_cap_s)  # fmt: skip

    def _follow_in_background(self, plan: RunPlan) -> None:
        try:
            for event in run_training(plan):
                self._apply(plan, event)
        finally:
            self._release(plan)

    def _apply(self, plan: RunPlan, event: RunEvent) -> LiveSnapshot:
        """Fold one event into the snapshot; a finished model also triggers the max_kept clean-up."""
        if event.kind == DONE:
            self._prune()
        with self._lock:
            now = self._snapshot
            state = {DONE: "done", STOPPED: "stopped", FAILED: "failed"}.get(event.kind, "running")
            history = (*now.history, event.record) if event.kind == LOG and event.record else now.history
            self._snapshot = replace(now, state=state, step=event.progress, total=event.total, history=history,
                                     preview=event.preview or now.preview, message=event.message or now.message,
                                     model_name=event.model_name,
                                     model_dir=Path(event.model_dir) if event.model_dir else None)  # fmt: skip
            if event.kind in FINAL_KINDS and self._plan is plan:  # the run has cleaned up: the slot is free now
                self._plan = None
            return self._snapshot

    def _release(self, plan: RunPlan) -> None:
        """Free the slot; a run that ended without a final event (the consumer left) is reported as stopped."""
        with self._lock:
            if self._plan is plan:
                self._plan = None
                if self._snapshot.state == "running":
                    self._snapshot = replace(self._snapshot, state="stopped", message="stopped: nothing was kept")

    # ---- finished models -------------------------------------------------------------------------------------------

    def finished_models(self) -> list[tuple[str, Path]]:
        """(name, folder) of every trained model kept, newest first."""
        dated = []
        for folder in self.models_dir.iterdir():
            try:
                if (folder / "model.safetensors").is_file():
                    dated.append((folder.stat().st_mtime, folder))
            except OSError:  # removed (max_kept) while we looked
                continue
        return [(folder.name, folder) for _, folder in sorted(dated, reverse=True)]

    def zip_model(self, name: str) -> Path:
        """A zip of the model's Hub-format folder (config.json, model.safetensors, README.md, previews)."""
        models = dict(self.finished_models())
        if name not in models:
            raise ValueError(f"no trained model named {name!r}; choose one of {sorted(models)}")
        try:
            return self._zip(name, models[name])
        except FileNotFoundError:  # pruned while we zipped it
            raise ValueError(f"{name} was just removed: at most {self.max_kept} trained models are kept") from None

    def _zip(self, name: str, folder: Path) -> Path:
        """Zip `folder` as `name/...` into zips/ (temp file + rename); an up-to-date zip is reused."""
        target = self.zips_dir / f"{name}.zip"
        files = sorted(p for p in folder.iterdir() if p.is_file())
        if target.exists() and target.stat().st_mtime >= max(p.stat().st_mtime for p in files):
            return target
        partial = self.zips_dir / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in files:
                    archive.write(path, f"{name}/{path.name}")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def _prune(self) -> None:
        """Keep the newest `max_kept` models: older folders are moved out of models/ in one rename, then deleted."""
        for name, folder in self.finished_models()[self.max_kept :]:
            doomed = self.runs_dir / f"removed-{name}-{uuid.uuid4().hex[:8]}"
            folder.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            (self.zips_dir / f"{name}.zip").unlink(missing_ok=True)


# ---- the app's own folder ------------------------------------------------------------------------------------------

OWNER_MARK = ".infogan-live"  # written into a folder LiveTraining owns; only such a folder is ever cleaned or pruned


def claim_folder(root: Path) -> None:
    """Make `root` the Train tab's own folder, or refuse: a server start clears root/runs and prunes root/models,
    which must never touch a user's own training runs (`--train-dir .` beside train.py's runs/, say)."""
    mark = root / OWNER_MARK
    if mark.is_file():
        return
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ValueError(f"{root} is not empty and is not a Train tab folder (no {OWNER_MARK} in it): the Train tab "
                         "deletes unfinished runs and old models in its folder, so give it a new or empty one "
                         "(app.py --train-dir)")  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    mark.write_text("This folder belongs to the InfoGAN explorer's Train tab; it may delete what is in it.\n",
                    encoding="utf-8")  # fmt: skip


# ---- plans -----------------------------------------------------------------------------------------------------------


def training_device(name: str = "auto") -> str:
    """'cuda' on a ZeroGPU Space (its main process sees no GPU; the spaces.GPU worker does), else resolve_device."""
    if name == "auto" and os.environ.get("SPACES_ZERO_GPU"):
        return "cuda"
    from ..training import resolve_device

    return resolve_device(name).type


def trainable_presets(device: str) -> list[str]:
    """Presets offered on `device`: all of CPU_STEPS on a GPU, those with a CPU length on a CPU."""
    return [name for name, cpu_steps in CPU_STEPS.items() if device != "cpu" or cpu_steps is not None]


def default_steps(preset: str, device: str) -> int:
    """CPU_STEPS on a CPU; the preset's own `steps` on a GPU."""
    cpu_steps = CPU_STEPS.get(preset)
    if device == "cpu" and cpu_steps is not None:
        return cpu_steps
    from ..presets import load_preset

    return int(load_preset(preset).training["steps"])


def make_plan(preset: str, steps: int | None, device: str, **where: Any) -> RunPlan:
    """The run for `preset`: its recipe at `steps` (None: default_steps), restarts only at the full GPU length.

    `where` holds RunPlan's folders, batch_size (None: the preset's) and wall_cap_s. Bad steps raise ValueError."""
    from ..presets import load_preset

    training = load_preset(preset).training
    longest = int(training["steps"])
    if steps is None:
        steps = default_steps(preset, device)
    if isinstance(steps, bool) or not isinstance(steps, int) or not MIN_STEPS <= steps <= longest:
        raise ValueError(f"steps must be a whole number from {MIN_STEPS} to {longest:,} (the {preset} preset's "
                         f"full run), got {steps!r}")  # fmt: skip
    candidates, select_at = int(training.get("candidates", 1)), int(training.get("select_at", 0))
    if device == "cpu" or steps != longest:  # restarts pay off only over the full recipe (docs/training.md)
        candidates, select_at = 1, 0
    wall_cap_s = where.pop("wall_cap_s")
    if os.environ.get("SPACES_ZERO_GPU"):
        wall_cap_s = min(wall_cap_s, GPU_DURATION_S - ZERO_GPU_MARGIN_S)
    batch_size = where.pop("batch_size") or int(training["batch_size"])
    return RunPlan(preset=preset, steps=steps, batch_size=batch_size, device=device, candidates=candidates,
                   select_at=select_at, log_every=10 if device == "cpu" else GPU_LOG_EVERY, wall_cap_s=wall_cap_s,
                   **{k: str(v) for k, v in where.items()})  # fmt: skip
