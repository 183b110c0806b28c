"""The explorer's callbacks: module-level functions that return `{component: update}` mappings for the components
in `infogan.explorer.tabs.UI`, plus the documented `generate` API. `infogan.explorer.ui` binds them to events."""

# No `from __future__ import annotations` here: gr.api reads the `generate` endpoint's types from its signature,
# and Gradio finds `restore_from_link`'s `gr.Request` parameter through its type hint.

import functools
import random
from collections.abc import Callable
from typing import Any

import gradio as gr
import torch

from ..config import shorten
from ..export import synthesize
from . import lesson
from .codes import (
    MAX_SEED,
    category_choices,
    category_purity,
    codes_from_controls,
    comparable_codes,
    controls_from_codes,
    example_codes,
    parse_codes,
    parse_seed,
    share_query,
    slider_range,
    state_from_query,
)
from .encoding import codes_from_inference, encode_hint, infer, is_blank, preprocess_for_q, q_view, sketch_to_image
from .facts import model_facts
from .outputs import OutputStore, download_stem
from .registry import ModelRegistry
from .rendering import generate_file, render, row_options, traversal
from .tabs import SYNTHETIC_PER_CATEGORY, UI


def user_errors(fn: Callable) -> Callable:
    """Turn ValueError (bad user or API input, with a message naming the allowed values) into gr.Error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValueError as err:  # shortened: a message never echoes a huge input back whole
            raise gr.Error(shorten(err, 1000), print_exception=False) from None

    return wrapper


# ---- callbacks: model-dependent controls -----------------------------------------------------------------------------


def explore_updates(ui: UI, model: Any, seed: int, codes: dict[str, Any]) -> dict[Any, Any]:
    """Explore's controls for `model`, showing `codes` (defaults elsewhere)."""
    spec, tab = model.config.latent, ui.explore
    cat_values, cont_values = controls_from_codes(model, codes)
    notes = model.config.metadata.get("code_notes") or {}
    updates: dict[Any, Any] = {tab.seed: gr.Number(value=seed)}
    for i, dropdown in enumerate(tab.dropdowns):
        if i >= len(spec.categorical):
            updates[dropdown] = gr.Dropdown(visible=False, value=None)
            continue
        code = spec.categorical[i]
        purity = category_purity(model, code.name)
        info = notes.get(code.name) or f"{code.size} categories, discovered without labels"
        if purity is not None:
            info += " · (%) = purity: share of its images an independent classifier calls one class"
        updates[dropdown] = gr.Dropdown(choices=category_choices(code, purity), value=cat_values[i],
                                        label=code.name, info=info, visible=True)  # fmt: skip
    for j, slider in enumerate(tab.sliders):
        if j >= len(spec.continuous):
            updates[slider] = gr.Slider(visible=False)
            continue
        code = spec.continuous[j]
        low, high = slider_range(code)
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
        tab.rows: gr.Dropdown(choices=row_options(model, code_names[0]), value="seeds"),
        tab.compare: compare,
        tab.grid: None,
        tab.baseline: gr.Image(value=None, visible=False),
        tab.animation: None,
    }


def encode_updates(ui: UI, model: Any, name: str) -> dict[Any, Any]:
    """Encode's wording and outputs for `model`, with the previous model's reading cleared."""
    tab, spec = ui.encode, model.config.latent
    hint, sketch_label = encode_hint(model, name)
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
        tab.facts: model_facts(model, name, raw_metrics=False),
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
        seed = parse_seed(seed)
    except ValueError:
        seed = 0
    return model_updates(registry, ui, name, seed, {})


def restore_from_link(registry: ModelRegistry, ui: UI, request: gr.Request) -> dict[Any, Any]:
    """Restore the view a share link describes (`?model=…&seed=…&<code>=…`), saying what was ignored or clamped."""
    params = dict(request.query_params) if request is not None else {}
    state = state_from_query(registry, params)
    updates = model_updates(registry, ui, state.model_name, state.seed, state.codes)
    # Choices too: models trained on this server since it started are not in the page's first dropdown.
    updates[ui.model] = gr.Dropdown(choices=registry.names, value=state.model_name)
    if state.notices:
        text = "**This link was not shown exactly:** " + "; ".join(state.notices) + "."
        updates[ui.explore.notice] = gr.Markdown(text, visible=True)
    return updates


@user_errors
def open_in_explore(registry: ModelRegistry, ui: UI, name: Any, seed: float) -> dict[Any, Any]:
    """Pick model `name` (e.g. one just trained) in the Model dropdown and show it in the Explore tab."""
    if name not in registry:
        raise ValueError(f"model {name!r} is not served (any more); pick one of {registry.names}")
    updates = switch_model(registry, ui, name, seed)
    updates[ui.model] = gr.Dropdown(choices=registry.names, value=name)
    updates[ui.tabs] = gr.Tabs(selected="explore")
    return updates


# ---- callbacks: Explore ----------------------------------------------------------------------------------------------


def explore_state(registry: ModelRegistry, ui: UI, name: str, slots: tuple[Any, ...]) -> tuple[Any, int, dict]:
    """(model, seed, codes) from the Explore controls' values (seed, dropdowns, sliders)."""
    n_cat = len(ui.explore.dropdowns)
    model = registry.get(name)
    seed = parse_seed(slots[0])
    codes = codes_from_controls(model, slots[1 : 1 + n_cat], slots[1 + n_cat :])
    return model, seed, parse_codes(model, codes)


@torch.inference_mode()
@user_errors
def render_explore(registry: ModelRegistry, store: OutputStore, ui: UI, name: str, *slots: Any) -> dict[Any, Any]:
    """The Explore image (a PNG named after model, seed and codes) and the share link for the current controls."""
    model, seed, codes = explore_state(registry, ui, name, slots)
    query = share_query(name, seed, codes, model)
    path = store.save_image(render(model, seed, codes), download_stem(name, seed, codes, model))
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
    grid, frames = traversal(model, code_name, seed, codes, rows=rows or "seeds", title=name)
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
    grid, _ = traversal(baseline, code_name, seed, comparable_codes(baseline, codes, model),
                                 rows=rows or "seeds", title=f"{baseline_name} (λ = 0, a plain GAN)")  # fmt: skip
    stem = f"{baseline_name}_traversal-{code_name}_rows-{rows or 'seeds'}_seed{seed}"
    updates[ui.traverse.baseline] = gr.Image(str(store.save_image(grid, stem)), visible=True)
    return updates


def rows_for_code(registry: ModelRegistry, name: str, code_name: str) -> gr.Dropdown:
    model = registry.get(name)
    if code_name not in [c.name for c in model.codes]:
        return gr.Dropdown()
    return gr.Dropdown(choices=row_options(model, code_name), value="seeds")


# ---- callbacks: Encode -----------------------------------------------------------------------------------------------


@torch.inference_mode()
@user_errors
def read_codes(registry: ModelRegistry, ui: UI, name: str, image: Any, sketch: bool) -> dict[Any, Any]:
    """Q's reading of an uploaded or drawn image: the image as Q saw it, probabilities per category, values."""
    model, tab = registry.get(name), ui.encode
    picture = sketch_to_image(image)
    if is_blank(picture):
        return {tab.reading: gr.skip()}  # untouched or re-mounted sketchpad: keep the last reading (Clear has its own)
    tensor = preprocess_for_q(picture, model, sketch=sketch)
    inferred = infer(model, tensor)
    spec = model.config.latent
    updates: dict[Any, Any] = {tab.q_view: q_view(tensor)}
    for i, label in enumerate(tab.labels):
        if i < len(spec.categorical):
            code = spec.categorical[i]
            updates[label] = gr.Label(value=inferred[code.name], label=f"{code.name} (Q's probabilities)")
    rows = [[c.name, round(inferred[c.name], 3), f"{c.low:g} … {c.high:g}"] for c in spec.continuous]
    updates.update({tab.table: gr.Dataframe(value=rows), tab.send: gr.Button(interactive=True),
                    tab.reading: codes_from_inference(model, inferred)})  # fmt: skip
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
    updates = explore_updates(ui, registry.get(name), parse_seed(seed), reading)
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
            path = generate_file(self.registry, self.store, model, seed, codes)
        except ValueError as err:  # shortened: a message never echoes a huge input back whole
            raise gr.Error(shorten(err, 1000), print_exception=False) from None
        return gr.FileData(path=str(path), mime_type="image/png", orig_name=path.name)

    def description(self) -> str:
        names = ", ".join(repr(n) for n in self.registry.names)
        first = self.registry.default
        return (f"One PNG image. model: one of {names}; seed: integer 0…{MAX_SEED} (the noise z); codes: "
                "JSON object of code values by name — a category index or label for categorical codes, a number "
                "(prior usually −1…1, allowed ±10) for continuous codes; codes left out are drawn from their prior. "
                f"Example for {first!r}: {example_codes(self.registry.get(first))}")  # fmt: skip
