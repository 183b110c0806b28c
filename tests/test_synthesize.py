"""`infogan.export.synthesize`: folder layout, manifest, confidence filter, loaders, zip download, CLI errors."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from infogan import CategoricalCode, ContinuousCode, InfoGAN, LatentSpec
from infogan.export import synthesize as synth
from infogan.export.synthesize import SynthesisError, draw_category, folder_names, synthesize, synthesize_zip

from .conftest import REPO_ROOT, tiny_config
from .test_explorer import tiny_rgb_config

LABELS = ("bar", "Shirt/Coat?", "..")  # one plain label, one with a path separator, one that climbs out


@pytest.fixture(scope="module")
def labelled() -> InfoGAN:
    torch.manual_seed(0)
    return InfoGAN(tiny_config(labels=LABELS)).eval()


def read_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metadata.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class EchoGenerator(torch.nn.Module):
    """Writes G's input vector into the first pixels, so a stand-in Q can read every code back exactly."""

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        images = torch.zeros(len(latent), 1, 28, 28)
        images.view(len(latent), -1)[:, : latent.shape[1]] = (latent.clamp(-5, 5) + 5) / 10
        return images  # (B, 1, 28, 28) in [0, 1]


@pytest.fixture(scope="module")
def echo() -> InfoGAN:
    """A tiny model whose Q is sure of an image's category exactly as far as its `width` code is high.

    Q's probability for the drawn category is (width + 1) / 2, so which draws pass a confidence filter is known
    in advance from the seeds alone: a deterministic check of the filter (an untrained Q is ~1/3 for everything).
    """
    model = InfoGAN(tiny_config(labels=LABELS)).eval()
    model.generator = EchoGenerator()
    noise_dim = model.config.latent.noise_dim

    def infer_codes(images: torch.Tensor) -> dict[str, torch.Tensor]:
        latent = images.flatten(1)[:, : noise_dim + 4] * 10 - 5  # z, one-hot shape (3), width
        sure = (latent[:, -1] + 1) / 2  # (B,)
        probs = torch.where(latent[:, noise_dim : noise_dim + 3] > 0, sure[:, None], ((1 - sure) / 2)[:, None])
        return {"shape": probs, "width": latent[:, -1]}

    model.infer_codes = infer_codes
    return model


def expected_confidence(model: InfoGAN, seed: int) -> float:
    return (float(model.latent_values(1, seed)["width"][0]) + 1) / 2


# ---- layout and manifest --------------------------------------------------------------------------------------------


def test_folder_names_are_safe_and_unique() -> None:
    code = CategoricalCode("kind", 7, ("Shirt/Coat?", "..", "CON", "T-shirt", "t-shirt", " a b ", "Mixed (3, 7)"))
    assert folder_names(code) == ["Shirt_Coat_", "category_1", "CON_2", "T-shirt", "t-shirt_4", "a b", "Mixed (3, 7)"]
    assert folder_names(CategoricalCode("digit", 3)) == ["0", "1", "2"]  # no labels: the index


def test_writes_an_image_folder_with_a_manifest(labelled: InfoGAN, tmp_path: Path) -> None:
    out = tmp_path / "set"
    made = synthesize(labelled, 2, out, seed=5, progress=False)
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == {"bar/0.png", "bar/1.png", "Shirt_Coat_/0.png", "Shirt_Coat_/1.png", "category_2/0.png",
                     "category_2/1.png", "metadata.csv", "README.md"}  # fmt: skip
    assert made.draws == [2, 2, 2] and made.acceptance == [1.0, 1.0, 1.0]
    assert not list(tmp_path.glob(".set.partial-*"))  # the staging folder was renamed, nothing left behind

    rows = read_rows(out)
    assert list(rows[0]) == ["file_name", "label", "category", "seed", "confidence", "code_shape", "code_width"]
    assert [(r["file_name"], r["label"], r["category"], r["seed"]) for r in rows] == [
        ("bar/0.png", "bar", "0", "5"), ("bar/1.png", "bar", "0", "6"),
        ("Shirt_Coat_/0.png", "Shirt/Coat?", "1", "5"), ("Shirt_Coat_/1.png", "Shirt/Coat?", "1", "6"),
        ("category_2/0.png", "..", "2", "5"), ("category_2/1.png", "..", "2", "6"),
    ]  # fmt: skip
    for row in rows:  # each row redraws its image and states its codes and Q's confidence
        category, seed = int(row["category"]), int(row["seed"])
        again = labelled.generate(1, seed=seed, codes={"shape": category})
        values = labelled.latent_values(1, seed, {"shape": category})
        pixels = np.asarray(Image.open(out / row["file_name"]), dtype=np.int16)
        assert pixels.shape == (28, 28)
        assert np.abs(pixels - (again[0, 0] * 255).round().numpy()).max() <= 1
        assert int(row["code_shape"]) == category
        assert float(row["code_width"]) == pytest.approx(float(values["width"][0]), abs=1e-6)
        expected = float(labelled.infer_codes(again)["shape"][0, category])
        assert float(row["confidence"]) == pytest.approx(expected, abs=1e-4)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "image-classification" in card and "| 1 | Shirt/Coat? | `Shirt_Coat_` | 2 | 100% |" in card


def test_refuses_a_folder_that_is_not_empty(labelled: InfoGAN, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SynthesisError, match="not an empty folder"):
        synthesize(labelled, 1, tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    synthesize(labelled, 1, tmp_path / "empty", progress=False)  # an existing empty folder is fine
    (tmp_path / "empty2").mkdir()
    synthesize(labelled, 1, tmp_path / "empty2", progress=False)
    assert len(read_rows(tmp_path / "empty2")) == 3


# ---- the confidence filter ------------------------------------------------------------------------------------------


def test_min_confidence_zero_keeps_every_draw(labelled: InfoGAN) -> None:
    chunks = list(draw_category(labelled, labelled.codes[0], 1, 5, seed=10, batch_size=2))
    assert [len(c.rows) for c in chunks] == [2, 2, 1]
    assert [r["seed"] for c in chunks for r in c.rows] == [10, 11, 12, 13, 14]
    assert torch.cat([c.images for c in chunks]).dtype == torch.uint8


def test_min_confidence_keeps_exactly_the_confident_draws(echo: InfoGAN, tmp_path: Path) -> None:
    threshold, per_category = 0.6, 5
    made = synthesize(echo, per_category, tmp_path / "set", min_confidence=threshold, seed=100, batch_size=7,
                      progress=False)  # fmt: skip
    confident = [s for s in range(100, 200) if expected_confidence(echo, s) >= threshold][:per_category]
    assert len(confident) == per_category and confident[-1] > 100 + per_category  # the filter has work to do
    rows = read_rows(tmp_path / "set")
    for k in range(3):  # every category shares the draws (same seeds), so keeps the same ones
        kept = [r for r in rows if r["category"] == str(k)]
        assert [int(r["seed"]) for r in kept] == confident
        expected = [expected_confidence(echo, s) for s in confident]
        assert [float(r["confidence"]) for r in kept] == pytest.approx(expected, abs=1e-5)
    assert made.draws == [confident[-1] - 100 + 1] * 3
    assert made.acceptance[0] == pytest.approx(per_category / made.draws[0])


def test_an_impossible_threshold_gives_a_clear_error_and_no_folder(echo: InfoGAN, tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match=r"category 'bar' \(index 0\) of code 'shape': only 0 of 2 images "
                                             r"reached Q confidence ≥ 1 in 30 draws; lower the minimum"):  # fmt: skip
        synthesize(echo, 2, tmp_path / "set", min_confidence=1.0, max_draws=30, progress=False)
    assert list(tmp_path.iterdir()) == []  # neither the set nor its staging folder


# ---- loaders --------------------------------------------------------------------------------------------------------


def test_torchvision_image_folder_reads_the_set(labelled: InfoGAN, tmp_path: Path) -> None:
    synthesize(labelled, 3, tmp_path, progress=False)
    dataset = torchvision.datasets.ImageFolder(str(tmp_path))
    assert dataset.classes == sorted(["bar", "Shirt_Coat_", "category_2"]) and len(dataset) == 9
    labels = {r["file_name"]: r["label"] for r in read_rows(tmp_path)}
    names = dict(zip(folder_names(labelled.codes[0]), LABELS, strict=True))
    for path, index in dataset.samples:
        assert names[dataset.classes[index]] == labels[Path(path).relative_to(tmp_path).as_posix()]
    image, _ = dataset[0]
    assert image.size == (28, 28)


def test_hugging_face_imagefolder_reads_the_set_and_its_metadata(labelled: InfoGAN, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    synthesize(labelled, 2, tmp_path / "set", progress=False)
    data = datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "set"), cache_dir=str(tmp_path / "cache"))
    train = data["train"]
    assert train.num_rows == 6
    assert set(train.column_names) == {"image", "label", "category", "seed", "confidence", "code_shape", "code_width"}
    assert sorted(train["label"]) == sorted(["bar", "bar", "Shirt/Coat?", "Shirt/Coat?", "..", ".."])
    assert train[0]["image"].size == (28, 28)


# ---- in-memory zip and the explorer's download ----------------------------------------------------------------------


def test_zip_holds_the_same_set_under_one_root(labelled: InfoGAN, tmp_path: Path) -> None:
    data = synthesize_zip(labelled, 2, root="tiny-synthetic", seed=3, progress=False)
    synthesize(labelled, 2, tmp_path / "set", seed=3, progress=False)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert names == {f"tiny-synthetic/{p.relative_to(tmp_path / 'set').as_posix()}"
                         for p in (tmp_path / "set").rglob("*") if p.is_file()}  # fmt: skip
        assert archive.read("tiny-synthetic/metadata.csv") == (tmp_path / "set" / "metadata.csv").read_bytes()
        assert archive.read("tiny-synthetic/bar/0.png") == (tmp_path / "set" / "bar" / "0.png").read_bytes()


def test_download_size_is_capped_and_the_store_is_bounded(labelled: InfoGAN) -> None:
    assert synth.download_per_category(labelled, 100) == 100
    wide = InfoGAN(tiny_config(latent=LatentSpec(noise_dim=4, codes=(CategoricalCode("many", 500),))))
    assert synth.download_per_category(wide, 100) == synth.APP_MAX_IMAGES // 500
    with pytest.raises(SynthesisError, match="no categorical code"):
        synth.download_per_category(InfoGAN(tiny_rgb_config()))
    assert synth.download_name("user/my model", 100) == "user--my model-synthetic-100-per-category.zip"
    store = synth.DownloadStore(keep=2)
    paths = [store.save(f"zip {i}".encode(), "a.zip") for i in range(4)]
    assert [p.exists() for p in paths] == [False, False, True, True]
    assert paths[-1].name == "a.zip" and paths[-1].read_bytes() == b"zip 3"


# ---- the command line -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory, labelled: InfoGAN) -> Path:
    folder = tmp_path_factory.mktemp("checkpoints")
    labelled.save_pretrained(folder / "shapes")
    InfoGAN(tiny_rgb_config()).save_pretrained(folder / "faces")
    two = LatentSpec(noise_dim=4, codes=(CategoricalCode("a", 2), CategoricalCode("b", 3), ContinuousCode("c")))
    InfoGAN(tiny_config(latent=two)).save_pretrained(folder / "two")
    return folder


def test_cli_writes_the_set(checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "set"
    assert synth.main([str(checkpoints / "shapes"), "--per-category", "2", "--out", str(out), "--threads", "1"]) == 0
    assert len(read_rows(out)) == 6
    err = capsys.readouterr().err
    assert "wrote 6 images" in err and "'Shirt/Coat?' → Shirt_Coat_/" in err
    args = [str(checkpoints / "two"), "--code", "b", "--per-category", "1", "--out", str(tmp_path / "b")]
    assert synth.main(args) == 0
    assert {r["label"] for r in read_rows(tmp_path / "b")} == {"0", "1", "2"}


@pytest.mark.parametrize(
    ("model", "args", "message"),
    [
        ("faces", [], "no categorical code"),
        ("shapes", ["--code", "nope"], "unknown code 'nope'"),
        ("shapes", ["--code", "width"], "code 'width' is continuous"),
        ("two", [], "several categorical codes; pick one with --code"),
        ("shapes", ["--per-category", "0"], r"images per category must be an integer in \[1, 100000\], got 0"),
        ("shapes", ["--per-category", "-3"], "got -3"),
        ("shapes", ["--min-confidence", "1.5"], r"probability in \[0, 1\], got 1.5"),
        ("shapes", ["--batch-size", "0"], "batch size"),
        ("shapes", ["--max-draws", "0"], "--max-draws must be a positive integer"),
        ("missing", [], "no config.json|neither a local checkpoint folder|no such local folder"),
    ],
)
def test_cli_errors_say_what_to_do(
    checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, args: list[str], message: str
) -> None:
    argv = [str(checkpoints / model), "--out", str(tmp_path / "set"), *args]
    if "--per-category" not in args:
        argv += ["--per-category", "2"]
    assert synth.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "set").exists()


def test_cli_rejects_a_non_integer_count(checkpoints: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage error for --per-category ten
        synth.main([str(checkpoints / "shapes"), "--per-category", "ten", "--out", str(tmp_path / "set")])
    assert exit_info.value.code == 2


# ---- the shipped models ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "celeba"])
def test_every_shipped_model_with_a_categorical_code_synthesizes(name: str, tmp_path: Path) -> None:
    model = InfoGAN.from_pretrained(REPO_ROOT / "checkpoints" / name)
    if not model.config.latent.categorical:
        with pytest.raises(SynthesisError, match="no categorical code"):
            synthesize(model, 1, tmp_path / "set", progress=False)
        return
    made = synthesize(model, 2, tmp_path / "set", progress=False)
    code = model.config.latent.categorical[0]
    assert len(made.rows) == 2 * code.size
    assert sorted(torchvision.datasets.ImageFolder(str(tmp_path / "set")).classes) == sorted(made.folders)
    assert made.folders == folder_names(code) and len(set(made.folders)) == code.size
