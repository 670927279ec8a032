"""Datasets: where they are found, what identifies them, and how their files are split.

Locating, fingerprinting and splitting never import TensorFlow (planning needs them);
``ctx.image_data`` (:mod:`litblog.runtime.context`) builds the ``tf.data`` pipelines over the split.

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
import numbers
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Sequence

from .fsutil import atomic_write_text, remove_confined
from .paths import SCRATCH, keras_cache_dir, keras_home, shown_keras_home

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
    # split -> where its files came from, in words ("the train/ folder after validation_split=0.2")
    origins: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

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
        if folder == root or folder.relative_to(root).parts[0] in (".git", SCRATCH):
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


Announce = Callable[[str], None]  # told once, in words, when litblog writes into Keras' cache


def find_local_copy(dataset: RemoteDataset, dirs: Iterable[Path], announce: Announce | None = None) -> Path | None:
    """An extracted copy of ``dataset`` (its top folder), extracting a local archive if need be
    (and then telling ``announce`` where to and how much)."""
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
                return _extract(archive, dataset, announce)
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


def _extract(archive: Path, dataset: RemoteDataset, announce: Announce | None = None) -> Path:
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
        if target.exists() or target.is_symlink():
            remove_confined(target, target_parent)
        os.replace(staging / dataset.folder, target)
    finally:
        remove_confined(staging, target_parent, ignore_errors=True)
    if announce is not None:
        announce(f"extracted {archive.name} into {shown_cache_path(target)} ({_folder_size(target)}); "
                 f"later runs use this copy")
    return target


Downloader = Callable[[RemoteDataset], Path]  # returns the downloaded copy's folder, raises with the reason


def fetch_remote(dataset: RemoteDataset, dirs: Sequence[Path], download: Downloader | None = None,
                 announce: Announce | None = None) -> Path:
    """A local copy of ``dataset``, or one ``download`` fetches when none exists.

    The downloader is the worker's (:func:`litblog.runtime.download.keras_download`, which imports
    Keras): this module stays importable where TensorFlow is not. ``announce`` is told when
    a local archive is extracted into the Keras cache or a download lands there.
    """
    found = find_local_copy(dataset, dirs, announce)
    if found is not None:
        return found
    failures = []
    if download is None:
        failures.append("no downloader here")
    else:
        try:
            folder = download(dataset)
        except Exception as exc:  # network errors come in many types
            failures.append(str(exc))
        else:
            if announce is not None:
                archive = keras_cache_dir() / dataset.cache_name
                fetched = f"{archive.name} ({_size_text(archive.stat().st_size)})" if archive.is_file() else dataset.archive
                announce(f"downloaded {fetched} and extracted it into {shown_cache_path(folder)} "
                         f"({_folder_size(folder)}); later runs use this copy")
            return folder
    looked = ", ".join(_display(d) for d in dirs)
    raise DatasetUnavailable(
        f"dataset '{dataset.name}' is not available: no local copy of {dataset.archive} in {looked}, "
        f"and the download failed ({'; '.join(failures)}). Put {dataset.archive} (or its extracted "
        f"'{dataset.folder}' folder) into a folder and set LITBLOG_DATA_DIR to it, or set "
        f"litblog.data_dir in _config.yml.")


def shown_cache_path(path: Path) -> str:
    """``path`` named the way the user set the Keras home: ``$KERAS_HOME/datasets/…`` when
    ``KERAS_HOME`` is set, else ``~/.keras/datasets/…``, not this machine's absolute path. A
    path outside the Keras home (Keras' ``/tmp/.keras`` fallback for a home it cannot write)
    is shown where it is, with the user's home folder as ``~``."""
    home = keras_home()
    prefix = shown_keras_home()
    # As given first; resolved as well, for a Keras home reached through a symbolic link.
    for base, candidate in ((home, path), (Path(os.path.realpath(home)), Path(os.path.realpath(path)))):
        if candidate.is_relative_to(base):
            inside = candidate.relative_to(base).as_posix()
            return prefix if inside == "." else f"{prefix}/{inside}"
    return _display(path)


def _folder_size(folder: Path) -> str:
    """``3,000 images, 68.2 MB``: what a folder holds, for the notice."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    images = sum(1 for p in files if p.suffix.lower() in IMAGE_SUFFIXES)
    return f"{images:,} images, {_size_text(sum(p.stat().st_size for p in files))}"


def _size_text(size: int) -> str:
    """``68.6 MB``, ``12.3 kB``, ``512 bytes``."""
    if size >= 1_000_000:
        return f"{size / 1e6:,.1f} MB"
    return f"{size / 1e3:.1f} kB" if size >= 1_000 else f"{size} byte{'s' if size != 1 else ''}"


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


SPLITS = ("train", "validation", "test")
# The options of split_files (and ctx.image_data) that choose files.
SPLIT_OPTIONS = ("per_class", "train_per_class", "validation_per_class", "test_per_class",
                 "validation_split", "test_split")


class DatasetOptionError(ValueError):
    """An option of ``ctx.image_data`` that is malformed, conflicts with another or does not fit the
    dataset; the message names the option and what to give instead."""


def split_files(folder: Path, per_class: int | None = None, test_every: int = 5, *,
                train_per_class: int | None = None, validation_per_class: int | None = None,
                test_per_class: int | None = None, validation_split: float | None = None,
                test_split: float | None = None) -> ImageFiles:
    """Split a dataset folder into train/validation/test, by file and deterministically.

    Which files can go where (each class on its own, its files in natural order):

    - ``train/`` and ``validation/`` subfolders: ``train/`` is the training set; every
      ``test_every``-th file of ``validation/`` is a test file, the others validate (4:1).
    - one folder of class subfolders: of every five files, the first three train, the fourth
      validates, the fifth tests (3:1:1).
    - ``validation_split`` (a fraction, 0 < s < 1, as Keras' ``validation_split``): the
      validation files are taken from the training folder instead, ``⌊n·s⌋`` of a class's n
      files, spread evenly (0.2: every fifth file). The test set is then the whole
      ``validation/`` folder; a plain class folder has none unless ``test_split`` (0 < t,
      s + t < 1) holds ``⌊n·t⌋`` more files out the same way.

    How many of them are kept:

    - ``per_class`` (the older option) scales *every* split: the first ``per_class`` training
      files of each class, and of validation and test the first ``round(len · r)`` (at least
      one), r being ``per_class`` over the largest training class. A value at least as large
      as the classes keeps everything.
    - ``train_per_class``, ``validation_per_class``, ``test_per_class`` keep the first N files
      of each class in that split only; a class with fewer is an error.

    Raises :class:`DatasetOptionError` for a malformed, conflicting or oversized option.
    """
    check_split_options(per_class=per_class, train_per_class=train_per_class,
                        validation_per_class=validation_per_class, test_per_class=test_per_class,
                        validation_split=validation_split, test_split=test_split)
    held_out_folder = (folder / "train").is_dir() and (folder / "validation").is_dir()
    train_sets, validation_sets, test_sets = _candidate_files(folder, held_out_folder, test_every, validation_split,
                                                              test_split)
    class_names = tuple(sorted(train_sets))
    if len(class_names) < 2:
        raise DatasetUnavailable(f"dataset folder '{folder.name}' needs at least two class subfolders")
    if per_class is not None:
        ratio = per_class / max(1, max(len(v) for v in train_sets.values()))
        train_sets = {c: v[:per_class] for c, v in train_sets.items()}
        validation_sets = {c: v[:max(1, round(len(v) * ratio))] for c, v in validation_sets.items()}
        test_sets = {c: v[:max(1, round(len(v) * ratio))] for c, v in test_sets.items()}
    sets = {"train": train_sets, "validation": validation_sets, "test": test_sets}
    origins = {split: _whence(split, held_out_folder, validation_split, test_split) for split in SPLITS}
    sizes = {"train": train_per_class, "validation": validation_per_class, "test": test_per_class}
    sets = _keep_per_class(sets, sizes, class_names, origins)

    def pairs(split_sets: dict[str, list[Path]]) -> tuple[tuple[Path, int], ...]:
        return tuple((f, class_names.index(c)) for c in class_names for f in split_sets.get(c, []))

    return ImageFiles(class_names, pairs(sets["train"]), pairs(sets["validation"]), pairs(sets["test"]), origins)


_ClassFiles = dict[str, list[Path]]  # class name -> its files, in natural order


def _candidate_files(folder: Path, held_out_folder: bool, test_every: int, validation_split: float | None,
                     test_split: float | None) -> tuple[_ClassFiles, _ClassFiles, _ClassFiles]:
    """Which files can go where: train, validation and test files of each class (see :func:`split_files`)."""
    if test_split is not None and held_out_folder:
        raise DatasetOptionError(
            f"test_split: dataset folder '{folder.name}' has a validation/ folder, and with validation_split "
            f"that whole folder is the test set; leave test_split out")
    if held_out_folder:
        train_sets = _class_files(folder / "train")
        held_out = _class_files(folder / "validation")
        if validation_split is None:
            validation_sets = {c: [f for i, f in enumerate(files) if i % test_every != test_every - 1]
                               for c, files in held_out.items()}
            test_sets = {c: [f for i, f in enumerate(files) if i % test_every == test_every - 1]
                         for c, files in held_out.items()}
        else:
            train_sets, validation_sets, _ = _take_fractions(train_sets, validation_split, None)
            test_sets = held_out
    elif validation_split is None:
        everything = _class_files(folder)
        train_sets = {c: [f for i, f in enumerate(fs) if i % 5 < 3] for c, fs in everything.items()}
        validation_sets = {c: [f for i, f in enumerate(fs) if i % 5 == 3] for c, fs in everything.items()}
        test_sets = {c: [f for i, f in enumerate(fs) if i % 5 == 4] for c, fs in everything.items()}
    else:
        train_sets, validation_sets, test_sets = _take_fractions(_class_files(folder), validation_split, test_split)
    return train_sets, validation_sets, test_sets


def _keep_per_class(sets: dict[str, _ClassFiles], sizes: dict[str, int | None], class_names: tuple[str, ...],
                    origins: dict[str, str]) -> dict[str, _ClassFiles]:
    """The first ``sizes[split]`` files of each class in each split given a size (``<split>_per_class``);
    a class with fewer is a :class:`DatasetOptionError` saying where the split's files came from."""
    origin = {"train": "training", "validation": "validation", "test": "test"}
    for split, size in sizes.items():
        if size is None:
            continue
        for name in class_names:
            available = len(sets[split].get(name, []))
            if available < size:
                raise DatasetOptionError(
                    f"{split}_per_class={size}: class '{name}' has only {available:,} {origin[split]} "
                    f"image{'s' if available != 1 else ''} ({origins[split]}); give at most {available:,}")
        sets[split] = {c: v[:size] for c, v in sets[split].items()}
    return sets


def check_split_options(**options: Any) -> None:
    """Types, ranges and combinations of :func:`split_files`' options, before any file is looked at
    (``ctx.image_data`` calls it before it fetches the data). Raises :class:`DatasetOptionError`."""
    unknown = sorted(set(options) - set(SPLIT_OPTIONS))
    if unknown:
        raise TypeError(f"check_split_options: unknown option {unknown[0]!r}")
    options = {name: options.get(name) for name in SPLIT_OPTIONS}
    sizes = ("per_class", "train_per_class", "validation_per_class", "test_per_class")
    for name in sizes:
        value = options[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
            raise DatasetOptionError(f"{name} is a number of images per class, a whole number of at least 1; "
                                     f"got {value!r}")
    for name in ("validation_split", "test_split"):
        value = options[name]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise DatasetOptionError(f"{name} is the fraction of each class's files it takes, a number between 0 "
                                     f"and 1 (not either), like 0.2; got {value!r}")
    explicit = [name for name in sizes[1:] if options[name] is not None]
    if options["per_class"] is not None and (explicit or options["validation_split"] is not None):
        other = explicit[0] if explicit else "validation_split"
        raise DatasetOptionError(
            f"per_class cannot be combined with {other}: per_class shrinks every split in proportion to the "
            f"training set; give the size of each split with train_per_class, validation_per_class and "
            f"test_per_class instead")
    if options["test_split"] is not None:
        if options["validation_split"] is None:
            raise DatasetOptionError("test_split needs validation_split: without it the folder's own split "
                                     "decides the test set; give both, or neither")
        if _fraction(options["validation_split"]) + _fraction(options["test_split"]) >= 1:
            raise DatasetOptionError(
                f"validation_split={options['validation_split']!r} and test_split={options['test_split']!r} "
                f"leave nothing to train on: together they must be below 1")


def _fraction(value: float) -> Fraction:
    """``value`` as the decimal it was written as (0.3 is 3/10, not the float just below it)."""
    return Fraction(repr(float(value)))


def _spread(count: int, total: int) -> list[bool]:
    """Which of ``total`` positions to take so that ``count`` are taken, evenly spread: position i
    when ``⌊(i+1)·count/total⌋ > ⌊i·count/total⌋`` (for count = total/5, every fifth, the last of each five)."""
    return [(i + 1) * count // total > i * count // total for i in range(total)]


def _take_fractions(pools: dict[str, list[Path]], validation_split: float,
                    test_split: float | None) -> tuple[dict[str, list[Path]], ...]:
    """Each class's files into (train, validation, test) by ``validation_split`` (and ``test_split``).

    The files held out (``⌊n·s⌋ + ⌊n·t⌋`` of n) are spread evenly over the class; of those, the
    ``⌊n·t⌋`` test files are spread evenly too. The seed plays no part: every seed of an
    experiment trains and validates on the same files.
    """
    train: dict[str, list[Path]] = {}
    validation: dict[str, list[Path]] = {}
    test: dict[str, list[Path]] = {}
    for name, files in pools.items():
        total = len(files)
        for_validation = int(total * _fraction(validation_split))
        for_test = int(total * _fraction(test_split)) if test_split is not None else 0
        if for_validation == 0:
            raise DatasetOptionError(
                f"validation_split={validation_split!r} takes no file of class '{name}', which has {total} "
                f"image{'s' if total != 1 else ''}; give a larger fraction or add images")
        if test_split is not None and for_test == 0:
            raise DatasetOptionError(
                f"test_split={test_split!r} takes no file of class '{name}', which has {total} "
                f"image{'s' if total != 1 else ''}; give a larger fraction or add images")
        held = for_validation + for_test  # below total, since s + t < 1: training always keeps a file
        held_out = _spread(held, total)
        held_files = [f for f, taken in zip(files, held_out) if taken]
        is_test = _spread(for_test, held)
        train[name] = [f for f, taken in zip(files, held_out) if not taken]
        validation[name] = [f for f, testing in zip(held_files, is_test) if not testing]
        test[name] = [f for f, testing in zip(held_files, is_test) if testing]
    return train, validation, test


def _whence(split: str, held_out_folder: bool, validation_split: float | None, test_split: float | None) -> str:
    """Where a split's files came from, for messages."""
    if validation_split is None:
        if held_out_folder:
            return {"train": "the train/ folder", "validation": "4 of every 5 files of the validation/ folder",
                    "test": "1 of every 5 files of the validation/ folder"}[split]
        return {"train": "3 of every 5 files", "validation": "1 of every 5 files", "test": "1 of every 5 files"}[split]
    if split == "test":
        if held_out_folder:
            return "the validation/ folder"
        return f"test_split={test_split!r}" if test_split is not None else "none: no test_split was given"
    source = "the train/ folder" if held_out_folder else "the class folders"
    if split == "validation":
        return f"validation_split={validation_split!r} of {source}"
    return f"{source} after validation_split={validation_split!r}" + (
        f" and test_split={test_split!r}" if test_split is not None else "")


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
    if target.exists() or target.is_symlink():
        remove_confined(target, target.parent)
    os.replace(staging, target)
    return target


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resolve_folder(spec: str, project_root: Path, data_dir: str | None, cache_dir: Path,
                   synthetic_options: dict[str, int] | None = None, download: Downloader | None = None,
                   announce: Announce | None = None) -> Path:
    """The folder holding the data ``spec`` names, fetching (with ``download``) or generating it if need be.

    ``announce`` is told, once, when a published dataset is extracted or downloaded into the
    Keras cache (the worker shows it on the build's console and in the run's full log).
    """
    if spec in REMOTE_DATASETS:
        return fetch_remote(REMOTE_DATASETS[spec], search_dirs(data_dir, project_root), download, announce)
    if spec == "synthetic":
        return synthetic_folder(cache_dir / "datasets", **(synthetic_options or {}))
    return local_folder(spec, project_root, data_dir)
