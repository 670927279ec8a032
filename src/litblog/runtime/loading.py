"""``ctx.image_data``'s work: its options checked, the dataset located and split, a pipeline per split.

The rules of the split are :func:`litblog.common.datasets.split_files`'; the pipelines are
:mod:`.pipelines`'. :class:`ImageLoader` also remembers what it loaded, so ``ctx.evaluate``
can name the split of a pipeline it is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..common import datasets
from .download import keras_download
from .pipelines import ImageData, make_pipeline, no_images

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

SPLITS = ("train", "validation", "test")


class ImageLoader:
    """The image data one run loaded, in the order ``ctx.image_data`` returned it."""

    def __init__(self, *, seed: int, project_root: Path, data_dir: str | None, cache_dir: Path,
                 announce: Callable[[str], None], epoch: Callable[[], "tf.Variable"]) -> None:
        self._seed = seed
        self._project_root = project_root
        self._data_dir = data_dir
        self._cache_dir = cache_dir
        self._announce = announce
        self._epoch = epoch  # made on first use: the training pipeline reads it
        self.loaded: list[ImageData] = []

    def load(self, spec: str, *, image_size: int | tuple[int, int], batch_size: int, per_class: int | None,
             chosen: dict[str, Any], shuffle: bool) -> ImageData:
        """Load ``spec`` split by ``per_class`` and the other options ``chosen`` (those not None)."""
        try:
            datasets.check_split_options(per_class=per_class, **chosen)
        except datasets.DatasetOptionError as exc:
            raise datasets.DatasetOptionError(f"ctx.image_data({spec!r}): {exc}") from None
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        options = {"image_size": max(size), "seed": self._seed}
        if per_class:
            options["per_class"] = per_class
        folder = datasets.resolve_folder(spec, self._project_root, self._data_dir, self._cache_dir,
                                         synthetic_options=options, download=keras_download,
                                         announce=self._announce)
        try:
            files = datasets.split_files(folder, per_class=per_class, **chosen)
        except datasets.DatasetOptionError as exc:
            raise datasets.DatasetOptionError(f"ctx.image_data({spec!r}): {exc}") from None
        for split in SPLITS:
            counts = files.counts(split)
            # Where each split came from only when the options moved it: older logs stay as they were.
            where = f"{split}: {files.origins[split]}" if chosen else split
            print(f"Found {sum(counts.values())} files belonging to {len(counts)} classes ({where}).")
        def pipeline(pairs: Sequence[tuple[Path, int]], shuffled: bool, epoch: Any = None) -> "tf.data.Dataset":
            # A split can be empty: the test set of validation_split on a plain folder of classes.
            return (make_pipeline(pairs, size, batch_size, shuffled, self._seed, epoch, self._cache_dir) if pairs
                    else no_images(size))

        data = ImageData(
            name=spec, files=files, image_size=size, batch_size=batch_size,
            train=pipeline(files.train, shuffle, self._epoch()),
            validation=pipeline(files.validation, False),
            test=pipeline(files.test, False),
        )
        self.loaded.append(data)
        return data

    def split_of(self, pipeline: Any) -> tuple[ImageData, str] | None:
        """The loaded data and split whose pipeline ``pipeline`` is, if any."""
        return next(((loaded, split) for loaded in self.loaded for split in SPLITS
                     if getattr(loaded, split) is pipeline), None)
