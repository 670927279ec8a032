"""Decode once: resized image arrays cached under ``.litblog/cache/decoded/``, shared by runs.

Every experiment and seed that reads the same files at the same size gets the same float32
array (decoded and resized exactly as :func:`litblog.runtime.pipelines.make_pipeline` always did), so
it is computed once and then memory-mapped from a ``.npy`` file: a later run reads pages of
the file the OS already holds instead of decoding JPEGs again. The entry's name is a digest of
the decoding rule's version, the size and every file's path, size and modification time: a
changed, added or removed image makes a new entry (tested: ``tests/test_warm.py``). Entries are
written atomically, so concurrent workers at worst decode the same images twice, and the
least recently used are removed once the folder passes :data:`LIMIT_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from ..common.fsutil import remove_confined

DECODE_VERSION = 1  # the decoding rule: tf.io.decode_image (3 channels) then bilinear tf.image.resize
LIMIT_BYTES = int(float(os.environ.get("LITBLOG_DECODED_CACHE_GB", "8")) * 1e9)
FOLDER = "decoded"


def entry_name(paths: Sequence[str], image_size: tuple[int, int]) -> str:
    """The cache entry of ``paths`` decoded at ``image_size``: changes when any file does."""
    listing = []
    for path in paths:
        stat = os.stat(path)
        listing.append([path, stat.st_size, stat.st_mtime_ns])
    material = json.dumps({"version": DECODE_VERSION, "size": list(image_size), "files": listing})
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def decoded_images(paths: Sequence[str], image_size: tuple[int, int], cache_dir: Path | None,
                   decode: Callable[[], Any]) -> Any:
    """The images of ``paths`` as one float32 array ``(n, height, width, 3)``, read-only.

    ``decode()`` makes the array when the cache has no entry (or there is no ``cache_dir``).
    """
    import numpy as np

    if cache_dir is None or not paths:
        return decode()
    folder = cache_dir / FOLDER
    target = folder / f"{entry_name(paths, image_size)}.npy"
    try:
        array = np.load(target, mmap_mode="r")
        os.utime(target)  # recently used: kept by the pruning below
        return array
    except (OSError, ValueError):
        pass
    array = np.ascontiguousarray(decode(), dtype=np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".decoding-", suffix=".npy", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            np.save(out, array)
        os.replace(temporary, target)
    except OSError:  # a full disk costs speed, never the run
        Path(temporary).unlink(missing_ok=True)
        return array
    _prune(folder, keep=target)
    return np.load(target, mmap_mode="r")


def _prune(folder: Path, keep: Path) -> None:
    """Remove the least recently used entries while the folder holds more than :data:`LIMIT_BYTES`."""
    entries = []
    for path in folder.glob("*.npy"):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= LIMIT_BYTES:
            break
        if path != keep:
            remove_confined(path, folder, ignore_errors=True)
            total -= size
