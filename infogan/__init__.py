"""InfoGAN toolkit: train InfoGANs, share them on the Hugging Face Hub, explore their latent codes live."""

from .config import InfoGANConfig
from .latent import CategoricalCode, ContinuousCode, LatentSpec
from .model import InfoGAN
from .presets import Preset, available_presets, load_preset

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
