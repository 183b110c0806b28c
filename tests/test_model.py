"""The InfoGAN object: `generate`, `infer_codes`, and the checkpoint folder format (save → load, corrupt files)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from infogan import InfoGAN
from infogan import model as model_module
from tests.conftest import tiny_config

CHECKPOINT_FILES = {"config.json", "model.safetensors", "README.md", "samples.png", "traversal_shape.png",
                    "traversal_width.png"}  # fmt: skip


# ---- generate -----------------------------------------------------------------------------------------------------


def test_generate_shape_range_and_determinism(model: InfoGAN) -> None:
    images = model.generate(5, seed=7)
    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, model.generate(5, seed=7))
    assert not torch.equal(images, model.generate(5, seed=8))
    assert torch.equal(model.generate(1, seed=3, codes={"shape": 1}), model.generate(1, seed=3, codes={"shape": 1}))


def test_generate_restores_training_mode_and_does_not_track_grads(model: InfoGAN) -> None:
    model.train()
    images = model.generate(2, seed=0)
    assert model.training and not images.requires_grad
    model.eval()
    assert torch.equal(images, model.generate(2, seed=0)), "generate must use eval-mode batch norm"


def test_fixing_one_code_leaves_every_other_draw_unchanged(model: InfoGAN) -> None:
    free = model.latent_values(4, seed=11)
    fixed = model.latent_values(4, seed=11, codes={"shape": 2, "width": 1.5})
    assert torch.equal(free["z"], fixed["z"])
    assert torch.equal(fixed["shape"], torch.tensor([2, 2, 2, 2]))
    assert torch.equal(fixed["width"], torch.full((4,), 1.5))
    only_shape = model.latent_values(4, seed=11, codes={"shape": 0})
    assert torch.equal(only_shape["width"], free["width"]), "fixing shape must not re-draw width"


def test_changing_one_code_changes_the_image(model: InfoGAN) -> None:
    a = model.generate(1, seed=0, codes={"shape": 0, "width": -2.0})
    b = model.generate(1, seed=0, codes={"shape": 0, "width": 2.0})  # ±2: beyond the prior, allowed
    c = model.generate(1, seed=0, codes={"shape": 1, "width": -2.0})
    assert not torch.equal(a, b) and not torch.equal(a, c)


def test_categorical_codes_accept_labels(model: InfoGAN) -> None:
    labelled = InfoGAN(tiny_config(labels=("bar", "pillar", "blob")))
    labelled.load_state_dict(model.state_dict())
    assert torch.equal(labelled.generate(2, seed=1, codes={"shape": "pillar"}), model.generate(2, 1, {"shape": 1}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codes": {"width": math.nan}}, r"code 'width'.*finite number within ±10"),
        ({"codes": {"width": math.inf}}, r"code 'width'.*finite number within ±10"),
        ({"codes": {"shape": 3}}, r"code 'shape'.*out of range; expected an index 0\.\.2"),
        ({"codes": {"shape": "square"}}, r"code 'shape': unknown category 'square'"),
        ({"codes": {"colour": 1}}, r"unknown code 'colour'; this model's codes are \['shape', 'width'\]"),
        ({"codes": {"shape": [0, 1]}, "n": 3}, "got 2 values for 3 samples"),
        ({"n": 0}, r"n must be an integer in \[1, 4096\]"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
    ],
)
def test_generate_rejects_bad_input_with_value_error(model: InfoGAN, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.generate(**{"n": 1, "seed": 0, **kwargs})


def test_infer_codes_shapes_and_values(model: InfoGAN) -> None:
    out = model.infer_codes(model.generate(6, seed=0))
    assert out.keys() == {"shape", "width"}
    assert out["shape"].shape == (6, 3) and torch.allclose(out["shape"].sum(1), torch.ones(6))
    assert out["width"].shape == (6,)
    with pytest.raises(ValueError, match=r"expected images of shape \(n, 1, 28, 28\)"):
        model.infer_codes(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match="NaN or inf"):
        model.infer_codes(torch.full((1, 1, 28, 28), math.nan))


# ---- checkpoint folder --------------------------------------------------------------------------------------------


def test_save_writes_exactly_the_checkpoint_files(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == CHECKPOINT_FILES
    saved = json.loads((tmp_path / "config.json").read_text())
    digest = hashlib.sha256((tmp_path / "model.safetensors").read_bytes()).hexdigest()
    assert saved["metadata"].pop("weights_sha256") == digest  # the file's hash, recorded beside the config
    assert saved == model.config.to_dict() and "weights_sha256" not in model.config.metadata
    assert load_file(tmp_path / "model.safetensors").keys() == model.state_dict().keys()
    for name in ("model.safetensors", "config.json", "README.md"):  # readable by a web server or another user
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_model_card_has_hub_metadata_header(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    text = (tmp_path / "README.md").read_text()
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["library_name"] == "infogan-explorer"
    assert header["pipeline_tag"] == "unconditional-image-generation"
    assert header["license"] == "mit"
    assert {"infogan", "gan"} <= set(header["tags"])
    for image in ("samples.png", "traversal_shape.png", "traversal_width.png"):
        assert f"]({image})" in text, f"the card should show {image}"


def test_save_load_round_trip_gives_identical_outputs(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    loaded = InfoGAN.from_pretrained(tmp_path)
    assert loaded.config == model.config and not loaded.training
    assert torch.equal(
        loaded.generate(8, seed=5, codes={"width": 2.0}), model.generate(8, seed=5, codes={"width": 2.0})
    )
    images = model.generate(4, seed=1)
    for name, value in loaded.infer_codes(images).items():
        assert torch.equal(value, model.infer_codes(images)[name])


def test_resaving_after_renaming_a_code_removes_its_stale_traversal(model: InfoGAN, tmp_path: Path) -> None:
    from infogan.export.annotate import rename_codes

    model.save_pretrained(tmp_path)
    model.config = rename_codes(model.config, {"width": "thickness"})
    model.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == CHECKPOINT_FILES - {"traversal_width.png"} | {
        "traversal_thickness.png"
    }


def test_missing_files_raise_file_not_found_naming_folder(model: InfoGAN, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"no model.safetensors in {tmp_path}"):
        InfoGAN.from_pretrained(tmp_path)
    model.save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=f"no config.json in {tmp_path}"):
        InfoGAN.from_pretrained(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_weights_raise_clear_value_error(model: InfoGAN, tmp_path: Path, damage: str) -> None:
    model.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"\x00not safetensors" * 64, "empty": b""}[damage]
    )
    with pytest.raises(ValueError, match=r"not a readable safetensors file.*truncated or corrupt"):
        InfoGAN.from_pretrained(tmp_path)


def test_weights_from_a_different_config_raise_value_error(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["q_hidden"] = 32  # same keys, different shapes
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"has shape .* but the config needs"):
        InfoGAN.from_pretrained(tmp_path)
    config["q_hidden"], config["fc_dim"] = 16, 0  # no FC layer: different keys
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"does not match its config\.json: missing"):
        InfoGAN.from_pretrained(tmp_path)


def drop_weights_hash(folder: Path) -> None:
    """Make `folder` look like a checkpoint saved before hashes were recorded (so the checks after it are reached)."""
    config = json.loads((folder / "config.json").read_text())
    del config["metadata"]["weights_sha256"]
    (folder / "config.json").write_text(json.dumps(config))


def test_extra_or_non_finite_tensors_raise_value_error(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    drop_weights_hash(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    save_file({**state, "extra.weight": torch.zeros(1)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"unexpected \['extra.weight'\]"):
        InfoGAN.from_pretrained(tmp_path)
    state["q_head.layers.3.bias"] = torch.full_like(state["q_head.layers.3.bias"], math.nan)
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"'q_head\.layers\.3\.bias' contains NaN or inf"):
        InfoGAN.from_pretrained(tmp_path)


def test_corrupt_config_raises_value_error(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"latent": ')
    with pytest.raises(ValueError, match=r"config\.json is not valid JSON"):
        InfoGAN.from_pretrained(tmp_path)


def test_constructor_requires_a_config() -> None:
    with pytest.raises(TypeError, match="expects an InfoGANConfig, got dict"):
        InfoGAN(tiny_config().to_dict())  # type: ignore[arg-type]


# ---- hostile or damaged checkpoints (issue 9): checked before anything big is built or read ------------------------


def test_a_bit_flip_in_the_weights_fails_the_recorded_hash(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0x01  # one bit of one float: still a valid file with finite values
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"does not match the SHA-256 recorded in its config\.json"):
        InfoGAN.from_pretrained(tmp_path)


def test_a_checkpoint_saved_without_a_hash_still_loads(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    drop_weights_hash(tmp_path)  # as written before hashes were recorded
    config = json.loads((tmp_path / "config.json").read_text())
    assert torch.equal(InfoGAN.from_pretrained(tmp_path).generate(2, seed=0), model.generate(2, seed=0))
    config["metadata"]["weights_sha256"] = "not a hash"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="weights_sha256 must be a 64-digit hex SHA-256"):
        InfoGAN.from_pretrained(tmp_path)


def test_a_huge_config_is_refused_before_the_model_is_built(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    # Every field within its own limit, together ~1.5 G values (6 GB): built before the check, this took 29 s.
    config.update(image_size=64, channels=3, base_channels=512, fc_dim=8192, q_hidden=4096)
    (tmp_path / "config.json").write_text(json.dumps(config))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"network of [\d,]+ values, more than the 50,000,000 allowed"):
        InfoGAN.from_pretrained(tmp_path)
    assert time.perf_counter() - start < 5


def test_header_shapes_are_checked_before_any_tensor_is_read(
    model: InfoGAN, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["q_hidden"] = 32
    (tmp_path / "config.json").write_text(json.dumps(config))

    def no_full_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the weights were read before the header was checked")

    monkeypatch.setattr(model_module, "load_file", no_full_load)
    with pytest.raises(ValueError, match=r"'q_head\.layers\.0\.weight' has shape \(16, 64\) but the config needs"):
        InfoGAN.from_pretrained(tmp_path)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda c: c.replace('"metadata": {', f'"metadata": {{"deep": {_nested(100_000)},', 1), "nested too deeply"),
        (lambda c: c.replace('"metadata": {', f'"metadata": {{"deep": {_nested(40)},', 1), "deeper than 32 levels"),
        (lambda c: "[1, 2, 3]", "config must be a JSON object, got list"),
        (lambda c: c.replace('"image_size": 28', '"image_size": ' + "9" * 5000), "not valid JSON"),
        (lambda c: c.replace('"image_size": 28', '"image_size": "28"'), "image_size must be one of"),
        (lambda c: c.replace('"latent": {', '"latent": {"x' + "y" * 100_000 + '": 1, ', 1), "unknown key"),
        (lambda c: c + " " * 1_000_001, r"is 1,00\d,\d{3} bytes.*not a config file"),
        (lambda c: c.replace('"codes": [', '"codes": [' + '{"name": "a", "kind": "categorical"},', 1), "missing key"),
        (lambda c: b"\xff\xfe".decode("latin-1") + c, "not valid JSON"),
    ],
    ids=[
        "nested-100000",
        "metadata-depth-40",
        "list",
        "huge-int",
        "string-size",
        "huge-key",
        "1-MB",
        "no-size",
        "junk-prefix",
    ],
)
def test_every_malformed_config_is_one_short_value_error(
    model: InfoGAN, tmp_path: Path, content: object, message: str
) -> None:
    model.save_pretrained(tmp_path)
    original = (tmp_path / "config.json").read_text()
    (tmp_path / "config.json").write_text(content(original))  # type: ignore[operator]
    with pytest.raises(ValueError, match=message) as caught:
        InfoGAN.from_pretrained(tmp_path)
    assert len(str(caught.value)) < 1000, "errors must not echo huge inputs back whole"


def test_config_json_that_is_a_folder_is_a_value_error(model: InfoGAN, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    (tmp_path / "config.json").mkdir()
    with pytest.raises(ValueError, match=r"config\.json is not a file"):
        InfoGAN.from_pretrained(tmp_path)


def test_a_mistyped_local_path_is_reported_without_asking_the_hub(
    model: InfoGAN, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model.save_pretrained(tmp_path / "checkpoints" / "mnist")
    monkeypatch.chdir(tmp_path)

    def no_hub(*args: object, **kwargs: object) -> None:
        raise AssertionError("a path-like name must not be looked up on the Hub")

    monkeypatch.setattr(model_module, "hf_hub_download", no_hub)
    for name in ("checkpoints/mnsit", "./mnist", "checkpoints/mnist/extra", str(tmp_path / "nothing")):
        with pytest.raises(FileNotFoundError, match="no such local folder"):
            InfoGAN.from_pretrained(name)
    with pytest.raises(FileNotFoundError, match="checkpoints holds: mnist"):
        InfoGAN.from_pretrained("checkpoints/mnsit")
    assert InfoGAN.from_pretrained(os.path.join("checkpoints", "mnist")).config == model.config


def test_fuzzed_checkpoints_load_or_fail_with_one_clear_error(model: InfoGAN, tmp_path: Path) -> None:
    """200 seeded corruptions of a saved checkpoint (truncations, byte flips in the safetensors header and data,
    damaged config text): each either loads the original weights or raises ValueError/FileNotFoundError."""
    import random

    model.save_pretrained(tmp_path / "good")
    weights, config = (
        (tmp_path / "good" / "model.safetensors").read_bytes(),
        (tmp_path / "good" / "config.json").read_text(),
    )
    header_end = 8 + int.from_bytes(weights[:8], "little")
    rng = random.Random(0)
    outcomes: dict[str, int] = {}
    for i in range(200):
        w, c = bytearray(weights), config
        kind = ["truncate", "header-byte", "data-byte", "config-cut", "config-byte"][i % 5]
        if kind == "truncate":
            w = w[: rng.randrange(len(w))]
        elif kind == "header-byte":
            w[rng.randrange(header_end)] = rng.randrange(256)
        elif kind == "data-byte":
            w[rng.randrange(header_end, len(w))] ^= 1 << rng.randrange(8)
        elif kind == "config-cut":
            c = c[: rng.randrange(len(c))]
        else:
            at = rng.randrange(len(c))
            c = c[:at] + rng.choice('{}[]":,0-e9xé\\') + c[at + 1 :]
        folder = tmp_path / f"case{i}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(bytes(w))
        (folder / "config.json").write_text(c)
        try:
            loaded = InfoGAN.from_pretrained(folder)
        except (ValueError, FileNotFoundError) as err:
            outcomes[type(err).__name__] = outcomes.get(type(err).__name__, 0) + 1
            assert len(str(err)) < 1500, str(err)[:300]
            continue
        # Loaded: the damage missed everything that matters (e.g. whitespace in the config) — same weights.
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items()), kind
        outcomes["loaded"] = outcomes.get("loaded", 0) + 1
    # In our runs: 195 ValueErrors, 5 harmless edits that load the same weights; nothing else.
    assert outcomes.get("ValueError", 0) >= 150, outcomes
