"""Labelled synthetic images from an InfoGAN: `python -m infogan.synthesize CHECKPOINT --per-category N --out DIR`.

Once a categorical code draws one class per category (paper Sec. 5.1: 5 % error on MNIST), the generator is a source
of labelled images whose only labelling cost is naming each category once (`python -m infogan.evaluate
--write-labels` or `python -m infogan.annotate --labels`). The set is written as an image-classification folder:

    DIR/<label>/<index>.png   one folder per category: torchvision's ImageFolder and 🤗 datasets' "imagefolder"
    DIR/metadata.csv          per image: file_name, label, category, seed, Q's confidence and every code's value
    DIR/README.md             how the set was made: model, code, filter, draws per category, the data's terms

Every image can be drawn again: `model.generate(1, seed=row.seed, codes={code: row.category})` (the other codes come
from the seed). With a minimum confidence only images whose category Q reads back with at least that probability are
kept: Q was trained to recover the code (paper Sec. 5), so a low value flags an image that does not look like its
category.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import re
import shutil
import sys
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torchvision.transforms.functional import to_pil_image
from tqdm.auto import tqdm

from ..latent import CategoricalCode
from ..model import InfoGAN, eval_mode

MAX_PER_CATEGORY = 100_000  # a typo guard: 100k 28×28 PNGs per category is already ~30 MB
DRAWS_PER_IMAGE = 20  # with a confidence filter, give up on a category after 20 draws per wanted image
APP_MAX_IMAGES = 2_000  # the explorer's download: at most this many images per zip (~1 MB for MNIST-size images)
METADATA_FILE = "metadata.csv"  # the file name 🤗 datasets' imagefolder reads, with a `file_name` column
UNSAFE_IN_NAMES = re.compile(r"[^\w\-.+()&, ]")  # path separators, wildcards, quotes, control characters...
RESERVED_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


class SynthesisError(ValueError):
    """The requested set cannot be made (bad arguments, no categorical code, too few confident images)."""


# ---- choosing what to draw --------------------------------------------------------------------------------------


def categorical_code(model: InfoGAN, name: str | None = None) -> CategoricalCode:
    """The categorical code whose categories label the images: `name`, or the model's only categorical code."""
    spec = model.config.latent
    if name is not None:
        try:
            code = spec.code(name)
        except ValueError as err:
            raise SynthesisError(str(err)) from None
        if not isinstance(code, CategoricalCode):
            raise SynthesisError(f"code {name!r} is continuous; pick a categorical code: {_names(spec.categorical)}")
        return code
    if not spec.categorical:
        raise SynthesisError(
            f"this model has no categorical code (its codes {_names(spec.codes)} are all continuous), so there are "
            "no categories to label images with; use a model trained with a categorical code"
        )
    if len(spec.categorical) > 1:
        names = _names(spec.categorical)
        raise SynthesisError(f"this model has several categorical codes; pick one with --code: {names}")
    return spec.categorical[0]


def folder_names(code: CategoricalCode) -> list[str]:
    """One safe, unique folder name per category, from its label (e.g. 'Shirt/Coat?' → 'Shirt_Coat_').

    Labels are free text: a '/' would nest folders, '..' would climb out of the set, and names differing only in
    case collide on macOS and Windows. Characters outside letters, digits and ` -_.+()&,` become '_'; a name that is
    empty, reserved on Windows or already taken gets the category index appended. The exact label stays in
    metadata.csv.
    """
    names: list[str] = []
    for i in range(code.size):
        name = UNSAFE_IN_NAMES.sub("_", unicodedata.normalize("NFC", code.label_of(i))).strip(" .")[:80]
        if not name.strip("_") or name.lower() in RESERVED_NAMES:
            name = f"{name or 'category'}_{i}"
        if name.lower() in {n.lower() for n in names}:
            name = f"{name}_{i}"
        names.append(name)
    return names


def check_settings(per_category: Any, min_confidence: Any, seed: Any, batch_size: Any) -> None:
    """Validate the numbers a user passes; SynthesisError naming the allowed range otherwise."""
    if not _is_int(per_category) or not 1 <= per_category <= MAX_PER_CATEGORY:
        raise SynthesisError(f"images per category must be an integer in [1, {MAX_PER_CATEGORY}], got {per_category!r}")
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) or not 0 <= min_confidence <= 1:
        raise SynthesisError(f"the minimum confidence is a probability in [0, 1], got {min_confidence!r}")
    if not _is_int(seed) or not 0 <= seed < 2**62:
        raise SynthesisError(f"seed must be a non-negative integer below 2**62, got {seed!r}")
    if not _is_int(batch_size) or not 1 <= batch_size <= 4096:
        raise SynthesisError(f"batch size must be an integer in [1, 4096], got {batch_size!r}")


# ---- drawing ------------------------------------------------------------------------------------------------------


@dataclass
class Accepted:
    """A chunk of kept images of one category (uint8, (B, C, H, W)) with one metadata row per image."""

    images: torch.Tensor
    rows: list[dict[str, Any]]


@torch.no_grad()  # not inference_mode: callers may train on the images (inference tensors refuse that)
def draw_category(
    model: InfoGAN,
    code: CategoricalCode,
    category: int,
    count: int,
    *,
    seed: int = 0,
    min_confidence: float = 0.0,
    batch_size: int = 256,
    max_draws: int | None = None,
) -> Iterator[Accepted]:
    """Yield `count` images of `category`, in chunks, keeping those Q reads as the category with ≥ min_confidence.

    Draw j uses seed `seed + j` for z and the other codes, so category k and category k' share their draws: the
    same style, a different class. Raises SynthesisError after `max_draws` draws (default DRAWS_PER_IMAGE × count).
    """
    max_draws = max_draws or DRAWS_PER_IMAGE * count
    kept = drawn = 0
    while kept < count:
        if drawn >= max_draws:
            raise SynthesisError(
                f"category {code.label_of(category)!r} (index {category}) of code {code.name!r}: only {kept} of "
                f"{count} images reached Q confidence ≥ {min_confidence:g} in {drawn} draws; lower the minimum "
                "confidence or ask for fewer images"
            )
        seeds = list(range(seed + drawn, seed + min(drawn + batch_size, max_draws)))
        drawn += len(seeds)
        # One latent per seed, exactly as model.generate(1, seed, codes) draws it, so every row can be redrawn.
        latents = [model.latent_values(1, s, {code.name: category}) for s in seeds]
        values = {key: torch.cat([v[key] for v in latents]) for key in latents[0]}
        with eval_mode(model):
            images = model.generator(model.config.latent.to_generator_input(values))  # (B, C, H, W) in [0, 1]
        confidence = model.infer_codes(images)[code.name][:, category].cpu()  # (B,)
        keep = torch.nonzero(confidence >= min_confidence).flatten()[: count - kept].tolist()
        if not keep:
            continue
        kept += len(keep)
        pixels = (images[keep] * 255).round().to(torch.uint8).cpu()
        yield Accepted(pixels, [_row(model, code, category, seeds[i], float(confidence[i]), values, i) for i in keep])


def _row(model: InfoGAN, code: CategoricalCode, category: int, seed: int, confidence: float, values: dict,
         i: int) -> dict[str, Any]:  # fmt: skip
    row: dict[str, Any] = {"label": code.label_of(category), "category": category, "seed": seed,
                           "confidence": round(confidence, 6)}  # fmt: skip
    for c in model.codes:  # every code's value, so a row says exactly what made its image
        value = values[c.name][i]
        row[f"code_{c.name}"] = int(value) if isinstance(c, CategoricalCode) else round(float(value), 6)
    return row


# ---- writing ------------------------------------------------------------------------------------------------------


@dataclass
class SyntheticSet:
    """What `write_synthetic_set` made: the code, folder per category, the metadata rows, and per category the number
    of draws up to its last kept image (= per_category without a confidence filter)."""

    code: CategoricalCode
    folders: list[str]
    per_category: int
    min_confidence: float
    seed: int
    draws: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acceptance(self) -> list[float]:
        """Fraction of draws kept, per category (1.0 without a confidence filter)."""
        return [self.per_category / d for d in self.draws]


def write_synthetic_set(
    model: InfoGAN,
    write: Callable[[str, bytes], None],
    per_category: int,
    *,
    code: str | None = None,
    min_confidence: float = 0.0,
    seed: int = 0,
    batch_size: int = 256,
    max_draws: int | None = None,
    source: str = "",
    progress: bool = True,
) -> SyntheticSet:
    """Draw the set and hand every file to `write(relative_path, data)`: PNGs, then metadata.csv and README.md."""
    check_settings(per_category, min_confidence, seed, batch_size)
    chosen = categorical_code(model, code)
    made = SyntheticSet(chosen, folder_names(chosen), per_category, float(min_confidence), seed)
    digits = len(str(per_category - 1))
    bar = tqdm(total=chosen.size * per_category, unit="img", desc="synthesizing", disable=not progress)
    with bar:
        for category, folder in enumerate(made.folders):
            bar.set_postfix_str(f"{chosen.name}={chosen.label_of(category)}")
            index = 0
            for chunk in draw_category(model, chosen, category, per_category, seed=seed, batch_size=batch_size,
                                       min_confidence=min_confidence, max_draws=max_draws):  # fmt: skip
                for image, row in zip(chunk.images, chunk.rows, strict=True):
                    row["file_name"] = f"{folder}/{index:0{digits}d}.png"
                    write(row["file_name"], _png(image))
                    made.rows.append(row)
                    index += 1
                bar.update(len(chunk.rows))
            made.draws.append(max(r["seed"] for r in made.rows[-per_category:]) - seed + 1)
    write(METADATA_FILE, _metadata_csv(made.rows))
    write("README.md", dataset_card(model, made, source).encode("utf-8"))
    return made


def synthesize(model: InfoGAN, per_category: int, out_dir: str | Path, **kwargs: Any) -> SyntheticSet:
    """Write the set as the folder `out_dir` (which must not exist or be empty); kwargs as `write_synthetic_set`.

    Files go to a hidden sibling folder first, renamed to `out_dir` only when complete: a failure (e.g. too few
    confident images) leaves no half-written set behind.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SynthesisError(f"{out} already exists and is not an empty folder; choose a new output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        made = write_synthetic_set(model, _folder_writer(staging), per_category, **kwargs)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return made


def _folder_writer(root: Path) -> Callable[[str, bytes], None]:
    def write(relative: str, data: bytes) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return write


def synthesize_zip(model: InfoGAN, per_category: int, root: str = "synthetic", **kwargs: Any) -> bytes:
    """The set as an in-memory zip whose files sit under `root/` (for downloads); kwargs as `write_synthetic_set`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:

        def write(relative: str, data: bytes) -> None:
            # PNGs are already compressed: store them; deflate only the text files.
            method = zipfile.ZIP_STORED if relative.endswith(".png") else zipfile.ZIP_DEFLATED
            archive.writestr(f"{root}/{relative}", data, compress_type=method)

        write_synthetic_set(model, write, per_category, **kwargs)
    return buffer.getvalue()


def _png(image: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    to_pil_image(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _metadata_csv(rows: list[dict[str, Any]]) -> bytes:
    columns = ["file_name", "label", "category", "seed", "confidence"]
    columns += [k for k in rows[0] if k.startswith("code_")]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def dataset_card(model: InfoGAN, made: SyntheticSet, source: str = "") -> str:
    """README.md for the set: what made it, how to load it, acceptance per category and the training data's terms."""
    meta = model.config.metadata
    dataset = meta.get("dataset") or {}
    licence = dataset.get("license")
    lines = ["---", "task_categories:", "- image-classification", "tags:", "- synthetic", "- infogan"]
    lines += [f"license: {licence}"] if isinstance(licence, str) and re.fullmatch(r"[\w.\-]+", licence) else []
    lines += ["---", "", f"# Synthetic images from {meta.get('title') or source or 'an InfoGAN'}", ""]
    filtered = f"kept only images Q reads as their category with probability ≥ {made.min_confidence:g}"
    lines += [
        f"{made.per_category} images per category of the categorical code `{made.code.name}`"
        + (f" of the InfoGAN `{source}`" if source else "")
        + f", drawn with `python -m infogan.synthesize` (seed {made.seed}; "
        + (filtered if made.min_confidence > 0 else "no confidence filter")
        + ").",
        "",
        'Load with `torchvision.datasets.ImageFolder(folder)` or `datasets.load_dataset("imagefolder", '
        "data_dir=folder)`. `metadata.csv` holds each image's seed, Q's confidence for its category and every "
        "code's value; `model.generate(1, seed=seed, codes={code: category})` draws an image again.",
        "",
        "| category | label | folder | draws | kept |",
        "|---:|---|---|---:|---:|",
    ]
    for i, (folder, draws) in enumerate(zip(made.folders, made.draws, strict=True)):
        lines.append(f"| {i} | {made.code.label_of(i)} | `{folder}` | {draws} | {made.per_category / draws:.0%} |")
    if dataset:
        lines += ["", f"The generator was trained on {dataset.get('name', 'its dataset')}; "
                      f"its terms apply to these images too: {dataset.get('terms', 'see the model card')}"]  # fmt: skip
    return "\n".join(lines) + "\n"


# ---- the explorer's download --------------------------------------------------------------------------------------


def download_per_category(model: InfoGAN, wanted: int = 100) -> int:
    """Images per category for the explorer's zip: `wanted`, capped so one zip has at most APP_MAX_IMAGES images."""
    code = categorical_code(model)
    return max(1, min(wanted, APP_MAX_IMAGES // code.size))


class DownloadStore:
    """Keeps the newest `keep` downloads in one temporary folder (bounded disk use; anonymous visitors can click).

    Each file gets its own numbered sub-folder, so the browser saves it under its plain name (e.g. mnist-….zip).
    """

    def __init__(self, keep: int = 8) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="infogan-downloads-"))
        self.keep = keep
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def save(self, data: bytes, filename: str) -> Path:
        slot = self.folder / str(next(self._numbers))
        slot.mkdir()
        path = slot / filename
        path.write_bytes(data)
        with self._lock:
            slots = sorted((p for p in self.folder.iterdir() if p.is_dir()), key=lambda p: int(p.name))
            for old in slots[: max(0, len(slots) - self.keep)]:
                shutil.rmtree(old, ignore_errors=True)
        return path


def download_name(model_name: str, per_category: int) -> str:
    """A file name for a model's zip; Hub ids like 'user/repo' become 'user--repo'."""
    stem = UNSAFE_IN_NAMES.sub("_", model_name.replace("/", "--")).strip(" .") or "model"
    return f"{stem}-synthetic-{per_category}-per-category.zip"


# ---- command line ---------------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _names(codes: Any) -> list[str]:
    return [c.name for c in codes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infogan.synthesize", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="checkpoint folder or Hub repo id")
    parser.add_argument("--per-category", type=int, required=True, metavar="N", help="images per category")
    parser.add_argument("--out", required=True, help="output folder (must not exist, or be empty)")
    parser.add_argument("--code", help="categorical code whose categories label the images (default: the only one)")
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        metavar="P",
        help="keep only images Q reads as their category with probability ≥ P (0 keeps all)",
    )
    parser.add_argument("--max-draws", type=int, metavar="M",
                        help=f"give up on a category after M draws (default {DRAWS_PER_IMAGE} × N)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="first seed; draw j of every category uses seed + j")
    parser.add_argument("--batch-size", type=int, default=256, help="images generated per forward pass")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.max_draws is not None and args.max_draws < 1:
            raise SynthesisError(f"--max-draws must be a positive integer, got {args.max_draws}")
        check_settings(args.per_category, args.min_confidence, args.seed, args.batch_size)
        model = InfoGAN.from_pretrained(args.checkpoint)
        made = synthesize(model, args.per_category, args.out, code=args.code, min_confidence=args.min_confidence,
                          seed=args.seed, batch_size=args.batch_size, max_draws=args.max_draws,
                          source=args.checkpoint)  # fmt: skip
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    renamed = [f"{made.code.label_of(i)!r} → {f}/" for i, f in enumerate(made.folders) if f != made.code.label_of(i)]
    if renamed:
        print(f"labels that are not safe folder names were renamed: {', '.join(renamed)}", file=sys.stderr)
    rates = ", ".join(f"{f} {a:.0%}" for f, a in zip(made.folders, made.acceptance, strict=True))
    print(f"wrote {len(made.rows)} images to {args.out} ({made.code.size} categories of {made.code.name!r}); "
          f"kept per category: {rates}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
