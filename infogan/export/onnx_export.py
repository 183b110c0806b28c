"""Export G (and Q) to ONNX for ONNX Runtime Web, and check the exported files compute what PyTorch computes.

The browser explorer (`infogan/export/web_site.py`) runs these files with onnxruntime-web, so the parity check runs at
export time: a file whose outputs drift from PyTorch's by more than `PARITY_TOLERANCE` is never shipped.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..latent import CategoricalCode
from ..model import InfoGAN, eval_mode

GENERATOR_FILE = "generator.onnx"
ENCODER_FILE = "encoder.onnx"
PARITY_TOLERANCE = 1e-4  # max |ONNX - PyTorch| on images in [0, 1] and on Q's outputs; measured ≈1e-6 in practice
PARITY_SEEDS = (0, 1, 2)  # fixed latents: a failed check names the seed, so it can be reproduced
MAX_BATCH = 4096  # the batch axis stays dynamic up to InfoGAN.generate's limit (a traversal grid is one batch)


class ParityError(RuntimeError):
    """The exported ONNX file computes something different from the PyTorch model."""


class Encoder(nn.Module):
    """Q as one network: image (B, C, H, W) in [0, 1] -> Q's flat output (B, q_dim) (logits, then mean/log-std)."""

    def __init__(self, model: InfoGAN) -> None:
        super().__init__()
        self.trunk, self.q_head = model.trunk, model.q_head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.q_head(self.trunk(images))  # (B, q_dim)


def export_generator(model: InfoGAN, path: str | Path) -> Path:
    """Write G as ONNX: input "latent" (B, input_dim) float32 in `to_generator_input`'s layout, output "image"."""
    example = model.config.latent.to_generator_input(model.latent_values(2, seed=0))
    return _export(model.generator, example, Path(path), "latent", "image")


def export_encoder(model: InfoGAN, path: str | Path) -> Path:
    """Write Q (shared trunk + Q head) as ONNX: input "image" (B, C, H, W) in [0, 1], output "q" (B, q_dim)."""
    example = model.generate(2, seed=0)
    return _export(Encoder(model), example, Path(path), "image", "q")


def check_generator(model: InfoGAN, path: str | Path) -> float:
    """Max |ONNX - PyTorch| over images for fixed latents (priors, and every code at its extremes); raise if too big."""
    spec = model.config.latent
    latents = [spec.to_generator_input(model.latent_values(4, seed)) for seed in PARITY_SEEDS]
    extremes = {c.name: (c.size - 1 if isinstance(c, CategoricalCode) else 2.0) for c in spec.codes}
    latents.append(spec.to_generator_input(model.latent_values(4, 0, codes=extremes)))
    return _check(model.generator, path, torch.cat(latents), "generator")


def check_encoder(model: InfoGAN, path: str | Path) -> float:
    """Max |ONNX - PyTorch| over Q's outputs for generated images of the fixed seeds; raise if too big."""
    images = torch.cat([model.generate(4, seed) for seed in PARITY_SEEDS])
    return _check(Encoder(model), path, images, "encoder")


def _export(module: nn.Module, example: torch.Tensor, path: Path, input_name: str, output_name: str) -> Path:
    """torch.onnx.export with the torch.export-based exporter (the default since torch 2.9), one dynamic batch axis.

    Its graph optimiser folds eval-mode BatchNorm into the preceding layer, which leaves a smaller, faster graph
    than the deprecated TorchScript exporter's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with eval_mode(module), torch.no_grad(), warnings.catch_warnings(), _quiet_onnx_logs():
        warnings.simplefilter("ignore")  # exporter deprecation chatter; a real failure raises
        program = torch.onnx.export(
            module, (example.cpu(),), input_names=[input_name], output_names=[output_name],
            dynamic_shapes=({0: batch},), dynamo=True, verbose=False,
        )  # fmt: skip
        program.save(str(path), external_data=False)  # one self-contained file (the models are a few MB)
    return path


def _check(module: nn.Module, path: str | Path, inputs: torch.Tensor, what: str) -> float:
    import onnxruntime

    with eval_mode(module), torch.no_grad():
        expected = module(inputs).cpu().numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: inputs.cpu().numpy().astype(np.float32)})
    if got.shape != expected.shape:
        raise ParityError(f"{path}: the exported {what} returns shape {got.shape}, PyTorch {expected.shape}")
    diff = float(np.abs(got - expected).max())
    if not np.isfinite(diff) or diff > PARITY_TOLERANCE:
        raise ParityError(
            f"{path}: the exported {what} differs from PyTorch by up to {diff:.3g} (allowed {PARITY_TOLERANCE:g}) "
            f"on the fixed latents of seeds {PARITY_SEEDS}; the export is broken — do not ship it (try another "
            "torch/onnx version and report the model's config)"
        )
    return diff


class _quiet_onnx_logs:  # noqa: N801 (used like a function)
    """The exporter logs its progress through the `torch.onnx` logger; keep a CLI's output to what it did."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("torch.onnx")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)
