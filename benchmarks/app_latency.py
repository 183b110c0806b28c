"""Explorer latency: the generate hot path, `gradio_client` round trips (p50/p95) and slider-to-image in a browser.

    python benchmarks/app_latency.py                      # serves checkpoints/ (or a fresh MNIST-preset model)
    python benchmarks/app_latency.py --url http://host:7860/ --model mnist

A benchmark, not a test: it prints a table to paste into the README. Timings depend on the architecture only, so a
freshly initialised model of the same preset measures the same as a trained one.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip

# Set the first continuous slider through the DOM the way a drag does (value + "input" event), then wait for the
# explorer image to change; returns the elapsed milliseconds measured inside the page.
SLIDER_TO_IMAGE_JS = """
async (value) => {
  const img = () => document.querySelector('#explore-image img');
  const before = img() ? img().src : '';
  const slider = document.querySelector('input[type=range]');
  const start = performance.now();
  slider.value = String(value);
  slider.dispatchEvent(new Event('input', { bubbles: true }));
  while (!img() || img().src === before) {
    if (performance.now() - start > 10000) return -1;
    await new Promise(r => requestAnimationFrame(r));
  }
  await img().decode();
  return performance.now() - start;
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms (n={len(values)})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(checkpoints: str) -> tuple[object, str, object]:
    """Launch the explorer in this process on 127.0.0.1, exactly as `python app.py` configures it."""
    import app
    from infogan import InfoGAN, load_preset
    from infogan.explorer.limits import THREADS
    from infogan.explorer.registry import ModelRegistry

    torch.set_num_threads(THREADS)
    registry = ModelRegistry.from_sources(checkpoints)
    if not len(registry):
        print(f"no checkpoints in {checkpoints}/: using a freshly initialised 'mnist' preset model", file=sys.stderr)
        folder = Path(tempfile.mkdtemp()) / "mnist"
        InfoGAN(load_preset("mnist").model).save_pretrained(folder)
        registry.load("mnist", folder)
    demo = app.build_demo(registry)
    _, url, _ = app.launch(demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    return demo, url, registry


def spawn_server(checkpoints: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Run `python app.py` in its own process on 127.0.0.1 (so load-generating clients do not share its GIL)."""
    if not any(Path(checkpoints).glob("*/config.json")):
        from infogan import InfoGAN, load_preset

        print(f"no checkpoints in {checkpoints}/: using a freshly initialised 'mnist' preset model", file=sys.stderr)
        checkpoints = tempfile.mkdtemp()
        InfoGAN(load_preset("mnist").model).save_pretrained(Path(checkpoints) / "mnist")
    port = free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--checkpoints", checkpoints, "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, **(env or {})})  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return server, url
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"the app exited with code {server.returncode}: {' '.join(command)}") from None
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the app did not start within 60 s")


def time_hot_path(registry: object, name: str, n: int) -> tuple[list[float], list[float]]:
    """model.generate alone, and generate + crisp upscale (what the callback does before Gradio encodes the PNG)."""
    from infogan.explorer import rendering
    from infogan.explorer.codes import default_codes

    model = registry.get(name)
    codes = default_codes(model)
    for _ in range(10):
        rendering.render(model, 0, codes)
    gen, render = [], []
    for i in range(n):
        t = time.perf_counter()
        model.generate(1, seed=i, codes=codes)
        gen.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        rendering.render(model, i, codes)
        render.append((time.perf_counter() - t) * 1e3)
    return gen, render


def time_client(url: str, name: str, n: int) -> list[float]:
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    for _ in range(5):
        client.predict(name, 0, {}, api_name="/generate")
    times = []
    for i in range(n):
        t = time.perf_counter()
        client.predict(name, i, {}, api_name="/generate")
        times.append((time.perf_counter() - t) * 1e3)
    return times


def call_generate_http(http: object, url: str, name: str, seed: int, codes: dict) -> str:
    """One /generate call through Gradio's plain HTTP API (POST, then read the event stream); returns the stream."""
    endpoint = f"{url.rstrip('/')}/gradio_api/call/generate"
    event_id = http.post(endpoint, json={"data": [name, seed, codes]}).raise_for_status().json()["event_id"]
    stream = http.get(f"{endpoint}/{event_id}").raise_for_status().text
    if "event: complete" not in stream:
        raise RuntimeError(f"/generate failed: {stream[:300]}")
    return stream


def time_http(url: str, name: str, n: int) -> list[float]:
    """The same round trip without gradio_client's own overhead (what a curl or JavaScript client sees)."""
    import httpx

    times = []
    with httpx.Client(timeout=60) as http:
        for i in range(n + 5):
            t = time.perf_counter()
            call_generate_http(http, url, name, i, {})
            if i >= 5:
                times.append((time.perf_counter() - t) * 1e3)
    return times


def time_browser(url: str, name: str, n: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}?model={name}")
        page.wait_for_selector("#explore-image img", timeout=30_000)
        page.wait_for_timeout(1000)
        times = []
        for i in range(n + 3):
            value = round(-1.5 + 3.0 * (i % 10) / 9, 2) + (0.01 if i % 2 else 0)  # every step a new value
            elapsed = page.evaluate(SLIDER_TO_IMAGE_JS, value)
            if elapsed < 0:
                raise RuntimeError("the image did not change within 10 s of moving the slider")
            if i >= 3:  # warm-up
                times.append(elapsed)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="measure a running explorer instead of launching one")
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"), help="checkpoint folders to serve")
    parser.add_argument("--model", default="mnist", help="model name to measure")
    parser.add_argument("-n", type=int, default=200, help="requests per measurement")
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium measurement")
    args = parser.parse_args()

    demo = registry = None
    url = args.url
    if url is None:
        demo, url, registry = start_server(args.checkpoints)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch thread(s) per request")  # fmt: skip
    if registry is not None:
        gen, render = time_hot_path(registry, args.model, args.n)
        print(f"model.generate (1 image):            {summary(gen)}")
        print(f"generate + upscale to 448 px:        {summary(render)}")
    print(f"gradio_client /generate round trip:  {summary(time_client(url, args.model, args.n))}")
    print(f"plain HTTP /generate round trip:     {summary(time_http(url, args.model, args.n))}")
    if not args.no_browser and Path(CHROMIUM).is_file():
        print(f"browser slider → new image shown:    {summary(time_browser(url, args.model, max(20, args.n // 4)))}")
    if demo is not None:
        demo.close()


if __name__ == "__main__":
    main()
