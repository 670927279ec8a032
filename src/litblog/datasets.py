"""Datasets: where they are found, what identifies them, and how their files are split.

Locating, fingerprinting and splitting never import TensorFlow (planning needs them);
:func:`load_image_data` builds ``tf.data`` pipelines and imports it lazily.

A dataset is named by a string, the value of a recipe's ``dataset`` parameter:

- ``cats_and_dogs``: the image-classification tutorial's public zip, found locally first
  (``LITBLOG_DATA_DIR``, the config's ``data_dir``, the Keras cache) and downloaded with
  ``keras.utils.get_file`` otherwise;
- ``synthetic``: two classes of generated images (for tests and demos without data);
- a folder path relative to the project: class subfolders, optionally under ``train/`` and
  ``validation/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Sequence

from .fsutil import atomic_write_text

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
DATASET_PARAM = "dataset"
# Bump when the synthetic generator changes what it draws: it is the synthetic data's fingerprint.
SYNTHETIC_VERSION = 1


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be found or fetched; the message says where it was looked for and what to do."""


@dataclass(frozen=True)
class RemoteDataset:
    """A published archive identified by its SHA-256, found locally first, downloaded otherwise."""

    name: str
    archive: str  # file name of the published archive
    cache_name: str  # ``fname`` given to keras.utils.get_file
    folder: str  # top folder inside the archive
    urls: tuple[str, ...]
    sha256: str
    counts: dict[str, int]  # image files expected per split


CATS_AND_DOGS = RemoteDataset(
    name="cats_and_dogs",
    archive="cats_and_dogs_filtered.zip",
    cache_name="cats_and_dogs.zip",
    folder="cats_and_dogs_filtered",
    urls=(
        "https://download.mlcc.google.com/mledu-datasets/cats_and_dogs_filtered.zip",
        "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
    ),
    sha256="a00fd2238a19e8ed012b7139ea9b27f86a790a7a2b78f723fbf8ae7e77acc45b",
    counts={"train": 2000, "validation": 1000},
)
REMOTE_DATASETS = {CATS_AND_DOGS.name: CATS_AND_DOGS}
BUILTIN_NAMES = (*REMOTE_DATASETS, "synthetic")


@dataclass(frozen=True)
class ImageFiles:
    """A dataset's files split into train, validation and test, as (path, label) pairs."""

    class_names: tuple[str, ...]
    train: tuple[tuple[Path, int], ...]
    validation: tuple[tuple[Path, int], ...]
    test: tuple[tuple[Path, int], ...]

    def counts(self, split: str) -> dict[str, int]:
        labels = [label for _, label in getattr(self, split)]
        return {name: labels.count(index) for index, name in enumerate(self.class_names)}


# ---------------------------------------------------------------------------------------------
# Identity (no TensorFlow)


def is_dataset_param(name: str) -> bool:
    """Parameters that name a dataset: ``dataset`` or ``<something>_dataset``."""
    return name == DATASET_PARAM or name.endswith("_" + DATASET_PARAM)


def fingerprint(spec: str, project_root: Path, cache_dir: Path | None = None,
                data_dir: str | None = None) -> str:
    """What identifies the data ``spec`` names, for cache keys.

    A published archive is its SHA-256 (known without the data being present, so a fresh
    clone can check committed results); a local folder is the hash of its files' contents.
    Checking the folder's layout here makes a bad folder an error at planning, not in a worker.
    """
    if spec in REMOTE_DATASETS:
        return "sha256:" + REMOTE_DATASETS[spec].sha256
    if spec == "synthetic":
        return f"synthetic:v{SYNTHETIC_VERSION}"
    folder = local_folder(spec, project_root, data_dir)
    check_layout(spec, folder)
    return "files:" + _folder_digest(folder, cache_dir)


_WAY_OUT = ("put the data in a folder of the project and name it relative to the project (data/flowers), "
            "or put it in the folder LITBLOG_DATA_DIR (or litblog.data_dir in _config.yml) names "
            "and give its folder name")


def local_folder(spec: str, project_root: Path, data_dir: str | None = None) -> Path:
    """The folder a path-like dataset spec names; :class:`DatasetUnavailable` if it is not there.

    A spec is a relative path inside the project, or a folder name in one of the data folders
    (``LITBLOG_DATA_DIR``, ``litblog.data_dir``). Absolute paths, ``..`` and symbolic links
    out of the project are refused: the spec is stored in results and shown in the site, and
    must not carry (or depend on) this machine's paths.
    """
    written = PurePosixPath(spec.replace("\\", "/"))
    if not spec.strip() or Path(spec).is_absolute() or spec.startswith(("/", "~")) or ".." in written.parts:
        raise DatasetUnavailable(f"dataset '{spec}' is not a path inside the project; {_WAY_OUT}")
    root = project_root.resolve()
    folder = (project_root / spec).resolve()
    if folder.is_dir():
        if not folder.is_relative_to(root):
            raise DatasetUnavailable(f"dataset '{spec}' is a symbolic link to a folder outside the project; "
                                     f"{_WAY_OUT}")
        if folder == root or folder.relative_to(root).parts[0] in (".git", ".litblog"):
            raise DatasetUnavailable(f"dataset '{spec}' is not a data folder; {_WAY_OUT}")
        return folder
    if len(written.parts) == 1:
        for base in search_dirs(data_dir, project_root)[:-1]:  # not the Keras cache: it holds archives
            candidate = base / spec
            if candidate.is_dir():
                return candidate.resolve()
    raise DatasetUnavailable(
        f"dataset '{spec}' is neither a known dataset ({', '.join(BUILTIN_NAMES)}) "
        f"nor a folder of the project")


def check_layout(spec: str, folder: Path) -> None:
    """A local dataset folder has at least two class subfolders, each with images."""
    top = folder / "train" if (folder / "train").is_dir() and (folder / "validation").is_dir() else folder
    classes = sorted(d for d in top.iterdir() if d.is_dir() and not d.name.startswith("."))
    where = f"dataset '{spec}'" + (" (its train/ folder)" if top != folder else "")
    layout = "one subfolder per class, holding that class's images (optionally under train/ and validation/)"
    if len(classes) < 2:
        found = f"only '{classes[0].name}'" if classes else "none"
        raise DatasetUnavailable(f"{where} needs at least two class subfolders, found {found}; "
                                 f"a dataset folder has {layout}")
    empty = [d.name for d in classes if not any(True for _ in _image_files(d))]
    if empty:
        raise DatasetUnavailable(f"{where}: class folder '{empty[0]}' has no images "
                                 f"({', '.join(IMAGE_SUFFIXES)}); a dataset folder has {layout}")


def _folder_digest(folder: Path, cache_dir: Path | None) -> str:
    memo_file = cache_dir / "file-digests.json" if cache_dir else None
    memo: dict[str, Any] = {}
    if memo_file and memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text())
        except (OSError, ValueError):
            memo = {}
    digest = hashlib.sha256()
    changed = False
    for file in sorted(_image_files(folder)):
        rel = file.relative_to(folder).as_posix()
        stat = file.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        key = f"{folder.as_posix()}/{rel}"
        entry = memo.get(key)
        if not entry or entry[0] != stamp:
            entry = [stamp, hashlib.sha256(file.read_bytes()).hexdigest()]
            memo[key] = entry
            changed = True
        digest.update(f"{rel}\0{entry[1]}\n".encode())
    if memo_file and changed:
        atomic_write_text(memo_file, json.dumps(memo))
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Location (no TensorFlow)


def search_dirs(data_dir: str | None, project_root: Path) -> list[Path]:
    """Where local copies are looked for, in order."""
    dirs: list[Path] = []
    env = os.environ.get("LITBLOG_DATA_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    if data_dir:
        dirs.append((project_root / data_dir).expanduser())
    dirs.append(keras_cache_dir())
    return dirs


def keras_cache_dir() -> Path:
    """``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, as ``keras.utils.get_file`` uses it."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def find_local_copy(dataset: RemoteDataset, dirs: Iterable[Path]) -> Path | None:
    """An extracted copy of ``dataset`` (its top folder), extracting a local archive if need be."""
    dirs = list(dirs)
    stem = Path(dataset.cache_name).stem
    for base in dirs:
        for candidate in (base / dataset.folder,
                          base / f"{stem}_extracted" / dataset.folder,  # Keras >= 3.6
                          base / stem / dataset.folder):
            if _complete(candidate, dataset):
                return candidate
    for base in dirs:
        for archive in (base / dataset.archive, base / dataset.cache_name):
            if archive.is_file():
                return _extract(archive, dataset)
    return None


def dataset_folder_in(path: Path, dataset: RemoteDataset) -> Path | None:
    """The complete copy of ``dataset`` that a download at ``path`` holds, if any."""
    for candidate in (path / dataset.folder, path.parent / dataset.folder, path):
        if _complete(candidate, dataset):
            return candidate
    return None


def _complete(folder: Path, dataset: RemoteDataset) -> bool:
    if not folder.is_dir():
        return False
    return all(sum(1 for _ in _image_files(folder / split)) == count
               for split, count in dataset.counts.items())


def _extract(archive: Path, dataset: RemoteDataset) -> Path:
    """Unpack a local archive into the Keras cache (where get_file would have put it)."""
    target_parent = keras_cache_dir() / f"{Path(dataset.cache_name).stem}_extracted"
    target = target_parent / dataset.folder
    if _complete(target, dataset):
        return target
    target_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target_parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / dataset.folder, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


Downloader = Callable[[RemoteDataset], Path]  # returns the downloaded copy's folder, raises with the reason


def fetch_remote(dataset: RemoteDataset, dirs: Sequence[Path], download: Downloader | None = None) -> Path:
    """A local copy of ``dataset``, or one ``download`` fetches when none exists.

    The downloader is the worker's (:func:`litblog.download.keras_download`, which imports
    Keras): this module stays importable where TensorFlow is not.
    """
    found = find_local_copy(dataset, dirs)
    if found is not None:
        return found
    failures = []
    if download is None:
        failures.append("no downloader here")
    else:
        try:
            return download(dataset)
        except Exception as exc:  # network errors come in many types
            failures.append(str(exc))
    looked = ", ".join(_display(d) for d in dirs)
    raise DatasetUnavailable(
        f"dataset '{dataset.name}' is not available: no local copy of {dataset.archive} in {looked}, "
        f"and the download failed ({'; '.join(failures)}). Put {dataset.archive} (or its extracted "
        f"'{dataset.folder}' folder) into a folder and set LITBLOG_DATA_DIR to it, or set "
        f"litblog.data_dir in _config.yml.")


def _display(path: Path) -> str:
    """A path for messages that leaves out the user's home folder."""
    home = os.path.expanduser("~")
    text = str(path)
    return "~" + text[len(home):] if home and text.startswith(home + os.sep) else text


# ---------------------------------------------------------------------------------------------
# Files and the split (no TensorFlow)


def _image_files(folder: Path) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return (p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _class_files(folder: Path) -> dict[str, list[Path]]:
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    return {name: sorted(_image_files(folder / name), key=_natural_key) for name in classes}


def split_files(folder: Path, per_class: int | None = None, test_every: int = 5) -> ImageFiles:
    """Split a dataset folder into train/validation/test, by file and deterministically.

    With ``train/`` and ``validation/`` subfolders, every ``test_every``-th validation file of
    each class (in natural order) becomes a test file: validation:test = 4:1 by default. A
    plain folder of class subfolders is split 3:1:1. ``per_class`` keeps the first N training
    files of each class (and proportionally fewer validation and test files).
    """
    if (folder / "train").is_dir() and (folder / "validation").is_dir():
        train_sets = _class_files(folder / "train")
        held_out = _class_files(folder / "validation")
        validation_sets = {c: [f for i, f in enumerate(files) if i % test_every != test_every - 1]
                           for c, files in held_out.items()}
        test_sets = {c: [f for i, f in enumerate(files) if i % test_every == test_every - 1]
                     for c, files in held_out.items()}
    else:
        everything = _class_files(folder)
        train_sets = {c: [f for i, f in enumerate(fs) if i % 5 < 3] for c, fs in everything.items()}
        validation_sets = {c: [f for i, f in enumerate(fs) if i % 5 == 3] for c, fs in everything.items()}
        test_sets = {c: [f for i, f in enumerate(fs) if i % 5 == 4] for c, fs in everything.items()}
    class_names = tuple(sorted(train_sets))
    if len(class_names) < 2:
        raise DatasetUnavailable(f"dataset folder '{folder.name}' needs at least two class subfolders")
    if per_class is not None:
        ratio = per_class / max(1, max(len(v) for v in train_sets.values()))
        train_sets = {c: v[:per_class] for c, v in train_sets.items()}
        validation_sets = {c: v[:max(1, round(len(v) * ratio))] for c, v in validation_sets.items()}
        test_sets = {c: v[:max(1, round(len(v) * ratio))] for c, v in test_sets.items()}

    def pairs(sets: dict[str, list[Path]]) -> tuple[tuple[Path, int], ...]:
        return tuple((f, class_names.index(c)) for c in class_names for f in sets.get(c, []))

    return ImageFiles(class_names, pairs(train_sets), pairs(validation_sets), pairs(test_sets))


def synthetic_folder(cache_dir: Path, image_size: int = 32, per_class: int = 40, seed: int = 0) -> Path:
    """Write (once) and return a folder of two generated classes, 'horizontal' and 'vertical' stripes.

    Stripe orientation is the signal; colour, phase and noise vary, so a small CNN can learn
    it in an epoch or two but not trivially.
    """
    import numpy as np
    from PIL import Image

    name = f"synthetic-v{SYNTHETIC_VERSION}-{image_size}px-{per_class}-{seed}"
    target = cache_dir / name
    if (target / ".complete").is_file():
        return target
    rng = np.random.default_rng(seed)
    staging = Path(tempfile.mkdtemp(prefix=".synthetic-", dir=_ensure(cache_dir)))
    # The same proportions as cats_and_dogs: a train split and a validation split half its size.
    for split, count in (("train", per_class), ("validation", max(5, per_class // 2))):
        for label, cls in enumerate(("horizontal", "vertical")):
            out = staging / split / cls
            out.mkdir(parents=True)
            for index in range(count):
                period = rng.uniform(4, 9)
                phase = rng.uniform(0, 2 * np.pi)
                axis = np.arange(image_size)
                wave = 0.5 + 0.5 * np.sin(2 * np.pi * axis / period + phase)
                pattern = np.tile(wave[:, None] if label == 0 else wave[None, :], (1, 1))
                pattern = np.broadcast_to(pattern, (image_size, image_size))
                colour = rng.uniform(0.3, 1.0, size=3)
                image = pattern[..., None] * colour + rng.normal(0, 0.15, (image_size, image_size, 3))
                pixels = (np.clip(image, 0, 1) * 255).astype("uint8")
                Image.fromarray(pixels).save(out / f"{cls}.{index}.png")
    (staging / ".complete").write_text("")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resolve_folder(spec: str, project_root: Path, data_dir: str | None, cache_dir: Path,
                   synthetic_options: dict[str, int] | None = None, download: Downloader | None = None) -> Path:
    """The folder holding the data ``spec`` names, fetching (with ``download``) or generating it if need be."""
    if spec in REMOTE_DATASETS:
        return fetch_remote(REMOTE_DATASETS[spec], search_dirs(data_dir, project_root), download)
    if spec == "synthetic":
        return synthetic_folder(cache_dir / "datasets", **(synthetic_options or {}))
    return local_folder(spec, project_root, data_dir)
