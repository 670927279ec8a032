"""``build-site``'s command line: the subcommand registry, ``build`` as the default, the old flags.

Routing is checked on the real parser; builds are real and train nothing (``--no-run``, ``plan``,
``check`` on a fresh project).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli, snapshot
from litblog.buildtime.commands import cli

STRIPES = "posts/2026-01-05-stripes.md"
COUNTS = "posts/2026-01-06-counts.md"

ROUTES = [
    # Every invocation that worked before the subcommands still means what it meant.
    ([], "build", []),
    ([STRIPES], "build", [STRIPES]),
    (["--plan"], "build", ["--plan"]),
    (["--check"], "build", ["--check"]),
    (["--plan", "posts/serve.md"], "build", ["--plan", "posts/serve.md"]),
    (["serve", "--run"], "serve", ["--run"]),
    (["serve", "--port", "0"], "serve", ["--port", "0"]),
    (["--project", "blog", "-q", "serve", "--run"], "serve", ["--project", "blog", "-q", "--run"]),
    # The command word may come after options, and an option's value is never taken for it.
    (["build", "--no-run", STRIPES], "build", ["--no-run", STRIPES]),
    (["-j", "2", "build", STRIPES], "build", ["-j", "2", STRIPES]),
    (["-C", "serve", "plan"], "plan", ["-C", "serve"]),
    (["-Cblog", "serve"], "serve", ["-Cblog"]),
    (["-qC", "check", "serve"], "serve", ["-qC", "check"]),
    (["--proj", "plan", "serve"], "serve", ["--proj", "plan"]),  # argparse's abbreviation of --project
    (["--project=plan", "check"], "check", ["--project=plan"]),
    (["--set", "check=1", "plan"], "plan", ["--set", "check=1"]),
    (["--", "serve"], "build", ["--", "serve"]),  # after --, every word is a post
    # The top level's own --help and --version; anything else with --help is build's.
    (["--help"], None, ["--help"]),
    (["-q", "--help"], None, ["-q", "--help"]),
    (["--version"], None, ["--version"]),
    (["--plan", "--help"], "build", ["--plan", "--help"]),
]


@pytest.mark.parametrize("argv, command, rest", ROUTES, ids=[" ".join(r[0]) or "(nothing)" for r in ROUTES])
def test_the_command_word_is_found_wherever_it_is(argv: list[str], command: str | None, rest: list[str]) -> None:
    assert cli.split_command(argv) == (command, rest)


def test_a_bare_word_naming_an_existing_file_is_a_post(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").write_text("")
    assert cli.split_command(["notes"]) == ("build", ["notes"])
    with pytest.raises(cli.UserError, match="unknown command 'nodes'"):
        cli.split_command(["nodes"])


@pytest.mark.parametrize("argv", [["-q", "serve"], ["serve", "-q"], ["-q", "serve", "-p", "0"]])
def test_shared_options_before_or_after_the_command_word(argv: list[str]) -> None:
    command, args = cli.parse_command_line(argv)
    assert command.name == "serve" and args.quiet and not args.verbose
    assert args.port == (0 if "-p" in argv else 4000)


def test_old_flags_parse_as_before() -> None:
    command, args = cli.parse_command_line(["-C", "blog", "--plan", "--set", "epochs=2", STRIPES, "--no-wait"])
    assert command.name == "build"
    assert (args.project, args.plan, args.overrides, args.posts, args.no_wait) == (
        Path("blog"), True, ["epochs=2"], [STRIPES], True)
    command, args = cli.parse_command_line(["plan", "--force", COUNTS, "-v"])
    assert command.name == "plan" and args.force and args.verbose and args.posts == [COUNTS]


def test_every_option_reads_the_same_in_every_command() -> None:
    # split_command skips option values by looking options up in all commands at once.
    parser = cli.build_parser()
    seen: dict[str, bool] = {}
    for sub in [parser, *parser.commands.values()]:
        for action in sub._actions:
            for string in action.option_strings:
                assert seen.setdefault(string, action.nargs != 0) == (action.nargs != 0), string


@pytest.mark.parametrize("argv, command, refused", [
    (["plan", "--prune"], "plan", "--prune"), (["check", "--force"], "check", "--force"),
    (["serve", "--no-wait"], "serve", "--no-wait"), (["--jobs", "2", "plan"], "plan", "--jobs"),
])
def test_a_command_refuses_options_that_are_not_its_own(argv: list[str], command: str, refused: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"usage: build-site {command} " in err
    assert f"error: unrecognized arguments: {refused}\n  hint: build-site {command} --help lists the options" in err


def _litblog(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m litblog ARGS``: the entry point a user runs."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "litblog", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_help_lists_every_command_in_one_line(tmp_path: Path) -> None:
    done = _litblog("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for command in cli.COMMANDS.values():
        line = next(line for line in lines if line.split()[:1] == [command.name])
        assert command.summary.split()[0] in line
    assert "Exit status: 0 built" in done.stdout


@pytest.mark.parametrize("command, option", [("serve", "--port N"), ("build", "--check"), ("plan", "--retry-blocked"),
                                             ("check", "--no-wait")])
def test_each_command_has_its_help(tmp_path: Path, command: str, option: str) -> None:
    done = _litblog(command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: build-site {command} ") and option in done.stdout


@pytest.mark.parametrize("word, suggestion", [("serv", "serve"), ("biuld", "build"), ("chek", "check"),
                                              ("plna", "plan"), ("frobnicate", None)])
def test_a_mistyped_command_is_a_user_error_with_a_suggestion(tmp_path: Path, word: str,
                                                               suggestion: str | None) -> None:
    done = _litblog("-q", word, "--run", cwd=tmp_path)  # outside any project: refused before looking
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = f"error: unknown command '{word}'" + (f" (did you mean '{suggestion}'?)" if suggestion else "\n")
    assert message in done.stderr
    assert "hint: the commands are build, plan, check, reproduce, serve" in done.stderr


def test_plan_is_the_plan_flag(fresh_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(fresh_project, "--plan", STRIPES) == 0
    flag = capsys.readouterr().out  # the plan is the command's output: stdout
    assert run_cli(fresh_project, "plan", STRIPES) == 0
    assert capsys.readouterr().out == flag
    assert "plain" in flag and "count" not in flag  # the post's experiment; not the other post's
    assert not (fresh_project / "site").exists() and not (fresh_project / "results").exists()


def test_check_is_the_check_flag(fresh_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(fresh_project, "--check") == 1  # nothing is stored yet
    flag = capsys.readouterr().err
    assert run_cli(fresh_project, "check") == 1
    assert capsys.readouterr().err == flag and "stale" in flag
    assert run_cli(fresh_project, "build", "--check", "--no-run") == 2
    assert "--check cannot be combined with --no-run" in capsys.readouterr().err


def test_build_word_and_default_build_the_same_site(fresh_project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(fresh_project, other)
    assert run_cli(fresh_project, "-q", "--no-run") == 0
    assert run_cli(other, "build", "-q", "--no-run") == 0
    site = snapshot(fresh_project / "site")
    assert any(name.startswith("_posts/") for name in site)
    assert snapshot(other / "site") == site
    # Options before the word, and a post named by its path, as before.
    assert run_cli(other, "--no-run", "build", str(other / STRIPES), "-q") == 0


def test_serve_reaches_its_own_checks(fresh_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(fresh_project, "-q", "serve", "--port", "70000") == 2
    assert "error: --port 70000 is not a port" in capsys.readouterr().err
    assert not (fresh_project / "site").exists()


def test_an_unknown_command_in_a_project_changes_nothing(fresh_project: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(fresh_project, "serv", "--run") == 2
    assert "(did you mean 'serve'?)" in capsys.readouterr().err
    assert not (fresh_project / "site").exists()


def test_python_m_litblog_runs_a_subcommand(fresh_project: Path, tmp_path: Path) -> None:
    done = _litblog("plan", "--project", str(fresh_project), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "plain" in done.stdout and "Traceback" not in done.stderr  # the plan: stdout


def test_an_executor_is_a_registry_entry_the_command_line_offers(fresh_project, monkeypatch):
    from litblog.buildtime.execute import executors

    given = []

    def record(experiments, config, store, reporter, options):
        given.extend(e.label for e in experiments)
        return []

    monkeypatch.setitem(executors.EXECUTORS, "fake", executors.Executor("fake", "a test's", record))
    assert run_cli(fresh_project, "-q", "--executor", "fake") == 0
    assert sorted(given) == ["count", "flipped", "plain"]
    with pytest.raises(SystemExit) as refused:  # not in the registry: argparse's usage error
        run_cli(fresh_project, "-q", "--executor", "nowhere")
    assert refused.value.code == 2
