"""Data sources: every dataset the trainer and the metrics read, as entries of `DATASETS`.

`datasets` holds the registry and the loaders (image folders, torchvision sets, CelebA crops); `dsprites` renders the
procedural dSprites set with its ground-truth factors. Nothing here imports torch until a loader runs.
"""

from .datasets import DATASETS, DatasetSource, ImageData, load_dataset

__all__ = ["DATASETS", "DatasetSource", "ImageData", "load_dataset"]
