"""Code and directives inside blockquotes and list items, read by litblog as kramdown reads them.

A corpus post (``tests/fixtures/containers/``) holds fences of both kinds, indented code, inline
code with roles, Liquid (``{{ site.title }}``, ``{% include missing.html %}``) and directives,
inside quotes, lists, ordered and nested ones, with lazy continuation and a fence cut off by the
end of its quote. litblog builds it, then real Jekyll (kramdown GFM, strict Liquid) builds the
site; the code blocks kramdown made, with the containers around each, must be the ones
``structure.py`` found, and their text must be shown as written: no Liquid run, no role read.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from litblog.buildtime.directives import CodeBlock, TextBlock, parse_post
from litblog.buildtime.directives.structure import code_spans
from litblog.buildtime.sources.posts import read_post
from litblog.buildtime.render.targets import JEKYLL as JEKYLL_TARGET, strip_verbatim
from site_check import BASEURL, JEKYLL, NO_JEKYLL, CheckedSite, jekyll_build, page_for, require_tool

CORPUS = REPO / "tests" / "fixtures" / "containers"
RECIPES = REPO / "tests" / "fixtures" / "jekyll" / "src"  # liquid.echo: Liquid in its code, log and values
POST = "2026/01/08/containers/"
CASE = re.compile(r"case-\d+")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CheckedSite:
    require_tool(JEKYLL, NO_JEKYLL)
    base = tmp_path_factory.mktemp("containers")
    root = base / "blog"
    root.mkdir()
    shutil.copy2(REPO / "tests" / "fixtures" / "project" / "_config.yml", root / "_config.yml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "tests" / "fixtures" / "project" / "src", root / "src")
    shutil.copytree(RECIPES, root / "src", dirs_exist_ok=True)
    shutil.copytree(CORPUS / "posts", root / "posts")
    assert run_cli(root, "-q") == 0  # before containers counted, a role in quoted code was an error (exit 2)
    return CheckedSite(root, root / "site", jekyll_build(root / "site", base / "jekyll-out", BASEURL))


@dataclass
class _Element:
    tag: str
    classes: tuple[str, ...]
    text: list[str] = field(default_factory=list)
    containers: tuple[str, ...] = ()


class _Reader(HTMLParser):
    """The post's article: each ``<pre>`` and ``<p>`` with its text and the quotes and list
    items around it, outermost first."""

    _VOID = {"br", "img", "hr", "meta", "link", "input", "source"}
    _CONTAINER = {"blockquote": "blockquote", "li": "list item"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[str, ...]]] = []
        self.elements: list[_Element] = []
        self.open: list[_Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._VOID:
            return
        classes = tuple((dict(attrs).get("class") or "").split())
        containers = tuple(self._CONTAINER[t] for t, _ in self.stack if t in self._CONTAINER)
        self.stack.append((tag, classes))
        if tag in ("pre", "p", "table", "details"):
            element = _Element(tag, classes, containers=containers)
            self.elements.append(element)
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        while self.stack:
            top, _ = self.stack.pop()
            if top in ("pre", "p", "table", "details") and self.open:
                self.open.pop()
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text.append(data)


def article(built: CheckedSite) -> list[_Element]:
    html = page_for(built.jekyll.destination, POST).read_text(encoding="utf-8")
    body = html[html.index('<div class="post-content'):html.index('<details class="litblog-provenance"')]
    reader = _Reader()
    reader.feed(body)
    return reader.elements


def text_of(element: _Element) -> str:
    return "".join(element.text)


def corpus_spans() -> list:
    post = read_post(next((CORPUS / "posts").glob("*.md")), CORPUS)
    return [span for span in code_spans(post.body) if CASE.search(span.content)]


def test_jekyll_builds_the_corpus_without_a_liquid_error(corpus):
    # A live {% include missing.html %} from quoted code would stop the whole build.
    assert corpus.jekyll.returncode == 0, corpus.jekyll.output
    assert corpus.jekyll.problems == [], corpus.jekyll.output


def test_kramdown_finds_the_code_blocks_litblog_found_in_the_same_containers(corpus):
    ours = {CASE.search(span.content).group(0): (span.containers, span.content.strip())
            for span in corpus_spans() if span.closed}
    kramdown = {CASE.search(text_of(e)).group(0): (e.containers, text_of(e).strip())
                for e in article(corpus) if e.tag == "pre" and CASE.search(text_of(e))}
    assert len(ours) == 13  # every container case of the corpus is counted
    assert kramdown == ours
    assert {containers for containers, _ in ours.values()} >= {
        ("blockquote",), ("list item",), ("list item", "list item"), ("blockquote", "list item"),
        ("list item", "blockquote"), ("blockquote", "blockquote"), ()}


def test_a_fence_cut_off_by_the_end_of_its_quote_is_shown_as_written(corpus):
    # CommonMark calls it code, kramdown a paragraph: litblog protects it as code, so either way
    # the reader sees the text as written.
    (cut,) = [span for span in corpus_spans() if not span.closed]
    assert cut.containers == ("blockquote",)
    (paragraph,) = [e for e in article(corpus) if e.tag == "p" and "case-14" in text_of(e)]
    assert paragraph.containers == ("blockquote",)
    assert "{{ site.title }} {result}missing.value {% include missing.html %}" in text_of(paragraph)


def test_liquid_and_roles_in_quoted_and_listed_code_are_shown_verbatim(corpus):
    code = [text_of(e) for e in article(corpus) if e.tag == "pre" and CASE.search(text_of(e))]
    joined = "\n".join(code)
    assert joined.count("{{ site.title }}") == 11 and joined.count("{% include missing.html %}") == 6
    assert joined.count("{result}`missing.value`") == 4 and "{claim}`missing.a > 1`" in joined
    assert "Tiny test blog" not in joined  # the site's title: Liquid ran
    assert '"{% if x %}"' in joined  # an unclosed tag inside code is no tag


def test_inline_code_keeps_roles_and_liquid_and_prose_roles_work_in_containers(corpus):
    elements = article(corpus)
    inline = next(text_of(e) for e in elements if e.tag == "p" and text_of(e).startswith("Inline code keeps"))
    assert "{result}`missing.value`" in inline and "{{ site.title }}" in inline
    quoted = next(e for e in elements if e.tag == "p" and text_of(e).startswith("In a quote, inline code"))
    assert quoted.containers == ("blockquote",)
    assert "{result}`missing.value`" in text_of(quoted) and "{% include missing.html %}" in text_of(quoted)
    assert "the note is {{ recorded }} {% recorded_tag %}." in text_of(quoted)  # the role's value, as text
    html = page_for(corpus.jekyll.destination, POST).read_text(encoding="utf-8")
    assert re.search(r"<li>In a list item, a role in prose: \{\{ recorded \}\} \{% recorded_tag %\}\.</li>", html)


def test_a_directive_in_a_quote_or_list_item_is_rendered_inside_it(corpus):
    elements = article(corpus)
    listing = next(e for e in elements if e.tag == "pre" and "def echo" in text_of(e))
    log = next(e for e in elements if e.tag == "details" and "litblog-log" in e.classes)
    tables = [e for e in elements if e.tag == "table"]
    assert listing.containers == ("blockquote",) and "{{ default }}" in text_of(listing)
    assert log.containers == ("blockquote",)
    assert "quoted {{ param_var }} {% param_tag %}" in text_of(log)  # the log's Liquid, shown
    # The last two follow a line of text: a blank line is put first, or kramdown reads the
    # table as that paragraph's text.
    assert [t.containers for t in tables] == [("blockquote",), ("list item",), ("list item",), ("blockquote",)]
    assert all("{{ recorded }} {% recorded_tag %}" in text_of(t) for t in tables[:3])
    assert "quoted {{ param_var }} {% param_tag %}" in text_of(tables[3])
    for item in ("The item after it.", "The last item."):  # the lists go on after their tables
        assert next(e for e in elements if e.tag == "p" and text_of(e) == item).containers == ("list item",)


def test_quoted_and_listed_code_is_protected_from_liquid_without_adding_a_line():
    # Without Jekyll: every case is a code block, and the Jekyll target's protection of nested
    # code adds no line (a line holding only {% raw %} would end a list item's tight paragraph
    # or a quote) and leaves no Liquid tag of the author's live.
    post = read_post(next((CORPUS / "posts").glob("*.md")), CORPUS)
    parsed = parse_post(post)
    code = [b for b in parsed.blocks if isinstance(b, CodeBlock)]
    assert sorted(CASE.search(b.text).group(0) for b in code if CASE.search(b.text)) == \
        sorted(f"case-{n}" for n in range(1, 15))
    assert not any(CASE.search(b.text) for b in parsed.blocks if isinstance(b, TextBlock))
    for block in code:
        carried = JEKYLL_TARGET.code_block(block.text, nested=block.nested)
        assert strip_verbatim(carried) == block.text
        if block.nested:
            assert carried.count("\n") == block.text.count("\n")
        live = carried.replace("{% raw %}", "").replace("{% endraw %}", "").replace("{{ '{%' }}", "")
        assert "{%" not in live
