"""The explorer page put together: events wired to the callbacks, the heavy endpoints' lanes, the page's CSS and
JavaScript, and `launch` with the queue and resource limits of `infogan.explorer.limits`.

`build_demo(registry)` returns the Gradio Blocks; `launch(demo)` serves it. `app.py` only parses its flags,
loads the registry and calls these two.
"""

# No `from __future__ import annotations`: `bind` copies real signatures (Gradio reads `gr.Request` from them).

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from ..export import synthesize
from . import callbacks, limits, training_tab
from .live_training import LiveTraining
from .outputs import OutputStore, start_cache_trimmer
from .registry import ModelRegistry
from .tabs import TITLE, UI, build_layout
from .training_tab import TrainTab

CSS = """
#explore-image img, #traverse-grid img, #baseline-grid img, #traverse-animation img, #q-view img {
  image-rendering: pixelated; }
.gradio-container { overflow-x: clip !important; overflow-y: visible !important; }  /* hidden would unstick */
#explore-image-column { position: sticky; top: 0; z-index: 1000; align-self: flex-start;
  background: var(--body-background-fill); }
#header-row { align-items: flex-start; }
#link-notice { border-left: 4px solid #d97706; padding-left: 8px; }
.train-progress { display: flex; gap: 12px; align-items: center; }
.train-progress progress { flex: 1; height: 14px; }
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

    if inspect.isgeneratorfunction(fn):  # Gradio streams only from functions that are generators themselves

        @functools.wraps(fn)
        def bound(*rest: Any, **kwargs: Any) -> Any:
            yield from fn(*args, *rest, **kwargs)

    else:

        @functools.wraps(fn)
        def bound(*rest: Any, **kwargs: Any) -> Any:
            return fn(*args, *rest, **kwargs)

    bound.__signature__ = inspect.signature(functools.partial(fn, *args))  # type: ignore[attr-defined]
    return bound


def wire_explore(registry: ModelRegistry, store: OutputStore, ui: UI) -> dict[str, Any]:
    tab = ui.explore
    render = dict(fn=functools.partial(callbacks.render_explore, registry, store, ui), inputs=[ui.model, *tab.controls],
                  outputs=[tab.image, tab.link, tab.query, tab.copied], api_visibility="undocumented",
                  show_progress="hidden")  # fmt: skip
    for slider in tab.sliders:  # live: every drag step re-renders; always_last drops stale steps under load
        slider.input(**render, trigger_mode="always_last", api_name="explore")
    for dropdown in tab.dropdowns:
        dropdown.input(**render, api_name="explore")
    tab.seed.input(**render, trigger_mode="always_last", api_name="explore")
    tab.randomise.click(callbacks.randomise_seed, None, tab.seed, api_visibility="private").then(
        **render, api_name="explore"
    )
    tab.copy.click(None, [tab.query], [tab.copied], js=COPY_LINK_JS, api_visibility="private")
    return render


def wire_traverse(registry: ModelRegistry, store: OutputStore, ui: UI, demo: gr.Blocks) -> None:
    tab = ui.traverse
    inputs = [ui.model, tab.code, tab.rows, *ui.explore.controls]
    outputs = [tab.grid, tab.baseline, tab.animation]
    lane = heavy_lane(demo, "traverse")
    traverse = dict(fn=functools.partial(callbacks.make_traversal, registry, store, ui), inputs=inputs, outputs=outputs,
                    api_name="traverse", api_visibility="undocumented", **lane)  # fmt: skip
    tab.button.click(**traverse)
    tab.tab.select(**traverse)
    tab.rows.input(**traverse)
    tab.code.input(functools.partial(callbacks.rows_for_code, registry), [ui.model, tab.code], tab.rows,
                   api_visibility="private").then(**traverse)  # fmt: skip
    tab.compare.click(functools.partial(callbacks.compare_with_baseline, registry, store, ui), inputs, outputs,
                      api_visibility="private", **lane)  # fmt: skip


def wire_encode(registry: ModelRegistry, ui: UI, render: dict[str, Any], demo: gr.Blocks) -> None:
    tab = ui.encode
    outputs = [tab.q_view, *tab.labels, tab.table, tab.send, tab.reading]
    # Gradio's sketchpad starts with no tool selected, and Clear deselects it: pick the brush so drawing just works.
    tab.tab.select(None, None, None, js=BRUSH_JS, api_visibility="private")
    tab.sketchpad.clear(
        functools.partial(callbacks.clear_reading, ui), None, outputs, js=BRUSH_JS, api_visibility="private"
    )
    # The encode lane, but no admission validator: a validator's preprocessing would consume the sketch's blobs.
    tab.sketchpad.change(functools.partial(callbacks.read_codes, registry, ui, sketch=True), [ui.model, tab.sketchpad],
                         outputs, api_name="encode_sketch", api_visibility="undocumented", trigger_mode="always_last",
                         show_progress="hidden", concurrency_id="encode", concurrency_limit=1)  # fmt: skip
    # preprocess=False: the callback gets the uploaded file's path and checks its size before decoding it.
    tab.upload.change(functools.partial(callbacks.read_codes, registry, ui, sketch=False), [ui.model, tab.upload],
                      outputs, api_name="encode", api_visibility="undocumented", preprocess=False,
                      **heavy_lane(demo, "encode"))  # fmt: skip
    tab.send.click(functools.partial(callbacks.send_to_explore, registry, ui), [ui.model, ui.explore.seed, tab.reading],
                   [ui.tabs, *ui.explore.controls], api_visibility="private").then(**render)  # fmt: skip


def wire_learn(registry: ModelRegistry, ui: UI) -> None:
    ui.learn.estimate_button.click(functools.partial(callbacks.estimate_information, registry), [ui.model],
                                   [ui.learn.estimate], api_visibility="private")  # fmt: skip
    # One zip at a time (about a second of CPU each), and only the newest 8 kept: any visitor can press it.
    downloads = synthesize.DownloadStore(keep=8)
    ui.learn.synthetic_button.click(functools.partial(callbacks.make_synthetic_set, registry, downloads), ui.model,
                                    ui.learn.synthetic_file, api_name="synthetic_set", api_visibility="undocumented",
                                    concurrency_limit=1)  # fmt: skip


def wire_train(
    live: LiveTraining, registry: ModelRegistry, store: OutputStore, ui: UI, tab: TrainTab, render: dict[str, Any]
) -> None:
    owner = training_tab.RunOwner()
    # A run holds its worker for minutes; the lane's second worker lets a second visitor hear "busy" at once.
    tab.start.click(bind(training_tab.stream_training, live, registry, store, tab, ui.model, owner),
                    [tab.preset, tab.steps],
                    [tab.progress, tab.preview, tab.plot, tab.legend, ui.model, tab.trained, tab.download],
                    api_visibility="private", show_progress="hidden", concurrency_id=training_tab.TRAIN_LANE,
                    concurrency_limit=2)  # fmt: skip
    tab.stop.click(bind(training_tab.stop_training, live, owner), None, None, api_visibility="private")
    tab.preset.input(functools.partial(training_tab.steps_for, live), tab.preset, tab.steps, api_visibility="private")
    tab.trained.input(functools.partial(training_tab.download_update, live), tab.trained, tab.download,
                      api_visibility="private")  # fmt: skip
    tab.explore.click(functools.partial(callbacks.open_in_explore, registry, ui), [tab.trained, ui.explore.seed],
                      [ui.model, ui.tabs, *ui.model_outputs], api_visibility="private").then(**render)  # fmt: skip
    tab.push.click(functools.partial(training_tab.push_to_hub, live), [tab.trained, tab.repo_id, tab.token],
                   tab.pushed, api_visibility="private", concurrency_limit=1)  # fmt: skip
    # Opening the tab lists the models trained meanwhile (by anyone) and shows a run already going.
    tab.tab.select(functools.partial(training_tab.list_trained, live, registry, tab, ui.model), tab.trained,
                   [tab.trained, tab.download, tab.progress, ui.model], api_visibility="private")  # fmt: skip


def build_demo(registry: ModelRegistry, live: LiveTraining | None = None) -> gr.Blocks:
    """The explorer UI for the models in `registry` (at least one); with `live`, a Train tab that adds models."""
    if live is not None:
        training_tab.sync_trained(registry, live)  # models trained before a restart are served again
    if not len(registry):
        raise ValueError("the registry has no models: add checkpoints/<name>/ folders or pass --models user/repo")
    # delete_cache: every rendered PNG lands in Gradio's cache; drop files older than CACHE_MAX_AGE_S (checked
    # each minute); launch() also caps the cache's size.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(60, limits.CACHE_MAX_AGE_S)) as demo:
        store = OutputStore(root=Path(demo.GRADIO_CACHE) / "outputs")  # inside Gradio's cache: served, not copied
        ui = build_layout(registry, live)
        # Gradio opens its API page from the footer's button; the header's is easier to find (and works on phones).
        ui.api_button.click(None, js=OPEN_API_JS, api_visibility="private")
        render = wire_explore(registry, store, ui)
        wire_traverse(registry, store, ui, demo)
        wire_encode(registry, ui, render, demo)
        wire_learn(registry, ui)
        outputs = [ui.model, *ui.model_outputs]
        demo.load(bind(callbacks.restore_from_link, registry, ui), None, outputs,
                  api_visibility="private").then(**render)  # fmt: skip
        ui.model.input(functools.partial(callbacks.switch_model, registry, ui), [ui.model, ui.explore.seed],
                       ui.model_outputs, api_visibility="private").then(**render)  # fmt: skip
        if live is not None and ui.train is not None:
            wire_train(live, registry, store, ui, ui.train, render)
        api = callbacks.GenerateAPI(registry, store)
        gr.api(api, api_name="generate", api_description=api.description())
    return demo


def heavy_lane(demo: gr.Blocks, lane: str) -> dict[str, Any]:
    """Event settings for an expensive endpoint: its own concurrency lane of one worker, and a validator (run before
    an event is queued) that turns requests away while limits.HEAVY_WAITING of them already wait in that lane."""

    def waiting() -> int:
        queue = getattr(demo, "_queue", None)  # Gradio's queue (internal): per-lane waiting lists
        lane_queue = queue.event_queue_per_concurrency_id.get(lane) if queue is not None else None
        return len(lane_queue.queue) if lane_queue is not None else 0

    gate = limits.AdmissionGate(limits.HEAVY_WAITING, waiting)

    def admit(*inputs: Any) -> list[Any]:
        if gate.admit():
            return [None] * len(inputs)
        message = f"The server is busy: {limits.HEAVY_WAITING} {lane} requests are waiting. Try again shortly."
        return [gr.validate(False, message), *[None] * (len(inputs) - 1)]  # HTTP 422, shown on the first input

    return dict(concurrency_id=lane, concurrency_limit=1, validator=admit)


def launch(demo: gr.Blocks, **kwargs: Any) -> Any:
    """Queue for a 2-vCPU Space and launch with the app's theme, CSS and resource limits; kwargs go to `launch`."""
    # Gradio rebuilds a pandas summary of the last 10,000 events after every event (41 % of the GIL under load);
    # these knobs, read by gradio/queueing.py when the queue is created, keep 1,000 and recompute every 100.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    demo.queue(default_concurrency_limit=limits.CONCURRENCY, max_size=limits.QUEUE_SIZE)
    # Decodes Gradio does itself (the sketchpad's drawing) refuse images beyond the upload cap, not 179 M pixels.
    Image.MAX_IMAGE_PIXELS = limits.MAX_UPLOAD_PIXELS
    start_cache_trimmer(lambda: demo.temp_file_sets, limits.CACHE_MAX_BYTES, every_s=60)  # Gradio's own lists
    caps = dict(state_session_capacity=limits.STATE_SESSIONS, max_file_size=limits.MAX_FILE_SIZE,
                enable_monitoring=False, run_history=False)  # fmt: skip
    return demo.launch(theme=gr.themes.Soft(), css=CSS, footer_links=["api"], **{**caps, **kwargs})
