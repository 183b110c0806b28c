"""The Train tab: pick a preset, press Train and watch an InfoGAN learn, live; the finished model joins the explorer.

Layout (`build_train`), callbacks and wiring (`wire_train`) of one self-contained tab around the server's one
`LiveTraining` (infogan.explorer.live_training). The run streams from a generator callback, so on a ZeroGPU Space
its GPU work runs in the visitor's request, as `spaces.GPU` requires. A trained model is loaded into the shared
registry and listed in the Model dropdown; models the backend no longer keeps leave it.
"""

# No `from __future__ import annotations`: Gradio reads `gr.Request` parameters from the real type hints.

import html
import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ..config import shorten
from ..model import InfoGAN
from ..presets import load_preset
from .live_training import MIN_STEPS, LiveSnapshot, LiveTraining, TrainingBusyError
from .outputs import OutputStore
from .registry import ModelRegistry

LOSS_SERIES = {"d_loss": "D loss", "g_loss": "G loss"}  # trainer log record key → legend text
# The plot's colours, fixed per curve and drawn in our own legend: Gradio 6's LinePlot clips its legend's entries
# (only the title "series" shows), so a reader could not tell the curves apart.
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#54a24b", "#b279a2", "#9d755d")
TRAIN_LANE = "train"  # its own lane: a run holds one worker for minutes; the second lets "busy" answer at once


@dataclass
class TrainTab:
    """The Train tab's components."""

    tab: gr.Tab
    preset: gr.Dropdown
    steps: gr.Number
    start: gr.Button
    stop: gr.Button
    progress: gr.HTML
    preview: gr.Image
    plot: gr.LinePlot
    legend: gr.HTML
    trained: gr.Dropdown  # the models this server trained (kept ones), for Explore, download and push
    explore: gr.Button
    download: gr.DownloadButton
    repo_id: gr.Textbox
    token: gr.Textbox
    push: gr.Button
    pushed: gr.Markdown


@dataclass
class RunOwner:
    """Which visitor's page started the current run: only that page's Stop stops it."""

    session: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_train(live: LiveTraining) -> TrainTab:
    presets = live.trainable_presets()
    with gr.Tab("Train", id="train") as tab:
        gr.Markdown("Train an InfoGAN here and watch its codes acquire meaning: at first each category of the code "
                    "draws the same blur; within a minute or two each draws its own digit. The preview shows every "
                    "category (columns) on the same noise (rows), so frames compare. One training runs at a time "
                    f"on this server ({live.device}).")  # fmt: skip
        with gr.Row(equal_height=True):
            preset = gr.Dropdown(choices=presets, value=presets[0] if presets else None, label="Preset",
                                 info="the dataset and model layout")  # fmt: skip
            steps = gr.Number(value=live.default_steps(presets[0]) if presets else None, precision=0,
                              minimum=MIN_STEPS, label="Steps",
                              info="the default fits this server's hardware")  # fmt: skip
            with gr.Column(min_width=160):
                start = gr.Button("Train", variant="primary", elem_id="train-start")
                stop = gr.Button("Stop", variant="stop", elem_id="train-stop")
        progress = gr.HTML(progress_html(live.snapshot()), elem_id="train-progress")
        with gr.Row():
            # No value until the first log record: an empty table would fix the axes' types before any data.
            preview = gr.Image(label="Live preview: a column per category, a row per noise sample", type="filepath",
                               format="png", interactive=False, elem_id="train-preview", height=560,
                               scale=3)  # fmt: skip
            with gr.Column(scale=2):
                plot = gr.LinePlot(None, x="step", y="value", color="series", label="Losses and information",
                                   x_title="step", y_title="", height=300, elem_id="train-plot",
                                   color_map=series_colors(presets))  # fmt: skip
                legend = gr.HTML(legend_html(presets[0]) if presets else "", elem_id="train-legend")
        with gr.Row(equal_height=True):
            trained = gr.Dropdown(label="Your trained models (newest first)", elem_id="train-models")
            explore = gr.Button("Explore it →", variant="primary", elem_id="train-explore")
            download = gr.DownloadButton("Download (zip, Hub format)", elem_id="train-download", visible=False)
        with gr.Accordion("Push to the Hugging Face Hub", open=False):
            with gr.Row(equal_height=True):
                repo_id = gr.Textbox(label="Repo id", placeholder="your-name/infogan-mnist", elem_id="train-repo")
                token = gr.Textbox(label="Write token", type="password", placeholder="hf_…",
                                   info="used for this push only, never stored")  # fmt: skip
                push = gr.Button("Push", elem_id="train-push")
            pushed = gr.Markdown(elem_id="train-pushed")
    return TrainTab(tab, preset, steps, start, stop, progress, preview, plot, legend, trained, explore, download,
                    repo_id, token, push, pushed)  # fmt: skip


# ---- pure helpers (no Gradio state) --------------------------------------------------------------------------------


def progress_html(snapshot: LiveSnapshot) -> str:
    """A native progress bar with "step 120 of 800 (15 %) · running: <message>"."""
    total = max(snapshot.total, 1)
    text = f"step {snapshot.step:,} of {snapshot.total:,} ({100 * snapshot.step / total:.0f} %) · {snapshot.state}"
    if snapshot.message:
        text += f": {snapshot.message}"
    if snapshot.state == "idle":
        text = "no training running: pick a preset and press Train"
    return (f'<div class="train-progress"><progress value="{snapshot.step}" max="{total}"></progress> '
            f"<span>{html.escape(shorten(text, 300))}</span></div>")  # fmt: skip


def plot_series(preset: str) -> dict[str, str]:
    """The live plot's curves (log record key → legend): both losses and, per categorical code, the information
    lower bound H(c) − CE that InfoGAN maximises; it climbs toward log(size) as the categories take meaning.
    (Continuous codes' bounds are left out: with Q's fixed σ = 1 they sit below zero and would only confuse.)"""
    series = dict(LOSS_SERIES)
    codes = load_preset(preset).model.latent.categorical
    for code in codes:
        series[f"info/{code.name}"] = f"I({code.name}; G), lower bound in nats (max {math.log(code.size):.2f})"
    if not codes:
        series["information_nats"] = "information bound, all codes (nats)"
    return series


def series_colors(presets: list[str]) -> dict[str, str]:
    """One colour per curve label of every trainable preset, by the curve's place in its preset's list."""
    colors: dict[str, str] = {}
    for preset in presets:
        for i, label in enumerate(plot_series(preset).values()):
            colors.setdefault(label, PALETTE[i % len(PALETTE)])
    return colors


def legend_html(preset: str) -> str:
    """The plot's legend for `preset`'s curves: a colour swatch and the label, one per curve."""
    colors = series_colors([preset])
    items = "".join(
        f'<span style="margin-right:14px;white-space:nowrap"><span style="display:inline-block;width:18px;height:3px;'
        f'vertical-align:middle;margin-right:6px;background:{color}"></span>{html.escape(label)}</span>'
        for label, color in colors.items()
    )
    return f'<div class="train-legend" style="font-size:0.85em">{items}</div>'


def loss_frame(history: Any, series: dict[str, str] = LOSS_SERIES) -> pd.DataFrame:
    """The log records as a long table (step, series, value) for gr.LinePlot, one series per `series` key."""
    rows = [(int(record.get("progress", record.get("step", 0))), label, float(record[key]))
            for record in history for key, label in series.items() if key in record]  # fmt: skip
    return pd.DataFrame(rows, columns=["step", "series", "value"])


def parse_steps(steps: Any) -> int | None:
    """The Steps box's value as an int (None: the backend's default); the backend checks the range."""
    if steps is None or (isinstance(steps, str) and not steps.strip()):
        return None
    try:
        value = float(steps)
    except (TypeError, ValueError):
        raise ValueError(f"steps must be a whole number, got {steps!r}") from None
    if not value.is_integer():
        raise ValueError(f"steps must be a whole number, got {steps!r}")
    return int(value)


def sync_trained(registry: ModelRegistry, live: LiveTraining) -> list[str]:
    """Serve exactly the trained models the backend keeps: load new ones, drop pruned ones. Returns their names."""
    kept = dict(live.finished_models())
    for name in list(registry.names):
        try:
            trained_here = Path(registry.source(name)).parent == live.models_dir  # not a sibling like models_old/
        except (ValueError, KeyError):  # another visitor's callback removed it a moment ago
            continue
        if trained_here and name not in kept:
            registry.remove(name)
    for name, folder in kept.items():
        if name not in registry:
            registry.try_load(name, folder)
    return [name for name in kept if name in registry]


def push_trained(live: LiveTraining, name: Any, repo_id: Any, token: Any) -> str:
    """Push a trained model's folder to the Hub as `repo_id` with the visitor's own token; returns the repo URL.

    The token is required: a Space's own HF_TOKEN must never push on a visitor's behalf. ValueError for bad input
    and for any Hub failure (one line, without the token)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    folders = dict(live.finished_models())
    if name not in folders:
        raise ValueError(f"no trained model {name!r} to push; train one first (kept: {sorted(folders)})")
    repo_id, token = str(repo_id or "").strip(), str(token or "").strip()
    if "/" not in repo_id:
        raise ValueError(f"repo id must look like 'your-name/model-name', got {repo_id!r}")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ValueError(f"repo id {repo_id!r} is not valid: {shorten(err, 200)}") from None
    if not token:
        raise ValueError("paste a Hugging Face write token (huggingface.co/settings/tokens) to push")
    try:
        url = InfoGAN.from_pretrained(folders[name]).push_to_hub(repo_id, token=token)
    except Exception as err:  # HTTP, network and permission errors alike: one line for the page
        message = str(err).replace(token, "***")
        raise ValueError(f"pushing {name} to {repo_id} failed: {type(err).__name__}: {shorten(message, 300)}") from None
    return str(url)


# ---- callbacks -----------------------------------------------------------------------------------------------------


def stream_training(
    live: LiveTraining,
    registry: ModelRegistry,
    store: OutputStore,
    tab: TrainTab,
    model_dropdown: gr.Dropdown,
    owner: RunOwner,
    preset: str,
    steps: Any,
    request: gr.Request,
) -> Iterator[dict[Any, Any]]:
    """Train `preset` for `steps`, streaming progress, previews and the plot; a finished model joins the registry."""
    try:
        snapshots = live.stream(preset, parse_steps(steps))
        snapshot = next(snapshots)  # validation and the busy check happen here, before anything is trained
    except TrainingBusyError as err:
        raise gr.Error(str(err), title="Busy, try again", print_exception=False) from None
    except (ValueError, FileNotFoundError) as err:
        raise gr.Error(shorten(err, 1000), print_exception=False) from None
    session = getattr(request, "session_hash", None)
    with owner.lock:
        owner.session = session
    last, shown, series = snapshot, None, plot_series(preset)
    try:
        for last in itertools.chain([snapshot], snapshots):
            updates = {tab.progress: progress_html(last), tab.legend: legend_html(preset),
                       **plot_update(tab, last, series)}  # fmt: skip
            if last.preview is not None and last.preview is not shown:  # a new picture: a new file (the src changes)
                shown = last.preview
                updates[tab.preview] = str(store.save_image(shown, f"{preset}-step{last.step}"))
            yield updates
    finally:
        snapshots.close()  # a closed page ends here too: the backend then stops the run and keeps nothing
        with owner.lock:
            if owner.session == session:
                owner.session = None
    if last.state == "done":
        yield {**finished_updates(live, registry, tab, model_dropdown, last), **plot_update(tab, last, series)}


def plot_update(tab: TrainTab, snapshot: LiveSnapshot, series: dict[str, str]) -> dict[Any, Any]:
    """The plot's table in every update once there is data. Not before: an empty table would make the axes
    categorical. Never left out after: Gradio 6.31's plot then throws when its tab is shown again."""
    return {tab.plot: loss_frame(snapshot.history, series)} if snapshot.history else {}


def finished_updates(
    live: LiveTraining, registry: ModelRegistry, tab: TrainTab, model_dropdown: gr.Dropdown, snapshot: LiveSnapshot
) -> dict[Any, Any]:
    """The new model in the Model dropdown and the trained list, ready to explore, download and push."""
    names = sync_trained(registry, live)
    name = snapshot.model_name
    message = f"{name} is trained and joined the Model dropdown: press Explore it, download it or push it"
    done = LiveSnapshot("done", snapshot.step, snapshot.total, message=message)
    return {
        model_dropdown: gr.Dropdown(choices=registry.names),
        tab.progress: progress_html(done),
        tab.trained: gr.Dropdown(choices=names, value=name),
        tab.download: download_update(live, name),
    }


def stop_training(live: LiveTraining, owner: RunOwner, request: gr.Request) -> None:
    """Stop the run this page started (the backend then keeps nothing); another visitor's run is not ours to stop."""
    with owner.lock:
        mine = owner.session is not None and owner.session == getattr(request, "session_hash", None)
    if not mine:
        raise gr.Error("no training started from this page is running", print_exception=False)
    live.stop()
    gr.Info("stopping before the next step; nothing of this run is kept")


def steps_for(live: LiveTraining, preset: Any) -> gr.Number:
    """The Steps box's default for a newly picked preset."""
    if preset not in live.trainable_presets():
        return gr.Number()
    return gr.Number(value=live.default_steps(preset))


def download_update(live: LiveTraining, name: Any) -> gr.DownloadButton:
    """The download button for a trained model's zip (hidden when there is none)."""
    if not name or name not in dict(live.finished_models()):
        return gr.DownloadButton(value=None, visible=False)
    return gr.DownloadButton(f"Download {name} (zip, Hub format)", value=str(live.zip_model(name)), visible=True)


def list_trained(
    live: LiveTraining, registry: ModelRegistry, tab: TrainTab, model_dropdown: gr.Dropdown, current: Any
) -> dict[Any, Any]:
    """When the tab opens: the trained models (by anyone, or before a restart) in both lists, and any run going."""
    names = sync_trained(registry, live)
    name = current if current in names else (names[0] if names else None)
    updates = {tab.trained: gr.Dropdown(choices=names, value=name), tab.download: download_update(live, name),
               model_dropdown: gr.Dropdown(choices=registry.names)}  # fmt: skip
    snapshot = live.snapshot()
    if snapshot.state == "running":  # another visitor's run: its progress (its previews stream to its own page)
        updates[tab.progress] = progress_html(snapshot)
    return updates


def push_to_hub(live: LiveTraining, name: Any, repo_id: Any, token: Any) -> str:
    try:
        url = push_trained(live, name, repo_id, token)
    except ValueError as err:
        raise gr.Error(shorten(err, 1000), print_exception=False) from None
    return f"Pushed **{name}** to [{str(repo_id).strip()}]({url})."
