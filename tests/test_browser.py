"""The explorer in a real browser (Debian chromium driven by Playwright): share link, slider drag, dropdown pick,
the phone layout, Encode's edit button, the copy link, link notices, the API page and the λ = 0 comparison.

Screenshots go to the test's tmp folder, or to $INFOGAN_SCREENSHOTS when set (to look at them after a run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path(CHROMIUM).is_file():
    pytest.skip(f"browser test needs Debian chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser test needs the playwright package")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def explore_image_src(page: object) -> str:
    return page.locator("#explore-image img").first.get_attribute("src") or ""


def wait_for_new_image(page: object, old: str) -> str:
    page.wait_for_function(
        "old => { const img = document.querySelector('#explore-image img'); return img && img.src && img.src != old; }",
        arg=old,
        timeout=15_000,
    )
    return explore_image_src(page)


def save_screenshot(page: object, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("INFOGAN_SCREENSHOTS"):
        folder = Path(os.environ["INFOGAN_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)


def test_link_slider_and_dropdown_update_the_image(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server + "?model=shapes&seed=4&shape=star&width=0.5")

    # the share link restored the view: model, category label, slider value
    page.wait_for_selector("#explore-image img", timeout=30_000)
    assert page.get_by_label("Model").first.input_value() == "shapes"
    assert page.get_by_label("shape", exact=True).input_value() == "star (90 %)"  # label and purity
    assert page.get_by_role("spinbutton", name="number input for width").input_value() == "0.5"
    first = explore_image_src(page)
    save_screenshot(page, tmp_path / "explorer-initial.png")

    # drag the slider: the image changes while dragging
    track = page.get_by_role("slider", name="range slider for width")
    box = track.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=8)
    dragged = wait_for_new_image(page, first)  # before the mouse is released
    page.mouse.up()
    assert dragged != first
    assert float(page.get_by_role("spinbutton", name="number input for width").input_value()) > 1.0

    page.wait_for_timeout(1000)  # let the release's last render land
    before = explore_image_src(page)

    # pick another category in the dropdown
    page.get_by_label("shape", exact=True).click()
    save_screenshot(page, tmp_path / "explorer-dropdown-open.png")
    page.get_by_role("option", name="circle").click()
    assert page.get_by_label("shape", exact=True).input_value() == "circle (98 %)"
    picked = wait_for_new_image(page, before)
    assert picked != before
    save_screenshot(page, tmp_path / "explorer-after.png")

    # the other tabs render without errors
    for tab in ("Traverse", "Encode", "Learn"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        save_screenshot(page, tmp_path / f"explorer-{tab.lower()}.png")
    page.get_by_role("tab", name="Traverse").click()
    page.get_by_role("button", name="Make traversal").click()
    page.wait_for_selector("#traverse-grid img", timeout=15_000)
    page.wait_for_selector("#traverse-animation img", timeout=15_000)
    save_screenshot(page, tmp_path / "explorer-traverse-done.png")
    assert not errors, errors
    page.close()


def in_viewport(page: object, selector: str) -> bool:
    """True when the element's box lies at least half inside the window."""
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"]
    visible = min(box["y"] + box["height"], height) - max(box["y"], 0)
    return box is not None and visible >= box["height"] / 2


def test_phone_layout_keeps_the_image_in_view_while_dragging(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(server + "?model=shapes&seed=4")
    page.wait_for_selector("#explore-image img", timeout=30_000)
    for tab in ("Explore", "Traverse", "Encode", "Learn"):  # every tab reachable, none behind an overflow menu
        assert page.get_by_role("tab", name=tab).is_visible(), tab
    # the image column sits above the controls and sticks to the top while the page scrolls under it
    column = "getComputedStyle(document.querySelector('#explore-image-column')).position"
    assert page.evaluate(column) == "sticky"
    image_box, slider_box = (page.locator(s).first.bounding_box() for s in ("#explore-image", "#explore-row input"))
    assert image_box["y"] < slider_box["y"] and image_box["width"] > 300  # stacked, full width
    # Make the tiny page as long as a model with many codes (900 px of controls above the slider), then scroll the
    # slider up the screen: the image's natural place is far above it, so only a sticky image can stay in view.
    track = page.get_by_role("slider", name="range slider for width")
    track.evaluate("el => { el.closest('.block').style.marginTop = '900px'; }")
    page.evaluate("y => window.scrollBy(0, y)", track.bounding_box()["y"] - 600)  # below the sticky image
    first = explore_image_src(page)
    box = track.bounding_box()
    assert box["y"] + box["height"] <= 844
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=8)
    dragged = wait_for_new_image(page, first)
    assert in_viewport(page, "#explore-image img")  # the picture stays on screen while the finger moves
    tops = "['#explore-image-column', '#explore-row'].map(s => document.querySelector(s).getBoundingClientRect().top)"
    column_top, row_top = page.evaluate(tops)
    assert abs(column_top) < 2 and row_top < -200  # stuck to the top while its row has scrolled away
    save_screenshot(page, tmp_path / "phone-dragging.png")
    page.mouse.up()
    assert dragged != first
    page.close()


def test_encode_edit_button_waits_for_a_reading(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "?model=shapes")
    page.wait_for_selector("#explore-image img", timeout=30_000)
    page.get_by_role("tab", name="Encode").click()
    send = page.get_by_role("button", name="Edit in Explore")
    assert send.is_disabled()  # nothing read yet: no error overlays, just a disabled button
    page.get_by_text("Draw a shape or upload a picture like the").wait_for(timeout=10_000)  # model-aware wording
    draw_stroke(page)
    page.wait_for_function("() => !document.querySelector('#send-button').disabled", timeout=15_000)
    page.locator("#q-view img").first.wait_for(timeout=10_000)  # the image as Q saw it
    save_screenshot(page, tmp_path / "encode-read.png")

    # the reading survives a trip to another tab and back
    page.get_by_role("tab", name="Learn").click()
    page.get_by_role("tab", name="Encode").click()
    page.wait_for_timeout(1000)
    assert send.is_enabled()
    assert page.get_by_text("circle").first.is_visible()

    # Clear forgets the reading and keeps the brush, so the next stroke needs no extra click
    page.locator("#sketchpad button[aria-label='Clear canvas']").first.click()
    page.wait_for_function("() => document.querySelector('#send-button').disabled", timeout=10_000)
    page.wait_for_timeout(800)
    draw_stroke(page)
    page.wait_for_function("() => !document.querySelector('#send-button').disabled", timeout=15_000)
    page.close()


def draw_stroke(page: object) -> None:
    page.wait_for_timeout(1000)  # the tab's select event picks the brush once the sketchpad is mounted
    canvas = page.locator("#sketchpad canvas").first
    canvas.wait_for(timeout=10_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.8, steps=10)
    page.mouse.up()


def test_copy_link_updates_the_address_bar_and_clipboard(server: str, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    page = context.new_page()
    page.goto(server + "?model=shapes&seed=9")
    page.wait_for_selector("#explore-image img", timeout=30_000)
    page.get_by_label("shape", exact=True).click()
    page.get_by_role("option", name="star").click()
    page.wait_for_function("() => document.querySelector('#share-link').innerText.includes('Link')")
    page.wait_for_function("() => document.querySelector('#share-link a').href.includes('shape=star')")
    page.get_by_role("button", name="Copy link").click()
    page.get_by_text("Copied").wait_for(timeout=5_000)
    assert page.url.endswith("?model=shapes&seed=9&shape=star&width=0")
    assert page.evaluate("navigator.clipboard.readText()") == page.url
    # the download is named after what it shows
    page.wait_for_function("() => document.querySelector('#explore-image img').src.includes('shape-star')")
    with page.expect_download() as download:
        page.locator("#explore-image").get_by_label("Download").first.click()
    assert download.value.suggested_filename == "shapes_seed9_shape-star_width0.png"
    context.close()


def test_bad_link_parameters_are_reported_and_the_api_page_is_reachable(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "?model=shapes&seed=abc&width=7&colour=red")
    notice = page.locator("#link-notice")
    notice.wait_for(timeout=30_000)
    text = notice.inner_text()
    assert "seed 'abc'" in text and "width=7 is beyond" in text and "'colour' ignored" in text
    page.get_by_role("button", name="Use via API").first.click()
    page.get_by_text("API documentation").first.wait_for(timeout=10_000)
    assert page.get_by_text("/generate").first.is_visible()
    page.close()


def test_lambda0_comparison_is_one_click(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "?model=shapes&seed=2")
    page.wait_for_selector("#explore-image img", timeout=30_000)
    page.get_by_role("tab", name="Traverse").click()
    page.get_by_role("button", name="Compare with λ = 0 (shapes-lambda0)").click()
    page.wait_for_selector("#baseline-grid img", timeout=20_000)
    page.wait_for_selector("#traverse-grid img", timeout=20_000)
    assert "shapes-lambda0" in page.locator("#baseline-grid img").first.get_attribute("src")
    save_screenshot(page, tmp_path / "compare.png")
    # a model without a baseline has no compare button
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="faces", exact=True).click()
    page.wait_for_timeout(1500)
    assert not page.get_by_role("button", name="Compare with λ = 0").first.is_visible()
    page.close()


def test_draw_encode_and_switch_model(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "?model=shapes")
    page.wait_for_selector("#explore-image img", timeout=30_000)

    # draw a stroke on the sketchpad: Q's probabilities appear, labelled with the category names
    page.get_by_role("tab", name="Encode").click()
    page.wait_for_timeout(1000)  # the tab's select event picks the brush once the sketchpad is mounted
    canvas = page.locator("#sketchpad canvas").first
    canvas.wait_for(timeout=10_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.8, steps=10)
    page.mouse.up()
    save_screenshot(page, tmp_path / "explorer-encode-drawn.png")
    page.get_by_text("circle").first.wait_for(timeout=15_000)
    save_screenshot(page, tmp_path / "explorer-encode-drawn.png")

    # send the codes to Explore: the tab switches and the controls hold Q's reading
    page.get_by_role("button", name="Edit in Explore").click()
    page.locator("#explore-image img").first.wait_for(timeout=10_000)
    assert page.get_by_label("shape", exact=True).input_value().split()[0] in ("circle", "square", "star")

    # switching model rebuilds the controls: no categorical code, two continuous ones
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="faces", exact=True).click()
    page.get_by_role("slider", name="range slider for pose").wait_for(timeout=10_000)
    assert page.get_by_role("slider", name="range slider for pose").get_attribute("max") == "4"  # prior ±2 → ±4
    assert not page.get_by_label("shape", exact=True).is_visible()
    save_screenshot(page, tmp_path / "explorer-faces.png")
    page.close()


def test_synthetic_set_download_follows_the_model(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server + "?model=shapes")
    page.wait_for_selector("#explore-image img", timeout=30_000)
    page.get_by_role("tab", name="Learn").click()
    button = page.get_by_role("button", name="Make a synthetic labelled set (zip)")
    button.click()
    row = page.locator("tr", has=page.get_by_label("shapes-synthetic-100-per-category.zip"))  # the gr.File row
    row.wait_for(timeout=30_000)
    link = row.get_by_test_id("download-link")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "shapes-synthetic-100-per-category.zip"
    download.save_as(tmp_path / "set.zip")
    assert (tmp_path / "set.zip").stat().st_size > 10_000
    save_screenshot(page, tmp_path / "explorer-synthetic-set.png")

    # a model without a categorical code has no categories to label: the section is hidden
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="faces", exact=True).click()
    button.wait_for(state="hidden", timeout=10_000)
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="shapes", exact=True).click()
    button.wait_for(state="visible", timeout=10_000)
    assert not link.is_visible()  # the previous zip was cleared
    assert not errors, errors
    page.close()
