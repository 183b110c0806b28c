"""Training: everything that changes a model's weights.

- `trainer`: `Trainer`, one run in one run folder (`train.py` drives it), built from
  `settings` (`TrainConfig`, every training setting), `step` (one optimisation step that never waits for the host),
  `loop` (schedule, log, previews, evaluation, hooks) and `run_folder` (atomic checkpoints, resume state, log file);
- `selection`: label-free restarts (`--candidates`): several short starts, the most informative one trained on;
- `refine`: label-free refinement of Q after training (`python -m infogan.refine`);
- `augment`: differentiable augmentation of D's and Q's inputs; `contrastive`: InfoGAN-CR's regulariser;
  `ema`: the average of G's weights;
- `distributed`: one process per device under torchrun / accelerate launch; `devices`: device auto-detection.

The names below are the wing's public API, imported on first use so `import infogan.training` stays cheap:

    from infogan.training import TrainConfig, Trainer
    model = Trainer(model_config, TrainConfig(steps=2000), data, "runs/x").train(on_log=print)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "STATE_FILE": "run_folder",
    "TrainConfig": "settings",
    "Trainer": "trainer",
    "TrainingDivergedError": "loop",
    "TrainingStoppedError": "loop",
    "train_with_selection": "selection",
    "resolve_device": "devices",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'infogan.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
