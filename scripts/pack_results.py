"""Pick the models worth bringing back from a sweep and pack them small (for a GPU machine's size-capped outbox).

    python scripts/pack_results.py runs/sweep --out OUTBOX

Selection is label-free: within a recipe (the plan's "group"), the seed whose categorical code carries the most
information about real images under Q (`real_information_nats`, see infogan.metrics.evaluate). The
recipe itself is compared by its mean test accuracy over all seeds — labels measure recipes, they never pick a seed.
Weights travel as float16 (half the bytes; `scripts/unpack_results.py` restores float32 folders).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import BinaryIO

import torch
from safetensors.torch import load_file, save

MAX_PART = 15_500_000  # the outbox takes files up to 16 MiB


def final_eval(entry: dict) -> dict:
    """The last evaluation of a run's categorical code, e.g. {"accuracy": ..., "real_information_nats": ...}."""
    if not entry.get("evals"):
        return {}
    (code_metrics,) = entry["evals"][-1]["eval"].values()
    return code_metrics


def choose(summary: dict) -> list[str]:
    """Run names to bring back: per dataset the best recipe's label-free pick, plus every run marked `keep`."""
    chosen: list[str] = [name for name, e in summary.items() if e["plan"].get("keep") and e.get("has_model")]
    families: dict[str, dict[str, list[str]]] = {}
    for name, entry in summary.items():
        plan = entry["plan"]
        if "group" in plan and entry.get("has_model") and final_eval(entry):
            families.setdefault(plan["family"], {}).setdefault(plan["group"], []).append(name)
    for family, groups in families.items():

        def mean_accuracy(names: list[str]) -> float:
            return sum(final_eval(summary[n])["accuracy"] for n in names) / len(names)

        best_group = max(groups.values(), key=mean_accuracy)
        pick = max(best_group, key=lambda n: final_eval(summary[n])["real_information_nats"])
        print(f"{family}: best recipe {summary[pick]['plan']['group']} (mean accuracy "
              f"{mean_accuracy(best_group):.4f} over {len(best_group)} seeds); label-free pick {pick}")  # fmt: skip
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def half_precision_model(model: Path) -> dict[str, bytes]:
    """config.json and float16 weights of a checkpoint folder, as {relative name: bytes}."""
    state = load_file(str(model / "model.safetensors"))
    state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return {"config.json": (model / "config.json").read_bytes(), "model.fp16.safetensors": save(state)}


def half_precision_folder(run_dir: Path) -> dict[str, bytes]:
    """config.json and float16 weights of a run's model folder, as {relative name: bytes}."""
    return half_precision_model(run_dir / "model")


def write_tar(target: Path | BinaryIO, files: dict[str, bytes]) -> None:
    """A plain tar of {name: bytes}, written to a file path or into a binary stream."""
    where = {"name": target} if isinstance(target, (str, Path)) else {"fileobj": target}
    with tarfile.open(mode="w", **where) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", help="the sweep's --out folder (holding summary.json)")
    parser.add_argument("--out", required=True, help="where to write the packed files")
    parser.add_argument("--max-parts", type=int, default=6, help="model archives at most")
    args = parser.parse_args(argv)
    sweep, out = Path(args.sweep), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = json.loads((sweep / "summary.json").read_text())

    # Logs first: small, and the figures for every run, chosen or not.
    logs: dict[str, bytes] = {"summary.json": (sweep / "summary.json").read_bytes()}
    for name in summary:
        for rel in (f"{name}/log.jsonl", f"{name}.out", f"{name}.preset.json"):
            if (sweep / rel).exists():
                data = (sweep / rel).read_bytes()
                logs[rel] = data[-200_000:] if rel.endswith(".out") else data
    write_tar(out / "logs.tar", logs)

    parts: list[dict[str, bytes]] = []
    for name in choose(summary):
        files = {f"{name}/{k}": v for k, v in half_precision_folder(sweep / name).items()}
        size = sum(map(len, files.values()))
        part = next((p for p in parts if sum(map(len, p.values())) + size <= MAX_PART), None)
        if part is None:
            if len(parts) == args.max_parts or size > MAX_PART:
                print(f"skipped {name}: no room ({size} bytes)", file=sys.stderr)
                continue
            part = {}
            parts.append(part)
        part.update(files)
        print(f"packed {name} ({size / 1e6:.1f} MB)")
    for i, part in enumerate(parts):
        write_tar(out / f"models{i}.tar", part)
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
