"""What makes a run resumable: a checkpoint after every epoch, and randomness that depends on the epoch.

After Ctrl-C, a crash or ``kill -9``, the next build runs the recipe again from the top; each
``ctx.fit`` then finds its checkpoint: a fit that had finished is replayed (its weights,
history and log lines restored, nothing trained), an unfinished one continues after its last
completed epoch. Because the training order of the data and the random state of every
layer (dropout, augmentation) are set from (seed, epoch) at the start of each epoch, the
resumed run gives the same numbers as an uninterrupted one.

On disk, under the run's checkpoint folder: ``fit-<n>/gen-<m>/`` holds the weights (with the
optimizer's state) and the fit's record after an epoch; ``fit-<n>/current`` names the newest
complete generation and is replaced atomically, so a kill at any point leaves a usable one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..common.fsutil import atomic_write_text, remove_confined

if TYPE_CHECKING:  # pragma: no cover
    import keras

WEIGHTS = "weights.weights.h5"
RECORD = "record.json"
# Keras seed generators count calls in their second word: one epoch never makes 2**20 calls.
_EPOCH_STRIDE = 2 ** 20


@dataclass
class FitRecord:
    """One ``ctx.fit`` call so far: epochs run, their metrics, what it printed, time spent."""

    index: int
    phase: str
    epochs: list[int] = field(default_factory=list)  # 1-based, as in the history
    metrics: dict[str, list[float]] = field(default_factory=dict)
    log: str = ""
    train_seconds: float = 0.0
    done: bool = False


@dataclass(frozen=True)
class SavedFit:
    record: FitRecord
    weights: Path


class RunCheckpoint:
    """The checkpoints of one run (one cache key), in its own folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, index: int) -> SavedFit | None:
        """The newest complete checkpoint of fit number ``index``, if any."""
        fit_dir = self.folder / f"fit-{index}"
        try:
            generation = fit_dir / (fit_dir / "current").read_text().strip()
            record = FitRecord(**json.loads((generation / RECORD).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        weights = generation / WEIGHTS
        return SavedFit(record, weights) if weights.is_file() else None

    def save(self, record: FitRecord, model: "keras.Model") -> None:
        """Write a new generation for ``record`` and make it current; older ones are removed."""
        fit_dir = self.folder / f"fit-{record.index}"
        fit_dir.mkdir(parents=True, exist_ok=True)
        previous = [p for p in fit_dir.glob("gen-*") if p.is_dir()]
        number = 1 + max((int(p.name.split("-")[1]) for p in previous), default=0)
        generation = fit_dir / f"gen-{number}"
        generation.mkdir()
        model.save_weights(str(generation / WEIGHTS))
        (generation / RECORD).write_text(json.dumps(asdict(record)))
        atomic_write_text(fit_dir / "current", generation.name)
        for old in previous:
            remove_confined(old, self.folder, ignore_errors=True)

    def clear(self) -> None:
        remove_confined(self.folder, self.folder.parent, ignore_errors=True)


def restore_weights(model: "keras.Model", weights: Path) -> None:
    """Load saved weights and optimizer state into ``model``."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(str(weights))


def seed_generators(model: "keras.Model") -> list[Any]:
    """Every Keras ``SeedGenerator`` of the model's layers (dropout, random augmentation)."""
    found: list[Any] = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        found.extend(getattr(layer, "_seed_generators", []))
    return found


def epoch_callbacks(
    seed: int,
    set_epoch: Callable[[int], None],
    record: FitRecord,
    checkpoint: RunCheckpoint | None,
    log_so_far: Callable[[], str],
    resume_from: SavedFit | None,
) -> list[Any]:
    """Callbacks that seed each epoch and record (and checkpoint) it, in the order they must run."""
    import keras
    import numpy as np

    class EpochRandomness(keras.callbacks.Callback):
        """Sets the data order and every layer's random state from (seed, epoch)."""

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            set_epoch(epoch)
            for position, generator in enumerate(seed_generators(self.model)):
                base = (seed * 1_000_003 + position * 7919 + 12345) % 2 ** 31
                generator.state.assign(np.array([base, epoch * _EPOCH_STRIDE], dtype=generator.state.dtype))

    class EpochRecorder(keras.callbacks.Callback):
        """Adds each finished epoch to the fit's record and saves a checkpoint of it.

        It runs after Keras' progress logger, so the epoch's log line is in the record.
        """

        def on_train_begin(self, logs: dict | None = None) -> None:
            if resume_from is not None and resume_from.record.epochs:
                restore_weights(self.model, resume_from.weights)
                # Keras' own resume hook (BackupAndRestore uses it): start after the saved epochs.
                self.model._initial_epoch = resume_from.record.epochs[-1]

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            length = len(record.epochs)
            record.epochs.append(epoch + 1)
            for name, value in (logs or {}).items():
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    continue
                record.metrics.setdefault(name, [float("nan")] * length).append(number)
            for series in record.metrics.values():
                series.extend([float("nan")] * (len(record.epochs) - len(series)))
            record.log = log_so_far()
            if checkpoint is not None:
                checkpoint.save(record, self.model)

        def on_train_end(self, logs: dict | None = None) -> None:
            self.model._initial_epoch = None
            record.log = log_so_far()
            record.done = True
            if checkpoint is not None:
                checkpoint.save(record, self.model)

    return [EpochRandomness(), keras.callbacks.ProgbarLogger(), EpochRecorder()]


__all__ = ["FitRecord", "RunCheckpoint", "SavedFit", "epoch_callbacks", "restore_weights"]
