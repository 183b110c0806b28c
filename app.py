"""Live InfoGAN latent explorer: `python app.py` serves the models in checkpoints/ (add Hub models with --models).

UI only: layout, events and launch. Model logic (loading, validation, rendering, encoding) is in `infogan.explorer`.
"""

from __future__ import annotations

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
import logging
import random
from collections.abc import Callable
from typing import Any

import gradio as gr
import torch
from PIL import Image

from infogan import explorer
from infogan.config import shorten
from infogan.explorer import ModelRegistry

TITLE = "InfoGAN latent explorer"
THREADS = 1  # torch threads per request; with CONCURRENCY = 2 this fills a 2-vCPU Space without oversubscribing
CONCURRENCY = 2
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
#explore-image img, #traverse-grid img, #traverse-animation img { image-rendering: pixelated; }
#explore-image, #traverse-animation { max-width: 480px; }
footer { display: none !important; }
"""

PICK_BRUSH_JS = """() => {
  let tries = 0;
  const pick = () => {
    const brush = document.querySelector('#sketchpad button[aria-label="Brush"]');
    if (brush && brush.offsetParent !== null) brush.click(); else if (tries++ < 20) setTimeout(pick, 100);
  };
  setTimeout(pick, 100);
}"""
LEARN = r"""
## How InfoGAN works

A GAN's generator G turns random noise into images while a discriminator D learns to tell them from real ones.
Nothing makes any input dimension *mean* anything. **InfoGAN** (Chen et al., 2016) splits the generator input
into incompressible noise **z** and a few structured **latent codes c** — here categorical codes (a dropdown) and
continuous codes (a slider) — and adds one term to the GAN game:

$$\min_{G,Q}\max_D \; V_{\text{GAN}}(D, G) \;-\; \lambda\, L_I(G, Q), \qquad
L_I = \mathbb{E}_{c \sim p(c),\, x \sim G(z, c)}\big[\log Q(c \mid x)\big] + H(c) \;\le\; I(c;\, G(z, c)).$$

**What Q does.** Q is a small head on the discriminator's trunk that looks at a generated image and predicts the
codes that made it: a softmax over categories, and a Gaussian (mean, spread) for continuous codes. Maximising
log Q(c | x) maximises a variational lower bound (the L_I term above) on the mutual information I(c; G(z, c)) at almost
no extra cost.

**Why the codes become interpretable.** To make c recoverable from the image, G must let each code cause a large,
consistent change that survives every choice of z — and the cheapest such changes are the data's main factors of
variation (on MNIST: digit class, slant, stroke width). No labels are used: which factor a code picks up, and in
which order categories come, is discovered, so people name the codes afterwards (`python -m infogan.annotate`).
Continuous codes are trained on their prior (usually −1…+1); the sliders reach ±2 to show how well a factor
extrapolates. The **Encode** tab runs Q on your own picture.
"""


def user_errors(fn: Callable) -> Callable:
    """Turn ValueError (bad user or API input, with a message naming the allowed values) into gr.Error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValueError as err:  # shortened: a message never echoes a huge input back whole
            raise gr.Error(shorten(err, 1000), print_exception=False) from None

    return wrapper


def build_demo(registry: ModelRegistry) -> gr.Blocks:
    """The explorer UI for the models in `registry` (at least one)."""
    if not len(registry):
        raise ValueError("the registry has no models: add checkpoints/<name>/ folders or pass --models user/repo")
    models = [registry.get(name) for name in registry.names]
    n_cat = max(len(m.config.latent.categorical) for m in models)
    n_cont = max(len(m.config.latent.continuous) for m in models)
    first = registry.default

    # ---- callbacks ----------------------------------------------------------------------------------------------

    def explore_codes(model_name: str, slots: tuple[Any, ...]) -> tuple[Any, int, dict[str, Any]]:
        model = registry.get(model_name)
        seed = explorer.parse_seed(slots[0])
        codes = explorer.codes_from_controls(model, slots[1 : 1 + n_cat], slots[1 + n_cat :])
        return model, seed, explorer.parse_codes(model, codes)

    @torch.inference_mode()
    @user_errors
    def render_explore(model_name: str, *slots: Any) -> tuple[Image.Image, str]:
        """The Explore image and share link for the current controls (seed, dropdowns, sliders)."""
        model, seed, codes = explore_codes(model_name, slots)
        link = explorer.share_query(model_name, seed, codes, model)
        return explorer.render(model, seed, codes), f"[Link to this view]({link}) (copy it to share exactly this image)"

    @torch.inference_mode()
    @user_errors
    def generate(model: str, seed: float, codes: Any) -> Image.Image:
        """One PNG for a model name, a seed and a JSON object of code values by name (codes not given: prior)."""
        network = registry.get(model)  # `model` is the API's parameter name: the model's name
        try:
            values = explorer.parse_codes(network, codes)
        except ValueError as err:
            raise ValueError(f"{err}. Model {model!r} takes: {explorer.allowed_codes(network)}") from None
        return explorer.render(network, explorer.parse_seed(seed), values)

    def controls_for(model_name: str, seed: int, codes: dict[str, Any]) -> list[Any]:
        """Updates for every model-dependent component, showing `codes` (defaults elsewhere)."""
        model = registry.get(model_name)
        spec = model.config.latent
        cat_values, cont_values = explorer.controls_from_codes(model, codes)
        notes = model.config.metadata.get("code_notes") or {}
        updates: list[Any] = [gr.Number(value=seed)]
        for i in range(n_cat):
            if i < len(spec.categorical):
                code = spec.categorical[i]
                info = notes.get(code.name) or f"{code.size} categories, discovered without labels"
                choices = explorer.category_choices(code)
                updates.append(gr.Dropdown(choices=choices, value=cat_values[i], label=code.name, info=info,
                                           visible=True))  # fmt: skip
            else:
                updates.append(gr.Dropdown(visible=False, value=None))
        for j in range(n_cont):
            if j < len(spec.continuous):
                code = spec.continuous[j]
                low, high = explorer.slider_range(code)
                info = f"prior {code.low:g} … {code.high:g}; beyond it the model extrapolates"
                if notes.get(code.name):
                    info = f"{notes[code.name]} · {info}"
                updates.append(gr.Slider(minimum=low, maximum=high, value=cont_values[j], step=0.01, label=code.name,
                                         info=info, visible=True))  # fmt: skip
            else:
                updates.append(gr.Slider(visible=False))
        code_names = [c.name for c in model.codes]
        updates.append(gr.Dropdown(choices=code_names, value=code_names[0]))
        updates.append(gr.Dropdown(choices=explorer.row_options(model, code_names[0]), value="seeds"))
        updates.append(explorer.model_facts(model, model_name))
        for i in range(n_cat):
            if i < len(spec.categorical):
                updates.append(
                    gr.Label(value=None, label=f"{spec.categorical[i].name} (Q's probabilities)", visible=True)
                )
            else:
                updates.append(gr.Label(value=None, visible=False))
        updates.append(gr.Dataframe(value=None, visible=bool(spec.continuous)))
        updates += [None, None, None]  # clear the previous model's traversal and Q reading
        return updates

    def switch_model(model_name: str, seed: float) -> list[Any]:
        """Rebuild the controls for a newly picked model, keeping the seed."""
        try:
            seed = explorer.parse_seed(seed)
        except ValueError:
            seed = 0
        return controls_for(model_name, seed, {})

    def restore_from_link(request: gr.Request) -> list[Any]:
        """Restore the view a share link describes (`?model=…&seed=…&<code>=…`); defaults otherwise."""
        params = dict(request.query_params) if request is not None else {}
        state = explorer.state_from_query(registry, params)
        return [gr.Dropdown(value=state.model_name), *controls_for(state.model_name, state.seed, state.codes)]

    def randomise_seed() -> int:
        return random.randint(0, 99_999)

    @torch.inference_mode()
    @user_errors
    def make_traversal(model_name: str, code_name: str, rows: str, *slots: Any) -> tuple[Image.Image, str]:
        """A traversal grid of `code_name` (rows: seeds or categories) and a looping GIF of the sweep."""
        if not code_name:
            raise ValueError("pick a code to traverse")
        model, seed, codes = explore_codes(model_name, slots)
        model.config.latent.code(code_name)
        grid, frames = explorer.traversal(model, code_name, seed, codes, rows=rows or "seeds")
        path = animations.save(frames, stem=f"traversal-{code_name}")
        return grid, str(path)

    def rows_for_code(model_name: str, code_name: str) -> gr.Dropdown:
        model = registry.get(model_name)
        if code_name not in [c.name for c in model.codes]:
            return gr.Dropdown()
        return gr.Dropdown(choices=explorer.row_options(model, code_name), value="seeds")

    @torch.inference_mode()
    @user_errors
    def read_codes(model_name: str, image: Any, sketch: bool) -> list[Any]:
        """Q's reading of an uploaded or drawn image: category probabilities and continuous values."""
        model = registry.get(model_name)
        picture = explorer.sketch_to_image(image)
        if explorer.is_blank(picture):
            return [*(gr.Label(value=None) for _ in range(n_cat)), gr.Dataframe(value=None), None]
        tensor = explorer.preprocess_for_q(picture, model, sketch=sketch)
        inferred = explorer.infer(model, tensor)
        spec = model.config.latent
        labels = []
        for i in range(n_cat):
            if i < len(spec.categorical):
                code = spec.categorical[i]
                labels.append(gr.Label(value=inferred[code.name], label=f"{code.name} (Q's probabilities)"))
            else:
                labels.append(gr.Label(visible=False))
        rows = [[c.name, round(inferred[c.name], 3), f"{c.low:g} … {c.high:g}"] for c in spec.continuous]
        return [*labels, gr.Dataframe(value=rows), explorer.codes_from_inference(model, inferred)]

    def read_sketch(model_name: str, image: Any) -> list[Any]:
        return read_codes(model_name, image, True)

    def read_upload(model_name: str, image: Any) -> list[Any]:
        return read_codes(model_name, image, False)

    @user_errors
    def send_to_explore(model_name: str, seed: float, inferred: dict[str, Any] | None) -> list[Any]:
        """Put Q's codes into the Explore controls and switch to the Explore tab."""
        if not inferred:
            raise ValueError("Upload or draw an image first, then send its codes to Explore.")
        updates = controls_for(model_name, explorer.parse_seed(seed), inferred)
        updates[-3:] = [gr.skip()] * 3  # keep the traversal and the Q reading
        return [gr.Tabs(selected="explore"), *updates]

    # ---- layout -------------------------------------------------------------------------------------------------

    # delete_cache: every rendered PNG lands in Gradio's cache; drop files older than an hour, checked every 30 min.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(60, CACHE_MAX_AGE_S)) as demo:
        gr.Markdown(
            f"# {TITLE}\nAn [InfoGAN](https://arxiv.org/abs/1606.03657) learns, without labels, a few *codes* that "
            "control what it draws. Move the controls and watch the image change; the **Learn** tab explains why."
        )
        animations = explorer.AnimationStore(root=Path(demo.GRADIO_CACHE) / "animations")  # served, not copied
        gr.Markdown(registry.failure_notice(), visible=bool(registry.failures), elem_id="load-failures")
        model_picker = gr.Dropdown(
            choices=registry.names,
            value=first,
            label="Model",
            info="each model was trained on its own dataset; the Learn tab has its facts",
        )
        with gr.Tabs() as tabs:
            with gr.Tab("Explore", id="explore"), gr.Row():
                with gr.Column(scale=1, min_width=300):
                    # Choices change with the model: values are validated by explorer.parse_codes, not the dropdown.
                    dropdowns = [
                        gr.Dropdown(label=f"category {i}", interactive=True, allow_custom_value=True)
                        for i in range(n_cat)
                    ]
                    sliders = [
                        gr.Slider(minimum=-2, maximum=2, value=0, step=0.01, label=f"code {j}") for j in range(n_cont)
                    ]
                    with gr.Row(equal_height=True):
                        seed = gr.Number(value=0, precision=0, minimum=0, maximum=explorer.MAX_SEED,
                                         label="Noise seed (z)", scale=3)  # fmt: skip
                        randomise = gr.Button("Random seed", scale=1)
                    share_link = gr.Markdown()
                with gr.Column(scale=1, min_width=300):
                    image = gr.Image(label="Generated image", type="pil", format="png", interactive=False,
                                     buttons=["download"], elem_id="explore-image", height=480)  # fmt: skip
            with gr.Tab("Traverse", id="traverse") as traverse_tab:
                with gr.Row():
                    traverse_code = gr.Dropdown(
                        label="Code to sweep (columns)", interactive=True, allow_custom_value=True
                    )
                    traverse_rows = gr.Dropdown(label="Rows", interactive=True, allow_custom_value=True)
                    traverse_button = gr.Button("Make traversal", variant="primary")
                gr.Markdown("Other codes and the seed come from the Explore tab. Continuous codes sweep ±2.")
                with gr.Row():
                    traverse_grid = gr.Image(label="Traversal grid (rows × code values)", type="pil", format="png",
                                             interactive=False, buttons=["download"], elem_id="traverse-grid",
                                             height=520, scale=3)  # fmt: skip
                    traverse_animation = gr.Image(label="Sweep animation (GIF)", type="filepath", interactive=False,
                                                  buttons=["download"], elem_id="traverse-animation", height=520,
                                                  scale=2)  # fmt: skip
            with gr.Tab("Encode", id="encode") as encode_tab:
                gr.Markdown("Draw a digit or upload a picture: the recognition network **Q** reads its codes.")
                with gr.Row():
                    sketchpad = gr.Sketchpad(
                        label="Draw a digit", type="pil", canvas_size=(280, 280),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"), height=360,
                        elem_id="sketchpad",
                    )  # fmt: skip
                    upload = gr.Image(
                        label="…or upload an image", type="pil", sources=["upload", "clipboard"], height=360
                    )
                with gr.Row():
                    with gr.Column():
                        code_labels = [gr.Label(label=f"category {i}", num_top_classes=5) for i in range(n_cat)]
                    with gr.Column():
                        code_table = gr.Dataframe(headers=["code", "Q's value", "prior"], label="Continuous codes",
                                                  interactive=False)  # fmt: skip
                        send_button = gr.Button("Edit in Explore →", variant="primary")
                inferred = gr.State(None)
            with gr.Tab("Learn", id="learn"):
                gr.Markdown(LEARN, latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])
                facts = gr.Markdown()
        with gr.Row(visible=False):  # the documented `generate` API endpoint (see "Use via API")
            api_model = gr.Textbox(label="model")
            api_seed = gr.Number(label="seed")
            api_codes = gr.JSON(label="codes")
            api_image = gr.Image(label="image", type="pil", format="png")
            api_button = gr.Button()

        # ---- events -------------------------------------------------------------------------------------------------

        controls = [seed, *dropdowns, *sliders]
        model_outputs = [*controls, traverse_code, traverse_rows, facts, *code_labels, code_table]
        model_outputs += [traverse_grid, traverse_animation, inferred]
        render = dict(fn=render_explore, inputs=[model_picker, *controls], outputs=[image, share_link],
                      api_visibility="undocumented", show_progress="hidden")  # fmt: skip

        demo.load(restore_from_link, None, [model_picker, *model_outputs], api_visibility="private").then(**render)
        model_picker.input(switch_model, [model_picker, seed], model_outputs, api_visibility="private").then(**render)
        for slider in sliders:  # live: every drag step re-renders; always_last drops stale steps under load
            slider.input(**render, trigger_mode="always_last", api_name="explore")
        for dropdown in dropdowns:
            dropdown.input(**render, api_name="explore")
        seed.input(**render, trigger_mode="always_last", api_name="explore")
        randomise.click(randomise_seed, None, seed, api_visibility="private").then(**render, api_name="explore")

        traverse_inputs = [model_picker, traverse_code, traverse_rows, *controls]
        traverse = dict(fn=make_traversal, inputs=traverse_inputs, outputs=[traverse_grid, traverse_animation],
                        api_name="traverse", api_visibility="undocumented", **heavy_lane(demo, "traverse"))  # fmt: skip
        traverse_button.click(**traverse)
        traverse_tab.select(**traverse)
        traverse_code.input(rows_for_code, [model_picker, traverse_code], traverse_rows, api_visibility="private").then(
            **traverse
        )
        traverse_rows.input(**traverse)

        # Gradio's sketchpad starts with no tool selected; pick the brush so a visitor can draw straight away.
        encode_tab.select(None, None, None, js=PICK_BRUSH_JS, api_visibility="private")
        encode_outputs = [*code_labels, code_table, inferred]
        # The encode lane, but no admission validator: a validator's preprocessing would consume the sketch's blobs.
        sketchpad.change(read_sketch, [model_picker, sketchpad], encode_outputs, api_name="encode_sketch",
                         api_visibility="undocumented", trigger_mode="always_last", show_progress="hidden",
                         concurrency_id="encode", concurrency_limit=1)  # fmt: skip
        # preprocess=False: the callback gets the uploaded file's path and checks its size before decoding it.
        upload.change(read_upload, [model_picker, upload], encode_outputs, api_name="encode",
                      api_visibility="undocumented", preprocess=False, **heavy_lane(demo, "encode"))  # fmt: skip
        send_button.click(send_to_explore, [model_picker, seed, inferred], [tabs, *model_outputs],
                          api_visibility="private").then(**render)  # fmt: skip

        names = ", ".join(repr(n) for n in registry.names)
        api_button.click(
            generate, [api_model, api_seed, api_codes], api_image, api_name="generate",
            api_description=(
                f"One PNG image. model: one of {names}; seed: integer 0…{explorer.MAX_SEED} (the noise z); codes: "
                "JSON object of code values by name — a category index or label for categorical codes, a number "
                "(prior usually −1…1, allowed ±10) for continuous codes; codes left out are drawn from their prior. "
                f"Example for {first!r}: {explorer.example_codes(registry.get(first))}"
            ),
        )  # fmt: skip
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
    # Decodes Gradio does itself (the sketchpad's drawing) refuse images beyond twice the upload cap, not 179 M pixels.
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
