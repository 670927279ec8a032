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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..common import datasets, reads
from ..common.fsutil import atomic_write_text
from ..common.paths import cache_dir as project_cache_dir
from .capture import EventSink, Tee, progress_callback
from .download import keras_download
from .pipelines import ImageData, make_pipeline, no_images, require_images
from .predictions import Predictions, decide_classes, model_head, per_class_values
from .recorded import plain, slug
from .resume import FitRecord, RunCheckpoint, SavedFit, epoch_callbacks, restore_weights
from .summaries import summary_table, summary_text, weight_counts

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf
    from matplotlib.figure import Figure


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
        sys.stdout = Tee(self._log, original)
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
        target[leaf] = plain(value)

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
            return (make_pipeline(pairs, size, batch_size, shuffled, self.seed, epoch, self._cache_dir) if pairs
                    else no_images(size))

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
        text = summary_text(model)
        self._capture.summaries.append((model.name, text))
        try:
            table: dict[str, Any] | None = summary_table(model, phase)
        except Exception as exc:  # noqa: BLE001 - a page table is never worth a failed run
            print(f"(no summary table for {getattr(model, 'name', '?')}: {type(exc).__name__}: {exc})",
                  file=sys.stderr)
            table = None
        self._capture.summary_tables.append(table)
        self._summarised.add(id(model))
        trainable, frozen = weight_counts(model)
        if first_of_model:
            self.record(f"model.{slug(model.name)}.total_params", trainable + frozen)
            self.record(f"model.{slug(model.name)}.trainable_params", trainable)
            self.record(f"model.{slug(model.name)}.non_trainable_params", frozen)
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
                      callbacks=[*callbacks, *recording, progress_callback(self._events, epochs)], **fit_kwargs)
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
            require_images(found[0], split, "ctx.evaluate")
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

        require_images(data, split, "ctx.predict")
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
        for value_name, value in per_class_values(data.class_names, truth, predicted).items():
            self.record(f"{name}.{value_name}", value)
        return predictions

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


def _is_dataset(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec")


