"""`InfoGAN`: the four sub-networks behind one object that loads, saves and pushes like a Hugging Face model."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
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
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .config import InfoGANConfig, shorten
from .latent import CategoricalCode, LatentCode
from .networks import DHead, Generator, QHead, SharedTrunk

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PROJECT_URL = "https://github.com/infogan-explorer/infogan-explorer"
# config.json metadata key holding the SHA-256 of model.safetensors, written by save_pretrained and checked on load.
# It lives only in the file: a loaded model's config does not carry it (its weights may change afterwards).
WEIGHTS_HASH_KEY = "weights_sha256"
# Refuse configs describing bigger networks before building anything: the largest preset (mnist-paper) has 13.4 M
# parameters, the shipped models 2.4–3.4 M, while the config's per-field limits alone would allow ~1.5 G (6 GB).
MAX_PARAMETERS = 50_000_000


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
        from .export.model_card import build_model_card, write_preview_images

        state = {k: v.detach().to("cpu").contiguous() for k, v in self.state_dict().items()}
        weights = save_directory / WEIGHTS_FILE
        _atomic_write(weights, lambda p: save_file(state, str(p), metadata={"format": "pt"}))
        config = self.config.with_metadata(**{WEIGHTS_HASH_KEY: file_sha256(weights)})
        _atomic_write(save_directory / CONFIG_FILE, lambda p: p.write_text(config.to_json(), encoding="utf-8"))
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
        if kwargs.pop("push_to_hub", False):
            repo_id = kwargs.pop("repo_id", None) or folder.name
            kwargs.pop("config", None)  # the mixin's own config dict: ours is self.config, saved in config.json
            return self.push_to_hub(repo_id, **kwargs)
        return None

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:  # type: ignore[override]
        """Upload the checkpoint folder (via huggingface_hub's mixin); the model card's snippet names `repo_id`.

        Keyword arguments (`private`, `token`, `commit_message`, `revision`, `create_pr`, …) go to the mixin's
        `push_to_hub`, which passes them on to `create_repo` and `upload_folder`.
        """
        self.config = self.config.with_metadata(repo_id=repo_id)
        return super().push_to_hub(repo_id, **kwargs)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        from .export.model_card import build_model_card

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
        timeout: float | None = None,
    ) -> InfoGAN:
        """Load from a local folder or a Hub repo id. Safetensors only; keys and shapes must match exactly.

        Before any tensor is read: the config is validated, the network it describes is sized (at most
        MAX_PARAMETERS), the tensor names and shapes in the safetensors header are checked against it, and the
        file's SHA-256 against the one save_pretrained recorded in config.json (checkpoints saved before hashes
        were recorded have none and load without that check). `timeout` bounds a Hub download, in seconds.
        """
        source = str(pretrained_model_name_or_path)
        if Path(source).is_dir():
            config_path, weights_path = Path(source) / CONFIG_FILE, Path(source) / WEIGHTS_FILE
            if not weights_path.is_file():
                raise FileNotFoundError(f"no {WEIGHTS_FILE} in {source}: is this an InfoGAN checkpoint folder?")
        elif _looks_like_path(source):
            raise FileNotFoundError(_no_such_folder(source))
        else:
            kwargs = dict(revision=revision, cache_dir=cache_dir, force_download=force_download, token=token,
                          local_files_only=local_files_only)  # fmt: skip
            config_path, weights_path = _download(source, kwargs, timeout)
        config = InfoGANConfig.from_json_file(config_path)
        recorded_hash = config.metadata.get(WEIGHTS_HASH_KEY)
        if recorded_hash is not None:  # the hash describes the file, not the model: keep it out of model.config
            config = replace(config, metadata={k: v for k, v in config.metadata.items() if k != WEIGHTS_HASH_KEY})
        expected = expected_tensors(config)
        check_weights_header(weights_path, expected)
        if recorded_hash is not None:
            check_weights_hash(weights_path, recorded_hash)
        model = cls(config)
        model.load_state_dict(load_checked_state_dict(weights_path, model), strict=True)
        return model.to(map_location).eval()


def _looks_like_path(source: str) -> bool:
    """True for names that can only mean a local folder. A Hub id is `name` or `namespace/name`; anything absolute,
    relative (./, ../, ~), with a backslash or a trailing or second slash, or whose first part is an existing local
    folder (`checkpoints/mnsit`) is a path, so a typo is reported here instead of after a slow Hub lookup."""
    if source.startswith((".", "/", "~")) or "\\" in source or source.endswith("/") or source.count("/") > 1:
        return True
    return "/" in source and Path(source.split("/")[0]).is_dir()


def _no_such_folder(source: str) -> str:
    parent = Path(source).expanduser().parent
    try:
        siblings = sorted(p.name for p in parent.iterdir() if p.is_dir())[:20] if parent.is_dir() else []
    except OSError:  # unreadable parent: the message just has no hint
        siblings = []
    hint = f"; {parent} holds: {', '.join(siblings)}" if siblings else ""
    return (f"no such local folder: {shorten(source, 200)}{hint}. (A Hub repo id is 'user/name' and is looked up "
            "only when no local folder of that first name exists.)")  # fmt: skip


def _download(repo_id: str, kwargs: dict[str, Any], timeout: float | None) -> tuple[Path, Path]:
    """config.json and model.safetensors from the Hub; FileNotFoundError with the reason when that fails.

    huggingface_hub retries an unreachable Hub five times with backoff (~25 s); with `timeout`, the download runs
    in a daemon thread and we stop waiting after `timeout` seconds (the thread may finish into the cache later).
    """

    def fetch() -> tuple[Path, Path]:
        etag_timeout = min(10.0, timeout) if timeout else 10.0
        config = Path(hf_hub_download(repo_id, CONFIG_FILE, etag_timeout=etag_timeout, **kwargs))
        return config, Path(hf_hub_download(repo_id, WEIGHTS_FILE, etag_timeout=etag_timeout, **kwargs))

    try:
        return fetch() if timeout is None else _call_with_timeout(fetch, timeout)
    except TimeoutError:
        raise FileNotFoundError(
            f"could not download {repo_id!r} from the Hub within {timeout:g} s; check the network, or pass a local "
            "checkpoint folder"
        ) from None
    except HFValidationError:
        raise FileNotFoundError(
            f"{shorten(repr(repo_id), 200)} is neither a local checkpoint folder nor a valid Hub repo id (user/name)"
        ) from None
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as err:
        raise FileNotFoundError(f"could not fetch {repo_id!r} from the Hub: {err}") from None
    except (HfHubHTTPError, OSError) as err:
        raise FileNotFoundError(
            f"could not download {repo_id!r} from the Hub ({type(err).__name__}: {err}); check the repo id, "
            "your token and the network, or pass a local checkpoint folder"
        ) from None


def _call_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() in a daemon thread; TimeoutError when it has not returned after `timeout` seconds."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as err:  # handed to the caller's thread below
            result["error"] = err

    worker = threading.Thread(target=run, name="hub-download", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError
    if "error" in result:
        raise result["error"]
    return result["value"]


def expected_tensors(config: InfoGANConfig) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name → (shape, dtype) of every tensor an InfoGAN with `config` holds, worked out on the meta device (no
    memory); ValueError when the network would exceed MAX_PARAMETERS."""
    with torch.device("meta"):
        state = InfoGAN(config).state_dict()
    count = sum(t.numel() for t in state.values())
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"the config describes a network of {count:,} values, more than the {MAX_PARAMETERS:,} allowed "
            "(the largest preset has 13.4 M); this config.json is not a model this library can load"
        )
    return {k: (tuple(t.shape), t.dtype) for k, t in state.items()}


_SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
                       "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}  # fmt: skip


def check_weights_header(path: Path, expected: Mapping[str, tuple[tuple[int, ...], torch.dtype]]) -> None:
    """Check the tensor names, shapes and dtypes in a safetensors header (no tensor data is read)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            found = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({shorten(err)}); it may be truncated or corrupt — "
            "re-download or re-save the checkpoint"
        ) from None
    missing, unexpected = expected.keys() - found.keys(), found.keys() - expected.keys()
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match its config.json: missing {sorted(missing)[:5]}, unexpected "
            f"{shorten(sorted(unexpected)[:5])}; the weights and config come from different models"
        )
    for key, (shape, dtype) in expected.items():
        if found[key][0] != shape:
            raise ValueError(
                f"{path}: tensor {key!r} has shape {found[key][0]} but the config needs {shape}; the weights and "
                "config come from different models"
            )
        if _SAFETENSORS_DTYPES.get(found[key][1]) != dtype:
            raise ValueError(f"{path}: tensor {key!r} is {found[key][1]}, expected {dtype}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_weights_hash(path: Path, recorded: Any) -> None:
    """The weights file must have the SHA-256 that config.json recorded when it was saved (bit flips, mixed files)."""
    if not isinstance(recorded, str) or len(recorded) != 64:
        raise ValueError(f"{path.parent / CONFIG_FILE}: metadata.{WEIGHTS_HASH_KEY} must be a 64-digit hex SHA-256")
    actual = file_sha256(path)
    if actual != recorded.lower():
        raise ValueError(
            f"{path} does not match the SHA-256 recorded in its config.json (recorded {recorded[:12]}…, file "
            f"{actual[:12]}…): the file is corrupt or was replaced — re-download or re-save the checkpoint"
        )


def load_checked_state_dict(path: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """Read a safetensors file and check it holds exactly `model`'s tensors; clear errors for corrupt files."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({shorten(err)}); it may be truncated or corrupt — "
            "re-download or re-save the checkpoint"
        ) from None
    expected = model.state_dict()
    missing, unexpected = expected.keys() - state.keys(), state.keys() - expected.keys()
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match its config.json: missing {sorted(missing)[:5]}, unexpected "
            f"{shorten(sorted(unexpected)[:5])}; the weights and config come from different models"
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
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # readable like any other file (safetensors creates its files 0600)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (disk full) leaves no partial temp file


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
