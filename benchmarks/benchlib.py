"""What the comparison benchmarks share: the machine, the data, confined environments, timing.

Everything a benchmark writes goes into its work folder (a temporary folder) or under the
repository's ignored ``.litblog/benchmarks/`` (the extracted dataset, the Jupyter Book venv).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".litblog" / "benchmarks"
DATASET_FOLDER = "cats_and_dogs_filtered"
DATASET_ARCHIVES = ("cats_and_dogs_filtered.zip", "cats_and_dogs.zip")
DATASET_COUNTS = {"train": 2000, "validation": 1000}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


# ---------------------------------------------------------------------------- the machine

def machine() -> str:
    """CPU cores and model, memory, GPUs (or "no GPU") and the load average, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = "memory unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB memory"
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores ({cpu}), {memory}, {gpus()}; load average {load_average()}"


def gpus() -> str:
    """The GPUs ``nvidia-smi`` lists, or "no GPU"."""
    smi = shutil.which("nvidia-smi")
    if smi:
        done = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                              capture_output=True, text=True)
        names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if done.returncode == 0 and names:
            return f"{len(names)} GPU: " + "; ".join(names)
    if Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir()):
        return "NVIDIA GPU (nvidia-smi not found)"
    return "no GPU"


def load_average() -> str:
    """The load averages over 1, 5 and 15 minutes: how busy the machine was around the figures."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def litblog_checkout() -> str:
    """The litblog code the benchmarks run (this repository's ``src/`` at its commit) and its warm-worker setting."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--", "src") else ""
    warm = os.environ.get("LITBLOG_WARM_WORKERS")
    return (f"litblog from {REPO / 'src'} at {commit}{dirty}; jobs and warm workers: litblog's defaults"
            + (f", LITBLOG_WARM_WORKERS={warm}" if warm is not None else ""))


def framework_requirements() -> list[str]:
    """``name==version`` of TensorFlow, Keras and NumPy as installed for this interpreter (litblog's venv)."""
    distributions = importlib.metadata.packages_distributions()
    pins = []
    for module in ("tensorflow", "keras", "numpy"):
        names = distributions.get(module)
        if not names:
            raise SystemExit(f"error: {module} is not installed for {sys.executable}: run the benchmark "
                             f"with litblog's virtual environment (make bench)")
        name = names[0]
        pins.append(f"{name}=={importlib.metadata.version(name)}")
    return pins


# ---------------------------------------------------------------------------- the data

def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else 0


def _complete(folder: Path) -> bool:
    return all(_count(folder / split) == n for split, n in DATASET_COUNTS.items())


def data_search_dirs() -> list[Path]:
    """Where the cats-and-dogs data is looked for: ``$LITBLOG_DATA_DIR``, then ``../shared/datasets``."""
    dirs = []
    if os.environ.get("LITBLOG_DATA_DIR"):
        dirs.append(Path(os.environ["LITBLOG_DATA_DIR"]).expanduser())
    dirs.append(REPO.parent / "shared" / "datasets")
    return dirs


def cats_and_dogs() -> Path:
    """The extracted ``cats_and_dogs_filtered`` folder both sides of a comparison read.

    An extracted copy in a search folder is used where it is; otherwise the zip is extracted
    once into ``.litblog/benchmarks/data/`` and reused by later runs.
    """
    dirs = data_search_dirs()
    own = BENCH_DIR / "data"
    for base in [*dirs, own]:
        for candidate in (base / DATASET_FOLDER, base / "cats_and_dogs_extracted" / DATASET_FOLDER):
            if _complete(candidate):
                return candidate
    for base in dirs:
        for name in DATASET_ARCHIVES:
            archive = base / name
            if archive.is_file():
                print(f"extracting {archive} into {own} (once)", flush=True)
                own.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=own))
                try:
                    with zipfile.ZipFile(archive) as zf:
                        zf.extractall(staging)
                    shutil.rmtree(own / DATASET_FOLDER, ignore_errors=True)
                    os.replace(staging / DATASET_FOLDER, own / DATASET_FOLDER)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
                if _complete(own / DATASET_FOLDER):
                    return own / DATASET_FOLDER
    raise SystemExit("error: cats_and_dogs_filtered (the zip or an extracted copy) is in none of "
                     + ", ".join(str(d) for d in dirs) + ": set LITBLOG_DATA_DIR to the folder that holds it")


# ---------------------------------------------------------------------------- processes

def confined_env(work: Path, data_folder: Path | None = None) -> dict[str, str]:
    """The environment of every timed command: caches and settings inside ``work``, litblog from
    this repository's ``src/``, the dataset's folder as ``LITBLOG_DATA_DIR``."""
    env = dict(os.environ)
    homes = {"KERAS_HOME": "keras-home", "MPLCONFIGDIR": "matplotlib", "XDG_CACHE_HOME": "cache",
             "IPYTHONDIR": "ipython", "JUPYTER_CONFIG_DIR": "jupyter/config",
             "JUPYTER_DATA_DIR": "jupyter/data", "JUPYTER_RUNTIME_DIR": "jupyter/runtime"}
    for name, sub in homes.items():
        (work / "env" / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(work / "env" / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if data_folder is not None:
        env["LITBLOG_DATA_DIR"] = str(data_folder.parent)
    return env


@dataclass
class Timed:
    seconds: float
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def timed(command: Sequence[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Timed:
    """Run ``command`` to the end and return its wall time and output (also written to ``log``).

    A command that fails stops the benchmark with the end of its output: a failed build
    timed as if it had worked would be a false figure.
    """
    started = time.perf_counter()
    done = subprocess.run(list(command), env=env, cwd=cwd, capture_output=True, text=True, errors="replace")
    seconds = time.perf_counter() - started
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {' '.join(map(str, command))}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise SystemExit(f"error: {' '.join(map(str, command))} exited {done.returncode} (full output in {log}):\n{tail}")
    return Timed(seconds, done.stdout, done.stderr)


def work_folder(keep: bool, prefix: str) -> tuple[Path, object]:
    """A fresh work folder: temporary (removed at the end) or, with ``keep``, under ``.litblog/benchmarks/``."""
    if keep:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=BENCH_DIR))
        return folder, None
    holder = tempfile.TemporaryDirectory(prefix=f"litblog-{prefix}-")
    return Path(holder.name), holder


# ---------------------------------------------------------------------------- litblog projects

def new_litblog_project(root: Path, config: str, recipes: dict[str, str] | Path, posts: dict[str, str]) -> Path:
    """A litblog project: ``_config.yml``, posts, the repository's templates, and recipes in
    ``src/recipes/`` (modules by name and text, or a copy of a recipes folder)."""
    (root / "posts").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "_config.yml").write_text(config)
    if isinstance(recipes, Path):
        shutil.copytree(recipes, root / "src" / "recipes", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        (root / "src" / "recipes").mkdir(parents=True)
        (root / "src" / "recipes" / "__init__.py").write_text('"""Recipes of the benchmark project."""\n')
        for name, text in recipes.items():
            (root / "src" / "recipes" / name).write_text(text)
    for name, text in posts.items():
        (root / "posts" / name).write_text(text)
    return root


def litblog_build(root: Path, *args: str) -> list[str]:
    """The ``build-site`` command line for ``root`` (through this interpreter, litblog from ``src/``)."""
    return [sys.executable, "-m", "litblog", "--project", str(root), *args]


def retire_warm_server(root: Path) -> None:
    """Let the warm server of ``root`` (litblog's warm workers) exit now instead of idling on.

    A server exits when ``.litblog/warm/current`` no longer names it; the benchmark's projects
    are thrown away, so nothing would ever use it again.
    """
    current = root / ".litblog" / "warm" / "current"
    if current.is_file():
        current.write_text("retired by the benchmark\n")
        time.sleep(1.0)  # it looks every 0.2 s between requests


def litblog_runs(root: Path) -> list[str]:
    """The experiments the last build of ``root`` ran (from ``site/_build/report.json``)."""
    report = json.loads((root / "site" / "_build" / "report.json").read_text())
    return [row["experiment"] for row in report["experiments"] if row["ran"]]


# ---------------------------------------------------------------------------- Keras' log lines

_EPOCH_LINE = re.compile(r"^Epoch \d+/\d+\n(\d+)/\d+ - (\d+)s - (\d+(?:\.\d+)?)(s|ms|us)/step\b", re.MULTILINE)
_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def keras_epoch_seconds(log_text: str) -> list[float]:
    """Seconds per epoch from Keras' ``verbose=2`` lines (``63/63 - 16s - 258ms/step - ...`` after
    ``Epoch 3/20``; evaluation lines have no epoch line before them).

    Keras prints the epoch's time (validation included) in whole seconds and divided by its
    steps, rounded in its unit. Steps times the time per step is used when that is the finer
    reading (``258ms/step``: to 0.5 ms a step), the whole seconds otherwise (``1s/step``); the
    same reading serves both sides of a comparison.
    """
    seconds = []
    for steps, total, per_step, unit in _EPOCH_LINE.findall(log_text):
        product_error = int(steps) * 0.5 * _UNIT[unit]
        seconds.append(int(steps) * float(per_step) * _UNIT[unit] if product_error < 0.5 else float(total))
    return seconds


# ---------------------------------------------------------------------------- figures

def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(value: float, limit: float) -> str:
    return "PASS" if value <= limit else "MISS"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
