"""The docs point at things that exist: relative links, `python -m` modules and repository paths.

The layout moves (one wing per concern) left docs naming files that were gone; these checks read README.md,
docs/*.md and the shipped model cards, so a stale path fails here instead of in a reader's terminal.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

DOC_FILES = sorted(
    [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md"), *(REPO_ROOT / "checkpoints").glob("*/README.md")]
)
README_MAX_LINES = 220  # issue 19: the README is a front door; the record lives in docs/

# [text](target) and ![alt](target), with an optional "title"; the target ends at whitespace or ')'.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
MODULE = re.compile(r"python -m (infogan(?:\.\w+)+)")
SCRIPT = re.compile(r"python ([\w./-]+\.py)\b")
# Repository paths of files (an extension is required: `checkpoints/my-mnist` in an example is an output, not a file).
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:infogan|benchmarks|scripts|tests|docs|checkpoints|notebooks)/[\w./-]*\."
    r"(?:py|json|md|ipynb|js|css|html|png))\b"
)


def _occurrences(pattern: re.Pattern[str]) -> list[tuple[Path, int, str]]:
    """(file, line number, first group) for every match of `pattern` in the doc files."""
    found = []
    for doc in DOC_FILES:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            found += [(doc, number, match.group(1)) for match in pattern.finditer(line)]
    return found


def _where(doc: Path, number: int) -> str:
    return f"{doc.relative_to(REPO_ROOT)}:{number}"


def _module_exists(dotted: str) -> bool:
    """True when `python -m dotted` finds a module file (or a package with __main__.py) in this checkout."""
    base = REPO_ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()


def test_relative_links_point_at_existing_files() -> None:
    broken = []
    for doc, number, target in _occurrences(LINK):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):  # https:, mailto:, in-page anchors
            continue
        path = target.split("#", 1)[0]
        if not (doc.parent / path).exists():
            broken.append(f"{_where(doc, number)}: link to {target!r}, which does not exist")
    assert not broken, "\n".join(broken)


def test_python_m_commands_name_existing_modules() -> None:
    stale = [
        f"{_where(doc, number)}: `python -m {dotted}`, but {dotted.replace('.', '/')}.py does not exist"
        for doc, number, dotted in _occurrences(MODULE)
        if not _module_exists(dotted)
    ]
    assert not stale, "\n".join(stale)


def test_scripts_and_repository_paths_exist() -> None:
    stale = [
        f"{_where(doc, number)}: {path!r} does not exist in the repository"
        for doc, number, path in _occurrences(SCRIPT) + _occurrences(REPO_PATH)
        if not (REPO_ROOT / path).exists()
    ]
    assert not stale, "\n".join(stale)


def _train_commands(doc: Path) -> list[tuple[int, str]]:
    """(line number, what follows `train.py`) for each train.py command: in code blocks, and in `inline code`."""
    found, in_block = [], False
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        spans = [line.split("#", 1)[0]] if in_block else re.findall(r"`([^`]*)`", line)
        found += [(number, span.split("train.py", 1)[1]) for span in spans if "train.py" in span]
    return found


def test_train_py_commands_use_flags_it_accepts() -> None:
    """Options come and go (issue 20 removed three): a command shown in the docs must still run."""
    help_text = subprocess.run([sys.executable, "train.py", "-h"], capture_output=True, text=True, cwd=REPO_ROOT)
    accepted = set(FLAG.findall(help_text.stdout))
    assert "--preset" in accepted, f"train.py -h printed no options: {help_text.stderr[-500:]}"
    unknown = [
        f"{_where(doc, number)}: train.py {flag} is not an option of train.py (see `python train.py -h`)"
        for doc in DOC_FILES
        for number, command in _train_commands(doc)
        for flag in FLAG.findall(command)
        if flag not in accepted
    ]
    assert not unknown, "\n".join(unknown)


def test_readme_and_testing_doc_show_the_ci_test_command_unchanged() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"^TEST_COMMAND='(.*)'$", ci, flags=re.MULTILINE)
    assert command, ".ci/run no longer sets TEST_COMMAND='…' on one line"
    for doc in (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "testing.md"):
        lines = doc.read_text(encoding="utf-8").splitlines()
        assert command.group(1) in lines, f"{doc.name} must show .ci/run's TEST_COMMAND on a line of its own"


def test_readme_stays_a_front_door() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move the record into docs/"
