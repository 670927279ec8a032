"""What a run prints and reports: the captured log (a tee of stdout) and progress events.

The worker's parent reads the events (one JSON object per line) for live progress; the tee
keeps what the recipe and Keras print for the result's ``log.txt`` and the run's full log.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from typing import Any


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


class Tee(io.TextIOBase):
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


def progress_callback(events: EventSink, epochs: int) -> Any:
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
                            logs=floats(logs), elapsed=now - self._epoch_started)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            events.emit("epoch_end", epoch=epoch + 1, epochs=epochs, logs=floats(logs),
                        seconds=time.monotonic() - self._epoch_started)

    return Progress()


def floats(logs: dict | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if is_number(v)}


def is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
