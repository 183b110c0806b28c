"""InfoGANConfig and presets: strict validation, JSON round trips, every shipped preset builds a working model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN, InfoGANConfig, available_presets, load_preset
from tests.conftest import FIXTURES, tiny_config


def test_json_round_trip_including_labels_and_metadata(tmp_path: Path) -> None:
    config = tiny_config(labels=("bar", "pillar", "blob")).with_metadata(title="t", training={"steps": 3})
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    loaded = InfoGANConfig.from_json_file(path)
    assert loaded == config
    assert loaded.latent.codes[0].labels == ("bar", "pillar", "blob")


def test_missing_and_unknown_keys_are_errors_naming_them() -> None:
    data = tiny_config().to_dict()
    with pytest.raises(ValueError, match=r"missing key\(s\) \['fc_dim'\]"):
        InfoGANConfig.from_dict({k: v for k, v in data.items() if k != "fc_dim"})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['fc_dims'\]"):
        InfoGANConfig.from_dict({**data, "fc_dims": 3})
    with pytest.raises(ValueError, match="model_type is 'stylegan'"):
        InfoGANConfig.from_dict({**data, "model_type": "stylegan"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_size": 48}, "image_size must be one of"),
        ({"channels": 2}, "channels must be 1"),
        ({"base_channels": 2}, "base_channels must be an integer"),
        ({"fc_dim": -1}, "fc_dim must be an integer"),
        ({"q_hidden": 1.5}, "q_hidden must be an integer"),
        ({"metadata": {"loss": math.nan}}, "metadata.loss: nan is not valid JSON"),
        ({"metadata": {"t": torch.zeros(1)}}, "metadata.t: Tensor is not JSON-serialisable"),
    ],
)
def test_invalid_configs_raise(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_from_json_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"no config.json in {tmp_path}"):
        InfoGANConfig.from_json_file(tmp_path / "config.json")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        InfoGANConfig.from_json_file(tmp_path / "config.json")
    (tmp_path / "config.json").write_text(json.dumps({"latent": {}}))
    with pytest.raises(ValueError, match="invalid InfoGAN config: config: missing key"):
        InfoGANConfig.from_json_file(tmp_path / "config.json")


@pytest.mark.parametrize("name", available_presets())
def test_every_preset_builds_a_model_of_the_right_shape(name: str) -> None:
    preset = load_preset(name)
    config = preset.model
    model = InfoGAN(config).eval()
    images = model.generate(2, seed=0)
    assert images.shape == (2, config.channels, config.image_size, config.image_size)
    assert preset.training["dataset"] and preset.description


def test_mnist_preset_is_the_papers_layout() -> None:
    latent = load_preset("mnist-paper").model.latent
    assert latent.noise_dim == 62
    assert [(c.name, c.kind) for c in latent.codes] == [("digit", "categorical"), ("c2", "continuous"),
                                                        ("c3", "continuous")]  # fmt: skip


def test_preset_from_file_and_unknown_preset() -> None:
    assert load_preset(FIXTURES / "tiny.json").model.base_channels == 8
    with pytest.raises(ValueError, match="unknown preset 'nope'; choose one of"):
        load_preset("nope")
