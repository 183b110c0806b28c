"""The files the explorer writes: names that say what a picture shows, a bounded store of rendered files, and
a trimmer that bounds Gradio's cache by size."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from ..export.visualize import format_value, save_animation
from ..latent import CategoricalCode
from ..model import InfoGAN

log = logging.getLogger(__name__)


def download_stem(model_name: str, seed: int, codes: Mapping[str, Any], model: InfoGAN | None = None) -> str:
    """A file name stem that says what a picture is: `mnist_seed42_digit-7_slant+1.5_width0`."""
    parts = [model_name, f"seed{seed}"]
    for name, value in codes.items():
        code = model.config.latent.code(name) if model is not None else None
        if isinstance(code, CategoricalCode):
            value = code.label_of(code.index_of(value))
            parts.append(f"{name}-{value}")
        else:
            parts.append(f"{name}{format_value(float(value))}")
    stem = "_".join(parts)
    return "".join(ch if ch.isalnum() or ch in "+-._" else "-" for ch in stem)[:150]


class OutputStore:
    """Writes rendered files to one temporary folder under names that say what they show (downloads keep the name),
    one sub-folder per request so equal names never collide, keeping only the newest `keep` (bounded disk use).

    Give it a folder inside Gradio's cache (`root`): Gradio serves files from there as they are, instead of copying
    every returned image and GIF into its cache, so `keep` bounds the disk they use.
    """

    def __init__(self, keep: int = 64, root: str | Path | None = None) -> None:
        if root is not None:
            Path(root).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="infogan-explorer-", dir=root))
        self.keep = keep
        self._numbers = itertools.count(1)  # next() on a count is atomic under the GIL: unique names per request
        self._lock = threading.Lock()  # pruning must not race another request's pruning (concurrency > 1)

    def _slot(self, name: str) -> Path:
        slot = self.folder / f"{next(self._numbers):08d}"
        slot.mkdir()
        with self._lock:
            slots = sorted(self.folder.iterdir())
            for old in slots[: max(0, len(slots) - self.keep)]:
                shutil.rmtree(old, ignore_errors=True)
        return slot / name

    def save_animation(self, frames: Sequence[Image.Image], stem: str, suffix: str = ".gif") -> Path:
        return save_animation(frames, self._slot(stem + suffix), duration_ms=90)

    def save_image(self, image: Image.Image, stem: str) -> Path:
        path = self._slot(stem + ".png")
        image.save(path)
        return path


def trim_files(paths: Iterable[str | Path], max_bytes: int | None = None, max_files: int | None = None) -> list[Path]:
    """Delete the oldest of `paths` until at most `max_files` remain holding at most `max_bytes`; returns those
    deleted. Files that vanish meanwhile (another request or Gradio's own cleanup) are skipped."""
    files = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        files.append((info.st_mtime, info.st_size, str(path)))
    files.sort()
    total, deleted = sum(size for _, size, _ in files), []
    for _, size, path in files:
        over_count = max_files is not None and len(files) - len(deleted) > max_files
        over_size = max_bytes is not None and total > max_bytes
        if not (over_count or over_size):
            break
        Path(path).unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return [Path(p) for p in deleted]


def start_cache_trimmer(
    file_sets: Callable[[], Sequence[set[str]]], max_bytes: int, every_s: float = 60
) -> threading.Event:
    """Every `every_s` seconds (daemon thread), delete the oldest files of `file_sets()` beyond `max_bytes` in all,
    and forget them; set the returned event to stop. Gradio's `delete_cache` bounds its cache by age only; this
    bounds it by size too (a burst of requests)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_s):
            try:
                sets = list(file_sets())
                deleted = {str(p) for p in trim_files([f for s in sets for f in list(s)], max_bytes=max_bytes)}
                for files in sets:
                    files.difference_update(deleted)
            except Exception as err:  # never let housekeeping take the app down (e.g. a set changed size)
                log.warning("cache trimming failed: %s", err)

    threading.Thread(target=run, name="cache-trimmer", daemon=True).start()
    return stop
