"""The trainer on synthetic shapes: the information term rises, resume is exact, divergence stops cleanly."""

from __future__ import annotations

import ast
import inspect
import json
import math
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN, InfoGANConfig
from infogan.data import ImageData
from infogan.training.trainer import STATE_FILE, TrainConfig, Trainer, TrainingDivergedError, TrainingStoppedError
from tests.conftest import REPO_ROOT, tiny_config

QUIET = dict(log_every=25, sample_every=10**6, checkpoint_every=10**6)  # no previews/checkpoints unless asked


def q_accuracy(model: InfoGAN, n: int = 300) -> float:
    """How often Q reads back the category G was asked to draw (chance is 1/3)."""
    truth = torch.arange(n) % 3
    predicted = model.infer_codes(model.generate(n, seed=99, codes={"shape": truth}))["shape"].argmax(1)
    return float((predicted == truth).float().mean())


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("seed", [0, 1])
def test_information_term_rises_on_synthetic_shapes(shapes: ImageData, tmp_path: Path, seed: int) -> None:
    config = TrainConfig(dataset="folder", steps=150, batch_size=32, seed=seed, **QUIET)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    accuracy_before = q_accuracy(trainer.model)
    model = trainer.train()

    records = [r for r in read_log(tmp_path) if "information_nats" in r]
    assert [r["step"] for r in records] == [25, 50, 75, 100, 125, 150]
    first, last = records[0], records[-1]
    # In our runs the categorical term goes ~0.35 → ~0.8 nats (max ln 3 ≈ 1.10) and the total rises by ~0.5.
    assert last["information_nats"] > first["information_nats"] + 0.2, records
    assert last["info/shape"] > 0.5, records
    accuracy_after = q_accuracy(model)
    assert accuracy_after > max(0.8, accuracy_before + 0.2), (accuracy_before, accuracy_after)


def test_q_learns_to_read_a_fixed_generator(shapes: ImageData, tmp_path: Path) -> None:
    """Q must learn on its own: with G frozen (lr_g = 0), only Q's training can make it read G's categories.

    (With G free, G can instead learn to steer an untrained, random Q, so Q reading its codes proves nothing.)
    """
    torch.manual_seed(0)
    config = TrainConfig(dataset="folder", batch_size=32, lr_g=0.0, lr_d=2e-3, seed=0, **QUIET)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    generator_before = {k: v.clone() for k, v in trainer.model.generator.named_parameters()}
    accuracy_before = q_accuracy(trainer.model)
    for _ in range(40):
        trainer.train_step(trainer.next_batch())
    accuracy_after = q_accuracy(trainer.model)
    for k, v in trainer.model.generator.named_parameters():
        assert torch.equal(v, generator_before[k]), "lr_g = 0 must leave G's weights unchanged"
    # Chance is 1/3; in our runs Q goes from ~0.33 to ~0.9 in 40 steps.
    assert accuracy_after > max(0.7, accuracy_before + 0.25), (accuracy_before, accuracy_after)


def test_run_folder_layout_and_checkpoint_metadata(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=4, batch_size=16, log_every=2, sample_every=2, checkpoint_every=4)
    Trainer(tiny_config(), config, shapes, tmp_path).train()

    assert {p.name for p in tmp_path.iterdir()} == {"log.jsonl", "samples", "model", STATE_FILE}
    prefixes = ("samples_step_", "traversal_shape_step_", "traversal_width_step_")
    previews = {f"{prefix}{step:07d}.png" for prefix in prefixes for step in (2, 4)}
    assert {p.name for p in (tmp_path / "samples").iterdir()} == previews
    loaded = InfoGAN.from_pretrained(tmp_path / "model")
    training = loaded.config.metadata["training"]
    assert training["steps"] == 4 and training["batch_size"] == 16 and training["images_seen"] == 64
    assert loaded.config.metadata["dataset"]["id"] == "folder"
    assert [r["step"] for r in read_log(tmp_path)] == [2, 4]


def test_resume_after_a_kill_continues_exactly(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=6, batch_size=32, log_every=1, sample_every=10**6, checkpoint_every=3)
    straight = Trainer(tiny_config(), config, shapes, tmp_path / "straight").train()

    killed = Trainer(tiny_config(), config, shapes, tmp_path / "killed")
    original_batch = killed.next_batch

    def batch_then_die() -> torch.Tensor:
        if killed.step == 4:  # killed in step 5: step 4 ran after the step-3 checkpoint and is lost; resume redoes it
            raise KeyboardInterrupt
        return original_batch()

    killed.next_batch = batch_then_die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    resumed_trainer = Trainer(tiny_config(), config, shapes, tmp_path / "killed", resume=True)
    assert resumed_trainer.step == 3
    resumed = resumed_trainer.train()

    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), f"{key} differs after resume"
    final = {r["step"]: r for r in read_log(tmp_path / "straight")}
    again = {r["step"]: r for r in read_log(tmp_path / "killed")}
    assert final[6]["d_loss"] == again[6]["d_loss"] and final[6]["info_loss"] == again[6]["info_loss"]


def test_resume_half_and_half_equals_one_go(shapes: ImageData, tmp_path: Path) -> None:
    full = TrainConfig(dataset="folder", steps=8, batch_size=32, **QUIET)
    one_go = Trainer(tiny_config(), full, shapes, tmp_path / "a").train()
    Trainer(tiny_config(), replace(full, steps=4), shapes, tmp_path / "b").train()
    two_halves = Trainer(tiny_config(), full, shapes, tmp_path / "b", resume=True).train()
    assert all(torch.equal(v, two_halves.state_dict()[k]) for k, v in one_go.state_dict().items())


def test_resume_errors(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=2, batch_size=16, **QUIET)
    with pytest.raises(FileNotFoundError, match=f"--resume: no {STATE_FILE} in {tmp_path}"):
        Trainer(tiny_config(), config, shapes, tmp_path, resume=True)
    Trainer(tiny_config(), config, shapes, tmp_path).train()
    with pytest.raises(FileExistsError, match="pass --resume to continue it"):
        Trainer(tiny_config(), config, shapes, tmp_path)
    with pytest.raises(ValueError, match="differs from the requested preset"):
        Trainer(tiny_config(q_hidden=32), config, shapes, tmp_path, resume=True)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=10, batch_size=16, log_every=1, sample_every=10**6, checkpoint_every=2)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    original_batch = trainer.next_batch

    def poisoned() -> torch.Tensor:
        if trainer.step == 3:  # the 4th step: weights go bad after the step-2 checkpoint
            with torch.no_grad():
                trainer.model.generator.upsample[-2].weight.fill_(math.nan)
        return original_batch()

    trainer.next_batch = poisoned  # type: ignore[method-assign]
    with pytest.raises(TrainingDivergedError, match=r"non-finite loss at step 4.*\(step 2\); resume it with --resume"):
        trainer.train()

    assert torch.load(tmp_path / STATE_FILE, weights_only=True)["step"] == 2
    last_good = InfoGAN.from_pretrained(tmp_path / "model")  # loading checks every tensor is finite
    assert last_good.config.metadata["training"]["steps"] == 2
    assert torch.isfinite(last_good.generate(2, seed=0)).all()


def test_labels_never_reach_the_networks(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=5, batch_size=16, log_every=1, sample_every=10**6, checkpoint_every=5)
    scrambled = ImageData(shapes.images, torch.randint(3, (len(shapes),), generator=torch.Generator().manual_seed(5)))
    without = Trainer(tiny_config(), config, ImageData(shapes.images), tmp_path / "a").train()
    with_labels = Trainer(tiny_config(), config, shapes, tmp_path / "b", eval_data=shapes).train()
    other_labels = Trainer(tiny_config(), config, scrambled, tmp_path / "c", eval_data=scrambled).train()
    for key, value in without.state_dict().items():
        assert torch.equal(value, with_labels.state_dict()[key]) and torch.equal(value, other_labels.state_dict()[key])
    # The labelled evaluation ran (monitoring only) and went into the log and the checkpoint metadata.
    assert any("eval" in r for r in read_log(tmp_path / "b"))
    assert "accuracy" in with_labels.config.metadata["metrics"]["test_set"]["shape"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"batch_size": 1}, "batch_size must be at least 2"),
        ({"lr_g": -1.0}, "lr_g must be a finite non-negative number"),
        ({"lambda_continuous": math.nan}, "lambda_continuous must be"),
        ({"beta1": 1.0}, r"Adam betas must lie in \[0, 1\)"),
        ({"continuous_std": 0.0}, r"continuous_std must be None or a number in \[0.01, 10\]"),
    ],
)
def test_train_config_validation(shapes: ImageData, tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Trainer(tiny_config(), TrainConfig(**{"dataset": "folder", **overrides}), shapes, tmp_path)


def test_data_must_fit_the_model(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", batch_size=16)
    with pytest.raises(ValueError, match="fewer than one batch of 16"):
        Trainer(tiny_config(), config, ImageData(shapes.images[:8]), tmp_path)
    with pytest.raises(ValueError, match=r"the model needs \(3, 28, 28\)"):
        Trainer(tiny_config(channels=3), config, shapes, tmp_path)


def test_ema_generator_is_saved_and_differs_from_the_live_one(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=30, batch_size=16, ema_decay=0.9, augment="translation,cutout",
                         q_augment="translation:0.1", **QUIET)  # fmt: skip
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    trainer.train()
    trainer.save_checkpoint()
    saved = InfoGAN.from_pretrained(tmp_path / "model")
    live, averaged = trainer.model.generator.state_dict(), trainer.ema_generator.state_dict()
    for key, value in saved.generator.state_dict().items():
        if key.endswith("weight") and value.dim() > 1:  # weights: the average, not the live G
            assert torch.equal(value, averaged[key]) and not torch.equal(value, live[key]), key
    # The live model keeps training unchanged: its G is not the averaged copy.
    assert trainer.model.generator is not saved.generator
    assert saved.config.metadata["training"]["ema_decay"] == 0.9


def test_ema_augmented_hinge_run_resumes_exactly(shapes: ImageData, tmp_path: Path) -> None:
    settings = dict(dataset="folder", batch_size=16, ema_decay=0.99, augment="translation,color", q_augment="",
                    gan_loss="hinge", log_every=5, sample_every=10**6, checkpoint_every=10)  # fmt: skip
    straight = Trainer(tiny_config(), TrainConfig(steps=20, **settings), shapes, tmp_path / "a").train()
    Trainer(tiny_config(), TrainConfig(steps=10, **settings), shapes, tmp_path / "b").train()
    resumed = Trainer(tiny_config(), TrainConfig(steps=20, **settings), shapes, tmp_path / "b", resume=True)
    resumed_model = resumed.train()
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key
    saved = InfoGAN.from_pretrained(tmp_path / "a" / "model").state_dict()
    for key, value in resumed.ema_generator.state_dict().items():
        if key.endswith("weight"):
            assert torch.equal(value, saved[f"generator.{key}"]), key
    # train() returns what model/ holds (the averaged G), not the live one: pushing it must not undo the average.
    assert all(torch.equal(value, saved[key]) for key, value in straight.state_dict().items())
    live = resumed.model.generator.state_dict()
    assert any(not torch.equal(live[k], saved[f"generator.{k}"]) for k in live if k.endswith("weight"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("augment", "flip", "unknown augmentation"), ("ema_decay", 1.0, "ema_decay"), ("gan_loss", "wgan", "gan_loss")],
)
def test_bad_new_settings_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value}).validate()


# ---- crashes and bad folders never lose or mix up work (issue 9) --------------------------------------------------


def test_short_runs_checkpoint_by_default() -> None:
    assert TrainConfig(steps=300).checkpoint_interval == 75  # a kill at step 299 loses at most 74 steps
    assert TrainConfig(steps=6000).checkpoint_interval == 500
    assert TrainConfig(steps=3).checkpoint_interval == 1
    assert TrainConfig(steps=300, checkpoint_every=1000).checkpoint_interval == 1000  # an explicit value wins


def test_a_failed_checkpoint_leaves_the_previous_model_folder_whole(
    shapes: ImageData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainConfig(dataset="folder", steps=4, batch_size=16, log_every=1, sample_every=10**6, checkpoint_every=2)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    original = InfoGANConfig.to_json

    def crash_between_weights_and_config(self: InfoGANConfig) -> str:
        if trainer.step == 4:  # the step-4 checkpoint: its weights are written, its config.json is not
            raise OSError(28, "No space left on device")
        return original(self)

    monkeypatch.setattr(InfoGANConfig, "to_json", crash_between_weights_and_config)
    with pytest.raises(OSError, match=r"step-4 checkpoint .*No space left on device.*previous checkpoint \(step 2\)"):
        trainer.train()
    monkeypatch.setattr(InfoGANConfig, "to_json", original)
    assert {p.name for p in tmp_path.iterdir()} == {"log.jsonl", "samples", "model", STATE_FILE}  # no temp left
    loaded = InfoGAN.from_pretrained(tmp_path / "model")
    assert loaded.config.metadata["training"]["steps"] == 2
    step_2 = torch.load(tmp_path / STATE_FILE, weights_only=True)["model"]
    assert all(torch.equal(v, step_2[k]) for k, v in loaded.state_dict().items()), "step-2 config, step-2 weights"


def test_disk_full_while_saving_the_resume_state(
    shapes: ImageData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainConfig(dataset="folder", steps=4, batch_size=16, **{**QUIET, "checkpoint_every": 2})
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    real_save = torch.save

    def fill_disk(obj: object, path: Path) -> None:
        if trainer.step == 4:
            Path(path).write_bytes(b"partial")  # what a full disk leaves: part of the file
            raise OSError(28, "No space left on device")
        real_save(obj, path)

    monkeypatch.setattr(torch, "save", fill_disk)
    with pytest.raises(OSError, match=r"previous checkpoint \(step 2\) is intact.*--resume"):
        trainer.train()
    assert not (tmp_path / f".{STATE_FILE}.tmp").exists()
    monkeypatch.setattr(torch, "save", real_save)
    assert Trainer(tiny_config(), config, shapes, tmp_path, resume=True).step == 2


def test_a_start_cleans_what_a_crash_left(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=2, batch_size=16, **QUIET)
    Trainer(tiny_config(), config, shapes, tmp_path).train()
    # Killed mid-swap: model/ renamed aside, the new folder half-written, a partial resume state.
    (tmp_path / "model").rename(tmp_path / ".model.old")
    (tmp_path / ".model.tmp").mkdir()
    (tmp_path / ".model.tmp" / "model.safetensors").write_bytes(b"half")
    (tmp_path / f".{STATE_FILE}.tmp").write_bytes(b"x" * 1000)

    trainer = Trainer(tiny_config(), replace(config, steps=4), shapes, tmp_path, resume=True)
    assert {p.name for p in tmp_path.iterdir()} == {"log.jsonl", "samples", "model", STATE_FILE}
    assert InfoGAN.from_pretrained(tmp_path / "model").config.metadata["training"]["steps"] == 2
    trainer.train()
    assert InfoGAN.from_pretrained(tmp_path / "model").config.metadata["training"]["steps"] == 4


def test_a_fresh_start_keeps_an_old_log_aside(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=3, batch_size=16, log_every=1, sample_every=10**6,
                         checkpoint_every=10**6)  # fmt: skip
    killed = Trainer(tiny_config(), config, shapes, tmp_path)
    original_batch = killed.next_batch

    def die_at_step_3() -> torch.Tensor:
        if killed.step == 2:
            raise KeyboardInterrupt  # before the first checkpoint (the last step)
        return original_batch()

    killed.next_batch = die_at_step_3  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    assert not (tmp_path / STATE_FILE).exists()

    Trainer(tiny_config(), config, shapes, tmp_path).train()  # nothing to resume: a fresh start in the same folder
    assert [r["step"] for r in read_log(tmp_path)] == [1, 2, 3], "steps must not repeat in the log"
    old = [json.loads(line)["step"] for line in (tmp_path / "log.1.jsonl").read_text().splitlines()]
    assert old == [1, 2]


def test_an_unwritable_out_folder_is_one_clear_error(shapes: ImageData, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    config = TrainConfig(dataset="folder", steps=2, batch_size=16, **QUIET)
    with pytest.raises(ValueError, match=r"cannot write to --out .*a-file/run .*choose a folder you can write to"):
        Trainer(tiny_config(), config, shapes, tmp_path / "a-file" / "run")


def test_on_log_sees_every_record_and_should_stop_ends_the_run(shapes: ImageData, tmp_path: Path) -> None:
    """The hooks a live caller (the explorer's Train tab) drives a run with: records as logged, and a stop button."""
    config = TrainConfig(dataset="folder", steps=6, batch_size=32, log_every=2, sample_every=10**6, checkpoint_every=2)
    seen: list[dict] = []
    Trainer(tiny_config(), config, shapes, tmp_path / "full").train(on_log=seen.append)
    assert [r["step"] for r in seen] == [2, 4, 6] == [r["step"] for r in read_log(tmp_path / "full")]

    stopper = Trainer(tiny_config(), config, shapes, tmp_path / "stopped")
    with pytest.raises(TrainingStoppedError, match="step 4 of 6"):
        stopper.train(should_stop=lambda: stopper.step >= 4)
    resumed = Trainer(tiny_config(), config, shapes, tmp_path / "stopped", resume=True)
    assert resumed.step == 4  # the stop left the step-4 checkpoint, resumable


# ---- the step never waits for the host (issue 20) ------------------------------------------------------------------

HOST_READS = {"item", "tolist", "cpu", "numpy"}  # methods that copy a tensor back to the host and wait for it


def host_reads_in(source: str) -> list[str]:
    """Calls in `source` that read a tensor back to the host: .item() & co., and float()/int()/bool() of anything."""
    found = []
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in HOST_READS:
            found.append(f"line {node.lineno}: .{node.func.attr}()")
        if isinstance(node.func, ast.Name) and node.func.id in {"float", "int", "bool"}:
            found.append(f"line {node.lineno}: {node.func.id}(...)")
    return found


def test_the_step_reads_nothing_back_to_the_host() -> None:
    """infogan/training/step.py, and everything it calls per step, contain no host read (docstrings may name them)."""
    from infogan import latent, losses
    from infogan.training import augment, contrastive, ema, step

    assert host_reads_in(Path(step.__file__).read_text(encoding="utf-8")) == []
    called = [augment.augment, *augment.OPS.values(), ema.WeightAverage.update, contrastive.sample_pairs,
              contrastive.contrastive_loss, losses.information_terms, losses.gaussian_nll, losses.widest_float,
              *(f for pair in losses.GAN_LOSSES.values() for f in pair), latent.LatentSpec.sample,
              latent.LatentSpec.to_generator_input, latent.LatentSpec.split_q_output]  # fmt: skip
    for function in called:
        assert host_reads_in(inspect.getsource(function)) == [], function.__qualname__
    assert host_reads_in("x = loss.item() + float(y)") == ["line 1: .item()", "line 1: float(...)"]  # it can fail


def test_the_loop_reads_the_device_once_per_log_interval(
    shapes: ImageData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop reads the summed statistics from the device only where it has host work: each log line (every 5
    steps here), and previews (every 7) and checkpoints (every 20), which it never writes from a diverged model."""
    from infogan.training import loop

    reads: list[int] = []
    original = loop.StatsWindow.read

    def counted(self: loop.StatsWindow, parallel: object) -> dict[str, float]:
        reads.append(trainer.step)
        return original(self, parallel)

    monkeypatch.setattr(loop.StatsWindow, "read", counted)
    config = TrainConfig(dataset="folder", steps=40, batch_size=16, log_every=5, sample_every=7, checkpoint_every=20)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    trainer.train()
    assert reads == [5, 7, 10, 14, 15, 20, 21, 25, 28, 30, 35, 40]
    assert [r["step"] for r in read_log(tmp_path) if "d_loss" in r] == [5, 10, 15, 20, 25, 30, 35, 40]


def test_a_divergence_between_log_lines_stops_before_the_next_checkpoint(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=12, batch_size=16, log_every=10, sample_every=10**6,
                         checkpoint_every=4)  # fmt: skip
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    original_batch = trainer.next_batch

    def poisoned() -> torch.Tensor:
        if trainer.step == 5:  # the 6th step goes bad; nothing is read until the step-8 checkpoint
            with torch.no_grad():
                trainer.model.trunk.layers[0].weight.fill_(math.inf)
        return original_batch()

    trainer.next_batch = poisoned  # type: ignore[method-assign]
    with pytest.raises(TrainingDivergedError, match=r"non-finite loss in steps 5–8 \(.*\(step 4\)"):
        trainer.train()
    assert torch.load(tmp_path / STATE_FILE, weights_only=True)["step"] == 4


def test_non_finite_weights_are_never_saved(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=2, batch_size=16, **QUIET)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    trainer.train()
    with torch.no_grad():
        trainer.model.q_head.layers[0].weight[0, 0] = math.nan
    with pytest.raises(TrainingDivergedError, match=r"non-finite weights at step 2: not saved.*\(step 2\)"):
        trainer.save_checkpoint()
    assert InfoGAN.from_pretrained(tmp_path / "model").config.metadata["training"]["steps"] == 2


def edit_state(folder: Path, **changes: object) -> None:
    state = torch.load(folder / STATE_FILE, weights_only=True)
    state.update(changes)
    torch.save(state, folder / STATE_FILE)


def test_a_run_moved_to_another_kind_of_device_resumes_with_new_streams(shapes: ImageData, tmp_path: Path) -> None:
    """Generator states are per device kind (a GPU's cannot seed the CPU's): the data order continues exactly, the
    latent and augmentation streams restart from seeds derived from the run's seed and step."""
    config = TrainConfig(dataset="folder", steps=4, batch_size=16, **QUIET)
    Trainer(tiny_config(), config, shapes, tmp_path / "a").train()
    edit_state(tmp_path / "a", rng_device="cuda", latent_rng=torch.zeros(16, dtype=torch.uint8))
    moved = Trainer(tiny_config(), replace(config, steps=6), shapes, tmp_path / "a", resume=True)
    saved = torch.load(tmp_path / "a" / STATE_FILE, weights_only=True)
    assert moved.step == 4 and torch.equal(moved.data_rng.get_state(), saved["data_rng"])
    assert not torch.equal(
        moved.latent_rng.get_state(), Trainer(tiny_config(), config, shapes, tmp_path / "b").latent_rng.get_state()
    )
    moved.train()
    assert moved.step == 6


def test_a_run_trained_with_a_removed_setting_is_not_resumed_silently(shapes: ImageData, tmp_path: Path) -> None:
    config = TrainConfig(dataset="folder", steps=2, batch_size=16, **QUIET)
    Trainer(tiny_config(), config, shapes, tmp_path).train()
    saved = json.loads(torch.load(tmp_path / STATE_FILE, weights_only=True)["train_config"])
    edit_state(tmp_path, train_config=json.dumps({**saved, "real_info_weight": 1.0, "mixed_precision": "bf16"}))
    with pytest.raises(ValueError, match=r"trained with \{'real_info_weight': 1.0\}, a setting this version no longer"):
        Trainer(tiny_config(), replace(config, steps=4), shapes, tmp_path, resume=True)
    edit_state(tmp_path, train_config=json.dumps({**saved, "real_info_weight": 0.0, "mixed_precision": "bf16"}))
    assert Trainer(tiny_config(), replace(config, steps=4), shapes, tmp_path, resume=True).step == 2  # fp32 now


def test_the_training_wing_stays_readable() -> None:
    """Issue 20's bar for infogan/training/: no function over 60 lines, no class over 250, no file over 500."""
    too_long = []
    for path in sorted((REPO_ROOT / "infogan" / "training").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > 500:
            too_long.append(f"{path.name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            limit = 250 if isinstance(node, ast.ClassDef) else 60
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    too_long.append(f"{path.name}: {node.name} has {length} lines (limit {limit})")
    assert too_long == []


def test_a_log_line_cut_short_does_not_block_resume(shapes: ImageData, tmp_path: Path) -> None:
    """A kill or a full disk mid-write leaves half a JSON line: resume drops it instead of failing on it."""
    config = TrainConfig(dataset="folder", steps=4, batch_size=32, log_every=1, sample_every=10**6, checkpoint_every=2)
    Trainer(tiny_config(), config, shapes, tmp_path / "run").train()
    with (tmp_path / "run" / "log.jsonl").open("a", encoding="utf-8") as log:
        log.write('{"step": 5, "d_lo')
    Trainer(tiny_config(), replace(config, steps=6), shapes, tmp_path / "run", resume=True).train()
    assert [r["step"] for r in read_log(tmp_path / "run")] == [1, 2, 3, 4, 5, 6]


def test_divergence_before_any_checkpoint_says_to_start_again(shapes: ImageData, tmp_path: Path) -> None:
    """With nothing saved yet, --resume would fail: the message says to start again instead."""
    config = TrainConfig(dataset="folder", steps=10, batch_size=16, log_every=1, sample_every=10**6, checkpoint_every=5)
    trainer = Trainer(tiny_config(), config, shapes, tmp_path)
    with torch.no_grad():
        trainer.model.generator.upsample[-2].weight.fill_(math.nan)
    with pytest.raises(TrainingDivergedError, match=r"at step 1 .*No checkpoint was written yet: start again") as err:
        trainer.train()
    assert "--resume" not in str(err.value) and not (tmp_path / STATE_FILE).exists()
