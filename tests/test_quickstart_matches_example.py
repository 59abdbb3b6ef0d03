"""docs/quickstart.md, part 2, is the code of examples/factory_app: every code block
that names a file on its first line (``# examples/factory_app/models.py``,
``{# examples/factory_app/templates/layout.html #}``) must be in that file
verbatim, whole lines, its ``...``-separated pieces in order. The docs and the
app (whose stories tests/test_factory_app.py runs) cannot drift apart."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "quickstart.md"
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"^(?:# |\{# )((?:examples|tests)/\S+?)(?: #\})?$")


def tied_blocks() -> list[tuple[str, list[str]]]:
    """(file, lines) of every code block of part 2 that names its file."""
    part2 = DOC.read_text(encoding="utf-8").split("## 2. Your own app, step by step", 1)[1]
    blocks = []
    for fence in FENCE.finditer(part2):
        lines = fence.group(1).splitlines()
        named = MARKER.match(lines[0]) if lines else None
        if named:
            blocks.append((named.group(1), lines[1:]))
    return blocks


def pieces(lines: list[str]) -> list[str]:
    """The block's text between ``...`` lines, without blank lines at either end."""
    found, current = [], []
    for line in [*lines, "..."]:
        if line.strip() == "...":
            text = "\n".join(current).strip("\n")
            if text:
                found.append(text)
            current = []
        else:
            current.append(line)
    return found


BLOCKS = tied_blocks()


@pytest.mark.parametrize(("path", "lines"), BLOCKS, ids=[f"{n}:{p}" for n, (p, _) in enumerate(BLOCKS)])
def test_each_code_block_of_the_quick_start_is_in_its_file_verbatim(path: str, lines: list[str]) -> None:
    source = ROOT / path
    assert source.is_file(), f"docs/quickstart.md names {path}, which does not exist"
    text = "\n" + source.read_text(encoding="utf-8") + "\n"
    position = 0
    for piece in pieces(lines):
        found = text.find("\n" + piece + "\n", position)
        assert found >= 0, f"this part of a docs/quickstart.md block is not in {path} (in order, whole lines):\n{piece}"
        position = found + len(piece)


def test_the_quick_start_shows_every_part_of_the_example_that_concerns_privacy() -> None:
    named = {path for path, _ in BLOCKS}
    assert {
        "examples/factory_app/extensions.py",
        "examples/factory_app/__init__.py",
        "examples/factory_app/models.py",
        "examples/factory_app/commands.py",
        "examples/factory_app/privacy-policy.toml",
        "examples/factory_app/migrations/env.py",
        "examples/factory_app/logging_setup.py",
        "examples/factory_app/notes.py",
        "examples/factory_app/templates/layout.html",
        "examples/factory_app/templates/privacy/base.html",
        "examples/factory_app/templates/notes/account.html",
        "tests/test_factory_app.py",
    } <= named


def test_the_quick_starts_install_line_names_an_extra_holding_what_the_example_imports() -> None:
    assert "pip install -e '.[factory]'" in DOC.read_text(encoding="utf-8")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[; ]", requirement)[0].lower() for requirement in extras["factory"]}
    assert {"flask-sqlalchemy", "flask-login", "flask-migrate"} <= names
