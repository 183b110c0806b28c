"""In-page latency of the static explorer: from a slider's input event to the new image in the canvas.

    python benchmarks/web_latency.py                         # builds checkpoints/mnist + celeba into a temp folder
    python benchmarks/web_latency.py --site site --moves 100 # an existing build

Each move is a real key press on a focused slider (PageUp/PageDown: ±10% of its range, so every image differs),
measured inside the page: `event.timeStamp` to the end of `putImageData` ("drawn"), and to the next animation
frame after it ("next frame", which adds the wait for the display refresh). Moves are made one at a time, so this is
the latency of one input, not the throughput of a drag. Also prints each model's download weight and the time from
opening the page to its first image (from 127.0.0.1, so without network transfer time).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infogan.export.web_site import MANIFEST, build_site, serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
KEYS = ["PageUp"] * 5 + ["PageDown"] * 5  # up and down again: values stay inside the slider, images keep changing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(page: object, url: str, moves: int, warmup: int) -> dict[str, list[float]]:
    """Latencies (ms) of `moves` slider key presses after `warmup` unmeasured ones, and the time to the first image."""
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1' || document.body.dataset.error", timeout=120_000)
    if error := page.evaluate("document.body.dataset.error"):
        raise RuntimeError(f"the page failed: {error}")
    ready = page.evaluate("window.infogan.readyAt")  # ms from navigation to the first image (served from 127.0.0.1)
    page.focus("input[type=range][data-code]")
    for i in range(warmup + moves):
        before = page.evaluate("window.infogan.latencies.length")
        page.keyboard.press(KEYS[i % len(KEYS)])
        page.wait_for_function(
            "([n]) => window.infogan.frameLatencies.length > n && !window.infogan.busy()", arg=[before], timeout=10_000
        )
    drawn, frame = page.evaluate("[window.infogan.latencies, window.infogan.frameLatencies]")
    return {"drawn": drawn[-moves:], "next_frame": frame[-moves:], "first_image": [ready]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", help="an existing site folder (default: build one from --checkpoints)")
    parser.add_argument("--checkpoints", nargs="+", default=["checkpoints/mnist", "checkpoints/celeba"],
                        help="checkpoints to build the site from when --site is not given")  # fmt: skip
    parser.add_argument("--moves", type=int, default=60, help="measured slider moves per model (at least 50)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured moves first (JIT, caches)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(args.site) if args.site else Path(tmp) / "site"
        if not args.site:
            build_site([str(ROOT / c) if not Path(c).is_absolute() else c for c in args.checkpoints], site)
        manifest = json.loads((site / MANIFEST).read_text())
        runtime_bytes = sum(p.stat().st_size for p in (site / "ort").iterdir())
        page_bytes = sum((site / name).stat().st_size for name in ("index.html", "app.js", "torch_rng.js", "style.css"))
        print(f"machine: {platform.processor() or platform.machine()}, {_cpu_name()}; chromium headless, 1 wasm thread")
        print(f"runtime (onnxruntime-web {manifest['runtime']['version']}, wasm): {runtime_bytes / 1e6:.1f} MB; "
              f"page: {page_bytes / 1e3:.0f} kB")  # fmt: skip
        results = []
        with serve(site) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for entry in manifest["models"]:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                times = measure(page, f"{url}?model={entry['name']}", args.moves, args.warmup)
                page.close()
                row = {"model": entry["name"], "model_mb": round(entry["bytes"] / 1e6, 1), "moves": args.moves}
                row["first_image_ms"] = round(times.pop("first_image")[0])
                for key, values in times.items():
                    row[f"{key}_p50_ms"] = round(percentile(values, 50), 1)
                    row[f"{key}_p95_ms"] = round(percentile(values, 95), 1)
                results.append(row)
                print(f"{entry['name']:>14}: {row['model_mb']:.1f} MB; input → drawn p50 {row['drawn_p50_ms']} ms, "
                      f"p95 {row['drawn_p95_ms']} ms; input → next frame p50 {row['next_frame_p50_ms']} ms, "
                      f"p95 {row['next_frame_p95_ms']} ms (n={args.moves}); "
                      f"first image {row['first_image_ms']} ms after opening the page")  # fmt: skip
            browser.close()
    print(json.dumps(results))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
