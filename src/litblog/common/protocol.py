"""The worker protocol's constants, shared by the build (executors) and the worker.

A module of its own so that build-time code can name them without importing the worker.
"""

from __future__ import annotations

import enum

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DATASET = 3
EXIT_BLOCKED = 4  # a prerequisite (pretrained weights) is missing: recorded, retried when it appears
EXIT_TERMINATED = 143  # stopped by SIGTERM (timeout, Ctrl-C of the build, or the build died)

EVENT_FD_ENV = "LITBLOG_EVENT_FD"  # the pipe the worker writes its JSON events to
PARENT_PID_ENV = "LITBLOG_PARENT_PID"  # the build; the worker stops when it is gone


class RunStatus(str, enum.Enum):
    """How one run ended, with the one table of words the console and the pages use for it."""

    STORED = "stored"
    FAILED = "failed"
    DATASET = "dataset"  # a dataset is unavailable: the author's to fix, exit 2
    BLOCKED = "blocked"  # a prerequisite (pretrained weights) is missing: recorded, retried when it appears
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"  # never started: an earlier run failed

    def __str__(self) -> str:
        return self.value

    @property
    def console_words(self) -> str:
        """As in "experiment 'model1' <words>: <message>"."""
        return _WORDS[self][0]

    @property
    def page_words(self) -> str:
        """As in "The run <words>: <message>" on the page."""
        return _WORDS[self][1]


_WORDS = {
    RunStatus.STORED: ("was stored", "was stored"),
    RunStatus.FAILED: ("failed", "failed"),
    RunStatus.DATASET: ("has no data", "found no data"),
    RunStatus.BLOCKED: ("is blocked", "could not start"),
    RunStatus.TIMEOUT: ("timed out", "timed out"),
    RunStatus.CANCELLED: ("was cancelled", "was cancelled"),
}
