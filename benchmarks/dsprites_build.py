"""Time to render procedural dSprites, and the process's peak memory.

    python benchmarks/dsprites_build.py            # the full 737,280-image set (3 GB)
    python benchmarks/dsprites_build.py --small    # the fixed 100k subset (dsprites-small)

Times `load_dataset` (the 720 sprites, then every image pasted at its position, then the factor table), which is
what `train.py --preset dsprites` spends before its first step. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

import torch

from infogan.data import load_dataset
from infogan.training.devices import describe_hardware


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="build dsprites-small (100k images) instead of all")
    args = parser.parse_args(argv)
    name = "dsprites-small" if args.small else "dsprites"
    start = time.perf_counter()
    data = load_dataset(name, ".", 64, 1)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    result = {
        "dataset": name,
        "images": len(data),
        "build_s": round(seconds, 2),
        "peak_rss_mb": round(peak_mb),
        "machine": describe_hardware(torch.device("cpu")),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
