"""Live InfoGAN latent explorer: `python app.py` serves the models in checkpoints/ (add Hub models with --models).

UI only: one small builder per tab, then module-level callbacks that return `{component: update}` mappings, then
launch. Model logic (loading, validation, rendering, encoding, the Learn tab's lesson) is in `infogan.explorer`.
"""

# No `from __future__ import annotations` here: gr.api reads the `generate` endpoint's types from its signature.

import argparse
import os
from pathlib import Path

CHECKPOINTS = Path(__file__).with_name("checkpoints")  # each sub-folder with a config.json is one model


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default=str(CHECKPOINTS), help="folder of checkpoint folders to serve")
    parser.add_argument("--models", nargs="*", default=[], metavar="USER/REPO",
                        help="Hub repo ids to load too (safetensors only); also $INFOGAN_MODELS")  # fmt: skip
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to bind")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)), help="port")
    return parser


if __name__ == "__main__":
    build_parser().parse_args()  # `--help` and usage errors answer here, before Gradio and torch load (~8 s)

# The heavy imports come after that early exit (E402 is ignored for app.py in pyproject.toml).
import functools
import inspect
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import torch
from PIL import Image

from infogan.config import shorten
from infogan.explorer import lesson
from infogan.explorer import registry as explorer
from infogan.explorer.registry import ModelRegistry, OutputStore
from infogan.export import synthesize

TITLE = "InfoGAN latent explorer"
THREADS = 1  # torch threads per request; with CONCURRENCY = 2 this fills a 2-vCPU Space without oversubscribing
CONCURRENCY = 2
SYNTHETIC_PER_CATEGORY = 100  # the Learn tab's zip; synthesize.download_per_category caps the total at 2,000
QUEUE_SIZE = 256  # enough for the 50-client load test; beyond it users get "queue full" instead of a long wait
# Traversals (~20 renders + a GIF each) and encodes (an upload decoded) run one at a time in their own lanes, and
# at most HEAVY_WAITING of each may wait: a flood of them is turned away at once instead of filling the shared
# queue, so /generate and the sliders keep their places.
HEAVY_WAITING = 16
# Gradio keeps per-session state (each API call is a new session): 10,000 sessions by default, ~96 KB each.
STATE_SESSIONS = 500
MAX_FILE_SIZE = "10mb"  # uploads; a photo is a few MB and the models see 28–64 pixels
CACHE_MAX_BYTES = 256 * 2**20  # rendered PNGs in Gradio's cache: the oldest go beyond this size …
CACHE_MAX_AGE_S = 600  # … or after 10 minutes (checked every 60 s)
CSS = """
#explore-image img, #traverse-grid img, #baseline-grid img, #traverse-animation img, #q-view img {
  image-rendering: pixelated; }
.gradio-container { overflow-x: clip !important; overflow-y: visible !important; }  /* hidden would unstick */
#explore-image-column { position: sticky; top: 0; z-index: 1000; align-self: flex-start;
  background: var(--body-background-fill); }
#header-row { align-items: flex-start; }
#link-notice { border-left: 4px solid #d97706; padding-left: 8px; }
.katex-display, #learn-architecture pre { overflow-x: auto; overflow-y: hidden; max-width: 100%; }
@media (max-width: 700px) {
  #explore-row { flex-direction: column; flex-wrap: nowrap; }
  #explore-row > div { width: 100% !important; min-width: 0 !important; flex: none !important; }
  #explore-image { height: 34vh !important; }
  .tab-container button { padding-left: 8px !important; padding-right: 8px !important; }
}
"""
BRUSH_JS = """() => {
  let tries = 0;
  const pick = () => {
    const brush = document.querySelector('#sketchpad button[aria-label="Brush"]');
    if (brush && brush.offsetParent !== null) brush.click(); else if (tries++ < 20) setTimeout(pick, 100);
  };
  setTimeout(pick, 100);
}"""
OPEN_API_JS = "() => { document.querySelector('footer button.show-api')?.click(); }"
COPY_LINK_JS = """(query) => {
  const url = window.location.origin + window.location.pathname + query;
  window.history.replaceState(null, "", url);
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
  return "Copied, and the address bar now shows it: " + url;
}"""


def bind(fn: Callable, *args: Any) -> Callable:
    """`functools.partial` that keeps `fn`'s type hints: Gradio finds the `gr.Request` parameter through them."""

    @functools.wraps(fn)
    def bound(*rest: Any, **kwargs: Any) -> Any:
        return fn(*args, *rest, **kwargs)

    bound.__signature__ = inspect.signature(functools.partial(fn, *args))  # type: ignore[attr-defined]
    return bound


def user_errors(fn: Callable) -> Callable:
    """Turn ValueError (bad user or API input, with a message naming the allowed values) into gr.Error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValueError as err:  # shortened: a message never echoes a huge input back whole
            raise gr.Error(shorten(err, 1000), print_exception=False) from None

    return wrapper


# ---- layout: one builder per tab ------------------------------------------------------------------------------------


@dataclass
class ExploreTab:
    image: gr.Image
    dropdowns: list[gr.Dropdown]
    sliders: list[gr.Slider]
    seed: gr.Number
    randomise: gr.Button
    link: gr.Markdown
    query: gr.Textbox  # the share query, for the copy button's JavaScript
    copy: gr.Button
    copied: gr.Markdown
    notice: gr.Markdown

    @property
    def controls(self) -> list[Any]:
        return [self.seed, *self.dropdowns, *self.sliders]


def build_explore(n_cat: int, n_cont: int) -> ExploreTab:
    # The image column comes first: on a phone it sits on top and stays in view (sticky) while a slider moves.
    with gr.Row(elem_id="explore-row"):
        with gr.Column(scale=1, min_width=300, elem_id="explore-image-column"):
            image = gr.Image(label="Generated image", type="filepath", format="png", interactive=False,
                             buttons=["download"], elem_id="explore-image", height=480)  # fmt: skip
        with gr.Column(scale=1, min_width=300):
            notice = gr.Markdown(visible=False, elem_id="link-notice")
            # Choices change with the model: values are validated by explorer.parse_codes, not the dropdown.
            dropdowns = [gr.Dropdown(label=f"category {i}", interactive=True, allow_custom_value=True)
                         for i in range(n_cat)]  # fmt: skip
            sliders = [gr.Slider(minimum=-2, maximum=2, value=0, step=0.01, label=f"code {j}") for j in range(n_cont)]
            with gr.Row(equal_height=True):
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=explorer.MAX_SEED, label="Noise seed (z)",
                                 scale=3)  # fmt: skip
                randomise = gr.Button("Random seed", scale=1)
            with gr.Row(equal_height=True):
                link = gr.Markdown(elem_id="share-link")
                copy = gr.Button("Copy link", size="sm", scale=0, elem_id="copy-link")
            copied = gr.Markdown(elem_id="copy-status")
            query = gr.Textbox(visible=False)
    return ExploreTab(image, dropdowns, sliders, seed, randomise, link, query, copy, copied, notice)


@dataclass
class TraverseTab:
    tab: gr.Tab
    code: gr.Dropdown
    rows: gr.Dropdown
    button: gr.Button
    compare: gr.Button
    grid: gr.Image
    baseline: gr.Image
    animation: gr.Image


def build_traverse() -> TraverseTab:
    with gr.Tab("Traverse", id="traverse") as tab:
        with gr.Row():
            code = gr.Dropdown(label="Code to sweep (columns)", interactive=True, allow_custom_value=True)
            rows = gr.Dropdown(label="Rows", interactive=True, allow_custom_value=True)
            with gr.Column(min_width=160):
                button = gr.Button("Make traversal", variant="primary")
                compare = gr.Button("Compare with λ = 0", visible=False, elem_id="compare-button")
        gr.Markdown("Other codes and the seed come from the Explore tab. Continuous codes sweep ±2; the shaded "
                    "columns are the prior the code was trained on.")  # fmt: skip
        with gr.Row():
            grid = gr.Image(label="Traversal grid", show_label=False, type="filepath", interactive=False,
                            buttons=["download"], elem_id="traverse-grid", scale=3)  # fmt: skip
            baseline = gr.Image(label="Same sweep, λ = 0 (plain GAN)", show_label=False, type="filepath",
                                interactive=False, buttons=["download"], elem_id="baseline-grid", scale=3,
                                visible=False)  # fmt: skip
        animation = gr.Image(label="Sweep animation (GIF)", show_label=False, type="filepath", interactive=False,
                             buttons=["download"], elem_id="traverse-animation", height=420)  # fmt: skip
    return TraverseTab(tab, code, rows, button, compare, grid, baseline, animation)


@dataclass
class EncodeTab:
    tab: gr.Tab
    hint: gr.Markdown
    sketchpad: gr.Sketchpad
    upload: gr.Image
    q_view: gr.Image
    labels: list[gr.Label]
    table: gr.Dataframe
    send: gr.Button
    reading: gr.State  # Q's codes for "Edit in Explore"; survives tab switches


def build_encode(n_cat: int) -> EncodeTab:
    with gr.Tab("Encode", id="encode") as tab:
        hint = gr.Markdown()
        gr.Markdown("The recognition network **Q** reads the codes **c** back from the picture. It never reads the "
                    "noise **z**, so *Edit in Explore* keeps your codes but not your exact picture.")  # fmt: skip
        with gr.Row():
            sketchpad = gr.Sketchpad(label="Draw", type="pil", canvas_size=(280, 280), height=360,
                                     brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                     elem_id="sketchpad")  # fmt: skip
            upload = gr.Image(label="…or upload an image", type="pil", sources=["upload", "clipboard"], height=360)
            q_view = gr.Image(
                label="What Q sees", type="pil", format="png", interactive=False, elem_id="q-view", height=240
            )
        with gr.Row():
            with gr.Column():
                labels = [gr.Label(label=f"category {i}", num_top_classes=5) for i in range(n_cat)]
            with gr.Column():
                table = gr.Dataframe(headers=["code", "Q's value", "prior"], label="Continuous codes",
                                     interactive=False)  # fmt: skip
                send = gr.Button("Edit in Explore →", variant="primary", interactive=False, elem_id="send-button")
        reading = gr.State(None)
    return EncodeTab(tab, hint, sketchpad, upload, q_view, labels, table, send, reading)


@dataclass
class LearnTab:
    facts: gr.Markdown
    lambdas: gr.Markdown
    architecture: gr.Markdown
    metrics: gr.Markdown
    estimate_button: gr.Button
    estimate: gr.Markdown
    exercises: gr.Markdown
    synthetic_box: gr.Column
    synthetic_button: gr.Button
    synthetic_file: gr.File


def build_learn() -> LearnTab:
    display = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
    with gr.Tab("Learn", id="learn"):
        gr.Markdown(lesson.OBJECTIVE, latex_delimiters=display)
        lambdas = gr.Markdown()
        gr.Markdown("### This model's networks, drawn from its config")
        architecture = gr.Markdown(elem_id="learn-architecture")
        metrics = gr.Markdown()
        gr.Markdown("### Live: how much does each code tell about the image?\nA lower bound on I(c; G(z, c)): "
                    "H(c) − E[−log Q(c | G(z, c))], on images generated just now.")  # fmt: skip
        estimate_button = gr.Button("Estimate now", elem_id="estimate-button")
        estimate = gr.Markdown()
        exercises = gr.Markdown()
        facts = gr.Markdown()
        with gr.Column(visible=False) as synthetic_box:  # shown for models with a categorical code
            gr.Markdown(
                "### Synthetic labelled data\nEach category of the categorical code mostly draws one class (its "
                "purity is shown next to its label), so the generator makes labelled images for free: "
                f"{SYNTHETIC_PER_CATEGORY} per category, one folder per label, with `metadata.csv` (seed, code "
                "values, Q's confidence). For larger or filtered sets use `python -m infogan.synthesize`."
            )
            synthetic_button = gr.Button("Make a synthetic labelled set (zip)")
            synthetic_file = gr.File(label="Synthetic set", interactive=False)
    return LearnTab(facts, lambdas, architecture, metrics, estimate_button, estimate, exercises, synthetic_box,
                    synthetic_button, synthetic_file)  # fmt: skip


@dataclass
class UI:
    """Every component a callback reads or updates."""

    model: gr.Dropdown
    tabs: gr.Tabs
    explore: ExploreTab
    traverse: TraverseTab
    encode: EncodeTab
    learn: LearnTab

    @property
    def model_outputs(self) -> list[Any]:
        """Everything that changes with the model."""
        e, t, c, learn = self.explore, self.traverse, self.encode, self.learn
        return [*e.controls, e.notice, t.code, t.rows, t.compare, t.grid, t.baseline, t.animation, c.hint,
                c.sketchpad, c.q_view, *c.labels, c.table, c.send, c.reading, learn.facts, learn.lambdas,
                learn.architecture, learn.metrics, learn.estimate, learn.exercises, learn.synthetic_box,
                learn.synthetic_file]  # fmt: skip


# ---- callbacks: model-dependent controls -----------------------------------------------------------------------------


def explore_updates(ui: UI, model: Any, seed: int, codes: dict[str, Any]) -> dict[Any, Any]:
    """Explore's controls for `model`, showing `codes` (defaults elsewhere)."""
    spec, tab = model.config.latent, ui.explore
    cat_values, cont_values = explorer.controls_from_codes(model, codes)
    notes = model.config.metadata.get("code_notes") or {}
    updates: dict[Any, Any] = {tab.seed: gr.Number(value=seed)}
    for i, dropdown in enumerate(tab.dropdowns):
        if i >= len(spec.categorical):
            updates[dropdown] = gr.Dropdown(visible=False, value=None)
            continue
        code = spec.categorical[i]
        purity = explorer.category_purity(model, code.name)
        info = notes.get(code.name) or f"{code.size} categories, discovered without labels"
        if purity is not None:
            info += " · (%) = purity: share of its images an independent classifier calls one class"
        updates[dropdown] = gr.Dropdown(choices=explorer.category_choices(code, purity), value=cat_values[i],
                                        label=code.name, info=info, visible=True)  # fmt: skip
    for j, slider in enumerate(tab.sliders):
        if j >= len(spec.continuous):
            updates[slider] = gr.Slider(visible=False)
            continue
        code = spec.continuous[j]
        low, high = explorer.slider_range(code)
        info = f"prior {code.low:g} … {code.high:g}; beyond it the model extrapolates"
        info = f"{notes[code.name]} · {info}" if notes.get(code.name) else info
        updates[slider] = gr.Slider(minimum=low, maximum=high, value=cont_values[j], step=0.01, label=code.name,
                                    info=info, visible=True)  # fmt: skip
    return updates


def traverse_updates(registry: ModelRegistry, ui: UI, name: str) -> dict[Any, Any]:
    """Traverse's pickers for model `name`, the λ = 0 button when a baseline is loaded, and no stale pictures."""
    model, tab = registry.get(name), ui.traverse
    code_names = [c.name for c in model.codes]
    baseline = registry.baseline_for(name)
    compare = gr.Button(f"Compare with λ = 0 ({baseline})", visible=True) if baseline else gr.Button(visible=False)
    return {
        tab.code: gr.Dropdown(choices=code_names, value=code_names[0]),
        tab.rows: gr.Dropdown(choices=explorer.row_options(model, code_names[0]), value="seeds"),
        tab.compare: compare,
        tab.grid: None,
        tab.baseline: gr.Image(value=None, visible=False),
        tab.animation: None,
    }


def encode_updates(ui: UI, model: Any, name: str) -> dict[Any, Any]:
    """Encode's wording and outputs for `model`, with the previous model's reading cleared."""
    tab, spec = ui.encode, model.config.latent
    hint, sketch_label = explorer.encode_hint(model, name)
    updates: dict[Any, Any] = {tab.hint: hint, tab.sketchpad: gr.Sketchpad(label=sketch_label, value=None)}
    for i, label in enumerate(tab.labels):
        visible = i < len(spec.categorical)
        title = f"{spec.categorical[i].name} (Q's probabilities)" if visible else None
        updates[label] = gr.Label(value=None, label=title, visible=visible)
    updates.update({tab.table: gr.Dataframe(value=None, visible=bool(spec.continuous)), tab.q_view: None,
                    tab.send: gr.Button(interactive=False), tab.reading: None})  # fmt: skip
    return updates


def learn_updates(registry: ModelRegistry, ui: UI, model: Any, name: str) -> dict[Any, Any]:
    tab = ui.learn
    return {
        tab.facts: explorer.model_facts(model, name, raw_metrics=False),
        tab.lambdas: lesson.lambda_text(model),
        tab.architecture: lesson.architecture(model),
        tab.metrics: lesson.metrics_in_words(model),
        tab.estimate: "",
        tab.exercises: lesson.exercises(model, registry.baseline_for(name)),
        # The synthetic-set download only for models with a categorical code; the previous model's zip is cleared.
        tab.synthetic_box: gr.Column(visible=bool(model.config.latent.categorical)),
        tab.synthetic_file: None,
    }


def model_updates(registry: ModelRegistry, ui: UI, name: str, seed: int, codes: dict[str, Any]) -> dict[Any, Any]:
    """Updates for every model-dependent component, showing `codes` in Explore."""
    model = registry.get(name)
    return {
        **explore_updates(ui, model, seed, codes),
        ui.explore.notice: gr.Markdown(visible=False),
        **traverse_updates(registry, ui, name),
        **encode_updates(ui, model, name),
        **learn_updates(registry, ui, model, name),
    }


def switch_model(registry: ModelRegistry, ui: UI, name: str, seed: float) -> dict[Any, Any]:
    """Rebuild the controls for a newly picked model, keeping the seed."""
    try:
        seed = explorer.parse_seed(seed)
    except ValueError:
        seed = 0
    return model_updates(registry, ui, name, seed, {})


def restore_from_link(registry: ModelRegistry, ui: UI, request: gr.Request) -> dict[Any, Any]:
    """Restore the view a share link describes (`?model=…&seed=…&<code>=…`), saying what was ignored or clamped."""
    params = dict(request.query_params) if request is not None else {}
    state = explorer.state_from_query(registry, params)
    updates = model_updates(registry, ui, state.model_name, state.seed, state.codes)
    updates[ui.model] = gr.Dropdown(value=state.model_name)
    if state.notices:
        text = "**This link was not shown exactly:** " + "; ".join(state.notices) + "."
        updates[ui.explore.notice] = gr.Markdown(text, visible=True)
    return updates


# ---- callbacks: Explore ----------------------------------------------------------------------------------------------


def explore_state(registry: ModelRegistry, ui: UI, name: str, slots: tuple[Any, ...]) -> tuple[Any, int, dict]:
    """(model, seed, codes) from the Explore controls' values (seed, dropdowns, sliders)."""
    n_cat = len(ui.explore.dropdowns)
    model = registry.get(name)
    seed = explorer.parse_seed(slots[0])
    codes = explorer.codes_from_controls(model, slots[1 : 1 + n_cat], slots[1 + n_cat :])
    return model, seed, explorer.parse_codes(model, codes)


@torch.inference_mode()
@user_errors
def render_explore(registry: ModelRegistry, store: OutputStore, ui: UI, name: str, *slots: Any) -> dict[Any, Any]:
    """The Explore image (a PNG named after model, seed and codes) and the share link for the current controls."""
    model, seed, codes = explore_state(registry, ui, name, slots)
    query = explorer.share_query(name, seed, codes, model)
    path = store.save_image(explorer.render(model, seed, codes), explorer.download_stem(name, seed, codes, model))
    tab = ui.explore
    return {tab.image: str(path), tab.link: f"[Link to this view]({query})", tab.query: query, tab.copied: ""}


def randomise_seed() -> int:
    return random.randint(0, 99_999)


# ---- callbacks: Traverse ---------------------------------------------------------------------------------------------


@torch.inference_mode()
@user_errors
def make_traversal(
    registry: ModelRegistry, store: OutputStore, ui: UI, name: str, code_name: str, rows: str, *slots: Any
) -> dict[Any, Any]:
    """A labelled traversal grid of `code_name` (rows: seeds or categories) and a looping GIF of the sweep."""
    if not code_name:
        raise ValueError("pick a code to traverse")
    model, seed, codes = explore_state(registry, ui, name, slots)
    model.config.latent.code(code_name)
    grid, frames = explorer.traversal(model, code_name, seed, codes, rows=rows or "seeds", title=name)
    stem = f"{name}_traversal-{code_name}_rows-{rows or 'seeds'}_seed{seed}"
    return {
        ui.traverse.grid: str(store.save_image(grid, stem)),
        ui.traverse.animation: str(store.save_animation(frames, stem)),
        ui.traverse.baseline: gr.Image(value=None, visible=False),
    }


@torch.inference_mode()
@user_errors
def compare_with_baseline(
    registry: ModelRegistry, store: OutputStore, ui: UI, name: str, code_name: str, rows: str, *slots: Any
) -> dict[Any, Any]:
    """The same sweep on this model and on its λ = 0 baseline, side by side."""
    baseline_name = registry.baseline_for(name)
    if baseline_name is None:
        raise ValueError(f"no λ = 0 baseline is loaded for {name!r}")
    updates = make_traversal(registry, store, ui, name, code_name, rows, *slots)
    model, seed, codes = explore_state(registry, ui, name, slots)
    baseline = registry.get(baseline_name)
    grid, _ = explorer.traversal(baseline, code_name, seed, explorer.comparable_codes(baseline, codes, model),
                                 rows=rows or "seeds", title=f"{baseline_name} (λ = 0, a plain GAN)")  # fmt: skip
    stem = f"{baseline_name}_traversal-{code_name}_rows-{rows or 'seeds'}_seed{seed}"
    updates[ui.traverse.baseline] = gr.Image(str(store.save_image(grid, stem)), visible=True)
    return updates


def rows_for_code(registry: ModelRegistry, name: str, code_name: str) -> gr.Dropdown:
    model = registry.get(name)
    if code_name not in [c.name for c in model.codes]:
        return gr.Dropdown()
    return gr.Dropdown(choices=explorer.row_options(model, code_name), value="seeds")


# ---- callbacks: Encode -----------------------------------------------------------------------------------------------


@torch.inference_mode()
@user_errors
def read_codes(registry: ModelRegistry, ui: UI, name: str, image: Any, sketch: bool) -> dict[Any, Any]:
    """Q's reading of an uploaded or drawn image: the image as Q saw it, probabilities per category, values."""
    model, tab = registry.get(name), ui.encode
    picture = explorer.sketch_to_image(image)
    if explorer.is_blank(picture):
        return {tab.reading: gr.skip()}  # untouched or re-mounted sketchpad: keep the last reading (Clear has its own)
    tensor = explorer.preprocess_for_q(picture, model, sketch=sketch)
    inferred = explorer.infer(model, tensor)
    spec = model.config.latent
    updates: dict[Any, Any] = {tab.q_view: explorer.q_view(tensor)}
    for i, label in enumerate(tab.labels):
        if i < len(spec.categorical):
            code = spec.categorical[i]
            updates[label] = gr.Label(value=inferred[code.name], label=f"{code.name} (Q's probabilities)")
    rows = [[c.name, round(inferred[c.name], 3), f"{c.low:g} … {c.high:g}"] for c in spec.continuous]
    updates.update({tab.table: gr.Dataframe(value=rows), tab.send: gr.Button(interactive=True),
                    tab.reading: explorer.codes_from_inference(model, inferred)})  # fmt: skip
    return updates


def clear_reading(ui: UI) -> dict[Any, Any]:
    """The sketchpad was cleared: forget the reading and disable "Edit in Explore" until there is a new one."""
    tab = ui.encode
    updates: dict[Any, Any] = {label: gr.Label(value=None) for label in tab.labels}
    updates.update({tab.table: gr.Dataframe(value=None), tab.q_view: None, tab.send: gr.Button(interactive=False),
                    tab.reading: None})  # fmt: skip
    return updates


@user_errors
def send_to_explore(registry: ModelRegistry, ui: UI, name: str, seed: float, reading: dict | None) -> dict[Any, Any]:
    """Put Q's codes into the Explore controls and switch to the Explore tab (the reading stays in Encode)."""
    if not reading:
        raise ValueError("Upload or draw an image first, then send its codes to Explore.")
    updates = explore_updates(ui, registry.get(name), explorer.parse_seed(seed), reading)
    updates[ui.tabs] = gr.Tabs(selected="explore")
    return updates


# ---- callbacks: Learn and the API ------------------------------------------------------------------------------------


@torch.inference_mode()
def estimate_information(registry: ModelRegistry, name: str) -> str:
    return lesson.estimate_information(registry.get(name), seed=random.randint(0, 99_999))


@torch.inference_mode()
@user_errors
def make_synthetic_set(registry: ModelRegistry, downloads: synthesize.DownloadStore, model_name: str) -> str:
    """A zip of labelled synthetic images (folder per category + metadata.csv) for a model with categories."""
    model = registry.get(model_name)
    per_category = synthesize.download_per_category(model, SYNTHETIC_PER_CATEGORY)
    filename = synthesize.download_name(model_name, per_category)
    data = synthesize.synthesize_zip(model, per_category, root=filename.removesuffix(".zip"), source=model_name,
                                     progress=False)  # fmt: skip
    return str(downloads.save(data, filename))


class GenerateAPI:
    """The documented endpoint `generate(model, seed, codes) → PNG` (gr.api reads its types from `__call__`)."""

    def __init__(self, registry: ModelRegistry, store: OutputStore) -> None:
        self.registry, self.store = registry, store

    @torch.inference_mode()
    def __call__(self, model: str, seed: int, codes: dict[str, Any] | str | None = None) -> gr.FileData:
        """One PNG for a model name, a seed and a JSON object of code values by name (codes not given: prior)."""
        try:
            path = explorer.generate_file(self.registry, self.store, model, seed, codes)
        except ValueError as err:  # shortened: a message never echoes a huge input back whole
            raise gr.Error(shorten(err, 1000), print_exception=False) from None
        return gr.FileData(path=str(path), mime_type="image/png", orig_name=path.name)

    def description(self) -> str:
        names = ", ".join(repr(n) for n in self.registry.names)
        first = self.registry.default
        return (f"One PNG image. model: one of {names}; seed: integer 0…{explorer.MAX_SEED} (the noise z); codes: "
                "JSON object of code values by name — a category index or label for categorical codes, a number "
                "(prior usually −1…1, allowed ±10) for continuous codes; codes left out are drawn from their prior. "
                f"Example for {first!r}: {explorer.example_codes(self.registry.get(first))}")  # fmt: skip


# ---- wiring ----------------------------------------------------------------------------------------------------------


def build_layout(registry: ModelRegistry) -> UI:
    models = [registry.get(name) for name in registry.names]
    n_cat = max(len(m.config.latent.categorical) for m in models)
    n_cont = max(len(m.config.latent.continuous) for m in models)
    with gr.Row(elem_id="header-row"):  # min widths: on a phone the button wraps under the text
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                f"# {TITLE}\nAn [InfoGAN](https://arxiv.org/abs/1606.03657) learns, without labels, a few *codes* "
                "that control what it draws. Move the controls and watch the image change; the **Learn** tab "
                "explains why."
            )
        with gr.Column(scale=0, min_width=130):
            api_button = gr.Button("Use via API", size="sm", elem_id="api-button")
    # Gradio opens its API page from the footer's button; this one is easier to find (and works on phones).
    api_button.click(None, js=OPEN_API_JS, api_visibility="private")
    # Models that failed to load are listed, not fatal: the explorer serves every model that loads.
    gr.Markdown(registry.failure_notice(), visible=bool(registry.failures), elem_id="load-failures")
    model = gr.Dropdown(choices=registry.names, value=registry.default, label="Model",
                        info="each model was trained on its own dataset; the Learn tab has its facts")  # fmt: skip
    with gr.Tabs() as tabs:
        with gr.Tab("Explore", id="explore"):
            explore = build_explore(n_cat, n_cont)
        traverse = build_traverse()
        encode = build_encode(n_cat)
        learn = build_learn()
    return UI(model, tabs, explore, traverse, encode, learn)


def wire_explore(registry: ModelRegistry, store: OutputStore, ui: UI) -> dict[str, Any]:
    tab = ui.explore
    render = dict(fn=functools.partial(render_explore, registry, store, ui), inputs=[ui.model, *tab.controls],
                  outputs=[tab.image, tab.link, tab.query, tab.copied], api_visibility="undocumented",
                  show_progress="hidden")  # fmt: skip
    for slider in tab.sliders:  # live: every drag step re-renders; always_last drops stale steps under load
        slider.input(**render, trigger_mode="always_last", api_name="explore")
    for dropdown in tab.dropdowns:
        dropdown.input(**render, api_name="explore")
    tab.seed.input(**render, trigger_mode="always_last", api_name="explore")
    tab.randomise.click(randomise_seed, None, tab.seed, api_visibility="private").then(**render, api_name="explore")
    tab.copy.click(None, [tab.query], [tab.copied], js=COPY_LINK_JS, api_visibility="private")
    return render


def wire_traverse(registry: ModelRegistry, store: OutputStore, ui: UI, demo: gr.Blocks) -> None:
    tab = ui.traverse
    inputs = [ui.model, tab.code, tab.rows, *ui.explore.controls]
    outputs = [tab.grid, tab.baseline, tab.animation]
    lane = heavy_lane(demo, "traverse")
    traverse = dict(fn=functools.partial(make_traversal, registry, store, ui), inputs=inputs, outputs=outputs,
                    api_name="traverse", api_visibility="undocumented", **lane)  # fmt: skip
    tab.button.click(**traverse)
    tab.tab.select(**traverse)
    tab.rows.input(**traverse)
    tab.code.input(functools.partial(rows_for_code, registry), [ui.model, tab.code], tab.rows,
                   api_visibility="private").then(**traverse)  # fmt: skip
    tab.compare.click(functools.partial(compare_with_baseline, registry, store, ui), inputs, outputs,
                      api_visibility="private", **lane)  # fmt: skip


def wire_encode(registry: ModelRegistry, ui: UI, render: dict[str, Any], demo: gr.Blocks) -> None:
    tab = ui.encode
    outputs = [tab.q_view, *tab.labels, tab.table, tab.send, tab.reading]
    # Gradio's sketchpad starts with no tool selected, and Clear deselects it: pick the brush so drawing just works.
    tab.tab.select(None, None, None, js=BRUSH_JS, api_visibility="private")
    tab.sketchpad.clear(functools.partial(clear_reading, ui), None, outputs, js=BRUSH_JS, api_visibility="private")
    # The encode lane, but no admission validator: a validator's preprocessing would consume the sketch's blobs.
    tab.sketchpad.change(functools.partial(read_codes, registry, ui, sketch=True), [ui.model, tab.sketchpad],
                         outputs, api_name="encode_sketch", api_visibility="undocumented", trigger_mode="always_last",
                         show_progress="hidden", concurrency_id="encode", concurrency_limit=1)  # fmt: skip
    # preprocess=False: the callback gets the uploaded file's path and checks its size before decoding it.
    tab.upload.change(functools.partial(read_codes, registry, ui, sketch=False), [ui.model, tab.upload], outputs,
                      api_name="encode", api_visibility="undocumented", preprocess=False,
                      **heavy_lane(demo, "encode"))  # fmt: skip
    tab.send.click(functools.partial(send_to_explore, registry, ui), [ui.model, ui.explore.seed, tab.reading],
                   [ui.tabs, *ui.explore.controls], api_visibility="private").then(**render)  # fmt: skip


def build_demo(registry: ModelRegistry) -> gr.Blocks:
    """The explorer UI for the models in `registry` (at least one)."""
    if not len(registry):
        raise ValueError("the registry has no models: add checkpoints/<name>/ folders or pass --models user/repo")
    # delete_cache: every rendered PNG lands in Gradio's cache; drop files older than CACHE_MAX_AGE_S (checked each
    # minute); launch() also caps the cache's size.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(60, CACHE_MAX_AGE_S)) as demo:
        store = OutputStore(root=Path(demo.GRADIO_CACHE) / "outputs")  # inside Gradio's cache: served, not copied
        ui = build_layout(registry)
        render = wire_explore(registry, store, ui)
        wire_traverse(registry, store, ui, demo)
        wire_encode(registry, ui, render, demo)
        ui.learn.estimate_button.click(functools.partial(estimate_information, registry), [ui.model],
                                       [ui.learn.estimate], api_visibility="private")  # fmt: skip
        # One zip at a time (about a second of CPU each), and only the newest 8 kept: any visitor can press it.
        downloads = synthesize.DownloadStore(keep=8)
        ui.learn.synthetic_button.click(functools.partial(make_synthetic_set, registry, downloads), ui.model,
                                        ui.learn.synthetic_file, api_name="synthetic_set",
                                        api_visibility="undocumented", concurrency_limit=1)  # fmt: skip
        outputs = [ui.model, *ui.model_outputs]
        demo.load(bind(restore_from_link, registry, ui), None, outputs,
                  api_visibility="private").then(**render)  # fmt: skip
        ui.model.input(functools.partial(switch_model, registry, ui), [ui.model, ui.explore.seed], ui.model_outputs,
                       api_visibility="private").then(**render)  # fmt: skip
        api = GenerateAPI(registry, store)
        gr.api(api, api_name="generate", api_description=api.description())
    return demo


def heavy_lane(demo: gr.Blocks, lane: str) -> dict[str, Any]:
    """Event settings for an expensive endpoint: its own concurrency lane of one worker, and a validator (run before
    an event is queued) that turns requests away while HEAVY_WAITING of them already wait in that lane."""

    def waiting() -> int:
        queue = getattr(demo, "_queue", None)  # Gradio's queue (internal): per-lane waiting lists
        lane_queue = queue.event_queue_per_concurrency_id.get(lane) if queue is not None else None
        return len(lane_queue.queue) if lane_queue is not None else 0

    gate = explorer.AdmissionGate(HEAVY_WAITING, waiting)

    def admit(*inputs: Any) -> list[Any]:
        if gate.admit():
            return [None] * len(inputs)
        message = f"The server is busy: {HEAVY_WAITING} {lane} requests are waiting. Try again shortly."
        return [gr.validate(False, message), *[None] * (len(inputs) - 1)]  # HTTP 422, shown on the first input

    return dict(concurrency_id=lane, concurrency_limit=1, validator=admit)


def launch(demo: gr.Blocks, **kwargs: Any) -> Any:
    """Queue for a 2-vCPU Space and launch with the app's theme, CSS and resource limits; kwargs go to `launch`."""
    # Gradio rebuilds a pandas summary of the last 10,000 events after every event (41 % of the GIL under load);
    # these knobs, read by gradio/queueing.py when the queue is created, keep 1,000 and recompute every 100.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    # Decodes Gradio does itself (the sketchpad's drawing) refuse images beyond the upload cap, not 179 M pixels.
    Image.MAX_IMAGE_PIXELS = explorer.MAX_UPLOAD_PIXELS
    explorer.start_cache_trimmer(lambda: demo.temp_file_sets, CACHE_MAX_BYTES, every_s=60)  # Gradio's own lists
    limits = dict(state_session_capacity=STATE_SESSIONS, max_file_size=MAX_FILE_SIZE, enable_monitoring=False,
                  run_history=False)  # fmt: skip
    return demo.launch(theme=gr.themes.Soft(), css=CSS, footer_links=["api"], **{**limits, **kwargs})


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    torch.set_num_threads(THREADS)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    registry = ModelRegistry.from_sources(args.checkpoints, explorer.hub_ids_from(args.models))
    if registry.failures and not len(registry):  # serve what loads; refuse only when nothing does
        parser.error("no model could be loaded:" + "".join(f"\n  {n}: {r}" for n, r in registry.failures.items()))
    if not len(registry):
        parser.error(f"no models: {args.checkpoints}/ has no */config.json and no --models / ${explorer.MODELS_ENV}")
    try:
        launch(build_demo(registry), server_name=args.host, server_port=args.port)
    except OSError as err:  # Gradio: "Cannot find empty port in range" (or the address cannot be bound)
        parser.exit(2, f"error: cannot serve on {args.host}:{args.port} ({err}); is another app using it? Pass "
                       "another port with --port, e.g. --port 7861\n")  # fmt: skip


if __name__ == "__main__":
    main()
