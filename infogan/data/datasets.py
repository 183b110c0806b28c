"""Data sources: each dataset is an entry in `DATASETS` (data, not an if-ladder) that loads into memory as uint8.

Datasets here fit in memory (≤ 70k images of ≤ 64×64; procedural dSprites, 737k binary 64×64, is 3 GB), so holding
them as one uint8 tensor and slicing random batches is several times faster on a 2-core CPU than a DataLoader decoding
per item, and makes resuming exact: the batch order is a function of one seeded generator.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# torch, torchvision and PIL are imported inside the loaders: listing DATASETS (train.py -h) stays instant.

from . import dsprites

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".pgm", ".ppm"}


@dataclass
class ImageData:
    """A whole dataset in memory: images (N, C, H, W) uint8 and, when the source has them, labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    # (N, K) int64 ground-truth factor classes, for synthetic sets that know them (dSprites), for the
    # disentanglement metrics; factor names and values live with the source (infogan.data.dsprites).
    factors: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class DatasetSource:
    """How to load one dataset, plus the facts a model card must state about it."""

    title: str
    load: Callable[[Path, int, int, str, DatasetSource], ImageData]
    license: str
    terms: str
    hub_id: str | None = None
    class_names: tuple[str, ...] | None = None  # for evaluation and category labels
    torchvision_class: str | None = None  # torchvision.datasets class, for the sources torchvision downloads
    subfolder: str | None = None  # for folder-based sources: where the images live under --data-dir
    crop: tuple[int, int, int, int] | None = None  # (top, left, height, width) applied before resizing
    license_name: str | None = None  # for license "other": a short name and a link, as the Hub metadata expects
    license_link: str | None = None
    subset: bool = False  # for procedural sources: a fixed random subset instead of the full product
    factor_names: tuple[str, ...] | None = None  # ground-truth factors (ImageData.factors columns), for scoring

    def card_info(self, name: str) -> dict:
        """The dataset facts written into config.json metadata (and from there into the model card)."""
        info = {"name": self.title, "id": name, "license": self.license, "terms": self.terms}
        if self.hub_id:
            info["hub_id"] = self.hub_id
        if self.license_name:
            info["license_name"] = self.license_name
        if self.license_link:
            info["license_link"] = self.license_link
        return info


def load_dataset(name: str, data_dir: str | Path, image_size: int, channels: int, split: str = "train") -> ImageData:
    """Load dataset `name` from `data_dir` (downloading via torchvision where it can). One clear error if missing."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    source = DATASETS[name]
    return source.load(Path(data_dir), image_size, channels, split, source)


# ---- loaders ------------------------------------------------------------------------------------------------------


def _load_torchvision_digits(
    root: Path, image_size: int, channels: int, split: str, source: DatasetSource
) -> ImageData:
    """MNIST-style datasets: torchvision reads the IDX files (or downloads them when online)."""
    import torchvision

    dataset_class = getattr(torchvision.datasets, source.torchvision_class)
    # torchvision creates <root>/<Class>/raw/ before downloading: remember what existed, so a failed (offline)
    # download does not leave empty folders that look like a half-present dataset.
    created = [d for d in (root, root / source.torchvision_class, root / source.torchvision_class / "raw")
               if not d.exists()]  # fmt: skip
    try:
        dataset = dataset_class(str(root), train=split == "train", download=True)
    except Exception as err:  # torchvision raises URLError/RuntimeError variants when offline
        for folder in reversed(created):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise FileNotFoundError(
            f"{source.title} is not in {root} ({root / source.torchvision_class / 'raw'}) and could not be "
            f"downloaded ({type(err).__name__}: {err}). Pass --data-dir pointing to a folder that holds "
            f"{source.torchvision_class}/raw, or run once with internet access."
        ) from None
    images = dataset.data.unsqueeze(1)  # (N, 1, 28, 28) uint8
    return ImageData(_resize(images, image_size, channels), dataset.targets.clone())


def _load_image_folder(root: Path, image_size: int, channels: int, split: str, source: DatasetSource) -> ImageData:
    """Every image file under the folder (recursively), cropped, resized and centre-cropped to the model size."""
    import torch
    from PIL import Image
    from torchvision.transforms import v2
    from tqdm.auto import tqdm

    folder = root / source.subfolder if source.subfolder else root
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist; pass --data-dir pointing to your images")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(
            f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {folder}; pass --data-dir pointing to "
            "a folder of images"
        )
    steps: list = [v2.PILToTensor()]
    if source.crop:
        steps.append(v2.Lambda(lambda x: v2.functional.crop(x, *source.crop)))
    steps += [v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)]
    transform = v2.Compose(steps)
    mode = "L" if channels == 1 else "RGB"
    images = torch.empty(len(files), channels, image_size, image_size, dtype=torch.uint8)
    for i, path in enumerate(tqdm(files, desc=f"loading {folder.name}", unit="img", leave=False)):
        try:
            with warnings.catch_warnings():
                # PIL only warns between MAX_IMAGE_PIXELS and twice that; a training image that large is an error.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    images[i] = transform(image.convert(mode))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ValueError(
                f"image {path} is too large to decode safely ({err}); it may be a decompression bomb — remove it "
                "or resize it"
            ) from None
        except OSError as err:
            raise ValueError(f"cannot read image {path}: {err}; remove or fix it") from None
    return ImageData(images)


def _load_frey(root: Path, image_size: int, channels: int, split: str, source: DatasetSource) -> ImageData:
    """Frey faces: 1,965 grey 20×28 frames, padded (edge pixels repeated) to square before resizing."""
    import scipy.io
    import torch

    path = root / "frey" / "frey_rawface.mat"
    if not path.is_file():
        raise FileNotFoundError(f"Frey faces not found at {path}; pass --data-dir holding frey/frey_rawface.mat")
    faces = torch.from_numpy(scipy.io.loadmat(str(path))["ff"].T.reshape(-1, 1, 28, 20).copy())
    faces = torch.nn.functional.pad(faces.float(), (4, 4, 0, 0), mode="replicate").to(torch.uint8)  # (N, 1, 28, 28)
    return ImageData(_resize(faces, image_size, channels))


def _load_dsprites(root: Path, image_size: int, channels: int, split: str, source: DatasetSource) -> ImageData:
    """dSprites rendered procedurally (no files; `root` unused): the full set, or the fixed subset of dsprites-small.

    dSprites has no test split: both splits are the whole set, as the disentanglement literature scores it.
    """
    if image_size != dsprites.IMAGE_SIZE:
        raise ValueError(f"dSprites images are {dsprites.IMAGE_SIZE}x{dsprites.IMAGE_SIZE}; set the model's "
                         f"image_size to {dsprites.IMAGE_SIZE} (got {image_size})")  # fmt: skip
    import torch

    indices = dsprites.subset_indices() if source.subset else None
    images = torch.from_numpy(dsprites.render_images(indices)).unsqueeze(1)  # (N, 1, 64, 64), no copy
    return ImageData(_resize(images, image_size, channels), factors=dsprites.factor_classes(indices))


def _resize(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    import torch
    from torchvision.transforms import v2

    if images.shape[-1] != image_size:
        images = v2.functional.resize(images, [image_size, image_size], antialias=True)
    if images.shape[1] != channels:
        images = images.expand(-1, channels, -1, -1).contiguous() if channels == 3 else images.float().mean(
            1, keepdim=True).round().to(torch.uint8)  # fmt: skip
    return images


DATASETS: dict[str, DatasetSource] = {
    "mnist": DatasetSource(
        title="MNIST",
        load=_load_torchvision_digits,
        torchvision_class="MNIST",
        hub_id="ylecun/mnist",
        license="cc-by-sa-3.0",
        terms="LeCun & Cortes; commonly cited as CC BY-SA 3.0.",
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": DatasetSource(
        title="Fashion-MNIST",
        load=_load_torchvision_digits,
        torchvision_class="FashionMNIST",
        hub_id="zalando-datasets/fashion_mnist",
        license="mit",
        terms="Zalando Research, MIT licence.",
        class_names=("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"),
    ),
    "celeba": DatasetSource(
        title="CelebA (aligned faces; 10k subset)",
        load=_load_image_folder,
        subfolder="celeba-10k",
        # The 10k copy is half resolution (89×109); this 64×64 box holds the face with a little hair and background.
        crop=(26, 12, 64, 64),
        license="other",
        license_name="celeba-non-commercial",
        license_link="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        terms="CelebA is available for non-commercial research and education purposes only (CUHK MMLab); "
        "models trained on it inherit those terms.",
    ),
    "frey": DatasetSource(
        title="Frey faces",
        load=_load_frey,
        license="other",
        terms="Brendan Frey's face frames, distributed for research use (Sam Roweis' data page).",
    ),
    "dsprites": DatasetSource(
        title="dSprites (procedural replica, 737,280 images)",
        load=_load_dsprites,
        factor_names=dsprites.FACTOR_NAMES,
        license="apache-2.0",
        terms="Rendered by infogan.data.dsprites after the definition of dSprites (Matthey et al. 2017, Apache-2.0); "
        "not the original files.",
    ),
    "dsprites-small": DatasetSource(
        title=f"dSprites (procedural replica, fixed random {dsprites.SUBSET_SIZE:,}-image subset)",
        load=_load_dsprites,
        subset=True,
        factor_names=dsprites.FACTOR_NAMES,
        license="apache-2.0",
        terms="Rendered by infogan.data.dsprites after the definition of dSprites (Matthey et al. 2017, Apache-2.0); "
        "not the original files.",
    ),
    "folder": DatasetSource(
        title="Image folder",
        load=_load_image_folder,
        license="other",
        terms="User-provided images; their own terms apply.",
    ),
}
