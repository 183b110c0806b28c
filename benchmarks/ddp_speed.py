"""Training throughput with 1 and N processes (torchrun + DDP), the same global batch.

    python benchmarks/ddp_speed.py --preset mnist --steps 20 --runs 1x1 1x2 2x1

Each run `PxT` launches `torchrun --standalone --nproc_per_node P` on this script with T torch threads per process,
times the trainer's optimisation step as its loop runs it (D/Q step + G step, gradients all-reduced, no host read)
on random images of the preset's shape after `--warmup` untimed steps, and reports global images/s (the global
batch over the processes' mean time). On a CPU,
compare runs that use the same cores (1x2 against 2x1): more processes only help when there are idle cores.
Prints a table and one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from infogan import available_presets, load_preset
from infogan.data import ImageData
from infogan.training import TrainConfig, Trainer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist", help=f"one of {available_presets()} or a preset .json file")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps (after warm-up)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    parser.add_argument("--batch-size", type=int, help="global images per step (default: the preset's)")
    parser.add_argument("--device", default="auto", help="auto (one GPU per process, else CPU) or cpu")
    parser.add_argument(
        "--runs",
        nargs="+",
        default=["1x1", "2x1"],
        help="PROCESSESxTHREADS per run, e.g. 1x2 2x1 (threads per process)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # set for the torchrun children
    return parser


def time_training(args: argparse.Namespace) -> dict:
    """In each torchrun child: time the trainer's step as its loop runs it; every process returns the same record."""
    preset = load_preset(args.preset)
    config = TrainConfig.from_preset(preset.training, where=f"preset {preset.name}")
    config = replace(config, device=args.device, batch_size=args.batch_size or config.batch_size)
    model_config = preset.model
    shape = (max(config.batch_size * 4, 256), model_config.channels, model_config.image_size, model_config.image_size)
    data = ImageData(torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0)))
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(model_config, config, data, out)
        for _ in range(args.warmup):
            trainer.train_step(trainer.next_batch())  # reads the losses back: every process has finished it
        start = time.perf_counter()
        for _ in range(args.steps):
            stats = trainer.optimisation_step(trainer.next_batch())  # as the training loop runs it: no host read
        trainer.parallel.mean(stats).tolist()  # wait for the device(s) and every process once, at the end
        seconds = time.perf_counter() - start
    parallel = trainer.parallel
    # Processes finish within a step of each other: every step's gradient all-reduce keeps them in step.
    seconds = float(parallel.mean(torch.tensor([seconds], dtype=torch.float64, device=trainer.device))[0])
    return {
        "preset": preset.name,
        "processes": parallel.world_size,
        "threads_per_process": torch.get_num_threads(),
        "global_batch": config.batch_size,
        "device": str(trainer.device),
        "images_per_s": round(args.steps * config.batch_size / seconds, 1),
        "torch": torch.__version__,
    }


def launch(args: argparse.Namespace, processes: int, threads: int) -> dict:
    """One run under torchrun; the record is the JSON line process 0 prints."""
    forwarded = ["--preset", args.preset, "--steps", str(args.steps), "--warmup", str(args.warmup),
                 "--device", args.device]  # fmt: skip
    if args.batch_size:
        forwarded += ["--batch-size", str(args.batch_size)]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               __file__, "--worker", *forwarded]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"run {processes}x{threads} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        record = time_training(args)
        if int(os.environ.get("RANK", "0")) == 0:
            print(json.dumps(record), flush=True)
        return 0
    runs = []
    for run in args.runs:
        processes, _, threads = run.partition("x")
        if not (processes.isdigit() and threads.isdigit() and int(processes) > 0 and int(threads) > 0):
            raise SystemExit(f"--runs: expected PROCESSESxTHREADS such as 2x1, got {run!r}")
        runs.append(launch(args, int(processes), int(threads)))
    print(f"{'processes':>9} {'threads':>7} {'global batch':>12} {'images/s':>9}")
    for r in runs:
        print(f"{r['processes']:>9} {r['threads_per_process']:>7} {r['global_batch']:>12} {r['images_per_s']:>9}")
    for r in runs:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
