"""Stage 7, write: the Jekyll source tree and the HTML preview, replaced as a whole.

Everything is written into a staging folder beside ``site/`` and swapped in only when the
whole build succeeded, so a failed or interrupted build leaves the previous site as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from .config import SiteConfig
from .fsutil import replace_dir
from .posts import Post
from .preview import PreviewBuilder, PreviewEntry, page_file
from .render import RenderedPost, post_url

PREVIEW_DIR = "_site"
JEKYLL_PLUGINS = ("jekyll-feed", "jekyll-seo-tag")
_CONFIG_HEADER = "# Written by build-site from the project's _config.yml: edit that file, not this one.\n"


@dataclass(frozen=True)
class CarriedPost:
    """A post not rebuilt this time: its previous output is kept as it was."""

    post: Post


def jekyll_config(config: SiteConfig) -> dict[str, Any]:
    """``site/_config.yml``: the project's Jekyll settings plus what GitHub Pages forces anyway."""
    data = dict(config.jekyll)
    data.setdefault("markdown", "kramdown")
    data.setdefault("highlighter", "rouge")
    kramdown = {"input": "GFM", "math_engine": "mathjax", "syntax_highlighter": "rouge"}
    kramdown.update(data.get("kramdown") or {})
    data["kramdown"] = kramdown
    plugins = list(dict.fromkeys([*(data.get("plugins") or []), *JEKYLL_PLUGINS]))
    data["plugins"] = plugins
    # `jekyll build --safe` (what Pages runs) only loads whitelisted plugins.
    data["whitelist"] = list(dict.fromkeys([*(data.get("whitelist") or []), *plugins]))
    exclude = list(dict.fromkeys([*(data.get("exclude") or []), "_build"]))
    data["exclude"] = exclude
    return data


def post_file_text(rendered: RenderedPost) -> str:
    """The ``_posts/`` file: front matter, then the Jekyll body."""
    front = yaml.safe_dump(rendered.front_matter, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{front}---\n\n{rendered.bodies['jekyll']}"


def write_site(
    config: SiteConfig,
    rendered: list[RenderedPost],
    carried: Sequence[CarriedPost] = (),
    *,
    report: dict[str, Any] | None = None,
    live_reload: bool = False,
) -> Path:
    """Write the whole site into staging and swap it in place of ``site_dir``; returns ``site_dir``."""
    site_dir = config.path("site_dir")
    templates = config.path("templates_dir")
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.staging-", dir=site_dir.parent))
    try:
        _copy_tree(templates / "jekyll", staging)
        static = config.path("static_dir")
        if static.is_dir():
            _copy_tree(static, staging)
        (staging / "_config.yml").write_text(
            _CONFIG_HEADER + yaml.safe_dump(jekyll_config(config), sort_keys=False, allow_unicode=True),
            encoding="utf-8")
        posts_dir = staging / "_posts"
        posts_dir.mkdir(exist_ok=True)
        preview = PreviewBuilder(templates, {"title": config.jekyll.get("title", ""),
                                             "description": config.jekyll.get("description") or ""},
                                 live_reload=live_reload)
        preview_root = staging / PREVIEW_DIR
        entries: list[PreviewEntry] = []
        for item in rendered:
            (posts_dir / item.post.output_name).write_text(post_file_text(item), encoding="utf-8")
            for site_path, source in item.assets.items():
                for root in (staging, preview_root):
                    target = root / site_path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
            page = preview_root / page_file(item.url)
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(preview.post_page(item), encoding="utf-8")
            entries.append(_entry(item.post, item.url))
        for item in carried:
            if _carry_over(site_dir, staging, item.post, config):
                entries.append(_entry(item.post, post_url(item.post, config.jekyll["permalink"])))
        _copy_tree(templates / "jekyll" / "assets", preview_root / "assets")
        (preview_root / "index.html").write_text(preview.index_page(entries), encoding="utf-8")
        if report is not None:
            build_dir = staging / "_build"
            build_dir.mkdir(exist_ok=True)
            (build_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        replace_dir(staging, site_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return site_dir


def _entry(post: Post, url: str) -> PreviewEntry:
    return PreviewEntry(post.title, post.date, page_file(url), post.front_matter.get("description"))


def _carry_over(old_site: Path, staging: Path, post: Post, config: SiteConfig) -> bool:
    """Copy a post's previous output (post file, assets, preview page) into the new site."""
    source = old_site / "_posts" / post.output_name
    if not source.is_file():
        return False
    shutil.copyfile(source, staging / "_posts" / post.output_name)
    page = page_file(post_url(post, config.jekyll["permalink"]))
    for relative in (f"assets/{post.slug}", f"{PREVIEW_DIR}/assets/{post.slug}", f"{PREVIEW_DIR}/{page}"):
        old = old_site / relative
        if old.is_dir():
            _copy_tree(old, staging / relative)
        elif old.is_file():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(old, staging / relative)
    return True


def _copy_tree(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in ("__pycache__", ".DS_Store") for part in relative.parts):
            continue
        destination = target / relative
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
