"""The launched explorer under abuse (issue 9): oversized and bomb uploads, huge inputs, floods of expensive
requests, and files that must stay bounded. Runs its own in-process server on tiny models."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from infogan.explorer import limits
from infogan.explorer.outputs import start_cache_trimmer, trim_files

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
gradio_client = pytest.importorskip("gradio_client")
from infogan.explorer import callbacks  # noqa: E402 (imports Gradio: after the analytics switch)

from .test_app import launch_app  # noqa: E402


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> object:
    demo, url = launch_app(tmp_path_factory.mktemp("checkpoints"))
    yield demo, url
    demo.close()


@pytest.fixture(scope="module")
def client(launched: tuple) -> gradio_client.Client:
    return gradio_client.Client(launched[1], verbose=False, analytics_enabled=False, download_files=False)


def test_uploads_above_the_size_cap_are_refused(client: gradio_client.Client, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + os.urandom(11 * 2**20))  # 11 MB, above the 10 MB cap
    with pytest.raises(Exception, match=r"(?i)exceeds the maximum file size|file size|413"):
        client.predict("shapes", gradio_client.handle_file(str(big)), api_name="/encode")


def test_too_many_pixels_are_refused_before_decoding(
    client: gradio_client.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_UPLOAD_PIXELS", 100 * 100)  # a 120×120 picture stands in for 13,000×13,000
    Image.new("L", (120, 120), 255).save(tmp_path / "wide.png")
    with pytest.raises(gradio_client.exceptions.AppError, match=r"120×120 pixels; the limit is 0\.01 megapixels"):
        client.predict("shapes", gradio_client.handle_file(str(tmp_path / "wide.png")), api_name="/encode")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # beyond PIL's own limit: the header is refused
    with pytest.raises(gradio_client.exceptions.AppError, match="too many pixels"):
        client.predict("shapes", gradio_client.handle_file(str(tmp_path / "wide.png")), api_name="/encode")


def test_a_file_that_is_not_an_image_is_a_clear_error(client: gradio_client.Client, tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_bytes(b"not an image at all")
    with pytest.raises(gradio_client.exceptions.AppError, match="could not read the upload as an image"):
        client.predict("shapes", gradio_client.handle_file(str(tmp_path / "fake.png")), api_name="/encode")


def test_huge_inputs_are_not_echoed_back_whole(client: gradio_client.Client) -> None:
    with pytest.raises(gradio_client.exceptions.AppError) as err:
        client.predict("shapes", "9" * 100_000 + "x", {}, api_name="/generate")
    assert "seed must be an integer" in str(err.value) and len(str(err.value)) < 2000


def test_animations_are_served_from_a_bounded_folder_without_copies(launched: tuple) -> None:
    demo, url = launched
    client = gradio_client.Client(url, verbose=False, analytics_enabled=False, download_files=False)
    paths = [client.predict("shapes", "width", "seeds", seed, 1, 0.0, 0.0, api_name="/traverse")[2]["path"]
             for seed in range(3)]  # fmt: skip
    folder = Path(paths[0]).parent.parent  # the store's folder: one sub-folder per request
    assert folder.parent == Path(demo.GRADIO_CACHE) / "outputs", "GIFs live in the cache: Gradio does not copy"
    assert {Path(p).parent.parent for p in paths} == {folder}
    gifs = [Path(f) for files in demo.temp_file_sets for f in files if f.endswith(".gif")]  # what Gradio serves
    copies = [f for f in gifs if f.parent.parent != folder]
    assert len(gifs) >= 3 and copies == [], f"Gradio copied the GIFs into its cache: {copies[:3]}"


@pytest.mark.slow
def test_a_flood_of_traversals_cannot_starve_generate(launched: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    url = launched[1].rstrip("/")
    real_traversal = callbacks.traversal

    def slow_traversal(*args: object, **kwargs: object) -> object:
        time.sleep(0.5)  # a big model's traversal
        return real_traversal(*args, **kwargs)

    monkeypatch.setattr(callbacks, "traversal", slow_traversal)  # what the Traverse callback calls

    def submit(i: int) -> httpx.Response:  # what 40 scripted clients hitting the endpoint at once send
        return httpx.post(f"{url}/gradio_api/call/traverse", json={"data": ["shapes", "width", "seeds", i, 1, 0, 0]},
                          timeout=30)  # fmt: skip

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(submit, range(40)))
    start = time.perf_counter()
    client = gradio_client.Client(url, verbose=False, analytics_enabled=False, download_files=False)
    image = client.predict("shapes", 1, {}, api_name="/generate")
    generate_s = time.perf_counter() - start

    codes = [a.status_code for a in answers]
    assert set(codes) == {200, 422}, codes
    assert codes.count(200) <= 1 + limits.HEAVY_WAITING + 2, codes  # 1 running + 16 waiting (+ finished meanwhile)
    assert "The server is busy" in next(a.text for a in answers if a.status_code == 422)
    assert np.asarray(Image.open(image["path"])).shape == (448, 448)
    assert generate_s < 5, f"/generate waited {generate_s:.1f} s behind the traversals"
    for answer in answers:  # let the accepted traversals finish before the next test
        if answer.status_code == 200:
            httpx.get(f"{url}/gradio_api/call/traverse/{answer.json()['event_id']}", timeout=60)


def test_trim_files_keeps_the_newest_within_the_limits(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(b"x" * 100)
        os.utime(tmp_path / f"{i}.png", (1000 + i, 1000 + i))
    deleted = trim_files([*tmp_path.iterdir(), tmp_path / "vanished.png"], max_bytes=250)
    assert sorted(p.name for p in deleted) == ["0.png", "1.png", "2.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3.png", "4.png"]
    trim_files(tmp_path.iterdir(), max_files=1)
    assert [p.name for p in tmp_path.iterdir()] == ["4.png"]


def test_admission_gate_counts_requests_not_yet_queued() -> None:
    queued = [0]
    gate = limits.AdmissionGate(3, lambda: queued[0], window_s=60)
    assert [gate.admit() for _ in range(5)] == [True, True, True, False, False]  # a burst: none reached the queue
    fresh = limits.AdmissionGate(3, lambda: queued[0], window_s=0.0)
    queued[0] = 2
    assert fresh.admit() and fresh.admit()  # admissions older than the window are counted by the queue alone
    queued[0] = 3
    assert not fresh.admit()


def test_the_cache_trimmer_deletes_the_oldest_files_and_forgets_them(tmp_path: Path) -> None:
    files = set()
    for i in range(4):
        path = tmp_path / f"{i}.png"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + i, 1000 + i))
        files.add(str(path))
    stop = start_cache_trimmer(lambda: [files], max_bytes=200, every_s=0.01)
    deadline = time.monotonic() + 5
    while len(files) > 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    assert files == {str(tmp_path / "2.png"), str(tmp_path / "3.png")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.png", "3.png"]


def test_launch_applies_the_resource_limits(launched: tuple) -> None:
    demo = launched[0]
    assert demo.state_session_capacity == limits.STATE_SESSIONS == 500
    assert demo.max_file_size == 10 * 2**20  # "10mb" as Gradio parses it
    assert demo.enable_monitoring is False and demo.run_history is False
    assert demo.delete_cache == (60, limits.CACHE_MAX_AGE_S)
    assert demo._queue.ANALYTICS_MAX_EVENTS == 1000  # Gradio's per-event analytics table, bounded
