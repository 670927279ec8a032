"""Control over single runs: ``--force EXPERIMENT`` and ``--force 'EXPERIMENT[seed K]'`` re-run
only those; a deleted run folder is explained as missing; ``--plan`` is the command's output, on
stdout, so ``build-site --plan | grep`` works."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import run_cli
from litblog.buildtime.commands import cli
from litblog.buildtime.plan.plan import ForceTarget, parse_force
from litblog.common.errors import UserError
from test_seeds import _ran, _set_seeds, _stored


def _manifests(root, recipe="tiny.stripes"):
    return {p.parent.name: json.loads(p.read_text()) for p in (root / "results" / recipe).glob("*/manifest.json")}


def test_force_values_are_parsed_and_posts_are_kept_apart():
    assert parse_force(None) is False and parse_force([True]) is True
    assert parse_force(["model1", "model1[seed 2]", "m-2[seed=3]", "x[seed4]"]) == (
        ForceTarget("model1"), ForceTarget("model1", 2), ForceTarget("m-2", 3), ForceTarget("x", 4))
    assert parse_force(["model1", True]) is True  # a bare --force beside a name: everything
    with pytest.raises(UserError, match=r"--force 'model1\[2\]' is not an experiment"):
        parse_force(["model1[2]"])
    _, args = cli.parse_command_line(["--force", "posts/x.md"])
    assert args.posts == ["posts/x.md"] and parse_force(args.force) is True
    _, args = cli.parse_command_line(["--force", "model1[seed 2]", "posts/x.md"])
    assert args.posts == ["posts/x.md"] and parse_force(args.force) == (ForceTarget("model1", 2),)


def test_force_one_seed_reruns_exactly_that_run_and_a_deleted_one_is_explained_as_missing(project, capsys):
    _set_seeds(project, "seeds: [1, 2]")
    assert run_cli(project, "-q") == 0
    before = _manifests(project)
    assert run_cli(project, "-q", "--force", "plain[seed 2]") == 0
    assert _ran(project) == ["plain [seed 2]"]
    after = _manifests(project)
    assert set(after) == set(before)  # the same keys: replaced, not added
    rerun = [key for key in after if after[key]["timings"] != before[key]["timings"]]
    assert len(rerun) == 1 and after[rerun[0]]["key_inputs"]["seed"] == 2
    # the whole experiment: both its seeds, nothing else
    assert run_cli(project, "-q", "--force", "plain") == 0
    assert _ran(project) == ["plain [seed 1]", "plain [seed 2]"]
    # a name or seed the posts do not have: a user error, with a way out
    capsys.readouterr()
    assert run_cli(project, "--force", "plian") == 2
    err = capsys.readouterr().err
    assert "--force plian: no experiment 'plian' in the posts being built" in err and "plain" in err
    assert run_cli(project, "--force", "plain[seed 7]") == 2
    assert "experiment 'plain' has no seed 7" in capsys.readouterr().err
    _a_deleted_run_is_explained_as_missing_and_the_plan_goes_to_stdout(project, capsys)


def _a_deleted_run_is_explained_as_missing_and_the_plan_goes_to_stdout(project, capsys):
    """Run on the project above (seeds 1 and 2 stored) rather than on a copy built again for it."""
    seed_two = next(key for key, m in _manifests(project).items() if m["key_inputs"]["seed"] == 2)
    shutil.rmtree(project / "results" / "tiny.stripes" / seed_two)
    capsys.readouterr()
    assert run_cli(project, "--plan", "-v") == 0
    out, err = capsys.readouterr()
    assert "plain [seed 2]" in out and "run: missing: no stored result for seed 2 (seed 1 with the same " \
                                      "inputs is stored)" in out, out
    assert "seed: 1 -> 2" not in out and "seed: 0 -> 1" not in out
    assert "would run" not in err  # the plan is on stdout only
    # as a user types it, through a pipe
    command = (f"{shlex.quote(sys.executable)} -m litblog --project {shlex.quote(str(project))} --plan "
               f"| grep 'seed 2'")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "missing: no stored result for seed 2" in done.stdout, done.stderr
    assert _stored(project)  # nothing ran
