"""``build-site serve``: a real server in its own process, real edits, a real browser reloading.

Latencies are measured and printed (run with ``-s`` to see them), never asserted: the machine
may be busy. Every wait has a generous timeout instead.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from chromium import CHROMIUM, MATHJAX_CDN, NO_CHROMIUM, Chromium
from conftest import snapshot
from site_check import check_links, require_tool

POST = "posts/2026-01-05-stripes.md"
PAGE = "2026/01/05/stripes/index.html"
TIMEOUT = 60  # seconds any one thing may take on a busy machine before the test gives up


class Served:
    """``python -m litblog --project ROOT serve --port 0`` and what it prints."""

    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "litblog", "--project", str(root), "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # stop() sends Ctrl-C: its default action restored where pytest runs with SIGINT ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self.wait_for_line(r"serving the preview at (http://127\.0\.0\.1:\d+/)").group(1)

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, *, after: int = 0, timeout: float = TIMEOUT) -> re.Match[str]:
        """The first line from index ``after`` on that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines[after:]:
                    if match := re.search(pattern, line):
                        return match
                if self.process.poll() is not None and not self._new_line.wait(0.5):
                    raise AssertionError(f"serve exited ({self.process.returncode}):\n{self.output}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no line matching {pattern!r} in {timeout} s:\n{self.output}")
                self._new_line.wait(0.2)

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=TIMEOUT) as response:
            return response.read().decode()

    def state(self, version: int | None = None) -> dict:
        """The live-reload state; with ``version``, once it has moved on from it (a long poll)."""
        query = "" if version is None else f"?version={version}"
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = json.loads(self.get("__litblog__/wait" + query))
            if version is None or answer["version"] != version or time.monotonic() > deadline:
                return answer

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            return self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def served(project: Path):
    server = Served(project)
    yield server
    if server.process.poll() is None:
        assert server.stop() == 0, server.output
        assert "stopped" in server.output


def edit(path: Path, old: str, new: str) -> float:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return time.monotonic()


def test_an_edited_post_is_rebuilt_alone_and_its_page_reloads(served, project):
    first = served.state()
    page = served.get(PAGE)
    assert "A post about stripes" in page and "__litblog__/reload.js" in page
    mark = len(served.lines)
    waiting: dict = {}
    poll = threading.Thread(target=lambda: waiting.update(served.state(first["version"])))
    poll.start()  # the long poll a page holds open
    time.sleep(0.3)
    nonce = uuid.uuid4().hex[:8]
    saved = edit(project / POST, "A post about stripes.", f"A post about stripes, edited {nonce}.")
    poll.join(TIMEOUT)
    latency = time.monotonic() - saved
    assert waiting["version"] > first["version"] and waiting["error"] is None
    # Only that page changed, and the home page, whose summary is the post's first paragraph: only they reload.
    assert waiting["pages"] in ([PAGE], sorted([PAGE, "index.html"]))
    assert f"edited {nonce}" in served.get(PAGE)
    done = served.wait_for_line(r"rebuilt posts/2026-01-05-stripes\.md in ([0-9.]+) s, ([0-9.]+) s after the save",
                                after=mark)
    served.wait_for_line(r"^wrote 1 post\(s\) to site/$", after=mark)  # the other post was carried over
    print(f"\nserve: build {done.group(1)} s; save to reload signal {latency:.2f} s")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium's path; asked for first, so the test skips before starting a server."""
    return require_tool(CHROMIUM, NO_CHROMIUM)


def test_the_browser_reloads_an_edited_post(chromium, served, project):
    with Chromium() as browser:
        page = browser.new_page()
        page.answer(MATHJAX_CDN, b"", "text/javascript")  # offline: MathJax's CDN is out of reach
        page.goto(served.url + PAGE)
        page.evaluate("window.beforeTheEdit = true")
        page.wait_until("performance.getEntriesByType('resource').some(r => r.name.includes('__litblog__/wait'))")
        nonce = uuid.uuid4().hex[:8]
        saved = edit(project / POST, "A post about stripes.", f"A post about {nonce} stripes.")
        page.wait_until(f"document.body.innerText.includes('{nonce}') && window.beforeTheEdit === undefined",
                        timeout=TIMEOUT)
        latency = time.monotonic() - saved
        page.wait_until("document.readyState === 'complete'")
        page.evaluate("document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; })")  # lazy below
        page.wait_until("Array.from(document.images).every(img => img.complete)")
        images = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        assert len(images) == 2 and all(images)
        assert [str(entry) for entry in page.console] == []
        print(f"\nserve: save to reloaded page in the browser {latency:.2f} s")


def test_a_recipe_change_shows_a_notice_and_trains_nothing_without_run(served, project):
    results = snapshot(project / "results")
    logs = snapshot(project / ".litblog" / "logs")
    version = served.state()["version"]
    mark = len(served.lines)
    edit(project / "src/recipes/tiny.py", "batch_size=8", "batch_size=4")
    state = served.state(version)
    assert state["error"] is None
    page = served.get(PAGE)
    assert "Experiment <code>plain</code> has not been run since its code or settings changed." in page
    assert "run build-site to update it" in page
    served.wait_for_line(r"2 experiment\(s\) need training \(flipped, plain\): shown as notices; run build-site",
                         after=mark)
    assert "src/recipes/tiny.py changed: rebuilding all posts" in served.output
    assert snapshot(project / "results") == results and snapshot(project / ".litblog" / "logs") == logs


def test_a_mistake_is_shown_and_the_last_good_page_stays(served, project):
    version = served.state()["version"]
    mark = len(served.lines)
    edit(project / POST, "```{experiment} plain", "```{experimnt} plain")
    state = served.state(version)
    assert state["error"].startswith(f"{POST}:9: unknown directive 'experimnt' (did you mean 'experiment'?)")
    # Printed before the state changed, but read from serve's output by another thread: waited for.
    served.wait_for_line(rf"{re.escape(POST)}:9: unknown directive 'experimnt'", after=mark)
    assert "A post about stripes" in served.get(PAGE)  # still served
    edit(project / POST, "```{experimnt} plain", "```{experiment} plain")
    assert served.state(state["version"])["error"] is None


def test_the_served_preview_has_no_broken_links_and_the_reload_script(served, project):
    report = check_links(project / "site" / "_site", None)
    # The one file pages name that only the server has.
    assert {b.split(": ", 2)[1] for b in report.broken} <= {"<script> ../../../../__litblog__/reload.js",
                                                             "<script> __litblog__/reload.js"}
    assert "location.reload()" in served.get("__litblog__/reload.js")


def test_a_busy_port_is_a_user_error(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "litblog", "--project", str(project), "serve", "--port",
                               str(port)], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "--port 0" in done.stderr
    assert "Traceback" not in done.stderr


def _watched(project: Path) -> "tuple[object, set[str]]":
    from litblog.buildtime.commands.serve import _Watcher
    from litblog.buildtime.sources.config import load_config

    watcher = _Watcher(load_config(project))
    return watcher, set(watcher._scan())


def test_the_watcher_looks_at_the_sources_a_build_reads_and_not_at_editor_droppings(project):
    watcher, before = _watched(project)
    assert {POST, "_config.yml", "src/recipes/tiny.py"} <= before
    assert not any(name.startswith(("site/", ".litblog/")) for name in before)
    sources = ["posts/drafts/2026-02-01-nested.md", "posts/2026-02-02-upper.MD", "src/recipes/more/deep.py",
               "templates/blocks/new.md.j2", "static/images/logo.svg"]
    droppings = ["posts/.#2026-01-05-stripes.md", "posts/2026-01-05-stripes.md~", "posts/.stripes.md.swp",
                 "posts/notes.txt", "src/recipes/__pycache__/tiny.cpython-311.pyc", "src/recipes/data.csv",
                 "templates/.cache/x", "templates/page.tmp", "static/.DS_Store"]
    for name in sources + droppings:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x")
    (project / "static" / "linked").symlink_to(project / "templates", target_is_directory=True)
    assert set(watcher._scan()) - before == set(sources)
    change = watcher.poll()
    assert sorted(str(p.relative_to(project)) for p in change.posts) == sorted(sources[:2])
    assert set(change.everything) == set(sources[2:])


def test_a_save_is_built_at_once_when_the_file_has_been_still_for_the_settling_time(project, monkeypatch):
    """Editors write a file in steps; a second look after a pause is needed only for a file written just now."""
    from litblog.buildtime.commands import serve as serve_module

    watcher, _ = _watched(project)
    pauses: list[float] = []
    monkeypatch.setattr(serve_module.time, "sleep", lambda seconds: pauses.append(seconds))
    post = project / POST
    post.write_text(post.read_text() + "\nMore.\n")
    long_ago = time.time() - 5
    os.utime(post, (long_ago, long_ago))
    assert watcher.poll().posts == [post] and pauses == []
    post.write_text(post.read_text() + "\nEven more.\n")  # just now: looked at again after a pause
    assert watcher.poll().posts == [post] and pauses == [serve_module._SETTLE_SECONDS]
    pauses.clear()
    (project / "posts" / "2026-01-06-counts.md").unlink()  # a removal has no time: a second look too
    assert watcher.poll().everything == ["posts/2026-01-06-counts.md"] and pauses == [serve_module._SETTLE_SECONDS]
