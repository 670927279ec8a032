"""MyST's admonitions ({note}, {warning}, ..., {admonition} Title) and math ({math} role and
directive): the author's Markdown in a titled box, its roles rendered and its numbers checked as
the post's text; LaTeX as kramdown's $$ math; in both targets, the Jekyll tree built by real
Jekyll. Results are written by hand (nothing trains)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from litblog.buildtime.directives import DIRECTIVES, parse_post
from litblog.buildtime.directives.admonition import KINDS, Admonition
from litblog.common.errors import UserErrors
from test_directives import make_post
from test_writing import _article, _parsed, _project, _text, both_pages

POST = """---
title: Writing
toc: true
---

An introduction.

```{note}
The model reaches {result}`base.test.accuracy:.1%` on the **test** split:

- one item
- another item

### Results
```

## Results

```{warning} Read this first.
A warning, with [a link](https://example.org/?a=1&b=2).
```

```{admonition} Why <so> & small?
Small images train in seconds.
```

## More

Text.
"""


def test_each_kind_is_a_box_titled_by_its_kind_and_roles_in_it_are_the_posts():
    for kind in KINDS:
        argument = " Own title" if kind == "admonition" else ""
        [block] = [b for b in parse_post(make_post(f"```{{{kind}}}{argument}\nSee {{result}}`m.x`.\n```\n"
                                                   "```{experiment} m\nrecipe: a.b\n```\n")).blocks
                   if isinstance(b, Admonition)]
        assert block.title == ("Own title" if kind == "admonition" else KINDS[kind][0])
        assert [name for name, _ in block.uses()] == ["m"] and block.prose() == (block.content,)
    assert {"note", "warning", "tip", "admonition"} <= set(DIRECTIVES)


def test_text_after_a_kind_is_the_first_line_of_its_text_with_its_line():
    parsed = parse_post(make_post("Intro.\n\n```{note} First line.\nSecond {result}`m.y`.\n```\n\n"
                                  "```{experiment} m\nrecipe: a.b\n```\n"))
    [block] = [b for b in parsed.blocks if isinstance(b, Admonition)]
    assert block.content.text == "First line.\nSecond {result}`m.y`."
    fence = block.location.line
    assert [ref.location.line for ref in block.content.references] == [fence + 1]


@pytest.mark.parametrize("body, line, words", [
    ("```{note}\nText.\n\n```python\nprint(1)\n```\n```\n", 4, "a code block or directive cannot be inside a {note}"),
    ("````{tip}\nText.\n```{figure} m.curves\n```\n````\n", 3, "a code block or directive cannot be inside a {tip}"),
    ("```{note}\n:class: dropdown\nText.\n```\n", 2, "'{note}' takes no options, got ':class:'"),
    ("```{warning}\n\n```\n", 1, "this {warning} has no text"),
    ("```{admonition}\nText.\n```\n", 1, "an admonition needs a title"),
    ("```{note}\nSee {result}`nope.x`.\n```\n", 2, "undefined experiment 'nope'"),
    ("```{note}\nA {rsult}`m.x`.\n```\n", 2, "unknown role '{rsult}'"),
    ("> ```{note}\n> Text.\n> ```\n", 1, "a {note} cannot be inside a blockquote"),
    ("- item\n\n  ```{tip}\n  Text.\n  ```\n", 3, "a {tip} cannot be inside a list item"),
])
def test_mistakes_in_an_admonition_are_errors_at_their_line(body, line, words):
    post = make_post(body)
    with pytest.raises(UserErrors) as info:
        parse_post(post)
    [error] = info.value.errors
    assert words in error.message and error.location.line == post.body_line + line - 1, error.render()


def test_admonitions_in_both_targets(fresh_project, tmp_path):
    root = _project(fresh_project, POST + "\n```{experiment} base\nrecipe: tiny.stripes\nshow: []\n```\n", bib=None)
    for html in both_pages(root, tmp_path):
        article = _article(html)
        boxes = re.findall(r'<div class="litblog-admonition litblog-admonition-(\w+)" role="note">(.*?)</div>',
                           article, re.S)
        assert [tone for tone, _ in boxes] == ["note", "warning", "note"], article
        note, warning, own = (inner for _, inner in boxes)
        # The text is Markdown, its role rendered: the value, bold, a list, a heading.
        assert "Note" in note and "62.4%" in _text(note) and "<strong>test</strong>" in note
        assert note.count("<li>") == 2 and re.search(r"<h3[^>]*>Results</h3>", note)
        assert "Read this first. A warning, with a link." in _text(warning)
        assert 'href="https://example.org/?a=1&amp;b=2"' in warning
        assert "Why &lt;so&gt; &amp; small?" in own and "<so>" not in own  # the title is text
        assert "markdown=" not in article  # read as Markdown by both converters, the attribute gone
        toc = article[article.index("litblog-toc"):article.index("</nav>")]
        # A heading inside a box is not listed, and the listed one of the same text gets another id.
        assert _parsed(toc).hrefs == ["#results-1", "#more"]
        ids = _parsed(article).ids
        assert len(ids) == len(set(ids)) and "results-1" in ids, ids


def test_a_number_typed_into_an_admonition_is_checked_like_the_text(fresh_project, capsys):
    post = ("---\ntitle: Writing\n---\n\n```{note}\nThe test accuracy is 62.4%.\n```\n\n"
            "```{experiment} base\nrecipe: tiny.stripes\nshow: []\n```\n")
    root = _project(fresh_project, post, bib=None)
    run_cli(root, "--no-run")
    err = capsys.readouterr().err
    assert re.search(r"posts/2024-02-03-writing\.md:6: .*62\.4%", err), err


def test_the_stylesheet_gives_every_tone_its_look():
    css = (Path(__file__).parents[1] / "templates" / "jekyll" / "assets" / "css" / "litblog.css").read_text()
    for tone in {tone for _, tone in KINDS.values()}:
        assert f".litblog-admonition-{tone} {{" in css, tone


def test_a_heading_in_an_admonition_never_shares_its_id_with_a_listed_one():
    from litblog.buildtime.render.toc import headings

    parsed = parse_post(make_post("```{note}\n### Results\n\nText.\n```\n\n## Results\n\nMore.\n\n## Setup\n"))
    assert [h.anchor for h in headings(parsed.blocks)] == ["results-1", "setup"]


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), argument=st.text(max_size=12),
       body=st.lists(st.sampled_from(["Text.", "", ":class: x", "```", "~~~", "{result}`m.x`", "{rsult}`m`",
                                      "## Heading", "> quote", "- item", "{cite:t}`k`", "`code`", "<div>", "$x$"])
                     | st.text(max_size=20), max_size=8))
def test_any_admonition_body_parses_or_is_a_located_error(kind, argument, body):
    text = f"```{{{kind}}} {argument}".rstrip() + "\n" + "\n".join(body) + "\n```\n\n```{experiment} m\nrecipe: a.b\n```\n"
    post = make_post(text)
    try:
        parsed = parse_post(post)
    except UserErrors as errors:
        assert all(error.location is not None and error.location.path == post.path for error in errors.errors)
        return
    for block in parsed.blocks:
        if isinstance(block, Admonition):
            assert block.content.text.strip() and block.content.line >= post.body_line


MATH_POST = r"""---
title: Writing
---

The loss {math}`\mathcal{L}_{i}` of a sample, with {math}`\frac{{a}}{b}` as written.

```{math}
\mathcal{L} = -\sum_{i} y_i \log p_i
```

> Inside a quote:
>
> ```{math}
> e^{{i\pi}} + 1 > 0
> ```
"""


def test_math_role_and_directive_are_typeset_math_in_both_targets(fresh_project, tmp_path):
    """MyST's {math} role and directive become kramdown's $$ math, which both targets hand to
    MathJax as \\( \\) and \\[ \\]; LaTeX braces that look like Liquid survive Jekyll."""
    for html in both_pages(_project(fresh_project, MATH_POST, bib=None), tmp_path):
        article = _article(html)
        assert r"\(\mathcal{L}_{i}\)" in article and r"\(\frac{{a}}{b}\)" in article
        assert re.search(r"\\\[\s*\\mathcal\{L\} = -\\sum_\{i\} y_i \\log p_i\s*\\\]", article), article
        quote = article[article.index("<blockquote>"):article.index("</blockquote>")]
        assert re.search(r"\\\[\s*e\^\{\{i\\pi\}\} \+ 1 &gt; 0\s*\\\]", quote), quote  # no > marker in it
        assert "MathJax" in html  # the page loads it: it has math


@pytest.mark.parametrize("body, words", [
    ("```{math}\n:label: eq-loss\nx\n```\n", "'{math}' takes no options, got ':label:'"),
    ("```{math}\n\n```\n", "this {math} has no LaTeX"),
    ("```{math}\n$$x$$\n```\n", "a {math} holds LaTeX without '$$'"),
    ("A {math}`$$x$$` term.\n", "needs LaTeX without '$$'"),
])
def test_math_mistakes_are_located_errors(body, words):
    with pytest.raises(UserErrors) as info:
        parse_post(make_post(body))
    [error] = info.value.errors
    assert words in error.message and error.location is not None, error.render()


@pytest.mark.parametrize("markdown_text, html", [
    ("Text $$a_1$$ more.", r"<p>Text \(a_1\) more.</p>"),
    ("Para.\n\n$$\nx_1\n$$\n\nAfter.", "<p>Para.</p>\n<p>\\[x_1\\]</p>\n<p>After.</p>"),
    ("A\n$$x$$\nB", "<p>A\n\\(x\\)\nB</p>"),
    # In a quote: the quote's markers are not part of the math, and a paragraph of its own is display math.
    ("> Q:\n>\n> $$\n> e^{i} > 0\n> $$\n>\n> after",
     "<blockquote>\n<p>Q:</p>\n<p>\\[e^{i} &gt; 0\\]</p>\n<p>after</p>\n</blockquote>"),
    ("> inline $$a$$ here", "<blockquote>\n<p>inline \\(a\\) here</p>\n</blockquote>"),
])
def test_the_preview_reads_dollar_math_as_kramdown_does_in_quotes_too(markdown_text, html):
    import markdown

    from litblog.buildtime.publish.preview import _math_extension

    assert markdown.Markdown(extensions=[_math_extension()()]).convert(markdown_text) == html
