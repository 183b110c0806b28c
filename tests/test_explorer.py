"""The explorer's model logic: registry, input validation, rendering, traversals, encoding, share links, facts."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from infogan import CategoricalCode, ContinuousCode, InfoGAN, InfoGANConfig, LatentSpec
from infogan.explorer.codes import (
    MAX_SEED,
    ExploreState,
    category_choices,
    category_purity,
    codes_from_controls,
    comparable_codes,
    controls_from_codes,
    parse_codes,
    parse_seed,
    share_query,
    slider_range,
    state_from_query,
)
from infogan.explorer.encoding import (
    codes_from_inference,
    encode_hint,
    infer,
    is_blank,
    preprocess_for_q,
    q_view,
    sketch_to_image,
)
from infogan.explorer.facts import model_facts
from infogan.explorer.outputs import OutputStore, download_stem
from infogan.explorer.registry import MODELS_ENV, ModelRegistry, discover_checkpoints, hub_ids_from
from infogan.explorer.rendering import DISPLAY_SIZE, generate_file, render, traversal
from infogan.export import visualize

from .conftest import tiny_config


def tiny_rgb_config() -> InfoGANConfig:
    """A 32×32 RGB model with continuous codes only (like the CelebA preset, but tiny)."""
    latent = LatentSpec(noise_dim=8, codes=(ContinuousCode("smile"), ContinuousCode("pose", -2.0, 2.0)))
    return InfoGANConfig(latent=latent, image_size=32, channels=3, base_channels=8, fc_dim=0, q_hidden=16)


def save_tiny_models(folder: Path) -> Path:
    """checkpoints-like folder with "shapes" (labelled 3-way code + 1 continuous, with category purity), its λ = 0
    baseline "shapes-lambda0" (same architecture, no labels) and "faces" (RGB, 2 continuous)."""
    torch.manual_seed(0)
    meta = {
        "title": "Tiny shapes",
        "dataset": {"name": "synthetic shapes", "license": "mit", "terms": "made up for tests"},
        "training": {"steps": 10, "wall_time_minutes": 0.5, "hardware": "test CPU"},
        "metrics": {"categorical_accuracy": 0.875, "q_error": {"width": 0.25}},
        "code_notes": {"width": "stroke width"},
        "category_purity": {"shape": [0.98, 0.45, 0.9]},
    }
    InfoGAN(tiny_config(labels=("circle", "square", "star"), metadata=meta)).save_pretrained(folder / "shapes")
    baseline = {"training": {"lambda_categorical": 0.0, "lambda_continuous": 0.0}, "baseline_for": "shapes"}
    InfoGAN(tiny_config(metadata=baseline)).save_pretrained(folder / "shapes-lambda0")
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
    assert registry.names == ["faces", "shapes", "shapes-lambda0"]
    assert registry.baseline_for("shapes") == "shapes-lambda0" and registry.baseline_for("faces") is None
    assert registry.default == "faces"  # no "mnist": the first one
    assert discover_checkpoints(tmp_path / "missing") == {}
    (tmp_path / "not-a-model").mkdir()
    assert discover_checkpoints(tmp_path) == {}


def test_loading_a_name_again_is_a_no_op(registry: ModelRegistry) -> None:
    model = registry.get("shapes")
    assert registry.load("shapes", "/nonexistent") is model
    assert not model.training


def test_unknown_model_lists_the_available_ones(registry: ModelRegistry) -> None:
    with pytest.raises(
        ValueError, match=r"unknown model 'nope'; available models: \['faces', 'shapes', 'shapes-lambda0'\]"
    ):
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
    assert registry.names == ["faces", "shapes", "shapes-lambda0"]
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
    env = {MODELS_ENV: "a/b, c/d"}
    assert hub_ids_from(["x/y", "a/b"], env) == ["x/y", "a/b", "c/d"]
    assert hub_ids_from(None, {}) == []


# ---- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7.0, "12", MAX_SEED])
def test_parse_seed_accepts_integers(seed: object) -> None:
    assert parse_seed(seed) == int(float(seed))


@pytest.mark.parametrize("seed", [-1, 1.5, math.nan, math.inf, 2**40, "abc", None, True])
def test_parse_seed_rejects_the_rest(seed: object) -> None:
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2147483647\]"):
        parse_seed(seed)


def test_parse_codes_accepts_dicts_json_labels_and_indices(shapes: InfoGAN) -> None:
    assert parse_codes(shapes, {"shape": "star", "width": 1.5}) == {"shape": "star", "width": 1.5}
    assert parse_codes(shapes, '{"shape": 2}') == {"shape": 2}
    assert parse_codes(shapes, None) == {} == parse_codes(shapes, " ")


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
        parse_codes(shapes, codes)


# ---- controls and rendering ---------------------------------------------------------------------------------------


def test_sliders_reach_beyond_the_prior() -> None:
    assert slider_range(ContinuousCode("c")) == (-2.0, 2.0)
    assert slider_range(ContinuousCode("c", -8.0, 8.0)) == (-10.0, 10.0)  # capped at max_abs_value


def test_dropdown_choices_show_labels_in_label_order_with_purity() -> None:
    assert category_choices(CategoricalCode("d", 2, ("zero", "one"))) == [("one", 1), ("zero", 0)]
    assert category_choices(CategoricalCode("d", 2)) == [("category 0", 0), ("category 1", 1)]
    digits = CategoricalCode("digit", 4, ("4", "10", "2", "Shirt/Coat?"))
    assert [i for _, i in category_choices(digits)] == [2, 0, 1, 3]  # numbers numerically, then words
    texts = [t for t, _ in category_choices(digits, [0.98, 0.7, 0.6, 0.41])]
    assert texts == ["2 (60 %)", "4 (98 %)", "10 (70 %)", "Shirt/Coat? (41 %, mixed)"]


def test_purity_comes_from_config_metadata(registry: ModelRegistry) -> None:
    assert category_purity(registry.get("shapes"), "shape") == [0.98, 0.45, 0.9]
    assert category_purity(registry.get("shapes-lambda0"), "shape") is None  # no metadata: no purity
    shapes = registry.get("shapes")
    code = shapes.config.latent.code("shape")
    assert visualize.purity_notes(shapes, code, [2, 0, 1]) == ["90 %", "98 %", "45 % mixed"]  # traversal headers
    assert visualize.purity_notes(registry.get("shapes-lambda0"), code, [0, 1, 2]) is None


def test_controls_round_trip_through_codes(shapes: InfoGAN) -> None:
    codes = codes_from_controls(shapes, [2], [1.25])
    assert codes == {"shape": 2, "width": 1.25}
    assert controls_from_codes(shapes, {"shape": "star", "width": 5.0}) == ([2], [2.0])  # clipped to slider
    assert controls_from_codes(shapes, {}) == ([0], [0.0])


def test_render_is_crisp_deterministic_and_responds_to_codes(shapes: InfoGAN) -> None:
    a = render(shapes, 3, {"shape": 1, "width": -1.0})
    assert a.size == (DISPLAY_SIZE, DISPLAY_SIZE) and a.mode == "L"
    pixels = np.asarray(a)
    assert (pixels[:16, :16] == pixels[0, 0]).all()  # nearest-neighbour: each model pixel is a 16×16 block
    assert np.array_equal(pixels, np.asarray(render(shapes, 3, {"shape": 1, "width": -1.0})))
    assert not np.array_equal(pixels, np.asarray(render(shapes, 3, {"shape": 1, "width": 1.0})))


def test_traversal_grid_and_frames_are_labelled(registry: ModelRegistry, tmp_path: Path) -> None:
    shapes = registry.get("shapes")
    grid, frames = traversal(shapes, "width", seed=0, rows="seeds", steps=5, frames=6, size=28 * 5)
    assert grid.mode == "RGB" and grid.size[0] > 5 * 28 and grid.size[1] > 6 * 28  # 5 columns, 6 rows + labels
    assert len(frames) == 6 and frames[0].size == frames[-1].size
    assert frames[0].size[0] < frames[0].size[1] * 2  # 6 rows as 3 × 2 tiles, not 5 + 1
    prior = np.asarray(grid)[:, :, 2] > np.asarray(grid)[:, :, 0] + 20  # the blue prior band exists
    assert prior.any()
    grid, frames = traversal(shapes, "width", seed=0, rows="shape", steps=4, size=28)
    grid, frames = traversal(shapes, "shape", seed=0, codes={"shape": 1, "width": 0.5})
    assert len(frames) == 3  # categorical: one frame per category
    with pytest.raises(ValueError, match="rows and columns both sweep 'shape'"):
        traversal(shapes, "shape", seed=0, rows="shape")


def test_traversal_columns_and_rows_follow_label_order(registry: ModelRegistry) -> None:
    """A relabelled model (category 0 draws "c") shows columns a, b, c: the images move, not just the labels."""
    shapes = registry.get("shapes")
    relabelled = _relabel(shapes, ("c", "a", "b"))
    ours = visualize.traversal_images(relabelled, "shape", rows=1, values=visualize.column_values(
        relabelled.config.latent.code("shape")))  # fmt: skip
    theirs = visualize.traversal_images(shapes, "shape", rows=1, values=[1, 2, 0])
    assert torch.equal(ours, theirs)


def test_row_and_column_labels_say_what_they_show() -> None:
    code = ContinuousCode("slant")
    values = visualize.column_values(code, steps=5, span=2.0)
    assert visualize.column_labels(code, values) == ["-2", "-1", "0", "+1", "+2"]
    assert visualize.prior_mask(code, values) == [False, True, True, True, False]
    assert [visualize.balanced_columns(n) for n in (1, 3, 6, 7, 10)] == [1, 3, 3, 4, 5]
    caption = visualize.traversal_caption(code, "tilt", "rows: x")
    assert caption.startswith("slant: tilt\n") and "prior -1…1" in caption


def test_card_previews_are_labelled(registry: ModelRegistry, tmp_path: Path) -> None:
    from infogan.export.model_card import write_preview_images

    shapes = registry.get("shapes")
    names = write_preview_images(shapes, tmp_path)
    preview = Image.open(tmp_path / "traversal_width.png")
    assert names == ["samples.png", "traversal_shape.png", "traversal_width.png"]
    assert preview.mode == "RGB" and preview.width > 9 * 28 * 2  # 9 values at ≥ 2× plus row labels
    band = np.asarray(preview)[:, :, 2].astype(int) - np.asarray(preview)[:, :, 0]
    assert (band > 20).any()  # the prior is shaded


def test_output_store_names_files_and_keeps_the_newest(registry: ModelRegistry) -> None:
    shapes = registry.get("shapes")
    stem = download_stem("shapes", 42, {"shape": 2, "width": 1.5}, shapes)
    assert stem == "shapes_seed42_shape-star_width+1.5"
    assert download_stem("a/b", 1, {"x": -0.25}) == "a-b_seed1_x-0.25"
    store = OutputStore(keep=2)
    _, frames = traversal(shapes, "shape", seed=0)
    paths = [store.save_animation(frames, "t") for _ in range(3)]
    assert paths[-1].name == "t.gif" and Image.open(paths[-1]).n_frames == 4  # there and back: 3 + 1
    assert sorted(store.folder.iterdir()) == sorted(p.parent for p in paths[1:])
    png = store.save_image(render(shapes, 0, {}), stem)
    assert png.name == f"{stem}.png" and Image.open(png).format == "PNG"


def test_baseline_comparison_uses_the_same_latent_inputs(registry: ModelRegistry) -> None:
    shapes, baseline = registry.get("shapes"), registry.get("shapes-lambda0")
    assert comparable_codes(baseline, {"shape": "star", "width": 0.5}, shapes) == {"shape": 2, "width": 0.5}
    with pytest.raises(ValueError, match="cannot be compared"):
        comparable_codes(registry.get("faces"), {}, shapes)


def test_generate_file_validates_and_names_the_png(registry: ModelRegistry) -> None:
    store = OutputStore()
    path = generate_file(registry, store, "shapes", 3, '{"shape": "star"}')
    assert path.name == "shapes_seed3_shape-star.png"
    with pytest.raises(ValueError, match="Model 'shapes' takes: shape: categorical"):
        generate_file(registry, store, "shapes", 3, {"shape": 9})


def _relabel(model: InfoGAN, labels: tuple[str, ...]) -> InfoGAN:
    code = model.config.latent.code("shape")
    codes = tuple(replace(c, labels=labels) if c is code else c for c in model.config.latent.codes)
    relabelled = InfoGAN(model.config.with_latent(replace(model.config.latent, codes=codes)))
    relabelled.load_state_dict(model.state_dict())
    return relabelled.eval()


# ---- encoding -----------------------------------------------------------------------------------------------------


def test_sketch_preprocessing_inverts_crops_and_centres(shapes: InfoGAN) -> None:
    drawing = Image.new("RGBA", (280, 280), (0, 0, 0, 0))  # sketchpad: transparent with dark strokes
    ImageDraw.Draw(drawing).line([(20, 20), (120, 120)], fill=(0, 0, 0, 255), width=20)
    x = preprocess_for_q(sketch_to_image({"composite": drawing}), shapes, sketch=True)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    assert x[0, 0, 0, 0] == 0 and x.max() > 0.9  # black background, bright strokes
    ys, xs = torch.nonzero(x[0, 0] > 0.5, as_tuple=True)
    assert abs(ys.float().mean() - 13.5) < 2 and abs(xs.float().mean() - 13.5) < 2  # centred


def test_upload_preprocessing_for_rgb_models(registry: ModelRegistry) -> None:
    faces = registry.get("faces")
    x = preprocess_for_q(Image.new("RGB", (100, 60), (255, 0, 0)), faces)
    assert x.shape == (1, 3, 32, 32)
    assert torch.allclose(x[0, :, 5, 5], torch.tensor([1.0, 0.0, 0.0]))  # colours kept, no inversion


def test_blank_sketch_is_detected() -> None:
    assert is_blank(None)
    assert is_blank(sketch_to_image({"composite": None}))
    assert is_blank(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))
    assert not is_blank(_dot())


def _dot() -> Image.Image:
    image = Image.new("L", (50, 50), 0)
    ImageDraw.Draw(image).ellipse([10, 10, 30, 30], fill=255)
    return image


def test_encode_speaks_the_models_language(registry: ModelRegistry) -> None:
    text, label = encode_hint(registry.get("shapes"), "shapes")
    assert label == "Draw a shape" and "synthetic shapes" in text and "28×28 greyscale" in text
    text, label = encode_hint(registry.get("faces"), "faces")
    assert "Upload a photo" in text and "32×32 colour" in text
    view = q_view(torch.rand(1, 1, 28, 28))
    assert view.size == (224, 224)  # what Q received, enlarged with whole pixels


def test_infer_returns_probabilities_and_values(shapes: InfoGAN) -> None:
    inferred = infer(shapes, shapes.generate(1, seed=0))
    assert set(inferred) == {"shape", "width"}
    assert list(inferred["shape"]) == ["circle", "square", "star"]
    assert sum(inferred["shape"].values()) == pytest.approx(1.0, abs=1e-5)
    codes = codes_from_inference(shapes, inferred)
    assert codes["shape"] in (0, 1, 2) and isinstance(codes["width"], float)
    parse_codes(shapes, codes)


# ---- sharing and facts --------------------------------------------------------------------------------------------


def test_share_link_round_trip(registry: ModelRegistry) -> None:
    query = share_query("shapes", 42, {"shape": "star", "width": -1.5})
    assert query == "?model=shapes&seed=42&shape=star&width=-1.5"
    params = dict(p.split("=") for p in query[1:].split("&"))
    state = state_from_query(registry, params)
    assert state == ExploreState("shapes", 42, {"shape": "star", "width": -1.5}, ())
    assert state_from_query(registry, {"model": "shapes", "shape": "2"}).codes == {"shape": 2}
    # Given the model, indices from the dropdowns are written as labels.
    shapes = registry.get("shapes")
    assert share_query("shapes", 1, {"shape": 2}, shapes) == "?model=shapes&seed=1&shape=star"


def test_share_link_prefers_a_label_over_an_index(registry: ModelRegistry) -> None:
    """With digit-like labels ("7" drawn by category 2), `digit=7` in a link means the label, not index 7."""
    shapes = registry.get("shapes")
    code = shapes.config.latent.code("shape")
    codes = tuple(replace(c, labels=("5", "7", "0")) if c is code else c for c in shapes.config.latent.codes)
    relabelled = shapes.config.with_latent(replace(shapes.config.latent, codes=codes))
    digits = InfoGAN(relabelled)
    local = ModelRegistry()
    local.add("digits", digits)
    assert state_from_query(local, {"model": "digits", "shape": "0"}).codes == {"shape": "0"}
    assert share_query("digits", 3, {"shape": 2}, digits) == "?model=digits&seed=3&shape=0"


def test_stale_or_bad_links_fall_back_to_defaults_and_say_so(registry: ModelRegistry) -> None:
    state = state_from_query(registry, {"model": "gone", "seed": "-3", "width": "nan", "smile": "1e9"})
    assert (state.model_name, state.seed, state.codes) == ("faces", 0, {})
    assert state.notices[:2] == ("model 'gone' is not loaded here: showing 'faces'",
                                 "seed '-3' is not an integer in [0, 2147483647]: using 0")  # fmt: skip
    assert "smile='1e9' ignored" in state.notices[2] and "unknown parameter 'width' ignored" in state.notices
    clamped = state_from_query(registry, {"model": "shapes", "width": "5", "view": "api"})
    assert clamped.codes == {"width": 5.0}
    assert clamped.notices == ("width=5 is beyond the slider's -2 … 2: shown at the nearest end",)
    assert state_from_query(registry, {"model": "shapes", "seed": "3"}).notices == ()


def test_model_facts_show_card_metadata(registry: ModelRegistry) -> None:
    facts = model_facts(registry.get("shapes"), "shapes")
    expected = ["Tiny shapes", "synthetic shapes", "circle (98 %), square (45 %, mixed), star (90 %)",
                "stroke width", "steps: 10",
                "training time: 0.5 min", "on test CPU", "categorical accuracy: 0.875",
                "q error › width: 0.25"]  # fmt: skip
    for text in expected:
        assert text in facts
    assert "none recorded" in model_facts(registry.get("faces"), "faces")
    assert "Measured metrics" not in model_facts(registry.get("shapes"), "shapes", raw_metrics=False)


def test_long_column_labels_shrink_or_wrap_to_their_column() -> None:
    from PIL import Image, ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = ["Bag", "Boot/Sneaker?", "Coat/Pullover?"]
    width = lambda text, face: draw.textlength(text, font=face)  # noqa: E731
    lines, face = visualize.column_label_lines(draw, labels, 200)
    assert lines == [[label] for label in labels] and face.size == 13  # room enough: one line, the usual font
    lines, face = visualize.column_label_lines(draw, labels, 80)  # a 28 px image at 2x + gap, as in the cards
    assert all(width(line, face) <= 80 for label_lines in lines for line in label_lines)
    lines, face = visualize.column_label_lines(draw, labels, 50)  # too narrow for any font: broken after the "/"
    assert lines[1] == ["Boot/", "Sneaker?"] and lines[2] == ["Coat/", "Pullover?"] and lines[0] == ["Bag"]
    images = torch.zeros(1, 3, 1, 28, 28)  # 28 px columns: the long labels need a second line, one line higher
    wrapped = visualize.draw_traversal(images, labels, ["#1"], "caption", scale=1)
    short = visualize.draw_traversal(images, ["a", "b", "c"], ["#1"], "caption", scale=1)
    assert wrapped.height == short.height + 13 and wrapped.width == short.width
