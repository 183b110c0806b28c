"""Live InfoGAN latent explorer: `python app.py` serves the models in checkpoints/ (add Hub models with --models).

The Space entry: flags, the model registry, the page, launch. The page itself (tabs, callbacks, limits) is built by
`infogan.explorer.ui`, and everything it does with models lives in `infogan.explorer`.
"""

import argparse
import os
from pathlib import Path

CHECKPOINTS = Path(__file__).with_name("checkpoints")  # each sub-folder with a config.json is one model
LIVE = Path(__file__).with_name("live")  # the Train tab's folder: trained models, its runs, zips, default data
DATA_ENV = "INFOGAN_DATA_DIR"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default=str(CHECKPOINTS), help="folder of checkpoint folders to serve")
    parser.add_argument("--models", nargs="*", default=[], metavar="USER/REPO",
                        help="Hub repo ids to load too (safetensors only); also $INFOGAN_MODELS")  # fmt: skip
    parser.add_argument("--train-dir", default=str(LIVE),
                        help="the Train tab's folder; everything it writes stays in it")  # fmt: skip
    parser.add_argument("--data-dir", default=os.environ.get(DATA_ENV),
                        help=f"datasets for the Train tab in torchvision's layout (e.g. MNIST/raw/); also ${DATA_ENV}; "
                             "default: <train-dir>/data")  # fmt: skip
    parser.add_argument("--no-train", action="store_true", help="serve the explorer without the Train tab")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to bind")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)), help="port")
    return parser


if __name__ == "__main__":
    build_parser().parse_args()  # `--help` and usage errors answer here, before Gradio and torch load (~8 s)

# The heavy imports come after that early exit (E402 is ignored for app.py in pyproject.toml).
import logging

import torch

from infogan.explorer.limits import THREADS
from infogan.explorer.live_training import LiveTraining
from infogan.explorer.registry import MODELS_ENV, ModelRegistry, hub_ids_from
from infogan.explorer.ui import build_demo, launch


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    torch.set_num_threads(THREADS)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    registry = ModelRegistry.from_sources(args.checkpoints, hub_ids_from(args.models))
    if registry.failures and not len(registry):  # serve what loads; refuse only when nothing does
        parser.error("no model could be loaded:" + "".join(f"\n  {n}: {r}" for n, r in registry.failures.items()))
    if not len(registry):
        parser.error(f"no models: {args.checkpoints}/ has no */config.json and no --models / ${MODELS_ENV}")
    live = None if args.no_train else LiveTraining(args.train_dir, args.data_dir)
    try:
        launch(build_demo(registry, live), server_name=args.host, server_port=args.port)
    except OSError as err:  # Gradio: "Cannot find empty port in range" (or the address cannot be bound)
        parser.exit(2, f"error: cannot serve on {args.host}:{args.port} ({err}); is another app using it? Pass "
                       "another port with --port, e.g. --port 7861\n")  # fmt: skip


if __name__ == "__main__":
    main()
