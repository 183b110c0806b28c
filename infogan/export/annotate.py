"""Name codes after looking at their traversals: `python -m infogan.annotate CHECKPOINT --rename c2=width ...`.

InfoGAN learns *what* each code controls without supervision; only a person can say what to call it. This edits
the human-facing parts of a checkpoint (code names, category labels, notes, title) and re-saves the folder, so the
explorer and the model card show the names. Weights are untouched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..config import InfoGANConfig
from ..latent import CategoricalCode
from ..model import InfoGAN


def rename_codes(config: InfoGANConfig, renames: dict[str, str]) -> InfoGANConfig:
    """A copy of `config` with codes renamed (old → new); notes keyed by old names follow the rename."""
    for old in renames:
        config.latent.code(old)  # ValueError naming the known codes
    codes = tuple(replace(c, name=renames.get(c.name, c.name)) for c in config.latent.codes)
    latent = replace(config.latent, codes=codes)
    latent.validate()
    notes = {renames.get(k, k): v for k, v in config.metadata.get("code_notes", {}).items()}
    updates: dict = {"code_notes": notes}
    if isinstance(config.metadata.get("metrics"), dict):  # per-code metric tables follow the rename too
        updates["metrics"] = {
            section: {renames.get(k, k): v for k, v in table.items()} if isinstance(table, dict) else table
            for section, table in config.metadata["metrics"].items()
        }
    return config.with_latent(latent).with_metadata(**updates)


def set_labels(config: InfoGANConfig, code_name: str, labels: list[str]) -> InfoGANConfig:
    """A copy of `config` whose categorical code `code_name` has the given category labels."""
    code = config.latent.code(code_name)
    if not isinstance(code, CategoricalCode):
        raise ValueError(f"code {code_name!r} is continuous; only categorical codes have labels")
    new = replace(code, labels=tuple(labels))
    new.validate()
    codes = tuple(new if c.name == code_name else c for c in config.latent.codes)
    return config.with_latent(replace(config.latent, codes=codes))


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{flag} expects NAME=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infogan.annotate", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="local checkpoint folder (re-saved in place)")
    parser.add_argument("--rename", nargs="*", default=[], metavar="OLD=NEW", help="rename codes")
    parser.add_argument("--note", nargs="*", default=[], metavar="CODE=TEXT", help="what a code controls")
    parser.add_argument("--labels", nargs="*", default=[], metavar="CODE=A,B,C", help="category labels, in order")
    parser.add_argument("--title", help="model card title")
    parser.add_argument("--training-note", help="a sentence on how the model was trained (shown in the card)")
    args = parser.parse_args(argv)
    try:
        if not Path(args.checkpoint).is_dir():
            raise ValueError(f"annotate edits a local checkpoint folder in place; {args.checkpoint!r} is not one")
        model = InfoGAN.from_pretrained(args.checkpoint)
        config = rename_codes(model.config, _pairs(args.rename, "--rename"))
        for name, labels in _pairs(args.labels, "--labels").items():
            config = set_labels(config, name, labels.split(","))
        notes = _pairs(args.note, "--note")
        for name in notes:
            config.latent.code(name)
        config = config.with_metadata(code_notes={**config.metadata.get("code_notes", {}), **notes})
        if args.title:
            config = config.with_metadata(title=args.title)
        if args.training_note:
            config = config.with_metadata(training_note=args.training_note)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    model.config = config
    model.save_pretrained(args.checkpoint)
    print(f"updated {args.checkpoint}: codes {[c.name for c in config.latent.codes]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
