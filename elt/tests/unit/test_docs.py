"""The README and docs/ stay in step with the code: every relative link resolves (file and
heading), every make target and `elt` command is documented, and every one the docs name
exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from elt.cli import main
from elt.tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"(?:^|[\s;&|(])make ([a-z][\w-]*)")
ELT = re.compile(r"(?:^|[\s;&|(/])elt ([a-z][\w-]*)")
TARGET = re.compile(r"^([a-zA-Z][\w-]*):[^=].*## ", re.MULTILINE)


def split(text: str) -> tuple[str, str]:
    """A page's prose (code blocks blanked) and its code (fenced blocks and inline spans)."""
    prose, code, fenced = [], [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            prose.append("")
            continue
        if fenced:
            code.append(line)
            prose.append("")
        else:
            prose.append(line)
            code += INLINE_CODE.findall(line)
    return "\n".join(prose), "\n".join(code)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    prose, _ = split(page.read_text())
    seen: dict[str, int] = {}
    found = set()
    for line in prose.splitlines():
        if m := re.match(r"^#{1,6} (.+)$", line):
            base = slug(m[1])
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def documented_code() -> str:
    return "\n".join(split(p.read_text())[1] for p in PAGES)


def make_targets() -> set[str]:
    return set(TARGET.findall((REPO / "Makefile").read_text()))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve(page: Path) -> None:
    prose, _ = split(page.read_text())
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert not broken, "\n".join(broken)


def test_every_make_target_is_documented() -> None:
    mentioned = set(MAKE.findall(documented_code()))
    missing = make_targets() - mentioned
    assert not missing, f"make targets no page documents (as `make <target>`): {sorted(missing)}"


def test_every_documented_make_target_exists() -> None:
    unknown = set(MAKE.findall(documented_code())) - make_targets()
    assert not unknown, f"the docs name make targets the Makefile lacks: {sorted(unknown)}"


def test_every_elt_command_is_documented_and_exists() -> None:
    mentioned = set(ELT.findall(documented_code()))
    commands = set(main.commands)
    assert not commands - mentioned, (
        f"elt commands no page documents: {sorted(commands - mentioned)}"
    )
    assert not mentioned - commands, (
        f"the docs name elt commands that do not exist: {sorted(mentioned - commands)}"
    )


def test_readme_stays_short() -> None:
    """The README says what it is, the two commands, the picture and where to go; the rest
    lives in docs/."""
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 120, f"README.md has {len(lines)} lines: move detail into docs/"
    text = "\n".join(lines)
    assert "make run" in text
    assert "make test" in text
    assert "```mermaid" in text


def test_the_checker_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [bad](#nowhere)\n")
    prose, _ = split(page.read_text())
    targets = LINK.findall(prose)
    assert targets == ["#title", "missing.md", "#nowhere"]
    assert anchors(page) == {"title"}
    assert slug("Loading: `elt load`") == "loading-elt-load"
