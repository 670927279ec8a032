"""Built pages in headless Chromium, served over HTTP the way GitHub Pages serves a project page.

MathJax comes from a CDN, and the test machine has no network: requests for it are answered
with a loader for Debian's MathJax 2 (libjs-mathjax, served locally), which typesets the same
``\\(...\\)`` and ``\\[...\\]`` delimiters. Without that package they are answered with an empty
script, and only the typesetting test is skipped. So every console error counts.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest

from chromium import CHROMIUM, MATHJAX_CDN, NO_CHROMIUM, Chromium, Page
from conftest import REPO, run_cli, snapshot
from site_check import (BASEURL, JEKYLL, LIQUID_POST, NO_JEKYLL, STRIPES_POST, CheckedSite, checked_site,
                        jekyll_build, published_posts, require_tool)

LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax")
ARTIFACTS = Path(os.environ.get("LITBLOG_TEST_ARTIFACTS", REPO / ".litblog" / "test-artifacts"))
# Every image decoded (decoding="async" images off the screen are otherwise blank in a full-page shot);
# an image that cannot be decoded rejects, and the test fails.
DECODED = "Promise.all(Array.from(document.images).map(img => img.decode())).then(() => true)"
IMAGES = "Array.from(document.images).map(i => ({src: i.currentSrc, complete: i.complete, width: i.naturalWidth}))"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def tools() -> None:
    """Jekyll and Chromium; asked for first, so the tests skip before building anything."""
    require_tool(JEKYLL, NO_JEKYLL)
    require_tool(CHROMIUM, NO_CHROMIUM)


@pytest.fixture(scope="module")
def built(tools: None, tmp_path_factory: pytest.TempPathFactory, built_project: Path) -> CheckedSite:
    return checked_site(tmp_path_factory.mktemp("jekyll"), built_project)


@pytest.fixture(scope="module")
def server(built: CheckedSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A static server with the Jekyll site under its baseurl, the preview under /preview/, and MathJax."""
    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(built.jekyll.destination, root / BASEURL.strip("/"))
    shutil.copytree(built.site / "_site", root / "preview")
    if (LOCAL_MATHJAX / "MathJax.js").is_file():
        (root / "mathjax").symlink_to(LOCAL_MATHJAX)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(built: CheckedSite) -> Iterator[Chromium]:
    with Chromium(width=1200, height=900) as chromium:
        yield chromium


def open_page(browser: Chromium, url: str) -> Page:
    page = browser.new_page()
    loader = b""
    if (LOCAL_MATHJAX / "MathJax.js").is_file():
        loader = (b"(function(){var s=document.createElement('script');"
                  b"s.src='/mathjax/MathJax.js?config=TeX-AMS_SVG';document.head.appendChild(s);})();")
    page.answer(MATHJAX_CDN, loader, "text/javascript")
    page.goto(url)
    return page


def assert_images_loaded_and_no_console_errors(page: Page, *, at_least: int) -> None:
    page.wait_until("document.readyState === 'complete'")
    # Images below the first screen load lazily: ask for them all, as a reader scrolling down would.
    page.evaluate("document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; })")
    page.wait_until("Array.from(document.images).every(img => img.complete)")
    page.evaluate(DECODED)
    images = page.evaluate(IMAGES)
    assert len(images) >= at_least, images
    assert [image for image in images if not image["complete"] or image["width"] == 0] == []
    page.evaluate("new Promise(done => setTimeout(done, 300))")  # late requests (icons) report too
    assert [str(entry) for entry in page.console] == []


@pytest.mark.parametrize("post", [STRIPES_POST, LIQUID_POST])
def test_a_post_loads_with_every_image_and_no_console_error(browser, server, post):
    page = open_page(browser, f"{server}{BASEURL}/{post}")
    assert_images_loaded_and_no_console_errors(page, at_least=2 if post == STRIPES_POST else 0)
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("-apple-system")  # CSS loaded
    assert page.evaluate("document.querySelectorAll('details.litblog-provenance').length") == 1  # its card
    assert page.evaluate("document.querySelector('details.litblog-provenance').open") is False  # folded
    shot = page.screenshot(ARTIFACTS / "browser" / (post.strip("/").replace("/", "-") + ".png"))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_the_index_and_the_404_page_load(browser, server):
    page = open_page(browser, f"{server}{BASEURL}/")
    assert_images_loaded_and_no_console_errors(page, at_least=0)
    titles = page.evaluate("Array.from(document.querySelectorAll('.post-link')).map(a => a.textContent)")
    assert titles == ["Braces {{ in }} the title", "Counting images", "Stripes, horizontal or vertical"]
    page.screenshot(ARTIFACTS / "browser" / "index.png")
    page.evaluate("document.querySelector('.post-link').click()")
    page.wait_until(f"location.pathname === '{BASEURL}/{LIQUID_POST}'")
    page = open_page(browser, f"{server}{BASEURL}/404.html")
    assert page.evaluate("document.querySelector('h1').textContent") == "Page not found"


def test_math_is_typeset(browser, server):
    if not (LOCAL_MATHJAX / "MathJax.js").is_file():
        pytest.skip("Debian's libjs-mathjax is not installed (`bash .ci/run` installs it): MathJax cannot load offline")
    page = open_page(browser, f"{server}{BASEURL}/{LIQUID_POST}")
    page.wait_until("document.querySelectorAll('.MathJax_SVG, .MathJax_SVG_Display').length >= 2", timeout=60)
    assert page.evaluate("document.querySelectorAll('.MathJax_SVG_Display').length") == 1  # the display equation
    assert page.evaluate("document.querySelectorAll('.merror, .MathJax_Error').length") == 0
    assert [str(entry) for entry in page.console] == []
    page.screenshot(ARTIFACTS / "browser" / "math.png")


def test_a_training_log_is_folded_until_its_summary_is_clicked(browser, server):
    page = open_page(browser, f"{server}{BASEURL}/{STRIPES_POST}")
    assert page.evaluate("document.querySelectorAll('details.litblog-log').length") == 2
    folded = page.evaluate("document.querySelector('details.litblog-log').offsetHeight")
    assert page.evaluate("document.querySelector('details.litblog-log pre').checkVisibility()") is False
    page.evaluate("document.querySelector('details.litblog-log summary').click()")
    assert page.evaluate("document.querySelector('details.litblog-log').open") is True
    assert page.evaluate("document.querySelector('details.litblog-log pre').checkVisibility()") is True
    assert page.evaluate("document.querySelector('details.litblog-log').offsetHeight") > folded + 50


def test_a_post_fits_a_phone_screen(tools, server):
    with Chromium(width=390, height=844) as phone:
        page = open_page(phone, f"{server}{BASEURL}/{STRIPES_POST}")
        # Wide summaries and tables scroll inside their boxes; the page itself does not.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(ARTIFACTS / "browser" / "phone.png")


def test_the_html_preview_loads_with_every_image_and_no_console_error(browser, server):
    page = open_page(browser, f"{server}/preview/{STRIPES_POST}index.html")
    assert_images_loaded_and_no_console_errors(page, at_least=2)
    assert page.evaluate("document.querySelector('.post-title').textContent") == "Stripes, horizontal or vertical"
    page.evaluate("document.querySelector('.site-title').click()")
    page.wait_until("location.pathname === '/preview/index.html'")
    assert page.evaluate("document.querySelectorAll('.post-link').length") == 3


# -- nothing cut off: every post of both sites at a desktop and a phone width ------------------

WIDTHS = (1280, 390)
# Each summary, log, code block, table or figure of the article (folded parts opened first) that
# is wider than the article, or whose content is wider than itself, must scroll inside a box of
# its own: itself or an ancestor below the article with overflow-x auto or scroll.
OVERFLOW_CHECK = """(() => {
  const article = document.querySelector('.post-content');
  if (!article) return {error: 'no .post-content'};
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const box = article.getBoundingClientRect();
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const selector = 'pre, code, div.highlight, table, .litblog-scroll, .litblog-summary, .litblog-training, ' +
                   'details, figure, img, p.litblog-call, p.litblog-evaluation';
  const bad = [];
  for (const el of article.querySelectorAll(selector)) {
    if (!el.getClientRects().length) continue;
    let scroller = null;
    for (let node = el; node && node !== article; node = node.parentElement) {
      if (scrolls(node)) { scroller = node; break; }
    }
    if (scroller) continue;  // its own box scrolls; that box is checked as an element itself
    const r = el.getBoundingClientRect();
    const block = getComputedStyle(el).display !== 'inline';
    const wider = r.left < box.left - 1 || r.right > box.right + 1 || (block && el.scrollWidth > el.clientWidth + 1);
    if (wider) bad.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '') +
                        ` ${Math.round(r.left)}..${Math.round(r.right)} in ${Math.round(box.left)}..${Math.round(box.right)}` +
                        ` (scrollWidth ${el.scrollWidth}, clientWidth ${el.clientWidth}): ` +
                        el.textContent.slice(0, 60).replace(/\\s+/g, ' '));
  }
  return {bad, scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
          elements: article.querySelectorAll(selector).length};
})()"""


@pytest.fixture(scope="module")
def repository_site(tools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's committed site/, with the current layouts and stylesheets (as the next build
    writes them), built by Jekyll under the baseurl."""
    from site_check import jekyll_build

    base = tmp_path_factory.mktemp("repository-site")
    site = base / "site"
    shutil.copytree(REPO / "site", site, ignore=shutil.ignore_patterns("_site", "_build"))
    shutil.copytree(REPO / "templates" / "jekyll", site, dirs_exist_ok=True)
    build = jekyll_build(site, base / "out", BASEURL)
    assert build.returncode == 0, build.output
    return base / "out"


@pytest.fixture(scope="module")
def both_sites(built: CheckedSite, repository_site: Path) -> list[tuple[str, str]]:
    """(name, URL) of every post of the fixture project and of the repository's committed site."""
    from site_check import published_posts

    servers = []
    pages = []
    for name, destination, site in (("fixture", built.jekyll.destination, built.site),
                                    ("repository", repository_site, REPO / "site")):
        # Each site at its own server's root, under the baseurl its links start with.
        root = Path(destination).parent / f"serve-{name}"
        if not root.exists():
            shutil.copytree(destination, root / BASEURL.strip("/"))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                functools.partial(_QuietHandler, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        address = f"http://127.0.0.1:{httpd.server_address[1]}"
        pages += [(f"{name}-{Path(file).stem}", f"{address}{BASEURL}{url}") for file, url, _ in published_posts(site)]
    yield pages
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_is_cut_off_at_desktop_and_phone_widths(both_sites, width):
    assert len([name for name, _ in both_sites if name.startswith("repository-")]) >= 2
    problems = []
    with Chromium(width=width, height=900) as chromium:
        for name, url in both_sites:
            page = open_page(chromium, url)
            page.send("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                      mobile=width < 600)
            page.wait_until("document.readyState === 'complete'")
            assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("-apple-system"), name
            found = page.evaluate(OVERFLOW_CHECK)
            page.screenshot(ARTIFACTS / "browser" / "widths" / f"{name}-{width}.png")
            assert found.get("elements", 0) > 0, (name, found)
            problems += [f"{name} at {width} px: {line}" for line in found["bad"]]
            if found["scrollWidth"] > width:
                problems.append(f"{name} at {width} px: the page scrolls sideways ({found['scrollWidth']} px)")
    assert problems == []

def test_every_post_of_the_committed_site_ends_with_its_provenance_card(tools, browser, tmp_path):
    """This repository's own site/, as GitHub Pages builds it: every post has a provenance card."""
    build = jekyll_build(REPO / "site", tmp_path / "out", BASEURL)
    assert build.returncode == 0, build.output
    root = tmp_path / "serve"
    shutil.copytree(build.destination, root / BASEURL.strip("/"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        posts = published_posts(REPO / "site")
        assert posts
        for name, url, _title in posts:
            page = open_page(browser, f"http://127.0.0.1:{httpd.server_address[1]}{BASEURL}{url}")
            page.wait_until("document.readyState === 'complete'")
            cards = page.evaluate("document.querySelectorAll('details.litblog-provenance').length")
            assert cards == 1, f"site/_posts/{name} has no provenance card: rebuild site/ (build-site) and commit it"
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- figures, code and scroll boxes as a reader meets them: 1280 px and 390 px ----------------

# A code line of up to 100 characters must fit its box at 1280 px (no scrolling needed to read it):
# measured with the code's own font against the box that scrolls (or the article), padding out.
CODE_LINES_CHECK = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const article = document.querySelector('.post-content');
  const canvas = document.createElement('canvas').getContext('2d');
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const bad = [];
  let lines = 0;
  for (const pre of article.querySelectorAll('pre')) {
    if (!pre.getClientRects().length) continue;
    let box = pre;
    while (box !== article && !scrolls(box)) box = box.parentElement;
    const code = pre.querySelector('code') || pre;
    const style = getComputedStyle(pre);
    const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    canvas.font = getComputedStyle(code).font;
    for (const line of pre.textContent.split('\\n')) {
      if (!line.trim() || line.length > 100) continue;
      lines += 1;
      const width = canvas.measureText(line).width;
      if (width > room + 1) bad.push(`${Math.round(width)} px in ${Math.round(room)} px: ${line.trim().slice(0, 70)}`);
    }
  }
  return {bad, lines};
})()"""

# Every SVG figure's smallest text as displayed: its font size in the SVG's units times the image's
# displayed width over the SVG's viewBox width.
SVG_TEXT_CHECK = """(async () => {
  const found = [];
  for (const img of document.querySelectorAll('img')) {
    if (!img.src.endsWith('.svg')) continue;  // img.src: a lazy image not loaded yet has no currentSrc
    const svg = new DOMParser().parseFromString(await (await fetch(img.src)).text(), 'image/svg+xml');
    const view = svg.documentElement.getAttribute('viewBox').split(/\\s+/).map(Number);
    const scale = img.getBoundingClientRect().width / view[2];
    const sizes = Array.from(svg.querySelectorAll('text')).map(t => parseFloat((t.getAttribute('style') || '')
      .match(/font-size:\\s*([0-9.]+)px/)?.[1] || 'NaN')).filter(size => size === size);
    found.push({src: img.src.split('/').pop(), texts: sizes.length,
                smallest: Math.min(...sizes) * scale, shown: img.getBoundingClientRect().width});
  }
  return found;
})()"""

IMAGES_CHECK = """Array.from(document.querySelectorAll('img')).map(img => ({
  src: img.getAttribute('src'), alt: img.getAttribute('alt'), width: img.getAttribute('width'),
  height: img.getAttribute('height'), loading: img.getAttribute('loading'), decoding: img.getAttribute('decoding'),
  caption: (img.closest('figure')?.querySelector('figcaption')?.textContent || '').trim()}))"""

# Every box that scrolls (sideways or down) can be reached and named from the keyboard.
SCROLL_BOXES_CHECK = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const boxes = [];
  for (const el of document.querySelectorAll('.post-content *')) {
    const style = getComputedStyle(el);
    const sideways = ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    const down = ['auto', 'scroll'].includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
    if (!sideways && !down) continue;
    boxes.push({tag: el.tagName.toLowerCase() + '.' + String(el.className).split(' ').join('.'),
                tabindex: el.getAttribute('tabindex'), role: el.getAttribute('role'),
                label: el.getAttribute('aria-label')});
  }
  const regions = Array.from(document.querySelectorAll('[role=region]')).map(el => el.getAttribute('aria-label'));
  return {boxes, regions};
})()"""


@pytest.fixture(scope="module")
def fresh_repository_site(tools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's posts built now from its committed results (nothing runs), published by Jekyll
    under the baseurl: the figures and layout this branch writes, not those committed in site/."""
    base = tmp_path_factory.mktemp("fresh-repository")
    root = base / "project"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".litblog", "_site", "_build", "__pycache__",
                                                              ".venv", "node_modules", ".pytest_cache"))
    results_before = snapshot(root / "results")
    assert run_cli(root, "-q", "--no-run") == 0
    assert snapshot(root / "results") == results_before  # restyling re-runs and rewrites nothing
    build = jekyll_build(root / "site", base / "out", BASEURL)
    assert build.returncode == 0, build.output
    return base / "out"


@pytest.fixture(scope="module")
def reader_pages(built: CheckedSite, fresh_repository_site: Path) -> Iterator[list[tuple[str, str]]]:
    """(name, URL) of every post of the fixture project and of the repository built now, served."""
    servers, pages = [], []
    for name, destination, site in (("fixture", built.jekyll.destination, built.site),
                                    ("repository", fresh_repository_site, fresh_repository_site.parent / "project" / "site")):
        root = Path(destination).parent / f"serve-reader-{name}"
        if not root.exists():
            shutil.copytree(destination, root / BASEURL.strip("/"))
            if (LOCAL_MATHJAX / "MathJax.js").is_file():
                (root / "mathjax").symlink_to(LOCAL_MATHJAX)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        address = f"http://127.0.0.1:{httpd.server_address[1]}"
        pages += [(f"{name}-{Path(file).stem}", f"{address}{BASEURL}{url}") for file, url, _ in published_posts(site)]
        pages.append((f"{name}-home", f"{address}{BASEURL}/"))
    yield pages
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _reader_page(chromium: Chromium, url: str, width: int) -> Page:
    page = open_page(chromium, url)
    page.send("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=width < 600)
    page.wait_until("document.readyState === 'complete'")
    return page


def test_code_lines_of_up_to_100_characters_fit_their_box_at_1280(reader_pages):
    problems, lines = [], 0
    with Chromium(width=1280, height=900) as chromium:
        for name, url in reader_pages:
            if name.endswith("-home"):
                continue
            found = _reader_page(chromium, url, 1280).evaluate(CODE_LINES_CHECK)
            lines += found["lines"]
            problems += [f"{name}: {line}" for line in found["bad"]]
    assert lines > 200  # the recipes, summaries and logs were measured
    assert problems == []


def test_every_svg_figure_keeps_its_smallest_text_readable_on_a_phone(reader_pages):
    figures, problems = [], []
    with Chromium(width=390, height=844) as chromium:
        for name, url in reader_pages:
            page = _reader_page(chromium, url, 390)
            found = page.evaluate(SVG_TEXT_CHECK)
            figures += found
            problems += [f"{name}: {figure}" for figure in found if figure["texts"] == 0 or figure["smallest"] < 11]
            page.evaluate("document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; })")
            page.wait_until("Array.from(document.images).every(img => img.complete)")
            page.evaluate(DECODED)
            page.screenshot(ARTIFACTS / "browser" / "reader" / f"{name}-390.png")
    names = [figure["src"] for figure in figures]
    assert any("curves" in n for n in names) and any(n.startswith("chart-") for n in names), names
    assert problems == []


def test_every_image_has_a_size_a_distinct_alt_and_loads_lazily_below_the_first(reader_pages):
    problems, count = [], 0
    with Chromium(width=1280, height=900) as chromium:
        for name, url in reader_pages:
            page = _reader_page(chromium, url, 1280)
            images = page.evaluate(IMAGES_CHECK)
            count += len(images)
            alts = [image["alt"] for image in images]
            for index, image in enumerate(images):
                if not (image["width"] or "").isdigit() or not (image["height"] or "").isdigit():
                    problems.append(f"{name}: {image['src']} has no width and height")
                if not image["alt"] or alts.count(image["alt"]) > 1 or image["alt"] == image["caption"]:
                    problems.append(f"{name}: {image['src']}: alt {image['alt']!r} is empty, repeated or the caption")
                if image["decoding"] != "async" or (image["loading"] == "lazy") != (index > 0):
                    problems.append(f"{name}: {image['src']}: decoding {image['decoding']}, loading {image['loading']}")
            assert_images_loaded_and_no_console_errors(page, at_least=0)  # WebP and SVG files all decode
            page.screenshot(ARTIFACTS / "browser" / "reader" / f"{name}-1280.png")
    assert count >= 10
    assert problems == []


@pytest.mark.parametrize("width", WIDTHS)
def test_every_box_that_scrolls_is_a_named_region_the_keyboard_reaches(reader_pages, width):
    problems, boxes = [], 0
    with Chromium(width=width, height=900) as chromium:
        for name, url in reader_pages:
            found = _reader_page(chromium, url, width).evaluate(SCROLL_BOXES_CHECK)
            boxes += len(found["boxes"])
            problems += [f"{name}: {box}" for box in found["boxes"]
                         if box["tabindex"] != "0" or box["role"] != "region" or not box["label"]]
            # Regions are landmarks: each needs a name of its own.
            problems += [f"{name}: region {label!r} is named more than once" for label in set(found["regions"])
                         if found["regions"].count(label) > 1]
    assert boxes > 0
    assert problems == []


PROSE_COLUMN_CHECK = """(() => {
  const column = document.querySelector('.post-content');
  const text = [...column.children].find(e => e.tagName === 'P');
  const left = text.getBoundingClientRect().left, prose = getComputedStyle(text).maxWidth;
  const seen = [], bad = [];
  for (const e of column.children) {
    // The imports folded above a listing line up with the listing, in the wide column.
    if (getComputedStyle(e).maxWidth !== prose || e.matches('details.litblog-imports, details.litblog-seed-logs')) continue;
    const box = e.getBoundingClientRect();
    if (box.width === 0) continue;
    seen.push(e.className || e.tagName);
    if (Math.abs(box.left - left) > 1) bad.push(`${e.tagName}.${e.className} at ${Math.round(box.left)} px, the text at ${Math.round(left)}`);
  }
  return {seen, bad};
})()"""


def test_the_boxes_of_the_text_column_line_up_with_the_text_at_1280(reader_pages):
    """Notices, admonitions, the contents and the provenance card stand in the text's column: a rule
    of theirs with ``margin: 1rem 0`` undid its centring and put them at the page's left edge."""
    problems, seen = [], []
    with Chromium(width=1280, height=900) as chromium:
        for name, url in reader_pages:
            if name.endswith("-home"):
                continue
            found = _reader_page(chromium, url, 1280).evaluate(PROSE_COLUMN_CHECK)
            seen += found["seen"]
            problems += [f"{name}: {box}" for box in found["bad"]]
    for kind in ("litblog-admonition", "litblog-notice", "litblog-toc", "litblog-provenance"):
        assert any(kind in classes for classes in seen), (kind, sorted(set(seen)))
    assert problems == []
