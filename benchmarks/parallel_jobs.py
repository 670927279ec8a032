"""Wall time of two independent experiments run with --jobs 1 and with --jobs 2.

Copies the test fixture project (synthetic data, real Keras) to a temporary folder, gives
both of its training experiments a few epochs, and times `build-site --force` each way.
It prints both times and their ratio; on a 2-core machine --jobs 2 should be clearly faster.

    .venv/bin/python benchmarks/parallel_jobs.py [--epochs 4] [--repeat 1]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
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
