"""Kill `train.py` with SIGKILL at random moments, check the run folder after every kill, resume, compare.

    python benchmarks/crash_resume.py --kills 10 --steps 150

Trains the tiny test preset on generated images with a checkpoint every step (so kills often land mid-checkpoint),
once straight through and once killed `--kills` times and resumed each time. After every kill: does `model/` load
(its SHA-256 and every tensor checked), which step does it hold, and which temp files did the kill leave? At the end:
are the temp files gone, does the log hold each step once, and are the final weights bit-identical to the straight
run's?
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEMP_NAMES = (".model.tmp", ".model.old", ".training_state.pt.tmp")


def make_images(folder: Path, n: int = 64) -> None:
    """Random blobs on black: any images will do, the point is the files, not the model."""
    import torch
    from torchvision.utils import save_image

    folder.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        image = (torch.rand(1, 28, 28, generator=g) > 0.8).float()
        save_image(image, folder / f"{i:03d}.png")


def logged_steps(out: Path) -> int:
    """The last step in the run's log (0 before the first line)."""
    try:
        lines = (out / "log.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return 0
    steps = []
    for line in lines:
        try:
            steps.append(json.loads(line)["step"])
        except (ValueError, KeyError):  # a line being written right now
            continue
    return max(steps, default=0)


def train_command(images: Path, out: Path, steps: int, resume: bool) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), "--preset", str(ROOT / "tests/fixtures/tiny.json"),
            "--dataset", "folder", "--data-dir", str(images), "--out", str(out), "--steps", str(steps),
            "--checkpoint-every", "1", "--sample-every", "100000", "--log-every", "1", "--threads", "1",
            *(["--resume"] if resume else [])]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs to deliver")
    parser.add_argument("--steps", type=int, default=150, help="training steps of each run")
    parser.add_argument("--seed", type=int, default=0, help="seed for the kill times")
    args = parser.parse_args()

    import torch

    from infogan import InfoGAN
    from infogan.training.trainer import STATE_FILE

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="crash-resume-"))
    make_images(work / "images")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    quiet = dict(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    start = time.perf_counter()
    subprocess.run(train_command(work / "images", work / "straight", args.steps, False), check=True, **quiet)
    run_s = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(train_command(work / "images", work / "one-step", 1, False), check=True, **quiet)
    startup_s = time.perf_counter() - start
    step_s = max(0.001, (run_s - startup_s) / args.steps)
    print(f"straight run: {args.steps} steps in {run_s:.1f} s; start-up ≈ {startup_s:.1f} s, ≈ {step_s * 1e3:.0f} ms "
          "per step (with its checkpoint)")  # fmt: skip

    out = work / "killed"
    kills = loaded = mid_checkpoint = 0
    left_by_name = dict.fromkeys(TEMP_NAMES, 0)
    steps_seen = []
    while True:
        resume = (out / STATE_FILE).exists()
        process = subprocess.Popen(train_command(work / "images", out, args.steps, resume), **quiet)
        if kills < args.kills:  # the k-th kill lands at a random moment within step ≈ k·steps/(kills + 1)
            target = (kills + 1) * args.steps // (args.kills + 1)
            while process.poll() is None and logged_steps(out) < target:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, step_s))
        if process.poll() is not None or kills >= args.kills:
            code = process.wait()
            if code != 0:
                raise SystemExit(f"the final run exited with {code}")
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        left = [name for name in TEMP_NAMES if (out / name).exists()]
        mid_checkpoint += bool(left)
        for name in left:
            left_by_name[name] += 1
        if (out / "model").exists():
            model = InfoGAN.from_pretrained(out / "model")  # raises on a mixed, partial or corrupt folder
            loaded += 1
            steps_seen.append(model.config.metadata["training"]["steps"])
        print(f"kill {kills}: model/ {'loads, step ' + str(steps_seen[-1]) if (out / 'model').exists() else 'absent'}"
              f"{'; left ' + ', '.join(left) if left else ''}")  # fmt: skip

    straight = InfoGAN.from_pretrained(work / "straight" / "model").state_dict()
    resumed = InfoGAN.from_pretrained(out / "model").state_dict()
    identical = all(torch.equal(v, resumed[k]) for k, v in straight.items())
    leftovers = [name for name in TEMP_NAMES if (out / name).exists()]
    log_steps = [line for line in (out / "log.jsonl").read_text().splitlines() if '"eval"' not in line]
    print(f"kills {kills}; model/ loaded after {loaded} of them (the others came before the first checkpoint); "
          f"{mid_checkpoint} left temp files {left_by_name}; after the last run: temp files {leftovers or 'none'}, "
          f"{len(log_steps)} log lines for {args.steps} steps; final weights bit-identical to the straight run: "
          f"{identical}")  # fmt: skip
    if not identical or leftovers or len(log_steps) != args.steps:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
