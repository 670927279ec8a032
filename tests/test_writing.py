"""Research writing (issue 17): numbered figures and tables with {ref}/{numref}, footnotes,
{cite} from a BibTeX file with a References section, and a table of contents; in both targets,
the Jekyll tree checked through real Jekyll. Results are written by hand (nothing trains)."""

from __future__ import annotations

from html import unescape
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import run_cli
from litblog.buildtime.render.bibliography import latex_text, parse_bibtex
from litblog.buildtime.sources.config import load_config
from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.plan.plan import make_plan
from litblog.buildtime.render.targets import strip_verbatim
from litblog.buildtime.render.toc import slug
from litblog.common.errors import UserError, UserErrors
from litblog.common.store import ResultStore
from site_check import JEKYLL, NO_JEKYLL, jekyll_build, require_tool
from test_render import fake_result

BIB = r"""
% a comment line
@string{jmlr = "Journal of Machine Learning Research"}
@article{lecun1998,
  author = {LeCun, Yann and Bottou, L{\'e}on and Bengio, Yoshua and Haffner, Patrick},
  title = {Gradient-Based Learning Applied to Document Recognition},
  journal = {Proceedings of the IEEE}, volume = 86, number = {11}, pages = {2278--2324},
  year = 1998, doi = {10.1109/5.726791},
}
@inproceedings{he2016,
  author = "Kaiming He and Xiangyu Zhang",
  title = "Deep Residual Learning for {Image} Recognition",
  booktitle = "CVPR", year = {2016},
  url = {https://example.org/resnet?a=1&b=<2>},
}
@article{srivastava2014, author = {Nitish Srivastava}, title = {Dropout}, journal = jmlr # " 15", year = 2014}
@comment{ @article{ignored, title = {not an entry}} }
"""

POST = """---
title: Writing
bibliography: refs.bib
---

As {numref}`Fig. %s <fig-curves>` shows, and {ref}`tab-scores` lists, the model learns{cite}`lecun1998`.
Residual nets{cite}`he2016,srivastava2014` are another story[^deep]. See {ref}`the curves <fig-curves>`. As {cite:t}`lecun1998` showed{cite:p}`srivastava2014`, {cite:t}`he2016,srivastava2014` agree.

[^deep]: A footnote with *emphasis* and a value.

## Data and setup

```{experiment} base
recipe: tiny.stripes
params: {epochs: 3}
show: []
```

## Results

```{figure} base.curves
name: fig-curves
caption: Learning curves, as {ref}`tab-scores` summarises.
```

```{table}
name: tab-scores
experiments: [base]
columns: [test.accuracy]
caption: Scores.
```

### Détails, "quoted" & more

```{chart}
name: fig-bars
experiments: [base]
value: test.accuracy
```

## Results

Chart: {ref}`fig-bars`.
"""


def _project(fresh_project: Path, post: str = POST, bib: str | None = BIB) -> Path:
    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    (fresh_project / "posts" / "2024-02-03-writing.md").write_text(post)
    if bib is not None:
        (fresh_project / "refs.bib").write_text(bib)
    config = load_config(fresh_project)
    try:
        parsed = _parse(_read_posts(config))
    except UserErrors:
        return fresh_project  # a mistake found before planning: the build reports it
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    for experiment in plan.experiments.values():
        if not (store.folder(experiment.recipe.reference, experiment.key) / "manifest.json").exists():
            fake_result(store, experiment, [0.5, 0.61, 0.58], 0.6237)
    return fresh_project


def both_pages(root: Path, tmp_path: Path) -> tuple[str, str]:
    """The post's page of ``root`` built with ``--no-run``: as real Jekyll builds it (under a
    baseurl, with no warning) and as the preview holds it."""
    require_tool(JEKYLL, NO_JEKYLL)
    assert run_cli(root, "-q", "--no-run") == 0
    site = root / "site"
    built = jekyll_build(site, tmp_path / "out", "/some-repo")
    assert built.returncode == 0 and not built.problems, built.output
    return (next((tmp_path / "out").rglob("writing/index.html")).read_text(),
            next((site / "_site").rglob("writing/index.html")).read_text())


def _errors(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert run_cli(root, "--no-run") == 2
    return capsys.readouterr().err


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")


def _parsed(html: str) -> _Ids:
    ids = _Ids()
    ids.feed(html)
    return ids


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _article(html: str) -> str:
    """The post's content (not the site's furniture)."""
    match = re.search(r'<div class="post-content[^"]*"[^>]*>(.*)</article>', html, re.S) or \
        re.search(r"<article[^>]*>(.*)</article>", html, re.S)
    assert match, html[:2000]
    return match.group(1)


def _check_page(html: str) -> None:
    article = _article(html)
    ids = _parsed(article)
    text = _text(article)
    # Numbered figures and tables, their captions and references (charts count as figures).
    assert "Figure 1: Learning curves, as Table 1 summarises." in text
    assert "Table 1: Scores." in text
    assert "Figure 2" in text and "Chart: Figure 2." in text
    assert "As Fig. 1 shows, and Table 1 lists" in text
    assert "See the curves." in text
    for anchor in ("fig-curves", "tab-scores", "fig-bars"):
        assert anchor in ids.ids and f"#{anchor}" in ids.hrefs
    # Citations and the References section, in the order first cited.
    assert "(LeCun et al., 1998)" in text and "(He and Zhang, 2016; Srivastava, 2014)" in text
    # MyST's styles: {cite:p} parenthetical, {cite:t} textual (the work named in the sentence).
    assert "As LeCun et al. (1998) showed(Srivastava, 2014), He and Zhang (2016); Srivastava (2014) agree." in text
    assert len(re.findall(r'href="#ref-lecun1998"', article)) == 2
    refs = article[article.index("litblog-references"):]
    assert _text(refs).index("Yann LeCun, Léon Bottou") < _text(refs).index("Kaiming He") \
        < _text(refs).index("Nitish Srivastava")
    assert "Deep Residual Learning for Image Recognition" in refs and "pp. 2278–2324" in refs
    assert "Journal of Machine Learning Research 15" in refs
    assert 'href="https://doi.org/10.1109/5.726791"' in refs
    assert "&lt;2&gt;" in refs and "<2>" not in refs  # the URL is escaped
    for key in ("lecun1998", "he2016", "srivastava2014"):
        assert f"ref-{key}" in ids.ids and f"#ref-{key}" in ids.hrefs
    assert "ignored" not in refs
    # The footnote: a link to a note at the end, and back.
    notes = [href for href in ids.hrefs if href.startswith("#fn")]
    assert len(notes) >= 2 and all(href[1:] in ids.ids for href in notes)
    assert "A footnote with emphasis and a value." in text
    assert "<em>emphasis</em>" in article
    # The contents: every entry links to a heading with that id, the same in both targets.
    # The contents come after the introduction (whose first paragraph stays the excerpt), before the first heading.
    assert article.index("Residual nets") < article.index("litblog-toc") < article.index('id="data-and-setup"')
    toc = article[article.index("litblog-toc"):article.index("</nav>")]
    toc_links = _parsed(toc).hrefs
    assert toc_links == ["#data-and-setup", "#results", "#details-quoted--more", "#results-1"]
    for href in toc_links:
        assert re.search(rf'<h[23][^>]* id="{href[1:]}"', article), href
    assert "Détails, &#34;quoted&#34; &amp; more" in toc  # escaped text


def test_references_footnotes_citations_and_contents_in_both_targets(fresh_project, tmp_path):
    jekyll_page, preview_page = both_pages(_project(fresh_project), tmp_path)
    for html in (jekyll_page, preview_page):
        _check_page(html)
    # The anchors a reader's link would use are the same in both targets.
    assert sorted(set(_parsed(_article(jekyll_page)).ids) - {"markdown-toc"}) == \
        sorted(set(_parsed(_article(preview_page)).ids))


@pytest.mark.parametrize("change, message", [
    (("{ref}`tab-scores` lists", "{ref}`tab-score` lists"),
     r"posts/2024-02-03-writing\.md:6: no figure or table is named 'tab-score' \(did you mean 'tab-scores'\?\)"),
    (("Chart: {ref}`fig-bars`", "Chart: {numref}`fig-bar`"),
     r"posts/2024-02-03-writing\.md:43: no figure or table is named 'fig-bar' \(did you mean 'fig-bars'\?\)"),
    (("name: fig-bars", "name: fig-curves"),
     r"posts/2024-02-03-writing\.md:35: 'fig-curves' names two blocks\n  hint: the first is at line 21"),
    (("{cite}`lecun1998`", "{cite}`lecun1989`"),
     r"posts/2024-02-03-writing\.md:6: 'lecun1989' is not in refs\.bib \(did you mean 'lecun1998'\?\)"),
    (("{cite}`lecun1998`", "{cite:year}`lecun1998`"),
     r"posts/2024-02-03-writing\.md:6: unknown role '\{cite:year\}' \(did you mean 'cite:t'|'cite:p'|'cite'"),
    (("{cite:t}`lecun1998`", "{cite:t}`lecun 1998`"),
     r"posts/2024-02-03-writing\.md:7: \{cite:t\}`lecun 1998` needs bibliography keys separated by commas"),
    (("showed{cite:p}`srivastava2014`", "showed{cite:p}`srivastava2014,`"),
     r"posts/2024-02-03-writing\.md:7: \{cite:p\}`srivastava2014,` needs bibliography keys separated by commas\n"
     r"  hint: write \{cite:p\}`lecun1998`"),
    (("bibliography: refs.bib", "bibliography: missing.bib"),
     r"posts/2024-02-03-writing\.md:3: the bibliography file 'missing\.bib' does not exist"),
    (("bibliography: refs.bib", "toc: maybe"),
     r"posts/2024-02-03-writing\.md:3: 'toc' must be true or false"),
    (("name: tab-scores", "name: 2 scores"),
     r"posts/2024-02-03-writing\.md:\d+: 'name' is '2 scores', which cannot be"),
])
def test_reference_and_citation_mistakes_are_located_errors(fresh_project, capsys, change, message):
    root = _project(fresh_project, POST.replace(*change))
    if change[1] == "toc: maybe":
        (root / "references.bib").write_text(BIB)  # the project's default bibliography
    assert re.search(message, _errors(root, capsys)), change


def test_a_citation_without_any_bibliography_is_a_located_error(fresh_project, capsys):
    root = _project(fresh_project, POST.replace("bibliography: refs.bib\n", ""), bib=None)
    err = _errors(root, capsys)
    assert re.search(r"posts/2024-02-03-writing\.md:6: a citation needs a bibliography", err)
    assert "references.bib" in err


def test_a_broken_bib_file_is_an_error_at_its_line(fresh_project, capsys):
    lines = BIB.count("\n")
    root = _project(fresh_project, bib=BIB + "@misc{broken,\n  title = {never closed\n")
    assert re.search(rf"refs\.bib:{lines + 2}: this brace is never closed", _errors(root, capsys))


def test_bibtex_reader_values_strings_and_names():
    entries = parse_bibtex(BIB, "refs.bib")
    assert sorted(entries) == ["he2016", "lecun1998", "srivastava2014"]
    lecun = entries["lecun1998"]
    assert lecun.kind == "article" and lecun.location.line == 4
    assert lecun.names[1] == ("Bottou", "Léon") and lecun.short_authors == "LeCun et al."
    assert lecun.field("volume") == "86" and lecun.year == "1998"
    assert entries["he2016"].names == [("He", "Kaiming"), ("Zhang", "Xiangyu")]
    assert entries["srivastava2014"].field("journal") == "Journal of Machine Learning Research 15"
    parens = parse_bibtex('@book(k1, author = {Ludwig van Beethoven and {Barnes and Noble}}, year = "1800")', "b")
    assert parens["k1"].names == [("van Beethoven", "Ludwig"), ("Barnes and Noble", "")]
    assert latex_text(r"Schr{\"o}dinger \& {\v{S}}koda --- \emph{x}") == "Schrödinger & Škoda — x"
    with pytest.raises(UserError, match="used twice"):
        parse_bibtex("@misc{a, title={x}}\n@misc{a, title={y}}", "d.bib")
    with pytest.raises(UserError, match="'nope' is no @string"):
        parse_bibtex("@misc{a, journal = nope}", "d.bib")


def test_contents_only_for_long_posts_or_when_asked(fresh_project):
    short = POST.replace("### Détails", "Détails").replace("## Results\n\nChart", "Chart")
    root = _project(fresh_project, short)
    assert run_cli(root, "-q", "--no-run") == 0
    body = next((root / "site" / "_posts").glob("*writing.md")).read_text()
    assert "litblog-toc" not in body and "{#" not in body
    (root / "posts" / "2024-02-03-writing.md").write_text(short.replace("title: Writing", "title: Writing\ntoc: true"))
    assert run_cli(root, "-q", "--no-run") == 0
    body = next((root / "site" / "_posts").glob("*writing.md")).read_text()
    assert "litblog-toc" in body and "## Results {#results}" in body


@pytest.mark.parametrize("text, expected", [
    ("Data and setup", "data-and-setup"), ("Détails, \"quoted\" & more", "details-quoted--more"),
    ("2. Results", "results"), ("!!!", "section"), ("snake_case words", "snake_case-words"),
])
def test_heading_anchor_follows_kramdowns_gfm_ids(text, expected):
    assert slug(text) == expected


# -- notices for readers ---------------------------------------------------------------------------

BLOCKED_MESSAGE = ("ImageNet weights for MobileNetV2 are not available: w.h5 is not in the Keras cache "
                   "(~/.keras/models) and the download failed (Exception: URL fetch failure on "
                   "https://storage.example/w.h5: [Errno -2] Name or service not known). To provide them, "
                   "copy the file into ~/.keras/models/ (or set KERAS_HOME), then run build-site again.")

NOTICE_POST = """---
title: Notices
---

```{experiment} base
recipe: tiny.stripes
params: {epochs: 3}
show: []
```

```{experiment} weights
recipe: tiny.stripes
params: {epochs: 4}
show: [log]
```

```{experiment} weights_too
recipe: tiny.stripes
params: {epochs: 5}
show: []
```

```{experiment} multi
recipe: tiny.stripes
params: {epochs: 3}
seeds: [1, 2]
show: []
```

```{experiment} later
recipe: tiny.stripes
params: {epochs: 6}
show: []
```

Weights: {result}`weights.test.accuracy`, again {result}`weights.test.accuracy`, {result}`weights_too.test.accuracy`.

```{table}
experiments: [base, weights, later]
columns: [test.accuracy, val_accuracy.best]
```

```{chart}
experiments: [base, weights]
value: test.accuracy
```
"""


def test_notices_say_in_one_sentence_what_is_missing_with_the_details_folded(fresh_project, monkeypatch):
    from litblog.buildtime.render.blocks import chart

    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    (fresh_project / "posts" / "2024-02-03-notices.md").write_text(NOTICE_POST)
    config = load_config(fresh_project)
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(_parse(_read_posts(config)), config, store)
    epochs = {e.key: e.params["epochs"] for e in plan.experiments.values()}
    for experiment in plan.experiments.values():
        if epochs[experiment.key] == 3 and experiment.seed != 2:  # base (seed 1) and multi's seed 1
            fake_result(store, experiment, [0.5, 0.61, 0.58], 0.6237)
        elif epochs[experiment.key] in (4, 5):
            store.record_blocked(experiment.recipe.reference, experiment.key, BLOCKED_MESSAGE, ["models/w.h5"])
    drawn = []
    original = chart._draw_chart
    monkeypatch.setattr(chart, "_draw_chart", lambda drawing, target: (drawn.append(drawing), original(drawing, target)))
    assert run_cli(fresh_project, "-q", "--no-run") == 0
    body = next((fresh_project / "site" / "_posts").glob("*notices.md")).read_text()
    notices = re.findall(r'<div class="litblog-notice" id="litblog-notice-([\w-]+)".*?</div>', body, re.S)
    assert sorted(notices) == ["later", "multi", "weights", "weights_too"]  # one per experiment
    text = {name: _text(block) for name, block in
            re.findall(r'<div class="litblog-notice" id="litblog-notice-([\w-]+)"(.*?)</div>', body, re.S)}
    assert text["weights"].startswith(
        ' role="note"> Experiment weights needs the ImageNet weights for MobileNetV2, which were not available when this site '
        'was built. Details for the author')
    # The author's details (exception, URL, KERAS_HOME) are folded, and shown once for the page.
    assert body.count("Name or service not known") == 1 and body.count("KERAS_HOME") == 1
    assert re.search(r"<details[^>]*><summary>Details for the author</summary><p>It could not run: ImageNet", body)
    assert 'Details: as for <a href="#litblog-notice-weights"><code>weights</code></a>' in body
    assert "Experiment multi is shown without seed 2 of its 2: it has not been run" in text["multi"]
    assert "Experiment later has not been run since its code or settings changed." in text["later"]
    assert "as for" not in text["multi"] + text["later"]  # details of their own
    # Tables and charts say "not run", linking to the notice, instead of empty cells and bars.
    rows = dict(re.findall(r"^\| `(\w+)` \|(.*)\|$", body, re.M))
    for name in ("weights", "later"):
        assert _text(rows[name]).split("|") == [" not run ", " not run "]
        assert rows[name].count(f'href="#litblog-notice-{name}"') == 2
    assert "62.4%" in rows["base"] or "0.6237" in rows["base"]
    assert drawn and drawn[0]["values"][1] is None and drawn[0]["notes"] == [None, "not run"]
    assert 'Not run: <a class="litblog-missing" href="#litblog-notice-weights">weights</a>' in body


# -- prose first: one training table per experiment, imports shown once -----------------------------

SEEDS_POST = """---
title: Seeds
---

```{experiment} multi
recipe: tiny.stripes
params: {epochs: 3}
seeds: [1, 2, 3]
show: [code, log]
```

```{experiment} again
recipe: tiny.stripes
params: {epochs: 4}
show: [code]
```
"""
SEED_CURVES = {1: [0.5, 0.61, 0.58], 2: [0.52, 0.66, 0.7], 3: [0.45, 0.6, 0.71]}


def test_several_seeds_make_one_mean_and_std_table_with_each_seed_folded_and_imports_shown_once(
        fresh_project, tmp_path):
    import numpy as np

    from litblog.buildtime.results.log_table import metric_value

    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    (fresh_project / "posts" / "2024-02-03-seeds.md").write_text(SEEDS_POST)
    config = load_config(fresh_project)
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(_parse(_read_posts(config)), config, store)
    for experiment in plan.experiments.values():
        fake_result(store, experiment, SEED_CURVES.get(experiment.seed, [0.5] * 4), 0.6)
    assert run_cli(fresh_project, "-q", "--no-run") == 0
    body = next((fresh_project / "site" / "_posts").glob("*seeds.md")).read_text()
    # One HTML table of epochs outside the fold; the three seeds' own tables (aligned text, one
    # focusable labelled <pre> each: the page stays light) and logs inside it.
    folded_at = body.index('<details class="litblog-seed-logs">')
    outside, inside = body[:folded_at], body[folded_at:]
    assert outside.count('<table class="litblog-epochs">') == 1 and '<table class="litblog-epochs">' not in inside
    texts = re.findall(r'<pre class="litblog-epochs-text" tabindex="0" role="region" aria-label="([^"]*)"><code>'
                       r'\{% raw %\}(.*?)\{% endraw %\}</code></pre>', inside, re.S)
    assert [label.split(", ")[0] for label, _ in texts] == [f"Training table of multi (seed {s}" for s in (1, 2, 3)]
    for seed, (_, text) in zip((1, 2, 3), texts):
        head, *lines = text.rstrip("\n").split("\n")
        assert head.split() == ["epoch", "time", "accuracy", "val", "accuracy"]
        assert len({len(line) for line in [head, *lines]}) == 1  # columns aligned
        assert [line.split()[-1] for line in lines] == [metric_value(v) for v in SEED_CURVES[seed]]
    assert "Each seed&#39;s training and log (3 seeds: 1, 2, 3)" in inside
    assert "mean ± standard deviation over seeds 1, 2, 3" in outside and "litblog-log" not in outside
    rows = re.findall(r"<tr><td class=\"litblog-num\">(\d+)</td><td class=\"litblog-num\">[^<]*</td>(.*?)</tr>", outside)
    assert [int(epoch) for epoch, _ in rows] == [1, 2, 3]
    for (epoch, cells), index in zip(rows, range(3)):
        accuracy, val_accuracy = re.findall(r'<td class="litblog-num">([^<]*)</td>', cells)
        values = np.array([SEED_CURVES[seed][index] for seed in (1, 2, 3)])
        assert val_accuracy == f"{metric_value(values.mean())} ± {metric_value(values.std(ddof=1))}"
        assert accuracy == "0.5000 ± 0.0000"
    # The import header: in full with the first listing, folded in the later one of the same module.
    # (listings are highlighted at build time: a span per keyword run, the same HTML in both targets)
    listing = '<pre class="highlight"><code>'
    plain = lambda part: unescape(re.sub(r"<[^>]+>", "", strip_verbatim(part)))  # noqa: E731
    first, second = (plain(part) for part in body.split(listing)[1:3])
    assert first.startswith("from recipes.helpers import tiny_cnn")
    assert "from recipes.helpers" not in second and "def stripes(" in second
    fold = body[body.index('<details class="litblog-imports">'):]
    assert fold.index("from recipes.helpers import tiny_cnn") < fold.index("</details>") < fold.index(listing)
    # Both targets read it as HTML: Jekyll builds it with nothing to complain about, and the preview too.
    built = jekyll_build(fresh_project / "site", tmp_path / "out", "/some-repo")
    assert built.returncode == 0 and not built.problems, built.output
    for html in (next((tmp_path / "out").rglob("seeds/index.html")).read_text(),
                 next((fresh_project / "site" / "_site").rglob("seeds/index.html")).read_text()):
        article = _article(html)
        assert article.count('<table class="litblog-epochs">') == 1
        assert article.count('<pre class="litblog-epochs-text" tabindex="0" role="region"') == 3
        assert re.search(r'<details class="litblog-seed-logs">\s*<summary>', article)
        assert "<p>&lt;details" not in article and "```" not in article
        assert 'class="litblog-imports"' in article


# -- the BibTeX reader and heading anchors under generated input ------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_PLAIN = st.text(st.characters(blacklist_characters="{}\\\"@%\r", blacklist_categories=("Cs",)), max_size=30)
_BRACED = st.recursive(_PLAIN, lambda inner: st.builds(lambda a, b, c: f"{a}{{{b}}}{c}", _PLAIN, inner, _PLAIN),
                       max_leaves=4)
_FIELD = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
_KEY_TEXT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_:.-]{0,15}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEY_TEXT, st.dictionaries(_FIELD, _BRACED, max_size=4), min_size=1, max_size=4),
       st.booleans())
def test_bibtex_values_come_back_as_written(entries, quoted):
    text = "\n".join(
        f"@misc{{{key},\n" + "".join(
            f'  {name} = {{{value}}},\n' if not quoted or "{" in value else f'  {name} = "{value}",\n'
            for name, value in fields.items()) + "}"
        for key, fields in entries.items())
    parsed = parse_bibtex(text, "x.bib")
    assert {key: entry.fields for key, entry in parsed.items()} == entries


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("@{}(),=#\"%\\ \nabc1")), max_size=60))
def test_any_bib_text_is_entries_or_a_located_error(text):
    try:
        parse_bibtex(text, "x.bib")
    except UserError as error:
        assert error.location.path == "x.bib" and 1 <= error.location.line <= text.count("\n") + 1


@given(st.text(max_size=40))
def test_heading_anchors_are_ids_kramdown_accepts(text):
    assert re.fullmatch(r"[A-Za-z][\w:-]*", slug(text), re.ASCII)


@pytest.mark.parametrize("why, failure, blocked, expected", [
    ("blocked", "The run could not start: " + BLOCKED_MESSAGE, None,  # blocked in this build
     "needs the ImageNet weights for MobileNetV2, which were not available when this site was built."),
    ("blocked", "It could not run: " + BLOCKED_MESSAGE, BLOCKED_MESSAGE,  # blocked in an earlier build
     "needs the ImageNet weights for MobileNetV2, which were not available when this site was built."),
    ("blocked", "The run could not start: cannot load the cached file", None,
     "could not start when this site was built: a file it needs was missing."),
    ("failed", "The run failed: ZeroDivisionError", None, "stopped with an error when this site was built."),
    ("timeout", "The run timed out: after 5 s", None, "ran out of time when this site was built."),
    ("not-run", "It has not been run.", None, "has not been run yet."),
])
def test_the_readers_sentence_for_each_reason(why, failure, blocked, expected):
    from types import SimpleNamespace

    from litblog.buildtime.render import notices
    from litblog.buildtime.execute.outcomes import ExperimentOutcome, SeedOutcome

    experiment = SimpleNamespace(blocked=blocked, reason="x changed", seed=0)
    one = ExperimentOutcome.of_seeds([SeedOutcome(0, experiment, None, failure, why)])  # type: ignore[arg-type]
    assert notices.sentence(one) == expected
    assert (notices.details(one) is None) == (why == "not-run")
    both = ExperimentOutcome.of_seeds([SeedOutcome(0, experiment, None, failure, why),  # type: ignore[arg-type]
                                       SeedOutcome(1, experiment, None, failure, why)])  # type: ignore[arg-type]
    assert notices.sentence(both) == "(both seeds) " + expected


def test_citations_that_would_read_alike_get_letters():
    from litblog.buildtime.render.bibliography import Bibliography

    entries = parse_bibtex("@misc{b, author={Ann Smith}, year=2020}\n@misc{a, author={Smith, Ann}, year=2020}\n"
                           "@misc{c, author={Ann Smith and Bo Li and Cy Ng}, year=2020}\n"
                           "@misc{d, author={Ann Smith and Bo Li and Di Wu}, year=2020}\n@misc{e, author={Smith}}",
                           "s.bib")
    years = Bibliography(("s.bib",), entries).years
    assert years == {"b": "2020a", "a": "2020b", "c": "2020a", "d": "2020b", "e": "n.d."}


def test_seed_table_counts_the_runs_behind_each_value():
    from litblog.buildtime.results.log_table import epoch_table, seeds_table, spread_value

    def table(values):
        return epoch_table({"epochs": list(range(1, len(values) + 1)), "metrics": {"val_loss": values}}, "")

    combined = seeds_table([(0, table([1.0, 0.5, 0.25])), (1, table([3.0, 0.7])), (2, table([2.0, float("nan")]))])
    assert combined is not None and combined.seeds == (0, 1, 2) and combined.columns == ("val_loss",)
    cells = [spread_value(row[2][0], 3) for row in combined.rows]
    assert cells == ["2.0000 ± 1.0000", "0.6000 ± 0.1414 (n = 2)", "0.2500 (n = 1)"]
    assert seeds_table([(0, table([1.0]))]) is None  # one run: its own table is the table


SETEXT_POST = """---
title: Setext
toc: true
---

An introduction.

Data and setup
--------------

Prose.

### Model

A title that
spans two lines
---------------

After it, a thematic break:

---

Discussion
----------

Closing words.
"""


def test_setext_headings_are_in_the_contents_with_the_same_anchors_in_both_targets(fresh_project, tmp_path):
    """``Title`` over dashes is a level-2 heading for kramdown, Python-Markdown and CommonMark alike."""
    root = _project(fresh_project, SETEXT_POST, bib=None)
    pages = both_pages(root, tmp_path)
    source = next((root / "site" / "_posts").glob("*writing*")).read_text()
    assert "Data and setup {#data-and-setup}\n--------------" in source
    assert "spans two lines\n---" in source and "{#a-title" not in source  # a two-line title is left alone
    for html in pages:
        article = _article(html)
        toc = article[article.index("litblog-toc"):article.index("</nav>")]
        assert _parsed(toc).hrefs == ["#data-and-setup", "#model", "#discussion"]
        for anchor in ("data-and-setup", "discussion"):
            assert re.search(rf'<h2[^>]* id="{anchor}"', article), anchor
        assert re.search(r'<h3[^>]* id="model"', article)
        assert "<hr" in article and "After it, a thematic break:" in _text(article)
