"""Build the explorer as a static web site that runs the models in the browser; optionally push it to a Space.

    python -m infogan.export_web checkpoints/mnist checkpoints/celeba --out site
    python -m infogan.export_web checkpoints/mnist --out site --push-to-space you/infogan-explorer

Each model's generator (and Q, for the Encode view) is exported to ONNX and checked against PyTorch; the page
(`infogan/web/`) and ONNX Runtime Web (vendored in `infogan/web/vendor/`, WebAssembly build only) are copied beside
them, so the site makes no request to any other host. Static Spaces are free on the Hugging Face Hub, unlike Gradio
Spaces; the site's README.md carries the `sdk: static` front matter a Space needs.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from .. import __version__
from ..model import CONFIG_FILE, InfoGAN
from .onnx_export import (
    ENCODER_FILE,
    GENERATOR_FILE,
    ParityError,
    check_encoder,
    check_generator,
    export_encoder,
    export_generator,
)

WEB_DIR = Path(__file__).parent.parent / "web"
PAGE_FILES = ("index.html", "app.js", "torch_rng.js", "style.css")
RUNTIME_DIR = WEB_DIR / "vendor" / "onnxruntime-web"
RUNTIME_MANIFEST = "runtime.json"
MANIFEST = "models.json"  # the page's list of models; also marks a folder as a site this tool may overwrite
SITE_FORMAT = 1


@dataclass(frozen=True)
class ExportedModel:
    """One model of a built site: its name in the page (and in share links), files and export checks."""

    name: str
    source: str
    bytes: int
    generator_diff: float
    encoder_diff: float


def model_name(source: str) -> str:
    """The name a model gets in the page and its links, as in the Gradio app (`ModelRegistry`): a local checkpoint
    is named by its folder (`checkpoints/mnist` -> "mnist"), a Hub model by its repo id ("user/name")."""
    return Path(source).name if Path(source).is_dir() else source


def build_site(sources: Sequence[str], out: str | Path, encoder: bool = True) -> list[ExportedModel]:
    """Export every checkpoint (folder or Hub id) and write the whole site to `out`, replacing an earlier build.

    The site is written to a temporary sibling first, so a failed export (e.g. a parity error) leaves `out` as it
    was.
    """
    out = Path(out)
    names = [model_name(s) for s in sources]
    if not sources:
        raise ValueError("give at least one checkpoint (a folder such as checkpoints/mnist, or a Hub id user/name)")
    if len(set(names)) != len(names):
        raise ValueError(f"two checkpoints would get the same name in the page: {names}; rename one folder")
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a web server (or a colleague) must be able to read the site
    try:
        exported = [_export_model(source, name, staging, encoder) for source, name in zip(sources, names, strict=True)]
        _copy_page(staging)
        runtime = _copy_runtime(staging / "ort")
        manifest = {"format": SITE_FORMAT, "built_by": f"infogan-explorer {__version__}", "runtime": runtime,
                    "models": [_manifest_entry(m, encoder) for m in exported]}  # fmt: skip
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(space_readme(exported, runtime["version"]), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return exported


def _export_model(source: str, name: str, site: Path, encoder: bool) -> ExportedModel:
    model = InfoGAN.from_pretrained(source)
    folder = site / "models" / name
    export_generator(model, folder / GENERATOR_FILE)
    generator_diff = check_generator(model, folder / GENERATOR_FILE)
    encoder_diff = 0.0
    if encoder:
        export_encoder(model, folder / ENCODER_FILE)
        encoder_diff = check_encoder(model, folder / ENCODER_FILE)
    (folder / CONFIG_FILE).write_text(model.config.to_json(), encoding="utf-8")
    size = sum(p.stat().st_size for p in folder.iterdir())
    return ExportedModel(name, source, size, generator_diff, encoder_diff)


def _manifest_entry(model: ExportedModel, encoder: bool) -> dict[str, object]:
    base = f"models/{model.name}/"
    entry: dict[str, object] = {"name": model.name, "config": base + CONFIG_FILE, "generator": base + GENERATOR_FILE}
    if encoder:
        entry["encoder"] = base + ENCODER_FILE
    entry["bytes"] = model.bytes
    return entry


def _check_replaceable(out: Path) -> None:
    """Only an empty folder or an earlier site build may be replaced: never delete someone's unrelated files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the site")
    if any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ValueError(
            f"--out {out} is a non-empty folder that is not a site built by export_web (no {MANIFEST}); "
            "choose a new or empty folder"
        )


def _copy_page(site: Path) -> None:
    for name in PAGE_FILES:
        shutil.copyfile(WEB_DIR / name, site / name)


def _copy_runtime(target: Path) -> dict[str, object]:
    """Copy the vendored ONNX Runtime Web files after checking their hashes (a git-lfs pointer or a half copy fails)."""
    manifest = json.loads((RUNTIME_DIR / RUNTIME_MANIFEST).read_text(encoding="utf-8"))
    target.mkdir(parents=True)
    for name, sha256 in manifest["files"].items():
        source = RUNTIME_DIR / name
        if not source.is_file() or hashlib.sha256(source.read_bytes()).hexdigest() != sha256:
            package = f"{manifest['package']}@{manifest['version']}"
            raise RuntimeError(
                f"{source} is missing or differs from the pinned {package} (sha256 {sha256[:12]}…); restore it "
                f"with git (`git checkout -- infogan/web/vendor`) or from the dist/ folder of `npm pack {package}`"
            )
        shutil.copyfile(source, target / name)
    shutil.copyfile(RUNTIME_DIR / "LICENSE", target / "LICENSE")
    return {"package": manifest["package"], "version": manifest["version"]}


def space_readme(models: Sequence[ExportedModel], runtime_version: str) -> str:
    """README.md for a static Hugging Face Space: front matter, then what the site is and what each model is."""
    lines = [
        "---",
        "title: InfoGAN explorer",
        "emoji: 🎛️",
        "colorFrom: indigo",
        "colorTo: pink",
        "sdk: static",
        "app_file: index.html",
        "pinned: false",
        "tags:",
        "- infogan",
        "- onnxruntime-web",
        "---",
        "",
        "# InfoGAN explorer (runs in your browser)",
        "",
        "Move the sliders and pick categories: the image is generated on your own device with",
        f"[ONNX Runtime Web](https://onnxruntime.ai/) {runtime_version} (WebAssembly), so nothing is sent to a server",
        "and the page works offline once loaded. A link to a view (`?model=…&seed=…&<code>=…`) shows the same image",
        "here and in the Gradio explorer of [infogan-explorer](https://github.com/infogan-explorer/infogan-explorer).",
        "",
        "| model | source | size |",
        "|---|---|---|",
    ]
    lines += [f"| {m.name} | `{m.source}` | {m.bytes / 1e6:.1f} MB |" for m in models]
    lines += [
        "",
        "Built with `python -m infogan.export_web`. ONNX Runtime Web is MIT-licensed (see `ort/LICENSE`); each",
        "model's dataset terms are listed in the page and in its `models/<name>/config.json`.",
        "",
    ]
    return "\n".join(lines)


def push_to_space(folder: str | Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Upload a built site to a static Space (created if needed); returns the commit URL."""
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise ValueError(f"{folder} is not a site built by export_web (no {MANIFEST}); build it first with --out")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="space", space_sdk="static", private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type="space",
        commit_message=f"Explorer site built by infogan-explorer {__version__}",
    )  # fmt: skip
    return str(commit.commit_url)


@contextmanager
def serve(folder: str | Path) -> Iterator[str]:
    """Serve a built site on 127.0.0.1 at a free port for the `with` block (tests, benchmarks, a local preview).

    Yields the site's URL; the server thread stops when the block ends.
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",  # module scripts need a JavaScript MIME type
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",  # streaming WebAssembly compilation needs this one
        ".onnx": "application/octet-stream",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infogan.export_web", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint folders or Hub ids; each becomes one model")
    parser.add_argument("--out", required=True, help="folder to write the site to (replaced if it is an earlier build)")
    parser.add_argument("--no-encoder", action="store_true", help="skip Q (no Encode view; a smaller site)")
    parser.add_argument("--push-to-space", metavar="USER/NAME", help="also upload the site to this static Space")
    parser.add_argument("--private", action="store_true", help="create the Space as private (with --push-to-space)")
    args = parser.parse_args(argv)
    try:
        exported = build_site(args.checkpoints, args.out, encoder=not args.no_encoder)
    except (FileNotFoundError, ValueError, ParityError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for m in exported:
        print(f"{m.name}: {m.bytes / 1e6:.1f} MB, ONNX vs PyTorch max |diff| generator {m.generator_diff:.1e}"
              + (f", encoder {m.encoder_diff:.1e}" if not args.no_encoder else ""))  # fmt: skip
    total = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    print(f"wrote {args.out} ({total / 1e6:.1f} MB); preview it with `python -m http.server -d {args.out}`")
    if args.push_to_space:
        try:
            print(f"pushed: {push_to_space(args.out, args.push_to_space, private=args.private)}")
        # Any failure here leaves a good local build: no token (an OSError), a bad id (ValueError), a refused upload
        # (HfHubHTTPError) or no connection (the HTTP library's own error types) all get the same one-line advice.
        except Exception as err:
            print(f"error: the site is built in {args.out}, but the push to {args.push_to_space} failed: {err}. "
                  "Check the Space id (user/name), your login (`hf auth login`, or HF_TOKEN with write access) and "
                  "the network, then run the command again", file=sys.stderr)  # fmt: skip
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
