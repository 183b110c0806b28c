"""A dSprites-shaped model (1 channel, 64×64, one 3-way and five continuous codes) in the explorer, and the shipped one.

The tiny model stands in for checkpoints/shapes in the Explore, Traverse and Encode paths; the shipped folder is
checked for what the issue promises: the explorer lists it and its card carries the disentanglement scores.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from infogan import CategoricalCode, ContinuousCode, InfoGAN, InfoGANConfig, LatentSpec
from infogan.explorer.codes import parse_codes
from infogan.explorer.encoding import codes_from_inference, infer, preprocess_for_q
from infogan.explorer.registry import ModelRegistry, discover_checkpoints
from infogan.explorer.rendering import render, traversal

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


def tiny_sprites_config() -> InfoGANConfig:
    codes = (CategoricalCode("shape", 3), *(ContinuousCode(n) for n in ("scale", "rotation", "x", "y", "unused")))
    latent = LatentSpec(noise_dim=5, codes=codes)
    return InfoGANConfig(latent=latent, image_size=64, channels=1, base_channels=4, fc_dim=0, q_hidden=8)


@pytest.fixture(scope="module")
def sprites(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("checkpoints")
    InfoGAN(tiny_sprites_config()).save_pretrained(folder / "shapes")
    return ModelRegistry.from_sources(folder)


def test_explore_and_traverse_a_sprites_model(sprites: ModelRegistry) -> None:
    model = sprites.get("shapes")
    codes = parse_codes(model, {"shape": 2, "scale": 0.5, "y": -1.5})
    image = render(model, seed=3, codes=codes)
    assert image.mode == "L" and image.size[0] == image.size[1] >= 64
    grid, frames = traversal(model, "rotation", seed=0, rows="shape", steps=4, size=64)
    tiles = ((64 + 2) * 4 + 2, (64 + 2) * 3 + 2)  # 4 steps × one row per shape, plus the labels around them
    assert tiles[0] < grid.size[0] < tiles[0] + 200 and tiles[1] < grid.size[1] < tiles[1] + 150, grid.size
    assert len(frames) > 1


def test_encode_a_drawn_sprite(sprites: ModelRegistry) -> None:
    model = sprites.get("shapes")
    drawing = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(drawing).rectangle([60, 60, 120, 120], fill=255)
    x = preprocess_for_q(drawing, model)
    assert x.shape == (1, 1, 64, 64)
    inferred = infer(model, x)
    assert set(inferred) == {"shape", "scale", "rotation", "x", "y", "unused"}
    assert set(codes_from_inference(model, inferred)) == set(inferred)


def test_app_builds_with_a_sprites_model_beside_the_others(sprites: ModelRegistry) -> None:
    app = pytest.importorskip("app")
    registry = ModelRegistry()
    registry.add("shapes", sprites.get("shapes"))
    digits = InfoGANConfig(latent=LatentSpec(noise_dim=4, codes=(CategoricalCode("digit", 10), ContinuousCode("w"))),
                           image_size=28, channels=1, base_channels=4, fc_dim=0, q_hidden=8)  # fmt: skip
    registry.add("digits", InfoGAN(digits))
    demo = app.build_demo(registry)
    assert demo is not None


@pytest.mark.skipif(not (SHIPPED / "shapes" / "config.json").is_file(), reason="no shipped shapes checkpoint")
def test_shipped_shapes_model_is_listed_and_scored() -> None:
    assert "shapes" in discover_checkpoints(SHIPPED)
    config = InfoGANConfig.from_json_file(SHIPPED / "shapes" / "config.json")
    scores = config.metadata["metrics"]["disentanglement"]
    assert {"mig", "factor_vae", "dci_disentanglement"} <= set(scores)
    assert set(config.metadata["metrics"]["factor_information"]) == {c.name for c in config.latent.codes}
    card = (SHIPPED / "shapes" / "README.md").read_text()
    assert f"| {scores['mig']:.4g} | {scores['factor_vae']:.4g} |" in card
