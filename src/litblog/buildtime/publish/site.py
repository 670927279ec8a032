"""Stage 7, write: the Jekyll source tree and the HTML preview, replaced as a whole.

Everything is written into a staging folder beside ``site/`` and swapped in only when the
whole build succeeded, so a failed or interrupted build leaves the previous site as it was.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import posixpath
import secrets
import shutil
import subprocess
import sys
from stat import S_ISDIR
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from ...common import paths
from ..sources.config import SiteConfig
from ...common.errors import SourceLocation, UserError
from ...common.fsutil import atomic_write_text, discard, is_inside, make_unique_dir, recover_dir, replace_dir
from ..sources.posts import Post
from .preview import PreviewBuilder, PreviewEntry, page_file
from ..render.reading import first_paragraph, reading_minutes
from ..render.renderer import RenderedPost, post_url
from .render_cache import CachedPost, Pending, RenderCache

PREVIEW_DIR = "_site"
BUILD_DIR = "_build"  # the build report: local, never published
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
    rendered: Sequence[RenderedPost | CachedPost],
    carried: Sequence[CarriedPost] = (),
    *,
    report: dict[str, Any] | None = None,
    live_reload: bool = False,
    cache: RenderCache | None = None,
    pending: dict[str, Pending] | None = None,
) -> list[str] | None:
    """Write the whole site into staging and swap it in place of ``site_dir``.

    Returns the site-relative paths whose content this write changed (added, replaced or
    removed), sorted, or None when what ``site_dir`` held before is not known (no render cache,
    no record of the last write, or ``site_dir`` touched since): ``serve`` reloads by it.

    With a render ``cache``, every post's files are objects of the cache linked into place: a
    :class:`CachedPost`'s are linked as they are (nothing rendered or written), a rendered post's
    are stored first and their digests put in its ``pending`` entry (by post path).

    A file that cannot be written (disk full, no permission) is a :class:`UserError` naming it,
    and ``site/`` is left as it was. Nothing is written outside the staging folder, and nothing
    from outside the project is copied in (symlinks in ``static/`` are checked).
    """
    site_dir = config.path("site_dir")
    changes: list[str] | None = None  # not known until compared with a record of the last write
    if cache is not None:
        # First only what the site would hold (every file a cache object): when site/ holds
        # exactly that already, nothing is written at all (a no-op rebuild of a large blog).
        record = _unchanged_since_recorded(site_dir, cache)
        planner = _Writer(config.root, site_dir)
        planner.staging, planner.cache, planner.planned, planner.owners = site_dir, cache, {}, {}
        if record is not None:
            planner.previous = record  # a carried post's files are what the record says
        _fill(planner, config, rendered, carried, report=report, live_reload=live_reload, cache=cache,
              pending=pending)
        if record is not None:
            changes = _changed_files(record["planned"], planner.planned)
            if not changes:
                return []
            if _update_in_place(site_dir, record["planned"], planner.planned, cache):
                _remember_site(site_dir, planner.planned, planner.owners, cache, record, changes)
                return changes
    writer, staging = _new_staging(config)
    writer.cache = cache  # unchanged files keep their inode: nothing is written for them
    try:
        _fill(writer, config, rendered, carried, report=report, live_reload=live_reload, cache=cache,
              pending=pending)
        try:
            _swap_in(staging, site_dir, background=len(rendered) + len(carried) > BACKGROUND_REMOVAL_POSTS)
        except OSError as exc:
            raise writer.error(exc, site_dir) from None
    except BaseException:
        discard(staging)
        raise
    if cache is None:
        return None
    _remember_site(site_dir, planner.planned, planner.owners, cache)
    return changes


def _changed_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """The paths whose object differs between two plans of the site (path -> digest), sorted."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


SITE_RECORD = "site.json"  # in the render cache: what the last build wrote into site/


def _tree_stamps(site_dir: Path) -> tuple[dict[str, list[int]], dict[str, int]] | None:
    """Every file of ``site_dir`` (size, mtime_ns, inode) and every folder (mtime_ns), by relative path."""
    files: dict[str, list[int]] = {}
    folders: dict[str, int] = {}
    stack = [""]
    try:
        while stack:
            relative = stack.pop()
            folder = os.path.join(site_dir, relative) if relative else os.fspath(site_dir)
            folders[relative] = os.lstat(folder).st_mtime_ns
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = f"{relative}/{entry.name}" if relative else entry.name
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(name)
                    else:
                        stat = entry.stat(follow_symlinks=False)  # a link is recorded as itself
                        files[name] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    except OSError:
        return None
    return files, folders


def _restamped(site_dir: Path, previous: dict[str, Any],
               touched: Sequence[str]) -> tuple[dict[str, list[int]], dict[str, int]] | None:
    """:func:`_tree_stamps` of ``site_dir`` as it is after ``touched`` files were replaced, added or
    removed in a tree that matched ``previous``: those files and every folder above them stamped anew."""
    files: dict[str, list[int]] = dict(previous["files"])
    folders: dict[str, int] = dict(previous["folders"])
    folders_above: set[str] = set()
    try:
        for relative in touched:
            try:
                stat = os.lstat(os.path.join(site_dir, relative))
                files[relative] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
            except FileNotFoundError:
                files.pop(relative, None)
            parent = posixpath.dirname(relative)
            while parent not in folders_above:
                folders_above.add(parent)
                if not parent:
                    break
                parent = posixpath.dirname(parent)
        for folder in folders_above:
            try:
                stat = os.lstat(os.path.join(site_dir, folder) if folder else site_dir)
            except FileNotFoundError:
                folders.pop(folder, None)  # emptied and removed by the update
                continue
            if not S_ISDIR(stat.st_mode):
                return None
            folders[folder] = stat.st_mtime_ns
    except OSError:
        return None
    return files, folders


def _unchanged_since_recorded(site_dir: Path, cache: RenderCache) -> dict[str, Any] | None:
    """The record of what the last build wrote, if ``site_dir`` still holds exactly that; else None.

    A folder's mtime changes when an entry is added or removed in it, and a file's identity when
    it is written, so ``lstat`` calls tell whether site/ was touched since (no bytes are read)."""
    try:
        record = json.loads((cache.folder / SITE_RECORD).read_text(encoding="utf-8"))
        for relative, mtime in record["folders"].items():
            stat = os.lstat(os.path.join(site_dir, relative) if relative else site_dir)
            if not S_ISDIR(stat.st_mode) or stat.st_mtime_ns != mtime:
                return None
        for relative, stamp in record["files"].items():
            stat = os.lstat(os.path.join(site_dir, relative))
            if [stat.st_size, stat.st_mtime_ns, stat.st_ino] != stamp:
                return None
        if not isinstance(record["planned"], dict):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


def _update_in_place(site_dir: Path, old: dict[str, str], new: dict[str, str], cache: RenderCache) -> bool:
    """Make ``site_dir`` (holding ``old``, checked) hold ``new``: each changed file replaced
    atomically by a link to its object, files no longer built removed. False if something failed:
    the caller then writes the whole site through staging, which also repairs a half-done update.

    Used when site/ is exactly what the last build wrote: a one-post edit of a large blog then
    touches its few files instead of building thousands of folders in staging. Every relative
    path was confined by the planning pass (``_Writer.inside``), and no folder of site/ is a link.
    """
    try:
        for relative, digest in new.items():
            if old.get(relative) == digest:
                continue
            target = os.path.join(site_dir, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            temporary = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{secrets.token_hex(4)}")
            try:
                os.link(cache.object_path(digest), temporary)
            except OSError:
                shutil.copyfile(cache.object_path(digest), temporary)
            os.replace(temporary, target)
        for relative in sorted(set(old) - set(new), reverse=True):
            target = os.path.join(site_dir, relative)
            os.unlink(target)
            folder = os.path.dirname(target)
            while folder != os.fspath(site_dir) and not os.listdir(folder):
                os.rmdir(folder)
                folder = os.path.dirname(folder)
    except OSError:
        return False
    return True


def _remember_site(site_dir: Path, planned: dict[str, str], owners: dict[str, list[str]],
                   cache: RenderCache, previous: dict[str, Any] | None = None, touched: Sequence[str] = ()) -> None:
    """Record what site/ holds now, for :func:`_unchanged_since_recorded` (a cache: a failure is a full write next time).

    After an in-place update of a site that held the ``previous`` record, only the ``touched``
    files and the folders above them are looked at again (a few ``lstat`` calls, not thousands).
    """
    stamps = _tree_stamps(site_dir) if previous is None else _restamped(site_dir, previous, touched)
    if stamps is None:
        return
    files, folders = stamps
    if files.keys() != planned.keys():
        return
    try:
        atomic_write_text(cache.folder / SITE_RECORD,
                          json.dumps({"planned": planned, "owners": owners, "files": files, "folders": folders},
                                     separators=(",", ":")), durable=False)  # one cut short is not JSON
    except OSError:
        pass


def write_draft(
    config: SiteConfig,
    rendered: list[RenderedPost],
    carried: Sequence[CarriedPost] = (),
    *,
    report: dict[str, Any] | None = None,
    live_reload: bool = False,
) -> Path:
    """A build with ``--set``: replace only the preview (``site/_site``) and the report (``site/_build``).

    The Jekyll tree is what GitHub Pages publishes; numbers from overridden params must never
    reach it, so it is staged like :func:`write_site` does and then left out. Returns ``site_dir``.
    """
    site_dir = config.path("site_dir")
    writer, staging = _new_staging(config)
    try:
        _fill(writer, config, rendered, carried, report=report, live_reload=live_reload)
        try:
            site_dir.mkdir(parents=True, exist_ok=True)
            for name in (PREVIEW_DIR, BUILD_DIR):
                recover_dir(site_dir / name)
                if (staging / name).is_dir():
                    replace_dir(staging / name, site_dir / name)
        except OSError as exc:
            raise writer.error(exc, site_dir) from None
    finally:
        discard(staging)
    return site_dir


def stage_site(config: SiteConfig, rendered: list[RenderedPost], staging: Path, *, preview: bool = True) -> None:
    """Write the site a build would write into the empty folder ``staging`` (for ``build-site --check``).

    The same code as :func:`write_site` (so the comparison cannot drift from it); ``preview=False``
    leaves out the HTML preview, which is never published.
    """
    writer = _Writer(config.root, config.path("site_dir"))
    writer.staging = staging
    _fill(writer, config, rendered, (), report=None, live_reload=False, preview=preview)


def _new_staging(config: SiteConfig) -> tuple["_Writer", Path]:
    """A writer and its empty staging folder beside ``site_dir`` (leftovers of killed builds removed)."""
    site_dir = config.path("site_dir")
    writer = _Writer(config.root, site_dir)
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(site_dir)  # of builds killed mid-write; we hold the build lock
        staging = make_unique_dir(site_dir.parent, f".{site_dir.name}.staging-")
    except OSError as exc:
        raise writer.error(exc, site_dir) from None
    writer.staging = staging
    return writer, staging


def _fill(writer: "_Writer", config: SiteConfig, rendered: Sequence[RenderedPost | CachedPost],
          carried: Sequence[CarriedPost], *, report: dict[str, Any] | None, live_reload: bool, preview: bool = True,
          cache: RenderCache | None = None, pending: dict[str, Pending] | None = None) -> None:
    """Write the Jekyll tree, the preview (``preview``) and the report into ``writer.staging``."""
    staging = writer.staging
    assert staging is not None
    templates = config.path("templates_dir")
    posts_dir = _write_frame(writer, config, staging)
    previewer = PreviewBuilder(templates, {"title": config.jekyll.get("title", ""),
                                           "description": config.jekyll.get("description") or ""},
                               live_reload=live_reload, cache_dir=paths.cache_dir(config.root)) if preview else None
    preview_root = staging / PREVIEW_DIR
    entries: list[PreviewEntry] = []
    for item in rendered:
        where = _permalink_location(item.post)
        if isinstance(item, CachedPost):
            assert cache is not None
            for relative, digest in item.outputs.items():
                if preview or not relative.startswith(f"{PREVIEW_DIR}/"):
                    writer.link_object(cache, digest, staging, relative, where)
            if writer.owners is not None:
                writer.owners[item.post.path] = list(item.outputs)
        elif cache is not None:
            _link_rendered(writer, cache, pending, item, previewer, where)
        else:
            _write_rendered(writer, item, posts_dir, preview_root, previewer, where)
        entries.append(_entry(item.post, item.url))
    entries += _keep_carried(writer, config, carried)
    if previewer is not None:
        writer.copy_tree(templates / "jekyll" / "assets", preview_root / "assets")
        index = functools.partial(previewer.index_page, entries)
        writer.write(preview_root / "index.html", index() if cache is None else
                     cache.listing("preview-index", previewer.index_inputs(entries), index))
    if report is not None:
        writer.write(staging / BUILD_DIR / "report.json", json.dumps(report, indent=1) + "\n")


def _write_frame(writer: "_Writer", config: SiteConfig, staging: Path) -> Path:
    """The Jekyll tree around the posts: the templates' files, the static folder, ``_config.yml``;
    returns the (empty) ``_posts`` folder."""
    templates = config.path("templates_dir")
    writer.copy_tree(templates / "jekyll", staging)
    static = config.path("static_dir")
    if static.is_dir():
        writer.copy_tree(static, staging)
    writer.write(staging / "_config.yml",
                 _CONFIG_HEADER + yaml.safe_dump(jekyll_config(config), sort_keys=False, allow_unicode=True))
    posts_dir = staging / "_posts"
    writer.mkdir(posts_dir)
    return posts_dir


def _link_rendered(writer: "_Writer", cache: RenderCache, pending: dict[str, Pending] | None, item: RenderedPost,
                   previewer: PreviewBuilder | None, where: SourceLocation) -> None:
    """A post rendered this build, its files stored in the render cache and linked into the site."""
    assert writer.staging is not None
    known = pending.get(item.post.path) if pending is not None else None
    # Stored already by the planning pass of write_site: link them, do not render the preview again.
    outputs = known.outputs if known is not None and known.outputs else \
        _store_outputs(writer, cache, item, previewer, where)
    for relative, digest in outputs.items():
        writer.link(cache.object_path(digest), writer.inside(writer.staging, relative, where))
    if pending is not None and item.post.path in pending:
        pending[item.post.path].outputs = outputs
    if writer.owners is not None:
        writer.owners[item.post.path] = list(outputs)


def _write_rendered(writer: "_Writer", item: RenderedPost, posts_dir: Path, preview_root: Path,
                    previewer: PreviewBuilder | None, where: SourceLocation) -> None:
    """A post rendered this build written as files (no render cache: a draft)."""
    assert writer.staging is not None
    writer.write(writer.inside(posts_dir, item.post.output_name, where), post_file_text(item))
    for site_path, source in item.assets.items():
        for root in (writer.staging, preview_root) if previewer is not None else (writer.staging,):
            writer.copy(source, writer.inside(root, site_path, where))
    if previewer is not None:
        page = writer.inside(preview_root, page_file(item.url), where,
                             f"its permalink '{item.url}' leads outside the site")
        writer.write(page, previewer.post_page(item))


def _keep_carried(writer: "_Writer", config: SiteConfig, carried: Sequence[CarriedPost]) -> list[PreviewEntry]:
    """The posts not built this time kept as they are in the site; their preview index entries."""
    assert writer.staging is not None
    site_dir = config.path("site_dir")
    entries = []
    for item in carried:
        previous = writer.previous.get("owners", {}).get(item.post.path) if writer.previous is not None else None
        if previous is not None and writer.planned is not None and writer.owners is not None:
            # site/ is what the record says (checked): the post's files stay as they are.
            for relative in previous:
                writer.planned[relative] = writer.previous["planned"][relative]
            writer.owners[item.post.path] = list(previous)
            entries.append(_entry(item.post, post_url(item.post, config.jekyll["permalink"])))
        elif _carry_over(site_dir, writer.staging, item.post, config, writer):
            entries.append(_entry(item.post, post_url(item.post, config.jekyll["permalink"])))
    return entries


def _store_outputs(writer: "_Writer", cache: RenderCache, item: RenderedPost, previewer: PreviewBuilder | None,
                   where: SourceLocation) -> dict[str, str]:
    """A rendered post's files stored as cache objects: site-relative path -> digest."""
    outputs: dict[str, str] = {}
    try:
        outputs[f"_posts/{item.post.output_name}"] = cache.put_bytes(post_file_text(item).encode("utf-8"))
        for site_path, source in item.assets.items():
            digest = cache.put_file(source)
            outputs[site_path] = digest
            if previewer is not None:
                outputs[f"{PREVIEW_DIR}/{site_path}"] = digest
        if previewer is not None:
            page = writer.inside(Path("/"), page_file(item.url), where,
                                 f"its permalink '{item.url}' leads outside the site")
            outputs[f"{PREVIEW_DIR}/{page.relative_to('/').as_posix()}"] = cache.put_bytes(
                previewer.post_page(item).encode("utf-8"))
    except OSError as exc:
        raise writer.error(exc, None) from None
    return outputs


BACKGROUND_REMOVAL_POSTS = 100  # a larger previous site is deleted by a background process


def _swap_in(staging: Path, site_dir: Path, *, background: bool) -> None:
    """:func:`replace_dir`; with ``background``, the previous site is deleted by a detached process.

    A site of a thousand posts has thousands of folders, and deleting them takes longer than the
    rest of a rebuild that changed one post. The previous site is renamed to a trash name the next
    build removes (:func:`_clean_leftovers`) if the background deletion did not finish.
    """
    aside = site_dir.with_name(f".{site_dir.name}.old")
    if not background or not site_dir.is_dir() or aside.exists() or aside.is_symlink():
        replace_dir(staging, site_dir)
        return
    os.replace(site_dir, aside)  # recover_dir puts it back if we die before the next rename
    try:
        os.replace(staging, site_dir)
    except BaseException:
        if not site_dir.exists():
            os.replace(aside, site_dir)
        raise
    trash = site_dir.with_name(f".{site_dir.name}.old.trash-{secrets.token_hex(4)}")
    try:
        os.replace(aside, trash)
        subprocess.Popen([sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)",
                          str(trash)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError:
        discard(trash if trash.exists() else aside)


def _clean_leftovers(site_dir: Path) -> None:
    """Remove staging folders and set-aside sites that a killed or failed build left beside ``site_dir``."""
    for pattern in (f".{site_dir.name}.staging-*", f".{site_dir.name}.old.trash-*"):
        for leftover in site_dir.parent.glob(pattern):
            discard(leftover)


def _permalink_location(post: Post) -> SourceLocation:
    document = post.front_matter_doc
    if document is not None and "permalink" in post.front_matter:
        return document.location("permalink")
    return post.location(1)


_WAYS_OUT = {
    errno.ENOSPC: "the disk is full: free some space, then run build-site again",
    errno.EDQUOT: "your disk quota is used up: free some space, then run build-site again",
    errno.EFBIG: "the file is larger than this process may write (ulimit -f)",
    errno.EACCES: "you may not write there: check the folder's permissions and owner",
    errno.EPERM: "you may not write there: check the folder's permissions and owner",
    errno.EROFS: "the file system is mounted read-only",
    errno.ENOTDIR: "a file is in the way where a folder should be: remove it",
    errno.EISDIR: "a folder is in the way where a file should be: remove it",
    errno.EEXIST: "something is in the way: remove it",
}


class _Writer:
    """Every write of one site build: confined to the staging folder, errors made user errors."""

    def __init__(self, root: Path, site_dir: Path) -> None:
        self.root = root
        self.site_dir = site_dir
        self.staging: Path | None = None
        self._copied: set[Path] = set()  # folders being copied, against symlink loops
        self._confined_dirs: set[Path] = set()  # folders of staging found to be inside it
        self.cache: RenderCache | None = None  # set: every file is a linked cache object
        self.planned: dict[str, str] | None = None  # set: nothing is written, each file's object is noted
        self.owners: dict[str, list[str]] | None = None  # post path -> its files in ``planned``
        self.previous: dict[str, Any] | None = None  # the record of the site as the last build wrote it

    def shown(self, path: Path) -> str:
        """``path`` as the user knows it: staging shown as ``site/``, relative to the project."""
        path = Path(path)
        if self.staging is not None:
            try:
                path = self.site_dir / path.relative_to(self.staging)
            except ValueError:
                pass
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def error(self, exc: OSError, path: Path | None, *, reading: bool = False) -> UserError:
        name = self.shown(Path(exc.filename)) if exc.filename else (self.shown(path) if path else "site/")
        way_out = _WAYS_OUT.get(exc.errno or 0, "fix that, then run build-site again")
        verb = "read" if reading else "write"
        return UserError(f"cannot {verb} {name}: {exc.strerror or exc}", suggestion=way_out,
                         hint=f"{self.shown(self.site_dir)}/ was left as it was")

    def inside(self, base: Path, relative: str, where: SourceLocation, why: str | None = None) -> Path:
        """``base/relative``, refused (a located error) unless it stays inside ``base``."""
        target = Path(os.path.normpath(base / relative))
        if base != target and base not in target.parents:
            raise UserError(why or f"'{relative}' would be written outside the site", where,
                            hint="a permalink is a path under the site, without '..'")
        return target

    def _confined(self, path: Path) -> None:
        # The last guard: whatever computed ``path``, it must land in staging once symlinks resolve.
        assert self.staging is not None
        parent = path.parent
        if parent not in self._confined_dirs and parent.parent in self._confined_dirs and not parent.is_symlink():
            self._confined_dirs.add(parent)  # a plain folder inside a confined one
        if parent not in self._confined_dirs:
            if not is_inside(path.parent, self.staging):
                raise UserError(f"refusing to write {self.shown(path)}: it resolves outside "
                                f"{self.shown(self.site_dir)}/")
            self._confined_dirs.add(path.parent)  # staging is ours: no link appears in it meanwhile
        if path.is_symlink():
            raise UserError(f"refusing to write {self.shown(path)}: it resolves outside {self.shown(self.site_dir)}/")

    def link_object(self, cache: RenderCache, digest: str, base: Path, relative: str, where: SourceLocation) -> None:
        """The cache object ``digest`` at ``base/relative`` (see :meth:`link`). In an in-place update
        it is only recorded, by name: a 1,000-post site has 6,000 such files, and a ``Path`` for each
        cost a third of a no-op."""
        name = posixpath.normpath(relative)
        if self.planned is not None and base == self.staging and name != "." and not name.startswith(("/", "../")) \
                and name != "..":
            self.planned[name] = digest
            return
        self.link(cache.object_path(digest), self.inside(base, relative, where))

    def link(self, source: Path, target: Path) -> None:
        """``target`` as a hard link to the cache object ``source`` (a copy where links fail)."""
        if self.planned is not None:
            assert self.staging is not None
            self.planned[target.relative_to(self.staging).as_posix()] = source.parent.name + source.name
            return
        if target.parent not in self._confined_dirs:
            self.mkdir(target.parent)
        self._confined(target)
        try:
            os.link(source, target)
        except FileExistsError:
            target.unlink()
            self.link(source, target)
        except OSError:
            self._copy_bytes(source, target)  # another file system, or one without hard links

    def mkdir(self, folder: Path) -> None:
        if self.planned is not None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.error(exc, folder) from None

    def write(self, path: Path, text: str) -> None:
        if self.cache is not None:
            try:
                digest = self.cache.put_bytes(text.encode("utf-8"))
            except OSError as exc:
                raise self.error(exc, path) from None
            self.link(self.cache.object_path(digest), path)
            return
        self.mkdir(path.parent)
        self._confined(path)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise self.error(exc, path) from None

    def copy(self, source: Path, target: Path) -> None:
        if self.cache is not None:
            try:
                digest = self.cache.put_file(source)
            except OSError as exc:
                raise self.error(exc, source, reading=True) from None
            self.link(self.cache.object_path(digest), target)
            return
        self._copy_bytes(source, target)

    def _copy_bytes(self, source: Path, target: Path) -> None:
        self.mkdir(target.parent)
        self._confined(target)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise self.error(exc, source, reading=True) from None
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise self.error(exc, target) from None

    def checked_source(self, path: Path) -> Path:
        """``path``, refused if it is a symbolic link leading outside the project."""
        if path.is_symlink() and not is_inside(path, self.root):
            raise UserError(f"{self.shown(path)} is a symbolic link to {os.readlink(path)}, outside the "
                            f"project: litblog publishes only the project's own files",
                            hint="copy the file into the project instead of linking to it")
        return path

    def copy_tree(self, source: Path, target: Path) -> None:
        """Copy the files under ``source``; a symlink is followed only if it stays inside the project."""
        if not source.is_dir():
            return
        real = source.resolve()
        if real in self._copied:
            return  # a symlink loop
        self._copied.add(real)
        try:
            for path in sorted(source.iterdir()):
                if path.name in ("__pycache__", ".DS_Store"):
                    continue
                self.checked_source(path)
                destination = target / path.name
                if path.is_dir():
                    self.mkdir(destination)
                    self.copy_tree(path, destination)
                elif path.is_file():
                    self.copy(path, destination)
        except OSError as exc:
            raise self.error(exc, source, reading=True) from None
        finally:
            self._copied.discard(real)


def _entry(post: Post, url: str) -> PreviewEntry:
    first, minutes = _read_body(post.body)
    summary = post.front_matter.get("description") or post.front_matter.get("summary") or first
    return PreviewEntry(post.title, post.date, page_file(url), str(summary), minutes)


@functools.lru_cache(maxsize=2048)
def _read_body(body: str) -> tuple[str, int]:
    """The first paragraph and reading time of a post's body. Kept, because ``serve`` lists every
    post on the home page after each save, and its posts' bodies are the same objects each time."""
    return first_paragraph(body), reading_minutes(body)


def _carry_over(old_site: Path, staging: Path, post: Post, config: SiteConfig, writer: _Writer) -> bool:
    """Copy a post's previous output (post file, assets, preview page) into the new site."""
    source = old_site / "_posts" / post.output_name
    if not source.is_file():
        return False
    where = _permalink_location(post)
    writer.copy(writer.checked_source(source), staging / "_posts" / post.output_name)
    page = page_file(post_url(post, config.jekyll["permalink"]))
    for relative in (f"assets/{post.slug}", f"{PREVIEW_DIR}/assets/{post.slug}", f"{PREVIEW_DIR}/{page}"):
        old = writer.inside(old_site, relative, where, "its permalink leads outside the site")
        target = writer.inside(staging, relative, where, "its permalink leads outside the site")
        if old.is_dir():
            writer.copy_tree(old, target)
        elif old.is_file():
            writer.copy(writer.checked_source(old), target)
    return True
