"""Presets are JSON files in `infogan/presets/`: a model config plus training defaults. Add a file to add a preset."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import InfoGANConfig

PRESET_DIR = Path(__file__).with_name("presets")


@dataclass(frozen=True)
class Preset:
    """A named starting point: the model to build and the training settings that worked for it."""

    name: str
    description: str
    model: InfoGANConfig
    training: dict[str, Any]


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name_or_path: str | Path) -> Preset:
    """A preset by name (see `available_presets()`) or from a JSON file path."""
    from .config import InfoGANConfig  # imports torch: not needed just to list presets (train.py -h)
    from .latent import _check_keys

    path = Path(name_or_path)
    if path.suffix != ".json":
        path = PRESET_DIR / f"{name_or_path}.json"
        if not path.is_file():
            choices = available_presets()
            raise ValueError(f"unknown preset {str(name_or_path)!r}; choose one of {choices} or a .json file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read preset {path}: {err}") from None
    _check_keys(data, required={"model", "training"}, optional={"description"}, where=f"preset {path.name}")
    try:
        model = InfoGANConfig.from_dict(data["model"])
    except (ValueError, TypeError) as err:
        raise ValueError(f"preset {path.name}: {err}") from None
    return Preset(path.stem, data.get("description", ""), model, dict(data["training"]))
