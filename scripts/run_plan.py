"""Run a staged GPU plan in calls of under 10 minutes: train to each milestone, score it, pack what the next call needs.

    python scripts/run_plan.py scripts/plans/gpu-issue22.json --work runs/plan --carry runs/gpu-carry --out OUTBOX

A plan lists runs as `scripts/sweep.py` does ("name", "preset", "model"/"training" overrides, "args") plus a
"family" (the models one shipped checkpoint is chosen among) and the `python -m infogan.evaluate` arguments that
score it, and a "schedule": ordered [run, steps] milestones. Each call restores the previous call's packed files from
--carry (unless --work already holds newer progress, as on a machine kept warm), then walks the schedule: it trains
the run to the milestone (`train.py --steps N --resume`; stopped with SIGINT at the call's deadline, when train.py
keeps its last checkpoint), copies the model to `snapshots/<run>@<steps>/`, scores it, and moves on. Scores: the
plan's evaluate arguments (labels or ground-truth factors: for the record only), and the label-free pick rule —
the mean information of the categorical codes about real images under Q (`infogan.training.selection`), read on a
seeded random sample of the training set. The pick of each family is the milestone with the most information.

--out receives what the next call needs, within a GPU machine's outbox (8 files of 16 MiB, 64 MiB in all):
`record.tar` (progress.json with every score and call, logs), `state.tar.NN` (resume states of runs with
milestones left), `models0.tar` (each family's pick in float16; `scripts/unpack_results.py` restores it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path[:0] = [str(REPO), str(SCRIPTS)]

from pack_results import MAX_PART, half_precision_model, write_tar  # noqa: E402
from sweep import write_preset  # noqa: E402

OUTBOX_FILES, OUTBOX_BYTES = 8, 64 * 2**20  # a GPU machine's outbox: 8 files of 16 MiB, 64 MiB in all
RECORD_ROOM = 2 * 2**20  # kept for record.tar: progress.json, logs, the .out tails (200 kB each at most)
PROGRESS = "progress.json"
RUN_KEYS = {"name", "preset", "family", "model", "training", "args", "evaluate", "keep"}


def load_plan(path: str | Path) -> dict[str, Any]:
    """The plan, checked: unique run names, known keys, a schedule of [run, steps] with rising steps per run."""
    plan = json.loads(Path(path).read_text(encoding="utf-8"))
    runs = {}
    for run in plan.get("runs", []):
        unknown = set(run) - RUN_KEYS
        if unknown or "name" not in run or "preset" not in run or run["name"] in runs:
            raise ValueError(f"plan {path}: run {run.get('name')!r} needs a unique name and a preset, and takes only "
                             f"{sorted(RUN_KEYS)} (unknown: {sorted(unknown)})")  # fmt: skip
        runs[run["name"]] = run
    last: dict[str, int] = {}
    for entry in plan.get("schedule", []):
        name, steps = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
        if name not in runs or not isinstance(steps, int) or steps <= last.get(name, 0):
            raise ValueError(f"plan {path}: schedule entry {entry!r} must be [run name, steps] with a run from "
                             "'runs' and steps above that run's previous milestone")  # fmt: skip
        last[name] = steps
    if not last:
        raise ValueError(f"plan {path}: the schedule is empty; add [run name, steps] milestones")
    return {**plan, "runs": runs}


def milestone_key(name: str, steps: int) -> str:
    return f"{name}@{steps}"


# ---- restore what the previous call packed ---------------------------------------------------------------------------
def restore(carry: Path, work: Path) -> None:
    """Unpack --carry into --work unless --work holds this progress already (a machine kept warm between calls)."""
    record = carry / "record.tar"
    if not record.exists():
        return
    with tarfile.open(record) as tar:
        carried = json.load(tar.extractfile(PROGRESS))  # type: ignore[arg-type]
    here = work / PROGRESS
    if here.exists() and json.loads(here.read_text())["call"] >= carried["call"]:
        return
    work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(record) as tar:
        tar.extractall(work, filter="data")
    parts = sorted(carry.glob("state.tar.[0-9][0-9]"))
    if parts:
        stream = io.BytesIO(b"".join(p.read_bytes() for p in parts))
        with tarfile.open(fileobj=stream) as tar:
            tar.extractall(work, filter="data")
    models = sorted(carry.glob("models[0-9].tar"))
    if models:
        from unpack_results import main as unpack

        unpack([*map(str, models), "--out", str(work / "snapshots")])
    print(f"restored call {carried['call']} from {carry}", flush=True)


# ---- train, snapshot, score ------------------------------------------------------------------------------------------
def train(plan: dict, run: dict, steps: int, work: Path, deadline: float) -> dict[str, Any]:
    """Train `run` to `steps` (resuming its folder), stopped cleanly at `deadline`: exit code, wall time, resumed."""
    from infogan.training import STATE_FILE

    folder = work / run["name"]
    preset = write_preset(run, work)
    command = [sys.executable, str(REPO / "train.py"), "--preset", str(preset), "--out", str(folder),
               "--data-dir", plan["data_dir"], "--steps", str(steps), *run.get("args", [])]  # fmt: skip
    resumed = (folder / STATE_FILE).exists()
    if resumed:
        command.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": str(plan.get("threads", 4)), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    with (work / f"{run['name']}.out").open("a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            process.wait(timeout=max(1.0, deadline - started))
        except subprocess.TimeoutExpired:  # out of time: train.py stops at SIGINT and keeps its last checkpoint
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {"returncode": process.returncode, "wall_s": round(time.monotonic() - started, 1), "resumed": resumed}


def label_free_score(snapshot: Path, dataset: str, data_dir: str, images: int, cache: dict) -> float | None:
    """Mean real-image information of the categorical codes (nats) on a seeded random sample; None without any."""
    import torch

    from infogan.data import load_dataset
    from infogan.model import InfoGAN
    from infogan.training.selection import candidate_score

    model = InfoGAN.from_pretrained(snapshot).eval()
    if not model.config.latent.categorical:
        return None
    size, channels = model.config.image_size, model.config.channels
    if (dataset, size, channels) not in cache:
        cache.clear()  # one dataset in memory at a time: the full dSprites set is 3.6 GB
        data = load_dataset(dataset, data_dir, size, channels)
        # A random sample: dSprites is stored in factor order, so its first images are all one shape.
        order = torch.randperm(len(data.images), generator=torch.Generator().manual_seed(0))[:images]
        cache[(dataset, size, channels)] = data.images[order]
    with torch.inference_mode():
        return round(candidate_score(model, cache[(dataset, size, channels)]), 4)


def score(plan: dict, run: dict, snapshot: Path, cache: dict) -> dict[str, Any]:
    """The plan's `python -m infogan.evaluate` JSON for the snapshot, plus the label-free score."""
    command = [sys.executable, "-m", "infogan.evaluate", str(snapshot), "--data-dir", plan["data_dir"],
               *run.get("evaluate", [])]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    result: dict[str, Any] = {"evaluate_wall_s": round(time.monotonic() - started, 1)}
    if done.returncode == 0:
        result["evaluate"] = json.loads(done.stdout)
    else:
        result["evaluate_error"] = done.stderr[-2000:]
    preset = json.loads((snapshot.parent.parent / f"{run['name']}.preset.json").read_text(encoding="utf-8"))
    dataset = preset["training"]["dataset"]
    images = plan.get("score_images", 10_000)
    result["real_information_nats"] = label_free_score(snapshot, dataset, plan["data_dir"], images, cache)
    return result


def walk_schedule(plan: dict, work: Path, progress: dict, deadline: float, eval_s: float, most: int) -> None:
    """Train and score the schedule's milestones in order until the call's time is up (or `most` are scored)."""
    cache: dict = {}
    call = progress["calls"][-1]
    for name, steps in plan["schedule"]:
        key, run = milestone_key(name, steps), plan["runs"][name]
        if key in progress["milestones"]:
            continue
        if (
            len(call["scored"]) >= most or time.monotonic() > deadline - eval_s - 30
        ):  # not worth starting: too little time to train and score
            break
        trained = train(plan, run, steps, work, deadline - eval_s)
        call["trained"].append({"milestone": key, **trained})
        save_progress(work, progress)
        if trained["returncode"] != 0:  # stopped at the deadline (130) or failed: the next call resumes it
            print(f"{key}: train.py exited {trained['returncode']}; see {work / name}.out", flush=True)
            break
        snapshot = work / "snapshots" / key
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(work / name / "model", snapshot)
        progress["milestones"][key] = {"run": name, "steps": steps, "family": run.get("family", name),
                                       **score(plan, run, snapshot, cache)}  # fmt: skip
        call["scored"].append(key)
        print(f"{key}: {json.dumps(headline(progress['milestones'][key]))}", flush=True)
        choose(plan, progress)
        save_progress(work, progress)


def headline(entry: dict) -> dict[str, Any]:
    """The figures worth a log line: the label-free score and the disentanglement summary, when there is one."""
    summary = entry.get("evaluate", {}).get("disentanglement", {})
    keys = ("mig", "factor_vae", "dci_disentanglement")
    return {
        "real_information_nats": entry.get("real_information_nats"),
        **{k: summary[k] for k in keys if k in summary},
    }


def choose(plan: dict, progress: dict) -> None:
    """Each family's pick: its scored milestone with the most real-image information (labels never consulted)."""
    families: dict[str, list[str]] = {}
    for key, entry in progress["milestones"].items():
        if entry.get("real_information_nats") is not None:
            families.setdefault(entry["family"], []).append(key)
    progress["picks"] = {
        family: max(keys, key=lambda k: progress["milestones"][k]["real_information_nats"])
        for family, keys in families.items()
    }
    progress["pick_rule"] = (f"max mean categorical I(c; x) under Q on {plan.get('score_images', 10_000):,} "
                             "random training images (seed 0)")  # fmt: skip


def save_progress(work: Path, progress: dict) -> None:
    tmp = work / f".{PROGRESS}.tmp"
    tmp.write_text(json.dumps(progress, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, work / PROGRESS)


# ---- pack what the next call needs -----------------------------------------------------------------------------------
def resume_states(plan: dict, work: Path, progress: dict) -> list[tuple[str, dict[str, bytes]]]:
    """(run, files) for the runs that still have milestones ahead, the earliest next milestone first."""
    from infogan.training import STATE_FILE

    states: dict[str, dict[str, bytes]] = {}
    for name, steps in plan["schedule"]:
        state = work / name / STATE_FILE
        if name in states or milestone_key(name, steps) in progress["milestones"] or not state.exists():
            continue
        states[name] = {f"{name}/{STATE_FILE}": state.read_bytes(), f"{name}/log.jsonl": b""}
        if (work / name / "log.jsonl").exists():
            states[name][f"{name}/log.jsonl"] = (work / name / "log.jsonl").read_bytes()
    return list(states.items())


def record_files(plan: dict, work: Path) -> dict[str, bytes]:
    """progress.json, the merged presets and every run's log (the .out tails cut to their last 200 kB)."""
    files = {PROGRESS: (work / PROGRESS).read_bytes()}
    for name in plan["runs"]:
        for rel in (f"{name}/log.jsonl", f"{name}.out", f"{name}.preset.json"):
            if (work / rel).exists():
                data = (work / rel).read_bytes()
                files[rel] = data[-200_000:] if rel.endswith(".out") else data
    return files


def pack(plan: dict, work: Path, out: Path, progress: dict, limit: int = OUTBOX_BYTES) -> list[Path]:
    """Write models0.tar, state.tar.NN and record.tar into `out`, within the outbox's limits and `limit` bytes.

    A resume state that does not fit is left out and named in progress.json ("not_carried"): the next call starts
    that run again from its beginning. The record always goes (it holds every score).
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    picks = {}
    for key in progress.get("picks", {}).values():
        picks.update({f"{key}/{k}": v for k, v in half_precision_model(work / "snapshots" / key).items()})
    if picks:
        written.append(out / "models0.tar")
        write_tar(written[-1], picks)
    room = min(limit, OUTBOX_BYTES) - sum(p.stat().st_size for p in written) - RECORD_ROOM
    carried: dict[str, bytes] = {}
    progress["not_carried"] = []
    for name, files in resume_states(plan, work, progress):
        size = sum(map(len, files.values())) + 2048 * len(files)  # tar headers and padding
        parts = -(-(sum(map(len, carried.values())) + size) // MAX_PART)
        if size <= room and len(written) + parts + 1 <= OUTBOX_FILES:
            carried.update(files)
            room -= size
        else:
            progress["not_carried"].append(name)
            print(f"{name}: its resume state ({size / 2**20:.1f} MiB) does not fit the outbox", flush=True)
    if carried:
        blob = io.BytesIO()
        write_tar(blob, carried)
        data = blob.getvalue()
        for i in range(0, len(data), MAX_PART):  # split: the outbox takes files up to 16 MiB
            written.append(out / f"state.tar.{i // MAX_PART:02d}")
            written[-1].write_bytes(data[i : i + MAX_PART])
    save_progress(work, progress)
    written.append(out / "record.tar")
    write_tar(written[-1], record_files(plan, work))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan", help="the plan JSON file")
    parser.add_argument("--work", required=True, help="folder for the run folders, snapshots and progress.json")
    parser.add_argument("--carry", help="folder holding the previous call's packed files (restored first)")
    parser.add_argument("--out", required=True, help="folder to pack what the next call needs into")
    parser.add_argument("--budget", type=float, default=540, help="seconds this call may take, packing included")
    parser.add_argument("--eval-s", type=float, default=150, help="seconds kept free to score a milestone")
    parser.add_argument("--milestones", type=int, default=10**6, help="score at most this many in this call")
    parser.add_argument("--max-carry-mib", type=float, default=64,
                        help="what --out may hold: it travels back as --carry inside the working tree (64 MiB with "
                             "the repository), so pass 64 minus the tree's size")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.monotonic()
    plan, work = load_plan(args.plan), Path(args.work)
    if args.carry:
        restore(Path(args.carry), work)
    work.mkdir(parents=True, exist_ok=True)
    here = work / PROGRESS
    progress = json.loads(here.read_text()) if here.exists() else {"call": 0, "milestones": {}, "calls": []}
    progress["call"] += 1
    progress["calls"].append(
        {"call": progress["call"], "date": time.strftime("%Y-%m-%d %H:%M"), "trained": [], "scored": []}
    )
    walk_schedule(
        plan, work, progress, started + args.budget - 45, args.eval_s, args.milestones
    )  # 45 s kept for packing
    left = [milestone_key(*m) for m in plan["schedule"] if milestone_key(*m) not in progress["milestones"]]
    progress["calls"][-1]["wall_s"] = round(time.monotonic() - started, 1)
    progress["remaining"] = left
    save_progress(work, progress)
    written = pack(plan, work, Path(args.out), progress, int(args.max_carry_mib * 2**20))
    print(f"call {progress['call']}: {len(progress['milestones'])} milestones scored, {len(left)} left; picks "
          f"{progress.get('picks', {})}; packed {', '.join(p.name for p in written)}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
