"""The models the explorer serves: checkpoint discovery, Hub ids from flags and the environment, `ModelRegistry`.

Every model is loaded once, at start; one that fails is listed (with why) while the others are served.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config import shorten
from ..model import CONFIG_FILE, InfoGAN

MODELS_ENV = "INFOGAN_MODELS"  # comma-separated Hub repo ids loaded in addition to checkpoints/
HUB_TIMEOUT_S = 30.0  # per Hub model at start: an unreachable Hub costs this much, then the app starts without it

log = logging.getLogger(__name__)


def discover_checkpoints(folder: str | Path) -> dict[str, Path]:
    """Checkpoint folders `folder/<name>/config.json` by folder name, sorted; a missing folder has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {p.parent.name: p.parent for p in sorted(folder.glob(f"*/{CONFIG_FILE}"))}


def hub_ids_from(flag: Iterable[str] | None = None, env: Mapping[str, str] | None = None) -> list[str]:
    """Hub repo ids from the `--models` flag and INFOGAN_MODELS (comma or space separated), deduplicated."""
    env = os.environ if env is None else env
    items = [*(flag or []), *env.get(MODELS_ENV, "").replace(",", " ").split()]
    ids: list[str] = []
    for item in items:
        for repo_id in item.replace(",", " ").split():
            if repo_id not in ids:
                ids.append(repo_id)
    return ids


class ModelRegistry:
    """The models the explorer serves, by name, each loaded once at start (loading a name again is a no-op).

    Local checkpoints are named by their folder (`checkpoints/mnist` → "mnist"), Hub models by their repo id.
    A model that fails to load is recorded in `failures` (name → reason) and the others are still served.
    """

    def __init__(self) -> None:
        self._models: dict[str, InfoGAN] = {}
        self._sources: dict[str, str] = {}
        self.failures: dict[str, str] = {}

    @classmethod
    def from_sources(
        cls,
        checkpoint_dir: str | Path | None = "checkpoints",
        hub_ids: Iterable[str] = (),
        hub_timeout: float | None = HUB_TIMEOUT_S,
    ) -> ModelRegistry:
        """Load every checkpoint folder under `checkpoint_dir`, then the given Hub repo ids (safetensors only).

        One broken folder or unreachable repo does not stop the others: its error goes to `failures` and the log.
        """
        registry = cls()
        for name, path in discover_checkpoints(checkpoint_dir).items() if checkpoint_dir else ():
            registry.try_load(name, path)
        for repo_id in hub_ids:
            registry.try_load(repo_id, repo_id, timeout=hub_timeout)
        return registry

    def try_load(self, name: str, source: str | Path, timeout: float | None = None) -> InfoGAN | None:
        """`load`, but a failure is recorded in `failures` and logged instead of raised."""
        try:
            return self.load(name, source, timeout=timeout)
        except Exception as err:  # any bad file or network error: serve the other models (RuntimeError from torch too)
            reason = shorten(f"{type(err).__name__}: {err}", 500)
            self.failures[name] = reason
            log.warning("model %r (%s) was not loaded: %s", name, source, reason)
            return None

    def load(self, name: str, source: str | Path, timeout: float | None = None) -> InfoGAN:
        """Load `source` (folder or Hub id) under `name`; an already loaded name returns the loaded model."""
        if name in self._models:
            return self._models[name]
        model = InfoGAN.from_pretrained(source, timeout=timeout).eval().requires_grad_(False)
        self.add(name, model, source=str(source))
        self.failures.pop(name, None)
        return model

    def failure_notice(self) -> str:
        """Markdown naming every model that failed to load and why ("" when all loaded), for the UI."""
        if not self.failures:
            return ""
        lines = [f"- **{name}**: {reason}" for name, reason in self.failures.items()]
        return "**Not loaded** (the other models work; fix or remove these and restart):\n" + "\n".join(lines)

    def add(self, name: str, model: InfoGAN, source: str = "memory") -> None:
        """Register an already built model (tests and notebooks)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"model names must be non-empty strings, got {name!r}")
        self._models[name] = model.eval()
        self._sources[name] = source

    def remove(self, name: str) -> None:
        """Stop serving `name` (a trained model the Train tab no longer keeps); unknown names are ignored."""
        self._models.pop(name, None)
        self._sources.pop(name, None)

    @property
    def names(self) -> list[str]:
        return list(self._models)

    @property
    def default(self) -> str:
        """The model the explorer opens on: "mnist" (the paper's classic) when loaded, else the first one."""
        return "mnist" if "mnist" in self._models else self.names[0]

    def get(self, name: Any) -> InfoGAN:
        """The model called `name`; ValueError listing the available names otherwise."""
        if not isinstance(name, str) or name not in self._models:
            raise ValueError(f"unknown model {name!r}; available models: {self.names}")
        return self._models[name]

    def baseline_for(self, name: str) -> str | None:
        """The loaded model whose config says `"baseline_for": name` (a λ = 0 GAN of the same architecture), if any."""
        for other, model in self._models.items():
            if other != name and model.config.metadata.get("baseline_for") == name:
                return other
        return None

    def source(self, name: str) -> str:
        self.get(name)
        return self._sources[name]

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models
