"""scripts/run_plan.py: the staged GPU plan parses, packs within a GPU machine's outbox, and resumes across calls."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN
from tests.conftest import REPO_ROOT, tiny_config

ALLOWED_TRAIN_FLAGS = {"--seed", "--cr-weight", "--batch-size", "--candidates"}  # the rest are set by run_plan


def load_module():
    spec = importlib.util.spec_from_file_location("run_plan", REPO_ROOT / "scripts" / "run_plan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_issue22_plan_parses_and_uses_only_stable_flags(tmp_path: Path) -> None:
    run_plan = load_module()
    plan = run_plan.load_plan(REPO_ROOT / "scripts" / "plans" / "gpu-issue22.json")
    for run in plan["runs"].values():
        run_plan.write_preset(run, tmp_path)  # the merged preset loads (as train.py will load it)
    runs_in_order = [name for name, _ in plan["schedule"]]  # run by run: one resume state travels at a time
    assert runs_in_order == sorted(runs_in_order, key=runs_in_order.index) and runs_in_order[0] == "dsprites-plain-s0"
    assert [name for name in plan["runs"] if name.startswith("dsprites")] == ["dsprites-plain-s0", "dsprites-cr1-s0"]
    for run in plan["runs"].values():
        flags = {a for a in run.get("args", []) if a.startswith("--")}
        assert flags <= ALLOWED_TRAIN_FLAGS, f"{run['name']} passes {flags - ALLOWED_TRAIN_FLAGS}"
        assert "--dataset" in run["evaluate"]
    dsprites = [s for n, s in plan["schedule"] if n.startswith("dsprites")]
    assert min(dsprites) == 30_000 and max(dsprites) >= 15 * 737_280 // 128  # 5, then 15+ epochs at batch 128


@pytest.mark.parametrize(
    ("schedule", "message"),
    [([["nobody", 10]], "schedule entry"), ([["a", 10], ["a", 5]], "above that run's previous"), ([], "empty")],
)
def test_bad_plans_get_one_error_naming_the_entry(tmp_path: Path, schedule: list, message: str) -> None:
    run_plan = load_module()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"data_dir": "data", "runs": [{"name": "a", "preset": "mnist"}], "schedule": schedule}))
    with pytest.raises(ValueError, match=message):
        run_plan.load_plan(path)


def fake_call(run_plan, work: Path, state_bytes: int) -> tuple[dict, dict]:
    """A work folder as a call leaves it: one scored milestone with a snapshot, one run half-way with its state."""
    plan = {"data_dir": "data", "runs": {"a": {"name": "a"}, "b": {"name": "b"}},
            "schedule": [["a", 2], ["b", 2], ["b", 4]]}  # fmt: skip
    torch.manual_seed(0)
    InfoGAN(tiny_config()).save_pretrained(work / "snapshots" / "a@2")
    (work / "b").mkdir(parents=True)
    (work / "b" / "training_state.pt").write_bytes(bytes(range(256)) * (state_bytes // 256))
    (work / "b" / "log.jsonl").write_text('{"step": 3}\n')
    progress = {"call": 1, "calls": [], "milestones": {"a@2": {"family": "f", "real_information_nats": 0.5}}}
    progress["picks"] = {"f": "a@2"}
    run_plan.save_progress(work, progress)
    return plan, progress


def test_pack_splits_states_and_restore_rebuilds_the_work_folder(tmp_path: Path, monkeypatch) -> None:
    run_plan = load_module()
    monkeypatch.setattr(run_plan, "MAX_PART", 40_000)  # small parts, so a 100 kB state is split
    plan, progress = fake_call(run_plan, tmp_path / "work", 100_096)
    written = run_plan.pack(plan, tmp_path / "work", tmp_path / "out", progress)
    names = sorted(p.name for p in written)
    assert names == ["models0.tar", "record.tar", "state.tar.00", "state.tar.01", "state.tar.02"]

    run_plan.restore(tmp_path / "out", tmp_path / "fresh")  # a new machine: nothing in --work yet
    fresh = tmp_path / "fresh"
    assert (fresh / "b" / "training_state.pt").read_bytes() == (
        tmp_path / "work" / "b" / "training_state.pt"
    ).read_bytes()
    assert json.loads((fresh / "progress.json").read_text())["picks"] == {"f": "a@2"}
    restored = InfoGAN.from_pretrained(fresh / "snapshots" / "a@2")  # float16 in the outbox, float32 again here
    original = InfoGAN.from_pretrained(tmp_path / "work" / "snapshots" / "a@2")
    for key, value in original.state_dict().items():
        torch.testing.assert_close(restored.state_dict()[key], value, atol=1e-3, rtol=1e-2)


def test_restore_keeps_newer_progress_of_a_warm_machine(tmp_path: Path) -> None:
    run_plan = load_module()
    plan, progress = fake_call(run_plan, tmp_path / "work", 1024)
    run_plan.pack(plan, tmp_path / "work", tmp_path / "out", progress)
    (tmp_path / "work" / "b" / "log.jsonl").write_text('{"step": 4}\n')  # this machine went on after packing
    run_plan.save_progress(tmp_path / "work", {**progress, "call": 2})
    run_plan.restore(tmp_path / "out", tmp_path / "work")
    assert (tmp_path / "work" / "b" / "log.jsonl").read_text() == '{"step": 4}\n'


def test_a_state_too_big_for_the_outbox_is_named_not_packed(tmp_path: Path, monkeypatch) -> None:
    run_plan = load_module()
    monkeypatch.setattr(run_plan, "OUTBOX_BYTES", 3 * 2**20)  # room for the record and the model only
    plan, progress = fake_call(run_plan, tmp_path / "work", 2 * 2**20)
    written = run_plan.pack(plan, tmp_path / "work", tmp_path / "out", progress)
    assert sorted(p.name for p in written) == ["models0.tar", "record.tar"]
    with tarfile.open(tmp_path / "out" / "record.tar") as tar:
        assert json.load(tar.extractfile("progress.json"))["not_carried"] == ["b"]


@pytest.mark.slow
def test_two_calls_train_score_pack_and_resume_on_dsprites_small(tmp_path: Path) -> None:
    """Two calls of a tiny plan on the CPU: the second, on a 'fresh machine', resumes from the first one's outbox."""
    run_plan = load_module()
    small = {"dataset": "dsprites-small", "batch_size": 8, "checkpoint_every": 2, "sample_every": 1000, "log_every": 1}
    evaluate = ["--dataset", "dsprites-small", "--points", "1000", "--generated", "100", "--threads", "1"]
    runs = [{"name": name, "preset": "dsprites", "family": "shapes", "args": args, "training": small,
             "model": {"base_channels": 8, "q_hidden": 16}, "evaluate": evaluate}
            for name, args in (("plain", ["--seed", "0"]), ("cr", ["--seed", "0", "--cr-weight", "1"]))]  # fmt: skip
    plan = {"data_dir": str(tmp_path / "data"), "threads": 1, "score_images": 500, "runs": runs,
            "schedule": [["plain", 2], ["cr", 2], ["plain", 4]]}  # fmt: skip
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    first = ["--work", str(tmp_path / "w1"), "--out", str(tmp_path / "o1"), "--milestones", "2"]
    assert run_plan.main([str(tmp_path / "plan.json"), *first]) == 0
    progress = json.loads((tmp_path / "w1" / "progress.json").read_text())
    assert sorted(progress["milestones"]) == ["cr@2", "plain@2"] and progress["remaining"] == ["plain@4"]
    assert "mig" in progress["milestones"]["plain@2"]["evaluate"]["disentanglement"]
    assert progress["picks"]["shapes"] in {"cr@2", "plain@2"}
    with tarfile.open(tmp_path / "o1" / "state.tar.00") as tar:  # only the run with a milestone ahead
        assert sorted(tar.getnames()) == ["plain/log.jsonl", "plain/training_state.pt"]

    second = ["--work", str(tmp_path / "w2"), "--carry", str(tmp_path / "o1"), "--out", str(tmp_path / "o2")]
    assert run_plan.main([str(tmp_path / "plan.json"), *second]) == 0
    progress = json.loads((tmp_path / "w2" / "progress.json").read_text())
    assert progress["call"] == 2 and progress["remaining"] == [] and "plain@4" in progress["milestones"]
    assert progress["calls"][-1]["trained"] == [{**progress["calls"][-1]["trained"][0], "resumed": True}]
    log = (tmp_path / "w2" / "plain" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line).get("step") for line in log if '"d_loss"' in line] == [1, 2, 3, 4]
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == [
        "models0.tar",
        "record.tar",
    ]  # nothing left to resume
