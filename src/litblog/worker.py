"""One experiment in its own process: ``python -m litblog.worker SPEC.json``.

The parent (:mod:`litblog.execute`) writes the spec, sends this process's stdout and stderr
to the run's full log, and reads progress events from the pipe named by
``LITBLOG_EVENT_FD``. The worker imports TensorFlow, seeds it, calls the recipe, writes the
result into a staging folder and renames it into the store: a crash at any point leaves no
partial result. Exit status: 0 stored, 1 the recipe failed, 3 a dataset is unavailable, 4 blocked:
pretrained weights are missing (see :mod:`litblog.pretrained`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DATASET = 3
EXIT_BLOCKED = 4  # a prerequisite (pretrained weights) is missing: recorded, retried when it appears


def make_path_scrubber(replacements: dict[str, str]) -> Callable[[str], str]:
    """Replace machine-specific folders in text with neutral names (longest first)."""
    pairs = sorted(((os.path.normpath(k), v) for k, v in replacements.items() if k), key=lambda p: -len(p[0]))

    def scrub(text: str) -> str:
        for path, name in pairs:
            text = text.replace(path, name)
        return text

    return scrub


def hardware() -> dict[str, Any]:
    """What the run ran on: CPU model and count, GPUs, platform."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus: list[str] = []
    try:
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception:  # pragma: no cover - a broken GPU setup must not fail the run
        pass
    return {"system": platform.system(), "machine": platform.machine(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "gpus": gpus}


def run(spec: dict[str, Any]) -> int:
    """Run the experiment ``spec`` describes; returns the exit status."""
    from .context import EventSink, RecipeContext
    from .datasets import DatasetUnavailable
    from .pretrained import PretrainedWeightsUnavailable
    from .store import MANIFEST, ResultStore

    started = time.perf_counter()
    fd = os.environ.get("LITBLOG_EVENT_FD")
    events = EventSink(int(fd) if fd else None)
    project_root = Path(spec["project_root"])
    store = ResultStore(Path(spec["results_dir"]))
    staging = store.new_staging(spec["key"])
    scrub = make_path_scrubber({
        str(project_root): ".",
        str(Path(spec["keras_home"])): "~/.keras",
        os.environ.get("LITBLOG_DATA_DIR", ""): "$LITBLOG_DATA_DIR",
        os.path.expanduser("~"): "~",
    })
    try:
        sys.path.insert(0, spec["import_root"])
        import keras  # noqa: F401  (imports TensorFlow: only in workers)
        import tensorflow as tf

        if spec.get("threads"):
            tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
            tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
        keras.utils.set_random_seed(spec["seed"])
        if spec.get("deterministic", True):
            tf.config.experimental.enable_op_determinism()

        checkpoint_dir = Path(spec["checkpoint_dir"]) if spec.get("checkpoint_dir") else None
        ctx = RecipeContext(params=spec["params"], seed=spec["seed"], output_dir=staging,
                            project_root=project_root, data_dir=spec.get("data_dir"),
                            cache_dir=Path(spec["cache_dir"]), events=events, path_scrubber=scrub,
                            checkpoint_dir=checkpoint_dir)
        module = importlib.import_module(spec["module"])
        recipe = getattr(module, spec["function"])
        events.emit("started", pid=os.getpid())
        with ctx.capturing():
            recipe(ctx, **spec["params"])
        entries = ctx.save()
        manifest = {
            "format": spec["key_inputs"]["format"],
            "key": spec["key"],
            "recipe": spec["key_inputs"]["recipe"],
            "key_inputs": spec["key_inputs"],
            "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "timings": {"wall_seconds": round(time.perf_counter() - started, 3),
                        "train_seconds": entries.pop("train_seconds")},
            "hardware": hardware(),
            "runtime": {"python": platform.python_version(), "tensorflow": tf.__version__,
                        "keras": keras.__version__, "numpy": _version("numpy")},
            "litblog": _version("litblog"),
            **entries,
        }
        # The manifest is written last: a folder with a manifest is a complete result.
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        store.commit(staging, spec["key_inputs"]["recipe"], spec["key"])
        if checkpoint_dir is not None:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
        events.emit("stored")
        return EXIT_OK
    except PretrainedWeightsUnavailable as exc:
        events.emit("failed", kind="blocked", message=scrub(str(exc)), needs=list(exc.needs))
        print(f"litblog: {exc}", file=sys.stderr)
        return EXIT_BLOCKED
    except DatasetUnavailable as exc:
        events.emit("failed", kind="dataset", message=scrub(str(exc)))
        print(f"litblog: {exc}", file=sys.stderr)
        return EXIT_DATASET
    except BaseException as exc:
        text = scrub(_recipe_traceback(exc))
        events.emit("failed", kind="recipe", message=f"{type(exc).__name__}: {scrub(str(exc))}",
                    traceback=text)
        traceback.print_exc()
        if isinstance(exc, KeyboardInterrupt):
            return 130
        return EXIT_FAILED
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _recipe_traceback(exc: BaseException) -> str:
    """The traceback from the recipe's frame on: litblog's own frames above it are noise to its author."""
    summary = traceback.TracebackException.from_exception(exc)
    package = str(Path(__file__).resolve().parent)
    frames = list(summary.stack)
    while len(frames) > 1 and frames[0].filename.startswith(package):
        frames.pop(0)
    summary.stack = traceback.StackSummary.from_list(frames)
    return "".join(summary.format())


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    return run(spec)


if __name__ == "__main__":
    sys.exit(main())
