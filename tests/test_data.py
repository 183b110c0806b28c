"""Data sources: image folders load, resize and centre-crop; missing or empty folders give one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from infogan.data import DATASETS, load_dataset


def test_folder_of_images_loads_resizes_and_centre_crops(tmp_path: Path) -> None:
    # A 60×30 RGB image: white 15-pixel margins left and right, black middle. Resizing the short side to 28 gives
    # 56×28; the centre crop keeps the middle 28 columns, which are all black.
    wide = Image.new("RGB", (60, 30), "white")
    wide.paste((0, 0, 0), (15, 0, 45, 30))
    wide.save(tmp_path / "wide.png")
    (tmp_path / "nested").mkdir()
    Image.new("L", (28, 28), 200).save(tmp_path / "nested" / "grey.jpg", quality=100)
    (tmp_path / "notes.txt").write_text("not an image")

    data = load_dataset("folder", tmp_path, image_size=28, channels=1)
    assert data.images.shape == (2, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels is None
    grey, wide_loaded = data.images  # sorted by path: nested/grey.jpg < wide.png
    assert abs(int(grey.float().mean()) - 200) <= 2
    assert wide_loaded[:, :, 2:-2].max() <= 10, "the white margins should have been cropped away"

    rgb = load_dataset("folder", tmp_path, image_size=32, channels=3)
    assert rgb.images.shape == (2, 3, 32, 32)


def test_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"image folder {tmp_path / 'nope'} does not exist; pass --data-dir"):
        load_dataset("folder", tmp_path / "nope", 28, 1)


def test_empty_folder_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match=f"no images .* found under {tmp_path}; pass --data-dir"):
        load_dataset("folder", tmp_path, 28, 1)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match=r"cannot read image .*broken\.png"):
        load_dataset("folder", tmp_path, 28, 1)


def test_unknown_dataset_and_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; choose one of"):
        load_dataset("imagenet", tmp_path, 28, 1)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_dataset("folder", tmp_path, 28, 1, split="val")


def test_offline_mnist_without_files_names_the_expected_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision

    def offline(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(FileNotFoundError, match=r"MNIST is not in .*MNIST/raw.*Pass --data-dir"):
        load_dataset("mnist", tmp_path, 28, 1)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_dataset_states_its_terms_for_the_model_card(name: str) -> None:
    info = DATASETS[name].card_info(name)
    assert info["name"] and info["license"] and info["terms"] and info["id"] == name
    if info["license"] == "other" and name == "celeba":
        assert info["license_name"] and info["license_link"]


@pytest.mark.parametrize("pixels", [1_600, 10_000], ids=["over-the-warning-limit", "over-the-error-limit"])
def test_a_decompression_bomb_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pixels: int) -> None:
    side = int(pixels**0.5)
    Image.new("L", (side, side)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # a 40×40 image stands in for a 13,000×13,000 one
    with pytest.raises(ValueError, match=r"bomb\.png is too large to decode safely.*decompression bomb"):
        load_dataset("folder", tmp_path, 28, 1)


def test_a_failed_mnist_download_leaves_no_empty_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision

    def offline(self: torchvision.datasets.MNIST) -> None:
        Path(self.raw_folder).mkdir(parents=True, exist_ok=True)  # as torchvision's download() does first
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz (network unreachable)")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    (tmp_path / "data").mkdir()  # existed before: kept
    with pytest.raises(FileNotFoundError, match=r"MNIST is not in .* could not be downloaded"):
        load_dataset("mnist", tmp_path / "data", 28, 1)
    assert list((tmp_path / "data").iterdir()) == []
