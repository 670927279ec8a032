"""Every relative link in README.md and docs/*.md leads somewhere: to a file of the repository and,
for ``#anchor``, to a heading of that file (GitHub's anchor for it). Moving a section between
pages must not leave a newcomer at a dead link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)[ \t]*#*[ \t]*$")
# [text](target) or [text](target "title"); images too. Targets with spaces are not used here.
_LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_INLINE_CODE = re.compile(r"`[^`]*`")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1 (links in code are examples)."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not line.strip().strip(fence[0]):
            fence = None
        elif fence is None:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file offers: one per heading, numbered like GitHub's for repeats."""
    seen: dict[str, int] = {}
    result = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group("text"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    """``file:line: target`` for each relative link in ``path`` that leads nowhere."""
    problems = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        for match in _LINK.finditer(_INLINE_CODE.sub("", line)):
            target = match.group("target")
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path.resolve()
            where = f"{path.relative_to(root)}:{number}: {target}"
            if root.resolve() not in (linked, *linked.parents):
                problems.append(f"{where} (outside the repository)")
            elif not linked.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and (linked.suffix.lower() != ".md" or anchor not in anchors(linked)):
                problems.append(f"{where} (no such heading)")
    return problems


def documents(root: Path = REPO) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []


def test_the_readme_links_every_page_of_the_docs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in documents()[1:] if f"](docs/{p.name})" not in readme]
    assert missing == []


def test_a_planted_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## The `build-site` command\n\ntext\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "# Project\n\n"
        "[fine](docs/guide.md) and [fine too](docs/guide.md#the-build-site-command) and [web](https://example.org)\n"
        "[gone](docs/missing.md)\n"
        "[no heading](docs/guide.md#nowhere)\n"
        "[here](#project) and [not here](#elsewhere)\n"
        "```\n[in code](docs/absent.md)\n```\n",
        encoding="utf-8")
    problems = broken_links(tmp_path / "README.md", root=tmp_path)
    assert problems == [
        "README.md:4: docs/missing.md (no such file)",
        "README.md:5: docs/guide.md#nowhere (no such heading)",
        "README.md:6: #elsewhere (no such heading)",
    ]


def test_slug_follows_github() -> None:
    assert slug("What is read as Markdown, HTML and Liquid, and what is shown as text") == \
        "what-is-read-as-markdown-html-and-liquid-and-what-is-shown-as-text"
    assert slug("The recipe context `ctx`") == "the-recipe-context-ctx"
    assert slug("`{experiment}`") == "experiment"
    assert slug("The config: `_config.yml`") == "the-config-_configyml"
