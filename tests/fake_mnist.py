"""A tiny fake MNIST in torchvision's raw layout, so tests train through the same loader as the real dataset.

`write_fake_mnist(root)` writes `root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte` (uncompressed IDX
files, which torchvision's MNIST reads without downloading). Each image is its label's digit drawn with PIL's
built-in font at a random shift, size and slant, white on black like MNIST, so a short run has something to learn
and previews look like digits. Used by tests/test_live_training.py, the notebook test and the Train tab's browser
test: `from tests.fake_mnist import write_fake_mnist`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

IMAGE_SIZE = 28
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX headers: 0x00000803 (uint8, 3 dims), 0x00000801 (uint8, 1 dim)


def draw_digits(labels: np.ndarray, seed: int) -> np.ndarray:
    """(N, 28, 28) uint8 images: digit `labels[i]` at a random position, size and slant."""
    rng = np.random.default_rng(seed)
    images = np.zeros((len(labels), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for i, label in enumerate(labels):
        face = ImageFont.load_default(size=int(rng.integers(22, 28)))
        canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE))
        x, y = (IMAGE_SIZE / 2 + float(v) for v in rng.uniform(-3, 3, size=2))
        ImageDraw.Draw(canvas).text((x, y), str(int(label)), fill=255, font=face, anchor="mm",
                                    stroke_width=int(rng.integers(1, 3)), stroke_fill=255)  # fmt: skip
        slant = float(rng.uniform(-0.3, 0.3))  # MNIST digits lean: shear around the centre row
        canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, slant, -slant * IMAGE_SIZE / 2, 0, 1, 0),
                                  resample=Image.Resampling.BILINEAR)  # fmt: skip
        images[i] = np.asarray(canvas)
    return images


def write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    """One IDX file: big-endian magic and dimension sizes, then the raw uint8 data."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(root: str | Path, train: int = 300, test: int = 100, seed: int = 0) -> Path:
    """Write a fake MNIST of `train` + `test` images under `root` (as torchvision expects it); returns `root`."""
    root = Path(root)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n, split_seed in (("train", train, seed), ("t10k", test, seed + 1)):
        labels = np.arange(n) % 10
        np.random.default_rng(split_seed).shuffle(labels)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", IMAGES_MAGIC, draw_digits(labels, split_seed))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", LABELS_MAGIC, labels)
    return root
