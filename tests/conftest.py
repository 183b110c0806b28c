"""Shared fixtures: one torch thread (training runs share this machine), tiny configs and synthetic image data."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from infogan import CategoricalCode, ContinuousCode, InfoGAN, InfoGANConfig, LatentSpec
from infogan.data import ImageData

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real datasets for the optional slow checks: ../shared/data beside the clone, or wherever INFOGAN_SHARED_DATA points
# (.ci/run sets it, since it tests a fresh clone in a temporary folder).
SHARED_DATA = Path(os.environ.get("INFOGAN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
FIXTURES = Path(__file__).with_name("fixtures")

# Tests must stay light: long training runs may share the CPU, and one thread is also what makes timings steady.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Re-apply after any test (or library call) that changed the thread count."""
    torch.set_num_threads(1)


def tiny_config(labels: tuple[str, ...] | None = None, **overrides: object) -> InfoGANConfig:
    """A 28×28 grey model small enough to build and run in milliseconds: one 3-way and one continuous code."""
    latent = LatentSpec(noise_dim=8, codes=(CategoricalCode("shape", 3, labels), ContinuousCode("width")))
    settings: dict = dict(latent=latent, image_size=28, channels=1, base_channels=8, fc_dim=64, q_hidden=16)
    settings.update(overrides)
    return InfoGANConfig(**settings)


@pytest.fixture
def config() -> InfoGANConfig:
    return tiny_config()


@pytest.fixture
def model(config: InfoGANConfig) -> InfoGAN:
    torch.manual_seed(0)
    return InfoGAN(config).eval()


def synthetic_shapes(n: int, size: int = 28, seed: int = 0) -> ImageData:
    """n grey images of three shape classes (horizontal bar, vertical bar, blob) at random positions and sizes.

    Drawn with torch so no dataset is needed; the class is returned as the label (for evaluation only).
    """
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    labels = torch.randint(3, (n,), generator=g)
    images = torch.zeros(n, 1, size, size)
    for i in range(n):
        cy, cx = (torch.rand(2, generator=g) * size * 0.4 + size * 0.3).tolist()
        long, short = (float(torch.rand((), generator=g)) * 4 + 8, float(torch.rand((), generator=g)) * 2 + 2)
        if labels[i] == 0:  # horizontal bar
            mask = ((ys - cy).abs() < short / 2) & ((xs - cx).abs() < long / 2)
        elif labels[i] == 1:  # vertical bar
            mask = ((xs - cx).abs() < short / 2) & ((ys - cy).abs() < long / 2)
        else:  # round blob
            mask = (ys - cy) ** 2 + (xs - cx) ** 2 < (long / 2) ** 2 * (0.5 + 0.1 * math.sin(i))
        images[i, 0] = mask.float()
    return ImageData((images * 255).to(torch.uint8), labels)


@pytest.fixture(scope="session")
def shapes() -> ImageData:
    return synthetic_shapes(400)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The explorer launched on 127.0.0.1 at a free port with tiny models; closed after the module's tests."""
    from tests.test_app import launch_app  # imports gradio: only for the app and browser tests

    demo, url = launch_app(tmp_path_factory.mktemp("checkpoints"))
    yield url
    demo.close()
