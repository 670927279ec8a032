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
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..common import datasets, reads
from ..common.paths import cache_dir as project_cache_dir
from .capture import EventSink, Tee
from .captured import Capture
from .loading import ImageLoader
from .pipelines import ImageData, require_images
from .predictions import Predictions, per_class_values, predict_split, write_predictions
from .resume import RunCheckpoint
from .training import Training

if TYPE_CHECKING:  # pragma: no cover
    import keras
    from matplotlib.figure import Figure


class RecipeContext:
    """The object passed to every recipe as ``ctx``: a façade over the run's capture
    (:mod:`.captured`), its data (:mod:`.loading`) and its fits (:mod:`.training`)."""

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
        self._events = events or EventSink(None)
        self._scrub = path_scrubber or (lambda text: text)
        self._log = io.StringIO()
        self._capture = Capture()
        self._training = Training(seed=seed, capture=self._capture, log=self._log, events=self._events,
                                  checkpoint=RunCheckpoint(checkpoint_dir) if checkpoint_dir else None)
        self._data = ImageLoader(seed=seed, project_root=project_root, data_dir=data_dir,
                                 cache_dir=cache_dir or project_cache_dir(project_root),
                                 announce=self._announce, epoch=self._training.epoch)

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
        self._capture.record(name, value)

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
        return self._capture.add_figure(self.output_dir, name, fig, caption)

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
        return self._data.load(spec, image_size=image_size, batch_size=batch_size, per_class=per_class,
                               chosen=chosen, shuffle=shuffle)

    def _announce(self, text: str) -> None:
        """Say once, on the build's console and in the run's full log (not the stored one: it is
        about this machine, not the run), what the worker wrote into Keras' cache."""
        text = self._scrub(text)
        print(f"litblog: {text}", file=sys.stderr, flush=True)
        self._events.emit("notice", message=text)

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
        return self._capture.add_summary(model, phase)

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
        return self._training.fit(model, x, y, epochs=epochs, initial_epoch=initial_epoch, phase_name=phase_name,
                                  callbacks=callbacks, fit_kwargs=fit_kwargs)

    @property
    def history(self) -> dict[str, list[float]]:
        """The joined history so far: metric name -> one value per epoch."""
        return self._capture.history

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
        from .finetune import prepare

        prepare(model, base, from_layer=from_layer, learning_rate=learning_rate, optimizer=optimizer,
                record=self.record)
        self.summary(model, phase=phase)
        return self.fit(model, x, epochs=epochs, phase=phase, **fit_kwargs)

    def evaluate(self, model: "keras.Model", data: Any, *, name: str = "test", **kwargs: Any) -> dict[str, float]:
        """``model.evaluate`` (its Keras log line goes to the log); values recorded as ``<name>.<metric>``.

        A label line comes first in the log, naming the split when ``data`` is a pipeline of
        :meth:`image_data` (``Evaluate on test (name 'test'):``), else only the name.
        """
        found = self._data.split_of(data)
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
        require_images(data, split, "ctx.predict")
        predictions, head = predict_split(model, data, split, head)
        truth, predicted = predictions.y_true, predictions.y_pred
        name = name or split
        relative = f"predictions/{name}.json"
        write_predictions(self.output_dir / relative, predictions, self._scrub)
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
        return self._capture.write(self.output_dir, self.log_text, self._scrub)
