"""How litblog's steps grow with a blog: generated N-post projects, each step timed, with targets.

Each generated post has about 800 words, two experiments of a tiny recipe on the synthetic
dataset (one epoch on 8-pixel images), a figure, a table and three values. The runs come from a
pool: the 10-post project trains its 20 runs for real (the cold-build throughput), larger projects
draw their experiments from that pool and start from its stored results, so a 1,000-post blog
builds in minutes. ``--plan-experiments 320`` also makes a project of 160 posts whose 320
experiments are all distinct (results cloned from the pool under each experiment's key: the plan
cannot tell) to time the plan after an edit to the module every recipe imports.

    .venv/bin/python benchmarks/scaling.py [--sizes 10,100,1000] [--repeat 3] [--keep]

Everything is written into a temporary folder (``--keep`` keeps it). Steps, each in a fresh
interpreter as a user runs them (min / median of ``--repeat``): the cold build, a no-op rebuild,
one post's prose edited, ``--check``, ``--plan``, ``--plan`` after an edit to the shared module,
one param edited (one run), ``serve`` from a save until the preview page changed, and Jekyll's
build of the same ``site/`` (what GitHub Pages pays). Peak memory is the no-op's maximum resident
set size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

POOL = 20  # distinct runs the generated posts share (the 10-post project's 20 experiments)
TARGETS = {  # at 1,000 posts (the plan: at 320 experiments)
    "no-op rebuild": 1.0,
    "one post's prose edited": 1.5,
    "check": 1.5,
    "serve: save to reload": 0.5,
    "plan after a shared-module edit": 2.0,
}
THROUGHPUT_TARGET = 44.0  # runs per minute: twice the 22 measured before the render cache

WORDS = ("the model learns a simple rule from stripes of either kind and the validation curve follows "
         "training closely because the images are small and the network has few weights so each epoch "
         "takes a moment and the numbers below come from the stored runs not from memory").split()

SHARED = '''"""The module every recipe of the generated blog imports."""

import keras
from keras import layers

KERNEL = 3


def tiny_cnn(image_size, width):
    model = keras.Sequential(name="tiny")
    model.add(keras.Input(shape=(image_size, image_size, 3)))
    model.add(layers.Rescaling(1.0 / 255))
    model.add(layers.Conv2D(width, KERNEL, activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(2))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
'''

RECIPE = '''"""A one-epoch recipe on 8-pixel synthetic images."""

from recipes.shared import tiny_cnn


def tiny(ctx, dataset: str = "synthetic", image_size: int = 8, per_class: int = 8, epochs: int = 1,
         width: int = 2):
    data = ctx.image_data(dataset, image_size=image_size, batch_size=8, per_class=per_class)
    model = tiny_cnn(image_size, width)
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    ctx.evaluate(model, data.test)
'''


def prose(rng: random.Random, words: int) -> str:
    paragraphs = []
    while words > 0:
        n = min(words, rng.randint(60, 110))
        paragraphs.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
        words -= n
    return "\n\n".join(paragraphs)


def post_text(index: int, widths: tuple[int, int], rng: random.Random) -> str:
    a, b = widths
    return f"""---
title: Post {index}
---

{prose(rng, 300)}

```{{experiment}} narrow
recipe: tiny.tiny
params: {{width: {a}}}
show: [summary, log]
```

{prose(rng, 250)} The narrow model reaches {{result}}`narrow.val_accuracy.best:.1%` and the wide one
{{result}}`wide.test.accuracy:.2f` on test data, {{result}}`wide.params.width` filters wide.

```{{experiment}} wide
recipe: tiny.tiny
params: {{width: {b}}}
```

```{{figure}} wide.curves
caption: Learning curves of the wide model.
```

```{{table}}
experiments: [narrow, wide]
columns: [params.width, val_accuracy.best, test.accuracy]
format: {{test.accuracy: ".1%"}}
```

{prose(rng, 250)}
"""


def widths_of(index: int, distinct: bool) -> tuple[int, int]:
    """The two experiments' widths: from the shared pool, or (``distinct``) unique to the post."""
    if distinct:
        return 100 + 2 * index, 101 + 2 * index
    return 1 + (2 * index) % POOL, 1 + (2 * index + 1) % POOL


def make_project(root: Path, posts: int, *, distinct: bool = False) -> Path:
    """A generated blog of ``posts`` posts at ``root``."""
    rng = random.Random(posts)
    (root / "posts").mkdir(parents=True)
    recipes = root / "src" / "recipes"
    recipes.mkdir(parents=True)
    (recipes / "__init__.py").write_text('"""Recipes."""\n')
    (recipes / "shared.py").write_text(SHARED)
    (recipes / "tiny.py").write_text(RECIPE)
    (root / "_config.yml").write_text("title: Scaling\ndescription: A generated blog.\nlitblog:\n  seed: 0\n")
    shutil.copytree(REPO / "templates", root / "templates")
    start = 0
    for index in range(posts):
        day = 1 + index % 28
        month = 1 + (index // 28) % 12
        year = 2020 + index // (28 * 12)
        name = f"{year}-{month:02d}-{day:02d}-post-{index:04d}.md"
        (root / "posts" / name).write_text(post_text(index, widths_of(index + start, distinct), rng))
    return root


# ---------------------------------------------------------------------------- running

def env(root: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(REPO / "src") + os.pathsep + environment.get("PYTHONPATH", "")
    environment.setdefault("KERAS_HOME", str(root.parent / "keras-home"))
    return environment


def build_site(root: Path, *args: str, check: bool = True) -> tuple[float, int, str]:
    """``build-site --project ROOT ARGS`` in a fresh interpreter: (seconds, peak RSS in KiB, output)."""
    probe = ("import resource, sys; from litblog.buildtime.commands.cli import main; code = main(sys.argv[1:]); "
             "sys.stderr.write(f'\\nmaxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'); sys.exit(code)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, "--project", str(root), *args],
                          capture_output=True, text=True, env=env(root))
    seconds = time.perf_counter() - started
    if check and done.returncode not in (0,):
        raise SystemExit(f"build-site {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    rss = int(m.group(1)) if (m := re.search(r"maxrss (\d+)", done.stderr)) else 0
    return seconds, rss, done.stdout + done.stderr


@dataclass
class Step:
    name: str
    times: list[float] = field(default_factory=list)

    def text(self) -> str:
        if not self.times:
            return "-"
        if len(self.times) == 1:
            return f"{self.times[0]:.2f} s"
        return f"{min(self.times):.2f} / {statistics.median(self.times):.2f} s"

    @property
    def best(self) -> float:
        return min(self.times)


def edit_prose(root: Path, index: int, round_: int) -> None:
    post = sorted((root / "posts").glob("*.md"))[index]
    text = post.read_text()
    post.write_text(text.replace("The narrow model", f"Edit {round_}: the narrow model", 1)
                    if round_ == 0 else re.sub(r"Edit \d+:", f"Edit {round_}:", text, count=1))


def serve_reload(root: Path, repeat: int) -> list[float]:
    """``build-site serve``: seconds from a post's save until its preview page has changed."""
    port = 18000 + os.getpid() % 1000
    process = subprocess.Popen([sys.executable, "-m", "litblog", "--project", str(root), "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(root),
                               start_new_session=True)
    times: list[float] = []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if "serving" in line.lower() or "http://" in line:
                break
        post = sorted((root / "posts").glob("*.md"))[len(list((root / "posts").glob("*.md"))) // 2]
        slug = post.stem[11:]  # the file name without its date
        preview = root / "site" / "_site"
        page = next(p for p in [*preview.rglob(f"{slug}.html"), *preview.rglob(f"{slug}/index.html")]
                    if "assets" not in p.relative_to(preview).parts)
        for round_ in range(repeat):
            time.sleep(1.5)
            before = page.stat().st_mtime_ns, page.stat().st_ino
            text = post.read_text()
            post.write_text(text.replace("Post ", f"Post (serve {round_}) ", 1) if round_ == 0
                            else re.sub(r"\(serve \d+\)", f"(serve {round_})", text, count=1))
            saved = time.perf_counter()
            while True:
                try:
                    stat = page.stat()
                    if (stat.st_mtime_ns, stat.st_ino) != before:
                        break
                except OSError:
                    pass
                if time.perf_counter() - saved > 60:
                    raise SystemExit("serve did not rewrite the page within 60 s")
                time.sleep(0.005)
            times.append(time.perf_counter() - saved)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    return times


def jekyll_time(root: Path) -> float | None:
    jekyll = shutil.which("jekyll")
    if not jekyll:
        return None
    dest = root.parent / f"{root.name}-jekyll"
    started = time.perf_counter()
    done = subprocess.run([jekyll, "build", "--safe", "-q", "-s", str(root / "site"), "-d", str(dest)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(dest, ignore_errors=True)
    return seconds if done.returncode == 0 else None


def clone_results(root: Path, pool_results: Path) -> int:
    """Store a result for every experiment of ``root`` without training: a pool result copied under
    the experiment's key, with its key inputs, and sealed. Returns how many were made."""
    from litblog.buildtime.sources.config import load_config
    from litblog.buildtime.commands.pipeline import _parse, _read_posts
    from litblog.buildtime.plan.plan import make_plan
    from litblog.common.store import MANIFEST, ResultStore, seal

    config = load_config(root)
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(_parse(_read_posts(config)), config, store)
    template = next(pool_results.glob("tiny.tiny/*/manifest.json")).parent
    made = 0
    for experiment in plan.to_run():
        folder = store.folder(experiment.recipe.reference, experiment.key)
        shutil.copytree(template, folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        manifest.update(key=experiment.key, key_inputs=experiment.inputs.to_json(), params=experiment.params)
        (folder / MANIFEST).write_text(json.dumps(manifest))
        seal(folder)
        made += 1
    return made


def where_run_time_goes(root: Path) -> dict[str, float]:
    """Mean seconds per run: the build's view (start to stored), the recipe's, and fit's (with tracing)."""
    report = json.loads((root / "site" / "_build" / "report.json").read_text())["experiments"]
    walls = [row["wall_seconds"] for row in report if row.get("ran") and row.get("wall_seconds") is not None]
    timings = [json.loads(m.read_text()).get("timings", {}) for m in (root / "results").glob("*/*/manifest.json")]
    recipe = [t["wall_seconds"] for t in timings if "wall_seconds" in t]
    train = [t["train_seconds"] for t in timings if "train_seconds" in t]
    if not walls or not recipe or not train:
        return {}
    mean = statistics.mean
    return {"run: start to stored": mean(walls), "run: in the recipe": mean(recipe), "run: fit": mean(train)}


def measure(root: Path, posts: int, repeat: int, results: dict[str, dict[int, Step]], *,
            cold: bool) -> dict[str, float]:
    """Every step on the project at ``root`` (built already unless ``cold``); fills ``results``."""
    extra: dict[str, float] = {}

    def step(name: str) -> Step:
        return results.setdefault(name, {}).setdefault(posts, Step(name))

    if cold:
        seconds, _, _ = build_site(root, "-q")
        runs = len(list((root / "results").glob("*/*/manifest.json")))
        step("cold build").times.append(seconds)
        extra["runs"] = runs
        extra["runs per minute"] = runs / seconds * 60
        extra.update(where_run_time_goes(root))
    else:
        build_site(root, "-q")
    for _ in range(repeat):
        seconds, rss, _ = build_site(root, "-q")
        step("no-op rebuild").times.append(seconds)
        extra["peak memory MB"] = max(extra.get("peak memory MB", 0), rss / 1024)
    for round_ in range(repeat):
        edit_prose(root, posts // 2, round_)
        step("one post's prose edited").times.append(build_site(root, "-q")[0])
    for _ in range(repeat):
        step("check").times.append(build_site(root, "--check", "-q")[0])
    for _ in range(repeat):
        step("plan").times.append(build_site(root, "--plan", "-q")[0])
    shared = root / "src" / "recipes" / "shared.py"
    original = shared.read_text()
    for round_ in range(repeat):
        shared.write_text(original.replace("KERNEL = 3", f"KERNEL = 3  # edit {round_}\nUNUSED_{round_} = {round_}"))
        step("plan after a shared-module edit").times.append(build_site(root, "--plan", "-q")[0])
    shared.write_text(original)
    post = sorted((root / "posts").glob("*.md"))[0]
    text = post.read_text()
    # A value no other size used: the results pool is shared between sizes.
    post.write_text(text.replace("params: {width:", f"params: {{per_class: {9 + len(str(posts))}, width:", 1))
    step("one param edited (one run)").times.append(build_site(root, "-q")[0])
    post.write_text(text)
    build_site(root, "-q")
    step("serve: save to reload").times.extend(serve_reload(root, repeat))
    jekyll = jekyll_time(root)
    if jekyll is not None:
        step("Jekyll build of site/").times.append(jekyll)
    return extra


def stop_warm_servers(work: Path) -> None:
    """The warm servers the generated projects started (each holds TensorFlow in memory)."""
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry.name.isdigit() and b"litblog.runtime.warm_server" in cmdline and b"--state" in cmdline:
            if cmdline[cmdline.index(b"--state") + 1].decode(errors="replace").startswith(str(work)):
                try:
                    os.kill(int(entry.name), signal.SIGTERM)
                except OSError:
                    pass


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="post counts, comma-separated (the first trains the pool)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plan-experiments", type=int, default=320,
                        help="distinct experiments of the plan-after-shared-edit project (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="litblog-scaling-"))
    print(f"work folder: {work}")
    sys.path.insert(0, str(REPO / "benchmarks"))
    from benchlib import machine

    print(f"machine: {machine()}")
    results: dict[str, dict[int, Step]] = {}
    extras: dict[int, dict[str, float]] = {}
    pool: Path | None = None
    try:
        for index, posts in enumerate(sizes):
            root = make_project(work / f"blog-{posts}", posts)
            cold = pool is None
            if pool is not None:
                shutil.copytree(pool, root / "results")
            print(f"{posts} posts: {'cold build (trains the pool)' if cold else 'built from the pool'} ...", flush=True)
            extras[posts] = measure(root, posts, args.repeat, results, cold=cold)
            report(sizes, results, extras, None)  # so far, in case a later size does not finish
            if pool is None:
                pool = root / "results"
        plan_step = None
        if args.plan_experiments and pool is not None:
            posts = args.plan_experiments // 2
            root = make_project(work / f"distinct-{posts}", posts, distinct=True)
            shutil.copytree(pool, root / "results")
            made = clone_results(root, pool)
            build_site(root, "-q")
            shared = root / "src" / "recipes" / "shared.py"
            original = shared.read_text()
            plan_step = Step(f"plan after a shared-module edit, {made} distinct experiments")
            for round_ in range(args.repeat):
                shared.write_text(original.replace("KERNEL = 3", f"KERNEL = 3\nUNUSED_{round_} = {round_}"))
                plan_step.times.append(build_site(root, "--plan", "-q")[0])
            shared.write_text(original)
        report(sizes, results, extras, plan_step)
    finally:
        stop_warm_servers(work)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def report(sizes: list[int], results: dict[str, dict[int, Step]], extras: dict[int, dict[str, float]],
           plan_step: Step | None) -> None:
    largest = max(sizes)
    print()
    print("| step | " + " | ".join(f"{n} posts" for n in sizes) + " | growth per post | target |")
    print("| --- | " + " | ".join("---" for _ in sizes) + " | --- | --- |")
    for name, by_size in results.items():
        cells = [by_size[n].text() if n in by_size else "-" for n in sizes]
        growth = "-"
        known = [n for n in sizes if n in by_size and by_size[n].times]
        if len(known) >= 2:
            small, big = known[0], known[-1]
            growth = f"{(by_size[big].best - by_size[small].best) / (big - small) * 1000:.2f} ms"
        target = ""
        if name in TARGETS and largest in by_size and name != "plan after a shared-module edit":
            target = f"≤ {TARGETS[name]} s at {largest}: {verdict(by_size[largest].best, TARGETS[name])}"
        print(f"| {name} | " + " | ".join(cells) + f" | {growth} | {target} |")
    for n in sizes:
        if "peak memory MB" in extras.get(n, {}):
            print(f"peak memory of a no-op build, {n} posts: {extras[n]['peak memory MB']:.0f} MB")
    first = extras.get(sizes[0], {})
    if "runs per minute" in first:
        rate = first["runs per minute"]
        print(f"cold build throughput: {first['runs']:.0f} one-epoch runs, {rate:.1f} runs/minute "
              f"(target ≥ {THROUGHPUT_TARGET:.0f}): {'PASS' if rate >= THROUGHPUT_TARGET else 'MISS'}")
        if "run: fit" in first:
            start_to_stored, recipe, fit = first["run: start to stored"], first["run: in the recipe"], first["run: fit"]
            print(f"  per run (mean): {start_to_stored:.2f} s from the worker's start to the stored result; "
                  f"{recipe:.2f} s in the recipe, of which {fit:.2f} s in fit (first-call tracing included) and "
                  f"{recipe - fit:.2f} s data pipeline, model build and evaluate; {start_to_stored - recipe:.2f} s "
                  f"worker start (fork or interpreter, imports) and saving (manifest, seal, commit)")
    if plan_step is not None:
        target = TARGETS["plan after a shared-module edit"]
        print(f"{plan_step.name}: {plan_step.text()} (target ≤ {target} s): {verdict(plan_step.best, target)}")


if __name__ == "__main__":
    sys.exit(main())
