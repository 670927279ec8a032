"""The data a recipe trains on: ``tf.data`` pipelines over a dataset's split files.

Images are decoded once per file list and size (:mod:`litblog.runtime.decoded`) and batched
from memory; shuffled pipelines draw their order from (seed, epoch), so a resumed run sees the
data in the order an uninterrupted one does. TensorFlow is imported where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..common import datasets

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf


@dataclass
class ImageData:
    """Train, validation and test ``tf.data`` pipelines over one dataset, with its files."""

    name: str
    files: datasets.ImageFiles
    image_size: tuple[int, int]
    batch_size: int
    train: "tf.data.Dataset"
    validation: "tf.data.Dataset"
    test: "tf.data.Dataset"

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.files.class_names

    def counts(self, split: str = "train") -> dict[str, int]:
        """Images per class in ``split`` (train, validation or test)."""
        return self.files.counts(split)

    def images(self, split: str = "train", per_class: int = 3) -> tuple[Any, list[int]]:
        """The first ``per_class`` images of each class in ``split``, resized, as uint8 arrays."""
        import numpy as np

        chosen: list[tuple[Path, int]] = []
        for label in range(len(self.class_names)):
            chosen += [pair for pair in getattr(self.files, split) if pair[1] == label][:per_class]
        images = np.stack([load_array(path, self.image_size) for path, _ in chosen])
        return images.astype("uint8"), [label for _, label in chosen]


def load_array(path: Path, size: tuple[int, int]) -> Any:
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    return tf.image.resize(image, size).numpy()


def _decode(image_size: tuple[int, int]) -> Callable[[Any, Any], tuple[Any, Any]]:
    import tensorflow as tf

    def load(path: Any, label: Any) -> tuple[Any, Any]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        # Bilinear resize to float32 in 0..255, as keras.utils.image_dataset_from_directory does.
        return tf.image.resize(image, image_size), label

    return load


def make_pipeline(pairs: Sequence[tuple[Path, int]], image_size: tuple[int, int], batch_size: int,
                   shuffle: bool, seed: int, epoch: "tf.Variable | None" = None,
                   cache_dir: Path | None = None) -> "tf.data.Dataset":
    """Batches of (image, label). Shuffled pipelines draw a new order each epoch from (seed, epoch).

    The order depends on the epoch number (read from ``epoch`` when an iterator starts), not on
    how many epochs this process has run, so a resumed run sees the data in the same order as
    an uninterrupted one. Images are decoded once per file list and size for every run and
    seed (:mod:`litblog.runtime.decoded`, under ``cache_dir``) and held in memory while the run lasts.
    """
    import numpy as np
    import tensorflow as tf

    from .decoded import decoded_images

    paths = [str(path) for path, _ in pairs]
    labels = [label for _, label in pairs]
    if not paths:
        empty = tf.data.Dataset.from_tensor_slices((paths, labels)).map(_decode(image_size))
        return empty.batch(batch_size)

    def decode() -> Any:
        decoded = tf.data.Dataset.from_tensor_slices((paths, labels)).map(
            _decode(image_size), num_parallel_calls=tf.data.AUTOTUNE)
        return np.stack([image for image, _ in decoded.as_numpy_iterator()])

    # A variable, not a constant: a few hundred MB must not be copied into the graph.
    images = tf.Variable(decoded_images(paths, image_size, cache_dir, decode), trainable=False)
    targets = tf.constant(labels)
    count = len(paths)
    if not shuffle:
        batches = tf.data.Dataset.range(count).batch(batch_size)
    else:
        epoch = epoch if epoch is not None else tf.Variable(0, dtype=tf.int64, trainable=False)

        def order(_: Any) -> "tf.data.Dataset":
            key = tf.stack([tf.constant(seed, tf.int64), epoch.read_value()])
            return tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(tf.range(count), seed=key))

        batches = tf.data.Dataset.range(1).flat_map(order).batch(batch_size)
        # flat_map hides the length: say it, so Keras knows the steps of an epoch from the first one.
        batches = batches.apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))
    return batches.map(lambda index: (tf.gather(images, index), tf.gather(targets, index))).prefetch(tf.data.AUTOTUNE)


def no_images(image_size: tuple[int, int]) -> "tf.data.Dataset":
    """An empty split with the element types of a full one: (float32 images, int32 labels) batches."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(
        (tf.zeros((0, *image_size, 3), tf.float32), tf.zeros((0,), tf.int32))).batch(1)


def require_images(data: ImageData, split: str, caller: str) -> None:
    """An empty split is a mistake to name: Keras would evaluate it to ``{}`` and fail to predict it."""
    if not getattr(data.files, split):
        way_out = ("give ctx.image_data a test_split to hold test images out, or evaluate on data.validation"
                   if split == "test" else "add images to the dataset's classes")
        raise ValueError(f"{caller}: the {split} split of dataset '{data.name}' has no images "
                         f"({data.files.origins.get(split, 'none')}); {way_out}")
