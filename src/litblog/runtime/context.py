"""The recipe context ``ctx``: what a recipe uses to load data and train, capturing as it goes.

A recipe is a plain function ``def recipe(ctx, **params)``. Through ``ctx`` it gets its data
(:meth:`RecipeContext.image_data`), trains (:meth:`RecipeContext.fit`, which records the
model summary, Keras' own ``verbose=2`` log lines and the history, several calls making
phases of one history), evaluates and predicts, records values and saves named figures.
Everything it prints lands in the result's log. Only worker processes create a context;
TensorFlow is imported lazily so this module can be imported anywhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..common import datasets, reads
from .download import keras_download
from ..common.fsutil import atomic_write_text
from ..common.paths import cache_dir as project_cache_dir
from .resume import FitRecord, RunCheckpoint, SavedFit, epoch_callbacks, restore_weights

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf
    from matplotlib.figure import Figure

SUMMARY_WIDTH = 110  # characters: wide enough that Keras never cuts a column


class EventSink:
    """Structured progress events for the parent process, one JSON object per line."""

    def __init__(self, fd: int | None) -> None:
        self._stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8") if fd is not None else None

    def emit(self, event: str, **fields: Any) -> None:
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps({"event": event, **fields}, default=float) + "\n")
        except (BrokenPipeError, ValueError):
            self._stream = None  # the parent went away; keep training, the log still records it


_SURROGATES = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes, as ``os.fsdecode`` makes them) as U+FFFD.

    What a recipe prints must always encode as UTF-8: the log is saved as UTF-8, and a run
    that finished must not be lost to an odd file name it printed.
    """
    return _SURROGATES.sub("\ufffd", text)


class _Tee(io.TextIOBase):
    """Copies what the recipe (and Keras) print to the captured log and to the worker's stdout.

    The first stream is the captured log and must take every write; the others only echo it
    to the full log, so a failure there (a recipe closed the descriptor) loses nothing.
    """

    def __init__(self, log: Any, *echoes: Any) -> None:
        self._log = log
        self._echoes = echoes

    def write(self, text: str) -> int:
        clean = printable(text)
        self._log.write(clean)
        for stream in self._echoes:
            try:
                stream.write(clean)
            except (OSError, ValueError):
                pass
        return len(text)

    def flush(self) -> None:
        for stream in self._echoes:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass

    @property
    def encoding(self) -> str:  # Keras checks it before writing
        return "utf-8"

    def isatty(self) -> bool:
        return False


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
        images = np.stack([_load_array(path, self.image_size) for path, _ in chosen])
        return images.astype("uint8"), [label for _, label in chosen]


def _load_array(path: Path, size: tuple[int, int]) -> Any:
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


def _make_pipeline(pairs: Sequence[tuple[Path, int]], image_size: tuple[int, int], batch_size: int,
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


def _no_images(image_size: tuple[int, int]) -> "tf.data.Dataset":
    """An empty split with the element types of a full one: (float32 images, int32 labels) batches."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(
        (tf.zeros((0, *image_size, 3), tf.float32), tf.zeros((0,), tf.int32))).batch(1)


@dataclass
class _Phase:
    name: str
    first_epoch: int
    last_epoch: int
    epochs: int  # how many epochs the phase trained (last_epoch - first_epoch + 1 for one fit)


@dataclass
class _Capture:
    """What a run has captured so far; written out by :meth:`RecipeContext.save`."""

    epochs: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    phases: list[_Phase] = field(default_factory=list)
    summaries: list[tuple[str, str]] = field(default_factory=list)
    summary_tables: list[dict[str, Any] | None] = field(default_factory=list)  # parallel to summaries
    figures: dict[str, dict[str, str]] = field(default_factory=dict)
    predictions: dict[str, dict[str, str]] = field(default_factory=dict)
    recorded: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0


class RecipeContext:
    """The object passed to every recipe as ``ctx``."""

    def __init__(
        self,
        *,
        params: dict[str, Any],
        seed: int,
        output_dir: Path,
        project_root: Path,
        data_dir: str | None = None,
        cache_dir: Path | None = None,
        events: EventSink | None = None,
        path_scrubber: Callable[[str], str] | None = None,
        checkpoint_dir: Path | None = None,
    ) -> None:
        self.params = dict(params)
        self.seed = seed
        self.output_dir = output_dir
        self.project_root = project_root
        self._data_dir = data_dir
        self._cache_dir = cache_dir or project_cache_dir(project_root)
        self._events = events or EventSink(None)
        self._scrub = path_scrubber or (lambda text: text)
        self._log = io.StringIO()
        self._capture = _Capture()
        self._summarised: set[int] = set()
        self._checkpoint = RunCheckpoint(checkpoint_dir) if checkpoint_dir else None
        self._fits = 0
        self._epoch_variable: Any = None
        self._image_data: list[ImageData] = []  # what image_data() returned, to name evaluate's split

    # -- output -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        """Send everything printed inside the block to the result's log as well."""
        original = sys.stdout
        sys.stdout = _Tee(self._log, original)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stdout = original

    @property
    def log_text(self) -> str:
        return self._log.getvalue()

    def record(self, name: str, value: Any) -> None:
        """Store a value under a dotted name, for ``{result}`exp.name``` and table columns."""
        target = self._capture.recorded
        *parents, leaf = name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"cannot record '{name}': '{part}' already holds a value")
        target[leaf] = _plain(value)

    def input_file(self, path: str | Path) -> Path:
        """Declare a file the recipe reads (a vocabulary, a weights file of your own): its SHA-256 is
        recorded with the result, and a later build re-runs the result when the file changes.

        ``path`` is relative to the project (or in Keras' cache); returns it as an absolute path
        to open. A file elsewhere raises ValueError: another machine could not have it.
        """
        target = Path(path) if Path(path).is_absolute() else self.project_root / path
        if not target.is_file():
            raise FileNotFoundError(f"ctx.input_file: no file {path}")
        reads.record(target, self.project_root)
        return target

    def figure(self, name: str, fig: "Figure | None" = None, *, caption: str = "") -> Path:
        """Save a matplotlib figure (the current one by default) as ``figures/<name>.png``."""
        import matplotlib.pyplot as plt

        from ..common.figures import save_figure

        if not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"figure name {name!r}: use letters, digits, '_' and '-'")
        relative = f"figures/{name}.png"
        path = self.output_dir / relative
        save_figure(fig or plt.gcf(), path)
        self._capture.figures[name] = {"file": relative, "caption": caption}
        return path

    # -- data -------------------------------------------------------------------------------

    def image_data(
        self,
        dataset: str | None = None,
        *,
        image_size: int | tuple[int, int] = 160,
        batch_size: int = 32,
        per_class: int | None = None,
        train_per_class: int | None = None,
        validation_per_class: int | None = None,
        test_per_class: int | None = None,
        validation_split: float | None = None,
        test_split: float | None = None,
        shuffle: bool = True,
    ) -> ImageData:
        """Load an image-classification dataset split into train, validation and test.

        ``dataset`` defaults to the ``dataset`` param. The split is by file and deterministic,
        the same for every seed (:func:`litblog.common.datasets.split_files` has the rules):

        - ``per_class=N`` shrinks *every* split: the first N training images of each class,
          and the first images of validation and test in the same proportion to the largest
          training class (at least one per class); for ``synthetic`` it also sets how many
          training images are generated;
        - ``train_per_class``, ``validation_per_class``, ``test_per_class`` keep the first N
          images of each class in that split only (an error when a class has fewer);
        - ``validation_split=s`` takes validation from the training folder (s of each class,
          spread evenly); the test set is then the dataset's own ``validation/`` folder, or for
          a plain folder of classes none, unless ``test_split=t`` holds t out as well.

        A malformed, conflicting or oversized option raises
        :class:`litblog.common.datasets.DatasetOptionError` (a ``ValueError``) naming it.
        """
        spec = dataset or self.params.get(datasets.DATASET_PARAM)
        if not spec:
            raise ValueError("image_data() needs a dataset name, or a 'dataset' param")
        chosen = {"train_per_class": train_per_class, "validation_per_class": validation_per_class,
                  "test_per_class": test_per_class, "validation_split": validation_split, "test_split": test_split}
        chosen = {name: value for name, value in chosen.items() if value is not None}
        try:
            datasets.check_split_options(per_class=per_class, **chosen)
        except datasets.DatasetOptionError as exc:
            raise datasets.DatasetOptionError(f"ctx.image_data({spec!r}): {exc}") from None
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        options = {"image_size": max(size), "seed": self.seed}
        if per_class:
            options["per_class"] = per_class
        folder = datasets.resolve_folder(spec, self.project_root, self._data_dir, self._cache_dir,
                                         synthetic_options=options, download=keras_download,
                                         announce=self._announce)
        try:
            files = datasets.split_files(folder, per_class=per_class, **chosen)
        except datasets.DatasetOptionError as exc:
            raise datasets.DatasetOptionError(f"ctx.image_data({spec!r}): {exc}") from None
        for split in ("train", "validation", "test"):
            counts = files.counts(split)
            # Where each split came from only when the options moved it: older logs stay as they were.
            where = f"{split}: {files.origins[split]}" if chosen else split
            print(f"Found {sum(counts.values())} files belonging to {len(counts)} classes ({where}).")
        def pipeline(pairs: Sequence[tuple[Path, int]], shuffled: bool, epoch: Any = None) -> "tf.data.Dataset":
            # A split can be empty: the test set of validation_split on a plain folder of classes.
            return (_make_pipeline(pairs, size, batch_size, shuffled, self.seed, epoch, self._cache_dir) if pairs
                    else _no_images(size))

        data = ImageData(
            name=spec, files=files, image_size=size, batch_size=batch_size,
            train=pipeline(files.train, shuffle, self._epoch()),
            validation=pipeline(files.validation, False),
            test=pipeline(files.test, False),
        )
        self._image_data.append(data)
        return data

    def _announce(self, text: str) -> None:
        """Say once, on the build's console and in the run's full log (not the stored one: it is
        about this machine, not the run), what the worker wrote into Keras' cache."""
        text = self._scrub(text)
        print(f"litblog: {text}", file=sys.stderr, flush=True)
        self._events.emit("notice", message=text)

    def _epoch(self) -> "tf.Variable":
        """The epoch number shuffled pipelines read; ``fit`` sets it as each epoch begins."""
        if self._epoch_variable is None:
            import tensorflow as tf

            self._epoch_variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="litblog_epoch")
        return self._epoch_variable

    # -- models -----------------------------------------------------------------------------

    def summary(self, model: "keras.Model", *, phase: str | None = None) -> str:
        """Capture ``model.summary()`` as text, wide enough that no column is cut, and as a table.

        The table (``summary.json`` beside ``summary.txt``, see :func:`summary_table`) holds the
        model's name and class, ``phase`` (the phase of the fit it was captured for; by default
        the last phase trained so far, ``None`` before any) and one row per layer. Failing to
        build it never fails the run: the summary then has no table. ``model.<name>.*`` values
        are recorded for the first summary of each model only, so a second one (fine-tuning)
        does not change them.
        """
        first_of_model = id(model) not in self._summarised
        if phase is None and self._capture.phases:
            phase = self._capture.phases[-1].name
        lines: list[str] = []
        previous = os.environ.get("COLUMNS")
        # rich sizes the table from the terminal width, 80 columns when there is none.
        os.environ["COLUMNS"] = str(SUMMARY_WIDTH + 10)
        try:
            model.summary(line_length=SUMMARY_WIDTH, print_fn=lambda text, **_: lines.append(text))
        finally:
            if previous is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = previous
        text = "\n".join(lines).rstrip() + "\n"
        self._capture.summaries.append((model.name, text))
        try:
            table: dict[str, Any] | None = summary_table(model, phase)
        except Exception as exc:  # noqa: BLE001 - a page table is never worth a failed run
            print(f"(no summary table for {getattr(model, 'name', '?')}: {type(exc).__name__}: {exc})",
                  file=sys.stderr)
            table = None
        self._capture.summary_tables.append(table)
        self._summarised.add(id(model))
        trainable = sum(int(_size(w)) for w in model.trainable_weights)
        frozen = sum(int(_size(w)) for w in model.non_trainable_weights)
        if first_of_model:
            self.record(f"model.{_slug(model.name)}.total_params", trainable + frozen)
            self.record(f"model.{_slug(model.name)}.trainable_params", trainable)
            self.record(f"model.{_slug(model.name)}.non_trainable_params", frozen)
        if len(self._capture.summaries) == 1:
            self.record("model.total_params", trainable + frozen)
            self.record("model.trainable_params", trainable)
            self.record("model.non_trainable_params", frozen)
        return text

    def fit(
        self,
        model: "keras.Model",
        x: Any = None,
        y: Any = None,
        *,
        epochs: int = 1,
        initial_epoch: int | None = None,
        phase: str | None = None,
        callbacks: Sequence[Any] = (),
        **fit_kwargs: Any,
    ) -> dict[str, list[float]]:
        """``model.fit`` with ``verbose=2``, recording summary, log lines and history.

        ``epochs`` and ``initial_epoch`` mean what they mean to Keras. A later call continues
        the same history as a new phase (``phase="fine-tuning"``); with ``initial_epoch``
        left out, it starts where the history ends. Every epoch is checkpointed: when the run
        is resumed, a fit that had finished is replayed from its checkpoint and one that had
        not continues after its last epoch (see :mod:`litblog.runtime.resume`). Returns the joined history.
        """
        phase_name = phase or ("training" if not self._capture.phases else f"phase {len(self._capture.phases) + 1}")
        if id(model) not in self._summarised and model.built:
            self.summary(model, phase=phase_name)
        index, self._fits = self._fits, self._fits + 1
        saved = self._checkpoint.load(index) if self._checkpoint else None
        if saved is not None and saved.record.done:
            return self._replay(model, saved)
        if initial_epoch is None:
            initial_epoch = self._capture.epochs[-1] if self._capture.epochs else 0
            if initial_epoch >= epochs:
                raise ValueError(
                    f"fit(epochs={epochs}) would train no epoch: the history already ends at epoch "
                    f"{initial_epoch}. As in Keras, 'epochs' is the number of the last epoch; to train "
                    f"another model from scratch, use a separate experiment.")
        log_start = len(self._log.getvalue())
        record = saved.record if saved is not None else FitRecord(index, phase_name)
        if saved is not None and record.epochs:
            print(record.log, end="")
            print(f"(resumed from the checkpoint after epoch {record.epochs[-1]})")
        self._events.emit("phase", name=phase_name, first_epoch=(record.epochs[-1] if record.epochs else initial_epoch) + 1,
                          epochs=epochs, resumed=bool(record.epochs))
        fit_kwargs.setdefault("verbose", 2)
        if _is_dataset(x):
            # Keras never shuffles a tf.data.Dataset; saying so keeps its warning out of the log.
            fit_kwargs.setdefault("shuffle", False)
        recording = epoch_callbacks(self.seed, self._set_epoch, record, self._checkpoint,
                                    lambda: self._log.getvalue()[log_start:], saved)
        earlier_seconds = record.train_seconds
        started = time.perf_counter()
        try:
            model.fit(x, y, epochs=epochs, initial_epoch=initial_epoch,
                      callbacks=[*callbacks, *recording, _progress_callback(self._events, epochs)], **fit_kwargs)
        finally:
            record.train_seconds = earlier_seconds + time.perf_counter() - started
        self._capture.train_seconds += record.train_seconds
        if id(model) not in self._summarised:
            self.summary(model, phase=phase_name)
        self._add_fit(record)
        return self.history

    def _replay(self, model: "keras.Model", saved: SavedFit) -> dict[str, list[float]]:
        """A fit that finished before the run was interrupted: restore it instead of training."""
        record = saved.record
        restore_weights(model, saved.weights)
        print(record.log, end="")
        self._events.emit("phase", name=record.phase, first_epoch=record.epochs[0] if record.epochs else 1,
                          epochs=record.epochs[-1] if record.epochs else 0, replayed=True)
        self._capture.train_seconds += record.train_seconds
        self._add_fit(record)
        return self.history

    def _add_fit(self, record: FitRecord) -> None:
        if record.epochs:
            self._add_history(list(record.epochs), record.metrics)
            self._capture.phases.append(_Phase(record.phase, record.epochs[0], record.epochs[-1], len(record.epochs)))

    def _set_epoch(self, epoch: int) -> None:
        if self._epoch_variable is not None:
            self._epoch_variable.assign(epoch)

    @property
    def history(self) -> dict[str, list[float]]:
        """The joined history so far: metric name -> one value per epoch."""
        return {name: list(values) for name, values in self._capture.metrics.items()}

    def _add_history(self, epochs: list[int], metrics: dict[str, list[float]]) -> None:
        capture = self._capture
        if capture.epochs and epochs[0] <= capture.epochs[-1]:
            # A fit that starts over (initial_epoch=0 again) replaces the overlapping epochs.
            keep = [i for i, e in enumerate(capture.epochs) if e < epochs[0]]
            capture.epochs = [capture.epochs[i] for i in keep]
            capture.metrics = {n: [v[i] for i in keep] for n, v in capture.metrics.items()}
            capture.phases = [p for p in capture.phases if p.first_epoch < epochs[0]]
        length = len(capture.epochs)
        for name, values in metrics.items():
            series = capture.metrics.setdefault(name, [float("nan")] * length)
            series.extend(float(v) for v in values)
        capture.epochs.extend(epochs)
        for series in capture.metrics.values():
            series.extend([float("nan")] * (len(capture.epochs) - len(series)))

    def fine_tune(
        self,
        model: "keras.Model",
        base: "keras.Model",
        x: Any = None,
        *,
        from_layer: int,
        epochs: int,
        learning_rate: float = 1e-5,
        optimizer: str = "rmsprop",
        phase: str = "fine-tuning",
        **fit_kwargs: Any,
    ) -> dict[str, list[float]]:
        """Unfreeze ``base`` from layer ``from_layer`` on, compile again, and continue training.

        The model keeps its loss and metrics and gets ``optimizer`` (rmsprop, adam, sgd, adamw)
        at ``learning_rate``. Training continues the history as the phase ``phase`` up to epoch
        ``epochs`` (Keras' meaning: the number of the last epoch), so learning curves mark
        "start of fine-tuning". Records ``fine_tune.*`` (layer, trainable parameters, learning
        rate) and captures the model's summary again as it enters the phase (what is trainable
        now; the new optimizer is built, so Keras' text counts its state in "Total params" and
        the table reports it apart as ``optimizer_params``). Returns the joined history.
        """
        from .finetune import recompile, trainable_count, unfreeze_from

        unfrozen = unfreeze_from(base, from_layer)
        recompile(model, optimizer, learning_rate)
        trainable = trainable_count(model)
        print(f"Fine-tuning {base.name} from layer {from_layer} ({unfrozen.first_layer}): "
              f"{unfrozen.trainable_layers} of {len(base.layers)} layers trainable, {trainable:,} trainable "
              f"parameters; {optimizer} at learning rate {learning_rate:g}.")
        self.record("fine_tune.from_layer", from_layer)
        self.record("fine_tune.first_layer", unfrozen.first_layer)
        self.record("fine_tune.trainable_layers", unfrozen.trainable_layers)
        self.record("fine_tune.trainable_params", trainable)
        self.record("fine_tune.learning_rate", float(learning_rate))
        self.record("fine_tune.optimizer", optimizer)
        self.summary(model, phase=phase)
        return self.fit(model, x, epochs=epochs, phase=phase, **fit_kwargs)

    def evaluate(self, model: "keras.Model", data: Any, *, name: str = "test", **kwargs: Any) -> dict[str, float]:
        """``model.evaluate`` (its Keras log line goes to the log); values recorded as ``<name>.<metric>``.

        A label line comes first in the log, naming the split when ``data`` is a pipeline of
        :meth:`image_data` (``Evaluate on test (name 'test'):``), else only the name.
        """
        found = next(((loaded, split) for loaded in self._image_data for split in ("train", "validation", "test")
                      if getattr(loaded, split) is data), None)
        split = found[1] if found else None
        if found is not None:
            _require_images(found[0], split, "ctx.evaluate")
        print(f"Evaluate on {split} (name {name!r}):" if split else f"Evaluate (name {name!r}):")
        kwargs.setdefault("verbose", 2)
        values = model.evaluate(data, return_dict=True, **kwargs)
        values = {metric: float(value) for metric, value in values.items()}
        for metric, value in values.items():
            self.record(f"{name}.{metric}", value)
        return values

    def predict(self, model: "keras.Model", data: ImageData, *, split: str = "test",
                name: str | None = None, head: str | None = None) -> "Predictions":
        """Predict every image of ``split``; stores labels, predictions and file names with the result.

        How outputs become classes depends on the model's head, read from its final activation
        (``head=`` overrides): ``"softmax"`` (probabilities per class) and ``"logits"`` (one logit
        per class) take the largest; ``"sigmoid"`` (one unit, a probability) means the second
        class above 0.5; ``"logit"`` (one unit, no activation) the second class above 0.

        Records ``<name>.head``, ``<name>.predicted_accuracy`` and, for each class ``c`` (its
        name as a slug: letters and digits kept, anything else ``_``), ``<name>.per_class.<c>.precision``
        (0.0 when nothing was predicted as ``c``), ``.recall`` (0.0 when ``c`` has no image in the
        split) and ``.support`` (images of ``c``), and the confusion counts
        ``<name>.confusion.<true>.<predicted>`` for every pair of classes.
        """
        import numpy as np

        _require_images(data, split, "ctx.predict")
        pipeline = getattr(data, split)
        scores = np.asarray(model.predict(pipeline, verbose=0))
        head = head or model_head(model, scores)
        predicted = decide_classes(scores, head)
        pairs = getattr(data.files, split)
        truth = np.array([label for _, label in pairs])
        files = [path for path, _ in pairs]
        predictions = Predictions(tuple(data.class_names), truth, predicted, scores, files, data.image_size)
        name = name or split
        relative = f"predictions/{name}.json"
        target = self.output_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps({
            "class_names": list(data.class_names),
            "y_true": truth.tolist(),
            "y_pred": predicted.tolist(),
            "scores": np.round(scores.astype(float), 6).tolist(),
            "files": [self._scrub(str(f)) for f in files],
        }))
        self._capture.predictions[name] = {"file": relative}
        self.record(f"{name}.head", head)
        self.record(f"{name}.predicted_accuracy", float((truth == predicted).mean()) if len(truth) else 0.0)
        self._record_per_class(name, data.class_names, truth, predicted)
        return predictions

    def _record_per_class(self, name: str, class_names: Sequence[str], truth: Any, predicted: Any) -> None:
        """Precision, recall, support per class and the confusion counts, from labels (numpy only)."""
        import numpy as np

        count = len(class_names)
        truth = np.asarray(truth, dtype=int).reshape(-1)
        predicted = np.asarray(predicted, dtype=int).reshape(-1)
        confusion = np.zeros((count, count), dtype=int)
        valid = (truth >= 0) & (truth < count) & (predicted >= 0) & (predicted < count)
        np.add.at(confusion, (truth[valid], predicted[valid]), 1)
        slugs = [_slug(c) for c in class_names]
        for index, slug in enumerate(slugs):
            hits = int(confusion[index, index])
            support = int(confusion[index, :].sum())
            chosen = int(confusion[:, index].sum())
            self.record(f"{name}.per_class.{slug}.precision", hits / chosen if chosen else 0.0)
            self.record(f"{name}.per_class.{slug}.recall", hits / support if support else 0.0)
            self.record(f"{name}.per_class.{slug}.support", support)
            for other, other_slug in enumerate(slugs):
                self.record(f"{name}.confusion.{slug}.{other_slug}", int(confusion[index, other]))

    # -- saving -----------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """Write history, metrics, log and summaries into the output folder.

        Returns the manifest entries describing the files. Learning curves are not drawn here:
        the build draws them from ``history.json`` (``figure_kinds.py``), so restyling them
        re-runs nothing; a ``curves`` figure the recipe saved itself is kept and wins.
        """
        capture = self._capture
        out = self.output_dir
        out.mkdir(parents=True, exist_ok=True)
        history = {
            "epochs": capture.epochs,
            "metrics": capture.metrics,
            "phases": [vars(p) for p in capture.phases],
        }
        atomic_write_text(out / "history.json", json.dumps(history, indent=1, allow_nan=True) + "\n")
        atomic_write_text(out / "metrics.json", json.dumps(capture.recorded, indent=1, sort_keys=True) + "\n")
        atomic_write_text(out / "log.txt", self._scrub(self.log_text))
        summaries = []
        for index, (model_name, text) in enumerate(capture.summaries):
            relative = "summary.txt" if index == 0 else f"summary-{index + 1}.txt"
            atomic_write_text(out / relative, text)
            entry = {"model": model_name, "file": relative}
            table = capture.summary_tables[index] if index < len(capture.summary_tables) else None
            if table is not None:
                entry["table"] = relative[: -len(".txt")] + ".json"
                atomic_write_text(out / entry["table"], json.dumps(table, indent=1) + "\n")
            summaries.append(entry)
        return {
            "summaries": summaries,
            "figures": capture.figures,
            "predictions": capture.predictions,
            "phases": history["phases"],
            "train_seconds": round(capture.train_seconds, 3),
        }


@dataclass(frozen=True)
class Predictions:
    """Predicted against true labels of one split, with the image files they came from."""

    class_names: tuple[str, ...]
    y_true: Any
    y_pred: Any
    scores: Any
    files: list[Path]
    image_size: tuple[int, int]

    @property
    def misclassified(self) -> list[int]:
        return [i for i, (t, p) in enumerate(zip(self.y_true, self.y_pred)) if t != p]


def _require_images(data: ImageData, split: str, caller: str) -> None:
    """An empty split is a mistake to name: Keras would evaluate it to ``{}`` and fail to predict it."""
    if not getattr(data.files, split):
        way_out = ("give ctx.image_data a test_split to hold test images out, or evaluate on data.validation"
                   if split == "test" else "add images to the dataset's classes")
        raise ValueError(f"{caller}: the {split} split of dataset '{data.name}' has no images "
                         f"({data.files.origins.get(split, 'none')}); {way_out}")


def _progress_callback(events: EventSink, epochs: int) -> Any:
    import keras

    class Progress(keras.callbacks.Callback):
        """Reports epochs and (at most twice a second) batches to the parent process."""

        def __init__(self) -> None:
            super().__init__()
            self._last = 0.0
            self._epoch = 0
            self._epoch_started = time.monotonic()

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._epoch = epoch + 1
            self._epoch_started = time.monotonic()
            events.emit("epoch_begin", epoch=epoch + 1, epochs=epochs)

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            now = time.monotonic()
            if now - self._last >= 0.5:
                self._last = now
                steps = (self.params or {}).get("steps")
                events.emit("batch", epoch=self._epoch, epochs=epochs, batch=batch + 1, steps=steps,
                            logs=_floats(logs), elapsed=now - self._epoch_started)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            events.emit("epoch_end", epoch=epoch + 1, epochs=epochs, logs=_floats(logs),
                        seconds=time.monotonic() - self._epoch_started)

    return Progress()


def _is_dataset(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec")


def _floats(logs: dict | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _size(weight: Any) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def summary_table(model: Any, phase: str | None = None) -> dict[str, Any]:
    """The model summary as data for a page table (written as ``summary.json``).

    ``{"model", "class", "phase", "layers": [row, ...], "total_params", "trainable_params",
    "non_trainable_params", "optimizer_params"}``. The rows are the ones Keras' summary lists
    (a functional model's operations, a Sequential's layers); each has ``name``, ``type``
    (class name), ``output_shape`` ("(None, 80, 80, 32)", "?" when unknown), ``params``,
    ``trainable`` and ``op`` (an operation such as ``GetItem`` or ``TrueDivide`` that is not a
    layer). A row for a nested model adds ``trainable_params``, ``non_trainable_params`` and
    its rows as ``children``; a model nested deeper gets the counts but not its rows. Totals
    come from the model's weights; ``optimizer_params`` (``None`` while the optimizer is not
    built) is the optimizer's state, which Keras' text adds to "Total params".
    """
    trainable, frozen = _weight_counts(model)
    optimizer = getattr(model, "optimizer", None)
    optimizer_params = None
    try:
        if getattr(model, "compiled", False) and optimizer is not None and optimizer.built:
            optimizer_params = sum(_size(v) for v in optimizer.variables)
    except Exception:  # noqa: BLE001
        optimizer_params = None
    return {
        "model": str(getattr(model, "name", "?")),
        "class": type(model).__name__,
        "phase": phase,
        "layers": [_layer_row(layer, depth=0) for layer in _summary_rows(model)],
        "total_params": trainable + frozen,
        "trainable_params": trainable,
        "non_trainable_params": frozen,
        "optimizer_params": optimizer_params,
    }


def _weight_counts(model: Any) -> tuple[int, int]:
    """(trainable, non-trainable) parameters of ``model``'s weights, each weight once."""
    counts = []
    for weights in (model.trainable_weights, model.non_trainable_weights):
        seen: dict[int, Any] = {id(w): w for w in weights}
        counts.append(sum(_size(w) for w in seen.values()))
    return counts[0], counts[1]


def _summary_rows(model: Any) -> list[Any]:
    """The layers (and operations) Keras' ``print_summary`` lists for ``model``."""
    import keras

    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - another Keras layout: list layers only
        Functional = None  # noqa: N806
    if Functional is not None and isinstance(model, Functional) and not isinstance(model, keras.Sequential):
        operations = getattr(model, "_operations", None)
        if operations is not None:
            return list(operations)
    return list(getattr(model, "layers", []) or [])


def _layer_row(layer: Any, depth: int) -> dict[str, Any]:
    import keras

    is_layer = isinstance(layer, keras.layers.Layer)
    row: dict[str, Any] = {
        "name": str(getattr(layer, "name", "?")),
        "type": type(layer).__name__,
        "output_shape": _output_shape(layer),
        "params": 0,
        "trainable": False,
        "op": not is_layer,
    }
    if not is_layer:
        return row
    try:
        row["trainable"] = bool(layer.trainable)
    except Exception:  # noqa: BLE001
        pass
    try:
        row["params"] = int(layer.count_params()) if getattr(layer, "built", False) else 0
    except Exception:  # noqa: BLE001
        row["params"] = 0
    if isinstance(layer, keras.Model):
        try:
            row["trainable_params"], row["non_trainable_params"] = _weight_counts(layer)
        except Exception:  # noqa: BLE001
            pass
        if depth == 0:
            try:
                row["children"] = [_layer_row(child, depth + 1) for child in _summary_rows(layer)]
            except Exception:  # noqa: BLE001
                row["children"] = []
        else:
            row["layers"] = len(getattr(layer, "layers", []) or [])
    return row


def _output_shape(layer: Any) -> str:
    """What Keras' summary shows as the output shape: from the layer's last call, else ``layer.output``."""
    try:
        nodes = getattr(layer, "_inbound_nodes", None) or []
        outputs = nodes[-1].output_tensors if nodes else layer.output
        import keras

        flat = keras.tree.flatten(outputs)
        shapes = [f"({', '.join(str(d) for d in tensor.shape)})" for tensor in flat]
    except Exception:  # noqa: BLE001
        return "?"
    if not shapes:
        return "?"
    return shapes[0] if len(shapes) == 1 else f"[{', '.join(shapes)}]"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _plain(value: Any) -> Any:
    """JSON-ready form of numpy scalars, arrays and tuples."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


HEADS = ("softmax", "logits", "sigmoid", "logit")


def model_head(model: Any, scores: Any) -> str:
    """The kind of head ``model`` ends in, from its final activation and output width."""
    width = scores.shape[1] if scores.ndim == 2 else 1
    activation = _final_activation(model)
    if width > 1:
        return "softmax" if activation == "softmax" else "logits"
    return "sigmoid" if activation == "sigmoid" else "logit"


def decide_classes(scores: Any, head: str) -> Any:
    """Class indices from a model's outputs, read the way its ``head`` produces them."""
    import numpy as np

    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, not {head!r}")
    if head in ("softmax", "logits"):
        if scores.ndim != 2 or scores.shape[1] < 2:
            raise ValueError(f"a {head} head needs one output per class; this model has shape {scores.shape}")
        return scores.argmax(axis=1)
    if scores.ndim == 2 and scores.shape[1] != 1:
        raise ValueError(f"a {head} head has one output; this model has {scores.shape[1]}")
    threshold = 0.5 if head == "sigmoid" else 0.0
    return (scores.reshape(-1) > threshold).astype(int)


def _final_activation(model: Any) -> str | None:
    """The name of the activation applied last: a layer's ``activation`` or an ``Activation``/``Softmax`` layer,
    looking inside nested models."""
    layer = model
    while getattr(layer, "layers", None):
        layer = layer.layers[-1]
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or (activation if isinstance(activation, str) else None)
    return name
