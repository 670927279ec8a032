"""Wall time of two independent experiments run with --jobs 1 and with --jobs 2.

Copies the test fixture project (synthetic data, real Keras) to a temporary folder, gives
both of its training experiments a few epochs, and times `build-site --force` each way.
It prints both times and their ratio; on a 2-core machine --jobs 2 should be clearly faster.

    .venv/bin/python benchmarks/parallel_jobs.py [--epochs 4] [--repeat 1]

``--full`` measures the thread split at the study's size instead: two seeds of this repository's
``cats_vs_dogs.model1`` (2,000 images at 160 px) for ``--epochs`` (2) epochs each, one after
the other with all cores each (``--jobs 1``) against side by side with half the cores each
(``--jobs 2``), after a first build that fills the decoded-image cache and starts the warm server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_project(folder: Path, epochs: int) -> Path:
    root = folder / "blog"
    shutil.copytree(REPO / "tests" / "fixtures" / "project", root)
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "posts" / "2026-01-06-counts.md").unlink()
    post = root / "posts" / "2026-01-05-stripes.md"
    text = post.read_text()
    text = text.replace("params: {epochs: 2}\n", f"params: {{epochs: {epochs}, image_size: 32, per_class: 40}}\n")
    text = text.replace("params: {epochs: 2, augment: true}",
                        f"params: {{epochs: {epochs}, image_size: 32, per_class: 40, augment: true}}")
    post.write_text(text)
    return root


def timed_build(root: Path, jobs: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "litblog", "--project", str(root), "--force", "-q",
                           "--jobs", str(jobs)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return elapsed


def full_size(epochs: int) -> int:
    """The thread split at the study's size: two seeds of model 1, --jobs 1 against --jobs 2."""
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(REPO / "benchmarks"))
    import benchlib

    data = benchlib.cats_and_dogs()
    print(benchlib.machine())
    work, holder = benchlib.work_folder(False, "parallel-full")
    post = ("---\ntitle: Threads\n---\n\n```{experiment} model1\nrecipe: cats_vs_dogs.model1\n"
            f"params: {{epochs: {epochs}}}\nseeds: 2\nshow: []\n```\n")
    root = benchlib.new_litblog_project(work / "blog", "title: threads\n", REPO / "src" / "recipes",
                                        {"2026-01-01-threads.md": post})
    env = benchlib.confined_env(work, data)
    times = {}
    for jobs in (1, 1, 2):  # the first only warms up: decoded images cached, the warm server up
        times[jobs] = benchlib.timed(benchlib.litblog_build(root, "--force", "-q", "--jobs", str(jobs)), env,
                                     work / f"jobs{jobs}.log").seconds
    benchlib.retire_warm_server(root)
    print(f"two runs of model 1 at full size, {epochs} epochs each: --jobs 1 (all cores each) {times[1]:.1f} s, "
          f"--jobs 2 (half the cores each) {times[2]:.1f} s, ratio {times[2] / times[1]:.2f}")
    del holder
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs per experiment (4; 2 with --full)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="two seeds of model 1 at the study's size")
    args = parser.parse_args()
    if args.full:
        return full_size(args.epochs or 2)
    args.epochs = args.epochs or 4
    print(f"machine: {os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory() as folder:
        root = make_project(Path(folder), args.epochs)
        timed_build(root, 1)  # warm-up: generates the synthetic images, fills OS caches
        for attempt in range(args.repeat):
            one = timed_build(root, 1)
            two = timed_build(root, 2)
            print(f"two experiments, {args.epochs} epochs each: --jobs 1 {one:.1f} s, --jobs 2 {two:.1f} s, "
                  f"ratio {two / one:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
