"""Does each continuous code change one thing? Cross-talk and spatial spill of a code's traversal, without labels.

For code i, every seed's image is drawn at c_i = low and c_i = high (everything else fixed), and we ask:
- cross-talk: how far Q's reading of every *other* continuous code j moves, relative to how far code i's own reading
  moves (|Δ mean_j| / |Δ mean_i|, averaged over seeds). 0 = moving i leaves what Q sees of j alone; 1 = j moves as
  much as i itself. For categorical codes: how often Q's argmax category flips.
- spill: the share of the pixel change that falls outside the quarter of the image where this code's change is
  concentrated on average. A smile code should change the mouth and little else (low spill); a code that also
  turns the head spreads its change everywhere (high spill). Codes meant to be global (background, hair colour)
  have a high spill by nature: read spill next to the code's meaning.
Q is the model's own recognition net, so cross-talk is what Q can tell apart, a lower bound on true entanglement.
"""

from __future__ import annotations

from typing import Any

import torch

from ..latent import CategoricalCode, ContinuousCode
from ..model import eval_mode


@torch.inference_mode()
def code_entanglement(model: Any, seeds: int = 64, seed: int = 0, top_fraction: float = 0.25) -> dict[str, dict]:
    """Per continuous code: its own reading's change, cross-talk into each other code, worst cross-talk, spill."""
    spec = model.config.latent
    continuous = [c for c in spec.codes if isinstance(c, ContinuousCode)]
    categorical = [c for c in spec.codes if isinstance(c, CategoricalCode)]
    base = model.latent_values(seeds, seed)
    results: dict[str, dict] = {}
    for code in continuous:
        ends = []
        for value in (code.low, code.high):
            values = {**base, code.name: torch.full_like(base[code.name], value)}
            with eval_mode(model):
                images = model.generator(spec.to_generator_input(values))
            ends.append((images, model.infer_codes(images)))
        (low_img, low_q), (high_img, high_q) = ends
        own = (high_q[code.name] - low_q[code.name]).abs().mean().item()
        cross = {
            other.name: round((high_q[other.name] - low_q[other.name]).abs().mean().item() / max(own, 1e-8), 4)
            for other in continuous
            if other.name != code.name
        }
        flips = {
            other.name: round((high_q[other.name].argmax(1) != low_q[other.name].argmax(1)).float().mean().item(), 4)
            for other in categorical
        }
        change = (high_img - low_img).abs().mean(dim=1).flatten(1).cpu()  # (seeds, H·W)
        region = change.mean(0).argsort(descending=True)[: max(1, int(top_fraction * change.shape[1]))]
        inside = change[:, region].sum(1) / change.sum(1).clamp_min(1e-12)
        results[code.name] = {
            "own_change": round(own, 4),
            "cross_talk": cross,
            "max_cross_talk": max(cross.values(), default=0.0),
            "category_flip_rate": flips,
            "spill": round(float(1 - inside.mean()), 4),
        }
    return results
