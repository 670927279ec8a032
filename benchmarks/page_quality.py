"""Page quality: Lighthouse and axe-core on every page of the site this repository publishes.

    python benchmarks/page_quality.py            # a few minutes; prints the table and the targets
    python benchmarks/page_quality.py --json out.json

What it does, nothing timed by a test:

1. copies the repository (its files, not ``.git``/``.litblog``/``site/_site``) into a temporary
   folder and builds the site there from the committed results (``build-site --no-run``: nothing
   trains; ``results/`` is checked to be byte-identical afterwards);
2. publishes it with Jekyll (``--safe``, production) under the baseurl ``/litblog``;
3. serves it on 127.0.0.1 with gzip, as GitHub Pages serves a project page (``Cache-Control:
   max-age=600``);
4. runs Lighthouse (npm ``lighthouse``, installed into ``.litblog/benchmarks/node_modules`` with
   ``npm install --prefix``, Debian's Chromium through ``CHROME_PATH``) on every page, with its phone
   (the default: a mid-range phone, slow 4G) and desktop presets;
5. runs axe-core (npm ``axe-core``, every rule, every ``<details>`` opened) in Debian's Chromium
   driven over the DevTools protocol (``tests/chromium.py``), at 1280 and 390 px.

It prints per page the four Lighthouse scores, total bytes, DOM size and failing audits, axe's
violations, then the targets with PASS or MISS: Accessibility, Best Practices and SEO 100 on every
page; phone Performance >= 90; the study post at most 800 KB and 1,500 DOM elements; axe 0
violations. Nothing is downloaded at run time except the npm packages (``npm install``).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # tests/chromium.py: the DevTools client the browser tests use

from chromium import Chromium  # noqa: E402

NODE_DIR = REPO / ".litblog" / "benchmarks"
PACKAGES = ("lighthouse", "axe-core")
BASEURL = "/litblog"
STUDY_POST = "posts/2026-11-23-cats-vs-dogs-small-cnns.md"
STUDY_BYTES, STUDY_DOM = 800 * 1024, 1500
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
COMPRESSED = (".html", ".css", ".js", ".svg", ".xml", ".json", ".txt", ".map")
IGNORED = (".git", ".litblog", "_site", "_build", "__pycache__", ".venv", "node_modules", ".pytest_cache")


# -- build and publish ------------------------------------------------------------------------

def digests(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def build_site(work: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The repository built in ``work`` and published by Jekyll; (site folder, [(page name, URL path)])."""
    project = work / "project"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(*IGNORED))
    before = digests(project / "results")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "litblog", "--project", str(project), "-q", "--no-run"],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build-site failed:\n{done.stderr}")
    if digests(project / "results") != before:
        raise SystemExit("build-site changed results/: restyling must re-run nothing")
    out = work / "out"
    jekyll = subprocess.run(["jekyll", "build", "--safe", "--source", str(project / "site"), "--destination",
                             str(out), "--baseurl", BASEURL], capture_output=True, text=True,
                            env={**os.environ, "JEKYLL_ENV": "production", "LC_ALL": "C.UTF-8"})
    if jekyll.returncode != 0:
        raise SystemExit(f"jekyll build failed:\n{jekyll.stdout}\n{jekyll.stderr}")
    served = work / "serve"
    shutil.copytree(out, served / BASEURL.strip("/"))
    pages = [("home", f"{BASEURL}/")]
    for html in sorted(out.rglob("index.html")):
        relative = html.parent.relative_to(out).as_posix()
        if relative != ".":
            pages.append((relative.split("/")[-1], f"{BASEURL}/{relative}/"))
    pages.append(("404", f"{BASEURL}/404.html"))
    return served, pages


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, text gzipped when the client accepts it, cached for 10 minutes (as GitHub Pages)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        if path.suffix in COMPRESSED and path.is_file() and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(path.read_bytes(), mtime=0)
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()


def full_weight(served: Path, path: str) -> tuple[int, int]:
    """(bytes, images) of a page read to its end: its HTML and stylesheets gzipped, and every image's
    ``src`` (what a 1x screen loads; Lighthouse counts only what loads before the reader scrolls)."""
    html_file = served / path.strip("/") / "index.html" if path.endswith("/") else served / path.strip("/")
    html = html_file.read_text(encoding="utf-8")
    total = len(gzip.compress(html.encode("utf-8"), mtime=0))
    for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        total += len(gzip.compress((served / href.strip("/")).read_bytes(), mtime=0))
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    for src in images:
        file = served / src.strip("/")
        data = file.read_bytes()
        total += len(gzip.compress(data, mtime=0)) if file.suffix in COMPRESSED else len(data)
    return total, len(images)


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(GzipHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


# -- the tools ---------------------------------------------------------------------------------

def install_packages() -> Path:
    """``node_modules`` with Lighthouse and axe-core (``npm install --prefix``, once)."""
    modules = NODE_DIR / "node_modules"
    if not all((modules / name / "package.json").is_file() for name in PACKAGES):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", *PACKAGES],
                       check=True)
    return modules


def chromium_path() -> str:
    found = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if found is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    return found


def lighthouse(modules: Path, url: str, preset: str, work: Path) -> dict[str, Any]:
    """One Lighthouse run (``preset``: "phone", Lighthouse's default, or "desktop"); its report, summed up."""
    report = work / f"lighthouse-{abs(hash((url, preset)))}.json"
    command = ["node", str(modules / "lighthouse" / "cli" / "index.js"), url, "--output=json",
               f"--output-path={report}", "--quiet", "--only-categories=" + ",".join(CATEGORIES),
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
    if preset == "desktop":
        command.append("--preset=desktop")
    done = subprocess.run(command, env={**os.environ, "CHROME_PATH": chromium_path()}, capture_output=True,
                          text=True)
    if done.returncode != 0 or not report.is_file():
        raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-3000:]}")
    data = json.loads(report.read_text())
    audits = data["audits"]
    failing = []
    for category in CATEGORIES:
        for ref in data["categories"][category]["auditRefs"]:
            audit = audits[ref["id"]]
            if ref.get("weight", 0) and audit.get("score") is not None and audit["score"] < 1:
                failing.append(f"{ref['id']} ({audit['score']:.2f})")
    return {"scores": {c: round(100 * (data["categories"][c]["score"] or 0)) for c in CATEGORIES},
            "bytes": int(audits["total-byte-weight"]["numericValue"]),
            "dom": int(audits["dom-size"]["numericValue"]), "failing": sorted(set(failing)),
            "lcp": round(audits["largest-contentful-paint"]["numericValue"] / 1000, 2)}


AXE_RUN = """(async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const rules = axe.getRules().map(rule => rule.ruleId);
  const result = await axe.run(document, {runOnly: {type: 'rule', values: rules}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                      target: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
})()"""


DOM_COUNT = """({all: document.querySelectorAll('*').length, tables: document.querySelectorAll('table, table *').length,
  'highlighted code': document.querySelectorAll('.highlight *').length,
  'folded (in closed details)': document.querySelectorAll('details:not([open]) *').length})"""
DOM_PARTS: dict[str, dict[str, int]] = {}


def axe(modules: Path, urls: list[tuple[str, str]], width: int) -> dict[str, list[dict[str, Any]]]:
    """axe-core's violations on each page at ``width`` px, every rule, every ``<details>`` opened."""
    source = (modules / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
    found = {}
    with Chromium(width=width, height=900) as chromium:
        for name, url in urls:
            page = chromium.new_page()
            page.send("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                      mobile=width < 600)
            page.goto(url, timeout=60)
            if width == 1280:  # where the DOM's elements are, before anything is opened
                DOM_PARTS[name] = page.evaluate(DOM_COUNT)
            page.send("Runtime.evaluate", expression=source)
            found[name] = page.evaluate(AXE_RUN, timeout=120)
    return found


# -- the report --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    args = parser.parse_args(argv)
    modules = install_packages()
    with tempfile.TemporaryDirectory(prefix="litblog-page-quality-") as folder:
        work = Path(folder)
        served, pages = build_site(work)
        httpd, address = serve(served)
        try:
            urls = [(name, address + path) for name, path in pages]
            results: dict[str, Any] = {name: {} for name, _ in urls}
            for name, url in urls:
                for preset in ("phone", "desktop"):
                    print(f"lighthouse {preset}: {name}", file=sys.stderr, flush=True)
                    results[name][preset] = lighthouse(modules, url, preset, work)
            for width in (1280, 390):
                for name, violations in axe(modules, urls, width).items():
                    results[name][f"axe {width}"] = violations
            for name, path in pages:
                results[name]["full bytes"], results[name]["images"] = full_weight(served, path)
                results[name]["dom parts"] = DOM_PARTS.get(name, {})
        finally:
            httpd.shutdown()
            httpd.server_close()
    study = STUDY_POST.split("/")[-1].removesuffix(".md")[11:]  # the slug, the page's folder name
    print(report(results, study))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def report(results: dict[str, Any], study: str) -> str:
    lines = ["| page | preset | perf | a11y | best pr. | SEO | bytes | DOM | LCP s | failing audits |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, found in results.items():
        for preset in ("phone", "desktop"):
            run = found[preset]
            scores = run["scores"]
            lines.append(f"| {name} | {preset} | {scores['performance']} | {scores['accessibility']} | "
                         f"{scores['best-practices']} | {scores['seo']} | {run['bytes'] / 1024:,.0f} KB | "
                         f"{run['dom']:,} | {run['lcp']} | {', '.join(run['failing']) or 'none'} |")
    lines.append("")
    for name, found in results.items():
        parts = ", ".join(f"{part} {count:,}" for part, count in found.get("dom parts", {}).items())
        lines.append(f"{name}: {found['full bytes'] / 1024:,.0f} KB read to the end (HTML and CSS gzipped, "
                     f"{found['images']} images at 1x); DOM elements: {parts}")
    lines.append("")
    for name, found in results.items():
        for width in (1280, 390):
            violations = found[f"axe {width}"]
            words = "; ".join(f"{v['id']} ({v['impact']}, {v['nodes']} nodes: {', '.join(v['target'])})"
                              for v in violations) or "none"
            lines.append(f"axe at {width} px, {name}: {words}")
    lines.append("")
    checks = []
    for name, found in results.items():
        for preset in ("phone", "desktop"):
            for category in ("accessibility", "best-practices", "seo"):
                checks.append((f"{name} {preset} {category} = 100", found[preset]["scores"][category] == 100,
                               found[preset]["scores"][category]))
        checks.append((f"{name} phone performance >= 90", found["phone"]["scores"]["performance"] >= 90,
                       found["phone"]["scores"]["performance"]))
        checks.append((f"{name} axe violations = 0", not found["axe 1280"] and not found["axe 390"],
                       len(found["axe 1280"]) + len(found["axe 390"])))
    if study in results:
        run = results[study]["phone"]
        checks.append((f"{study} <= 800 KB", run["bytes"] <= STUDY_BYTES, f"{run['bytes'] / 1024:,.0f} KB"))
        full = results[study]["full bytes"]
        checks.append((f"{study} <= 800 KB read to the end", full <= STUDY_BYTES, f"{full / 1024:,.0f} KB"))
        checks.append((f"{study} <= 1,500 DOM elements", run["dom"] <= STUDY_DOM, f"{run['dom']:,}"))
    else:
        checks.append((f"{study} measured", False, "page not found"))
    for words, passed, value in checks:
        lines.append(f"{'PASS' if passed else 'MISS'}  {words}  ({value})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
