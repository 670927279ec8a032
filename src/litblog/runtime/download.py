"""Downloading a published dataset with Keras, inside a worker (it imports TensorFlow).

Locating local copies, fingerprints and the split are :mod:`litblog.common.datasets`, which the
build uses too; only the download itself needs Keras.
"""

from __future__ import annotations

from pathlib import Path

from ..common.datasets import RemoteDataset, dataset_folder_in


def keras_download(dataset: RemoteDataset) -> Path:
    """Download ``dataset`` into Keras' cache with ``keras.utils.get_file`` (checking its SHA-256)
    and return its folder; raises with every URL's failure."""
    from keras.utils import get_file

    failures = []
    for url in dataset.urls:
        try:
            path = Path(get_file(dataset.cache_name, origin=url, extract=True, file_hash=dataset.sha256))
        except Exception as exc:  # network errors come in many types
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        found = dataset_folder_in(path, dataset)
        if found is not None:
            return found
        failures.append(f"{url}: the archive does not hold '{dataset.folder}'")
    raise OSError("; ".join(failures))
