"""The site built by real Jekyll, the way GitHub Pages builds it, under a project page's baseurl."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_cli
from litblog.buildtime.render.targets import liquid_verbatim
from site_check import (BASEURL, JEKYLL, LIQUID_POST, NO_JEKYLL, STRIPES_POST, CheckedSite, check_links,
                        checked_site, jekyll_build, missing_posts, page_for, published_posts, require_tool)


@pytest.fixture(scope="session")
def jekyll() -> str:
    """Jekyll's path; asked for first, so a test skips before building anything."""
    return require_tool(JEKYLL, NO_JEKYLL)


@pytest.fixture(scope="module")
def built(jekyll: str, tmp_path_factory: pytest.TempPathFactory, built_project: Path) -> CheckedSite:
    return checked_site(tmp_path_factory.mktemp("jekyll"), built_project)


def page_text(built: CheckedSite, url: str) -> str:
    return page_for(built.jekyll.destination, url).read_text(encoding="utf-8")


def visible_text(html: str) -> str:
    """What a reader sees: tags dropped, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_jekyll_builds_the_site_without_errors_or_warnings(built):
    assert built.jekyll.returncode == 0, built.jekyll.output
    assert built.jekyll.problems == [], built.jekyll.output


def test_every_post_appears_at_its_permalink_and_in_the_index_and_feed(built):
    posts = published_posts(built.site)
    assert len(posts) == 3
    assert missing_posts(built.site, built.jekyll.destination) == []
    index = page_text(built, "/")
    links = re.findall(r'<a class="post-link" href="([^"]+)">', index)
    newest_first = [BASEURL + url for _, url, _ in sorted(posts, reverse=True)]
    assert links == newest_first
    assert "Jan 7, 2026" in index and "Braces {{ in }} the title" in index
    feed = (built.jekyll.destination / "feed.xml").read_text(encoding="utf-8")
    for _, url, _ in posts:
        assert f'<link href="{BASEURL}{url}" rel="alternate"' in feed


def test_no_broken_image_or_internal_link_under_the_baseurl(built):
    report = check_links(built.jekyll.destination, BASEURL)
    assert report.broken == []
    assert report.images >= 2 and report.checked > 20  # the check did look at something


def test_the_check_finds_a_link_that_ignores_the_baseurl(built, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(built.jekyll.destination, copy)
    page = page_for(copy, STRIPES_POST)
    page.write_text(page.read_text().replace(f'src="{BASEURL}/assets/', 'src="/assets/', 1))
    broken = check_links(copy, BASEURL).broken
    assert len(broken) == 1 and "outside the baseurl" in broken[0]


def test_no_broken_image_or_link_in_the_html_preview(built):
    report = check_links(built.site / "_site", None)
    assert report.broken == []
    assert report.images >= 2 and report.checked > 10
    assert missing_posts(built.site, built.site / "_site") == []


def test_liquid_in_code_logs_and_values_is_shown_verbatim(built):
    html = page_text(built, LIQUID_POST)
    text = visible_text(html)
    expected = [
        'first = "{{ code_first }} {% if x %}"', 'second = "{% code_tag %}"',  # an author's code block
        "{{ inline_var }}", "{% inline_tag %}", "{% endraw %};",  # inline code
        "Tiny test blog",  # the author's own Liquid still runs
        "# Liquid in a recipe's code: {{ code_var }} {% code_tag %} "
        '{%endraw%} {{ "{{" }}',  # the recipe's code
        "log: {{ log_var }} {% log_tag %} {% endraw %} {%- endraw -%} {{ unclosed",  # its log
        "echo(ctx, text='param {{ param_var }} {% param_tag %}')",  # the call
        "The recorded note is {{ recorded }} {% recorded_tag %} and the param param {{ param_var }}",
        "tilde {{ tilde_var }} {% tilde_tag %}",
        "endraw variants: {%endraw%} {%- endraw -%} {{ '{% endraw %}' }} and {{ unclosed_var",
    ]
    for snippet in expected:
        assert snippet in text, snippet
    assert "{{ site.title }}" not in text and "{% raw %}" not in text and "{% endraw %}{{" not in text
    # Table cells and recorded metrics too.
    assert re.search(r"<td[^>]*>param \{\{ param_var \}\} \{% param_tag %\}</td>", html)
    assert re.search(r"<td[^>]*>\{\{ recorded \}\} \{% recorded_tag %\}</td>", html)
    # The title is not Liquid either.
    assert "<h1 class=\"post-title p-name\" itemprop=\"name headline\">Braces {{ in }} the title</h1>" in html


def test_math_is_wrapped_for_mathjax_and_mathjax_is_loaded(built):
    html = page_text(built, LIQUID_POST)
    assert r"\(\frac{17}{32}\)" in html  # inline $$ ... $$ inside a paragraph
    assert re.search(r"\\\[\s*\\sum_\{i=1\}\^\{n\} x_i\^2 = \\frac\{a_1\}\{b_2\}\s*\\\]", html)  # display math
    assert 'id="MathJax-script"' in html and "inlineMath: [['\\\\(', '\\\\)']]" in html
    assert 'id="MathJax-script"' not in page_text(built, "/")  # pages without math do without it


def test_tables_logs_code_and_figures_render(built):
    html = page_text(built, STRIPES_POST)
    table = re.search(r"<table>.*?</table>", html, re.S).group(0)
    assert "<th" in table and re.search(r"<td[^>]*><code[^>]*>plain</code></td>", table)
    logs = re.findall(r'<details class="litblog-log">\s*<summary>(.*?)</summary>\s*<pre[^>]*><code>(.*?)</code></pre>\s*'
                      r"</details>", html, re.S)
    assert len(logs) == 2
    summary, log = logs[0]
    assert "Log of <code>plain</code>" in summary
    assert re.search(r"^Epoch 1/2$", log, re.M) and "<p>" not in log  # a log, not Markdown
    assert '<span class="k">def</span> <span class="nf">stripes</span>' in html  # rouge highlighting
    # An SVG with its size, an alt saying what it shows (not the caption again), loaded when scrolled to.
    assert re.search(r'<figure class="litblog-figure">\s*<img src="/some-repo/assets/stripes/flipped-curves.svg" '
                     r'width="\d+" height="\d+" alt="Learning curves of flipped: accuracy and loss per epoch, '
                     r'training against validation" loading="lazy" decoding="async" />\s*'
                     r'<figcaption>Curves with flips; test accuracy [0-9.]+\.', html)


def test_site_furniture_seo_feed_dates_and_a_404_page(built):
    html = page_text(built, STRIPES_POST)
    assert "<title>Stripes, horizontal or vertical | Tiny test blog</title>" in html
    assert '<meta property="og:title" content="Stripes, horizontal or vertical" />' in html
    assert f'<link type="application/atom+xml" rel="alternate" href="{BASEURL}/feed.xml"' in html
    assert re.search(r'<time class="dt-published" datetime="2026-01-05T00:00:00[^"]*"[^>]*>\s*Jan 5, 2026', html)
    assert '<span itemprop="author">Test Author</span>' in html
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert ld["@type"] == "BlogPosting" and ld["url"] == BASEURL + "/" + STRIPES_POST
    # An excerpt that starts with a protected code block still renders (it feeds SEO and the feed).
    liquid = page_text(built, LIQUID_POST)
    description = re.search(r'<meta name="description" content="([^"]*)"', liquid).group(1)
    assert description == "Code, logs and values that look like Liquid, and math."
    not_found = (built.jekyll.destination / "404.html").read_text()
    assert "Page not found" in not_found and f'href="{BASEURL}/"' in not_found


def test_a_future_dated_post_is_announced_and_jekyll_does_not_publish_it(jekyll, project, tmp_path, capsys):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    name = f"{tomorrow:%Y-%m-%d}-later.md"
    (project / "posts" / name).write_text("---\ntitle: Not yet\n---\n\nTomorrow's news.\n")
    assert run_cli(project, f"posts/{name}") == 0
    assert f"posts/{name}: dated {tomorrow}, in the future: Jekyll will not publish it" in capsys.readouterr().err
    jekyll = jekyll_build(project / "site", tmp_path / "out", BASEURL)
    assert jekyll.returncode == 0
    assert any("Skipping" in line and name in line for line in jekyll.problems), jekyll.output
    assert missing_posts(project / "site", jekyll.destination) == [f"_posts/{name}: no page at /{tomorrow:%Y/%m/%d}/later/"]


def test_the_committed_site_builds_with_jekyll(jekyll, tmp_path):
    """site/ as committed is what GitHub Pages builds: it must build cleanly, with every post."""
    source = tmp_path / "site"
    shutil.copytree(REPO / "site", source, ignore=shutil.ignore_patterns("_site", "_build"))
    jekyll = jekyll_build(source, tmp_path / "out", "/litblog")
    assert jekyll.returncode == 0 and jekyll.problems == [], jekyll.output
    assert missing_posts(source, jekyll.destination) == []
    assert check_links(jekyll.destination, "/litblog").broken == []


def test_the_pages_workflow_deploys_the_committed_site_without_training():
    workflow = yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key "on" as True
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses == ["actions/checkout", "actions/configure-pages", "actions/setup-python", "actions/jekyll-build-pages",
                    "actions/upload-pages-artifact", "actions/deploy-pages"]
    build = next(step for step in steps if step.get("uses", "").startswith("actions/jekyll-build-pages"))
    assert build["with"]["source"] == "./site"
    # No training in Actions: the only commands install litblog without TensorFlow and run the check
    # (tests/test_check.py checks their order and what they install).
    commands = [line.strip() for step in steps for line in step.get("run", "").splitlines() if line.strip()]
    assert commands == ["python -m pip install -r requirements-check.txt", "python -m pip install --no-deps .",
                        "build-site --check"]
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["jobs"]["deploy"]["needs"] == "build"


def _ruby_with_liquid() -> str | None:
    ruby = shutil.which("ruby")
    if ruby and subprocess.run([ruby, "-e", "require 'liquid'"], capture_output=True).returncode == 0:
        return ruby
    return None


RUBY = _ruby_with_liquid()
NO_LIQUID = "ruby with the liquid gem is not installed (Debian's jekyll brings both; `bash .ci/run` installs it)"
# Liquid as Jekyll runs it, plus Jekyll's excerpt check (Jekyll::Excerpt#sanctify_liquid_tags):
# the text up to the first blank line must not leave a block tag open.
_LIQUID_SCRIPT = r"""
require 'json'; require 'liquid'
JSON.parse(File.read(ARGV[0])).each do |text|
  begin
    out = Liquid::Template.parse(text, error_mode: :strict).render({})
    head = text.partition("\n\n")[0]
    open = head.scan(/{%-?\s*(\w+)\s*.*?-?%}/m).flatten.select do |name|
      tag = Liquid::Template.tags[name]
      tag && tag.ancestors.include?(Liquid::Block) && head !~ /{%-?\s*end#{name}.*?\s*-?%}/m
    end
    out = "EXCERPT LEAVES OPEN #{open.inspect}" unless open.empty?
  rescue => e
    out = "ERROR #{e.message}"
  end
  puts JSON.generate(out)
end
"""


@pytest.mark.parametrize("block", [False, True])
def test_liquid_verbatim_survives_real_liquid_and_jekylls_excerpts(block, tmp_path):
    """Awkward text through Jekyll's own Liquid comes out as it went in, and the part before the
    first blank line (a post's excerpt) leaves no block open."""
    require_tool(RUBY, NO_LIQUID)
    pieces = ["{{", "}}", "{%", "%}", "}", "{", " ", "\n", "\n\n", "endraw", "-", "'", "x", "{% endraw %}",
              "{%endraw%}", "{%- endraw -%}", "{{ x }}", "{% if x %}", "{% raw %}", "{% endrawx %}", "{% for %}"]
    cases = ["{{ '{% endraw %}' }}", "unclosed {{ here", "{{ a {% endraw %}", "{% a {% endraw %}", "{{ a {% b %}",
             "`{% if x %}` first\n\n{% endif %} later", "{{{%", "a {{", "a {"]
    cases += ["".join(pieces[(i * 7 + j * 3 + i // 21) % len(pieces)] for j in range(i % 9 + 1)) for i in range(500)]
    (tmp_path / "cases.json").write_text(json.dumps([liquid_verbatim(text, block=block) for text in cases]))
    done = subprocess.run([RUBY, "-e", _LIQUID_SCRIPT, str(tmp_path / "cases.json")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outputs = [json.loads(line) for line in done.stdout.splitlines()]
    expected = [f"\n{text}\n" if block else text for text in cases]
    assert len(outputs) == len(cases)
    assert [(text, out) for text, out, want in zip(cases, outputs, expected) if out != want] == []


def test_the_home_page_has_a_heading_and_each_post_its_date_reading_time_and_summary(built):
    home = page_text(built, "/")
    assert re.search(r'<h1 class="home-title">Tiny test blog</h1>', home)
    items = re.findall(r"<li>(.*?)</li>", home.split('<ul class="post-list">')[1].split("</ul>")[0], re.S)
    assert len(items) == 3
    for item in items:
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">\w{3} \d+, \d{4}</time> · \d+ min read', item), item
        assert re.search(r"<p>[^<]{10,}</p>", item), item  # a summary: the description, else the first paragraph
    # The stripes post has no description: its summary is its first paragraph, as plain text.
    assert "A post about stripes." in home
    assert re.search(r'<p class="post-meta">.*?· 1 min read', page_text(built, STRIPES_POST), re.S)


def test_reading_time_counts_the_prose_and_the_summary_is_the_first_paragraph():
    from litblog.buildtime.render.reading import first_paragraph, reading_minutes

    prose = " ".join(["word"] * 460)
    code = "```python\n" + "x = 1\n" * 2000 + "```\n"
    directive = "```{experiment} model1\nrecipe: a.b\n```\n"
    assert reading_minutes(f"{prose}\n\n{code}\n{directive}") == 2  # 460 words at 230 a minute; code skimmed
    assert reading_minutes("") == 1
    body = f"{directive}\nThe model reaches {{result}}`model1.test.accuracy` on *held-out* [data](x).\n\nMore."
    assert first_paragraph(body) == "The model reaches model1.test.accuracy on held-out data."
    assert first_paragraph("word " * 200).endswith(" …") and len(first_paragraph("word " * 200)) <= 302
