"""The launched explorer through `gradio_client`: every endpoint, bad inputs, determinism and live responses.

The app runs in this process on 127.0.0.1 at a free port with tiny models written to a temporary folder.
"""

from __future__ import annotations

import os
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from infogan.explorer.registry import ModelRegistry

from .test_explorer import save_tiny_models

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

gradio_client = pytest.importorskip("gradio_client")
import app  # noqa: E402 (after the analytics switch)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app(folder: Path) -> tuple[object, str]:
    """Build and launch the explorer on tiny models in `folder`; returns (demo, url)."""
    registry = ModelRegistry.from_sources(save_tiny_models(folder))
    demo = app.build_demo(registry)
    _, url, _ = app.launch(demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    return demo, url


@pytest.fixture(scope="module")
def client(server: str) -> gradio_client.Client:
    return gradio_client.Client(server, verbose=False, analytics_enabled=False, download_files=False)


def pixels(result: object) -> np.ndarray:
    """Pixels of an image result (a file path, or a FileData dict when downloads are off)."""
    path = result["path"] if isinstance(result, dict) else result
    image = Image.open(path)
    assert image.format == "PNG"
    return np.asarray(image)


def generate(client: gradio_client.Client, model: str, seed: object, codes: object) -> np.ndarray:
    return pixels(client.predict(model, seed, codes, api_name="/generate"))


# ---- the documented API -------------------------------------------------------------------------------------------


def test_generate_is_documented(client: gradio_client.Client) -> None:
    info = client.view_api(print_info=False, return_format="dict")
    endpoint = info["named_endpoints"]["/generate"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == ["model", "seed", "codes"]
    assert "JSON object of code values by name" in endpoint["description"]
    assert list(info["named_endpoints"]) == ["/generate"]  # UI-only endpoints stay out of "Use via API"


def test_generate_returns_png_of_the_display_size(client: gradio_client.Client) -> None:
    image = generate(client, "shapes", 3, {"shape": "star", "width": 0.5})
    assert image.shape == (448, 448)
    assert generate(client, "faces", 3, {"smile": 1.0}).shape == (448, 448, 3)


def test_same_state_gives_the_same_image(client: gradio_client.Client) -> None:
    a = generate(client, "shapes", 11, {"shape": 1, "width": 0.25})
    b = generate(client, "shapes", 11, {"shape": "square", "width": 0.25})  # label or index: same category
    assert np.array_equal(a, b)


def test_different_code_values_give_different_images(client: gradio_client.Client) -> None:
    a = generate(client, "shapes", 11, {"width": -1.5})
    b = generate(client, "shapes", 11, {"width": 1.5})
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    ("model", "seed", "codes", "message"),
    [
        ("nope", 0, {}, "unknown model 'nope'; available models: ['faces', 'shapes', 'shapes-lambda0']"),
        ("shapes", 0, {"colour": 1}, "unknown code 'colour'"),
        ("shapes", 0, {"shape": 7}, "expected an index 0..2 or one of the labels ['circle', 'square', 'star']"),
        ("shapes", 0, {"width": "wide"}, "code 'width': expected a number"),
        ("shapes", 0, '{"width": NaN}', "expected a finite number within ±10"),  # JSON clients cannot send bare NaN
        ("shapes", 0, '{"width": -Infinity}', "expected a finite number within ±10"),
        ("shapes", 0, {"width": 1e300}, "expected a finite number within ±10"),
        ("shapes", 0, [1, 2], "codes must be a JSON object"),
        ("shapes", 0, "{oops", "could not parse it"),
        ("shapes", -1, {}, "seed must be an integer in [0, 2147483647]"),
        ("shapes", 0.5, {}, "seed must be an integer"),
        ("shapes", 1e20, {}, "seed must be an integer"),
        ("shapes", "abc", {}, "seed must be an integer in [0, 2147483647], got 'abc'"),
        (None, 0, {}, "unknown model None; available models"),
        ("shapes", 0, {"shape": True}, "code 'shape': expected an index 0..2"),
    ],
)
def test_bad_inputs_get_errors_that_say_what_is_allowed(
    client: gradio_client.Client, model: str, seed: object, codes: object, message: str
) -> None:
    with pytest.raises(gradio_client.exceptions.AppError) as err:
        client.predict(model, seed, codes, api_name="/generate")
    assert message in str(err.value)
    assert "Traceback" not in str(err.value)


def test_server_keeps_running_after_errors(client: gradio_client.Client) -> None:
    for _ in range(3):
        with pytest.raises(gradio_client.exceptions.AppError):
            client.predict("shapes", 0, {"width": 1e9}, api_name="/generate")
    assert generate(client, "shapes", 0, {}).shape == (448, 448)


# ---- the UI's endpoints (undocumented, but callable) --------------------------------------------------------------


def test_explore_endpoint_follows_the_sliders(client: gradio_client.Client) -> None:
    # inputs: model, seed, one dropdown per categorical slot (1), one slider per continuous slot (2; one unused)
    image_a, link, query, _ = client.predict("shapes", 5, 2, -1.0, 0.0, api_name="/explore")
    image_b, *_ = client.predict("shapes", 5, 2, 1.0, 0.0, api_name="/explore")
    image_a2, *_ = client.predict("shapes", 5, 2, -1.0, 0.0, api_name="/explore")
    assert not np.array_equal(pixels(image_a), pixels(image_b))
    assert np.array_equal(pixels(image_a), pixels(image_a2))
    assert "?model=shapes&seed=5&shape=star&width=-1" in link  # categories by label
    assert query == "?model=shapes&seed=5&shape=star&width=-1"  # what "Copy link" puts after the page address
    assert Path(image_a["path"]).name == "shapes_seed5_shape-star_width-1.png"  # downloads say what they show
    # the same view through /generate is the same picture
    assert np.array_equal(pixels(image_a), generate(client, "shapes", 5, {"shape": 2, "width": -1.0}))


def test_explore_endpoint_rejects_bad_seeds(client: gradio_client.Client) -> None:
    with pytest.raises(gradio_client.exceptions.AppError, match="less than minimum value 0"):  # the seed box's bounds
        client.predict("faces", -5, None, 0.0, 0.0, api_name="/explore")
    with pytest.raises(gradio_client.exceptions.AppError, match="not in the list of choices"):
        client.predict("gone", 1, None, 0.0, 0.0, api_name="/explore")


def test_traverse_endpoint_returns_grid_and_animation(client: gradio_client.Client) -> None:
    grid, baseline, animation = client.predict("shapes", "width", "shape", 0, 1, 0.0, 0.0, api_name="/traverse")
    assert pixels(grid).shape[0] > pixels(grid).shape[1] / 4  # 3 rows of 9 columns
    assert Path(grid["path"]).name == "shapes_traversal-width_rows-shape_seed0.png"
    assert baseline["visible"] is False  # the λ = 0 comparison only appears on request
    gif = Image.open(animation["path"] if isinstance(animation, dict) else animation)
    assert gif.format == "GIF" and gif.n_frames > 10
    with pytest.raises(gradio_client.exceptions.AppError, match="pick a code"):
        client.predict("shapes", None, "seeds", 0, 1, 0.0, 0.0, api_name="/traverse")


def test_encode_endpoint_reads_codes(client: gradio_client.Client, tmp_path: Path) -> None:
    drawing = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(drawing).ellipse([50, 40, 150, 160], outline="black", width=15)
    drawing.save(tmp_path / "digit.png")
    outputs = client.predict("shapes", gradio_client.handle_file(str(tmp_path / "digit.png")), api_name="/encode")
    q_view, label, table = outputs[0], outputs[1]["value"], outputs[2]["value"]  # (buttons and State are not sent)
    assert pixels(q_view).shape == (224, 224)  # the 28×28 grey image Q received, enlarged
    assert {c["label"] for c in label["confidences"]} == {"circle", "square", "star"}
    assert sum(c["confidence"] for c in label["confidences"]) == pytest.approx(1.0, abs=1e-4)
    assert table["data"][0][:1] == ["width"]


def test_synthetic_set_endpoint_returns_a_labelled_zip(client: gradio_client.Client) -> None:
    result = client.predict("shapes", api_name="/synthetic_set")
    path = Path(result["path"] if isinstance(result, dict) else result)
    assert path.name == "shapes-synthetic-100-per-category.zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        rows = archive.read("shapes-synthetic-100-per-category/metadata.csv").decode().splitlines()
    assert sum(n.endswith(".png") for n in names) == 300 and len(rows) == 301
    assert {n.split("/")[1] for n in names if n.endswith(".png")} == {"circle", "square", "star"}
    with pytest.raises(gradio_client.exceptions.AppError, match="no categorical code"):
        client.predict("faces", api_name="/synthetic_set")


def test_app_module_has_no_import_side_effects() -> None:
    import importlib

    import torch

    threads = torch.get_num_threads()
    importlib.reload(app)
    assert torch.get_num_threads() == threads
    assert not hasattr(app, "demo")  # the UI is built by build_demo, launched only under __main__


def test_an_empty_registry_is_refused() -> None:
    with pytest.raises(ValueError, match="no models"):
        app.build_demo(ModelRegistry())


def test_main_serves_what_loads_and_refuses_only_when_nothing_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{")
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"")
    monkeypatch.delenv("INFOGAN_MODELS", raising=False)
    live = tmp_path / "live"  # the Train tab's folder: never the repository's own live/ in a test
    monkeypatch.setattr("sys.argv", ["app.py", "--checkpoints", str(tmp_path), "--train-dir", str(live)])
    with pytest.raises(SystemExit) as exit_info:
        app.main()
    assert exit_info.value.code == 2
    assert "no model could be loaded:\n  broken: ValueError:" in capsys.readouterr().err

    save_tiny_models(tmp_path)  # now two good models beside the broken one
    launched = {}
    monkeypatch.setattr(app, "launch", lambda demo, **kwargs: launched.update(demo=demo, **kwargs))
    app.main()
    demo = launched["demo"]
    notice = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "load-failures")
    assert notice.visible and "**broken**" in notice.value
    elem_ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"train-start", "train-preview", "train-stop"} <= elem_ids  # the Train tab is on by default
    # all of it under --train-dir, which the Train tab marks as its own
    assert sorted(p.name for p in live.iterdir()) == [".infogan-live", "data", "models", "runs", "zips"]

    monkeypatch.setattr("sys.argv", ["app.py", "--checkpoints", str(tmp_path), "--no-train"])
    app.main()
    assert "train-start" not in {getattr(b, "elem_id", None) for b in launched["demo"].blocks.values()}


def test_a_port_in_use_gives_a_hint_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        monkeypatch.delenv("INFOGAN_MODELS", raising=False)
        monkeypatch.setattr("sys.argv", ["app.py", "--checkpoints", str(save_tiny_models(tmp_path)), "--port",
                                         str(port), "--no-train"])  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            app.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}" in err and "--port" in err and "Traceback" not in err
