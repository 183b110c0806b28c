"""The model config: latent layout + architecture, saved as `config.json` next to the weights."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .latent import LatentSpec, _check_keys

# Image sizes the conv stacks support, with the resolution at which G starts upsampling. Each stride-2 layer doubles
# the side, so 28 = 7·2², 32 = 4·2³, 64 = 4·2⁴.
BASE_RESOLUTION = {28: 7, 32: 4, 64: 4}
# A shipped config.json is ~3 KB; anything near this size is not a config (and is never read into memory whole).
MAX_CONFIG_BYTES = 1_000_000
MAX_METADATA_DEPTH = 32  # metadata is a few levels of facts; deeper nesting is a malformed or hostile file
MAX_ERROR_CHARS = 300  # error messages quote at most this much of what they were given


@dataclass(frozen=True)
class InfoGANConfig:
    """Everything needed to rebuild the networks, plus free-form metadata about how the model was trained."""

    latent: LatentSpec = field(default_factory=LatentSpec)
    image_size: int = 28  # 28, 32 or 64 (see BASE_RESOLUTION)
    channels: int = 1  # 1 = grey, 3 = RGB
    # Channels of the highest-resolution conv layer; deeper layers double it. The paper's MNIST nets use 64;
    # 32 ("half width") trains ~3.5x faster on CPU with the same categorical accuracy in our runs.
    base_channels: int = 64
    # Width of the fully connected layer after the convs (1024 in the paper's MNIST D/G). 0 = no FC layer, the
    # DCGAN-style choice for 64x64 where an FC layer on 4x4x512 features would dominate the parameter count.
    fc_dim: int = 1024
    q_hidden: int = 128  # hidden units of the Q head (paper: FC 128 - BN - lReLU - FC output)
    # Free-form, JSON-only facts about training: dataset, steps, wall time, hardware, metrics. Not used by the nets.
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.latent, LatentSpec):
            raise ValueError("config.latent must be a LatentSpec")
        self.latent.validate()
        if not _is_int(self.image_size) or self.image_size not in BASE_RESOLUTION:
            raise ValueError(f"image_size must be one of {sorted(BASE_RESOLUTION)}, got {self.image_size!r}")
        if not _is_int(self.channels) or self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")
        for name, lo, hi in (("base_channels", 4, 512), ("fc_dim", 0, 8192), ("q_hidden", 8, 4096)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
        if not isinstance(self.metadata, dict):
            raise ValueError("metadata must be a JSON object")
        for key in ("dataset", "training", "metrics", "code_notes"):  # read by the model card and the explorer
            if key in self.metadata and not isinstance(self.metadata[key], dict):
                raise ValueError(f"metadata.{key} must be a JSON object")
        _check_json(self.metadata, "metadata")

    @property
    def num_upsamples(self) -> int:
        """Number of stride-2 (de)convolutions between the base resolution and the image."""
        return int(math.log2(self.image_size // BASE_RESOLUTION[self.image_size]))

    @property
    def base_resolution(self) -> int:
        return BASE_RESOLUTION[self.image_size]

    def with_metadata(self, **updates: Any) -> InfoGANConfig:
        """A copy whose metadata has `updates` merged in (configs are frozen so models can share them safely)."""
        return replace(self, metadata={**self.metadata, **updates})

    def with_latent(self, latent: LatentSpec) -> InfoGANConfig:
        return replace(self, latent=latent)

    # ---- JSON ---------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_type": "infogan",
            "latent": self.latent.to_dict(),
            "image_size": self.image_size,
            "channels": self.channels,
            "base_channels": self.base_channels,
            "fc_dim": self.fc_dim,
            "q_hidden": self.q_hidden,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InfoGANConfig:
        """Strict: a missing or unknown key is an error naming it (a typo must not silently become a default)."""
        required = {"latent", "image_size", "channels", "base_channels", "fc_dim", "q_hidden"}
        _check_keys(data, required=required, optional={"model_type", "metadata"}, where="config")
        if data.get("model_type", "infogan") != "infogan":
            raise ValueError(f"config.model_type is {data['model_type']!r}, expected 'infogan'")
        return cls(
            latent=LatentSpec.from_dict(data["latent"]),
            image_size=data["image_size"],
            channels=data["channels"],
            base_channels=data["base_channels"],
            fc_dim=data["fc_dim"],
            q_hidden=data["q_hidden"],
            metadata=data.get("metadata", {}),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json_file(cls, path: str | Path) -> InfoGANConfig:
        """Read and validate `config.json`. Anything malformed (not a file, too large, not JSON, nested absurdly
        deep, wrong keys or values) is one ValueError naming the file; a missing file is FileNotFoundError."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no config.json in {path.parent}: is this an InfoGAN checkpoint folder?")
        if not path.is_file():
            raise ValueError(f"{path} is not a file (a folder?); a checkpoint needs a config.json file")
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ValueError(f"{path} is {size:,} bytes; an InfoGAN config.json is a few KB (limit "
                             f"{MAX_CONFIG_BYTES:,}): this is not a config file")  # fmt: skip
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except RecursionError:
            raise ValueError(f"{path} is nested too deeply to be an InfoGAN config") from None
        except (ValueError, OSError) as err:  # JSONDecodeError, UnicodeDecodeError, int too long, unreadable
            raise ValueError(
                f"{path} is not valid JSON ({shorten(err)}); re-download or re-save the checkpoint"
            ) from None
        try:
            return cls.from_dict(data)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
            raise ValueError(f"{path}: invalid InfoGAN config: {shorten(err)}") from None


def shorten(value: Any, limit: int = MAX_ERROR_CHARS) -> str:
    """`str(value)` cut to `limit` characters, so an error never echoes a huge input back whole."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters in all)"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_json(value: Any, where: str, depth: int = 0) -> None:
    """Metadata must survive a JSON round trip unchanged (no tensors, NaN or custom objects) and stay shallow."""
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(f"{where.split('.')[0]} is nested deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: keys must be strings, got {shorten(repr(k))}")
            _check_json(v, f"{where}.{shorten(k, 40)}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]", depth + 1)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value} is not valid JSON")
    elif not (value is None or isinstance(value, (str, int, bool))):
        raise ValueError(f"{where}: {type(value).__name__} is not JSON-serialisable")
