"""Push to and download from a local stand-in Hub (tests/hub_server.py): what arrives is exactly what was saved.

huggingface_hub reads HF_ENDPOINT once, at import, into `constants.ENDPOINT` and
`constants.HUGGINGFACE_CO_URL_TEMPLATE`. `HfApi()` (used by `push_to_hub`) reads `constants.ENDPOINT` when it is
constructed and `hf_hub_download` formats `constants.HUGGINGFACE_CO_URL_TEMPLATE` per call, so patching those two
constants (plus the cache folder) redirects both paths in-process. The module-level `huggingface_hub.api` singleton
keeps the old endpoint, but nothing here uses it. The CLI test starts a fresh process, where setting HF_ENDPOINT in
the environment is enough.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants

from infogan import InfoGAN
from tests.conftest import REPO_ROOT, synthetic_shapes
from tests.hub_server import HubStandIn

FAKE_TOKEN = "hf_standin_0123456789abcdefghijklmnopqrstuv"
EXPECTED_FILES = {"config.json", "model.safetensors", "README.md", "samples.png", "traversal_shape.png",
                  "traversal_width.png"}  # fmt: skip


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:
    with HubStandIn() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
        # The client fetches an "agent harness" registry once a day and caches it under HF_HOME: keep it in tmp.
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
        monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "hf-home" / ".agent_harnesses.json"))
        yield server
        assert not server.unhandled, f"the client called endpoints the stand-in does not know: {server.unhandled}"


def test_push_uploads_exactly_the_saved_folder(hub: HubStandIn, model: InfoGAN, tmp_path: Path) -> None:
    model.push_to_hub("alice/tiny-infogan")
    model.save_pretrained(tmp_path / "local")  # after the push: the card's usage snippet now names the repo

    repo = hub.repos["alice/tiny-infogan"]
    assert b'InfoGAN.from_pretrained("alice/tiny-infogan")' in repo.files["README.md"]
    assert set(repo.files) == EXPECTED_FILES
    for name, content in repo.files.items():
        assert content == (tmp_path / "local" / name).read_bytes(), f"{name} differs from save_pretrained output"
    assert f"Bearer {FAKE_TOKEN}" in hub.tokens
    assert len(hub.validated_cards) == 1 and "library_name: infogan-explorer" in hub.validated_cards[0]
    posts = [path for method, path in hub.requests if method == "POST"]
    assert posts == ["/api/repos/create", "/api/validate-yaml", "/api/models/alice/tiny-infogan/preupload/main",
                     "/api/models/alice/tiny-infogan/commit/main"]  # fmt: skip


def test_save_pretrained_forwards_push_settings(hub: HubStandIn, model: InfoGAN, tmp_path: Path) -> None:
    other_token = "hf_other_0123456789abcdefghijklmnopqrstu"
    model.save_pretrained(tmp_path / "local", push_to_hub=True, repo_id="alice/secret-infogan", private=True,
                          token=other_token, commit_message="first secret version")  # fmt: skip
    repo = hub.repos["alice/secret-infogan"]
    assert repo.private is True, "private=True must reach create_repo (the repo was created public)"
    assert repo.commits[-1]["summary"] == "first secret version"
    assert f"Bearer {other_token}" in hub.tokens
    assert set(repo.files) == EXPECTED_FILES

    model.push_to_hub("alice/open-infogan")  # nothing asked: the Hub's default
    assert not hub.repos["alice/open-infogan"].private


def test_download_round_trip_generates_identical_images(hub: HubStandIn, model: InfoGAN, tmp_path: Path) -> None:
    model.push_to_hub("alice/tiny-infogan")
    loaded = InfoGAN.from_pretrained("alice/tiny-infogan", cache_dir=tmp_path / "cache")

    assert loaded.config.to_dict() == model.config.to_dict()
    assert torch.equal(loaded.generate(4, seed=3, codes={"shape": 1}), model.generate(4, seed=3, codes={"shape": 1}))
    fetched = {path for method, path in hub.requests if method == "GET" and "/resolve/" in path}
    assert fetched == {
        "/alice/tiny-infogan/resolve/main/config.json",
        "/alice/tiny-infogan/resolve/main/model.safetensors",
    }


def test_download_by_commit_and_from_cache_offline(hub: HubStandIn, model: InfoGAN, tmp_path: Path) -> None:
    model.push_to_hub("alice/tiny-infogan")
    first = hub.repos["alice/tiny-infogan"].head
    by_commit = InfoGAN.from_pretrained("alice/tiny-infogan", revision=first, cache_dir=tmp_path / "cache")
    assert torch.equal(by_commit.generate(2, seed=0), model.generate(2, seed=0))

    hub.requests.clear()
    cached = InfoGAN.from_pretrained("alice/tiny-infogan", revision=first, cache_dir=tmp_path / "cache",
                                     local_files_only=True)  # fmt: skip
    assert hub.requests == [], "local_files_only must not touch the network"
    assert torch.equal(cached.generate(2, seed=0), model.generate(2, seed=0))


def test_pushing_again_updates_the_repo(hub: HubStandIn, model: InfoGAN) -> None:
    model.push_to_hub("alice/tiny-infogan")
    model.config = model.config.with_metadata(title="Second version")
    model.push_to_hub("alice/tiny-infogan")  # create_repo answers 409; exist_ok carries on

    repo = hub.repos["alice/tiny-infogan"]
    assert len(repo.commits) == 2
    assert b"# Second version" in repo.files["README.md"]


def test_missing_repo_and_missing_file_raise_file_not_found(hub: HubStandIn, model: InfoGAN, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="alice/nothing-here"):
        InfoGAN.from_pretrained("alice/nothing-here", cache_dir=tmp_path / "cache")
    model.push_to_hub("alice/tiny-infogan")
    del hub.repos["alice/tiny-infogan"].files["model.safetensors"]
    with pytest.raises(FileNotFoundError, match="alice/tiny-infogan"):
        InfoGAN.from_pretrained("alice/tiny-infogan", cache_dir=tmp_path / "cache")


def test_invalid_repo_id_is_not_sent_to_the_hub(hub: HubStandIn) -> None:
    with pytest.raises(FileNotFoundError, match="neither a local checkpoint folder nor a valid Hub repo id"):
        InfoGAN.from_pretrained("not a repo id!")
    assert hub.requests == []


def test_an_unanswering_hub_is_given_up_after_the_timeout(hub: HubStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setattr(constants, "ENDPOINT", url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
        start = time.perf_counter()
        with pytest.raises(FileNotFoundError, match=r"could not download 'alice/slow' from the Hub within 1 s"):
            InfoGAN.from_pretrained("alice/slow", timeout=1)
        assert time.perf_counter() - start < 3


def test_train_cli_pushes_the_final_model(hub: HubStandIn, tmp_path: Path) -> None:
    from torchvision.utils import save_image

    data_dir = tmp_path / "images"
    data_dir.mkdir()
    for i, image in enumerate(synthetic_shapes(16).images):
        save_image(image.float() / 255, data_dir / f"{i:03d}.png")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(REPO_ROOT / "train.py"), "--preset", str(REPO_ROOT / "tests/fixtures/tiny.json"),
           "--dataset", "folder", "--data-dir", str(data_dir), "--out", str(tmp_path / "run"), "--steps", "2",
           "--batch-size", "8", "--threads", "1", "--push-to-hub", "bob/cli-infogan"]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]

    repo = hub.repos["bob/cli-infogan"]
    assert set(repo.files) == {p.name for p in (tmp_path / "run" / "model").iterdir() if not p.name.startswith(".")}
    for name, content in repo.files.items():
        assert content == (tmp_path / "run" / "model" / name).read_bytes(), name
