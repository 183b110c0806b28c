// The InfoGAN explorer in the browser: the controls come from each model's config.json, the images from its
// generator.onnx run by ONNX Runtime Web (WebAssembly), and z from torch_rng.js, which draws it as the Python library
// does, so a link (?model=…&seed=…&<code>=…) shows the same image here and in the Gradio app.
//
// Hooks for tests and embedding: every code control has data-code="<name>"; #model, #seed, #generated;
// document.body.dataset.ready = "1" once the first image is drawn; #generated's data-renders counts renders;
// window.infogan exposes the latencies (input event to pixels drawn, ms) and the latent sampler.

import { generatorInput, latentValues } from "./torch_rng.js";

const MAX_SEED = 2 ** 31 - 1;  // as the Gradio app (infogan/explorer/registry.py MAX_SEED)
const MAX_ABS_VALUE = 10;  // continuous values allowed (ContinuousCode.max_abs_value)
const TRAVERSAL_ROWS = 6;
const TRAVERSAL_STEPS = 9;
const MAX_TRAVERSAL_COLUMNS = 20;
const ADDRESS_DELAY_MS = 300;  // the address bar follows the view once input pauses this long
const MAX_GRID_WIDTH = 720;  // the traversal canvas' width in CSS pixels at most (less on a phone)

const $ = (id) => document.getElementById(id);
const canvas = $("generated");
const latencies = [];  // ms from an input event to its image in the canvas (putImageData returned)
const frameLatencies = [];  // ms from an input event to the next animation frame after that (the screen update)
const models = new Map();  // name -> {name, config, generator, encoder, queue}
let current = null;  // the shown model
let dirtySince = null;  // timeStamp of the oldest input event not drawn yet
let rendering = false;
let renders = 0;

// The vendored runtime, never a CDN; one thread, so no SharedArrayBuffer or cross-origin isolation is needed.
ort.env.wasm.wasmPaths = new URL("ort/", document.baseURI).href;
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

window.infogan = {
  latencies, frameLatencies, latentValues, models,
  view: () => currentView(),
  busy: () => rendering || dirtySince !== null,  // an image is being computed or an input waits for one
};

// ---- models ------------------------------------------------------------------------------------------------------

async function loadModel(entry) {
  if (models.has(entry.name)) return models.get(entry.name);
  const config = await (await fetch(entry.config)).json();
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const generator = await ort.InferenceSession.create(entry.generator, options);
  const encoder = entry.encoder ? await ort.InferenceSession.create(entry.encoder, options) : null;
  const model = { name: entry.name, config, generator, encoder, queue: Promise.resolve() };
  models.set(entry.name, model);
  return model;
}

/** Run a session; runs on one model are queued (a WebAssembly session computes one call at a time). */
function run(model, session, input, dims) {
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input, dims) };
  const result = model.queue.then(() => session.run(feeds));
  model.queue = result.catch(() => {});
  return result.then((out) => out[session.outputNames[0]].data);
}

/** Images (n, C, H, W) as a Float32Array for n samples of `seed` with `codes` fixed (InfoGAN.generate). */
async function generate(model, n, seed, codes) {
  const latent = model.config.latent;
  const input = generatorInput(latent, latentValues(latent, n, seed, codes), n);
  return run(model, model.generator, input, [n, input.length / n]);
}

// ---- controls <-> codes --------------------------------------------------------------------------------------------

/** Slider bounds: the prior widened by half its width each side (±2 for Uniform(-1, 1)), as explorer.slider_range. */
function sliderRange(code) {
  const margin = (code.high - code.low) / 2;
  return [Math.max(-MAX_ABS_VALUE, code.low - margin), Math.min(MAX_ABS_VALUE, code.high + margin)];
}

function label(code, index) {
  return code.labels ? code.labels[index] : `category ${index}`;
}

function buildControls(model) {
  const box = $("codes");
  box.replaceChildren();
  const notes = model.config.metadata?.code_notes ?? {};
  for (const code of model.config.latent.codes) {
    const wrap = document.createElement("div");
    wrap.className = "code";
    const name = document.createElement("label");
    name.className = "name";
    name.htmlFor = `code-${code.name}`;
    name.textContent = code.name;
    wrap.append(name);
    wrap.append(code.kind === "categorical" ? categoryMenu(code) : slider(code, name));
    if (notes[code.name]) {
      const note = document.createElement("p");
      note.className = "note";
      note.textContent = notes[code.name];
      wrap.append(note);
    }
    box.append(wrap);
  }
  for (const control of box.querySelectorAll("[data-code]")) {
    control.addEventListener("input", (event) => requestRender(event.timeStamp));
    control.addEventListener("change", scheduleTraversal);
  }
}

function categoryMenu(code) {
  const select = document.createElement("select");
  select.id = `code-${code.name}`;
  select.dataset.code = code.name;
  for (let i = 0; i < code.size; i++) select.add(new Option(label(code, i), String(i)));
  return select;
}

function slider(code, name) {
  const [low, high] = sliderRange(code);
  const frag = document.createDocumentFragment();
  const input = document.createElement("input");
  // Bounds on the 0.01 grid, so the browser's step snapping keeps the app's values (rounded to 0.01) as they are.
  const bounds = { min: Math.floor(low * 100) / 100, max: Math.ceil(high * 100) / 100 };
  Object.assign(input, { type: "range", id: `code-${code.name}`, ...bounds, step: 0.01 });
  input.dataset.code = code.name;
  input.value = String(roundLikePython((code.low + code.high) / 2));  // explorer.default_codes, rounded as the app
  const out = document.createElement("output");
  out.value = formatNumber(Number(input.value));
  input.addEventListener("input", () => { out.value = formatNumber(Number(input.value)); });
  name.append(out);
  // The prior's range marked under the track: values outside it were never seen in training.
  const prior = document.createElement("div");
  prior.className = "prior";
  prior.title = `prior: Uniform(${code.low}, ${code.high})`;
  const band = document.createElement("span");
  band.style.left = `${((code.low - low) / (high - low)) * 100}%`;
  band.style.width = `${((code.high - code.low) / (high - low)) * 100}%`;
  prior.append(band);
  const scale = document.createElement("div");
  scale.className = "scale";
  for (const text of [formatNumber(low), `prior ${formatNumber(code.low)} to ${formatNumber(code.high)}`,
    formatNumber(high)]) {
    const tick = document.createElement("span");
    tick.textContent = text;
    scale.append(tick);
  }
  frag.append(input, prior, scale);
  return frag;
}

/** The codes the controls show, keyed by name: category indices and slider numbers. */
function codesFromControls() {
  const codes = {};
  for (const control of $("codes").querySelectorAll("[data-code]")) {
    codes[control.dataset.code] = Number(control.value);
  }
  return codes;
}

function setControl(code, value) {
  const control = $("codes").querySelector(`[data-code="${CSS.escape(code.name)}"]`);
  if (code.kind === "categorical") {
    control.value = String(value);
  } else {
    const [low, high] = sliderRange(code);
    control.value = String(roundLikePython(Math.min(high, Math.max(low, value))));
    control.dispatchEvent(new Event("input"));  // updates the number beside the name (renders are coalesced)
  }
}

/** Python's round(x, 2), which the app applies to link values: the exact decimal value, ties to even. */
function roundLikePython(x) {
  const t = x * 100;
  if (Number.isInteger(x * 8) && !Number.isInteger(t) && Number.isInteger(t * 2)) {  // an exact tie, e.g. 0.125
    const down = Math.floor(t);
    return (down % 2 === 0 ? down : down + 1) / 100;
  }
  return Number(x.toFixed(2));  // toFixed rounds the exact binary value, as Python does
}

function readSeed() {
  const seed = Number($("seed").value);
  return Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED ? seed : null;
}

function currentView() {
  return { model: current, seed: readSeed() ?? 0, codes: codesFromControls() };
}

// ---- share links (the format of infogan/explorer/registry.py share_query / state_from_query) ------------------------------

/** Python's f"{value:g}" for the numbers sliders hold (six significant digits, no trailing zeros). */
function formatNumber(value) {
  return String(Number(value.toPrecision(6)));
}

function shareQuery(view) {
  const params = new URLSearchParams({ model: view.model.name, seed: String(view.seed) });
  for (const code of view.model.config.latent.codes) {
    const value = view.codes[code.name];
    params.set(code.name, code.kind === "categorical" ? (code.labels ? code.labels[value] : String(value))
      : formatNumber(value));
  }
  return `?${params}`;
}

/** Codes a link sets; invalid or unknown values are skipped (links may be stale), as state_from_query does. */
function codesFromQuery(config, params) {
  const codes = {};
  for (const code of config.latent.codes) {
    const raw = params.get(code.name);
    if (raw === null) continue;
    if (code.kind === "categorical") {
      const byLabel = code.labels ? code.labels.indexOf(raw) : -1;  // a label wins: with digit labels "7" is a label
      const index = byLabel >= 0 ? byLabel : Number(raw);
      if (Number.isInteger(index) && index >= 0 && index < code.size) codes[code.name] = index;
    } else {
      const value = raw.trim() === "" ? NaN : Number(raw);
      if (Number.isFinite(value) && Math.abs(value) <= MAX_ABS_VALUE) codes[code.name] = value;
    }
  }
  return codes;
}

let addressTimer = null;
/** The "Link to this view" anchor at once; the address bar once input pauses (browsers limit replaceState calls:
 * Safari throws after 100 in 30 s, which a drag would reach in seconds). */
function updateLink(view) {
  const query = shareQuery(view);
  $("share").href = query;
  clearTimeout(addressTimer);
  addressTimer = setTimeout(() => {
    try {
      history.replaceState(null, "", query);
    } catch {
      // rate-limited: the anchor still holds the link
    }
  }, ADDRESS_DELAY_MS);
}

// ---- drawing -------------------------------------------------------------------------------------------------------

/** One image of a (n, C, H, W) batch as ImageData; bytes are ⌊255·x⌋ in float32, as torchvision's to_pil_image. */
function toImageData(data, index, config) {
  const { channels: c, image_size: size } = config;
  const plane = size * size;
  const offset = index * c * plane;
  const image = new ImageData(size, size);
  const px = image.data;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      const x = Math.min(1, Math.max(0, data[offset + (c === 3 ? k : 0) * plane + i]));
      px[4 * i + k] = Math.floor(Math.fround(x * 255));
    }
    px[4 * i + 3] = 255;
  }
  return image;
}

function requestRender(timeStamp) {
  if (dirtySince === null) dirtySince = timeStamp ?? performance.now();
  if (!rendering) renderLoop();
}

/** Draw the newest state; input that arrives meanwhile is coalesced into one more render (never a backlog). */
async function renderLoop() {
  rendering = true;
  try {
    while (dirtySince !== null && current) {
      const since = dirtySince;
      dirtySince = null;
      const view = currentView();
      const data = await generate(view.model, 1, view.seed, view.codes);
      const size = view.model.config.image_size;
      if (canvas.width !== size) canvas.width = canvas.height = size;
      canvas.getContext("2d").putImageData(toImageData(data, 0, view.model.config), 0, 0);
      latencies.push(performance.now() - since);
      requestAnimationFrame(() => frameLatencies.push(performance.now() - since));
      canvas.dataset.renders = String(++renders);
      updateLink(view);
      if (!document.body.dataset.ready) {
        window.infogan.readyAt = performance.now();
        document.body.dataset.ready = "1";
      }
      showStatus("");
    }
  } catch (err) {
    showError(`Could not generate the image: ${err.message ?? err}`);
  } finally {
    rendering = false;
  }
}

// ---- traversal grid -------------------------------------------------------------------------------------------------

let traversalTimer = null;
function scheduleTraversal() {
  clearTimeout(traversalTimer);
  traversalTimer = setTimeout(() => drawTraversal().catch((err) => showError(`Traversal failed: ${err.message}`)), 0);
}

/** torch.linspace(-span, span, steps) in float32 (its CPU kernel fills the two halves from both ends). */
function linspace(start, end, steps) {
  const f = Math.fround;
  const step = f(f(end - start) / (steps - 1));
  return Array.from({ length: steps }, (_, i) => (i < steps / 2 ? f(start + f(step * i)) : f(end - f(step * (steps - i - 1)))));
}

function traversalColumns(code) {
  if (code.kind === "categorical") {
    const n = Math.min(code.size, MAX_TRAVERSAL_COLUMNS);
    return Array.from({ length: n }, (_, i) => ({ value: i, text: label(code, i) }));
  }
  const span = Math.max(...sliderRange(code).map(Math.abs));
  return linspace(-span, span, TRAVERSAL_STEPS).map((v) => ({ value: v, text: formatNumber(v) }));
}

/** Rows are samples 0..5 of generate(n=6, seed); columns sweep one code; the other codes keep the Explore values. */
async function drawTraversal() {
  const view = currentView();
  const { model } = view;
  if (!model) return;
  const code = model.config.latent.codes.find((c) => c.name === $("traverse-code").value);
  const columns = traversalColumns(code);
  const fixed = { ...view.codes };
  delete fixed[code.name];
  const latent = model.config.latent;
  const rows = TRAVERSAL_ROWS;
  const width = generatorInput(latent, latentValues(latent, 1, 0), 1).length;
  const input = new Float32Array(rows * columns.length * width);
  columns.forEach((column, j) => {
    const one = generatorInput(latent, latentValues(latent, rows, view.seed, { ...fixed, [code.name]: column.value }), rows);
    for (let i = 0; i < rows; i++) input.set(one.subarray(i * width, (i + 1) * width), (i * columns.length + j) * width);
  });
  const data = await run(model, model.generator, input, [rows * columns.length, width]);
  paintGrid(model.config, code, columns, rows, data);
}

function paintGrid(config, code, columns, rows, data) {
  const size = config.image_size;
  const labelWidth = 70;
  const header = 34;
  const gap = 2;
  const grid = $("traversal");
  const room = Math.min(MAX_GRID_WIDTH, grid.parentElement.clientWidth || MAX_GRID_WIDTH);
  const cell = Math.max(16, Math.floor((room - labelWidth) / columns.length) - gap);
  const scale = window.devicePixelRatio || 1;  // draw at device pixels, so labels stay sharp on phones
  const [width, height] = [labelWidth + columns.length * (cell + gap), header + rows * (cell + gap)];
  grid.width = Math.round(width * scale);
  grid.height = Math.round(height * scale);
  grid.style.width = `${width}px`;
  const ctx = grid.getContext("2d");
  ctx.scale(scale, scale);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#1d1d24";
  ctx.font = "13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.fillText(`${code.name} →`, labelWidth + (columns.length * (cell + gap)) / 2, 13);
  columns.forEach((column, j) => ctx.fillText(column.text, labelWidth + j * (cell + gap) + cell / 2, 29, cell));
  ctx.textAlign = "right";
  const tile = document.createElement("canvas");
  tile.width = tile.height = size;
  for (let i = 0; i < rows; i++) {
    const y = header + i * (cell + gap);
    ctx.fillText(`sample ${i + 1}`, labelWidth - 6, y + cell / 2 + 4);
    for (let j = 0; j < columns.length; j++) {
      tile.getContext("2d").putImageData(toImageData(data, i * columns.length + j, config), 0, 0);
      ctx.drawImage(tile, labelWidth + j * (cell + gap), y, cell, cell);
    }
  }
  grid.dataset.code = code.name;
  grid.dataset.renders = String(Number(grid.dataset.renders ?? 0) + 1);
}

// ---- encode (Q) -----------------------------------------------------------------------------------------------------

/** Q's reading of an image (C, H, W) in [0, 1]: category index (argmax of logits) or the predicted mean per code. */
async function encode(model, pixels) {
  const { channels: c, image_size: size, latent } = model.config;
  const q = await run(model, model.encoder, pixels, [1, c, size, size]);
  const codes = {};
  let at = 0;
  for (const code of latent.codes) {
    if (code.kind === "categorical") {
      const logits = Array.from(q.subarray(at, at + code.size));
      codes[code.name] = logits.indexOf(Math.max(...logits));
      at += code.size;
    } else {
      codes[code.name] = q[at];  // (mean, log-std): the mean
      at += 2;
    }
  }
  return codes;
}

/** A drawable (image or canvas) as (C, H, W) floats: centre square, scaled to the model's size, grey if needed. */
function pixelsOf(source, config) {
  const { channels: c, image_size: size } = config;
  const work = document.createElement("canvas");
  work.width = work.height = size;
  const ctx = work.getContext("2d");
  const w = source.naturalWidth ?? source.width;
  const h = source.naturalHeight ?? source.height;
  const side = Math.min(w, h);
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, (w - side) / 2, (h - side) / 2, side, side, 0, 0, size, size);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const out = new Float32Array(c * size * size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = [rgba[4 * i] / 255, rgba[4 * i + 1] / 255, rgba[4 * i + 2] / 255];
    if (c === 1) out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else [out[i], out[size * size + i], out[2 * size * size + i]] = [r, g, b];
  }
  return out;
}

async function encodeAndApply(source) {
  const model = current;
  if (!model?.encoder) return;
  const codes = await encode(model, pixelsOf(source, model.config));
  const parts = [];
  for (const code of model.config.latent.codes) {
    setControl(code, codes[code.name]);
    const value = codes[code.name];
    parts.push(`${code.name} = ${code.kind === "categorical" ? label(code, value) : formatNumber(Math.round(value * 100) / 100)}`);
  }
  $("encode-result").textContent = `Q read: ${parts.join(", ")}. The controls above now show these codes.`;
  requestRender();
  scheduleTraversal();
}

// ---- facts and status ---------------------------------------------------------------------------------------------

function showFacts(model) {
  const { config } = model;
  const meta = config.metadata ?? {};
  const facts = [`${config.image_size}×${config.image_size} ${config.channels === 3 ? "RGB" : "greyscale"} images`];
  if (meta.title) facts.unshift(meta.title);
  const data = meta.dataset ?? {};
  if (data.name) facts.push(`Dataset: ${data.name}${data.terms ? ` — ${data.terms}` : ""}`);
  facts.push(`Noise z: ${config.latent.noise_dim} dims; codes: ${config.latent.codes.map((c) => c.name).join(", ")}`);
  if (meta.training?.steps) facts.push(`Trained for ${meta.training.steps} steps`);
  $("facts").replaceChildren(...facts.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
}

function showStatus(text) {
  $("status").textContent = text;
}

function showError(text) {
  document.body.dataset.error = text;
  showStatus(text);
}

// ---- start --------------------------------------------------------------------------------------------------------

/** Show a model; with `params` (a share link's query), set the codes it names. */
async function selectModel(entry, params = null) {
  showStatus(`Loading ${entry.name}…`);
  current = await loadModel(entry);
  buildControls(current);
  const codes = params ? codesFromQuery(current.config, params) : {};
  for (const code of current.config.latent.codes) if (code.name in codes) setControl(code, codes[code.name]);
  const traverse = $("traverse-code");
  traverse.replaceChildren(...current.config.latent.codes.map((c) => new Option(c.name, c.name)));
  $("encode").hidden = !current.encoder;
  $("encode-result").textContent = "";
  showFacts(current);
  requestRender();
  scheduleTraversal();
}

async function start() {
  if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly; try a current browser");
  const manifest = await (await fetch("models.json")).json();
  const params = new URLSearchParams(location.search);
  const entries = manifest.models;
  const picker = $("model");
  picker.replaceChildren(...entries.map((e) => new Option(e.name, e.name)));
  // Without ?model=, open the model the Gradio app opens on (ModelRegistry.default): "mnist" if present, else the first.
  const entry = entries.find((e) => e.name === params.get("model")) ?? entries.find((e) => e.name === "mnist")
    ?? entries[0];
  picker.value = entry.name;
  const seed = Number(params.get("seed") ?? 0);
  $("seed").value = String(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED ? seed : 0);
  await selectModel(entry, params);

  picker.addEventListener("input", () => {
    const next = entries.find((e) => e.name === picker.value);
    selectModel(next).catch((err) => showError(`Could not load ${next.name}: ${err.message}`));
  });
  $("seed").addEventListener("input", (event) => {
    if (readSeed() === null) return showStatus(`The seed must be a whole number from 0 to ${MAX_SEED}.`);
    requestRender(event.timeStamp);
  });
  $("seed").addEventListener("change", scheduleTraversal);
  $("random-seed").addEventListener("click", (event) => {
    $("seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0] % (MAX_SEED + 1));
    requestRender(event.timeStamp);
    scheduleTraversal();
  });
  $("traverse-code").addEventListener("input", scheduleTraversal);
  $("copy-link").addEventListener("click", () => {
    navigator.clipboard?.writeText($("share").href).then(() => showStatus("Link copied."), () => {});
  });
  $("encode-current").addEventListener("click", () => encodeAndApply(canvas).catch((e) => showError(e.message)));
  $("encode-file").addEventListener("change", async () => {
    const file = $("encode-file").files[0];
    if (!file) return;
    try {
      await encodeAndApply(await createImageBitmap(file));
    } catch (err) {
      showError(`Could not read that picture (${err.message}); try a PNG or JPEG.`);
    }
  });
}

start().catch((err) => showError(`The explorer could not start: ${err.message ?? err}`));
