"""benchmarks/augmentation.py end to end on a tiny fake MNIST (IDX files) and a tiny untrained checkpoint."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
import torch

from infogan import CategoricalCode, ContinuousCode, InfoGAN, LatentSpec
from infogan.data import ImageData

from .conftest import REPO_ROOT, tiny_config

DIGITS = tuple(str(d) for d in range(10))


def load_benchmark() -> object:
    spec = importlib.util.spec_from_file_location("augmentation", REPO_ROOT / "benchmarks" / "augmentation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_idx(folder: Path, prefix: str, n: int, seed: int) -> None:
    """MNIST's IDX files (what torchvision reads): n random 28×28 images with labels cycling 0..9."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(n, dtype=torch.uint8) % 10
    header = struct.pack(">IIII", 0x803, n, 28, 28)  # magic (unsigned bytes, 3 dims), then the dims, big-endian
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.numpy().tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.numpy().tobytes())


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw, "train", 60, seed=0)
    write_idx(raw, "t10k", 30, seed=1)
    return root


def digit_model(matching: dict[str, str] | None = None) -> InfoGAN:
    latent = LatentSpec(noise_dim=4, codes=(CategoricalCode("digit", 10, DIGITS[::-1]), ContinuousCode("slant")))
    metadata = {"metrics": {"test_set": {"digit": {"category_to_class": matching}}}} if matching else {}
    torch.manual_seed(0)
    return InfoGAN(tiny_config(latent=latent, metadata=metadata)).eval()


def test_categories_map_to_classes_by_the_checkpoint_matching_or_the_labels() -> None:
    bench = load_benchmark()
    assert bench.category_classes(digit_model(), "digit", DIGITS) == list(range(9, -1, -1))  # labels "9".."0"
    matching = {str(i): DIGITS[(i + 1) % 10] for i in range(10)}  # the test-set matching wins over the labels
    assert bench.category_classes(digit_model(matching), "digit", DIGITS) == [(i + 1) % 10 for i in range(10)]
    with pytest.raises(ValueError, match="none of the classes"):
        bench.category_classes(digit_model(), "digit", ("a", "b"))


def test_real_subset_takes_k_per_class() -> None:
    bench = load_benchmark()
    data = ImageData(torch.zeros(40, 1, 28, 28, dtype=torch.uint8), torch.arange(40) % 4)
    subset = bench.real_subset(data, 3, seed=0)
    assert sorted(subset.labels.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    numbered = ImageData(torch.arange(40).view(40, 1, 1, 1).to(torch.uint8), data.labels)  # pixel = index
    picked = bench.real_subset(numbered, 3, seed=0).images.flatten()
    assert torch.equal(bench.real_subset(numbered, 3, seed=0).images.flatten(), picked)  # same seed, same images
    assert not torch.equal(bench.real_subset(numbered, 3, seed=1).images.flatten(), picked)
    assert ((picked.long() % 4) == torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])).all()


def test_benchmark_runs_and_writes_its_table(
    fake_mnist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoints = tmp_path / "checkpoints"
    digit_model().save_pretrained(checkpoints / "mnist")
    out = tmp_path / "results.md"
    args = ["--datasets", "mnist", "--data-dir", str(fake_mnist), "--checkpoint-dir", str(checkpoints), "--k", "1", "2",
            "--seeds", "2", "--per-class", "3", "--steps", "2", "--batch-size", "8", "--out", str(out)]  # fmt: skip
    assert load_benchmark().main(args) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| MNIST")]
    assert [row.split(" | ")[1] for row in rows] == ["1", "2"]
    assert all(row.count("±") == 3 for row in rows)
    written = out.read_text(encoding="utf-8")
    assert rows[0] in written and '"synthetic_images": 30' in written and "mean ± std over 2 seeds" in written


def test_benchmark_reports_a_missing_checkpoint(
    fake_mnist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--datasets", "mnist", "--data-dir", str(fake_mnist), "--checkpoint-dir", str(tmp_path), "--out", ""]
    assert load_benchmark().main(args) == 2
    assert capsys.readouterr().err.startswith("error: ")
