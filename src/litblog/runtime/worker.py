"""One experiment in its own process: ``python -m litblog.runtime.worker SPEC.json``.

The parent (:mod:`litblog.buildtime.execute.execute`) writes the spec, sends this process's stdout and stderr
to the run's full log, and reads progress events from the pipe named by
``LITBLOG_EVENT_FD``. The worker imports TensorFlow, seeds it, calls the recipe, writes the
result into a staging folder and renames it into the store: a crash at any point leaves no
partial result. Exit status: 0 stored, 1 the recipe failed, 3 a dataset is unavailable, 4 blocked:
pretrained weights are missing (see :mod:`litblog.runtime.pretrained`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import importlib.machinery
import json
import os
import platform
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..common.dirty import repository_entry
from ..common.fsutil import make_unique_dir, remove_confined
from ..common.paths import shown_keras_home, worker_tmp_dir
from ..common.protocol import (EXIT_BLOCKED, EXIT_DATASET, EXIT_FAILED, EXIT_OK, EXIT_TERMINATED,  # noqa: F401
                       PARENT_PID_ENV)

if TYPE_CHECKING:  # pragma: no cover
    from .capture import EventSink


# The stored log.txt is committed and embedded in posts: above these sizes it keeps head and tail.
LOG_KEEP_LINES = 2000  # at each end
LOG_KEEP_CHARS = 128 * 1024  # at each end
# How long a worker waits for a leftover worker of the same key (say of a killed build) to stop.
KEY_LOCK_WAIT = 30.0


class Terminated(BaseException):
    """Raised in the worker's main thread on SIGTERM, so its staging folder is removed on the way out."""


class KeyBusy(Exception):
    """Another worker process is still running the same experiment (same key)."""


class SourceChanged(Exception):
    """The code a run executed is not the code its key was planned from: nothing may be stored."""


# Project modules this run compiled, by resolved path: the very bytes Python executed.
_EXECUTED: dict[Path, bytes] = {}


class _KeyedSourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles a project module from the bytes it records, never from a cached ``.pyc``.

    So the check before storing (:func:`check_sources`) sees the source that ran, even when
    the file was swapped and put back during the run.
    """

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        data = self.get_data(path)
        _EXECUTED[Path(path).resolve()] = data
        return self.source_to_code(data, path)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _project_folder(entry: str, root: Path) -> bool:
    """``entry`` (a ``sys.path`` entry or a package's folder) is the project's: ``root`` is the
    deepest ``sys.path`` entry holding it (a virtual environment inside the project is not)."""
    try:
        path = Path(entry or ".").resolve()
        if not _inside(path, root):
            return False
        deeper = [Path(p or ".").resolve() for p in sys.path if isinstance(p, str)]
    except (OSError, RuntimeError, ValueError):
        return False
    return not any(_inside(path, other) and root in other.parents for other in deeper)


def _project_module_file(name: str, file: str, root: Path) -> Path | None:
    """The file of module ``name`` when it is the one importing ``name`` from ``root`` finds."""
    path = Path(file).resolve()
    base = root.joinpath(*name.split("."))
    return path if path in (base.with_suffix(".py"), base / "__init__.py") else None


def record_project_imports(import_root: Path) -> None:
    """Have the project's modules (under ``import_root``) imported by :class:`_KeyedSourceLoader`."""
    root = import_root.resolve()
    loaders = [(importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
               (_KeyedSourceLoader, importlib.machinery.SOURCE_SUFFIXES),
               (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES)]

    def hook(entry: str) -> Any:
        if not _project_folder(entry, root):
            raise ImportError("not a project folder")  # the next hook (Python's own) takes it
        return importlib.machinery.FileFinder(entry, *loaders)

    sys.path_hooks.insert(0, hook)
    for entry in list(sys.path_importer_cache):
        if _project_folder(entry, root):
            del sys.path_importer_cache[entry]


def check_sources(sources: dict[str, str], project_root: Path, import_root: Path) -> None:
    """Raise :class:`SourceChanged` unless the code this run executed is the code its key was planned from.

    ``sources`` is the key's (``path::function`` for the recipe's module, a path for each
    project module it imports, by digest). Checked: the source each of those modules was
    compiled from, the file as it is now, and that every project module in ``sys.modules``
    (under ``import_root``, litblog itself aside) is one of them.
    """
    from ..common.sources import decode_source, keyed_digest, read_source

    root = project_root.resolve()
    keyed: set[Path] = set()
    for entry, expected in sorted(sources.items()):
        name = entry.partition("::")[0]
        file = (root / name).resolve()
        keyed.add(file)
        ran = _EXECUTED.get(file)
        try:
            now = read_source(file)
            texts = [now] if ran is None else [decode_source(ran, file.name), now]
        except (OSError, SyntaxError):
            texts = []
        if not texts or any(keyed_digest(entry, text) != expected for text in texts):
            raise SourceChanged(f"{name} changed while the run was running: the code the run used is not the "
                                f"code its key was planned from, so nothing was stored; build again "
                                f"(and leave the project's modules alone while runs are in progress)")
    import_folder = import_root.resolve()
    for module_name, module in sorted(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or module_name == "litblog" or module_name.startswith("litblog."):
            continue
        path = _project_module_file(module_name, file, import_folder)
        if path is not None and path not in keyed:
            shown = path.relative_to(root).as_posix() if _inside(path, root) else path.name
            raise SourceChanged(f"{shown} was imported by the run but is not part of its key (litblog finds a "
                                f"recipe's modules by reading its import statements), so nothing was stored; "
                                f"import it with a plain import statement in the recipe's module")


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


def cap_log(text: str, full_log: str | None) -> str:
    """``text`` as stored in ``log.txt``: whole when small, else its head and tail around a marker line.

    ``full_log`` is the project-relative path of the run's whole output, named in the marker.
    """
    lines = text.splitlines(keepends=True)
    if len(lines) <= 2 * LOG_KEEP_LINES and len(text) <= 2 * LOG_KEEP_CHARS:
        return text
    head = "".join(lines[:LOG_KEEP_LINES])[:LOG_KEEP_CHARS]
    tail = "".join(lines[-LOG_KEEP_LINES:])[-LOG_KEEP_CHARS:]
    if len(lines) <= 2 * LOG_KEEP_LINES:  # few but long lines: the head and tail must not overlap
        head, tail = text[:LOG_KEEP_CHARS], text[-LOG_KEEP_CHARS:]
    omitted = len(text) - len(head) - len(tail)
    size = len(text.encode("utf-8"))
    where = f"; the full log is in {full_log}" if full_log else ""
    marker = (f"[litblog: this log was {len(lines):,} lines ({size / 1e6:.1f} MB); {omitted:,} characters "
              f"in the middle are left out{where}]\n")
    return head + ("" if head.endswith("\n") else "\n") + marker + tail


def _protect_standard_streams() -> None:
    """Give Python's stdout and stderr their own descriptors of the log, writing invalid text replaced.

    A recipe that closes fd 1 or 2 then cannot break ``print`` or the failure report, and a
    surrogate-escaped file name (``os.fsdecode``) cannot fail the run on its way to the log.
    """
    for name, fd in (("stdout", 1), ("stderr", 2)):
        try:
            copy = os.dup(fd)
        except OSError:
            continue
        setattr(sys, name, open(copy, "w", encoding="utf-8", errors="backslashreplace", buffering=1,
                                closefd=True))


def _watch_parent(forked: bool = False) -> None:
    """End this worker when the build that started it dies (say by kill -9), instead of training on.

    A fresh worker is the build's child: Linux signals it at once through ``PR_SET_PDEATHSIG``,
    and (elsewhere, and as a fallback) a thread notices the parent pid change within a second.
    A warm worker (``forked``) is the warm server's child; the server stops it when the build's
    connection closes, and the same thread notices the build's pid is gone.
    """
    expected = os.environ.get(PARENT_PID_ENV)
    parent = int(expected) if expected and expected.isdigit() else os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def gone() -> bool:
        if not forked:
            return os.getppid() != parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    if gone():  # died before the prctl above took effect
        os._exit(EXIT_TERMINATED)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if gone():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10.0)  # the main thread is stuck in native code: stop without cleanup
                os._exit(EXIT_TERMINATED)

    threading.Thread(target=watch, name="litblog-parent-watch", daemon=True).start()


def _raise_on_sigterm() -> None:
    worker_pid = os.getpid()

    def handler(signum: int, frame: Any) -> None:
        if os.getpid() != worker_pid:  # a process the recipe forked: just go
            os._exit(EXIT_TERMINATED)
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def key_lock(checkpoint_dir: Path | None, wait: float = KEY_LOCK_WAIT,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock for this run's key while it runs (``checkpoints/<key>.lock``).

    A worker left over from a killed build may still write the same checkpoints; this one
    waits up to ``wait`` seconds for it to stop, then gives up with :class:`KeyBusy`.
    """
    if checkpoint_dir is None:
        yield
        return
    import fcntl

    path = checkpoint_dir.with_name(checkpoint_dir.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                if time.monotonic() > deadline:
                    raise KeyBusy(f"another worker (pid {holder}) is still running this experiment, "
                                  f"perhaps left by a build that was killed; stop it and build again") from None
                if not announced:
                    text = f"waiting for another worker (pid {holder}) of this experiment to stop"
                    print(f"litblog: {text}", file=sys.stderr)
                    if on_wait is not None:
                        on_wait(text)
                    announced = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # drops the lock


def accelerate(choices: Any) -> None:
    """Turn on the speed-ups an experiment opted into (``accelerate:``; part of its key).

    ``mixed_precision``: Keras' mixed policy, float16 compute where there is a GPU and bfloat16
    on CPUs (variables stay float32). ``xla``: TensorFlow's XLA auto-clustering of the functions
    Keras traces. Both are set before the recipe builds a model, in this process only.
    """
    import keras
    import tensorflow as tf

    if "mixed_precision" in choices:
        gpu = bool(tf.config.list_physical_devices("GPU"))
        keras.mixed_precision.set_global_policy("mixed_float16" if gpu else "mixed_bfloat16")
        print(f"litblog: mixed precision ({keras.mixed_precision.global_policy().name})")
    if "xla" in choices:
        tf.config.optimizer.set_jit(True)
        print("litblog: XLA auto-clustering on")


def use_temporary_folder(parent: Path) -> Path:
    """Make a new folder under ``parent`` this process's temporary folder (``tempfile`` and ``TMPDIR``).

    A warm worker is forked from a server whose ``tempfile.tempdir`` is already set, and no
    worker runs its exit handlers (it ends with ``os._exit``), so what TensorFlow and the recipe
    leave in the temporary folder goes with this one, removed when the run ends.
    """
    folder = make_unique_dir(parent, "")
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    return folder


def run(spec: dict[str, Any]) -> int:
    """Run the experiment ``spec`` describes; returns the exit status.

    The stages: prepare the process (temporary folder, key lock, staging folder, imports,
    TensorFlow's seed and settings), run the recipe, write the manifest, verify the sources and
    store. Whatever stops it is reported by :func:`_failed`; staging and temporary folders go.
    """
    from ..common.store import ResultStore
    from .capture import EventSink

    started = time.perf_counter()
    fd = os.environ.get("LITBLOG_EVENT_FD")
    events = EventSink(int(fd) if fd else None)
    project_root = Path(spec["project_root"])
    store = ResultStore(Path(spec["results_dir"]))
    checkpoint_dir = Path(spec["checkpoint_dir"]) if spec.get("checkpoint_dir") else None
    staging: Path | None = None
    temporary: Path | None = None
    held = contextlib.ExitStack()
    scrub = _spec_path_scrubber(spec, project_root)
    try:
        temporary = use_temporary_folder(worker_tmp_dir(project_root))
        held.enter_context(key_lock(checkpoint_dir, on_wait=lambda text: events.emit("waiting", message=text)))
        staging = store.new_staging(spec["key"])
        sys.path.insert(0, spec["import_root"])
        record_project_imports(Path(spec["import_root"]))
        _prepare_tensorflow(spec)
        entries = _run_recipe(spec, staging, events, scrub, checkpoint_dir)
        _write_manifest(spec, staging, entries, started)
        # Last, right before storing: the key must name the code that made these numbers.
        check_sources(spec["key_inputs"]["sources"], project_root, Path(spec["import_root"]))
        store.commit(staging, spec["key_inputs"]["recipe"], spec["key"], replace=spec.get("replace", False))
        if checkpoint_dir is not None:
            remove_confined(checkpoint_dir, checkpoint_dir.parent, ignore_errors=True)
        events.emit("stored")
        return EXIT_OK
    except BaseException as exc:
        return _failed(exc, events, scrub)
    finally:
        if staging is not None:
            remove_confined(staging, store.root, ignore_errors=True)
        held.close()
        if temporary is not None:
            remove_confined(temporary, temporary.parent, ignore_errors=True)


def _spec_path_scrubber(spec: dict[str, Any], project_root: Path) -> Callable[[str], str]:
    """The run's paths as the reader should see them: the project as ``.``, Keras' home, the data folder, ``~``."""
    return make_path_scrubber({
        str(project_root): ".",
        # Named the way the user set it, so messages point at the folder litblog really used.
        str(Path(spec["keras_home"])): shown_keras_home(),
        os.environ.get("LITBLOG_DATA_DIR", ""): "$LITBLOG_DATA_DIR",
        os.path.expanduser("~"): "~",
    })


def _prepare_tensorflow(spec: dict[str, Any]) -> None:
    """Import TensorFlow (only in workers) and set it up as the spec says: threads, seed, determinism, speed-ups."""
    import keras
    import tensorflow as tf

    if spec.get("threads"):
        tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
    keras.utils.set_random_seed(spec["seed"])
    if spec.get("deterministic", True):
        tf.config.experimental.enable_op_determinism()
    accelerate(spec["key_inputs"].get("extra", {}).get("accelerate", ()))


def _run_recipe(spec: dict[str, Any], staging: Path, events: "EventSink", scrub: Callable[[str], str],
                checkpoint_dir: Path | None) -> dict[str, Any]:
    """Call the recipe with a fresh ``ctx`` writing into ``staging``; returns the manifest entries it saved."""
    from .context import RecipeContext

    ctx = RecipeContext(params=spec["params"], seed=spec["seed"], output_dir=staging,
                        project_root=Path(spec["project_root"]), data_dir=spec.get("data_dir"),
                        cache_dir=Path(spec["cache_dir"]), events=events, path_scrubber=scrub,
                        checkpoint_dir=checkpoint_dir)
    module = importlib.import_module(spec["module"])
    recipe = getattr(module, spec["function"])
    events.emit("started", pid=os.getpid())
    with ctx.capturing():
        recipe(ctx, **spec["params"])
    return ctx.save()


def _write_manifest(spec: dict[str, Any], staging: Path, entries: dict[str, Any], started: float) -> None:
    """Cap the stored log, then write the manifest: last, since a folder with a manifest is a complete result."""
    import keras
    import tensorflow as tf

    from ..common import reads
    from ..common.store import LOG, MANIFEST

    log_file = staging / LOG
    if log_file.is_file():
        log_file.write_text(cap_log(log_file.read_text(encoding="utf-8"), spec.get("log_name")),
                            encoding="utf-8")
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
        # dirty, and dirty_files, when code it ran or a file it read is not in the commit
        "repository": repository_entry(spec.get("repository"), reads.recorded()),
        "reads": reads.recorded(),
        **entries,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _failed(exc: BaseException, events: "EventSink", scrub: Callable[[str], str]) -> int:
    """Report why a run stopped (an event for the build, a line or traceback on stderr); returns the exit status."""
    from ..common.datasets import DatasetUnavailable
    from .pretrained import PretrainedWeightsUnavailable

    if isinstance(exc, PretrainedWeightsUnavailable):
        events.emit("failed", kind="blocked", message=scrub(str(exc)), needs=list(exc.needs))
        print(f"litblog: {exc}", file=sys.stderr)
        return EXIT_BLOCKED
    if isinstance(exc, DatasetUnavailable):
        events.emit("failed", kind="dataset", message=scrub(str(exc)))
        print(f"litblog: {exc}", file=sys.stderr)
        return EXIT_DATASET
    if isinstance(exc, Terminated):
        print("litblog: stopped (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    if isinstance(exc, SourceChanged):
        events.emit("failed", kind="recipe", message=scrub(str(exc)))
        print(f"litblog: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(exc, KeyBusy):
        events.emit("failed", kind="busy", message=str(exc))
        print(f"litblog: {exc}", file=sys.stderr)
        return EXIT_FAILED
    text = scrub(_recipe_traceback(exc))
    events.emit("failed", kind="recipe", message=scrub(_describe(exc)), traceback=text)
    try:
        traceback.print_exc()  # the exception being handled: _failed is called from run's except clause
    except (OSError, ValueError):
        pass
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return EXIT_FAILED


def _describe(exc: BaseException) -> str:
    """One line on why the recipe stopped."""
    if isinstance(exc, SystemExit):
        # sys.exit() in a recipe ends it before anything is stored, whatever the status.
        return f"the recipe called sys.exit({exc.code!r}) before it finished"
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt raised in the recipe"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _recipe_traceback(exc: BaseException) -> str:
    """The traceback from the recipe's frame on: litblog's own frames above it are noise to its author."""
    summary = traceback.TracebackException.from_exception(exc)
    package = str(Path(__file__).resolve().parents[1])  # litblog's frames, whichever package
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


def main(argv: list[str] | None = None, *, forked: bool = False) -> int:
    """``python -m litblog.runtime.worker SPEC``: guard against orphaning and SIGTERM first, then run.

    ``forked``: this process is a warm server's child (:mod:`litblog.runtime.warm_server`), not the
    build's, and the status is returned; otherwise the process ends here (:func:`exit_process`).
    """
    _watch_parent(forked)
    _raise_on_sigterm()
    _protect_standard_streams()
    argv = sys.argv[1:] if argv is None else argv
    try:
        spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
        code = run(spec)
    except Terminated:
        code = EXIT_TERMINATED
    if forked:
        return code  # the warm server's child ends itself the same way
    exit_process(code)
    return code  # not reached


def exit_process(code: int) -> None:
    """End this worker now: output flushed, no wait for threads the recipe left running (not daemons).

    The result is stored (or the failure reported) before this; a fresh interpreter's normal
    exit would join every non-daemon thread and could keep the build waiting forever.
    """
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) and 0 <= code <= 255 else EXIT_FAILED)


if __name__ == "__main__":
    sys.exit(main())
