"""Progress display: what a live line says, and the estimate of time left."""

import io
from pathlib import Path
from types import SimpleNamespace

from litblog.buildtime.execute.progress import ConsoleReporter, LiveReporter, RunProgress, duration, make_reporter


def test_a_live_line_shows_epoch_batch_time_left_and_metrics():
    run = RunProgress("model1", started=0.0)
    run.update({"event": "phase", "name": "training"}, now=0.0)
    run.update({"event": "epoch_begin", "epoch": 1, "epochs": 4}, now=0.0)
    run.update({"event": "batch", "epoch": 1, "epochs": 4, "batch": 10, "steps": 40,
                "logs": {"accuracy": 0.61234, "loss": 0.7}}, now=5.0)
    # 10 of 40 batches in 5 s: 20 s an epoch, 3.75 epochs to go
    assert run.seconds_left(now=5.0) == 75.0
    assert run.line(now=5.0) == "model1          epoch 1/4  batch 10/40  ~1 min 15 s left  accuracy 0.6123  loss 0.7000"
    run.update({"event": "epoch_end", "epoch": 1, "epochs": 4, "logs": {"accuracy": 0.65}, "seconds": 18.0}, now=18.0)
    run.update({"event": "epoch_begin", "epoch": 2, "epochs": 4}, now=18.0)
    assert run.seconds_left(now=18.0) == 54.0  # three epochs at the 18 s measured


def test_a_line_before_the_first_epoch_says_starting():
    assert RunProgress("m", started=0.0).line(now=3.0) == "m               starting (3 s)"


def test_plain_output_off_a_terminal():
    assert type(make_reporter(io.StringIO(), 1)) is ConsoleReporter

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(make_reporter(Terminal(), 1), LiveReporter)
    assert type(make_reporter(Terminal(), 0)) is ConsoleReporter  # -q: nothing live


def test_durations():
    assert [duration(s) for s in (4.4, 75, 3725)] == ["4 s", "1 min 15 s", "1 h 02 min"]


def test_a_worker_notice_is_a_line_on_the_console_and_above_the_live_display():
    experiment = SimpleNamespace(label="model1", key="k1")
    notice = {"event": "notice", "message": "extracted cats_and_dogs_filtered.zip into "
                                            "~/.keras/datasets/cats_and_dogs_extracted/cats_and_dogs_filtered "
                                            "(3,000 images, 68.6 MB); later runs use this copy"}
    plain = io.StringIO()
    ConsoleReporter(plain).run_event(experiment, notice)
    assert plain.getvalue() == f"[model1] {notice['message']}\n"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    live = LiveReporter(screen)
    live.run_started(experiment, Path(".litblog/logs/model1-k1.log"))
    live.run_event(experiment, notice)
    live.close()
    assert f"[model1] {notice['message']}" in screen.getvalue()
    quiet = io.StringIO()
    ConsoleReporter(quiet, verbosity=0).run_event(experiment, notice)
    assert quiet.getvalue() == ""  # -q: only warnings and errors
