"""Turn the float16 model archives of `pack_results.py` back into float32 checkpoint folders (with cards, previews).

python scripts/unpack_results.py models0.tar models1.tar ... --out runs/gpu
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infogan.config import InfoGANConfig  # noqa: E402
from infogan.model import InfoGAN  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archives", nargs="+", help="models*.tar files")
    parser.add_argument("--out", required=True, help="folder to write one checkpoint folder per run into")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for archive in args.archives:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        for folder in sorted(p for p in Path(tmp).iterdir() if p.is_dir()):
            config = InfoGANConfig.from_json_file(folder / "config.json")
            model = InfoGAN(config)
            state = load_file(str(folder / "model.fp16.safetensors"))
            expected = model.state_dict()
            model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
            model.save_pretrained(Path(args.out) / folder.name)
            print(f"wrote {Path(args.out) / folder.name}")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
