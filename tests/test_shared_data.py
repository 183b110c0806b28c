"""Real data and real checkpoints, when this clone sits next to ../shared/data or holds trained checkpoints.

Skipped otherwise, so the suite needs neither. Loading the full datasets takes a few seconds each: marked slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from infogan import InfoGAN
from infogan.data import load_dataset
from tests.conftest import REPO_ROOT, SHARED_DATA

pytestmark = pytest.mark.slow


def needs(path_in_shared: str) -> pytest.MarkDecorator:
    path = SHARED_DATA / path_in_shared
    present = path.is_file() or (path.is_dir() and any(path.iterdir()))  # an empty folder (a failed download) is not
    return pytest.mark.skipif(
        not present, reason=f"no {path}: set INFOGAN_SHARED_DATA to a folder holding {path_in_shared} to run it"
    )


@needs("MNIST/raw")
def test_mnist_loads_offline_from_shared_data() -> None:
    train = load_dataset("mnist", SHARED_DATA, 28, 1)
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels is not None and sorted(train.labels.unique().tolist()) == list(range(10))
    assert len(load_dataset("mnist", SHARED_DATA, 28, 1, split="test")) == 10000


@needs("FashionMNIST/raw")
def test_fashion_mnist_loads_offline_from_shared_data() -> None:
    assert load_dataset("fashion-mnist", SHARED_DATA, 28, 1, split="test").images.shape == (10000, 1, 28, 28)


@needs("frey/frey_rawface.mat")
def test_frey_faces_load_padded_to_square() -> None:
    assert load_dataset("frey", SHARED_DATA, 28, 1).images.shape == (1965, 1, 28, 28)


@needs("celeba-10k")
def test_celeba_subset_loads_cropped_rgb() -> None:
    data = load_dataset("celeba", SHARED_DATA, 64, 3)
    assert data.images.shape[1:] == (3, 64, 64) and len(data) >= 1000


SHIPPED = sorted(p.parent.name for p in (REPO_ROOT / "checkpoints").glob("*/config.json"))


def test_the_shipped_models_are_there() -> None:
    assert {"mnist", "fashion-mnist", "celeba"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_trained_checkpoint_in_repo_generates_finite_images(name: str) -> None:
    folder = REPO_ROOT / "checkpoints" / name
    model = InfoGAN.from_pretrained(folder)
    images = model.generate(4, seed=0)
    config = model.config
    assert images.shape == (4, config.channels, config.image_size, config.image_size)
    assert torch.isfinite(images).all() and images.std() > 0.01, "a trained model should not draw blank images"
    codes = model.infer_codes(images)
    assert codes.keys() == {c.name for c in model.codes}


@needs("MNIST/raw")
def test_small_infogan_learns_digit_categories_on_mnist(tmp_path: Path) -> None:
    """The real check: 1,000 unsupervised steps of a small model put digit classes into the categorical code.

    In our runs (seeds 0 and 1) Hungarian accuracy on 2,000 test digits was 0.42 and 0.47 after 1,000 steps and 0.60
    after 3,000; chance is about 0.1-0.2. About 45 s on one thread of a busy 2-core CPU.
    """
    from infogan import CategoricalCode, ContinuousCode, InfoGANConfig, LatentSpec
    from infogan.data import ImageData
    from infogan.metrics.evaluate import categorical_metrics
    from infogan.training.trainer import TrainConfig, Trainer

    latent = LatentSpec(noise_dim=16, codes=(CategoricalCode("digit", 10), ContinuousCode("c2")))
    config = InfoGANConfig(latent=latent, base_channels=16, fc_dim=128, q_hidden=32)
    train = load_dataset("mnist", SHARED_DATA, 28, 1)
    test = load_dataset("mnist", SHARED_DATA, 28, 1, split="test")
    settings = TrainConfig(dataset="mnist", steps=1000, batch_size=64, log_every=250, sample_every=10**6,
                           checkpoint_every=10**6)  # fmt: skip
    model = Trainer(config, settings, ImageData(train.images), tmp_path).train()  # no labels anywhere near training
    metrics = categorical_metrics(model, ImageData(test.images[:2000], test.labels[:2000]))["digit"]
    assert metrics["accuracy"] > 0.3, metrics
    assert metrics["nmi"] > 0.15, metrics


@needs("MNIST/raw/t10k-images-idx3-ubyte")
def test_shipped_mnist_model_meets_the_papers_accuracy() -> None:
    """The README's headline: ≥ 95 % Hungarian-matched accuracy of the digit code on the 10,000 test digits."""
    from infogan.metrics.evaluate import categorical_metrics

    model = InfoGAN.from_pretrained(REPO_ROOT / "checkpoints" / "mnist")
    metrics = categorical_metrics(model, load_dataset("mnist", SHARED_DATA, 28, 1, split="test"))
    assert metrics["digit"]["accuracy"] >= 0.95
    assert model.config.latent.code("digit").labels is not None  # the explorer shows digits, not indices
