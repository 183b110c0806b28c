"""The explorer's Learn tab, written from the model it describes: objective, λ, architecture, metrics in plain words.

Everything here reads the model's own config and metadata (or measures the model), so the lesson stays true for any
checkpoint: the architecture diagram comes from the layers actually built, the λ values from the training record,
and the live information estimate from fresh samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import nn

from ..latent import CategoricalCode, ContinuousCode
from ..metrics.evaluate import generated_code_metrics
from ..model import InfoGAN

LIVE_SAMPLES = 500  # fresh images per live estimate: ±0.01–0.03 nats of sampling noise, well under a second on CPU

OBJECTIVE = r"""
## What InfoGAN optimises

A GAN's generator **G** turns random input into images while a discriminator **D** learns to tell them from real
ones. Nothing makes any input *mean* anything. **InfoGAN** (Chen et al., 2016) splits G's input into incompressible
noise **z** and a few **latent codes c** — categorical (a dropdown here) or continuous (a slider) — and asks that the
codes stay readable in the image: high mutual information $I(c; G(z, c))$.

That information needs the posterior $P(c \mid x)$, which nobody can compute. InfoGAN trains a network
**Q(c | x)** to approximate it and maximises a lower bound instead (the paper's Lemma 5.1; c is drawn from its
prior p(c)):

$$L_I(G, Q) = H(c) + \mathbb{E}_{x \sim G(z, c)}\big[\log Q(c \mid x)\big]$$

$$L_I(G, Q) \;\le\; I(c;\, G(z, c))$$

$$\min_{G,\,Q}\;\max_D\;\; V_{\mathrm{GAN}}(D, G) \;-\; \lambda\, L_I(G, Q)$$

**When is the bound tight?** The gap is exactly $\mathbb{E}_x\big[\mathrm{KL}\big(P(c \mid x)\,\|\,Q(c \mid x)\big)
\big] \ge 0$: it closes when Q matches the true posterior. Training Q makes the bound tighter; training G against it
makes the codes easier to read, which raises the information itself.

**Why the codes become interpretable.** To keep c readable for every z, G must let each code cause a large,
consistent change — and the cheapest such changes are the data's main factors of variation (on MNIST: digit class,
slant, stroke width). No labels are used: which factor a code picks up, and in which order categories come, is
discovered, so people name the codes afterwards (`python -m infogan.annotate`). Q is one small head on D's trunk,
so the extra term costs almost nothing.
"""


def lambda_text(model: InfoGAN) -> str:
    """The λ weights this model was trained with, from its training record."""
    training = model.config.metadata.get("training") or {}
    lam_cat, lam_cont = training.get("lambda_categorical"), training.get("lambda_continuous")
    if lam_cat is None and lam_cont is None:
        return "**λ of this model:** not recorded (an untrained or hand-made checkpoint)."
    parts = []
    if model.config.latent.categorical and lam_cat is not None:
        parts.append(f"λ = {lam_cat:g} for categorical codes")
    if model.config.latent.continuous and lam_cont is not None:
        parts.append(f"λ = {lam_cont:g} for continuous codes")
    text = "**λ of this model:** " + ", ".join(parts) + "."
    if all(v == 0 for v in (lam_cat, lam_cont) if v is not None):
        text += " With λ = 0 this is a plain GAN: nothing ties the codes to anything visible."
    std = training.get("continuous_std")
    if isinstance(std, (int, float)) and model.config.latent.continuous:
        text += f" Q's Gaussian for continuous codes had a fixed σ = {std:g} (the reference implementation's choice)."
    return text


# ---- architecture ----------------------------------------------------------------------------------------------------

_SHORT = {"BatchNorm1d": "BN", "BatchNorm2d": "BN", "LeakyReLU": "LReLU", "ReLU": "ReLU", "Sigmoid": "Sigmoid"}


def _shape(shape: Sequence[int]) -> str:
    dims = tuple(shape[1:])
    return str(dims[0]) if len(dims) == 1 else "(" + ", ".join(str(d) for d in dims) + ")"


def _layer_lines(modules: Sequence[nn.Module], shapes: dict[int, Sequence[int]]) -> list[str]:
    """One line per weight layer with the norm/activation that follows it and the output shape it produces."""
    rows: list[list[Any]] = []
    for m in modules:
        if isinstance(m, nn.Linear):
            rows.append([f"Linear {m.in_features}→{m.out_features}", m])
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            kind = "ConvT" if isinstance(m, nn.ConvTranspose2d) else "Conv"
            k, s = m.kernel_size[0], m.stride[0]
            rows.append([f"{kind} {m.in_channels}→{m.out_channels} {k}×{k}/{s}", m])
        elif rows and type(m).__name__ in _SHORT:
            rows[-1][0] += " · " + _SHORT[type(m).__name__]
            rows[-1][1] = m
    width = max(len(text) for text, _ in rows)
    return [f"{text.ljust(width)}  → {_shape(shapes[id(m)])}" for text, m in rows]


def architecture(model: InfoGAN) -> str:
    """A text diagram of G → image → shared trunk → D head / Q head with the layer sizes of this very model."""
    shapes: dict[int, Sequence[int]] = {}
    hooks = [m.register_forward_hook(lambda mod, _, out: shapes.__setitem__(id(mod), tuple(out.shape)))
             for m in model.modules() if not list(m.children())]  # fmt: skip
    try:
        images = model.generate(n=2, seed=0)  # eval mode: shapes only
        model.infer_codes(images)
    finally:
        for hook in hooks:
            hook.remove()
    spec = model.config.latent
    codes = " · ".join(f"{c.name} ({c.size}, one-hot)" if isinstance(c, CategoricalCode) else f"{c.name} (1)"
                       for c in spec.codes)  # fmt: skip
    q_parts = [f"{c.name}: {c.size} logits" for c in spec.categorical]
    q_parts += [f"{c.name}: mean, log σ" for c in spec.continuous]
    pad = "        "
    lines = [f"z: {spec.noise_dim} noise dims ~ N(0, I)   +   c: {codes}", f"{pad}│ {spec.input_dim} numbers"]
    g_lines = _layer_lines(list(model.generator.project) + list(model.generator.upsample), shapes)
    reshaped = sum(isinstance(m, nn.Linear) for m in model.generator.project) - 1
    g_lines[reshaped] += " = " + _shape((0, *model.generator.base_shape))  # G reshapes to a small feature map here
    lines += [("G       " if i == 0 else pad) + line for i, line in enumerate(g_lines)]
    kind = "RGB" if model.config.channels == 3 else "grey"
    lines.append(f"{pad}▼ image {model.config.image_size}×{model.config.image_size} {kind} (generated, or a real one)")
    t_lines = _layer_lines(list(model.trunk.layers), shapes)
    lines += [("trunk   " if i == 0 else pad) + line for i, line in enumerate(t_lines)]
    features = model.trunk.out_features
    lines.append(f"{pad}├─▶ D head  Linear {features}→1: real or generated?")
    q_lines = _layer_lines(list(model.q_head.layers), shapes)
    lines.append(f"{pad}└─▶ Q head  " + " ; ".join(line.split("  →")[0].strip() for line in q_lines))
    lines.append(f"{pad}            → {'; '.join(q_parts)}")
    return "```text\n" + "\n".join(lines) + "\n```"


# ---- metrics in words --------------------------------------------------------------------------------------------


def best_continuous_bound(code: ContinuousCode, std: float) -> float:
    """The highest H(c) − E[−log Q] a Gaussian Q of fixed σ can reach, even reading the code exactly: ln(width) −
    ln(σ√(2π)). For Uniform(−1, 1) and σ = 1 that is ln 2 − 0.919 = −0.226 nats: below zero by construction."""
    return math.log(code.high - code.low) - 0.5 * math.log(2 * math.pi) - math.log(std)


def information_in_words(model: InfoGAN, code_name: str, nats: float) -> str:
    """What an information estimate (H(c) − E[−log Q(c | G(z, c))]) means for one code."""
    code = model.config.latent.code(code_name)
    if isinstance(code, CategoricalCode):
        most = math.log(code.size)
        confidence = math.exp(nats - most)  # exp(−cross-entropy): Q's typical probability on the right category
        return (f"{nats:.3f} of ln {code.size} = {most:.3f} nats ({nats / most:.1%} of the {most / math.log(2):.2f} "
                f"bits that the choice of category carries): Q typically gives the category that drew an image a "
                f"probability of {confidence:.1%}.")  # fmt: skip
    std = (model.config.metadata.get("training") or {}).get("continuous_std")
    if isinstance(std, (int, float)):
        best = best_continuous_bound(code, std)
        return (f"{nats:.3f} nats. Negative, but information never is: with Q's σ fixed at {std:g}, even a perfect "
                f"reading of {code.name} scores at most ln({code.high - code.low:g}) − ln({std:g}·√(2π)) = "
                f"{best:.3f}, so the bound is loose here. What counts is the distance to that ceiling: "
                f"{best - nats:.3f} nats. R² (below) says the same in plainer terms.")  # fmt: skip
    return (
        f"{nats:.3f} nats, with Q's Gaussian learning its own σ. For a continuous code this bound can even be "
        "negative: it subtracts Q's Gaussian log-likelihood from the prior's differential entropy, and "
        "differential entropy has no floor at zero. Higher is better; R² says how well Q recovers the value."
    )


def metrics_in_words(model: InfoGAN) -> str:
    """Markdown: each recorded metric of the model's card, explained in one plain sentence."""
    meta = model.config.metadata
    metrics = meta.get("metrics") or {}
    generated, test = metrics.get("generated") or {}, metrics.get("test_set") or {}
    if not generated and not test:
        return "**Measured metrics:** none recorded for this model (`python -m infogan.evaluate` writes them)."
    lines = ["### What the measured numbers mean", ""]
    test_name = metrics.get("test_set_name", "the test set")
    for code in model.codes:
        g, t = generated.get(code.name) or {}, test.get(code.name) or {}
        if "information_nats" in g:
            lines.append(
                f"- **`{code.name}`, information:** {information_in_words(model, code.name, g['information_nats'])}"
            )
        if "accuracy" in t:
            lines.append(
                f"- **`{code.name}`, accuracy {t['accuracy']:.1%}:** that share of the {t.get('images', 0):,} "
                f"real images of the {test_name} fall in the category matched to their class (each category "
                "matched to one class by the Hungarian method; the labels were never used in training)."
            )
        if "nmi" in t:
            lines.append(
                f"- **`{code.name}`, NMI {t['nmi']:.2f}:** normalised mutual information between Q's "
                "category and the true class: 1 means one determines the other, 0 means unrelated."
            )
        if "r2" in g:
            lines.append(
                f"- **`{code.name}`, R² {g['r2']:.2f}:** Q's guess of {code.name} from a generated image "
                f"explains {g['r2']:.0%} of the variation of the value G was given (1 = read back exactly)."
            )
    if meta.get("metrics_note"):
        lines += ["", f"_{meta['metrics_note']}_"]
    return "\n".join(lines)


def estimate_information(model: InfoGAN, seed: int, n: int = LIVE_SAMPLES) -> str:
    """Markdown table: I(c; G(z, c)) lower bound per code, measured now on `n` fresh samples drawn from `seed`."""
    results = generated_code_metrics(model, n=n, seed=seed, batch_size=250)
    lines = [f"Measured just now on {n} fresh samples (seed {seed}):", "",
             "| code | information (nats) | ceiling | R² of Q's mean |", "|---|---|---|---|"]  # fmt: skip
    std = (model.config.metadata.get("training") or {}).get("continuous_std")
    for code in model.codes:
        r = results[code.name]
        if isinstance(code, CategoricalCode):
            ceiling = f"ln {code.size} = {math.log(code.size):.3f}"
        elif isinstance(std, (int, float)):
            ceiling = f"{best_continuous_bound(code, std):.3f} (σ fixed at {std:g})"
        else:
            ceiling = "none (σ learned)"
        r2 = f"{r['r2']:.3f}" if "r2" in r else "–"
        lines.append(f"| `{code.name}` | {r['information_nats']:.3f} | {ceiling} | {r2} |")
    lines += ["", "Press again: the change between runs is the sampling noise of a 500-image estimate."]
    return "\n".join(lines)


def exercises(model: InfoGAN, baseline: str | None = None) -> str:
    """3–5 things to try in the other tabs, naming this model's own codes."""
    spec = model.config.latent
    cat = spec.categorical[0].name if spec.categorical else None
    cont = spec.continuous[0].name if spec.continuous else None
    items = []
    if cat:
        items.append(
            f"**Traverse** `{cat}` with rows = several seeds. Does every row show the same kind of thing in "
            f"each column? Then `{cat}`, not the noise, decides it."
        )
    if cont:
        items.append(
            f"**Explore**: drag `{cont}` from −2 to +2. Inside the prior (−1…+1) the change should be smooth; "
            "beyond it the model extrapolates. Where does the picture start to break?"
        )
    items.append(
        "**Explore**: keep the codes, press *Random seed* a few times. What does the noise z control that "
        "the codes do not?"
    )
    items.append(
        "**Encode**: draw or upload a picture, then *Edit in Explore*. The codes carry over but z does not "
        "(Q never reads it), so the new image shares the codes' traits, not your exact picture."
    )
    if baseline:
        items.append(
            f"**Traverse** → *Compare with λ = 0* (`{baseline}`): the same sweep on a GAN trained without "
            "the information term. Without λ the codes are ignored or tangled — the paper's central point."
        )
    else:
        items.append("**Learn**: press *Estimate now* twice and compare. How large is the sampling noise?")
    return "### Try this\n\n" + "\n".join(f"{i}. {text}" for i, text in enumerate(items[:5], 1))
