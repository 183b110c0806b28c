"""`InfoGAN`: the four sub-networks behind one object that loads, saves and pushes like a Hugging Face model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    HFValidationError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .config import InfoGANConfig
from .latent import CategoricalCode, LatentCode
from .networks import DHead, Generator, QHead, SharedTrunk

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PROJECT_URL = "https://github.com/infogan-explorer/infogan-explorer"


class InfoGAN(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="infogan-explorer",
    tags=["infogan", "gan", "disentanglement", "pytorch"],
    pipeline_tag="unconditional-image-generation",
    license="mit",
    repo_url=PROJECT_URL,
    paper_url="https://arxiv.org/abs/1606.03657",
):
    """Generator G(z, c), shared trunk, discriminator head D and recognition head Q.

    Use `generate` to draw images for chosen code values, `infer_codes` to read codes back from images with Q,
    and `from_pretrained` / `save_pretrained` / `push_to_hub` to move checkpoints around.
    """

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__()
        if not isinstance(config, InfoGANConfig):
            raise TypeError(f"InfoGAN expects an InfoGANConfig, got {type(config).__name__}")
        self.config = config
        self.generator = Generator(config)
        self.trunk = SharedTrunk(config)
        self.d_head = DHead(self.trunk.out_features)
        self.q_head = QHead(self.trunk.out_features, config)

    # ---- the public, inference-side API -------------------------------------------------------------------------

    @property
    def codes(self) -> tuple[LatentCode, ...]:
        """The ordered latent code specs (name, kind, size or prior range, labels)."""
        return self.config.latent.codes

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def latent_values(self, n: int, seed: int, codes: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
        """z and all codes for `n` samples: priors drawn from `seed`, then the given codes overwrite theirs."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 4096:
            raise ValueError(f"n must be an integer in [1, 4096], got {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be a non-negative integer below 2**63, got {seed!r}")
        spec = self.config.latent
        chosen = spec.resolve_values(n, codes)  # validate before drawing anything
        rng = torch.Generator().manual_seed(seed)  # CPU generator: the same seed gives the same image on any device
        # One sample at a time, so sample i is the same whatever n is: the Explore image for a seed is row 0 of
        # the Traverse grid for that seed.
        draws = [spec.sample(1, generator=rng) for _ in range(n)]
        values = {key: torch.cat([d[key] for d in draws]) for key in draws[0]}
        values.update(chosen)
        return {k: v.to(self.device) for k, v in values.items()}

    @torch.inference_mode()
    def generate(self, n: int = 1, seed: int = 0, codes: Mapping[str, Any] | None = None) -> torch.Tensor:
        """Images (n, C, H, W) in [0, 1] for the given code values; codes not given are drawn from their prior.

        Values are a scalar for all samples or a sequence of n. Categorical values are indices or labels;
        continuous values may go beyond the prior (±2 is typical for traversals).
        """
        values = self.latent_values(n, seed, codes)
        with eval_mode(self):
            return self.generator(self.config.latent.to_generator_input(values))

    @torch.inference_mode()
    def infer_codes(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Q's reading of images (n, C, H, W) in [0, 1]: category probabilities (n, K) or predicted means (n,)."""
        self._check_images(images)
        with eval_mode(self):
            q = self.q_head(self.trunk(images.to(self.device, torch.float32)))
        out: dict[str, torch.Tensor] = {}
        for code, value in zip(self.codes, self.config.latent.split_q_output(q).values(), strict=True):
            out[code.name] = value.softmax(dim=1) if isinstance(code, CategoricalCode) else value[0]
        return out

    def _check_images(self, images: torch.Tensor) -> None:
        c, s = self.config.channels, self.config.image_size
        if not torch.is_tensor(images) or images.dim() != 4 or tuple(images.shape[1:]) != (c, s, s):
            shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
            raise ValueError(f"expected images of shape (n, {c}, {s}, {s}) with values in [0, 1], got {shape}")
        if not images.is_floating_point():
            raise ValueError(f"images must be floats in [0, 1], got {images.dtype}; use images.float() / 255")
        if not torch.isfinite(images).all():
            raise ValueError("images contain NaN or inf")
        if images.min() < 0 or images.max() > 1:
            raise ValueError("images must hold values in [0, 1]; rescale them first (e.g. x / 255 or (x + 1) / 2)")

    # ---- saving and loading --------------------------------------------------------------------------------------

    def _save_pretrained(self, save_directory: Path, **_: Any) -> None:
        """Write config.json, model.safetensors, preview images and the model card (called by save_pretrained)."""
        from .model_card import build_model_card, write_preview_images

        state = {k: v.detach().to("cpu").contiguous() for k, v in self.state_dict().items()}
        _atomic_write(save_directory / WEIGHTS_FILE, lambda p: save_file(state, str(p), metadata={"format": "pt"}))
        _atomic_write(save_directory / CONFIG_FILE, lambda p: p.write_text(self.config.to_json(), encoding="utf-8"))
        images = write_preview_images(self, save_directory)
        card = build_model_card(self.config, images)
        _atomic_write(save_directory / "README.md", lambda p: card.save(p))

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> str | None:  # type: ignore[override]
        """Write the checkpoint folder; every file is replaced atomically, so a reader never sees a half-written one.

        (The mixin's version deletes config.json before writing the weights, leaving a window with no config.)
        """
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_pretrained(folder)
        if kwargs.get("push_to_hub"):
            return self.push_to_hub(kwargs.get("repo_id") or folder.name)
        return None

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:  # type: ignore[override]
        """Upload the checkpoint folder (via huggingface_hub's mixin); the model card's snippet names `repo_id`."""
        self.config = self.config.with_metadata(repo_id=repo_id)
        return super().push_to_hub(repo_id, **kwargs)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        from .model_card import build_model_card

        return build_model_card(self.config, [])

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls,
        pretrained_model_name_or_path: str | Path,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        force_download: bool = False,
        token: str | bool | None = None,
        local_files_only: bool = False,
        map_location: str | torch.device = "cpu",
    ) -> InfoGAN:
        """Load from a local folder or a Hub repo id. Safetensors only; keys and shapes must match exactly."""
        source = str(pretrained_model_name_or_path)
        if Path(source).is_dir():
            config_path, weights_path = Path(source) / CONFIG_FILE, Path(source) / WEIGHTS_FILE
            if not weights_path.is_file():
                raise FileNotFoundError(f"no {WEIGHTS_FILE} in {source}: is this an InfoGAN checkpoint folder?")
        else:
            kwargs = dict(revision=revision, cache_dir=cache_dir, force_download=force_download, token=token,
                          local_files_only=local_files_only)  # fmt: skip
            try:
                config_path = Path(hf_hub_download(source, CONFIG_FILE, **kwargs))
                weights_path = Path(hf_hub_download(source, WEIGHTS_FILE, **kwargs))
            except HFValidationError:
                raise FileNotFoundError(
                    f"{source!r} is neither a local checkpoint folder nor a valid Hub repo id (user/name)"
                ) from None
            except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as err:
                raise FileNotFoundError(f"could not fetch {source!r} from the Hub: {err}") from None
            except (HfHubHTTPError, OSError) as err:
                raise FileNotFoundError(
                    f"could not download {source!r} from the Hub ({type(err).__name__}: {err}); check the repo id, "
                    "your token and the network, or pass a local checkpoint folder"
                ) from None
        config = InfoGANConfig.from_json_file(config_path)
        model = cls(config)
        model.load_state_dict(load_checked_state_dict(weights_path, model), strict=True)
        return model.to(map_location).eval()


def load_checked_state_dict(path: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """Read a safetensors file and check it holds exactly `model`'s tensors; clear errors for corrupt files."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated or corrupt — re-download "
            "or re-save the checkpoint"
        ) from None
    expected = model.state_dict()
    missing, unexpected = expected.keys() - state.keys(), state.keys() - expected.keys()
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match its config.json: missing {sorted(missing)[:5]}, unexpected "
            f"{sorted(unexpected)[:5]}; the weights and config come from different models"
        )
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise ValueError(
                f"{path}: tensor {key!r} has shape {tuple(tensor.shape)} but the config needs "
                f"{tuple(expected[key].shape)}; the weights and config come from different models"
            )
        if tensor.dtype != expected[key].dtype:
            raise ValueError(f"{path}: tensor {key!r} is {tensor.dtype}, expected {expected[key].dtype}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"{path}: tensor {key!r} contains NaN or inf; the checkpoint is corrupt")
    return state


def _atomic_write(path: Path, write: Any) -> None:
    """Write to a temporary sibling, then rename: a crash mid-write never leaves a half-written file behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    tmp.replace(path)


class eval_mode:  # noqa: N801 (used like a function: `with eval_mode(model):`)
    """Temporarily switch a module to eval mode (BatchNorm uses running statistics), restoring it afterwards."""

    def __init__(self, module: nn.Module) -> None:
        self.module, self.was_training = module, module.training

    def __enter__(self) -> None:
        if self.was_training:  # no writes at all for a model already in eval mode (the app shares models)
            self.module.eval()

    def __exit__(self, *exc: object) -> None:
        if self.was_training:
            self.module.train(True)
