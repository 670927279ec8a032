"""The fits of one run: ``ctx.fit``'s training, checkpointed after every epoch and replayed on resume.

:class:`Training` numbers each ``ctx.fit`` call, finds its checkpoint (:mod:`.resume`), trains
with the callbacks in their fixed order and joins what the fit did to the run's
:class:`~.captured.Capture`. It also owns the epoch variable the shuffled training pipeline reads.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any, Sequence

from .capture import EventSink, progress_callback
from .captured import Capture
from .resume import FitRecord, RunCheckpoint, SavedFit, epoch_callbacks, restore_weights

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf


class Training:
    """Every ``ctx.fit`` of a run, in order."""

    def __init__(self, *, seed: int, capture: Capture, log: io.StringIO, events: EventSink,
                 checkpoint: RunCheckpoint | None) -> None:
        self._seed = seed
        self._capture = capture
        self._log = log
        self._events = events
        self._checkpoint = checkpoint
        self._fits = 0
        self._epoch_variable: Any = None

    def epoch(self) -> "tf.Variable":
        """The epoch number shuffled pipelines read; ``fit`` sets it as each epoch begins."""
        if self._epoch_variable is None:
            import tensorflow as tf

            self._epoch_variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="litblog_epoch")
        return self._epoch_variable

    def _set_epoch(self, epoch: int) -> None:
        if self._epoch_variable is not None:
            self._epoch_variable.assign(epoch)

    def fit(self, model: "keras.Model", x: Any, y: Any, *, epochs: int, initial_epoch: int | None,
            phase_name: str, callbacks: Sequence[Any], fit_kwargs: dict[str, Any]) -> dict[str, list[float]]:
        """``ctx.fit`` once its phase is named: replay a finished fit or train (on from its checkpoint)."""
        capture = self._capture
        if id(model) not in capture.summarised and model.built:
            capture.add_summary(model, phase_name)
        index, self._fits = self._fits, self._fits + 1
        saved = self._checkpoint.load(index) if self._checkpoint else None
        if saved is not None and saved.record.done:
            return self._replay(model, saved)
        if initial_epoch is None:
            initial_epoch = capture.epochs[-1] if capture.epochs else 0
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
        recording = epoch_callbacks(self._seed, self._set_epoch, record, self._checkpoint,
                                    lambda: self._log.getvalue()[log_start:], saved)
        earlier_seconds = record.train_seconds
        started = time.perf_counter()
        try:
            model.fit(x, y, epochs=epochs, initial_epoch=initial_epoch,
                      callbacks=[*callbacks, *recording, progress_callback(self._events, epochs)], **fit_kwargs)
        finally:
            record.train_seconds = earlier_seconds + time.perf_counter() - started
        capture.train_seconds += record.train_seconds
        if id(model) not in capture.summarised:
            capture.add_summary(model, phase_name)
        capture.add_fit(record)
        return capture.history

    def _replay(self, model: "keras.Model", saved: SavedFit) -> dict[str, list[float]]:
        """A fit that finished before the run was interrupted: restore it instead of training."""
        record = saved.record
        restore_weights(model, saved.weights)
        print(record.log, end="")
        self._events.emit("phase", name=record.phase, first_epoch=record.epochs[0] if record.epochs else 1,
                          epochs=record.epochs[-1] if record.epochs else 0, replayed=True)
        self._capture.train_seconds += record.train_seconds
        self._capture.add_fit(record)
        return self._capture.history


def _is_dataset(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec")
