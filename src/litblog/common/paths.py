"""Every path litblog owns that both wings name: the project's scratch folder and the Keras home.

``.litblog/`` in the project is litblog's own (never published, never committed, refused as a
folder setting): the build lock, the worker specs and full logs, the per-epoch checkpoints, the
warm server's state, the caches and ``build-site reproduce``'s re-runs. The build computes these
and hands a worker the ones it needs in its spec. The Keras home is the one rule for Keras' cache
that the build (is a blocked run's file there? what did a result read?) and the worker
(datasets, pretrained weights) share: ``$KERAS_HOME``, else ``~/.keras``, as Keras uses it, with
no temporary-folder fallback the build would never look in. Nothing else spells ``.litblog`` or
reads ``KERAS_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path

SCRATCH = ".litblog"


def scratch_dir(root: Path) -> Path:
    """The project's ``.litblog/``."""
    return root / SCRATCH


def cache_dir(root: Path) -> Path:
    """``.litblog/cache/``: decoded images, synthetic datasets, chart drawings, digests of files runs read."""
    return scratch_dir(root) / "cache"


def render_cache_dir(root: Path) -> Path:
    """``.litblog/cache/render/``: posts' rendered output by content, reused while their inputs stay."""
    return cache_dir(root) / "render"


def checkpoint_root(root: Path) -> Path:
    """``.litblog/checkpoints/``: a folder and a lock per key while its run is unfinished."""
    return scratch_dir(root) / "checkpoints"


def log_path(root: Path, label: str, key: str) -> Path:
    """``.litblog/logs/<label>-<key>.log``: a run's whole output (``log.txt`` in the result is capped)."""
    return scratch_dir(root) / "logs" / f"{label}-{key}.log"


def spec_path(root: Path, key: str) -> Path:
    """``.litblog/specs/<key>.json``: what the build hands the worker of that key."""
    return scratch_dir(root) / "specs" / f"{key}.json"


def reproduce_results_dir(root: Path) -> Path:
    """``.litblog/reproduce/results/``: the scratch store ``build-site reproduce`` re-runs into
    (emptied at each start; never ``results/``)."""
    return scratch_dir(root) / "reproduce" / "results"


def lock_path(root: Path) -> Path:
    """``.litblog/build.lock``: one build of a project at a time."""
    return scratch_dir(root) / "build.lock"


def worker_tmp_dir(root: Path) -> Path:
    """``.litblog/tmp/``: each worker's temporary folder (``TMPDIR``), removed when its run ends.

    What a run writes there (TensorFlow's ``__autograph_generated_file*.py``, a recipe's
    temporary files) is removed with it, even when the worker ends with ``os._exit``.
    """
    return scratch_dir(root) / "tmp"


def warm_dir(root: Path) -> Path:
    """``.litblog/warm/``: which warm server is the project's current one."""
    return scratch_dir(root) / "warm"


def warm_log_path(root: Path) -> Path:
    """``.litblog/logs/warm-server.log``."""
    return scratch_dir(root) / "logs" / "warm-server.log"


def keras_home() -> Path:
    """``$KERAS_HOME``, or ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras"))


def shown_keras_home() -> str:
    """The Keras home as messages and stored text name it: as the user set it, not this machine's path."""
    return "$KERAS_HOME" if os.environ.get("KERAS_HOME") else "~/.keras"


def keras_cache_dir() -> Path:
    """``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, as ``keras.utils.get_file`` uses it."""
    return keras_home() / "datasets"


def keras_models_dir() -> Path:
    """``$KERAS_HOME/models`` or ``~/.keras/models``: Keras' cache of model weights."""
    return keras_home() / "models"
