"""Datasets: local copies found before any download, a deterministic split by file, fingerprints."""

import os
import zipfile
from pathlib import Path

import pytest

from litblog.common import datasets
from litblog.common.datasets import CATS_AND_DOGS, RemoteDataset, find_local_copy, fingerprint, split_files

SHARED_ZIP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / CATS_AND_DOGS.archive


def make_images(folder: Path, layout: dict[str, int]) -> Path:
    for subfolder, count in layout.items():
        (folder / subfolder).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            (folder / subfolder / f"img.{index}.jpg").write_bytes(b"jpeg" + bytes([index % 256]))
    return folder


def test_validation_files_split_four_to_one_by_file(tmp_path):
    root = make_images(tmp_path / "d", {"train/cats": 10, "train/dogs": 10,
                                        "validation/cats": 10, "validation/dogs": 10})
    files = split_files(root)
    assert files.class_names == ("cats", "dogs")
    assert files.counts("train") == {"cats": 10, "dogs": 10}
    assert files.counts("validation") == {"cats": 8, "dogs": 8}
    assert files.counts("test") == {"cats": 2, "dogs": 2}
    validation = {p for p, _ in files.validation}
    test = {p for p, _ in files.test}
    assert not validation & test
    # natural order: img.4 and img.9 are each class's 5th and 10th file
    assert sorted(p.name for p, label in files.test if label == 0) == ["img.4.jpg", "img.9.jpg"]
    assert split_files(root) == files  # the same every time


def test_per_class_keeps_the_first_files_and_a_proportional_held_out_set(tmp_path):
    root = make_images(tmp_path / "d", {"train/a": 20, "train/b": 20, "validation/a": 10, "validation/b": 10})
    files = split_files(root, per_class=5)
    assert files.counts("train") == {"a": 5, "b": 5}
    assert [p.name for p, label in files.train if label == 0] == [f"img.{i}.jpg" for i in range(5)]
    assert files.counts("validation") == {"a": 2, "b": 2} and files.counts("test") == {"a": 1, "b": 1}


def test_a_plain_class_folder_is_split_three_one_one(tmp_path):
    files = split_files(make_images(tmp_path / "d", {"roses": 10, "tulips": 10}))
    assert files.counts("train") == {"roses": 6, "tulips": 6}
    assert files.counts("validation") == {"roses": 2, "tulips": 2}
    assert files.counts("test") == {"roses": 2, "tulips": 2}


def tiny_remote(tmp_path: Path, real: bool = False) -> tuple[RemoteDataset, Path]:
    """A published dataset of 6 images (``.jpg`` stand-ins, or ``real`` PNGs) as a zip in ``store/``."""
    source = (make_pngs if real else make_images)(tmp_path / "src" / "tiny_filtered", {
        "train/a": 2, "train/b": 2, "validation/a": 1, "validation/b": 1})
    archive = tmp_path / "store" / "tiny_filtered.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in source.rglob("*"):
            zf.write(path, path.relative_to(source.parent))
    dataset = RemoteDataset("tiny", "tiny_filtered.zip", "tiny.zip", "tiny_filtered", ("https://invalid/",),
                            "0" * 64, {"train": 4, "validation": 2})
    return dataset, archive.parent


def test_a_local_archive_is_extracted_into_the_keras_cache(tmp_path, monkeypatch):
    dataset, store = tiny_remote(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    found = find_local_copy(dataset, [tmp_path / "nowhere", store])
    assert found == tmp_path / "keras" / "datasets" / "tiny_extracted" / "tiny_filtered"
    assert len(list(found.rglob("*.jpg"))) == 6
    # Next time the extracted copy in the cache is found directly, without the archive.
    (store / "tiny_filtered.zip").unlink()
    assert find_local_copy(dataset, datasets.search_dirs(None, tmp_path)) == found


def test_search_order_is_env_then_config_then_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LITBLOG_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert datasets.search_dirs("data", tmp_path) == [tmp_path / "env", tmp_path / "data",
                                                     tmp_path / "keras" / "datasets"]


@pytest.mark.skipif(not SHARED_ZIP.is_file(), reason="the shared cats_and_dogs zip is not beside the checkout")
def test_the_real_cats_and_dogs_zip_is_found_and_split(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    folder = find_local_copy(CATS_AND_DOGS, [SHARED_ZIP.parent])
    files = split_files(folder)
    assert files.class_names == ("cats", "dogs")
    assert sum(files.counts("train").values()) == 2000
    assert sum(files.counts("validation").values()) == 800
    assert sum(files.counts("test").values()) == 200


def test_fingerprints(tmp_path):
    assert fingerprint("cats_and_dogs", tmp_path) == "sha256:" + CATS_AND_DOGS.sha256
    assert fingerprint("synthetic", tmp_path).startswith("synthetic:v")
    make_images(tmp_path / "data" / "flowers", {"a": 2, "b": 2})
    first = fingerprint("data/flowers", tmp_path, tmp_path / "cache")
    assert fingerprint("data/flowers", tmp_path, tmp_path / "cache") == first
    (tmp_path / "data" / "flowers" / "a" / "img.0.jpg").write_bytes(b"changed")
    assert fingerprint("data/flowers", tmp_path, tmp_path / "cache") != first
    with pytest.raises(datasets.DatasetUnavailable):
        fingerprint("data/none", tmp_path)


def test_synthetic_images_are_generated_once(tmp_path):
    folder = datasets.synthetic_folder(tmp_path, image_size=12, per_class=6, seed=3)
    files = split_files(folder)
    assert files.class_names == ("horizontal", "vertical")
    assert files.counts("train") == {"horizontal": 6, "vertical": 6}
    stamp = os.stat(folder / "train" / "horizontal" / "horizontal.0.png").st_mtime_ns
    assert datasets.synthetic_folder(tmp_path, image_size=12, per_class=6, seed=3) == folder
    assert os.stat(folder / "train" / "horizontal" / "horizontal.0.png").st_mtime_ns == stamp


# -- the split options ---------------------------------------------------------------------------


def make_pngs(folder: Path, layout: dict[str, int], size: int = 4, order: list[int] | None = None) -> Path:
    """Real PNG files, ``img.<i>.png``, each class's pixels a shade of its own (written in ``order``)."""
    from PIL import Image

    for subfolder, count in layout.items():
        (folder / subfolder).mkdir(parents=True, exist_ok=True)
        shade = 40 + 60 * (sorted({s.split("/")[-1] for s in layout}).index(subfolder.split("/")[-1]) % 4)
        for index in (order if order is not None else range(count)):
            Image.new("RGB", (size, size), (shade, index % 256, 0)).save(folder / subfolder / f"img.{index}.png")
    return folder


def names(pairs, label: int) -> list[str]:
    return [path.name for path, index in pairs if index == label]


def legacy_split(folder: Path, per_class: int | None = None, test_every: int = 5):
    """The split as the committed results were computed (before the dataset options): split_files
    with ``per_class`` alone must stay exactly this, or committed results would change."""
    classes = lambda f: {d.name: sorted(datasets._image_files(f / d.name), key=datasets._natural_key)  # noqa: E731
                         for d in sorted(f.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    if (folder / "train").is_dir() and (folder / "validation").is_dir():
        train, held = classes(folder / "train"), classes(folder / "validation")
        val = {c: [f for i, f in enumerate(v) if i % test_every != test_every - 1] for c, v in held.items()}
        test = {c: [f for i, f in enumerate(v) if i % test_every == test_every - 1] for c, v in held.items()}
    else:
        every = classes(folder)
        train = {c: [f for i, f in enumerate(v) if i % 5 < 3] for c, v in every.items()}
        val = {c: [f for i, f in enumerate(v) if i % 5 == 3] for c, v in every.items()}
        test = {c: [f for i, f in enumerate(v) if i % 5 == 4] for c, v in every.items()}
    names_ = tuple(sorted(train))
    if per_class is not None:
        ratio = per_class / max(1, max(len(v) for v in train.values()))
        train = {c: v[:per_class] for c, v in train.items()}
        val = {c: v[:max(1, round(len(v) * ratio))] for c, v in val.items()}
        test = {c: v[:max(1, round(len(v) * ratio))] for c, v in test.items()}
    return tuple(tuple((f, names_.index(c)) for c in names_ for f in s.get(c, [])) for s in (train, val, test))


def test_per_class_alone_splits_exactly_as_the_committed_results_were_split(tmp_path):
    import random

    rng = random.Random(7)
    for case in range(40):
        held_out = case % 2 == 0
        layout = {}
        for c in range(rng.randint(2, 3)):
            if held_out:
                layout |= {f"train/c{c}": rng.randint(1, 30), f"validation/c{c}": rng.randint(1, 15)}
            else:
                layout[f"c{c}"] = rng.randint(1, 40)
        root = make_images(tmp_path / f"case{case}", layout)
        for per_class in (None, 1, 2, 3, 7, 20, 100):
            files = split_files(root, per_class=per_class)
            assert (files.train, files.validation, files.test) == legacy_split(root, per_class), (layout, per_class)


def test_per_class_shrinks_every_split_in_proportion(tmp_path):
    # The documented example, scaled: 1,000/400/100 per class with per_class=20 is 20/8/2.
    root = make_images(tmp_path / "d", {"train/a": 100, "train/b": 100, "validation/a": 50, "validation/b": 50})
    files = split_files(root, per_class=2)
    assert files.counts("train") == {"a": 2, "b": 2}
    assert files.counts("validation") == {"a": 1, "b": 1} and files.counts("test") == {"a": 1, "b": 1}
    assert split_files(root, per_class=1000) == split_files(root)  # larger than the classes: everything


def test_train_per_class_shrinks_training_only(tmp_path):
    root = make_pngs(tmp_path / "d", {"train/cats": 20, "train/dogs": 20,
                                      "validation/cats": 10, "validation/dogs": 10})
    everything = split_files(root)
    files = split_files(root, train_per_class=3)
    assert files.counts("train") == {"cats": 3, "dogs": 3}
    assert names(files.train, 0) == ["img.0.png", "img.1.png", "img.2.png"]  # the first, in natural order
    assert files.validation == everything.validation and files.test == everything.test
    assert files.counts("validation") == {"cats": 8, "dogs": 8} and files.counts("test") == {"cats": 2, "dogs": 2}


def test_each_split_gets_its_own_size(tmp_path):
    root = make_pngs(tmp_path / "d", {"train/cats": 20, "train/dogs": 20,
                                      "validation/cats": 10, "validation/dogs": 10})
    everything = split_files(root)
    files = split_files(root, train_per_class=5, validation_per_class=6, test_per_class=1)
    assert {s: files.counts(s) for s in datasets.SPLITS} == {
        "train": {"cats": 5, "dogs": 5}, "validation": {"cats": 6, "dogs": 6}, "test": {"cats": 1, "dogs": 1}}
    # Each is the first files of that split: a prefix of the full split, class by class.
    for split in datasets.SPLITS:
        for label in (0, 1):
            kept = names(getattr(files, split), label)
            assert kept == names(getattr(everything, split), label)[:len(kept)]
    import numpy as np  # values a recipe computed are numpy numbers as often as not

    assert split_files(root, train_per_class=np.int64(5), validation_split=np.float64(0.2)) == \
        split_files(root, train_per_class=5, validation_split=0.2)
    only_test = split_files(root, test_per_class=2)
    assert only_test.train == everything.train and only_test.validation == everything.validation
    assert only_test.test == everything.test  # 2 per class is all the test files there are


def test_validation_split_takes_validation_from_the_training_folder_and_tests_on_the_held_out_folder(tmp_path):
    root = make_pngs(tmp_path / "d", {"train/cats": 20, "train/dogs": 20,
                                      "validation/cats": 10, "validation/dogs": 10})
    files = split_files(root, validation_split=0.2)
    assert files.counts("train") == {"cats": 16, "dogs": 16}
    assert files.counts("validation") == {"cats": 4, "dogs": 4}
    assert files.counts("test") == {"cats": 10, "dogs": 10}  # the whole validation/ folder
    # 0.2: every fifth training file, spread over the class rather than its last block.
    assert names(files.validation, 0) == ["img.4.png", "img.9.png", "img.14.png", "img.19.png"]
    assert all(path.parent.parent.name == "train" for path, _ in files.train + files.validation)
    assert all(path.parent.parent.name == "validation" for path, _ in files.test)
    splits = [set(files.train), set(files.validation), set(files.test)]
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])
    assert len(set.union(*splits)) == 60  # every file is used, once
    assert files.origins == {"train": "the train/ folder after validation_split=0.2",
                             "validation": "validation_split=0.2 of the train/ folder",
                             "test": "the validation/ folder"}


def test_a_plain_class_folder_with_validation_split_has_no_test_set_unless_test_split_is_given(tmp_path):
    root = make_pngs(tmp_path / "flowers", {"roses": 10, "tulips": 10})
    files = split_files(root, validation_split=0.2)
    assert files.counts("train") == {"roses": 8, "tulips": 8}
    assert files.counts("validation") == {"roses": 2, "tulips": 2}
    assert files.test == () and files.origins["test"] == "none: no test_split was given"
    held = split_files(root, validation_split=0.2, test_split=0.2)
    assert held.counts("train") == {"roses": 6, "tulips": 6}
    assert held.counts("validation") == {"roses": 2, "tulips": 2} and held.counts("test") == {"roses": 2, "tulips": 2}
    assert names(held.test, 0) == ["img.4.png", "img.9.png"] and names(held.validation, 0) == ["img.2.png", "img.7.png"]
    assert len(set(held.train) | set(held.validation) | set(held.test)) == 20
    assert not set(held.train) & (set(held.validation) | set(held.test)) and not set(held.validation) & set(held.test)


def test_fractions_count_as_written_and_spread_over_the_class(tmp_path):
    root = make_pngs(tmp_path / "d", {"a": 10, "b": 12})
    files = split_files(root, validation_split=0.3)  # 0.3 is 3/10, not the float just below it
    assert files.counts("validation") == {"a": 3, "b": 3} and files.counts("train") == {"a": 7, "b": 9}
    assert names(files.validation, 1) == ["img.3.png", "img.7.png", "img.11.png"]
    odd = split_files(root, validation_split=0.2)
    assert names(odd.validation, 1) == ["img.5.png", "img.11.png"]  # ⌊12 · 0.2⌋ = 2, evenly apart


def test_options_combine_fraction_first_then_size(tmp_path):
    root = make_pngs(tmp_path / "d", {"train/a": 20, "train/b": 20, "validation/a": 10, "validation/b": 10})
    whole = split_files(root, validation_split=0.25)
    files = split_files(root, validation_split=0.25, train_per_class=4, validation_per_class=2, test_per_class=3)
    assert {s: files.counts(s) for s in datasets.SPLITS} == {
        "train": {"a": 4, "b": 4}, "validation": {"a": 2, "b": 2}, "test": {"a": 3, "b": 3}}
    assert names(files.train, 0) == names(whole.train, 0)[:4]
    assert names(files.validation, 0) == names(whole.validation, 0)[:2] == ["img.3.png", "img.7.png"]


def test_the_split_is_deterministic_whatever_order_the_files_were_written_in(tmp_path):
    import random

    order = list(range(30))
    random.Random(3).shuffle(order)
    first = make_pngs(tmp_path / "one", {"a": 30, "b": 30})
    second = make_pngs(tmp_path / "two", {"a": 30, "b": 30}, order=order)
    options = {"validation_split": 0.2, "test_split": 0.1, "train_per_class": 10}
    a, b = split_files(first, **options), split_files(second, **options)
    assert a == split_files(first, **options)
    for split in datasets.SPLITS:
        assert [(p.name, label) for p, label in getattr(a, split)] == [(p.name, label) for p, label in getattr(b, split)]


def test_on_the_synthetic_dataset(tmp_path):
    folder = datasets.synthetic_folder(tmp_path, image_size=8, per_class=10, seed=0)  # 10 train, 5 validation
    files = split_files(folder, validation_split=0.2, test_per_class=3)
    assert {s: files.counts(s) for s in datasets.SPLITS} == {
        "train": {"horizontal": 8, "vertical": 8}, "validation": {"horizontal": 2, "vertical": 2},
        "test": {"horizontal": 3, "vertical": 3}}


HELD_OUT = {"train/cats": 10, "train/dogs": 8, "validation/cats": 5, "validation/dogs": 5}
PLAIN = {"roses": 10, "tulips": 4}


@pytest.mark.parametrize("layout, options, message", [
    (HELD_OUT, {"train_per_class": 9},
     "train_per_class=9: class 'dogs' has only 8 training images (the train/ folder); give at most 8"),
    (HELD_OUT, {"validation_per_class": 5},
     "validation_per_class=5: class 'cats' has only 4 validation images (4 of every 5 files of the validation/ "
     "folder); give at most 4"),
    (HELD_OUT, {"test_per_class": 2},
     "test_per_class=2: class 'cats' has only 1 test image (1 of every 5 files of the validation/ folder)"),
    (HELD_OUT, {"validation_split": 0.5, "train_per_class": 5},
     "train_per_class=5: class 'dogs' has only 4 training images (the train/ folder after validation_split=0.5)"),
    (PLAIN, {"validation_split": 0.25, "test_per_class": 1},
     "test_per_class=1: class 'roses' has only 0 test images (none: no test_split was given)"),
    (HELD_OUT, {"validation_split": 0}, "validation_split is the fraction of each class's files it takes, a number "
                                        "between 0 and 1 (not either), like 0.2; got 0"),
    (HELD_OUT, {"validation_split": 1}, "validation_split is the fraction"),
    (HELD_OUT, {"validation_split": 1.5}, "got 1.5"),
    (HELD_OUT, {"validation_split": "0.2"}, "got '0.2'"),
    (HELD_OUT, {"validation_split": True}, "got True"),
    (PLAIN, {"validation_split": 0.2, "test_split": 0.0}, "test_split is the fraction"),
    (HELD_OUT, {"train_per_class": 0}, "train_per_class is a number of images per class, a whole number of at "
                                       "least 1; got 0"),
    (HELD_OUT, {"test_per_class": 2.5}, "test_per_class is a number of images per class"),
    (HELD_OUT, {"per_class": 0}, "per_class is a number of images per class"),
    (HELD_OUT, {"per_class": 5, "train_per_class": 5},
     "per_class cannot be combined with train_per_class: per_class shrinks every split in proportion"),
    (HELD_OUT, {"per_class": 5, "validation_split": 0.2}, "per_class cannot be combined with validation_split"),
    (PLAIN, {"test_split": 0.2}, "test_split needs validation_split"),
    (HELD_OUT, {"validation_split": 0.2, "test_split": 0.2},
     "test_split: dataset folder 'd' has a validation/ folder, and with validation_split that whole folder is the "
     "test set; leave test_split out"),
    (PLAIN, {"validation_split": 0.5, "test_split": 0.5}, "leave nothing to train on: together they must be below 1"),
    (PLAIN, {"validation_split": 0.2}, "validation_split=0.2 takes no file of class 'tulips', which has 4 images"),
    (PLAIN, {"validation_split": 0.5, "test_split": 0.2},
     "test_split=0.2 takes no file of class 'tulips', which has 4 images"),
])
def test_bad_options_are_errors_that_name_the_option(tmp_path, layout, options, message):
    root = make_pngs(tmp_path / "d", layout)
    with pytest.raises(datasets.DatasetOptionError) as caught:
        split_files(root, **options)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


# -- saying what is written into Keras' cache ------------------------------------------------------


def test_extracting_into_the_keras_cache_is_said_once_with_the_folder_as_set_and_its_size(tmp_path, monkeypatch):
    dataset, store = tiny_remote(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    said: list[str] = []
    found = find_local_copy(dataset, [store], announce=said.append)
    size = sum(p.stat().st_size for p in found.rglob("*") if p.is_file())
    assert said == [f"extracted tiny_filtered.zip into $KERAS_HOME/datasets/tiny_extracted/tiny_filtered "
                    f"(6 images, {size} bytes); later runs use this copy"]
    assert str(tmp_path) not in said[0]
    assert find_local_copy(dataset, [store], announce=said.append) == found
    assert len(said) == 1  # found, not extracted again: nothing to say


def test_without_keras_home_the_notice_names_the_default_folder(tmp_path, monkeypatch):
    dataset, store = tiny_remote(tmp_path)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    said: list[str] = []
    found = find_local_copy(dataset, [store], announce=said.append)
    assert found == tmp_path / "home" / ".keras" / "datasets" / "tiny_extracted" / "tiny_filtered"
    assert said[0].startswith("extracted tiny_filtered.zip into ~/.keras/datasets/tiny_extracted/tiny_filtered (6 images")


def test_a_download_into_the_keras_cache_is_said_with_its_size(tmp_path, monkeypatch):
    dataset, store = tiny_remote(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    cache = tmp_path / "keras" / "datasets"

    def download(wanted: RemoteDataset) -> Path:  # what keras_download leaves: the zip and its extraction
        cache.mkdir(parents=True)
        (cache / wanted.cache_name).write_bytes((store / wanted.archive).read_bytes())
        with zipfile.ZipFile(cache / wanted.cache_name) as zf:
            zf.extractall(cache / "tiny_extracted")
        return cache / "tiny_extracted" / wanted.folder

    said: list[str] = []
    folder = datasets.fetch_remote(dataset, [tmp_path / "nowhere"], download, announce=said.append)
    zipped = (cache / "tiny.zip").stat().st_size
    assert folder == cache / "tiny_extracted" / "tiny_filtered"
    assert said == [f"downloaded tiny.zip ({zipped / 1e3:.1f} kB) and extracted it into "
                    f"$KERAS_HOME/datasets/tiny_extracted/tiny_filtered (6 images, "
                    f"{sum(p.stat().st_size for p in folder.rglob('*') if p.is_file())} bytes); "
                    f"later runs use this copy"]


def test_sizes_are_written_for_people():
    assert [datasets._size_text(n) for n in (1, 999, 1_000, 123_456, 68_600_000, 1_234_000_000)] == [
        "1 byte", "999 bytes", "1.0 kB", "123.5 kB", "68.6 MB", "1,234.0 MB"]


# -- through ctx.image_data, with real Keras --------------------------------------------------------


def make_context(root: Path, tmp_path: Path, seed: int = 0, events=None):
    from litblog.runtime.context import RecipeContext

    return RecipeContext(params={}, seed=seed, output_dir=tmp_path / f"out-{seed}", project_root=root,
                         cache_dir=tmp_path / "cache", events=events)


def batches(pipeline) -> tuple[int, list[int]]:
    """Images and labels of a pipeline, in order."""
    seen, labels = 0, []
    for images, batch_labels in pipeline:
        seen += int(images.shape[0])
        labels += [int(label) for label in batch_labels]
    return seen, labels


def test_image_data_options_give_real_pipelines_of_those_files(tmp_path):
    import keras

    root = tmp_path / "project"
    make_pngs(root / "data" / "flowers", {"roses": 10, "tulips": 10}, size=8)
    ctx = make_context(root, tmp_path)
    with ctx.capturing():
        data = ctx.image_data("data/flowers", image_size=(8, 6), batch_size=4, train_per_class=6,
                              validation_split=0.2, shuffle=False)
        model = keras.Sequential([keras.Input((8, 6, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                                  keras.layers.Dense(2)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        ctx.fit(model, data.train, validation_data=data.validation, epochs=1)
        ctx.evaluate(model, data.validation, name="held")
        with pytest.raises(ValueError, match=r"ctx.evaluate: the test split of dataset 'data/flowers' has no images "
                                             r"\(none: no test_split was given\); give ctx.image_data a test_split"):
            ctx.evaluate(model, data.test)
        with pytest.raises(ValueError, match="ctx.predict: the test split of dataset 'data/flowers' has no images"):
            ctx.predict(model, data)
        ctx.predict(model, data, split="validation")
    # shuffle=False: the training pipeline is the files in order, class by class.
    assert batches(data.train) == (12, [0] * 6 + [1] * 6)
    assert batches(data.validation) == (4, [0, 0, 1, 1])
    assert batches(data.test) == (0, [])
    assert data.test.element_spec == data.validation.element_spec
    assert [p.name for p, _ in data.files.validation] == ["img.4.png", "img.9.png"] * 2
    log = ctx.log_text.splitlines()
    assert log[:3] == [
        "Found 12 files belonging to 2 classes (train: the class folders after validation_split=0.2).",
        "Found 4 files belonging to 2 classes (validation: validation_split=0.2 of the class folders).",
        "Found 0 files belonging to 2 classes (test: none: no test_split was given).",
    ]
    assert "Evaluate on validation (name 'held'):" in log
    # Every seed trains and validates on the same files.
    with make_context(root, tmp_path, seed=1).capturing():
        again = make_context(root, tmp_path, seed=1).image_data(
            "data/flowers", image_size=8, batch_size=4, train_per_class=6, validation_split=0.2)
    assert again.files == data.files


def test_image_data_without_the_new_options_logs_as_before(tmp_path):
    root = tmp_path / "project"
    make_pngs(root / "data" / "pets", {"train/cats": 6, "train/dogs": 6, "validation/cats": 5, "validation/dogs": 5})
    ctx = make_context(root, tmp_path)
    with ctx.capturing():
        data = ctx.image_data("data/pets", image_size=4, batch_size=4, per_class=3)
    assert ctx.log_text.splitlines() == ["Found 6 files belonging to 2 classes (train).",
                                         "Found 4 files belonging to 2 classes (validation).",
                                         "Found 2 files belonging to 2 classes (test)."]
    assert data.files == split_files(root / "data" / "pets", per_class=3)


def test_a_bad_option_is_an_error_before_any_data_is_fetched(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LITBLOG_DATA_DIR", str(tmp_path / "nowhere"))
    ctx = make_context(tmp_path, tmp_path)
    with pytest.raises(datasets.DatasetOptionError, match=r"^ctx.image_data\('cats_and_dogs'\): per_class cannot be "
                                                          r"combined with test_per_class"):
        ctx.image_data("cats_and_dogs", per_class=10, test_per_class=5)
    assert not (tmp_path / "keras").exists()


def test_extracting_is_said_on_stderr_and_as_a_notice_event(tmp_path, monkeypatch, capsys):
    import json
    import os

    from litblog.runtime.capture import EventSink

    dataset, store = tiny_remote(tmp_path, real=True)
    monkeypatch.setitem(datasets.REMOTE_DATASETS, "tiny", dataset)
    monkeypatch.setenv("LITBLOG_DATA_DIR", str(store))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    read_end, write_end = os.pipe()
    sink = EventSink(write_end)
    ctx = make_context(tmp_path, tmp_path, events=sink)
    with ctx.capturing():
        data = ctx.image_data("tiny", image_size=4, batch_size=2)
        ctx.image_data("tiny", image_size=4, batch_size=2)  # found in the cache: nothing to say
    # The sink owns write_end (os.fdopen): closed through it, or its file would close that number
    # again when collected, in some later test, where another file has it by then.
    sink._stream.close()  # type: ignore[union-attr]
    with os.fdopen(read_end) as stream:
        events = [json.loads(line) for line in stream]
    notice = "extracted tiny_filtered.zip into $KERAS_HOME/datasets/tiny_extracted/tiny_filtered (6 images, "
    assert [e["event"] for e in events] == ["notice"] and events[0]["message"].startswith(notice)
    err = capsys.readouterr().err
    assert err.count("litblog: " + notice) == 1
    assert "extracted" not in ctx.log_text  # about this machine, not the run: not in the stored log
    assert data.counts("test") == {"a": 0, "b": 0}  # one validation file per class: none is a fifth


SHARED = SHARED_ZIP.parent
SPLITS_RECIPE = '''\
def sizes(ctx, dataset: str = "cats_and_dogs", train_per_class: int = 3, validation_split: float = 0.2,
          test_per_class: int = 2):
    data = ctx.image_data(dataset, image_size=8, batch_size=4, train_per_class=train_per_class,
                          validation_split=validation_split, test_per_class=test_per_class)
    for split in ("train", "validation", "test"):
        ctx.record(f"images.{split}", sum(data.counts(split).values()))
'''
SPLITS_POST = '''\
---
title: Split sizes
---

Trained on {result}`sizes.params.train_per_class` images per class, validated on
{result}`sizes.images.validation` images.

```{experiment} sizes
recipe: splits.sizes
params: {validation_split: 0.25}
show: [metrics]
```

```{table}
experiments: [sizes]
columns: [params.validation_split, params.test_per_class, images.train, images.validation, images.test]
```
'''


@pytest.mark.skipif(not SHARED_ZIP.is_file(), reason="the shared cats_and_dogs zip is not beside the checkout")
def test_a_build_says_once_that_it_extracted_the_dataset_and_pages_name_the_options(tmp_path):
    import re

    from conftest import REPO, run_cli_process

    project = tmp_path / "blog"
    (project / "posts").mkdir(parents=True)
    (project / "src" / "recipes").mkdir(parents=True)
    (project / "_config.yml").write_text("title: Splits\n")
    (project / "src" / "recipes" / "__init__.py").write_text("")
    (project / "src" / "recipes" / "splits.py").write_text(SPLITS_RECIPE)
    (project / "posts" / "2026-02-01-splits.md").write_text(SPLITS_POST)
    import shutil

    shutil.copytree(REPO / "templates", project / "templates")
    env = {"LITBLOG_DATA_DIR": str(SHARED), "KERAS_HOME": str(tmp_path / "keras")}
    first = run_cli_process(project, env=env)
    assert first.returncode == 0, first.stderr
    notice = ("[sizes] extracted cats_and_dogs_filtered.zip into "
              "$KERAS_HOME/datasets/cats_and_dogs_extracted/cats_and_dogs_filtered (3,000 images, ")
    assert first.stderr.count(notice) == 1, first.stderr
    assert re.search(re.escape(notice) + r"[\d.]+ MB\); later runs use this copy", first.stderr)
    assert str(tmp_path) not in first.stderr.split(notice)[1].splitlines()[0]
    (full_log,) = (project / ".litblog" / "logs").glob("sizes-*.log")
    assert "litblog: extracted cats_and_dogs_filtered.zip into $KERAS_HOME/datasets/" in full_log.read_text()
    (stored,) = (project / "results").glob("splits.sizes/*/log.txt")
    assert "extracted" not in stored.read_text()
    page = (project / "site" / "_posts" / "2026-02-01-splits.md").read_text()
    # params name the options; the counts follow them: 1,000 training cats, a quarter validates.
    assert "Trained on 3 images per class, validated on 500 images." in " ".join(page.split())
    assert "| `sizes` | 0.25 | 2 | 6 | 500 | 4 |" in page, page
    again = run_cli_process(project, "--force", env=env)
    assert again.returncode == 0, again.stderr
    assert "extracted" not in again.stderr
