"""litblog against Jupyter Book 1 (myst-nb, execute_notebooks: cache) on the same two-model post.

Both sides train the same two small CNNs (the seed posts' models 1 and 2: plain, and with
random flips and rotations) on the same extracted cats-and-dogs files (300 training images at
64 px by default), 3 epochs each, seed 0, with the same TensorFlow and Keras versions, and
show the same things (summary, training log, final metrics). litblog builds a temporary
project whose post has two ``{experiment}`` directives; Jupyter Book builds a MyST-NB page
with the same code in a book whose ``_config.yml`` says ``execute_notebooks: cache``.

Steps, each timed as a fresh command on both sides, the two sides taking turns to go first:
cold build (a new project folder and a new book folder, so nothing is cached), no-op rebuild,
prose edit (one sentence changes), one-param edit (model 2's dropout changes: litblog re-runs
that experiment, Jupyter Book's cache re-executes its notebook). Each edit step is repeated
``--repeat`` times with a new value, and medians are reported, with the ratio
litblog / Jupyter Book and PASS or MISS against the targets of the performance issue. What
each build re-ran is read from the tool's own output (litblog's build report, myst-nb's log)
and a build that re-ran something else than its step assumes is reported.

The notebook reads its images the way the seed posts do (a ``tf.data`` pipeline with
``prefetch``, no ``cache``), picks the same files as litblog's ``per_class`` (the first N of
each class in natural order, validation split 4:1 into validation and test), seeds Keras with
``keras.utils.set_random_seed(0)`` before each model and makes TensorFlow ops deterministic,
as litblog does by default.

Jupyter Book is installed on first use into ``.litblog/benchmarks/jupyter-book-venv`` (reused
afterwards), with TensorFlow, Keras and NumPy at the versions litblog's venv has.

    .venv/bin/python benchmarks/vs_jupyter_book.py [--repeat 3] [--per-class 150] [--keep]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written outside the work folder, not even benchmarks/__pycache__
import benchlib  # noqa: E402
from benchlib import BENCH_DIR  # noqa: E402

VENV = BENCH_DIR / "jupyter-book-venv"
JUPYTER_BOOK = ("jupyter-book<2", "ipykernel")
MARKER = "litblog-benchmark.json"

# The performance issue's targets for litblog / Jupyter Book.
TARGETS = {"cold build": 1.0, "no-op rebuild": 0.2, "prose edit": 0.2, "one-param edit": 0.5}


# ---------------------------------------------------------------------------- Jupyter Book's venv

def jupyter_book_venv() -> Path:
    """The venv's ``jupyter-book``, installed on first use with litblog's framework versions."""
    requirements = [*JUPYTER_BOOK, *benchlib.framework_requirements()]
    marker = VENV / MARKER
    executable = VENV / "bin" / "jupyter-book"
    if executable.is_file() and marker.is_file() and json.loads(marker.read_text()) == requirements:
        return executable
    print(f"installing Jupyter Book into {VENV} (once): {' '.join(requirements)}", flush=True)
    started = time.perf_counter()
    if not (VENV / "bin" / "python").is_file():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *requirements], check=True)
    marker.write_text(json.dumps(requirements))
    print(f"installed in {time.perf_counter() - started:.0f} s", flush=True)
    return executable


def venv_versions() -> str:
    """Versions of what the Jupyter Book side runs, as its venv reports them."""
    names = ("jupyter-book", "myst-nb", "jupyter-cache", "sphinx", "ipykernel", "tensorflow-cpu", "tensorflow",
             "keras", "numpy")
    code = ("import importlib.metadata as m\n"
            f"for n in {names!r}:\n"
            "    try: print(f'{n} {m.version(n)}')\n"
            "    except m.PackageNotFoundError: pass\n")
    done = subprocess.run([str(VENV / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    return ", ".join(done.stdout.split("\n")[:-1])


# ---------------------------------------------------------------------------- the two sides' sources

# The seed posts' models 1 and 2 as one function; litblog's recipe and the notebook share this text.
MODEL_CODE = '''\
def small_cnn(image_size, augment, dropout, name):
    """Two convolution blocks, dropout and two logits; random flips and rotations in front when augment is set."""
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=(image_size, image_size, 3)))
    if augment:
        model.add(layers.RandomFlip("horizontal_and_vertical"))
        model.add(layers.RandomRotation(0.2))
    model.add(layers.Conv2D(32, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Dropout(dropout))
    model.add(layers.Flatten())
    model.add(layers.Dense(2))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
'''

RECIPE = f'''\
"""The benchmark post's recipe: one of the seed posts' first two models on a few cats and dogs."""

import keras
from keras import layers


{MODEL_CODE}

def pets(ctx, dataset: str = "cats_and_dogs", image_size: int = 64, per_class: int = 150, epochs: int = 3,
         augment: bool = False, dropout: float = 0.2):
    data = ctx.image_data(dataset, image_size=image_size, batch_size=32, per_class=per_class)
    model = small_cnn(image_size, augment, dropout, name="augmented" if augment else "plain")
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    ctx.evaluate(model, data.test)
'''

PROSE = "This sentence is in version {version}: two small networks learn to tell cats from dogs."


def litblog_post(state: "PostState") -> str:
    common = f"image_size: {state.image_size}, per_class: {state.per_class}, epochs: {state.epochs}"
    return f"""---
title: Two small CNNs on a few cats and dogs
---

{PROSE.format(version=state.version)}

```{{experiment}} model1
recipe: pets.pets
params: {{{common}, augment: false, dropout: 0.2}}
show: [summary, log, metrics]
```

The plain model reaches {{result}}`model1.test.accuracy:.1%` on the test images.

```{{experiment}} model2
recipe: pets.pets
params: {{{common}, augment: true, dropout: {state.dropout2}}}
show: [summary, log, metrics]
```

With flips and rotations it reaches {{result}}`model2.test.accuracy:.1%`.
"""


def notebook(state: "PostState", data: Path) -> str:
    """The MyST-NB page: the same data, models, seeds and output as the litblog post."""
    fit = ("keras.utils.set_random_seed(0)\n"
           "{name} = small_cnn(IMAGE_SIZE, augment={augment}, dropout={dropout}, name=\"{model}\")\n"
           "{name}.summary()\n"
           "history = {name}.fit(train, validation_data=validation, epochs=EPOCHS, verbose=2)\n"
           "loss, accuracy = {name}.evaluate(test, verbose=2)\n"
           "print(f\"{name}: test accuracy {{accuracy:.4f}}, test loss {{loss:.4f}}, \"\n"
           "      f\"best validation accuracy {{max(history.history['val_accuracy']):.4f}}\")")
    return f"""---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Two small CNNs on a few cats and dogs

{PROSE.format(version=state.version)}

```{{code-cell}} ipython3
import os
import re

import keras
import tensorflow as tf
from keras import layers

DATA = {str(data)!r}
IMAGE_SIZE, PER_CLASS, EPOCHS, BATCH_SIZE = {state.image_size}, {state.per_class}, {state.epochs}, 32
tf.config.experimental.enable_op_determinism()  # as litblog does by default


def natural(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\\d+)", name)]


def class_files(split):
    folder = os.path.join(DATA, split)
    return {{c: [os.path.join(folder, c, f) for f in sorted(os.listdir(os.path.join(folder, c)), key=natural)]
            for c in sorted(os.listdir(folder))}}


# The first PER_CLASS training images of each class; every fifth validation image is a test
# image, and validation and test keep the same share of their files as training does.
train_files, held_out = class_files("train"), class_files("validation")
classes = sorted(train_files)
share = PER_CLASS / max(len(files) for files in train_files.values())
splits = {{"train": {{c: files[:PER_CLASS] for c, files in train_files.items()}}}}
for split, keep in (("validation", lambda i: i % 5 != 4), ("test", lambda i: i % 5 == 4)):
    chosen = {{c: [f for i, f in enumerate(files) if keep(i)] for c, files in held_out.items()}}
    splits[split] = {{c: files[:max(1, round(len(files) * share))] for c, files in chosen.items()}}


def load(path, label):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    return tf.image.resize(image, (IMAGE_SIZE, IMAGE_SIZE)), label


def pipeline(split):
    pairs = [(f, label) for label, c in enumerate(classes) for f in splits[split][c]]
    print(f"Found {{len(pairs)}} files belonging to {{len(classes)}} classes ({{split}}).")
    paths, labels = zip(*pairs)
    data = tf.data.Dataset.from_tensor_slices((list(paths), list(labels)))
    if split == "train":
        data = data.shuffle(len(pairs), seed=0)
    data = data.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH_SIZE)
    return data.prefetch(tf.data.AUTOTUNE)  # as the seed posts do


train, validation, test = pipeline("train"), pipeline("validation"), pipeline("test")
```

```{{code-cell}} ipython3
{MODEL_CODE}```

## The plain model

```{{code-cell}} ipython3
{fit.format(name="model1", augment=False, dropout=0.2, model="plain")}
```

## With flips and rotations

```{{code-cell}} ipython3
{fit.format(name="model2", augment=True, dropout=state.dropout2, model="augmented")}
```
"""


BOOK_CONFIG = """\
title: Two small CNNs
author: litblog benchmark
execute:
  execute_notebooks: cache
  timeout: 3600
"""
BOOK_TOC = "format: jb-book\nroot: post\n"


# ---------------------------------------------------------------------------- the two sides

@dataclass
class PostState:
    """What the edits change: the prose sentence's version and model 2's dropout."""

    image_size: int
    per_class: int
    epochs: int
    version: int = 0
    dropout2: str = "0.2"


@dataclass
class Step:
    """One timed build: its seconds and what it re-ran, as the tool's own output says."""

    seconds: float
    ran: str


class LitblogSide:
    name = "litblog"

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work, self.env, self.logs = work, env, work / "logs"
        self.root = self.post = Path()

    def fresh(self, label: str) -> None:
        """A new project folder: no results, no site, no scratch area, no warm server for its path."""
        self.retire()
        self.root = benchlib.new_litblog_project(self.work / f"blog-{label}",
                                                 "title: Benchmark blog\nlitblog:\n  seed: 0\n",
                                                 {"pets.py": RECIPE}, {})
        self.post = self.root / "posts" / "2026-01-01-pets.md"

    def retire(self) -> None:
        if self.root != Path():
            benchlib.retire_warm_server(self.root)

    def write(self, state: PostState) -> None:
        self.post.write_text(litblog_post(state))

    def build(self, label: str) -> Step:
        done = benchlib.timed(benchlib.litblog_build(self.root), self.env, self.logs / f"litblog-{label.replace(' ', '-')}.log")
        runs = benchlib.litblog_runs(self.root)
        return Step(done.seconds, "ran " + (", ".join(runs) if runs else "nothing"))

    def test_accuracies(self) -> str:
        """Test accuracy of each experiment's current result, in the post's order."""
        report = json.loads((self.root / "site" / "_build" / "report.json").read_text())
        found = []
        for row in report["experiments"]:
            metrics = json.loads((self.root / "results" / row["recipe"] / row["key"] / "metrics.json").read_text())
            found.append(f"{metrics['test']['accuracy']:.3f}")
        return " ".join(found)


class JupyterBookSide:
    name = "Jupyter Book"

    def __init__(self, work: Path, env: dict[str, str], executable: Path, data: Path) -> None:
        self.work, self.env, self.logs, self.executable, self.data = work, env, work / "logs", executable, data
        self.book = self.page = Path()

    def fresh(self, label: str) -> None:
        """A new book folder: no _build, so no HTML, no Sphinx environment and no jupyter-cache database."""
        self.book = self.work / f"book-{label}"
        self.book.mkdir()
        (self.book / "_config.yml").write_text(BOOK_CONFIG)
        (self.book / "_toc.yml").write_text(BOOK_TOC)
        self.page = self.book / "post.md"

    def write(self, state: PostState) -> None:
        self.page.write_text(notebook(state, self.data))

    def build(self, label: str) -> Step:
        log = self.logs / f"jupyter-book-{label.replace(' ', '-')}.log"
        done = benchlib.timed([str(self.executable), "build", str(self.book)], self.env, log, cwd=self.book)
        failed = re.findall(r".*(?:Execution Failed|Executing notebook failed|CellExecutionError).*", done.output)
        if failed:
            raise SystemExit(f"error: the notebook failed in Jupyter Book's {label} build "
                             f"(see {log}): {failed[0]}")
        executed = len(re.findall(r"Executing notebook using", done.output))
        cached = len(re.findall(r"Using cached notebook", done.output))
        ran = ("executed the notebook" if executed else
               "read the notebook from its cache" if cached else "read no notebook")
        return Step(done.seconds, ran)

    def test_accuracies(self) -> str:
        html = (self.book / "_build" / "html" / "post.html").read_text(errors="replace")
        return " ".join(re.findall(r"model\d: test accuracy (\d\.\d{3})", html))


# ---------------------------------------------------------------------------- the measurement

STEPS = ("cold build", "no-op rebuild", "prose edit", "one-param edit")
# What each step must re-run for its time to mean what its name says.
EXPECTED = {
    "litblog": {"cold build": "ran model1, model2", "no-op rebuild": "ran nothing", "prose edit": "ran nothing",
                "one-param edit": "ran model2"},
    "Jupyter Book": {"cold build": "executed the notebook", "no-op rebuild": "read no notebook",
                     "prose edit": "read the notebook from its cache", "one-param edit": "executed the notebook"},
}


def warm_up(env: dict[str, str], executable: Path) -> None:
    """Untimed: both TensorFlow installations read once (the OS file cache), matplotlib's font cache built."""
    for command in ([sys.executable, "-c", "import tensorflow, keras, matplotlib.pyplot"],
                    [str(executable.parent / "python"), "-c", "import tensorflow, keras, sphinx, myst_nb"]):
        subprocess.run(command, env=env, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="times each edit step is measured (median shown)")
    parser.add_argument("--cold-repeat", type=int, default=1, help="times the cold build is measured")
    parser.add_argument("--per-class", type=int, default=150, help="training images per class (150: 300 images)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (under .litblog/benchmarks/) instead of a temporary one")
    parser.add_argument("--setup-only", action="store_true", help="install Jupyter Book's venv and stop")
    args = parser.parse_args()
    if args.repeat < 1 or args.cold_repeat < 1:
        parser.error("--repeat and --cold-repeat must be at least 1")

    executable = jupyter_book_venv()
    if args.setup_only:
        print(venv_versions())
        return 0
    data = benchlib.cats_and_dogs()
    print(f"machine: {benchlib.machine()}")
    print(benchlib.litblog_checkout())
    print(f"Jupyter Book side: {venv_versions()}")
    print(f"post: two models, {2 * args.per_class} training images at {args.image_size} px, "
          f"{args.epochs} epochs each, seed 0; data {data}")
    work, holder = benchlib.work_folder(args.keep, "vs-jupyter-book")
    env = benchlib.confined_env(work, data)
    litblog = LitblogSide(work, env)
    sides = [litblog, JupyterBookSide(work, env, executable, data)]
    try:
        warm_up(env, executable)
        state = PostState(args.image_size, args.per_class, args.epochs)
        steps: dict[str, dict[str, list[Step]]] = {step: {side.name: [] for side in sides} for step in STEPS}

        def build_both(step: str, label: str, turn: int) -> None:
            # Who goes first alternates, so a change in the machine's load falls on both sides.
            order = sides if turn % 2 == 0 else sides[::-1]
            results = {side.name: side.build(label) for side in order}
            for side in sides:
                steps[step][side.name].append(results[side.name])
            print(f"  {label:<18}" + "   ".join(f"{side.name} {benchlib.seconds(results[side.name].seconds)} "
                                                f"({results[side.name].ran})" for side in sides), flush=True)

        for turn in range(args.cold_repeat):
            for side in sides:
                side.fresh(f"cold{turn + 1}")
                side.write(state)
            build_both("cold build", f"cold build {turn + 1}", turn)
        for turn in range(args.repeat):
            build_both("no-op rebuild", f"no-op {turn + 1}", turn)
            state.version += 1
            for side in sides:
                side.write(state)
            build_both("prose edit", f"prose edit {turn + 1}", turn)
            state.dropout2 = f"{0.2 + (turn + 1) / 100:.2f}"
            for side in sides:
                side.write(state)
            build_both("one-param edit", f"param edit {turn + 1}", turn)

        report(steps, sides, args)
        print(f"test accuracy of model1 and model2 after the last build: "
              + "; ".join(f"{side.name} {side.test_accuracies()}" for side in sides))
        print(f"machine at the end: load average {benchlib.load_average()}")
        if args.keep:
            print(f"work folder kept: {work}")
    finally:
        litblog.retire()
        if holder is not None:
            holder.cleanup()
    return 0


def report(steps: dict[str, dict[str, list[Step]]], sides: list, args: argparse.Namespace) -> None:
    """The table: medians of both sides, their ratio, the target and PASS or MISS per step."""
    print()
    print(f"{'step':<16}{'litblog':>11}{'Jupyter Book':>15}{'ratio':>8}   target   verdict   (medians; "
          f"cold build x{args.cold_repeat}, edits x{args.repeat})")
    surprises = []
    for step in STEPS:
        mine = benchlib.median([s.seconds for s in steps[step]["litblog"]])
        theirs = benchlib.median([s.seconds for s in steps[step]["Jupyter Book"]])
        ratio = mine / theirs
        limit = TARGETS[step]
        print(f"{step:<16}{benchlib.seconds(mine):>11}{benchlib.seconds(theirs):>15}{ratio:>8.3f}"
              f"   <= {limit:<4}   {benchlib.verdict(ratio, limit)}")
        for side in sides:
            for number, taken in enumerate(steps[step][side.name], 1):
                if taken.ran != EXPECTED[side.name][step]:
                    surprises.append(f"{side.name}, {step} {number}: {taken.ran} (expected: "
                                     f"{EXPECTED[side.name][step]})")
    print("every time, litblog: " + "; ".join(
        f"{step} " + ", ".join(f"{s.seconds:.2f}" for s in steps[step]["litblog"]) for step in STEPS))
    print("every time, Jupyter Book: " + "; ".join(
        f"{step} " + ", ".join(f"{s.seconds:.2f}" for s in steps[step]["Jupyter Book"]) for step in STEPS))
    if surprises:
        print("WARNING: a build did not re-run what its step assumes, so its time measures something else:")
        for line in surprises:
            print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
