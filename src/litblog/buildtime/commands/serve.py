"""``build-site serve``: build, serve the HTML preview on 127.0.0.1, rebuild what changed, reload the browser.

The main thread watches the project's sources (by polling: no dependency, and a few small
folders) and runs the builds, so an interrupted training stops exactly as with ``build-site``.
A thread serves ``site/_site/``; preview pages built with ``live_reload`` load
``templates/preview/reload.js``, which long-polls ``/__litblog__/wait`` and reloads the page
when a build changed it, or shows the build's error over the page.
"""

from __future__ import annotations

import errno
import html
import http.server
import json
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from .pipeline import BuildOptions, BuildSummary, build
from ..sources.config import CONFIG_NAME, SiteConfig, load_config
from ...common.errors import LitblogError, UserError, UserErrors
from ..sources.posts import POST_SUFFIXES
from ..execute.progress import ConsoleReporter
from ..publish.site import PREVIEW_DIR

ENDPOINT = "/__litblog__/"
_WAIT_SECONDS = 20.0  # a long poll answers at the latest after this, and the page asks again
_LOOK_SHARE = 0.05  # of the time between looks at the sources, at most this share is spent looking
_SETTLE_SECONDS = 0.05  # editors write a file in steps: wait until a second look sees the same
# Editor droppings and caches are not sources (nor is anything whose name starts with "."):
_EDITOR_SUFFIXES = ("~", ".swp", ".swx", ".tmp")


@dataclass(frozen=True)
class ServeOptions:
    """What ``build-site serve`` was asked for."""

    port: int = 4000
    run: bool = False  # train experiments whose inputs changed; otherwise show them as notices
    host: str = "127.0.0.1"
    poll_seconds: float = 0.1  # the shortest wait between two looks at the sources


@dataclass
class _Change:
    """What a look at the sources found since the last build."""

    posts: list[Path] = field(default_factory=list)  # edited or new posts
    everything: list[str] = field(default_factory=list)  # why every post must be rebuilt
    saved_at: float | None = None  # the newest modification time among the changed files

    def __bool__(self) -> bool:
        return bool(self.posts or self.everything)


class LiveState:
    """The latest build as the browser sees it: a version, the pages it changed, its error."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.version = 0
        self.pages: list[str] | None = []  # preview files the last build changed; None: all of them
        self.error: str | None = None

    def publish(self, pages: list[str] | None, error: str | None) -> None:
        with self._changed:
            self.version += 1
            self.pages, self.error = pages, error
            self._changed.notify_all()

    def wait(self, version: int | None, timeout: float) -> dict[str, Any]:
        """The state once its version differs from ``version`` (at once if None), or after ``timeout``."""
        with self._changed:
            if version is not None:
                self._changed.wait_for(lambda: self.version != version, timeout)
            return {"version": self.version, "pages": self.pages, "error": self.error}


def serve(root: Path, options: ServeOptions, reporter: ConsoleReporter,
          *, stop: threading.Event | None = None) -> int:
    """Build, serve the preview and rebuild on changes until Ctrl-C (or ``stop``); returns the exit code.

    A mistake in the config at start raises :class:`UserError`; later mistakes are reported
    and shown in the browser while the last good site stays served.
    """
    config = load_config(root)
    state = LiveState()
    watcher = _Watcher(config)
    server: http.server.ThreadingHTTPServer | None = None
    previous_term = signal.signal(signal.SIGTERM, _interrupt) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        server = _start_server(config, options, state, reporter)  # first: a busy port fails at once
        _rebuild(root, options, reporter, state, _Change(everything=["start"]))
        watcher.take_results()
        host, port = server.server_address[:2]
        reporter.info(f"serving the preview at http://{host}:{port}/ (Ctrl-C to stop); watching "
                      + ", ".join(watcher.describe()))
        if not options.run:
            reporter.info("experiments whose inputs change are shown as notices; build-site serve --run trains them")
        while not (stop and stop.is_set()):
            looking = time.monotonic()
            change = watcher.poll()
            if change:
                _rebuild(root, options, reporter, state, change)
                watcher.take_results()
            else:
                # A look at a large blog's sources takes a few milliseconds: keep them a small share of a core.
                time.sleep(max(options.poll_seconds, (time.monotonic() - looking) / _LOOK_SHARE))
    except KeyboardInterrupt:
        reporter.info("stopped")
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops runs in progress the way Ctrl-C does


# -- watching -----------------------------------------------------------------------------------

_Snapshot = dict[str, tuple[int, int]]


class _Watcher:
    """Polls the sources a build reads and says which posts to rebuild."""

    def __init__(self, config: SiteConfig) -> None:
        self.root = config.root
        self.posts_dir = config.path("posts_dir")
        self.folders = [(config.path("posts_dir"), POST_SUFFIXES), (config.path("templates_dir"), None),
                        (config.path("recipes_dir"), (".py",)), (config.path("static_dir"), None)]
        self.results_dir = config.path("results_dir")
        self._snapshot = self._scan()

    def describe(self) -> list[str]:
        return [f"{folder.relative_to(self.root).as_posix()}/" for folder, _ in self.folders if folder.is_dir()] \
            + [CONFIG_NAME]

    def take_results(self) -> None:
        """Results our own build stored are not a change; sources edited during the build still are."""
        results = self._key(self.results_dir) + "/"
        fresh = self._scan()
        self._snapshot = {**{k: v for k, v in self._snapshot.items() if not k.startswith(results)},
                          **{k: v for k, v in fresh.items() if k.startswith(results)}}

    def poll(self) -> _Change:
        current = self._scan()
        if current == self._snapshot:
            return _Change()
        while not self._settled(current):  # still being written
            time.sleep(_SETTLE_SECONDS)
            settled = self._scan()
            if settled == current:
                break
            current = settled
        change = self._classify(self._snapshot, current)
        self._snapshot = current
        return change

    def _settled(self, current: _Snapshot) -> bool:
        """Every changed file was last written at least :data:`_SETTLE_SECONDS` ago, so a second look
        after that long would see the same; a removal, or a time in the future, is not known so."""
        changed = [current.get(name) for name in current.keys() | self._snapshot.keys()
                   if current.get(name) != self._snapshot.get(name)]
        if not changed or None in changed:
            return False
        return time.time() - max(stamp[0] for stamp in changed if stamp is not None) / 1e9 >= _SETTLE_SECONDS

    def _classify(self, before: _Snapshot, after: _Snapshot) -> _Change:
        changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
        times = [after[name][0] / 1e9 for name in changed if name in after]
        change = _Change(saved_at=max(times) if times else None)
        for name in changed:
            path = self.root / name  # an absolute name stays absolute
            if _inside(path, self.posts_dir) and name in after:
                change.posts.append(path)
            else:
                change.everything.append(name)  # a template, recipe, config, result or deleted post
        return change

    def _scan(self) -> _Snapshot:
        snapshot: _Snapshot = {}
        for folder, suffixes in self.folders:
            self._scan_folder(folder, self._key(folder) + "/", suffixes, snapshot)
        if self.results_dir.is_dir():  # results stored by a build-site run elsewhere
            for manifest in self.results_dir.glob("*/*/manifest.json"):
                self._add(manifest, self._key(manifest), snapshot)
        config_file = self.root / CONFIG_NAME
        self._add(config_file, self._key(config_file), snapshot)
        return snapshot

    def _scan_folder(self, folder: Path | str, prefix: str, suffixes: tuple[str, ...] | None,
                     snapshot: _Snapshot) -> None:
        """The files below ``folder`` into ``snapshot`` by ``os.scandir``: a thousand posts are
        looked at ten times a second, and a ``Path`` per file would cost most of that."""
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(".") or name == "__pycache__":
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        self._scan_folder(entry.path, f"{prefix}{name}/", suffixes, snapshot)
                    elif not name.endswith(_EDITOR_SUFFIXES) \
                            and (suffixes is None or os.path.splitext(name)[1].lower() in suffixes):
                        self._add(entry, prefix + name, snapshot)
        except OSError:
            return  # missing, or removed while we looked

    @staticmethod
    def _add(file: Path | os.DirEntry[str], key: str, snapshot: _Snapshot) -> None:
        try:
            stat = file.stat()  # a link is watched by what it points to
        except OSError:
            return  # removed while we looked
        if not S_ISDIR(stat.st_mode):
            snapshot[key] = (stat.st_mtime_ns, stat.st_size)

    def _key(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:  # a folder setting outside the project
            return path.as_posix()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


# -- building -----------------------------------------------------------------------------------

def _rebuild(root: Path, options: ServeOptions, reporter: ConsoleReporter, state: LiveState,
             change: _Change) -> None:
    """One build for ``change``; publishes the pages it changed, or its error, to the browser."""
    started = time.monotonic()
    everything = bool(change.everything)
    what = "all posts" if everything else ", ".join(p.relative_to(root).as_posix() for p in change.posts)
    if change.everything != ["start"]:
        names = change.everything or [p.relative_to(root).as_posix() for p in change.posts]
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        reporter.info(f"{', '.join(names[:3])}{more} changed: rebuilding {'all posts' if everything else 'it'}")
    # A changed post alone (the others are carried over: linked to the render cache's objects);
    # anything else builds all posts, and the render cache re-renders those whose inputs changed.
    build_options = BuildOptions(posts=[] if everything else [str(p) for p in change.posts],
                                 run=options.run, live_reload=True)
    try:
        result = build(root, build_options, reporter)
    except (UserError, UserErrors) as exc:
        reporter.error(str(exc))
        state.publish([], str(exc))
        return
    except LitblogError as exc:
        reporter.error(f"error: {exc}")
        state.publish([], f"error: {exc}")
        return
    except Exception:  # a bug in a build must not end the session: show it and keep serving
        text = traceback.format_exc()
        reporter.error(text.rstrip())
        state.publish([], text)
        return
    state.publish(_changed_pages(result), _build_error(result))
    _say_done(reporter, result, what, time.monotonic() - started, change.saved_at)


def _changed_pages(result: BuildSummary) -> list[str] | None:
    """The preview pages the build changed (relative to the preview), or None: reload every page.

    The site writer says which files' content it changed (it knows from the render cache's record
    of the last write, so no file of a thousand-post preview is looked at); a changed image or
    stylesheet may be on any page.
    """
    if result.site_changes is None:
        return None
    prefix = f"{PREVIEW_DIR}/"
    changed = [name[len(prefix):] for name in result.site_changes if name.startswith(prefix)]
    return changed if all(name.endswith(".html") for name in changed) else None


def _build_error(result: BuildSummary) -> str | None:
    if not result.written and result.exit_code != 0:
        return "the site was not rebuilt: an experiment failed (see the console)"
    return None


def _say_done(reporter: ConsoleReporter, result: BuildSummary, what: str, seconds: float,
              saved_at: float | None) -> None:
    waiting = result.unrun
    if waiting:
        names = ", ".join(sorted({e.label for e in waiting}))
        reporter.info(f"{len(waiting)} experiment(s) need training ({names}): shown as notices; "
                      f"run build-site to train them, or restart with build-site serve --run")
    if result.written:
        since_save = f", {time.time() - saved_at:.2f} s after the save" if saved_at else ""
        reporter.info(f"rebuilt {what} in {seconds:.2f} s{since_save}")


# -- serving ------------------------------------------------------------------------------------

def _start_server(config: SiteConfig, options: ServeOptions, state: LiveState,
                  reporter: ConsoleReporter) -> http.server.ThreadingHTTPServer:
    preview = config.path("site_dir") / PREVIEW_DIR
    reload_script = config.path("templates_dir") / "preview" / "reload.js"
    handler = _handler_class(preview, reload_script, state, verbose=reporter.verbosity > 1)
    try:
        server = http.server.ThreadingHTTPServer((options.host, options.port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {options.port} on {options.host} is in use",
                            hint="choose another with --port N (--port 0 picks a free one)") from None
        raise UserError(f"cannot serve on {options.host}:{options.port}: {exc.strerror}") from None
    server.daemon_threads = True  # long polls must not keep the process alive
    threading.Thread(target=server.serve_forever, name="litblog-serve", daemon=True).start()
    return server


def _handler_class(preview: Path, reload_script: Path, state: LiveState, *,
                   verbose: bool) -> Callable[..., http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        # The site folder is swapped whole by each build: resolve it by name on every request.
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(preview), **kwargs)

        def do_GET(self) -> None:  # noqa: N802 (http.server's API)
            path = urlsplit(self.path).path
            if path == ENDPOINT + "wait":
                query = parse_qs(urlsplit(self.path).query)
                version = query.get("version", [""])[0]
                body = state.wait(int(version) if version.isdigit() else None, _WAIT_SECONDS)
                self._send(200, "application/json", json.dumps(body).encode())
            elif path == ENDPOINT + "reload.js":
                try:
                    self._send(200, "text/javascript; charset=utf-8", reload_script.read_bytes())
                except OSError:
                    self.send_error(404, "reload.js is missing from templates/preview/")
            else:
                super().do_GET()

        def send_head(self) -> Any:
            # A page rebuilt within the same second as the copy the browser holds must not be a
            # 304: If-Modified-Since has one-second resolution.
            del self.headers["If-Modified-Since"]
            return super().send_head()

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            if code == 404 and state.error:
                page = _error_page(state.error).encode()
                self._send(404, "text/html; charset=utf-8", page)
                return
            super().send_error(code, message, explain)

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's API)
            if verbose:
                super().log_message(format, *args)

    return Handler


def _error_page(error: str) -> str:
    """Shown for a page the site lacks while the last build failed; it reloads once a build succeeds."""
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>build error</title>"
            f"<script src=\"{ENDPOINT}reload.js\" defer></script></head><body data-litblog-error>"
            f"<h1>The build failed</h1><pre>{html.escape(error)}</pre></body></html>")


__all__ = ["ServeOptions", "LiveState", "serve", "ENDPOINT"]
