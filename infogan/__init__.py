"""InfoGAN toolkit: train InfoGANs, share them on the Hugging Face Hub, explore their latent codes live.

The public names are imported on first use (PEP 562), so `import infogan.presets` or `train.py -h` does not pay for
importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import InfoGANConfig
    from .latent import CategoricalCode, ContinuousCode, LatentSpec
    from .model import InfoGAN
    from .presets import Preset, available_presets, load_preset

_EXPORTS = {
    "CategoricalCode": "latent",
    "ContinuousCode": "latent",
    "InfoGAN": "model",
    "InfoGANConfig": "config",
    "LatentSpec": "latent",
    "Preset": "presets",
    "available_presets": "presets",
    "load_preset": "presets",
}
__all__ = [
    "CategoricalCode",
    "ContinuousCode",
    "InfoGAN",
    "InfoGANConfig",
    "LatentSpec",
    "Preset",
    "available_presets",
    "load_preset",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'infogan' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
