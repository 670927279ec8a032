"""A notebook per post with experiments: "Run this post yourself", written at build time.

The render stage asks :func:`post_notebook` for each post; the notebook (nbformat v4 JSON,
written directly: a no-op build imports no nbformat) is kept in ``.litblog/cache/notebooks/``
by the digest of its text and published as an asset of the post,
``assets/<slug>/<slug>.ipynb``, in the Jekyll tree and the preview alike, so ``build-site check``
compares it like every other file of the site (a stale or missing notebook fails the check).

The notebook is written for a reader who does not know litblog. It installs the TensorFlow and
Keras the runs recorded and litblog from the blog's repository at the commit the runs were made
at (``litblog.repository``; without it, it says how), unless ``LITBLOG_NOTEBOOK_INSTALL`` says
otherwise (:data:`INSTALL_VARIABLE`: ``skip``, a litblog checkout used in place, or any pip
argument); writes the recipes' code (shown in the cells), a config and a post holding one
experiment per run (its recipe, params and seed, so each run gets the key it was stored under);
fetches the data as the recipes do; builds that small project with ``python -m litblog``, the
public path every run takes; and ends with a table comparing every value with the published
run, using :mod:`litblog.buildtime.notebooks.comparison`'s code, copied in. Nothing in it is a path of this
machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...common import datasets, paths
from ...common.fsutil import atomic_write_text
from ...common.sources import read_source

if TYPE_CHECKING:
    from ..sources.config import SiteConfig
    from ..directives import ParsedPost
    from ..execute.outcomes import ExperimentOutcome
    from ..plan.plan import PlannedExperiment
    from ...common.store import StoredResult

INSTALL_VARIABLE = "LITBLOG_NOTEBOOK_INSTALL"
COLAB = "https://colab.research.google.com/github/{repository}/blob/{branch}/{path}"
PROJECT = "reproduce-project"  # the folder the notebook makes, beside itself
TEMPLATE = "reproduce.html.j2"  # the links, before the provenance card
# What litblog needs besides TensorFlow and Keras (pyproject.toml's dependencies, by name): the notebook
# installs these, then litblog with --no-deps. Constant, so a notebook never depends on this machine.
REQUIREMENTS = ("matplotlib", "seaborn", "jinja2", "markdown", "pyyaml", "pillow", "rich", "pygments", "nbformat")


@dataclass(frozen=True)
class NotebookSettings:
    """What the notebooks need of the config."""

    root: Path
    site_dir: str
    recipes_dir: str
    templates_dir: str
    repository: str | None
    branch: str
    deterministic: bool
    cache_dir: Path

    @classmethod
    def of(cls, config: SiteConfig) -> "NotebookSettings":
        build = config.build
        return cls(config.root, build.site_dir, build.recipes_dir, build.templates_dir, build.repository,
                   build.branch, build.deterministic, paths.cache_dir(config.root) / "notebooks")


def site_path(slug: str) -> str:
    """Where a post's notebook is published: ``assets/<slug>/<slug>.ipynb``."""
    return f"assets/{slug}/{slug}.ipynb"


def colab_url(settings: NotebookSettings, slug: str) -> str | None:
    """The URL Colab documents for a notebook in a GitHub repository, or None without a repository."""
    if not settings.repository:
        return None
    path = quote(f"{settings.site_dir.strip('/')}/{site_path(slug)}")
    return COLAB.format(repository=settings.repository, branch=quote(settings.branch), path=path)


@dataclass(frozen=True)
class _Run:
    label: str  # the experiment's name in the notebook's post
    shown: str  # as the page names it
    planned: PlannedExperiment
    result: StoredResult


def post_notebook(parsed: ParsedPost, outcomes: dict[str, ExperimentOutcome],
                  settings: NotebookSettings) -> Path | None:
    """The file of the post's notebook (written into the cache when new), or None: no experiment has a result."""
    runs = _runs(parsed, outcomes)
    if not runs:
        return None
    text = notebook_text(parsed, runs, settings)
    file = settings.cache_dir / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.ipynb"
    if file.is_file():
        os.utime(file)  # used again: the newest, for the pruning below
    else:
        atomic_write_text(file, text)
        _prune(settings.cache_dir)
    return file


CACHE_KEPT = 200  # notebooks kept in the cache beyond those this process has used
# The site is written after every post is rendered, from the files rendering returned: a
# notebook used since this process started is never pruned (a 1,000-post build would otherwise
# lose the first posts' notebooks before writing them). Two seconds for timestamps' rounding.
_IN_USE_SINCE = time.time() - 2.0


def _prune(folder: Path) -> None:
    """Drop the oldest cached notebooks beyond :data:`CACHE_KEPT`, never one used since this
    process started (a cache: any of them can be written again)."""
    try:
        files = sorted(folder.glob("*.ipynb"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in files[CACHE_KEPT:]:
            if old.stat().st_mtime < _IN_USE_SINCE:
                old.unlink(missing_ok=True)
    except OSError:
        pass


def _runs(parsed: ParsedPost, outcomes: dict[str, ExperimentOutcome]) -> list[_Run]:
    runs: list[_Run] = []
    seen: set[str] = set()
    for name in parsed.experiments:
        outcome = outcomes.get(name)
        if outcome is None:
            continue
        several = len(outcome.seeds) > 1
        members = [(s.seed, s.experiment, s.result) for s in outcome.seeds] if several else \
            [(outcome.experiment.seed, outcome.experiment, outcome.result)]
        for seed, planned, result in members:
            if result is None or planned.key in seen:
                continue
            seen.add(planned.key)
            runs.append(_Run(f"{name}_seed{seed}" if several else name,
                             f"{name} [seed {seed}]" if several else name, planned, result))
    return runs


# -- cells ------------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """A cell's source as nbformat stores it: lines keeping their newline, the last without."""
    lines = text.rstrip("\n").split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}


def _code(text: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": _lines(text)}


def _newest(runs: list[_Run], field: str) -> Any:
    """A manifest field of the newest run (the runs' commit, their versions)."""
    dated = sorted(runs, key=lambda run: run.result.manifest.get("created") or "")
    return dated[-1].result.manifest.get(field) or {}


# A PEP 263 coding line (only the first two lines can hold one).
_CODING = re.compile(r"^([ \t\f]*#.*?coding[:=][ \t]*)([-\w.]+)", re.M)


def _as_utf8(code: str) -> str:
    """A module's text to write as UTF-8 (``%%writefile``): its coding line, if any, says utf-8.

    Comments are not part of a digest, so the key the notebook's run computes is unchanged.
    """
    lines = code.splitlines(keepends=True)
    lines[:2] = [_CODING.sub(r"\1utf-8", line, count=1) for line in lines[:2]]
    return "".join(lines)


def notebook_text(parsed: ParsedPost, runs: list[_Run], settings: NotebookSettings) -> str:
    """The notebook as nbformat v4 JSON text (sorted keys, one-space indent, as nbformat writes it)."""
    post = parsed.post
    runtime = _newest(runs, "runtime")
    commit = (_newest(runs, "repository") or {}).get("commit")
    versions = {name: runtime.get(name) or run_versions(runs, name) for name in ("tensorflow", "keras")}
    cells = [
        _markdown(_intro(post.title, post.path, runs, settings)),
        _markdown(_install_text(versions, runtime.get("python"), commit, settings)),
        _code(_install_code(versions, commit, settings)),
        _markdown("## 2. A small project to run them in\n\n"
                  f"litblog runs experiments that a blog post names. This cell makes a folder `{PROJECT}/` "
                  "beside this notebook with the two things litblog needs besides the code: a settings "
                  "file (`_config.yml`) and a post that lists the runs to make."),
        _code(_project_code(runs, settings)),
        _markdown("## 3. The code of each recipe\n\n"
                  "A *recipe* is a Python function that loads the data, builds a model, trains it and records "
                  "numbers. These are the files the runs used, exactly as the post's numbers were made with "
                  "them; each cell writes one into the project (`%%writefile`) so you can read it and change it."),
    ]
    for relative in _code_files(runs):
        code = _as_utf8(read_source(settings.root / relative))
        cells.append(_code(f"%%writefile {PROJECT}/{relative}\n{code}"))
    cells += [
        _markdown(_data_text(runs)),
        _code(_data_code(runs)),
        _markdown(_runs_text(runs)),
        _code(_post_code(post.path, runs)),
        _markdown("## 6. Run them\n\n"
                  "`python -m litblog` builds the small project: it trains each experiment in a fresh process "
                  "with its seed, stores what it recorded under `results/`, and writes a report. Training "
                  "prints one line per epoch."),
        _code(_run_code()),
        _markdown("## 7. Compare with the post\n\n"
                  "The first cell holds the numbers the post published and the code that compares two runs value "
                  "by value. The last cell compares every value of every run: *identical* means bit for bit, "
                  "*within* means within a small tolerance (expected with another TensorFlow version or "
                  "another processor), *differs* means the run did not reproduce."),
        _code(_published_code(runs)),
        _code(_compare_code()),
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index}"  # nbformat 4.5 wants ids; stable ones keep the file stable
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def run_versions(runs: list[_Run], name: str) -> str | None:
    """A framework's version as a key recorded it, when the manifest has no runtime entry."""
    for run in runs:
        version = run.planned.inputs.versions.get(name)
        if version and version != "not installed":
            return version
    return None


def _intro(title: str, post_path: str, runs: list[_Run], settings: NotebookSettings) -> str:
    seconds = sum((run.result.manifest.get("timings") or {}).get("wall_seconds") or 0 for run in runs)
    hardware = _newest(runs, "hardware")
    gpus = hardware.get("gpus") or []
    machine = f"{hardware.get('cpu') or 'a computer'}" + (f" with {len(gpus)} GPU(s)" if gpus else " without a GPU")
    listed = "\n".join(f"- **{run.shown}**: recipe `{run.planned.recipe.reference}`, seed {run.planned.seed}"
                       for run in runs)
    return (f"# Run this post yourself: {_md(title)}\n\n"
            f"This notebook re-makes every run behind the post *{_md(title)}* (`{post_path}`) and checks that "
            "it gets the numbers the post shows. You do not need to know the tool that wrote the post "
            "(litblog): each step below says what it does. Run the cells from top to bottom "
            "(in Colab: *Runtime > Run all*).\n\n"
            f"The runs ({len(runs)}):\n\n{listed}\n\n"
            f"On the machine that made them ({_md(machine)}) they took {seconds:.0f} s in all.")


def _md(text: str) -> str:
    """Text in Markdown prose: no markup of its own."""
    return "".join("\\" + c if c in "\\`*_[]{}<>#|" else c for c in str(text))


def _install_text(versions: dict[str, str | None], python: str | None, commit: str | None,
                  settings: NotebookSettings) -> str:
    where = (f"from the blog's repository, `github.com/{settings.repository}`, at the commit the runs were "
             f"made at (`{commit or settings.branch}`): it is cloned into `blog-source/` (it holds litblog, "
             "its page templates and the blog)" if settings.repository else
             "from the blog's repository; this blog's settings do not name it (`litblog: repository: owner/name` "
             f"in `_config.yml`), so clone it yourself and set `{INSTALL_VARIABLE}` to that folder before "
             "starting this notebook")
    return ("## 1. Install the software the runs used\n\n"
            f"The runs recorded TensorFlow {versions.get('tensorflow') or '(not recorded)'} and Keras "
            f"{versions.get('keras') or '(not recorded)'}" + (f" on Python {python}" if python else "")
            + f". The next cell installs those versions, and litblog {where}.\n\n"
            f"To use software you installed yourself instead (offline, say), set the environment variable "
            f"`{INSTALL_VARIABLE}` to the folder of a checkout of the blog's repository: nothing is installed, "
            "and litblog and the templates are taken from that folder as they are.")


def _install_code(versions: dict[str, str | None], commit: str | None, settings: NotebookSettings) -> str:
    source = f"https://github.com/{settings.repository}" if settings.repository else None
    frameworks = [f"{name}=={version}" for name, version in versions.items() if version]
    return f'''import os
import shutil
import subprocess
import sys
from pathlib import Path

FRAMEWORKS = {frameworks!r}  # the versions the runs recorded
OTHERS = {list(REQUIREMENTS)!r}  # what litblog needs besides them
REPOSITORY, COMMIT = {source!r}, {(commit or settings.branch)!r}  # the blog's repository, at the runs' commit
choice = os.environ.get({INSTALL_VARIABLE!r}, "").strip()
if choice:
    # A checkout of the blog (or of litblog), used as it is: nothing is installed.
    SOURCE = Path(choice)
    if not (SOURCE / "src" / "litblog").is_dir():
        raise RuntimeError(f"{INSTALL_VARIABLE}={{choice}} is not a checkout with src/litblog in it")
    source = str((SOURCE / "src").resolve())
    sys.path.insert(0, source)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    print("using litblog from the checkout in", choice)
else:
    if REPOSITORY is None:
        raise RuntimeError("set {INSTALL_VARIABLE} to a checkout of the blog's repository (see the text above)")
    SOURCE = Path("blog-source")
    if not SOURCE.is_dir():
        subprocess.run(["git", "clone", "--quiet", REPOSITORY, str(SOURCE)], check=True)
    subprocess.run(["git", "-C", str(SOURCE), "checkout", "--quiet", COMMIT], check=True)
    # The recorded TensorFlow and Keras, litblog's other needs, then litblog itself without its own
    # TensorFlow pin (on Linux it names tensorflow-cpu, which would sit beside the tensorflow installed here).
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *FRAMEWORKS, *OTHERS], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", f"./{{SOURCE}}"], check=True)
print(subprocess.run([sys.executable, "-m", "litblog", "--version"], capture_output=True, text=True,
                     check=True).stdout.strip())'''


def _code_files(runs: list[_Run]) -> list[str]:
    """The project files the runs' keys cover (recipe modules and what they import), in order."""
    files: list[str] = []
    for run in runs:
        for name in run.planned.inputs.sources:
            relative = name.split("::")[0]
            if relative not in files:
                files.append(relative)
    return sorted(files, key=lambda f: (not f.endswith("__init__.py"), f))


def _project_code(runs: list[_Run], settings: NotebookSettings) -> str:
    folders = sorted({str(Path(f).parent.as_posix()) for f in _code_files(runs)} | {settings.recipes_dir, "posts"})
    config = {"title": "Reproducing a post",
              "litblog": {"recipes_dir": settings.recipes_dir, "templates_dir": settings.templates_dir,
                          "deterministic": settings.deterministic,
                          "warm_workers": 0, "jobs": 1}}
    return f'''import json
import shutil
from pathlib import Path

PROJECT = Path({PROJECT!r})
for folder in {folders!r}:
    (PROJECT / folder).mkdir(parents=True, exist_ok=True)
# JSON is YAML too: the settings litblog reads (which folder holds the recipes, deterministic TensorFlow).
(PROJECT / "_config.yml").write_text(json.dumps({config!r}, indent=1) + "\\n")
# The page templates of the blog, which the build needs to write its (small) site.
shutil.copytree(SOURCE / {settings.templates_dir!r}, PROJECT / {settings.templates_dir!r}, dirs_exist_ok=True)
print("made", PROJECT)'''


def _dataset_names(runs: list[_Run]) -> list[str]:
    return sorted({name for run in runs for name in run.planned.inputs.datasets})


def _data_text(runs: list[_Run]) -> str:
    lines = []
    for name in _dataset_names(runs):
        remote = datasets.REMOTE_DATASETS.get(name)
        if remote is not None:
            lines.append(f"- `{name}`: the published archive `{remote.archive}`, downloaded into Keras' cache "
                         f"(`~/.keras/datasets`) with `keras.utils.get_file` and checked against its SHA-256, "
                         "as the recipes do.")
        elif name == "synthetic":
            lines.append("- `synthetic`: small images of stripes that litblog draws itself; nothing to download.")
        else:
            lines.append(f"- `{_md(name)}`: a folder of the blog's repository. Copy it into `{PROJECT}/{_md(name)}` "
                         "(or set `LITBLOG_DATA_DIR` to the folder that holds it).")
    return "## 4. The data\n\nThe runs read:\n\n" + ("\n".join(lines) or "- no dataset.") + \
        "\n\nThe next cell fetches what must be downloaded now, so that a failure shows here."


def _data_code(runs: list[_Run]) -> str:
    remote = [datasets.REMOTE_DATASETS[n] for n in _dataset_names(runs) if n in datasets.REMOTE_DATASETS]
    if not remote:
        return 'print("nothing to download")'
    entries = [(d.cache_name, list(d.urls), d.sha256) for d in remote]
    return f'''import keras

for file_name, urls, sha256 in {entries!r}:
    for url in urls:  # the first address that answers
        try:
            print(keras.utils.get_file(file_name, origin=url, extract=True, file_hash=sha256))
            break
        except Exception as error:
            print(url, "failed:", error)
    else:
        raise RuntimeError(f"could not download {{file_name}}")'''


def _runs_text(runs: list[_Run]) -> str:
    return ("## 5. The experiments, with their params and seeds\n\n"
            "This cell writes the post the small project builds. Each block is one run: the recipe it calls, "
            "the values passed to it (*params*) and the random *seed*. These are exactly those of the "
            "published runs, so each run is the one the post shows, and its result is stored under the same "
            "identifier (*key*) the post's run has.")


def _post_code(post_path: str, runs: list[_Run]) -> str:
    blocks = []
    for run in runs:
        planned = run.planned
        lines = [f"```{{experiment}} {run.label}", f"recipe: {planned.recipe.reference}",
                 f"params: {json.dumps(planned.params, sort_keys=True)}", f"seed: {planned.seed}", "show: [log]"]
        accelerate = planned.inputs.extra.get("accelerate")
        if accelerate:
            lines.append(f"accelerate: {json.dumps(list(accelerate))}")
        if planned.timeout:
            lines.append(f"timeout: {planned.timeout:g}")
        blocks.append("\n".join(lines) + "\n```")
    name = Path(post_path).name
    post = "---\ntitle: Reproducing " + json.dumps(name) + "\n---\n\n" + "\n\n".join(blocks) + "\n"
    return f"%%writefile {PROJECT}/posts/{name}\n{post}"


def _run_code() -> str:
    return f'''import subprocess
import sys

command = [sys.executable, "-m", "litblog", "--project", {PROJECT!r}]
with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
    for line in process.stdout:
        print(line, end="")
if process.returncode != 0:
    raise RuntimeError(f"the runs failed (exit status {{process.returncode}}): see above")'''


def _published_code(runs: list[_Run]) -> str:
    published = []
    for run in runs:
        manifest = run.result.manifest
        files = (manifest.get("digests") or {}).get("files") or {}
        predictions = {name: files.get(entry.get("file"), "") for name, entry
                       in sorted((manifest.get("predictions") or {}).items())}
        published.append({"experiment": run.label, "shown": run.shown, "recipe": run.planned.recipe.reference,
                          "key": run.planned.key, "metrics": run.result.metrics, "history": run.result.history,
                          "predictions": predictions})
    return (_comparison_source()
            + "\n\n# The published runs: what the post's numbers come from.\n"
            + f"PUBLISHED = json.loads({json.dumps(published, sort_keys=True, separators=(',', ':'))!r})")


def _comparison_source() -> str:
    """:mod:`comparison`'s code, as the notebook's own (nothing of litblog imported for it)."""
    from . import comparison

    text = Path(comparison.__file__).read_text(encoding="utf-8")
    text = text.replace("from __future__ import annotations\n\n", "")
    return "import hashlib\nimport json\n" + text.rstrip()


def _compare_code() -> str:
    return f'''from pathlib import Path

project = Path({PROJECT!r})
report = json.loads((project / "site" / "_build" / "report.json").read_text())
keys = {{row["experiment"]: row["key"] for row in report["experiments"]}}
rows, verdicts = [], []
for run in PUBLISHED:
    folder = project / "results" / run["recipe"] / keys.get(run["experiment"], run["key"])
    manifest = json.loads((folder / "manifest.json").read_text())
    rerun = {{"metrics": json.loads((folder / "metrics.json").read_text()),
             "history": json.loads((folder / "history.json").read_text()),
             "predictions": {{name: hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest()
                             for name, entry in manifest.get("predictions", {{}}).items()}}}}
    result = compare_runs(run, rerun)
    verdicts.append(result["verdict"])
    old, new = flatten(run["metrics"]), flatten(rerun["metrics"])
    for value in sorted(old):
        single = compare_values(old[value], new.get(value, "(missing)"), value)
        rows.append((run["shown"], value, old[value], new.get(value, "(missing)"),
                     IDENTICAL if not single else WITHIN if single[0]["within"] else DIFFERS))
    rows.append((run["shown"], "history and predictions", "", "", summary(result)))
    for line in difference_lines(result):
        print(run["shown"], "-", line)

width = max(len(str(r[1])) for r in rows)
print(f"{{'run':<20}} {{'value':<{{width}}}} {{'published':>20}} {{'re-run':>20}}  verdict")
for shown, value, old, new, verdict in rows:
    print(f"{{shown:<20}} {{value:<{{width}}}} {{str(old):>20}} {{str(new):>20}}  {{verdict}}")
if all(v == IDENTICAL for v in verdicts):
    print(f"Every value of all {{len(verdicts)}} run(s) is identical to the published run.")
elif all(v in (IDENTICAL, WITHIN) for v in verdicts):
    print(f"Every value agrees with the published runs within {{TOLERANCE_TEXT}}.")
else:
    print(f"{{verdicts.count(DIFFERS)}} of {{len(verdicts)}} run(s) differ from the published runs (see above).")'''
