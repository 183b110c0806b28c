"""The Train tab's UI logic around the live-training backend: streaming updates, "busy" for a second visitor, Stop
only for the page that started the run, bad input as one gr.Error, the trained models in the registry, the zip and
the Hub push (to the local stand-in Hub). The browser test is tests/test_train_browser.py."""

from __future__ import annotations

import html
import math
import os
import time
import zipfile
from pathlib import Path

import pytest
import torch

from infogan import InfoGAN
from infogan.explorer.live_training import LiveTraining
from infogan.explorer.registry import ModelRegistry
from tests.conftest import tiny_config
from tests.fake_mnist import write_fake_mnist
from tests.hub_server import HubStandIn
from tests.test_explorer import save_tiny_models

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
gr = pytest.importorskip("gradio")
from infogan.explorer import callbacks, training_tab  # noqa: E402 (imports Gradio: after the analytics switch)
from infogan.explorer.outputs import OutputStore  # noqa: E402
from infogan.explorer.ui import build_demo  # noqa: E402


class Visitor:
    """What Gradio passes as `gr.Request`: the only thing the Train tab reads from it is the page's session."""

    def __init__(self, session: str) -> None:
        self.session_hash = session


@pytest.fixture
def live(tmp_path: Path) -> LiveTraining:
    return LiveTraining(tmp_path / "live", write_fake_mnist(tmp_path / "data", train=200, test=50), batch_size=8)


def train_tab(live: LiveTraining) -> tuple[training_tab.TrainTab, gr.Dropdown]:
    with gr.Blocks():
        return training_tab.build_train(live), gr.Dropdown()


def publish(live: LiveTraining, name: str, seed: int = 0) -> Path:
    """A finished model as the backend publishes it (a complete Hub-format folder in models/)."""
    torch.manual_seed(seed)
    folder = live.models_dir / name
    InfoGAN(tiny_config()).save_pretrained(folder)
    return folder


def test_a_run_streams_previews_and_the_model_joins_the_registry(live: LiveTraining, tmp_path: Path) -> None:
    registry = ModelRegistry.from_sources(save_tiny_models(tmp_path / "checkpoints"))
    tab, model_dropdown = train_tab(live)
    stream = training_tab.stream_training(live, registry, OutputStore(root=tmp_path / "out"), tab, model_dropdown,
                                          training_tab.RunOwner(), "mnist", 30, Visitor("a"))  # fmt: skip
    updates = list(stream)
    previews = [u[tab.preview] for u in updates if tab.preview in u]
    assert len(previews) >= 2 and len(set(previews)) == len(previews)  # each new picture is a new file
    plot = next(u[tab.plot] for u in reversed(updates) if tab.plot in u)
    assert set(plot["series"]) == {"D loss", "G loss", f"I(digit; G), lower bound in nats (max {math.log(10):.2f})"}
    assert plot["step"].max() == 30
    final = updates[-1]
    name = final[tab.trained].value
    assert name.startswith("my-mnist-") and name in registry and (name, name) in final[model_dropdown].choices
    assert "joined the Model dropdown" in final[tab.progress]
    download = final[tab.download].value  # a FileData dict once the component has processed the path
    with zipfile.ZipFile(download["path"] if isinstance(download, dict) else download) as archive:
        assert {"config.json", "model.safetensors", "README.md"} <= {n.split("/")[1] for n in archive.namelist()}
    assert registry.get(name).generate(1, seed=0).shape == (1, 1, 28, 28)  # it draws


def test_a_second_visitor_is_told_busy_and_cannot_stop_the_run(live: LiveTraining, tmp_path: Path) -> None:
    registry = ModelRegistry.from_sources(save_tiny_models(tmp_path / "checkpoints"))
    tab, model_dropdown = train_tab(live)
    owner, store = training_tab.RunOwner(), OutputStore(root=tmp_path / "out")
    first = training_tab.stream_training(live, registry, store, tab, model_dropdown, owner, "mnist", 2000,
                                         Visitor("first"))  # fmt: skip
    next(first)  # the first visitor's run has started
    second = training_tab.stream_training(live, registry, store, tab, model_dropdown, owner, "mnist", 30,
                                          Visitor("second"))  # fmt: skip
    with pytest.raises(gr.Error, match="busy, try again"):
        next(second)
    with pytest.raises(gr.Error, match="no training started from this page"):
        training_tab.stop_training(live, owner, Visitor("second"))
    training_tab.stop_training(live, owner, Visitor("first"))
    deadline = time.monotonic() + 60
    last = None
    for update in first:
        assert time.monotonic() < deadline
        last = update
    assert "stopped" in last[tab.progress] and "nothing was kept" in last[tab.progress]
    assert live.finished_models() == [] and not any(n.startswith("my-") for n in registry.names)
    assert owner.session is None


@pytest.mark.parametrize(
    ("preset", "steps", "message"),
    [
        ("celeba", 100, "preset 'celeba' cannot be trained live on this server"),
        ("mnist", 3, "steps must be a whole number from 10"),
        ("mnist", 2.5, "steps must be a whole number, got 2.5"),
        ("mnist", "many", "steps must be a whole number, got 'many'"),
    ],
)
def test_bad_presets_and_steps_get_one_clear_error(
    live: LiveTraining, tmp_path: Path, preset: str, steps: object, message: str
) -> None:
    tab, model_dropdown = train_tab(live)
    store, owner = OutputStore(root=tmp_path / "out"), training_tab.RunOwner()
    stream = training_tab.stream_training(live, ModelRegistry(), store, tab, model_dropdown, owner, preset, steps,
                                          Visitor("a"))  # fmt: skip
    with pytest.raises(gr.Error, match=message):
        next(stream)
    assert live.snapshot().state == "idle"  # nothing started


def test_the_registry_serves_exactly_the_models_the_backend_keeps(live: LiveTraining) -> None:
    registry = ModelRegistry()
    registry.add("mnist", InfoGAN(tiny_config()))
    publish(live, "my-mnist-0900")
    assert training_tab.sync_trained(registry, live) == ["my-mnist-0900"]
    assert registry.names == ["mnist", "my-mnist-0900"]
    (live.models_dir / "my-mnist-0900" / "model.safetensors").unlink()  # pruned by the backend
    publish(live, "my-mnist-0910")
    assert training_tab.sync_trained(registry, live) == ["my-mnist-0910"]
    assert registry.names == ["mnist", "my-mnist-0910"]  # shipped models stay


def test_models_trained_before_a_restart_are_served_and_open_in_explore(live: LiveTraining, tmp_path: Path) -> None:
    publish(live, "my-mnist-0800")
    registry = ModelRegistry.from_sources(save_tiny_models(tmp_path / "checkpoints"))
    demo = build_demo(registry, live)
    assert "my-mnist-0800" in registry
    model_dropdown = next(b for b in demo.blocks.values() if getattr(b, "label", None) == "Model")
    assert ("my-mnist-0800", "my-mnist-0800") in model_dropdown.choices
    assert list(demo.get_api_info()["named_endpoints"]) == ["/generate"]  # training is not an API endpoint
    publish(live, "my-mnist-0805")  # trained by another visitor after this page opened: listed when the tab opens
    tab, model_dropdown = train_tab(live)
    updates = training_tab.list_trained(live, registry, tab, model_dropdown, None)
    assert ("my-mnist-0805", "my-mnist-0805") in updates[tab.trained].choices
    assert ("my-mnist-0805", "my-mnist-0805") in updates[model_dropdown].choices
    assert tab.progress not in updates  # no run going
    with pytest.raises(gr.Error, match="model 'gone' is not served"):
        callbacks.open_in_explore(registry, None, "gone", 0)  # type: ignore[arg-type]


def test_push_sends_the_trained_folder_with_the_visitors_token(
    live: LiveTraining, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    publish(live, "my-mnist-1200")
    token = "hf_visitor_0123456789abcdefghijklmnopqrstu"
    with HubStandIn() as hub:
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
        monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "hf-home" / ".agent_harnesses.json"))
        shown = training_tab.push_to_hub(live, "my-mnist-1200", " alice/my-infogan ", token)
        assert "Pushed **my-mnist-1200** to [alice/my-infogan]" in shown
        files = hub.repos["alice/my-infogan"].files
        assert files["model.safetensors"] == (live.models_dir / "my-mnist-1200" / "model.safetensors").read_bytes()
        assert f"Bearer {token}" in hub.tokens
    for name, repo_id, token_text, message in [
        ("my-mnist-1200", "alice/ok", "", "paste a Hugging Face write token"),
        ("my-mnist-1200", "no-slash", token, "repo id must look like 'your-name/model-name'"),
        ("my-mnist-1200", "alice/bad name!", token, "repo id 'alice/bad name!' is not valid"),
        ("nope", "alice/ok", token, "no trained model 'nope' to push"),
    ]:
        with pytest.raises(gr.Error, match=message):
            training_tab.push_to_hub(live, name, repo_id, token_text)


def test_a_failed_push_names_the_error_but_never_the_token(live: LiveTraining, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(live, "my-mnist-1300")
    token = "hf_secret_0123456789abcdefghijklmnopqrstuv"

    def refuse(self: InfoGAN, repo_id: str, **kwargs: object) -> str:
        raise PermissionError(f"403 Forbidden for token {kwargs['token']}")

    monkeypatch.setattr(InfoGAN, "push_to_hub", refuse)
    with pytest.raises(gr.Error) as err:
        training_tab.push_to_hub(live, "my-mnist-1300", "alice/x", token)
    assert "pushing my-mnist-1300 to alice/x failed: PermissionError: 403 Forbidden" in str(err.value)
    assert token not in str(err.value)


def test_progress_and_plot_helpers() -> None:
    from infogan.explorer.live_training import LiveSnapshot

    html = training_tab.progress_html(LiveSnapshot("running", 120, 800, message="training <mnist>"))
    assert (
        '<progress value="120" max="800">' in html
        and "step 120 of 800 (15 %) · running: training &lt;mnist&gt;" in html
    )
    assert "press Train" in training_tab.progress_html(LiveSnapshot())
    frame = training_tab.loss_frame([{"progress": 10, "d_loss": 1.3, "g_loss": 0.7, "info/digit": 0.2}],
                                    training_tab.plot_series("mnist"))  # fmt: skip
    assert list(frame["value"]) == [1.3, 0.7, 0.2] and list(frame["step"]) == [10, 10, 10]
    assert training_tab.parse_steps(800.0) == 800 and training_tab.parse_steps("") is None


def test_the_plot_has_a_legend_of_fixed_colours() -> None:
    """Gradio's LinePlot clips its own legend, so the tab draws one: every curve a fixed colour, in both places."""
    series = training_tab.plot_series("mnist")
    colors = training_tab.series_colors(["mnist", "fashion-mnist"])
    legend = training_tab.legend_html("mnist")
    assert all(label in colors for label in series.values())
    assert len({colors[label] for label in series.values()}) == len(series)  # tellable apart
    for label in series.values():
        assert f"background:{colors[label]}" in legend and html.escape(label) in legend
