"""Datasets: local copies found before any download, a deterministic split by file, fingerprints."""

import os
import zipfile
from pathlib import Path

import pytest

from litblog import datasets
from litblog.datasets import CATS_AND_DOGS, RemoteDataset, find_local_copy, fingerprint, split_files

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


def tiny_remote(tmp_path: Path) -> tuple[RemoteDataset, Path]:
    source = make_images(tmp_path / "src" / "tiny_filtered", {"train/a": 2, "train/b": 2,
                                                             "validation/a": 1, "validation/b": 1})
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
