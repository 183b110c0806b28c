"""The run folder: checkpoints written so that a crash never leaves a mixed or half-written one, resume, the log.

Layout (`out_dir`):
    log.jsonl               one JSON object per logged step (log.N.jsonl: logs of earlier starts that never
                            checkpointed)
    samples/                sample and traversal grids every `sample_every` steps (fixed seed: comparable)
    model/                  the latest checkpoint as a Hub-ready folder (config.json, model.safetensors, README.md)
    training_state.pt       weights + optimisers + RNG + data position: everything `--resume` needs

model/ is written as .model.tmp/ and swapped in with two renames (a crash between them leaves .model.old/, which
the next start puts back), and training_state.pt is written as .training_state.pt.tmp and renamed. Leftover temp
files are removed when a run starts. Under several processes, process 0 alone writes here.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..model import InfoGAN

STATE_FILE = "training_state.pt"
MODEL_DIR = "model"
LOG_FILE = "log.jsonl"
SAMPLES_DIR = "samples"
# Temp names a crash can leave behind: the model folder being written, the one being replaced, the resume state.
MODEL_TMP, MODEL_OLD, STATE_TMP = f".{MODEL_DIR}.tmp", f".{MODEL_DIR}.old", f".{STATE_FILE}.tmp"


class RunFolder:
    """One run's folder on disk: where its log, previews, exported model and resume state go."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def samples(self) -> Path:
        return self.path / SAMPLES_DIR

    @property
    def log(self) -> Path:
        return self.path / LOG_FILE

    def has_state(self) -> bool:
        return (self.path / STATE_FILE).exists()

    def prepare(self) -> None:
        """Create the folder (one clear error when it cannot be written) and tidy what a crash left: restore model/
        from an interrupted swap, delete half-written temp files."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            reason = "no space left on the device" if err.errno == errno.ENOSPC else (err.strerror or str(err))
            raise ValueError(
                f"cannot write to --out {self.path} ({reason}); choose a folder you can write to"
            ) from None
        model, old = self.path / MODEL_DIR, self.path / MODEL_OLD
        if old.is_dir() and not model.exists():  # killed between the two renames of a checkpoint swap
            old.rename(model)
            tqdm.write(f"restored {model} from an interrupted checkpoint swap")
        for leftover in (self.path / MODEL_TMP, old, self.path / STATE_TMP):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def rotate_old_log(self) -> Path | None:
        """Move the log of an earlier start that never checkpointed to log.N.jsonl (the first free N); returns it."""
        if not self.log.exists():
            return None
        n = 1
        while (self.path / f"log.{n}.jsonl").exists():
            n += 1
        kept = self.path / f"log.{n}.jsonl"
        self.log.rename(kept)
        tqdm.write(f"{self.path} held a log but no checkpoint (an earlier run stopped before its first one): kept as "
                   f"{kept.name}; this run starts a new {LOG_FILE}")  # fmt: skip
        return kept

    def truncate_log(self, step: int) -> None:
        """Drop log lines written after `step` (the checkpoint resumed from): those steps are about to be redone."""
        if self.log.exists():
            kept = [line for line in self.log.read_text(encoding="utf-8").splitlines(keepends=True)
                    if _logged_step(line) <= step]  # fmt: skip
            self.log.write_text("".join(kept), encoding="utf-8")

    def write_checkpoint(self, exported: InfoGAN, make_state: Callable[[], dict[str, Any]], step: int) -> None:
        """The Hub folder, then the resume state (`make_state()`, built once the folder is written); each atomic. A
        failure leaves the previous checkpoint intact and raises one OSError that names it."""
        try:
            self._write_model_folder(exported)
            self._write_state(make_state())
        except OSError as err:  # disk full, permissions, a vanished drive
            raise OSError(
                f"could not write the step-{step} checkpoint in {self.path} ({err.strerror or err}); the previous "
                f"checkpoint (step {self.saved_step()}) is intact — free some space or fix the folder's permissions, "
                "then continue with --resume"
            ) from None

    def _write_model_folder(self, exported: InfoGAN) -> None:
        """Write model/ as .model.tmp/, then swap it in: readers see the old folder or the new one, never a mix."""
        tmp, old, final = self.path / MODEL_TMP, self.path / MODEL_OLD, self.path / MODEL_DIR
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            exported.save_pretrained(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            final.rename(old)
        tmp.rename(final)  # a crash right before this leaves .model.old/, restored by prepare()
        shutil.rmtree(old, ignore_errors=True)

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.path / STATE_TMP
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.path / STATE_FILE)
        finally:
            tmp.unlink(missing_ok=True)  # a failed write (disk full) leaves no partial 40 MB temp file

    def read_state(self, device: torch.device) -> dict[str, Any]:
        """The resume state, its tensors on `device`; one clear error when it is missing or unreadable."""
        path = self.path / STATE_FILE
        if not path.exists():
            raise FileNotFoundError(f"--resume: no {STATE_FILE} in {self.path}; start without --resume")
        # Our own local training state (optimiser moments, RNG); weights_only=True never unpickles arbitrary code.
        try:
            return torch.load(path, weights_only=True, map_location=device)
        except Exception as err:
            raise ValueError(
                f"--resume: {path} is unreadable or from another version ({type(err).__name__}: {err}); "
                "start a new run in another --out folder"
            ) from None

    def saved_step(self) -> int | str:
        """The step of the last complete checkpoint, for messages ("none yet" before the first)."""
        path = self.path / STATE_FILE
        try:
            return torch.load(path, weights_only=True)["step"] if path.exists() else "none yet"
        except Exception:  # only used in error messages: never mask the error being reported
            return "unknown"


def _logged_step(line: str) -> float:
    """The step a log line records; a line cut short by a kill or a full disk counts as after every checkpoint
    (dropped), so it cannot block --resume."""
    try:
        return json.loads(line).get("step", 0)
    except ValueError:
        return float("inf")
