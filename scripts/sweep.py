"""Run many `train.py` runs side by side from a JSON plan, within a time budget, and summarise their logs.

    python scripts/sweep.py plan.json --out runs/sweep

A plan is {"parallel": 4, "deadline_s": 3600, "data_dir": "...", "runs": [{"name": ..., "preset": "mnist",
"model": {...}, "training": {...}, "args": ["--seed", "0"]}, ...]}. "model"/"training" override keys of the preset
(e.g. {"base_channels": 48}); the merged preset is written to the run folder, so every run stays reproducible from
its folder alone. Runs start in plan order, `parallel` at a time. At the deadline, runs still going get SIGINT:
train.py stops cleanly and keeps its last checkpoint (resume it later with `--resume`). This is how the seed tables
in the README were produced (all seeds of a recipe run, none picked by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infogan.presets import load_preset  # noqa: E402


def write_preset(run: dict[str, Any], folder: Path) -> Path:
    """The run's preset: the named one with the plan's overrides merged in, as a JSON file in the run folder."""
    preset = load_preset(run["preset"])
    data = {
        "description": preset.description,
        "model": {**preset.model.to_dict(), **run.get("model", {})},
        "training": {**preset.training, **run.get("training", {})},
    }
    if "candidates" not in run.get("training", {}):  # a sweep compares single runs (one log each) unless told
        data["training"].pop("candidates", None)
        data["training"].pop("select_at", None)
    data["model"].pop("model_type", None)
    data["model"].pop("metadata", None)
    path = folder / f"{run['name']}.preset.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    load_preset(path)  # validate now, not in a child process minutes later
    return path


def summarise(run_dir: Path) -> dict[str, Any]:
    """Steps reached, speed and every evaluation line of one run's log.jsonl."""
    log = run_dir / "log.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    evals = [r for r in records if "eval" in r]
    speeds = [r["images_per_s"] for r in records if "images_per_s" in r]
    train_records = [r for r in records if "d_loss" in r]
    return {
        "steps": train_records[-1]["step"] if train_records else 0,
        "images_per_s_median": sorted(speeds)[len(speeds) // 2] if speeds else None,
        "last": train_records[-1] if train_records else None,
        "evals": evals,
        "has_model": (run_dir / "model" / "model.safetensors").exists(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan", help="the plan JSON file")
    parser.add_argument("--out", required=True, help="folder for the runs and summary.json")
    parser.add_argument("--deadline", type=float, help="seconds before remaining runs are stopped (overrides plan)")
    parser.add_argument("--only", nargs="*", help="run only these run names")
    args = parser.parse_args(argv)
    plan = json.loads(Path(args.plan).read_text(encoding="utf-8"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [r for r in plan["runs"] if not args.only or r["name"] in args.only]
    deadline = time.monotonic() + (args.deadline or plan.get("deadline_s", 3600))
    parallel = plan.get("parallel", 2)
    env = {**os.environ, "OMP_NUM_THREADS": str(plan.get("threads", 1)), "PYTHONUNBUFFERED": "1"}

    pending, active, finished = list(runs), {}, {}
    while (pending or active) and time.monotonic() < deadline:
        while pending and len(active) < parallel:
            run = pending.pop(0)
            preset = write_preset(run, out)
            command = [sys.executable, str(REPO / "train.py"), "--preset", str(preset), "--out", str(out / run["name"]),
                       "--data-dir", plan["data_dir"], "--threads", str(plan.get("threads", 1)),
                       *run.get("args", [])]  # fmt: skip
            log = (out / f"{run['name']}.out").open("w")
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            active[run["name"]] = (process, time.time())
            print(f"started {run['name']}", flush=True)
        for name, (process, started) in list(active.items()):
            if process.poll() is not None:
                finished[name] = {"returncode": process.returncode, "wall_s": round(time.time() - started, 1)}
                del active[name]
                print(f"finished {name} (exit {process.returncode}, {finished[name]['wall_s']} s)", flush=True)
        time.sleep(1)
    for process, _ in active.values():  # out of time: stop cleanly, keep the last checkpoint
        process.send_signal(signal.SIGINT)
    for name, (process, started) in active.items():
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        finished[name] = {"returncode": process.returncode, "wall_s": round(time.time() - started, 1), "stopped": True}
        print(f"stopped {name} at the deadline", flush=True)
    summary = {r["name"]: {"plan": r, **finished.get(r["name"], {"not_started": True}), **summarise(out / r["name"])}
               for r in runs}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'summary.json'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
