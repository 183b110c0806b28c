"""The Train tab's backend: live runs on a tiny fake MNIST (torchvision's raw layout, the real loader's code path)."""

from __future__ import annotations

import re
import sys
import time
import types
import zipfile
from pathlib import Path

import pytest

from infogan import InfoGAN
from infogan.explorer import training_run
from infogan.explorer.live_training import (
    MIN_STEPS,
    LiveSnapshot,
    LiveTraining,
    TrainingBusyError,
    default_steps,
    make_plan,
    trainable_presets,
)
from infogan.explorer.training_run import DONE, RunPlan, run_training
from tests.fake_mnist import write_fake_mnist

BATCH = 16  # the mnist preset's networks at a small batch: ~15 steps/s on one thread


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_mnist(tmp_path_factory.mktemp("data"), train=200, test=60)


@pytest.fixture
def live(tmp_path: Path, fake_data: Path) -> LiveTraining:
    return LiveTraining(tmp_path / "app", data_dir=fake_data, batch_size=BATCH, device="cpu")


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def wait_until_finished(live: LiveTraining, timeout_s: float = 60.0) -> LiveSnapshot:
    deadline = time.monotonic() + timeout_s
    while live.snapshot().state == "running":
        if time.monotonic() > deadline:
            live.stop()
            raise AssertionError(f"the run did not finish within {timeout_s} s: {live.snapshot().message}")
        time.sleep(0.05)
    return live.snapshot()


def test_stream_trains_previews_and_publishes_a_loadable_model(live: LiveTraining, tmp_path: Path) -> None:
    before = files_under(tmp_path)
    snapshots = list(live.stream("mnist", 30))
    final = snapshots[-1]
    assert final.state == "done", final.message
    assert [s.state for s in snapshots[:-1]] == ["running"] * (len(snapshots) - 1)
    assert final.step == final.total == 30 and final.preset == "mnist" and final.device == "cpu"
    assert [r["progress"] for r in final.history] == [10, 20, 30]  # log_every 10 on a CPU
    assert {"d_loss", "g_loss", "info_loss", "information_nats"} <= set(final.history[-1])
    assert final.preview is not None and final.preview.width > 300
    assert re.fullmatch(r"my-mnist-\d{4}", final.model_name)
    assert live.finished_models() == [(final.model_name, final.model_dir)]
    model = InfoGAN.from_pretrained(final.model_dir)
    assert model.generate(n=2, seed=0).shape == (2, 1, 28, 28)
    assert model.config.metadata["training"]["steps"] == 30
    assert model.config.metadata["metrics"]["test_set"]["digit"]["accuracy"] >= 0  # evaluated on the test split
    written = files_under(tmp_path) - before
    assert written and all(live.root in p.parents for p in written)  # nothing outside the app's folder
    assert not any(live.runs_dir.iterdir())  # the working folder is gone


def test_zip_holds_the_hub_folder(live: LiveTraining) -> None:
    name = [s for s in live.stream("mnist", MIN_STEPS)][-1].model_name
    with zipfile.ZipFile(live.zip_model(name)) as archive:
        names = set(archive.namelist())
    assert {f"{name}/config.json", f"{name}/model.safetensors", f"{name}/README.md"} <= names
    assert all(n.startswith(f"{name}/") and n.count("/") == 1 for n in names)
    assert live.zip_model(name) == live.zips_dir / f"{name}.zip"
    with pytest.raises(ValueError, match=re.escape("no trained model named '../x'")):
        live.zip_model("../x")


def test_second_visitor_is_busy_and_stop_keeps_nothing(live: LiveTraining) -> None:
    live.start("mnist", 2000)
    try:
        with pytest.raises(TrainingBusyError, match="busy, try again"):
            live.start("mnist", None)
        with pytest.raises(TrainingBusyError, match="busy, try again"):
            next(live.stream("mnist", 50))
    finally:
        assert live.stop()
    final = wait_until_finished(live)
    assert final.state == "stopped" and "nothing was kept" in final.message
    assert live.finished_models() == [] and not any(live.runs_dir.iterdir())
    assert not live.stop()  # nothing runs any more
    assert list(live.stream("mnist", MIN_STEPS))[-1].state == "done"  # the slot is free again


def test_wall_time_cap_stops_the_run_and_nothing_half_written_is_listed(tmp_path: Path, fake_data: Path) -> None:
    live = LiveTraining(tmp_path / "app", data_dir=fake_data, batch_size=BATCH, device="cpu", wall_cap_s=1.5)
    final = list(live.stream("mnist", 5000))[-1]
    assert final.state == "stopped" and "wall-time cap (1.5 s)" in final.message
    assert 0 < final.step < 5000
    assert live.finished_models() == [] and not any(live.models_dir.iterdir())
    assert not any(live.runs_dir.iterdir())


def test_a_closed_page_stops_its_run(live: LiveTraining) -> None:
    stream = live.stream("mnist", 2000)
    assert next(stream).state == "running"
    stream.close()  # what Gradio does when the visitor leaves
    assert live.snapshot().state == "stopped"
    assert live.finished_models() == [] and not any(live.runs_dir.iterdir())


@pytest.mark.parametrize(
    ("preset", "steps", "expected"),
    [
        ("nope", None, "preset 'nope' cannot be trained live on this server .cpu.; choose one of \\['mnist'\\]"),
        ("celeba", None, "preset 'celeba' cannot be trained live"),
        ("../mnist", None, "preset '../mnist' cannot be trained live"),
        ("mnist", 0, "steps must be a whole number from 10 to 6,000 .the mnist preset's full run., got 0"),
        ("mnist", 9, "got 9"),
        ("mnist", 6001, "got 6001"),
        ("mnist", 2.5, "got 2.5"),
        ("mnist", True, "got True"),
        ("mnist", "100", "got '100'"),
    ],
)
def test_bad_preset_or_steps_get_one_clear_error(live: LiveTraining, preset: str, steps: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected) as caught:
        live.start(preset, steps)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    assert live.snapshot().state == "idle" and not any(live.runs_dir.iterdir())


def test_max_kept_removes_the_oldest_models(tmp_path: Path, fake_data: Path) -> None:
    live = LiveTraining(tmp_path / "app", data_dir=fake_data, batch_size=BATCH, device="cpu", max_kept=2)
    names = []
    for _ in range(3):
        live.start("mnist", MIN_STEPS)
        names.append(wait_until_finished(live).model_name)
        live.zip_model(names[-1])
    assert len(set(names)) == 3  # same minute: made unique (my-mnist-HHMM, -2, -3)
    assert [name for name, _ in live.finished_models()] == names[:0:-1]  # newest first, the oldest gone
    assert sorted(p.name for p in live.zips_dir.iterdir()) == sorted(f"{n}.zip" for n in names[1:])
    assert not any(live.runs_dir.iterdir())


def test_missing_or_broken_data(tmp_path: Path, fake_data: Path) -> None:
    missing = LiveTraining(tmp_path / "a", data_dir=tmp_path / "no-such-folder", device="cpu")
    with pytest.raises(FileNotFoundError, match=r"training data folder .*no-such-folder does not exist"):
        missing.start("mnist", MIN_STEPS)
    broken = tmp_path / "broken"
    (broken / "MNIST" / "raw").mkdir(parents=True)
    for raw in (fake_data / "MNIST" / "raw").iterdir():
        (broken / "MNIST" / "raw" / raw.name).write_bytes(raw.read_bytes()[:100])  # truncated files
    live = LiveTraining(tmp_path / "b", data_dir=broken, batch_size=BATCH, device="cpu")
    final = list(live.stream("mnist", MIN_STEPS))[-1]
    assert final.state == "failed" and final.message.startswith("training failed: MNIST")
    assert live.finished_models() == [] and not any(live.runs_dir.iterdir())


def test_restarts_choose_a_candidate_and_finish_it(tmp_path: Path, fake_data: Path) -> None:
    """The GPU plan's label-free restarts, run on the CPU at a tiny size."""
    plan = RunPlan(preset="mnist", steps=20, batch_size=BATCH, device="cpu", data_dir=str(fake_data),
                   run_dir=str(tmp_path / "run"), models_dir=str(tmp_path / "models"), wall_cap_s=60,
                   candidates=2, select_at=10)  # fmt: skip
    (tmp_path / "run").mkdir()
    events = list(run_training(plan))
    assert events[-1].kind == DONE, events[-1].message
    assert [e.progress for e in events if e.record] == [10, 20, 30]  # two starts of 10, then the chosen one's 10
    assert any(e.message.startswith("continuing candidate") for e in events)  # the phase train.py reports too
    model = InfoGAN.from_pretrained(events[-1].model_dir)
    selection = model.config.metadata["selection"]
    assert selection["candidates"] == 2 and len(selection["scores_nats"]) == 2
    assert model.config.metadata["training"]["steps"] == 20 and not (tmp_path / "run").exists()


def test_plans_by_device() -> None:
    assert trainable_presets("cpu") == ["mnist"] and "fashion-mnist" in trainable_presets("cuda")
    assert default_steps("mnist", "cpu") == 800 and default_steps("mnist", "cuda") == 6000
    where = dict(batch_size=None, data_dir="d", run_dir="r", models_dir="m", wall_cap_s=100.0)
    full = make_plan("mnist", None, "cuda", **dict(where))
    assert (full.candidates, full.select_at, full.total_steps, full.batch_size) == (3, 2000, 10000, 100)
    assert make_plan("mnist", 3000, "cuda", **dict(where)).candidates == 1  # restarts only over the full recipe
    cpu = make_plan("mnist", None, "cpu", **dict(where))
    assert (cpu.steps, cpu.candidates, cpu.total_steps, cpu.log_every) == (800, 1, 800, 10)


def test_gpu_work_is_wrapped_by_spaces_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def gpu(duration: int):  # the shape of spaces.GPU(duration=...)
        calls.append(duration)
        return lambda function: ("wrapped", function)

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    assert training_run._gpu(run_training) == ("wrapped", run_training)
    assert calls == [training_run.GPU_DURATION_S]
    monkeypatch.setitem(sys.modules, "spaces", None)  # not installed: import fails, the function stays as it is
    assert training_run._gpu(run_training) is run_training


def test_constructor_rejects_bad_settings(tmp_path: Path) -> None:
    for kwargs, expected in [({"max_kept": 0}, "max_kept"), ({"wall_cap_s": -1}, "wall_cap_s"),
                             ({"batch_size": 1}, "batch_size")]:  # fmt: skip
        with pytest.raises(ValueError, match=expected):
            LiveTraining(tmp_path, device="cpu", **kwargs)  # type: ignore[arg-type]


def test_a_foreign_folder_is_refused_and_left_untouched(tmp_path: Path, fake_data: Path) -> None:
    """`--train-dir .` beside train.py's runs/: the Train tab would clear runs/ and prune models/ — so it refuses."""
    users = tmp_path / "project"
    (users / "runs" / "mnist").mkdir(parents=True)
    (users / "runs" / "mnist" / "training_state.pt").write_bytes(b"a user's run")
    before = files_under(users)
    with pytest.raises(ValueError, match=r"not empty and is not a Train tab folder .*--train-dir"):
        LiveTraining(users, data_dir=fake_data, device="cpu")
    assert files_under(users) == before
    own = LiveTraining(tmp_path / "fresh", data_dir=fake_data, batch_size=BATCH, device="cpu")
    assert list(own.stream("mnist", MIN_STEPS))[-1].state == "done"
    again = LiveTraining(tmp_path / "fresh", data_dir=fake_data, device="cpu")  # its own folder: accepted again
    assert [name for name, _ in again.finished_models()] == [name for name, _ in own.finished_models()]


def test_stop_after_the_last_step_keeps_nothing(live: LiveTraining, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop pressed while the run saves its last checkpoint: the page said "nothing is kept", so nothing is."""
    train = training_run._train

    def train_then_stop(plan: RunPlan, progress: object) -> object:
        model = train(plan, progress)
        training_run.request_stop(plan)  # the visitor's Stop, after the last step's should_stop() was asked
        return model

    monkeypatch.setattr(training_run, "_train", train_then_stop)
    final = list(live.stream("mnist", MIN_STEPS))[-1]
    assert final.state == "stopped" and "nothing was kept" in final.message
    assert live.finished_models() == [] and not any(live.runs_dir.iterdir())
