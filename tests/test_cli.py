"""train.py and `python -m infogan.evaluate` end to end on a tiny generated image folder, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchvision.utils import save_image

import train
from infogan import InfoGAN
from infogan.metrics import evaluate as evaluate_cli
from infogan.training.trainer import STATE_FILE
from tests.conftest import FIXTURES, synthetic_shapes

TINY = str(FIXTURES / "tiny.json")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for i, image in enumerate(synthetic_shapes(48, seed=3).images):
        save_image(image.float() / 255, folder / f"shape_{i:03d}.png")
    return folder


def run_train(*args: str) -> int:
    return train.main(["--preset", TINY, "--dataset", "folder", "--threads", "1", *args])


def test_train_cli_end_to_end_then_resume_then_evaluate(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert run_train("--data-dir", str(image_folder), "--out", str(out), "--steps", "3") == 0
    written = {p.name for p in (out / "model").iterdir()}
    assert written == {"config.json", "model.safetensors", "README.md", "samples.png", "traversal_shape.png",
                       "traversal_width.png"}  # fmt: skip
    model = InfoGAN.from_pretrained(out / "model")
    assert model.config.metadata["training"]["steps"] == 3
    assert model.config.metadata["training"]["batch_size"] == 16  # from the preset file

    assert run_train("--data-dir", str(image_folder), "--out", str(out), "--steps", "5", "--resume") == 0
    assert torch.load(out / STATE_FILE, weights_only=True)["step"] == 5
    assert [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5]

    capsys.readouterr()
    assert evaluate_cli.main([str(out / "model"), "--generated", "64", "--threads", "1"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["generated"].keys() == {"shape", "width"}
    assert "test_set" not in results  # an unlabelled folder has no test split


def test_train_cli_overrides_and_epochs(image_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--data-dir", str(image_folder), "--out", str(out), "--epochs", "1", "--batch-size", "8", "--lr-g", "0.002"]
    assert run_train(*args) == 0
    training = InfoGAN.from_pretrained(out / "model").config.metadata["training"]
    assert training["steps"] == 6 and training["batch_size"] == 8 and training["lr_g"] == 0.002  # 48 images / 8


@pytest.mark.parametrize(("flag", "recorded"), [("0.5", 0.5), ("learned", "learned")])
def test_train_cli_continuous_std_fixed_or_learned(
    image_folder: Path, tmp_path: Path, flag: str, recorded: object
) -> None:
    out = tmp_path / "run"
    assert run_train("--data-dir", str(image_folder), "--out", str(out), "--steps", "2", "--continuous-std", flag) == 0
    assert InfoGAN.from_pretrained(out / "model").config.metadata["training"]["continuous_std"] == recorded


def test_train_cli_refuses_to_overwrite_a_run(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert run_train("--data-dir", str(image_folder), "--out", str(out), "--steps", "1") == 0
    assert run_train("--data-dir", str(image_folder), "--out", str(out), "--steps", "1") == 2
    assert "pass --resume to continue it" in capsys.readouterr().err


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_train_cli_missing_or_empty_data_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str
) -> None:
    data_dir = tmp_path / "data"
    if make == "empty":
        data_dir.mkdir()
    assert run_train("--data-dir", str(data_dir), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(data_dir) in err and "--data-dir" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_train_cli_unknown_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--preset", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_evaluate_cli_missing_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_cli.main([str(tmp_path)]) == 2
    assert f"no model.safetensors in {tmp_path}" in capsys.readouterr().err


def test_every_cli_flag_has_help() -> None:
    for action in train.build_parser()._actions:
        assert action.help, f"train.py {action.option_strings} has no help text"


def test_evaluate_cli_writes_matched_labels_and_metrics(
    model: InfoGAN, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--write-labels` on a labelled dataset (MNIST here, served from memory) updates config, metadata and card."""
    model.save_pretrained(tmp_path)
    labelled = synthetic_shapes(60, seed=4)
    monkeypatch.setattr(evaluate_cli, "load_dataset", lambda *args, **kwargs: labelled)
    args = [str(tmp_path), "--dataset", "mnist", "--generated", "32", "--write-labels", "--threads", "1", "--no-purity"]
    assert evaluate_cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["test_set_name"] == "MNIST test split" and printed["test_set"]["shape"]["images"] == 60

    updated = InfoGAN.from_pretrained(tmp_path)
    labels = updated.config.latent.code("shape").labels
    assert labels is not None and len(set(labels)) == 3 and set(labels) <= {"0", "1", "2"}
    assert (
        updated.config.metadata["metrics"]["test_set"]["shape"]["accuracy"] == printed["test_set"]["shape"]["accuracy"]
    )
    assert "## Measured metrics" in (tmp_path / "README.md").read_text()
    assert torch.equal(updated.generate(2, seed=0), model.generate(2, seed=0)), "weights must be untouched"


def test_evaluate_cli_names_categories_after_what_they_draw(
    model: InfoGAN, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With purity (the default), labels come from a reference classifier reading each category's samples."""
    model.save_pretrained(tmp_path)
    labelled = synthetic_shapes(200, seed=4)
    monkeypatch.setattr(evaluate_cli, "load_dataset", lambda *args, **kwargs: labelled)
    args = [str(tmp_path), "--dataset", "mnist", "--generated", "32", "--write-labels", "--threads", "1"]
    assert evaluate_cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    rows = printed["category_purity"]["shape"]
    assert len(rows) == 3 and all(0 < row["purity"] <= 1 for row in rows)
    assert 0 <= printed["reference_classifier_test_accuracy"] <= 1
    updated = InfoGAN.from_pretrained(tmp_path)
    labels = updated.config.latent.code("shape").labels
    assert len(set(labels)) == 3  # unique even when two categories draw the same class
    for label, row in zip(labels, rows, strict=True):
        assert label.startswith(row["label"])
        assert label.endswith("?") == (row["purity"] < 0.6) or "(" in label
    assert updated.config.metadata["category_purity"] == {"shape": [row["purity"] for row in rows]}
    assert "What each `shape` category draws" in (tmp_path / "README.md").read_text()


def test_annotate_cli_renames_codes_and_sets_labels(model: InfoGAN, tmp_path: Path) -> None:
    from infogan.export import annotate

    model.save_pretrained(tmp_path)
    args = [str(tmp_path), "--rename", "width=thickness", "--labels", "shape=bar,pillar,blob", "--note",
            "thickness=stroke width", "--title", "Shapes"]  # fmt: skip
    assert annotate.main(args) == 0
    updated = InfoGAN.from_pretrained(tmp_path)
    assert [c.name for c in updated.codes] == ["shape", "thickness"]
    assert updated.config.latent.code("shape").labels == ("bar", "pillar", "blob")
    assert updated.config.metadata["code_notes"] == {"thickness": "stroke width"}
    assert (tmp_path / "traversal_thickness.png").exists() and not (tmp_path / "traversal_width.png").exists()
    assert torch.equal(updated.generate(2, seed=0, codes={"shape": "blob"}), model.generate(2, 0, {"shape": 2}))
    assert annotate.main([str(tmp_path), "--labels", "shape=a,b"]) == 2
    assert annotate.main([str(tmp_path), "--rename", "nope=x"]) == 2


@pytest.mark.parametrize("script", ["train.py", "app.py"])
def test_help_answers_without_importing_torch_or_gradio(script: str) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    probe = ("import runpy, sys\n"
             f"sys.argv = [{script!r}, '--help']\n"
             "try:\n"
             f"    runpy.run_path({str(REPO_ROOT / script)!r}, run_name='__main__')\n"
             "except SystemExit as exit:\n"
             "    assert exit.code == 0, exit.code\n"
             "print(sorted({'torch', 'gradio', 'torchvision'} & set(sys.modules)))\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout and result.stdout.strip().endswith("[]"), result.stdout[-500:]
    if script == "app.py":
        from infogan.explorer.registry import MODELS_ENV

        assert f"${MODELS_ENV}" in result.stdout  # the help names the variable explorer.hub_ids_from reads


def test_disk_full_during_training_is_one_error_line(
    image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    assert run_train("--data-dir", str(image_folder), "--out", str(tmp_path / "run"), "--steps", "2") == 2
    err = capsys.readouterr().err
    assert "error: could not write the step-2 checkpoint" in err and "No space left on device" in err
    assert "Traceback" not in err


def test_a_preset_can_ask_for_label_free_restarts(image_folder: Path, tmp_path: Path) -> None:
    preset = json.loads(Path(TINY).read_text())
    preset["training"].update(candidates=2, select_at=2)  # choose after half of the preset's 4 steps
    path = tmp_path / "restarts.json"
    path.write_text(json.dumps(preset))
    out = tmp_path / "run"
    common = ["--preset", str(path), "--dataset", "folder", "--threads", "1", "--data-dir", str(image_folder)]
    assert train.main([*common, "--out", str(out), "--steps", "8"]) == 0
    record = json.loads((out / "selection.json").read_text())
    assert record["candidates"] == 2 and record["select_at"] == 4  # the preset's share kept at 8 steps
    assert InfoGAN.from_pretrained(out / "model").config.metadata["training"]["steps"] == 8
    # Resumed longer, it keeps the choice it made at step 4 (the preset's share of 10 steps would say 5).
    assert train.main([*common, "--out", str(out), "--steps", "10", "--resume"]) == 0
    assert InfoGAN.from_pretrained(out / "model").config.metadata["training"]["steps"] == 10
    assert json.loads((out / "selection.json").read_text())["select_at"] == 4

    assert train.main([*common, "--out", str(tmp_path / "plain"), "--candidates", "1"]) == 0
    assert not (tmp_path / "plain" / "selection.json").exists() and (tmp_path / "plain" / STATE_FILE).exists()
    # A plain run folder resumes as a plain run, though the preset asks for restarts.
    assert train.main([*common, "--out", str(tmp_path / "plain"), "--steps", "6", "--resume"]) == 0
    assert torch.load(tmp_path / "plain" / STATE_FILE, weights_only=True)["step"] == 6
    assert not (tmp_path / "plain" / "candidates").exists()

    preset["training"]["candidates"] = "3"
    path.write_text(json.dumps(preset))
    assert train.main([*common, "--out", str(tmp_path / "bad")]) == 2


def test_train_flags_are_the_train_config_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """One home for every setting: each TrainConfig field is a flag whose help is the field's own text; the flags
    no preset used and no measurement supported are gone."""
    from dataclasses import fields

    from infogan.training import TrainConfig

    settings = {action.dest: action for action in train.build_parser()._actions}
    for setting in fields(TrainConfig):
        if setting.name in train.NOT_FLAGS:
            assert setting.name not in settings
            continue
        assert settings[setting.name].help.startswith(setting.metadata["help"]), setting.name
        assert settings[setting.name].default is None, "a flag not given keeps the preset's value"
    assert "--lambda-cat" in settings["lambda_categorical"].option_strings
    for removed in ("--real-info-weight", "--mixed-precision", "--compile"):
        with pytest.raises(SystemExit):
            train.build_parser().parse_args(["--out", "x", removed, "1"])
        assert "unrecognized arguments" in capsys.readouterr().err
    args = train.build_parser().parse_args(["--out", "x", "--continuous-std", "learned", "--beta1", "0.4"])
    config = train.settings_from({"continuous_std": 1.0, "steps": 9}, args, where="test")
    assert config.continuous_std is None and config.beta1 == 0.4 and config.steps == 9
    with pytest.raises(ValueError, match=r"test: unknown training key\(s\) \['real_info_weight'\]"):
        train.settings_from({"real_info_weight": 1.0}, args, where="test")
