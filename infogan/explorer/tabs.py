"""The explorer's layout: one builder per tab, each returning a small dataclass of the components its callbacks
read or update, and `build_layout` that puts the header, the Model dropdown and the tabs together."""

# No `from __future__ import annotations`: the dataclasses' fields stay real Gradio types.

from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..latent import LatentSpec
from ..presets import load_preset
from . import lesson
from .codes import MAX_SEED
from .live_training import LiveTraining
from .registry import ModelRegistry
from .training_tab import TrainTab, build_train

TITLE = "InfoGAN latent explorer"
SYNTHETIC_PER_CATEGORY = 100  # the Learn tab's zip; synthesize.download_per_category caps the total at 2,000


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
            # Choices change with the model: values are validated by parse_codes, not the dropdown.
            dropdowns = [gr.Dropdown(label=f"category {i}", interactive=True, allow_custom_value=True)
                         for i in range(n_cat)]  # fmt: skip
            sliders = [gr.Slider(minimum=-2, maximum=2, value=0, step=0.01, label=f"code {j}") for j in range(n_cont)]
            with gr.Row(equal_height=True):
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Noise seed (z)",
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
    api_button: gr.Button  # opens Gradio's API page
    tabs: gr.Tabs
    explore: ExploreTab
    traverse: TraverseTab
    encode: EncodeTab
    learn: LearnTab
    train: TrainTab | None = None  # only when the server trains (app.py --no-train turns it off)

    @property
    def model_outputs(self) -> list[Any]:
        """Everything that changes with the model."""
        e, t, c, learn = self.explore, self.traverse, self.encode, self.learn
        return [*e.controls, e.notice, t.code, t.rows, t.compare, t.grid, t.baseline, t.animation, c.hint,
                c.sketchpad, c.q_view, *c.labels, c.table, c.send, c.reading, learn.facts, learn.lambdas,
                learn.architecture, learn.metrics, learn.estimate, learn.exercises, learn.synthetic_box,
                learn.synthetic_file]  # fmt: skip


def build_layout(registry: ModelRegistry, live: LiveTraining | None = None) -> UI:
    """Header, Model dropdown and the tabs; with `live`, a Train tab too."""
    # Every model that may be shown needs its control slots: the loaded ones and those the Train tab can make.
    specs = [registry.get(name).config.latent for name in registry.names]
    if live is not None:
        specs += [load_preset(name).model.latent for name in live.trainable_presets()]
    n_cat, n_cont = control_slots(specs)
    with gr.Row(elem_id="header-row"):  # min widths: on a phone the button wraps under the text
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                f"# {TITLE}\nAn [InfoGAN](https://arxiv.org/abs/1606.03657) learns, without labels, a few *codes* "
                "that control what it draws. Move the controls and watch the image change; the **Learn** tab "
                "explains why."
            )
        with gr.Column(scale=0, min_width=130):
            api_button = gr.Button("Use via API", size="sm", elem_id="api-button")
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
        train = build_train(live) if live is not None else None
    return UI(model, api_button, tabs, explore, traverse, encode, learn, train)


def control_slots(specs: list[LatentSpec]) -> tuple[int, int]:
    """How many dropdowns and sliders Explore needs: the most categorical and continuous codes of any spec."""
    return max(len(s.categorical) for s in specs), max(len(s.continuous) for s in specs)
