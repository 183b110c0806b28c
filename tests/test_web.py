"""`python -m infogan.export_web`: ONNX export and parity check, the site's files, safe rebuilds, push to a Space.

The page itself runs in tests/test_web_browser.py (chromium); here everything runs without a browser.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from infogan import InfoGAN
from infogan.export import web_site as web
from infogan.export.onnx_export import ParityError, check_encoder, check_generator
from tests.conftest import tiny_config
from tests.hub_server import HubStandIn
from tests.test_hub import FAKE_TOKEN, hub  # noqa: F401 (the stand-in Hub fixture)

PAGE = {"index.html", "app.js", "torch_rng.js", "style.css", "models.json", "README.md"}
RUNTIME = {"ort/ort.wasm.min.js", "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm", "ort/LICENSE"}


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny checkpoint folders: 'shapes' (labelled 3-way code) and 'rgb64' (64×64 RGB, no FC layer)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    InfoGAN(tiny_config(labels=("bar", "post", "blob"))).eval().save_pretrained(folder / "shapes")
    InfoGAN(tiny_config(image_size=64, channels=3, fc_dim=0)).eval().save_pretrained(folder / "rgb64")
    return folder


@pytest.fixture(scope="module")
def site(checkpoints: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[web.ExportedModel]]:
    out = tmp_path_factory.mktemp("build") / "site"
    exported = web.build_site([str(checkpoints / "shapes"), str(checkpoints / "rgb64")], out)
    return out, exported


def test_site_holds_exactly_the_page_runtime_and_each_model(site: tuple[Path, list], checkpoints: Path) -> None:
    out, exported = site
    models = {f"models/{name}/{f}" for name in ("shapes", "rgb64") for f in ("config.json", "generator.onnx",
                                                                                "encoder.onnx")}  # fmt: skip
    assert files_under(out) == PAGE | RUNTIME | models
    manifest = json.loads((out / "models.json").read_text())
    assert [m["name"] for m in manifest["models"]] == ["shapes", "rgb64"]
    assert manifest["runtime"] == {"package": "onnxruntime-web", "version": "1.30.0"}
    for name in ("shapes", "rgb64"):
        # The site's copy is the model's config; the safetensors file's hash (metadata.weights_sha256) stays behind.
        expected = json.loads((checkpoints / name / "config.json").read_text())
        expected["metadata"].pop("weights_sha256", None)
        assert json.loads((out / "models" / name / "config.json").read_text()) == expected
    for m in exported:
        assert m.generator_diff <= 1e-4 and m.encoder_diff <= 1e-4
        assert m.bytes == sum(p.stat().st_size for p in (out / "models" / m.name).iterdir())
    shipped = web.RUNTIME_DIR / "ort-wasm-simd-threaded.wasm"
    assert (out / "ort" / "ort-wasm-simd-threaded.wasm").read_bytes() == shipped.read_bytes()


def test_space_readme_has_static_front_matter(site: tuple[Path, list]) -> None:
    import yaml

    text = (site[0] / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["sdk"] == "static" and front["app_file"] == "index.html"
    assert "| shapes |" in text and "| rgb64 |" in text


def test_page_refers_to_no_other_host(site: tuple[Path, list]) -> None:
    """Every absolute URL in what the page loads is a link a person may click or an error message's pointer, never a
    script, style, model or runtime file (the browser test checks the requests themselves)."""
    out = site[0]
    allowed = {"https://github.com/infogan-explorer/infogan-explorer", "https://web.dev/cross-origin-isolation-guide/"}
    for name in ("index.html", "app.js", "torch_rng.js", "style.css", "ort/ort.wasm.min.js",
                 "ort/ort-wasm-simd-threaded.mjs"):  # fmt: skip
        urls = set(re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\"'`)<>]*", (out / name).read_text()))
        assert urls <= allowed, f"{name} refers to another host: {sorted(urls - allowed)}"
    assert 'href="https://github.com/infogan-explorer/infogan-explorer"' in (out / "index.html").read_text()


def test_onnx_files_match_pytorch_for_any_batch(site: tuple[Path, list], checkpoints: Path) -> None:
    import onnxruntime

    model = InfoGAN.from_pretrained(checkpoints / "rgb64")
    folder = site[0] / "models" / "rgb64"
    latent = model.config.latent.to_generator_input(model.latent_values(7, seed=5)).numpy()
    (images,) = onnxruntime.InferenceSession(str(folder / "generator.onnx")).run(None, {"latent": latent})
    np.testing.assert_allclose(images, model.generate(7, seed=5).numpy(), atol=1e-5)  # a traversal grid is one call
    (q,) = onnxruntime.InferenceSession(str(folder / "encoder.onnx")).run(None, {"image": images})
    with torch.no_grad():
        expected = model.q_head(model.trunk(torch.from_numpy(images))).numpy()
    np.testing.assert_allclose(q, expected, atol=1e-4)


def test_parity_check_rejects_a_file_that_computes_something_else(site: tuple[Path, list], checkpoints: Path) -> None:
    model = InfoGAN.from_pretrained(checkpoints / "shapes")
    folder = site[0] / "models" / "shapes"
    assert check_generator(model, folder / "generator.onnx") <= 1e-4
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05)
    with pytest.raises(ParityError, match=r"generator differs from PyTorch by up to .* \(allowed 0.0001\)"):
        check_generator(model, folder / "generator.onnx")
    with pytest.raises(ParityError, match="encoder differs"):
        check_encoder(model, folder / "encoder.onnx")


def test_rebuild_replaces_an_earlier_site_but_never_other_folders(
    site: tuple[Path, list], checkpoints: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    shutil.copytree(site[0], out)
    web.build_site([str(checkpoints / "shapes")], out, encoder=False)
    assert files_under(out) == PAGE | RUNTIME | {"models/shapes/config.json", "models/shapes/generator.onnx"}
    assert "encoder" not in json.loads((out / "models.json").read_text())["models"][0]

    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(ValueError, match="not a site built by export_web"):
        web.build_site([str(checkpoints / "shapes")], mine)
    assert (mine / "thesis.txt").read_text() == "precious"


def test_failed_build_leaves_the_earlier_site_untouched(
    site: tuple[Path, list], checkpoints: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    shutil.copytree(site[0], out)
    before = {name: (out / name).read_bytes() for name in files_under(out)}
    with pytest.raises(FileNotFoundError):
        web.build_site([str(checkpoints / "shapes"), str(tmp_path / "missing")], out, encoder=False)
    assert {name: (out / name).read_bytes() for name in files_under(out)} == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folder left behind


def test_duplicate_names_and_a_tampered_runtime_are_clear_errors(
    checkpoints: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "elsewhere" / "shapes"
    shutil.copytree(checkpoints / "shapes", copy)
    with pytest.raises(ValueError, match="same name in the page"):
        web.build_site([str(checkpoints / "shapes"), str(copy)], tmp_path / "site")

    runtime = tmp_path / "vendor"
    shutil.copytree(web.RUNTIME_DIR, runtime)
    (runtime / "ort.wasm.min.js").write_text("version https://git-lfs.github.com/spec/v1\n")  # e.g. an LFS pointer
    monkeypatch.setattr(web, "RUNTIME_DIR", runtime)
    with pytest.raises(RuntimeError, match=r"ort.wasm.min.js is missing or differs from the pinned onnxruntime-web@1"):
        web.build_site([str(checkpoints / "shapes")], tmp_path / "site", encoder=False)


def test_cli_builds_and_pushes_to_a_static_space(
    hub: HubStandIn,  # noqa: F811
    checkpoints: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "site"
    args = [str(checkpoints / "shapes"), "--out", str(out), "--no-encoder", "--push-to-space", "alice/explorer"]
    assert web.main(args) == 0
    printed = capsys.readouterr().out
    assert "shapes: " in printed and "ONNX vs PyTorch max |diff| generator" in printed and "pushed: " in printed

    space = hub.repos["alice/explorer"]
    assert (space.type, space.sdk) == ("space", "static")
    assert set(space.files) == files_under(out)
    for name, content in space.files.items():
        assert content == (out / name).read_bytes(), f"{name} differs from the built site"
    assert f"Bearer {FAKE_TOKEN}" in hub.tokens
    posts = [path for method, path in hub.requests if method == "POST"]
    assert posts[0] == "/api/repos/create" and posts[-1] == "/api/spaces/alice/explorer/commit/main"

    web.push_to_space(out, "alice/explorer")
    assert len(space.commits) == 2  # pushing again updates the existing Space

    capsys.readouterr()
    assert web.main([*args[:-1], "not a space id"]) == 1  # the build stands; the push fails with one clear line
    err = capsys.readouterr().err
    assert err.startswith(f"error: the site is built in {out}, but the push to not a space id failed")
    assert "Traceback" not in err and (out / "models.json").is_file()


def test_a_hub_model_is_named_by_its_repo_id_as_in_the_app(
    hub: HubStandIn,  # noqa: F811
    checkpoints: Path,
    tmp_path: Path,
) -> None:
    InfoGAN.from_pretrained(checkpoints / "shapes").push_to_hub("alice/tiny-infogan")
    out = tmp_path / "site"
    web.build_site(["alice/tiny-infogan"], out, encoder=False)
    entry = json.loads((out / "models.json").read_text())["models"][0]
    assert entry["name"] == "alice/tiny-infogan"  # explorer.ModelRegistry names Hub models the same way
    assert entry["generator"] == "models/alice/tiny-infogan/generator.onnx" and (out / entry["generator"]).is_file()


def test_cli_reports_a_missing_checkpoint_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert web.main([str(tmp_path / "nope"), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "site").exists()
