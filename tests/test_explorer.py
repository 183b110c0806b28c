"""The explorer's model logic: registry, input validation, rendering, traversals, encoding, share links, facts."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from infogan import CategoricalCode, ContinuousCode, InfoGAN, InfoGANConfig, LatentSpec, explorer
from infogan.explorer import ModelRegistry

from .conftest import tiny_config


def tiny_rgb_config() -> InfoGANConfig:
    """A 32×32 RGB model with continuous codes only (like the CelebA preset, but tiny)."""
    latent = LatentSpec(noise_dim=8, codes=(ContinuousCode("smile"), ContinuousCode("pose", -2.0, 2.0)))
    return InfoGANConfig(latent=latent, image_size=32, channels=3, base_channels=8, fc_dim=0, q_hidden=16)


def save_tiny_models(folder: Path) -> Path:
    """checkpoints-like folder with "shapes" (labelled 3-way code + 1 continuous) and "faces" (RGB, 2 continuous)."""
    torch.manual_seed(0)
    meta = {
        "title": "Tiny shapes",
        "dataset": {"name": "synthetic shapes", "license": "mit", "terms": "made up for tests"},
        "training": {"steps": 10, "wall_time_minutes": 0.5, "hardware": "test CPU"},
        "metrics": {"categorical_accuracy": 0.875, "q_error": {"width": 0.25}},
        "code_notes": {"width": "stroke width"},
    }
    InfoGAN(tiny_config(labels=("circle", "square", "star"), metadata=meta)).save_pretrained(folder / "shapes")
    InfoGAN(tiny_rgb_config()).save_pretrained(folder / "faces")
    return folder


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry.from_sources(save_tiny_models(tmp_path_factory.mktemp("checkpoints")))


@pytest.fixture
def shapes(registry: ModelRegistry) -> InfoGAN:
    return registry.get("shapes")


# ---- loading ------------------------------------------------------------------------------------------------------


def test_registry_discovers_checkpoint_folders_by_name(registry: ModelRegistry, tmp_path: Path) -> None:
    assert registry.names == ["faces", "shapes"]
    assert registry.default == "faces"  # no "mnist": the first one
    assert explorer.discover_checkpoints(tmp_path / "missing") == {}
    (tmp_path / "not-a-model").mkdir()
    assert explorer.discover_checkpoints(tmp_path) == {}


def test_loading_a_name_again_is_a_no_op(registry: ModelRegistry) -> None:
    model = registry.get("shapes")
    assert registry.load("shapes", "/nonexistent") is model
    assert not model.training


def test_unknown_model_lists_the_available_ones(registry: ModelRegistry) -> None:
    with pytest.raises(ValueError, match=r"unknown model 'nope'; available models: \['faces', 'shapes'\]"):
        registry.get("nope")


def test_one_bad_model_does_not_stop_the_others(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = save_tiny_models(tmp_path)
    InfoGAN(tiny_config()).save_pretrained(folder / "truncated")
    weights = folder / "truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    (folder / "folder-config" / "config.json").mkdir(parents=True)
    (folder / "folder-config" / "model.safetensors").write_bytes(weights.read_bytes())
    (folder / "deep").mkdir()
    (folder / "deep" / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "deep" / "model.safetensors").write_bytes(b"")

    registry = ModelRegistry.from_sources(folder, hub_ids=["not a repo id!"], hub_timeout=5)
    assert registry.names == ["faces", "shapes"]
    assert set(registry.failures) == {"truncated", "folder-config", "deep", "not a repo id!"}
    assert "not a readable safetensors file" in registry.failures["truncated"]
    assert "is not a file" in registry.failures["folder-config"]
    assert "nested too deeply" in registry.failures["deep"]
    assert "nor a valid Hub repo id" in registry.failures["not a repo id!"]
    notice = registry.failure_notice()
    assert notice.startswith("**Not loaded**") and "- **truncated**: ValueError:" in notice
    assert all(name in caplog.text for name in registry.failures), "every failure is logged"
    assert ModelRegistry.from_sources(save_tiny_models(tmp_path / "good")).failure_notice() == ""


def test_hub_ids_come_from_flag_and_environment() -> None:
    env = {explorer.MODELS_ENV: "a/b, c/d"}
    assert explorer.hub_ids_from(["x/y", "a/b"], env) == ["x/y", "a/b", "c/d"]
    assert explorer.hub_ids_from(None, {}) == []


# ---- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7.0, "12", explorer.MAX_SEED])
def test_parse_seed_accepts_integers(seed: object) -> None:
    assert explorer.parse_seed(seed) == int(float(seed))


@pytest.mark.parametrize("seed", [-1, 1.5, math.nan, math.inf, 2**40, "abc", None, True])
def test_parse_seed_rejects_the_rest(seed: object) -> None:
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2147483647\]"):
        explorer.parse_seed(seed)


def test_parse_codes_accepts_dicts_json_labels_and_indices(shapes: InfoGAN) -> None:
    assert explorer.parse_codes(shapes, {"shape": "star", "width": 1.5}) == {"shape": "star", "width": 1.5}
    assert explorer.parse_codes(shapes, '{"shape": 2}') == {"shape": 2}
    assert explorer.parse_codes(shapes, None) == {} == explorer.parse_codes(shapes, " ")


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ({"colour": 1}, r"unknown code 'colour'; this model's codes are \['shape', 'width'\]"),
        ({"shape": 3}, r"category 3 is out of range; expected an index 0..2 or one of the labels"),
        ({"shape": "hexagon"}, r"unknown category 'hexagon'"),
        ({"width": "wide"}, r"code 'width': expected a number"),
        ({"width": math.nan}, r"not allowed; expected a finite number within ±10"),
        ({"width": 1e9}, r"not allowed; expected a finite number within ±10"),
        ({"width": [0.1, 0.2]}, r"give one value per code"),
        ([1, 2], r"codes must be a JSON object"),
        ("{not json", r"could not parse it"),
    ],
)
def test_parse_codes_errors_say_what_is_allowed(shapes: InfoGAN, codes: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        explorer.parse_codes(shapes, codes)


# ---- controls and rendering ---------------------------------------------------------------------------------------


def test_sliders_reach_beyond_the_prior() -> None:
    assert explorer.slider_range(ContinuousCode("c")) == (-2.0, 2.0)
    assert explorer.slider_range(ContinuousCode("c", -8.0, 8.0)) == (-10.0, 10.0)  # capped at max_abs_value


def test_dropdown_choices_show_labels() -> None:
    assert explorer.category_choices(CategoricalCode("d", 2, ("zero", "one"))) == [("zero", 0), ("one", 1)]
    assert explorer.category_choices(CategoricalCode("d", 2)) == [("category 0", 0), ("category 1", 1)]


def test_controls_round_trip_through_codes(shapes: InfoGAN) -> None:
    codes = explorer.codes_from_controls(shapes, [2], [1.25])
    assert codes == {"shape": 2, "width": 1.25}
    assert explorer.controls_from_codes(shapes, {"shape": "star", "width": 5.0}) == ([2], [2.0])  # clipped to slider
    assert explorer.controls_from_codes(shapes, {}) == ([0], [0.0])


def test_render_is_crisp_deterministic_and_responds_to_codes(shapes: InfoGAN) -> None:
    a = explorer.render(shapes, 3, {"shape": 1, "width": -1.0})
    assert a.size == (explorer.DISPLAY_SIZE, explorer.DISPLAY_SIZE) and a.mode == "L"
    pixels = np.asarray(a)
    assert (pixels[:16, :16] == pixels[0, 0]).all()  # nearest-neighbour: each model pixel is a 16×16 block
    assert np.array_equal(pixels, np.asarray(explorer.render(shapes, 3, {"shape": 1, "width": -1.0})))
    assert not np.array_equal(pixels, np.asarray(explorer.render(shapes, 3, {"shape": 1, "width": 1.0})))


def test_traversal_grid_and_frames(registry: ModelRegistry, tmp_path: Path) -> None:
    shapes = registry.get("shapes")
    grid, frames = explorer.traversal(shapes, "width", seed=0, rows="seeds", steps=5, frames=6, size=28)
    assert grid.size == ((28 + 2) * 5 + 2, (28 + 2) * 6 + 2)  # 5 columns, 6 seed rows, 2 px padding
    assert len(frames) == 6
    grid, frames = explorer.traversal(shapes, "width", seed=0, rows="shape", steps=4, size=28)
    assert grid.size[1] == (28 + 2) * 3 + 2  # one row per category
    grid, frames = explorer.traversal(shapes, "shape", seed=0, codes={"shape": 1, "width": 0.5})
    assert len(frames) == 3  # categorical: one frame per category
    with pytest.raises(ValueError, match="rows and columns both sweep 'shape'"):
        explorer.traversal(shapes, "shape", seed=0, rows="shape")
    store = explorer.AnimationStore(keep=2)
    paths = [store.save(frames, "t") for _ in range(3)]
    assert Image.open(paths[-1]).n_frames == 4  # there and back: 3 + 1
    assert sorted(store.folder.iterdir()) == sorted(paths[1:])


# ---- encoding -----------------------------------------------------------------------------------------------------


def test_sketch_preprocessing_inverts_crops_and_centres(shapes: InfoGAN) -> None:
    drawing = Image.new("RGBA", (280, 280), (0, 0, 0, 0))  # sketchpad: transparent with dark strokes
    ImageDraw.Draw(drawing).line([(20, 20), (120, 120)], fill=(0, 0, 0, 255), width=20)
    x = explorer.preprocess_for_q(explorer.sketch_to_image({"composite": drawing}), shapes, sketch=True)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    assert x[0, 0, 0, 0] == 0 and x.max() > 0.9  # black background, bright strokes
    ys, xs = torch.nonzero(x[0, 0] > 0.5, as_tuple=True)
    assert abs(ys.float().mean() - 13.5) < 2 and abs(xs.float().mean() - 13.5) < 2  # centred


def test_upload_preprocessing_for_rgb_models(registry: ModelRegistry) -> None:
    faces = registry.get("faces")
    x = explorer.preprocess_for_q(Image.new("RGB", (100, 60), (255, 0, 0)), faces)
    assert x.shape == (1, 3, 32, 32)
    assert torch.allclose(x[0, :, 5, 5], torch.tensor([1.0, 0.0, 0.0]))  # colours kept, no inversion


def test_blank_sketch_is_detected() -> None:
    assert explorer.is_blank(None)
    assert explorer.is_blank(explorer.sketch_to_image({"composite": None}))
    assert explorer.is_blank(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))
    assert not explorer.is_blank(_dot())


def _dot() -> Image.Image:
    image = Image.new("L", (50, 50), 0)
    ImageDraw.Draw(image).ellipse([10, 10, 30, 30], fill=255)
    return image


def test_infer_returns_probabilities_and_values(shapes: InfoGAN) -> None:
    inferred = explorer.infer(shapes, shapes.generate(1, seed=0))
    assert set(inferred) == {"shape", "width"}
    assert list(inferred["shape"]) == ["circle", "square", "star"]
    assert sum(inferred["shape"].values()) == pytest.approx(1.0, abs=1e-5)
    codes = explorer.codes_from_inference(shapes, inferred)
    assert codes["shape"] in (0, 1, 2) and isinstance(codes["width"], float)
    explorer.parse_codes(shapes, codes)


# ---- sharing and facts --------------------------------------------------------------------------------------------


def test_share_link_round_trip(registry: ModelRegistry) -> None:
    query = explorer.share_query("shapes", 42, {"shape": "star", "width": -1.5})
    assert query == "?model=shapes&seed=42&shape=star&width=-1.5"
    params = dict(p.split("=") for p in query[1:].split("&"))
    state = explorer.state_from_query(registry, params)
    assert state == explorer.ExploreState("shapes", 42, {"shape": "star", "width": -1.5})
    assert explorer.state_from_query(registry, {"model": "shapes", "shape": "2"}).codes == {"shape": 2}
    # Given the model, indices from the dropdowns are written as labels.
    shapes = registry.get("shapes")
    assert explorer.share_query("shapes", 1, {"shape": 2}, shapes) == "?model=shapes&seed=1&shape=star"


def test_share_link_prefers_a_label_over_an_index(registry: ModelRegistry) -> None:
    """With digit-like labels ("7" drawn by category 2), `digit=7` in a link means the label, not index 7."""
    shapes = registry.get("shapes")
    code = shapes.config.latent.code("shape")
    codes = tuple(replace(c, labels=("5", "7", "0")) if c is code else c for c in shapes.config.latent.codes)
    relabelled = shapes.config.with_latent(replace(shapes.config.latent, codes=codes))
    digits = InfoGAN(relabelled)
    local = ModelRegistry()
    local.add("digits", digits)
    assert explorer.state_from_query(local, {"model": "digits", "shape": "0"}).codes == {"shape": "0"}
    assert explorer.share_query("digits", 3, {"shape": 2}, digits) == "?model=digits&seed=3&shape=0"


def test_stale_or_bad_links_fall_back_to_defaults(registry: ModelRegistry) -> None:
    state = explorer.state_from_query(registry, {"model": "gone", "seed": "-3", "width": "nan", "smile": "1e9"})
    assert state == explorer.ExploreState("faces", 0, {})


def test_model_facts_show_card_metadata(registry: ModelRegistry) -> None:
    facts = explorer.model_facts(registry.get("shapes"), "shapes")
    expected = ["Tiny shapes", "synthetic shapes", "circle, square, star", "stroke width", "steps: 10",
                "training time: 0.5 min", "on test CPU", "categorical accuracy: 0.875",
                "q error › width: 0.25"]  # fmt: skip
    for text in expected:
        assert text in facts
    assert "none recorded" in explorer.model_facts(registry.get("faces"), "faces")
