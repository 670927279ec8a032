"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

No WebDriver or websocket library: Chromium reads NUL-terminated JSON commands on fd 3 and
answers on fd 4. Enough for tests: open a page, wait for it to load, evaluate JavaScript,
collect console errors and failed requests, take a screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import fnmatch
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = next((path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if path), None)
NO_CHROMIUM = "chromium is not installed: `bash .ci/run` installs Debian's chromium"
# Where the site's MathJax script comes from; tests answer for it, as they have no network.
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/*"
# The flags the project's CI uses, plus what this driver needs.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run")


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


@dataclass
class ConsoleEntry:
    """A console message, uncaught exception or failed request seen by the page."""

    level: str
    text: str
    url: str = ""

    def __str__(self) -> str:
        return f"[{self.level}] {self.text}" + (f" ({self.url})" if self.url else "")


@dataclass
class Page:
    """One tab, attached with its own DevTools session."""

    browser: "Chromium"
    session: str
    console: list[ConsoleEntry] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=dict)  # request id -> URL
    answers: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # URL pattern -> (type, body)

    def answer(self, url_pattern: str, body: bytes, content_type: str) -> None:
        """Answer requests for URLs matching ``url_pattern`` (``*`` wildcards) with ``body``, offline."""
        self.answers[url_pattern] = (content_type, body)
        self.send("Fetch.enable", patterns=[{"urlPattern": pattern} for pattern in self.answers])

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, timeout=timeout, session=self.session, **params)

    def goto(self, url: str, timeout: float = 30) -> None:
        """Navigate and wait until the new document has loaded (images included)."""
        # A mark on the old document: a load event still on its way from it cannot fool us.
        mark = uuid.uuid4().hex
        self.evaluate(f"document.documentElement.dataset.leaving = '{mark}'")
        answer = self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        self.wait_until(f"document.readyState === 'complete' && document.documentElement.dataset.leaving !== '{mark}'",
                        timeout)

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The value of a JavaScript expression (promises awaited)."""
        answer = self.send("Runtime.evaluate", timeout=timeout, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression!r} threw: {answer['exceptionDetails'].get('text')} "
                               f"{answer['exceptionDetails'].get('exception', {}).get('description', '')}")
        return answer["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30, interval: float = 0.05) -> float:
        """Seconds until ``expression`` is true in the page (a reload in between is fine)."""
        started = time.monotonic()
        while True:
            try:
                if self.evaluate(expression, timeout=5):
                    return time.monotonic() - started
            except BrowserError:
                pass  # the page was between documents
            if time.monotonic() - started > timeout:
                raise BrowserError(f"{expression!r} still false after {timeout} s")
            time.sleep(interval)

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page, beyond the viewport."""
        answer = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(answer["data"]))
        return path


class Chromium:
    """A headless Chromium process; use as a context manager."""

    def __init__(self, *, width: int = 1200, height: int = 900, block_urls: tuple[str, ...] = ()) -> None:
        if CHROMIUM is None:
            raise BrowserError(NO_CHROMIUM)
        self.width, self.height, self.block_urls = width, height, block_urls
        self._ids = itertools.count(1)
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._profile = tempfile.TemporaryDirectory(prefix="litblog-chromium-")
        self.log_path = Path(self._profile.name) / "chromium.log"

    def __enter__(self) -> "Chromium":
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Move the child's ends out of the way so that dup2 onto 3 and 4 cannot clobber them.
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 100)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 100)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_fds() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        command = [CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
                   f"--window-size={self.width},{self.height}", "--hide-scrollbars", "--mute-audio",
                   "about:blank"]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                        pass_fds=(3, 4), preexec_fn=child_fds, start_new_session=True)
        os.close(high_r)
        os.close(high_w)
        self._reader = threading.Thread(target=self._read, name="chromium-reader", daemon=True)
        self._reader.start()
        try:
            self.send("Browser.getVersion", timeout=60)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except (BrowserError, OSError):
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        self._profile.cleanup()

    # -- protocol ---------------------------------------------------------------------------

    def send(self, method: str, *, timeout: float = 30, session: str | None = None, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        answers: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._answers[number] = answers
        message = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._post(message)
        try:
            answer = answers.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"no answer to {method} in {timeout} s; see {self.log_path}") from None
        finally:
            with self._lock:
                self._answers.pop(number, None)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            with self._lock:
                answers = self._answers.get(message["id"])
            if answers is not None:
                answers.put(message)
            return
        session, method, params = message.get("sessionId", ""), message.get("method", ""), message.get("params", {})
        page = self._pages.get(session)
        if page is not None:
            if method == "Network.requestWillBeSent":
                page.requests[params["requestId"]] = params["request"]["url"]
            elif method == "Fetch.requestPaused":
                self._fulfil(page, params)
            entry = _console_entry(method, params, page.requests)
            if entry is not None:
                page.console.append(entry)

    def _fulfil(self, page: Page, params: dict[str, Any]) -> None:
        # On the reader thread: post the answer without waiting for Chromium's reply.
        url = params["request"]["url"]
        content_type, body = next((answer for pattern, answer in page.answers.items()
                                   if fnmatch.fnmatchcase(url, pattern)), ("text/plain", b""))
        message = {"id": next(self._ids), "sessionId": page.session, "method": "Fetch.fulfillRequest",
                   "params": {"requestId": params["requestId"], "responseCode": 200,
                              "responseHeaders": [{"name": "Content-Type", "value": content_type}],
                              "body": base64.b64encode(body).decode()}}
        self._post(message)

    def _post(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        with self._write_lock:  # the reader thread posts too; a long message is written in parts
            view = memoryview(data)
            while view:
                view = view[os.write(self._to_child, view):]

    # -- pages ------------------------------------------------------------------------------

    def new_page(self) -> Page:
        """A fresh tab with console, log and network events on."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            page.send(method)
        page.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        if self.block_urls:
            page.send("Network.setBlockedURLs", urls=list(self.block_urls))
        return page


def _console_entry(method: str, params: dict[str, Any], requests: dict[str, str]) -> ConsoleEntry | None:
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
        frames = params.get("stackTrace", {}).get("callFrames", [])
        return ConsoleEntry("console." + params["type"], text, frames[0].get("url", "") if frames else "")
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        text = details.get("exception", {}).get("description") or details.get("text", "")
        return ConsoleEntry("exception", text, details.get("url", ""))
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return ConsoleEntry(f"log.{entry.get('source', '')}", entry.get("text", ""), entry.get("url", ""))
    if method == "Network.loadingFailed" and not params.get("canceled"):
        return ConsoleEntry("network", params.get("errorText", "failed") +
                            (f" ({params['blockedReason']})" if params.get("blockedReason") else ""),
                            requests.get(params.get("requestId", ""), ""))
    return None
