"""Reading codes back with Q: uploads and sketches opened safely, preprocessed like the training images, and Q's
reading turned into Explore's code values."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from ..config import shorten
from ..export.visualize import upscale
from ..latent import CategoricalCode
from ..model import InfoGAN
from . import limits
from .codes import category_choices


def open_upload(value: Any) -> Image.Image | None:
    """The picture in an upload or sketch as sent by Gradio without preprocessing, or an image already in memory.

    Accepts None, a file path, a FileData-like dict ({"path": ...}), a sketch ({"composite": ...}), a PIL image or
    an array. Files are checked against `limits.MAX_UPLOAD_PIXELS` from their header before decoding; ValueError
    for files that are too large or not images.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        if "composite" in value:  # gr.Sketchpad / ImageEditor: the flattened drawing
            return open_upload(value.get("composite"))
        value = value.get("path")
        if value is None:
            return None
    if isinstance(value, np.ndarray):
        value = Image.fromarray(value)
    if isinstance(value, Image.Image):
        limits.check_upload_pixels(value)
        return value
    if not isinstance(value, (str, Path)):
        raise ValueError(f"expected an image, got {type(value).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(value)  # reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(limits.too_many_pixels_message(None)) from None
        except (OSError, ValueError) as err:
            raise ValueError(
                f"could not read the upload as an image ({type(err).__name__}); use a PNG or JPEG"
            ) from None
    limits.check_upload_pixels(image)
    image.draft(image.mode, (1024, 1024))  # JPEGs decode at a reduced scale when they are much bigger than needed
    try:
        image.load()
    except (OSError, ValueError) as err:
        raise ValueError(f"could not decode the image ({type(err).__name__}: {shorten(err, 200)})") from None
    return image


def sketch_to_image(value: Any) -> Image.Image | None:
    """The drawn picture from a gr.Sketchpad/ImageEditor value (a dict with "composite") or a plain image."""
    return open_upload(value)


def is_blank(image: Image.Image | None) -> bool:
    """True for nothing, or a picture with no visible strokes (an untouched sketchpad)."""
    if image is None:
        return True
    grey = np.asarray(_flatten_alpha(image).convert("L"), dtype=np.float32)
    return float(grey.max() - grey.min()) < 8


def preprocess_for_q(image: Image.Image, model: InfoGAN, sketch: bool = False) -> torch.Tensor:
    """An uploaded or drawn picture as a (1, C, H, W) tensor in [0, 1] shaped like the model's training images.

    Transparency is flattened onto white; grey models get greyscale, with white-background pictures inverted so
    strokes are bright on black like MNIST. Sketches are cropped to their strokes and centred in a 20/28 box, as
    MNIST digits were prepared; other pictures are centre-cropped to a square and resized.
    """
    size, channels = model.config.image_size, model.config.channels
    image = _flatten_alpha(image)
    image = image.convert("L" if channels == 1 else "RGB")
    if channels == 1 and _border_mean(image) > 127:
        image = ImageOps.invert(image)
    if sketch and channels == 1:
        image = _centre_strokes(image, size)
    else:
        image = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array.copy())
    tensor = tensor.unsqueeze(0) if channels == 1 else tensor.permute(2, 0, 1)  # (C, H, W)
    return tensor.unsqueeze(0)  # (1, C, H, W)


def q_view(tensor: torch.Tensor, size: int = 224) -> Image.Image:
    """The (1, C, H, W) tensor Q actually receives, enlarged with crisp pixels so a person can check it."""
    return upscale(tensor[0], size)


def encode_hint(model: InfoGAN, name: str) -> tuple[str, str]:
    """(instructions, sketchpad label) for the Encode tab, in the words of the model's data."""
    dataset = (model.config.metadata.get("dataset") or {}).get("name") or name
    size = f"{model.config.image_size}×{model.config.image_size}"
    if model.config.channels == 1:
        thing = {"MNIST": "a digit", "Fashion-MNIST": "a garment (shirt, shoe, bag …)"}.get(dataset, "a shape")
        text = (
            f"Draw {thing} or upload a picture like the **{dataset}** images. It is turned into the {size} "
            "greyscale image shown on the right, bright strokes on black, the way the training images look."
        )
        return text, f"Draw {thing}"
    text = (f"Upload a photo like the **{dataset}** images (a centred face for CelebA); it is centre-cropped and "
            f"shrunk to the {size} colour image shown on the right. Drawing works too, but a black sketch looks "
            "nothing like a photo.")  # fmt: skip
    return text, "Draw (the model expects photos)"


def infer(model: InfoGAN, images: torch.Tensor) -> dict[str, Any]:
    """Q's reading of one image: {name: {label: probability}} for categorical codes, {name: mean} for continuous."""
    q = model.infer_codes(images)
    out: dict[str, Any] = {}
    for code in model.codes:
        value = q[code.name][0]
        if isinstance(code, CategoricalCode):
            out[code.name] = {text: float(value[i]) for text, i in category_choices(code)}
        else:
            out[code.name] = float(value)
    return out


def codes_from_inference(model: InfoGAN, inferred: Mapping[str, Any]) -> dict[str, Any]:
    """Explore-ready code values from `infer`'s output: the most likely category, the predicted mean."""
    codes: dict[str, Any] = {}
    for code in model.codes:
        value = inferred[code.name]
        if isinstance(code, CategoricalCode):
            best = max(value, key=value.get)  # the shown text of the most likely category
            codes[code.name] = next(i for text, i in category_choices(code) if text == best)
        else:
            codes[code.name] = float(value)
    return codes


def _flatten_alpha(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image


def _border_mean(image: Image.Image) -> float:
    array = np.asarray(image.convert("L"), dtype=np.float32)
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return float(border.mean())


def _centre_strokes(image: Image.Image, size: int) -> Image.Image:
    """Crop to the bright strokes, fit them in a (20/28·size) box keeping aspect, and centre on black."""
    box = image.point(lambda v: 255 if v > 30 else 0).getbbox()
    if box is None:
        return image.resize((size, size), Image.Resampling.LANCZOS)
    strokes = image.crop(box)
    inner = max(1, round(size * 20 / 28))
    scale = inner / max(strokes.size)
    w, h = max(1, round(strokes.width * scale)), max(1, round(strokes.height * scale))
    strokes = strokes.resize((w, h), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(strokes, ((size - w) // 2, (size - h) // 2))
    return canvas
