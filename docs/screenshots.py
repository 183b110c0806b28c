"""Screenshots of every explorer tab on a desktop (1280×900) and a phone (390×844): `python docs/screenshots.py`.

Launches the app on the shipped checkpoints (127.0.0.1, a free port), drives Debian chromium with Playwright, and
writes docs/explorer-<device>-<tab>.png as 256-colour PNGs (small enough for a README). With a λ = 0 baseline loaded
(`checkpoints/mnist-lambda0`) the Traverse shot shows the comparison.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app  # noqa: E402 (after the path)
from infogan.explorer.registry import ModelRegistry  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
DEVICES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save(page: Page, path: Path, full_page: bool = False) -> None:
    page.screenshot(path=str(path), full_page=full_page)
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


def shoot(page: Page, device: str, out: Path, url: str) -> None:
    page.goto(url + "?model=mnist&seed=7&digit=7&slant=0.8&thickness=-0.5")
    page.wait_for_selector("#explore-image img", timeout=60_000)
    page.wait_for_timeout(1500)
    if device == "phone":  # scrolled to the sliders: the sticky image stays on top
        page.get_by_role("slider", name="range slider for thickness").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
    save(page, out / f"explorer-{device}-explore.png")

    page.get_by_role("tab", name="Traverse").click()
    page.wait_for_selector("#traverse-grid img", timeout=60_000)
    page.get_by_label("Code to sweep (columns)").click()  # a continuous code, one row per digit: the prior band
    page.get_by_role("option", name="slant").click()
    page.wait_for_timeout(2000)
    page.get_by_label("Rows").click()
    page.get_by_role("option", name="each digit").click()
    page.wait_for_function("() => document.querySelector('#traverse-grid img')?.src.includes('rows-digit')",
                           timeout=60_000)  # fmt: skip
    compare = page.locator("#compare-button")
    if compare.is_visible():
        compare.click()
        page.wait_for_selector("#baseline-grid img", timeout=60_000)
    page.wait_for_timeout(1500)
    if device == "phone":
        page.locator("#traverse-grid").scroll_into_view_if_needed()
    save(page, out / f"explorer-{device}-traverse.png", full_page=device == "desktop")

    page.get_by_role("tab", name="Encode").click()
    page.wait_for_timeout(1200)
    canvas = page.locator("#sketchpad canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.3, y + h * 0.25)  # a "7": top bar, then the diagonal
    page.mouse.down()
    page.mouse.move(x + w * 0.7, y + h * 0.25, steps=8)
    page.mouse.move(x + w * 0.45, y + h * 0.8, steps=8)
    page.mouse.up()
    page.wait_for_selector("#q-view img", timeout=30_000)
    page.wait_for_timeout(1000)
    if device == "phone":
        page.locator("#q-view").scroll_into_view_if_needed()
    save(page, out / f"explorer-{device}-encode.png", full_page=device == "desktop")

    page.get_by_role("tab", name="Learn").click()
    page.get_by_role("button", name="Estimate now").click()
    page.get_by_text("Measured just now").wait_for(timeout=60_000)
    page.get_by_text("When is the bound tight?").scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    save(page, out / f"explorer-{device}-learn.png", full_page=device == "desktop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"), help="folder of checkpoint folders")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where the PNGs go")
    args = parser.parse_args()
    demo = app.build_demo(ModelRegistry.from_sources(args.checkpoints))
    _, url, _ = app.launch(demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                           quiet=True)  # fmt: skip
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for device, viewport in DEVICES.items():
                page = browser.new_page(viewport=viewport)
                shoot(page, device, Path(args.out), url)
                page.close()
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()
