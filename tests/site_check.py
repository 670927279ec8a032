"""What a reader of the published site would notice, checked on built HTML: Jekyll's own warnings,
posts missing from their permalinks, and links or images that lead nowhere (under a baseurl
for the Jekyll site, relative to the page for the preview)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from conftest import run_cli
from litblog.buildtime.sources.posts import read_post
from litblog.buildtime.render.renderer import post_url

JEKYLL = shutil.which("jekyll")
NO_JEKYLL = ("jekyll is not installed: `bash .ci/run` installs Debian's jekyll, jekyll-theme-minima, "
             "ruby-jekyll-feed and ruby-jekyll-seo-tag")
# Jekyll's lines that need a person: Liquid errors and warnings, skipped posts, deprecations.
_PROBLEM = re.compile(r"warn|error|skipping|deprecat|liquid|invalid|conflict", re.I)
_PATH_LINES = ("Configuration file:", "Source:", "Destination:")  # a folder's name is no problem
_LINKING = {"a": ("href",), "link": ("href",), "img": ("src", "srcset"), "script": ("src",),
            "source": ("src", "srcset"), "iframe": ("src",), "video": ("src", "poster"), "audio": ("src",)}


@dataclass(frozen=True)
class JekyllBuild:
    """One ``jekyll build`` of a site folder."""

    destination: Path
    baseurl: str
    returncode: int
    output: str

    @property
    def problems(self) -> list[str]:
        lines = [line.strip() for line in self.output.splitlines()]
        return [line for line in lines if _PROBLEM.search(line) and not line.startswith(_PATH_LINES)]


def jekyll_build(site: Path, destination: Path, baseurl: str) -> JekyllBuild:
    """Build ``site`` the way GitHub Pages does (safe mode, production), Liquid errors made strict."""
    assert JEKYLL is not None, NO_JEKYLL
    strict = destination.with_name(destination.name + "-strict.yml")
    # Liquid reports unknown tags and filters as errors instead of rendering them as nothing.
    strict.write_text("liquid:\n  error_mode: strict\n  strict_filters: true\n")
    command = [JEKYLL, "build", "--safe", "--strict_front_matter", "--disable-disk-cache",
               "--source", str(site), "--destination", str(destination), "--baseurl", baseurl,
               "--config", f"{site / '_config.yml'},{strict}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "JEKYLL_ENV": "production", "LC_ALL": "C.UTF-8"})
    return JekyllBuild(destination, baseurl, done.returncode, done.stdout + done.stderr)


def published_posts(site: Path) -> list[tuple[str, str, str]]:
    """``(file, url path, title)`` of every post in ``site/_posts``, by the site's permalink setting."""
    config = yaml.safe_load((site / "_config.yml").read_text(encoding="utf-8")) or {}
    permalink = config.get("permalink", "date")
    posts = []
    for file in sorted((site / "_posts").glob("*.md")):
        post = read_post(file, site)
        posts.append((file.name, post_url(post, permalink), post.title))
    return posts


def page_for(root: Path, url: str) -> Path:
    """The file a static server answers ``url`` (a path under ``root``) with."""
    target = root / unquote(url).lstrip("/")
    return target / "index.html" if url.endswith("/") or target.is_dir() else target


def missing_posts(site: Path, built: Path) -> list[str]:
    """Posts of ``site/_posts`` that ``built`` lacks at their permalink (or shows without their title)."""
    problems = []
    for name, url, title in published_posts(site):
        page = page_for(built, url)
        if not page.is_file():
            problems.append(f"_posts/{name}: no page at {url}")
        elif escape(title, quote=False) not in page.read_text(encoding="utf-8"):
            problems.append(f"_posts/{name}: the page at {url} does not show its title")
    return problems


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if value is None or name not in _LINKING.get(tag, ()):
                continue
            if name == "srcset":
                self.references += [(tag, item.split()[0]) for item in value.split(",") if item.strip()]
            else:
                self.references.append((tag, value))


@dataclass(frozen=True)
class LinkReport:
    """Every internal reference checked, and the broken ones."""

    checked: int
    images: int
    broken: list[str]


def check_links(root: Path, baseurl: str | None) -> LinkReport:
    """Check every internal ``href``/``src`` of the HTML pages (and the feed) under ``root``.

    ``baseurl`` is the Jekyll site's (``/repo``; ``""`` for a user site): a root-relative URL must
    start with it and name a file under ``root``. ``None`` is the preview, opened from disk: its
    links must be relative and stay inside ``root``.
    """
    checked = images = 0
    broken: list[str] = []
    ids: dict[Path, set[str]] = {}
    fragments: list[tuple[str, Path, str]] = []
    for page in sorted(root.rglob("*.html")):
        parser = _References()
        parser.feed(page.read_text(encoding="utf-8"))
        ids[page] = parser.ids
        where = page.relative_to(root).as_posix()
        for tag, url in parser.references:
            target, problem = _resolve(root, page, url, baseurl)
            if target is None and problem is None:
                continue  # external, or a fragment of this page (checked below)
            checked += 1
            images += tag == "img"
            if problem:
                broken.append(f"{where}: <{tag}> {url}: {problem}")
            elif not target.is_file():
                broken.append(f"{where}: <{tag}> {url}: no file {target.relative_to(root).as_posix()}")
            fragment = urlsplit(url).fragment
            if fragment and target is not None and target.suffix == ".html":
                fragments.append((f"{where}: <{tag}> {url}", target, fragment))
        for tag, url in parser.references:
            if url.startswith("#") and len(url) > 1:
                fragments.append((f"{where}: <{tag}> {url}", page, url[1:]))
    for label, target, fragment in fragments:
        if target in ids and unquote(fragment) not in ids[target]:
            broken.append(f"{label}: no element with id '{fragment}'")
    feed = root / "feed.xml"
    if feed.is_file():
        for link in ET.parse(feed).getroot().iter("{http://www.w3.org/2005/Atom}link"):
            url = link.get("href", "")
            target, problem = _resolve(root, feed, url, baseurl)
            if target is None and problem is None:
                continue
            checked += 1
            if problem or not target.is_file():
                broken.append(f"feed.xml: <link> {url}: {problem or 'no such file'}")
    return LinkReport(checked, images, broken)


def _resolve(root: Path, page: Path, url: str, baseurl: str | None) -> tuple[Path | None, str | None]:
    """The file ``url`` on ``page`` leads to, or why it is broken; ``(None, None)`` if not ours to check."""
    parts = urlsplit(url.strip())
    if parts.scheme or parts.netloc or url.startswith(("mailto:", "data:", "javascript:")):
        return None, None
    if not parts.path:
        return None, None  # "#x" or "?q": this page
    path = unquote(parts.path)
    if path.startswith("/"):
        if baseurl is None:
            return None, "root-relative link in the preview (it works only at a server's root)"
        if path != baseurl and not path.startswith(baseurl + "/"):
            return None, f"outside the baseurl {baseurl!r} (use relative_url)"
        target = root / path[len(baseurl):].lstrip("/")
    else:
        target = page.parent / path
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return None, "leads outside the site"
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, None


# -- a site with everything to check --------------------------------------------------------------

BASEURL = "/some-repo"
EXTRA = Path(__file__).parent / "fixtures" / "jekyll"  # posts and a recipe full of Liquid-like text
LIQUID_POST = "2026/01/07/liquid/"
STRIPES_POST = "2026/01/05/stripes/"
_SHARED: dict[str, "CheckedSite"] = {}


@dataclass(frozen=True)
class CheckedSite:
    """The fixture project plus :data:`EXTRA`, built by litblog, then by Jekyll under :data:`BASEURL`."""

    root: Path  # the litblog project
    site: Path  # its site/ (Jekyll source; the preview in site/_site)
    jekyll: JekyllBuild


def checked_site(base: Path, built_project: Path) -> CheckedSite:
    """Built once per test session, whichever test module asks first (one tiny run: nothing trains)."""
    if "site" not in _SHARED:
        root = base / "blog"
        shutil.copytree(built_project, root, ignore=shutil.ignore_patterns("build.lock"))
        shutil.copytree(EXTRA, root, dirs_exist_ok=True)
        assert run_cli(root, "-q") == 0
        _SHARED["site"] = CheckedSite(root, root / "site", jekyll_build(root / "site", base / "jekyll-out", BASEURL))
    return _SHARED["site"]


def require_tool(path: str | None, reason: str) -> str:
    """``path``, or skip the test (fail it where CI asks for the tool: LITBLOG_REQUIRE_TOOLS=1)."""
    if path is None:
        if os.environ.get("LITBLOG_REQUIRE_TOOLS") == "1":
            pytest.fail(reason + " (and LITBLOG_REQUIRE_TOOLS=1 says it must be)")
        pytest.skip(reason)
    return path
