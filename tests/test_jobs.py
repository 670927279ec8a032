"""How many runs a build starts at once when neither --jobs nor jobs: says."""

from __future__ import annotations

from litblog.buildtime.execute.execute import SMALL_WORKER_MEMORY_BYTES, default_jobs, small_run_jobs

GiB = 2**30


def test_small_runs_use_every_core_as_memory_allows():
    assert small_run_jobs(cores=2, memory=8 * GiB) == 2
    assert small_run_jobs(cores=16, memory=3 * SMALL_WORKER_MEMORY_BYTES) == 3
    assert small_run_jobs(cores=4, memory=None) == 4
    assert small_run_jobs(cores=1, memory=0) == 1


def test_the_default_before_runs_prove_small_stays_memory_safe():
    # Two threads per worker, 3 GiB each: on 2 cores one run at a time, as before.
    assert default_jobs(cores=2, memory=8 * GiB, gpus=0) == 1
    assert default_jobs(cores=16, memory=6 * GiB, gpus=0) == 2
    assert small_run_jobs(cores=2, memory=8 * GiB) > default_jobs(cores=2, memory=8 * GiB, gpus=0)
