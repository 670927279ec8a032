"""Wall time of `build-site` when nothing has to run (the common case: a prose edit).

Runs the command several times in fresh interpreters on the repository and prints each
time, the median, and whether TensorFlow was imported (it must not be).

    .venv/bin/python benchmarks/noop_rebuild.py [--runs 5] [--project DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROBE = ("import sys; from litblog.buildtime.commands.cli import main; code = main(sys.argv[1:]); "
         "sys.stdout.write('tensorflow imported' if 'tensorflow' in sys.modules else 'tensorflow not imported'); "
         "sys.exit(code)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PROBE, "--project", str(args.project), "-q"],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        times.append(elapsed)
        print(f"run {run + 1}: {elapsed:.3f} s ({done.stdout.strip()})")
    print(f"no-op rebuild: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
          f"max {max(times):.3f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
