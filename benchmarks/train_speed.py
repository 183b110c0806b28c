"""How close the trainer comes to a plain InfoGAN step on the same networks, per preset and batch size.

    python benchmarks/train_speed.py --preset mnist dsprites --batch-size 100 1024 --q-augment preset off --threads 1

For each preset, batch size and Q-augmentation setting, on random images of the preset's shape (no dataset, no
disk), side by side in one process, window by window:

- **trainer**: `Trainer.train()` itself, with the preset's settings (its reads of the losses at each log line
  included), timed over each log window of `--steps` steps (default: the preset's log interval);
- **plain step**: the same networks in a plain InfoGAN step (BCE + the information term, no augmentation, no
  average of G), latents drawn on the device, nothing read back until the end of its window: what the hardware
  gives for this model with no training machinery around it. Its windows run between the trainer's (from the
  trainer's log hook, outside the trainer's timing), so both see the same machine load;
- the ratio of the medians over `--windows` windows (after `--warmup` untimed ones). `--q-augment off` trains the
  preset without Q's augmented readings, so that both do the same work; with the preset's (`preset`), the trainer
  does more (extra trunk passes per step);
- on CUDA also both steps captured once as a CUDA graph and replayed (**benchmark-only: the trainer does not use
  graphs yet**; see docs/training.md).

Then `InfoGAN.generate(n=1)` latency — what one slider move in the explorer costs — `--calls` times. Prints a table
and one JSON line per row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from infogan import InfoGAN, available_presets, load_preset
from infogan.data import ImageData
from infogan.losses import d_loss, g_loss, information_terms
from infogan.training import TrainConfig, Trainer
from infogan.training.devices import describe_hardware, resolve_device

GRAPH_NOTE = "graph_* figures: the step captured as a CUDA graph inside this benchmark only; the trainer runs eager"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", nargs="+", default=["mnist"],
                        help=f"one or more of {available_presets()} or preset .json files")  # fmt: skip
    parser.add_argument("--batch-size", nargs="+", type=int, help="images per step (default: the preset's)")
    parser.add_argument("--q-augment", nargs="+", choices=["preset", "off"], default=["preset"],
                        help="Q's augmented readings as the preset has them, or off (both: 'preset off')")  # fmt: skip
    parser.add_argument("--steps", type=int, help="steps per window = the trainer's log interval (default: preset's)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed windows first")
    parser.add_argument("--windows", type=int, default=4, help="timed windows of trainer and plain step each")
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


def random_images(config: TrainConfig, preset_model: object) -> ImageData:
    """Random uint8 images of the preset's shape, enough for a few batches."""
    c, s = preset_model.channels, preset_model.image_size
    shape = (max(config.batch_size * 4, 256), c, s, s)
    return ImageData(torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0)))


class PlainStep:
    """A plain InfoGAN step on the preset's networks: D/Q update, then G update through the frozen D side.

    BCE losses and the preset's information term (same λs and σ), Adam with the trainer's betas; no augmentation,
    no weight average, no DDP. Latents are drawn on the device; the step returns its losses as a device tensor.
    """

    def __init__(self, model_config: object, config: TrainConfig, device: torch.device) -> None:
        torch.manual_seed(config.seed)
        self.model = m = InfoGAN(model_config).to(device).train()
        self.side = [*m.trunk.parameters(), *m.d_head.parameters(), *m.q_head.parameters()]
        adam = dict(betas=(config.beta1, config.beta2), capturable=device.type == "cuda")
        self.opt_d = torch.optim.Adam(self.side, lr=config.lr_d, **adam)
        self.opt_g = torch.optim.Adam(m.generator.parameters(), lr=config.lr_g, **adam)
        self.rng = torch.Generator(device=device).manual_seed(config.seed + 2)
        self.batch, self.device, self.spec = config.batch_size, device, m.config.latent
        self.lambdas = dict(lambda_categorical=config.lambda_categorical, lambda_continuous=config.lambda_continuous,
                            continuous_std=config.continuous_std)  # fmt: skip

    def __call__(self, real: torch.Tensor) -> torch.Tensor:
        m, spec = self.model, self.spec
        codes = spec.sample(self.batch, generator=self.rng, device=self.device)
        fake = m.generator(spec.to_generator_input(codes))
        for p in self.side:
            p.requires_grad_(True)
        fake_features = m.trunk(fake.detach())
        loss_d = d_loss(m.d_head(m.trunk(real)), m.d_head(fake_features))
        info_d, _ = information_terms(spec, m.q_head(fake_features), codes, **self.lambdas)
        self.opt_d.zero_grad(set_to_none=True)
        (loss_d + info_d).backward()
        self.opt_d.step()
        for p in self.side:
            p.requires_grad_(False)
        features = m.trunk(fake)
        info_g, _ = information_terms(spec, m.q_head(features), codes, **self.lambdas)
        loss_g = g_loss(m.d_head(features)) + info_g
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return torch.stack([loss_d.detach(), loss_g.detach()])


def batches(images: torch.Tensor, batch_size: int) -> Callable[[], torch.Tensor]:
    """Real batches as the trainer makes them: a device permutation, an index, uint8 to [0, 1]."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(1)).to(images.device)
    position = [0]

    def next_batch() -> torch.Tensor:
        if position[0] + batch_size > len(order):
            position[0] = 0
        idx = order[position[0] : position[0] + batch_size]
        position[0] += batch_size
        return images[idx].float().div_(255)

    return next_batch


def plain_window(step: PlainStep, next_batch: Callable[[], torch.Tensor], steps: int) -> float:
    """Images/s of `steps` plain steps, waiting for the device once at the end (the caller waited at the start)."""
    start = time.perf_counter()
    for _ in range(steps):
        stats = step(next_batch())
    stats.tolist()  # the one read: waits for the device
    return steps * step.batch / (time.perf_counter() - start)


def side_by_side(
    model_config: object, config: TrainConfig, data: ImageData, plain: PlainStep, warmup: int, windows: int
) -> tuple[list[float], list[float], Trainer]:
    """Trainer.train() for (warmup + windows) log windows; after each log line (a read: the device has caught up)
    the plain step runs as many steps, outside the trainer's timing. Returns both per-window images/s (warm-up
    windows dropped) and the trainer."""
    every = config.log_every
    config = replace(config, steps=every * (warmup + windows), sample_every=10**9, checkpoint_every=10**9)
    next_plain = batches(data.images.to(plain.device), config.batch_size)
    trainer_windows, plain_windows, resumed = [], [], [time.perf_counter()]

    def between_windows(record: dict) -> None:
        trainer_windows.append(every * config.batch_size / (time.perf_counter() - resumed[0]))
        plain_windows.append(plain_window(plain, next_plain, every))
        resumed[0] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(model_config, config, data, out)
        resumed[0] = time.perf_counter()
        trainer.train(on_log=between_windows)
    return trainer_windows[warmup:], plain_windows[warmup:], trainer


def time_graph(step: Callable, next_batch: Callable, generators: list, warmup: int, steps: int, batch: int) -> float:
    """Benchmark-only: `step` captured once as a CUDA graph and replayed, a new batch copied in before each replay."""
    static_real = next_batch().clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm up on a side stream before capture, as PyTorch's CUDA graph notes ask
        for _ in range(warmup):
            step(static_real)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    for generator in generators:
        graph.register_generator_state(generator)  # their draws advance on every replay
    with torch.cuda.graph(graph):
        static_stats = step(static_real)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        static_real.copy_(next_batch())
        graph.replay()
    static_stats.tolist()
    return steps * batch / (time.perf_counter() - start)


def graph_figures(trainer: Trainer, model_config: object, config: TrainConfig, data: ImageData, args: object) -> dict:
    """CUDA graph images/s of the plain step and of the trainer's own step (an error, if capture fails, is
    reported rather than raised: this is not yet a path the trainer takes)."""
    figures = {}
    plain = PlainStep(model_config, config, trainer.device)
    runs = {"graph_plain_step_images_per_s": (plain, batches(trainer.images, config.batch_size), [plain.rng]),
            "graph_trainer_step_images_per_s": (trainer.optimisation_step, trainer.next_batch,
                                                [trainer.latent_rng, trainer.augment_rng])}  # fmt: skip
    for key, (step, next_batch, generators) in runs.items():
        try:
            figures[key] = round(time_graph(step, next_batch, generators, 3, config.log_every * args.windows,
                                            config.batch_size), 1)  # fmt: skip
        except Exception as err:  # benchmark-only: say why, keep the eager figures
            figures[key] = f"capture failed: {type(err).__name__}: {str(err)[:200]}"
    return figures


def measure(preset_name: str, batch_size: int | None, q_augment: str, args: argparse.Namespace) -> dict:
    """One row: trainer and plain step side by side, window by window; then generate latency."""
    preset = load_preset(preset_name)
    config = TrainConfig.from_preset(preset.training, where=f"preset {preset.name}")
    config = replace(config, device=args.device, batch_size=batch_size or config.batch_size, candidates=1,
                     log_every=args.steps or config.log_every)  # fmt: skip
    if q_augment == "off":
        config = replace(config, q_augment="", q_augment_categorical="")
    data, device = random_images(config, preset.model), resolve_device(args.device)
    plain = PlainStep(preset.model, config, device)
    trainer_runs, plain_runs, trainer = side_by_side(preset.model, config, data, plain, args.warmup, args.windows)
    train, plain_figure = statistics.median(trainer_runs), statistics.median(plain_runs)
    row = {"preset": preset.name, "batch_size": config.batch_size, "q_augment": q_augment,
           "machine": describe_hardware(device), "threads": torch.get_num_threads(),
           "train_images_per_s": round(train, 1), "plain_step_images_per_s": round(plain_figure, 1),
           "ratio": round(train / plain_figure, 3), "steps_per_window": config.log_every,
           "train_windows": [round(x) for x in trainer_runs],
           "plain_windows": [round(x) for x in plain_runs]}  # fmt: skip
    if device.type == "cuda":
        row |= graph_figures(trainer, preset.model, config, data, args)
    return row | generate_latency(trainer.model.eval(), device, args.calls)


def generate_latency(model: InfoGAN, device: torch.device, calls: int) -> dict:
    """p50/p95 of generate(n=1), each call with a new seed, after 10 untimed calls."""
    for seed in range(10):
        model.generate(1, seed=seed)
    latencies = []
    for seed in range(calls):
        synchronize(device)
        t0 = time.perf_counter()
        model.generate(1, seed=seed)
        synchronize(device)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"generate_p50_ms": round(statistics.median(latencies), 2),
            "generate_p95_ms": round(percentile(latencies, 95), 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [measure(preset, batch, q, args) for preset in args.preset for batch in (args.batch_size or [None])
            for q in args.q_augment]  # fmt: skip
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    print(f"{rows[0]['machine']}, {rows[0]['threads']} threads, torch {torch.__version__}, load (1 min) {load}")
    print(f"{'preset':<14} {'batch':>5} {'q-aug':>6} {'trainer img/s':>13} {'plain step img/s':>16} {'ratio':>6}")
    for r in rows:
        print(f"{r['preset']:<14} {r['batch_size']:>5} {r['q_augment']:>6} {r['train_images_per_s']:>13} "
              f"{r['plain_step_images_per_s']:>16} {r['ratio']:>6}")  # fmt: skip
    if any("graph_plain_step_images_per_s" in r for r in rows):
        print(GRAPH_NOTE)
    for r in rows:
        print(json.dumps(r | {"torch": torch.__version__, "load_avg_1min": load}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
