"""Training throughput and single-image generate latency for a preset.

    python benchmarks/train_speed.py --preset mnist --steps 50 --threads 2

Times `Trainer.train_step` (D/Q step + G step, the whole optimisation work) on random images of the preset's shape,
so no dataset is needed and disk/decoding cost is excluded; the first `--warmup` steps are not timed. Then times
`InfoGAN.generate(n=1)` — what one slider move in the explorer costs — `--calls` times, each with a new seed.
Prints a small table and one JSON line (for pasting into docs/testing.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from infogan import available_presets, load_preset
from infogan.data import ImageData
from infogan.training.devices import describe_hardware
from infogan.training.trainer import TrainConfig, Trainer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist", help=f"one of {available_presets()} or a preset .json file")
    parser.add_argument("--steps", type=int, default=50, help="timed training steps (after warm-up)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed training steps first")
    parser.add_argument("--batch-size", type=int, help="images per step (default: the preset's)")
    parser.add_argument("--calls", type=int, default=200, help="timed generate(n=1) calls")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda or mps")
    return parser


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = load_preset(args.preset)
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in preset.training.items() if k in known})
    config = replace(config, device=args.device, batch_size=args.batch_size or config.batch_size)
    model_config = preset.model
    shape = (max(config.batch_size * 4, 256), model_config.channels, model_config.image_size, model_config.image_size)
    data = ImageData(torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0)))

    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(model_config, config, data, out)
        device = trainer.device
        for _ in range(args.warmup):
            trainer.train_step(trainer.next_batch())
        synchronize(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step(trainer.next_batch())
        synchronize(device)
        train_seconds = time.perf_counter() - start

    model = trainer.model.eval()
    for seed in range(10):
        model.generate(1, seed=seed)
    latencies = []
    for seed in range(args.calls):
        synchronize(device)
        t0 = time.perf_counter()
        model.generate(1, seed=seed)
        synchronize(device)
        latencies.append((time.perf_counter() - t0) * 1000)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {
        "preset": preset.name,
        "machine": describe_hardware(device),
        "threads": torch.get_num_threads(),
        "load_avg_1min": round(load, 2) if load is not None else None,
        "torch": torch.__version__,
        "batch_size": config.batch_size,
        "timed_steps": args.steps,
        "train_images_per_s": round(args.steps * config.batch_size / train_seconds, 1),
        "train_step_ms": round(train_seconds / args.steps * 1000, 1),
        "generate_calls": args.calls,
        "generate_p50_ms": round(statistics.median(latencies), 2),
        "generate_p95_ms": round(percentile(latencies, 95), 2),
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
