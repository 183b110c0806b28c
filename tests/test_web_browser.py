"""The static explorer site in a real browser (Debian chromium via Playwright), built from the shipped checkpoints.

Checks that the page draws what the Gradio app draws for the same link, that sliders and menus re-render it, that no
request leaves 127.0.0.1, and that it fits a phone. Screenshots go to the test's tmp folder, or to
$INFOGAN_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import pytest
import torch
from torchvision.transforms.functional import to_pil_image

from infogan import CategoricalCode, ContinuousCode, InfoGAN, LatentSpec
from infogan.explorer.codes import codes_from_controls, controls_from_codes, state_from_query
from infogan.explorer.registry import ModelRegistry
from infogan.export.web_site import build_site, serve
from tests.conftest import REPO_ROOT, tiny_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
MODELS = ("mnist", "celeba")
# torch.randn's 16-wide kernel uses avx_mathfun.h's polynomials on x86 CPUs with AVX2 (AVX512 CPUs run the AVX2 kernel)
TORCH_USES_AVX2_KERNEL = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path(CHROMIUM).is_file():
    pytest.skip(f"browser test needs Debian chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser test needs the playwright package")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped models, plus an untrained 'odd' one for the paths they do not take: z of fewer than 16 values
    (torch's cached double-precision normals), a category without labels and priors off the 0.01 grid."""
    folders = {name: REPO_ROOT / "checkpoints" / name for name in MODELS}
    latent = LatentSpec(8, (CategoricalCode("shape", 3), ContinuousCode("tilt", -0.5, 3.0),
                            ContinuousCode("size", -1 / 3, 1 / 3)))  # fmt: skip
    torch.manual_seed(0)
    folders["odd"] = tmp_path_factory.mktemp("odd") / "odd"
    InfoGAN(tiny_config(latent=latent)).eval().save_pretrained(folders["odd"])
    return folders


@pytest.fixture(scope="module")
def registry(checkpoints: dict[str, Path]) -> ModelRegistry:
    """The models, loaded as the Gradio app loads them."""
    models = ModelRegistry()
    for name, folder in checkpoints.items():
        models.load(name, folder)
    return models


@pytest.fixture(scope="module")
def site_url(checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("web") / "site"
    build_site([str(folder) for folder in checkpoints.values()], out)
    with serve(out) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, site_url: str) -> Iterator[object]:
    """A fresh page that records every request and fails the test on a page error."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.requests = []
    page.errors = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    yield page
    assert not page.errors, page.errors
    foreign = [url for url in page.requests if urlsplit(url).hostname != "127.0.0.1" and not url.startswith("data:")]
    assert not foreign, f"the page requested other hosts: {foreign}"
    page.close()


def open_view(page: object, url: str) -> None:
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1' || document.body.dataset.error", timeout=60_000)
    assert page.evaluate("document.body.dataset.error") is None


def renders(page: object) -> int:
    return int(page.get_attribute("#generated", "data-renders"))


def wait_for_render(page: object, after: int) -> None:
    page.wait_for_function(f"+document.querySelector('#generated').dataset.renders > {after}", timeout=15_000)
    page.wait_for_timeout(50)  # input events that arrived meanwhile are coalesced into one more render
    page.wait_for_function("!window.infogan.busy()", timeout=15_000)


def share_link(page: object) -> str:
    """The view's link: "Link to this view" at once, and the address bar once input pauses (checked to agree)."""
    page.wait_for_function("location.search === document.querySelector('#share').search", timeout=5_000)
    return page.evaluate("location.search")


def canvas_pixels(page: object) -> np.ndarray:
    """The #generated canvas as (H, W, 3) bytes."""
    data = page.evaluate(
        """() => { const c = document.querySelector('#generated');
                   return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""
    )
    size = int(len(data) ** 0.5 / 2)
    return np.array(data, dtype=np.uint8).reshape(size, size, 4)[..., :3]


def app_pixels(registry: ModelRegistry, query: str) -> np.ndarray:
    """What the Gradio app shows for a link: state_from_query, controls rounding, generate, to_pil_image bytes."""
    state = state_from_query(registry, dict(parse_qsl(query.lstrip("?"))))
    model = registry.get(state.model_name)
    categorical, continuous = controls_from_codes(model, state.codes)
    codes = codes_from_controls(model, categorical, continuous)
    image = model.generate(1, seed=state.seed, codes=codes)[0]
    rgb = np.asarray(to_pil_image(image.clamp(0, 1)).convert("RGB"))
    return rgb


def save_screenshot(page: object, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("INFOGAN_SCREENSHOTS"):
        folder = Path(os.environ["INFOGAN_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)


def link(registry: ModelRegistry, name: str, seed: int, continuous: tuple[float, ...]) -> str:
    """A share link for a shipped model built from its config (the checkpoints may be retrained and renamed):
    category 7 of the first categorical code, if any, and the given values for the first continuous codes."""
    model = registry.get(name)
    params = {"model": name, "seed": str(seed)}
    spec = model.config.latent
    if spec.categorical:
        params[spec.categorical[0].name] = spec.categorical[0].label_of(7 % spec.categorical[0].size)
    params.update({code.name: f"{value:g}" for code, value in zip(spec.continuous, continuous, strict=False)})
    return "?" + urlencode(params)


@pytest.mark.parametrize(
    ("name", "seed", "continuous"),
    [
        ("mnist", 3, (0.125, -1.255)),
        ("celeba", 123456, (-1.5, 1.2)),
        ("celeba", 9, (0.375, -0.625, 2.5, 1.005)),
        ("odd", 11, (2.345, 0.6667)),
        ("odd", 2**31 - 1, (-1.1, -0.3)),
    ],
)  # values the app rounds to 0.01 (ties to even) or clips to the slider range restore the same way in the page
def test_a_link_shows_the_image_the_gradio_app_draws(
    page: object, site_url: str, registry: ModelRegistry, name: str, seed: int, continuous: tuple
) -> None:
    query = link(registry, name, seed, continuous)
    open_view(page, site_url + query)
    # the controls show what the app's controls show for this link (clipped to the slider, rounded to 0.01)
    state = state_from_query(registry, dict(parse_qsl(query.lstrip("?"))))
    categorical, continuous_values = controls_from_codes(registry.get(name), state.codes)
    shown = page.eval_on_selector_all("#codes [data-code]", "els => els.map(e => Number(e.value))")
    assert shown == categorical + continuous_values
    shared = share_link(page)  # the page's own share link for what it shows
    got = canvas_pixels(page)
    for link_opened in (query, shared):  # the link the page was given, and the one it shows for its image
        expected = app_pixels(registry, link_opened)
        assert got.shape == expected.shape
        diff = np.abs(got.astype(int) - expected.astype(int))
        # the same latents through ONNX Runtime Web and PyTorch: at most one step where a value sits on a boundary
        assert diff.max() <= 1 and (diff == 0).mean() >= 0.99, (link_opened, diff.max(), (diff == 0).mean())


def test_latents_are_drawn_as_torch_draws_them(page: object, site_url: str) -> None:
    """z, categories and continuous priors for many seeds and noise sizes on both of torch's randn paths."""
    open_view(page, site_url)
    for noise_dim in (62, 100, 17, 8):  # >= 16: 16-wide Box-Muller with a redone tail; < 16: cached double path
        spec = LatentSpec(noise_dim, (CategoricalCode("digit", 10), ContinuousCode("a"), ContinuousCode("b", -0.5, 3)))
        model = InfoGAN(tiny_config(latent=spec))
        seeds = [*range(40), 999, 123456, 2**31 - 1]
        drawn = page.evaluate(
            """([latent, seeds]) => seeds.map((seed) => {
                 const v = window.infogan.latentValues(latent, 3, seed);
                 return Object.fromEntries(Object.entries(v).map(([k, a]) => [k, Array.from(a)])); })""",
            [spec.to_dict(), seeds],
        )
        for seed, values in zip(seeds, drawn, strict=True):
            expected = model.latent_values(3, seed)
            assert values["digit"] == expected["digit"].tolist()  # integer draws: bit for bit
            for name in ("a", "b"):
                assert torch.equal(torch.tensor(values[name], dtype=torch.float32), expected[name])
            z = torch.tensor(values["z"], dtype=torch.float32).view(3, noise_dim)
            if TORCH_USES_AVX2_KERNEL:  # the polynomials torch_rng.js reproduces
                assert torch.equal(z, expected["z"]), (seed, (z - expected["z"]).abs().max())
            else:  # torch's C-library log/sin/cos: about 1e-6 apart
                torch.testing.assert_close(z, expected["z"], rtol=0, atol=4e-6)


def test_slider_menu_seed_and_model_rerender_without_leaving_127_0_0_1(
    page: object, site_url: str, registry: ModelRegistry, tmp_path: Path
) -> None:
    mnist = registry.get("mnist")
    menu, (first_slider, *_) = mnist.config.latent.categorical[0], mnist.config.latent.continuous
    open_view(page, site_url + "?model=mnist&seed=5")
    assert page.input_value("#model") == "mnist" and page.input_value("#seed") == "5"
    first, count = canvas_pixels(page), renders(page)

    # drag a slider with the mouse: each move is an input event and a new image
    slider = f'[data-code="{first_slider.name}"]'
    box = page.locator(slider).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=6)
    page.mouse.up()
    wait_for_render(page, count)
    dragged = canvas_pixels(page)
    assert float(page.input_value(slider)) > 1.5
    assert not np.array_equal(dragged, first)
    assert renders(page) >= count + 2  # redrawn during the drag, not only at the end

    # a burst of 50 slider inputs updates the address bar once, after it (browsers rate-limit replaceState)
    share_link(page)
    updates = page.evaluate(
        """async (selector) => {
             let updates = 0;
             const replace = history.replaceState.bind(history);
             history.replaceState = (...args) => { updates++; return replace(...args); };
             const slider = document.querySelector(selector);
             for (let i = 0; i < 50; i++) {
               slider.value = String(-1 + i / 25);
               slider.dispatchEvent(new Event("input", { bubbles: true }));
               await new Promise((resolve) => setTimeout(resolve, 5));
             }
             await new Promise((resolve) => setTimeout(resolve, 1000));
             history.replaceState = replace;
             return updates;
           }""",
        slider,
    )
    assert updates == 1
    dragged = canvas_pixels(page)

    # pick another category in the menu
    count = renders(page)
    page.select_option(f'[data-code="{menu.name}"]', label=menu.label_of(3))
    wait_for_render(page, count)
    picked = canvas_pixels(page)
    assert not np.array_equal(picked, dragged)
    assert urlencode({menu.name: menu.label_of(3)}) in share_link(page)
    np.testing.assert_allclose(picked, app_pixels(registry, share_link(page)), atol=1)

    # the traversal grid follows the code picked for it
    page.select_option("#traverse-code", first_slider.name)
    page.wait_for_function(f"document.querySelector('#traversal').dataset.code === '{first_slider.name}'")

    # Q reads the shown image back and sets the controls to what it read (as the app's Encode tab)
    size = mnist.config.image_size
    shown = torch.from_numpy(canvas_pixels(page)[..., 0].copy()).float().div(255).view(1, 1, size, size)
    read = mnist.infer_codes(shown)
    page.click("#encode-current")
    page.wait_for_function("document.querySelector('#encode-result').textContent.includes('Q read')")
    assert page.input_value(f'[data-code="{menu.name}"]') == str(int(read[menu.name].argmax()))
    for code in mnist.config.latent.continuous:
        assert float(page.input_value(f'[data-code="{code.name}"]')) == pytest.approx(float(read[code.name]), abs=0.011)

    # a new seed, then another model: its own controls
    count = renders(page)
    page.fill("#seed", "77")
    wait_for_render(page, count)
    count = renders(page)
    page.select_option("#model", "celeba")
    wait_for_render(page, count)
    celeba = registry.get("celeba").config
    shown_codes = page.eval_on_selector_all("#codes [data-code]", "els => els.map(e => e.dataset.code)")
    assert shown_codes == [code.name for code in celeba.latent.codes]
    assert canvas_pixels(page).shape == (celeba.image_size, celeba.image_size, 3)
    save_screenshot(page, tmp_path / "web-celeba.png")


def test_it_fits_a_phone(browser: object, site_url: str, tmp_path: Path) -> None:
    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                             has_touch=True)  # fmt: skip
    open_view(phone, site_url + "?model=celeba&seed=3")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    image = phone.locator("#generated").bounding_box()
    assert image["x"] >= 0 and image["x"] + image["width"] <= 390 and image["width"] >= 280
    slider = phone.locator("input[type=range][data-code]").first.bounding_box()
    assert slider["x"] >= 0 and slider["x"] + slider["width"] <= 390
    # scrolled down to the last control, the image stays on screen above it (sticky), so a drag shows its effect
    last = phone.locator("#codes [data-code]").last
    last.scroll_into_view_if_needed()
    image, control = phone.locator("#generated").bounding_box(), last.bounding_box()
    assert image["y"] >= 0 and image["y"] + image["height"] <= control["y"] and control["y"] + control["height"] <= 844
    phone.wait_for_function("document.querySelector('#traversal').dataset.renders >= 1", timeout=30_000)
    assert phone.locator("#traversal").bounding_box()["width"] <= 390
    save_screenshot(phone, tmp_path / "web-phone.png")
    phone.close()


def test_latency_benchmark_measures_slider_moves(browser: object, site_url: str) -> None:
    """benchmarks/web_latency.py's measurement, on a few moves: one positive latency per move, drawn before shown."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("web_latency", REPO_ROOT / "benchmarks" / "web_latency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = browser.new_page()
    times = module.measure(page, site_url + "?model=celeba", moves=5, warmup=1)
    page.close()
    assert len(times["drawn"]) == len(times["next_frame"]) == 5 and times["first_image"][0] > 0
    assert all(0 < d <= f for d, f in zip(times["drawn"], times["next_frame"], strict=True))
    assert module.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
