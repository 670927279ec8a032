"""The worker protocol's constants, shared by the build (executors) and the worker.

A module of its own so that build-time code can name them without importing the worker.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DATASET = 3
EXIT_BLOCKED = 4  # a prerequisite (pretrained weights) is missing: recorded, retried when it appears
EXIT_TERMINATED = 143  # stopped by SIGTERM (timeout, Ctrl-C of the build, or the build died)

EVENT_FD_ENV = "LITBLOG_EVENT_FD"  # the pipe the worker writes its JSON events to
PARENT_PID_ENV = "LITBLOG_PARENT_PID"  # the build; the worker stops when it is gone
