"""``build-site``: the command line. Exit 0 built, 1 an experiment failed, 2 a user error.

Subcommands (``build``, the default; ``plan``; ``check``; ``reproduce``; ``serve``) live in
:data:`COMMANDS`, one :class:`Command` each. Options every command shares are defined once, in parent parsers.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn

from ... import __version__
from .pipeline import EXIT_FAILED, BuildOptions, build
from ..sources.config import CONFIG_NAME, find_project_root
from ..execute.executors import EXECUTORS
from ...common.errors import LitblogError, UserError, UserErrors, did_you_mean
from ..plan.plan import parse_force, parse_overrides
from ..execute.progress import NORMAL, QUIET, VERBOSE, make_reporter
from ..sources.schema import PLAIN_VALUES, plain_value_problem
from ..sources.yaml_source import load_scalar

if TYPE_CHECKING:
    from ..execute.progress import ConsoleReporter

PROG = "build-site"
DEFAULT_COMMAND = "build"
EXIT_STATUS = ("Exit status: 0 built (--check: everything current); 1 an experiment failed (--check: a result is "
               "stale or site/ differs from what a build writes; like a failed run, it is fixed by running "
               "build-site); 2 a mistake in a post, the config or the command line, which no rebuild fixes.")

# ``epochs`` or ``model1.epochs``: a param name, optionally after an experiment name.
_OVERRIDE_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_-]*\.)?[A-Za-z_][A-Za-z0-9_]*$")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors written like every other: ``error: ...`` on a line of its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, _Parser] = {}  # the top-level parser's subcommand parsers, by name

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n  hint: {self.prog} --help lists the options\n")


# -- values checked before they reach a library (argparse ``type=``: a bad one is ``error: ...``, exit 2) --

# The transports distributed's Client connects over; ``inproc`` is one process's own and never a cluster.
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def scheduler_address(text: str) -> str:
    """``--scheduler``: ``[SCHEME://]HOST:PORT``, as ``distributed.Client`` takes it; else ``ArgumentTypeError``."""
    import ipaddress
    from urllib.parse import urlsplit

    example = "for example tcp://127.0.0.1:8786"
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "tcp", text
    if scheme.lower() not in SCHEDULER_SCHEMES:
        raise argparse.ArgumentTypeError(f"'{text}': unknown scheme '{scheme}' (use one of "
                                         f"{', '.join(s + '://' for s in SCHEDULER_SCHEMES)}; {example})")
    try:
        parts = urlsplit(f"{scheme.lower()}://{rest}")
        port = parts.port
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}': {exc} ({example})") from None
    host = parts.hostname or ""
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise argparse.ArgumentTypeError(f"'{text}' should be only SCHEME://HOST:PORT ({example})")
    if not host:
        raise argparse.ArgumentTypeError(f"'{text}' names no host ({example})")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host[-1:] == "." or not all(_HOST_LABEL.match(label) for label in host.split(".")) \
                or host.replace(".", "").isdigit():
            raise argparse.ArgumentTypeError(f"'{text}': '{host}' is not a host name or IP address "
                                             f"({example})") from None
    if port is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no port ({example}; 8786 is Dask's default)")
    if port == 0:
        raise argparse.ArgumentTypeError(f"'{text}': port 0 is not a scheduler's port (use 1-65535; {example})")
    return text


def resource_assignment(text: str) -> str:
    """``--dask-resources``: ``NAME=AMOUNT``, a plain name and a finite amount of at least 0."""
    name, separator, amount = text.partition("=")
    example = "for example --dask-resources GPU=1"
    if not separator or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name.strip()):
        raise argparse.ArgumentTypeError(f"'{text}' should be written NAME=AMOUNT ({example})")
    try:
        value = float(amount)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': '{amount}' is not a number ({example})") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"'{text}': the amount must be a finite number, 0 or more ({example})")
    return text


def check_overrides(assignments: list[str]) -> None:
    """Refuse ``--set`` values that are not ``name=value`` with a plain YAML value.

    ``plan.parse_overrides`` reads the values; this catches what it would let through as a
    string or fail on (``epochs=[1,``, a date, ``.inf``, a self-referencing alias).
    """
    errors: list[UserError] = []
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        hint = "for example --set epochs=2, or --set model1.epochs=2 for one experiment"
        if not sep or not name.strip():
            errors.append(UserError(f"--set '{assignment}' should be written name=value", hint=hint))
            continue
        if not _OVERRIDE_NAME.match(name.strip()):
            errors.append(UserError(f"--set '{assignment}': '{name}' is not a param name", hint=hint))
            continue
        if not raw.strip():
            continue
        try:
            value: Any = load_scalar(raw)
        except UserError as exc:
            errors.append(exc)
            continue
        except Exception as exc:  # any YAML error: a value starting a list or mapping must parse
            if raw.lstrip()[:1] in "[{&*!|>'\"":
                problem = getattr(exc, "problem", None) or "invalid YAML"
                errors.append(UserError(f"--set '{assignment}': {problem}",
                                        hint="quote the value to pass it as a string: --set 'name=\"...\"'"))
            continue
        problem = plain_value_problem(value)
        if problem:
            errors.append(UserError(f"--set '{assignment}' {problem}", hint=f"params must be {PLAIN_VALUES}"))
    if errors:
        raise UserErrors(errors)


def _project_root(project: Path | None) -> Path:
    if project is None:
        return find_project_root(Path.cwd())
    root = project.expanduser().resolve()
    if not root.is_dir():
        raise UserError(f"--project {project}: no such folder", hint="give the folder holding _config.yml")
    if not (root / CONFIG_NAME).is_file():
        raise UserError(f"--project {project}: no {CONFIG_NAME} in that folder",
                        hint=f"give the folder holding {CONFIG_NAME}, or create it with at least a 'title:'")
    return root


# -- options shared by several commands: each set is defined once, as a parent parser ---------------


def _common_options() -> argparse.ArgumentParser:
    """``--project/-C`` and ``-q``/``-v``: every command, and the top level."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--project", "-C", metavar="DIR", type=Path,
                        help="the project folder (default: the one holding _config.yml, from here up)")
    verbosity = parent.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    verbosity.add_argument("-v", "--verbose", action="store_true",
                           help="print more detail (serve: and each request)")
    return parent


def _lock_options() -> argparse.ArgumentParser:
    """``--no-wait``: the commands that take the project's build lock (build, plan, check)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--no-wait", action="store_true",
                        help="exit instead of waiting when another build of this project is running")
    return parent


def _plan_options() -> argparse.ArgumentParser:
    """What decides the plan: the posts, ``--force``, ``--set``, ``--retry-blocked`` (build, plan)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("posts", nargs="*", metavar="POST",
                        help="post files (default: all posts); a build leaves the others' output as it was")
    parent.add_argument("--force", nargs="?", const=True, action="append", metavar="EXPERIMENT",
                        help="re-run even if results are stored: alone, every experiment of the posts built; "
                             "--force model1 only that experiment's runs, --force 'model1[seed 2]' only that "
                             "run (repeatable)")
    parent.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override a param of every experiment that has it (epochs=2), or of one "
                             "(model1.epochs=2); repeatable. A draft: only the preview (site/_site) is "
                             "written, never the published site/")
    parent.add_argument("--retry-blocked", action="store_true",
                        help="run experiments recorded as blocked by missing files (e.g. weights) again")
    return parent


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"litblog {__version__}")


# -- the commands --------------------------------------------------------------------------------------


def _build_setup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-run", action="store_true",
                        help="train nothing: experiments without a stored result are shown as notices")
    parser.add_argument("--plan", action="store_true",
                        help="print what would run and why (no result yet, or which input changed); run "
                             "nothing. The plan command")
    parser.add_argument("--check", action="store_true",
                        help="train and write nothing: check that every experiment has a current stored result "
                             "and that site/ is what a build writes now (exit 1 if not); needs no TensorFlow. "
                             "The check command")
    parser.add_argument("--jobs", "-j", type=int, metavar="N", help="experiments to run at once")
    parser.add_argument("--executor", choices=tuple(EXECUTORS), default="local",
                        help="where experiments run: " + "; ".join(f"{e.name}, {e.help}" for e in EXECUTORS.values()))
    parser.add_argument("--scheduler", metavar="ADDRESS", type=scheduler_address,
                        help="the Dask scheduler for --executor dask, like tcp://HOST:8786")
    parser.add_argument("--dask-resources", action="append", default=[], metavar="NAME=AMOUNT",
                        type=resource_assignment,
                        help="Dask worker resources each experiment needs, like GPU=1; repeatable")
    parser.add_argument("--keep-going", action="store_true", default=None,
                        help="after a failed experiment, run the others and write the site with a notice")
    parser.add_argument("--prune", action="store_true",
                        help="after a full build, delete stored results no post uses any more")
    _add_version(parser)  # `build-site --plan --version` has always printed the version


def _build_run(args: argparse.Namespace, root: Path, reporter: ConsoleReporter) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    check_overrides(args.overrides)
    if args.check:
        return _check_flag(args, root, reporter)
    if EXECUTORS[args.executor].needs_scheduler and not args.scheduler:
        raise UserError(f"--executor {args.executor} needs --scheduler ADDRESS", hint="for example --scheduler tcp://127.0.0.1:8786")
    resources: dict[str, float] = {}
    if args.dask_resources:  # dask_executor imports tarfile and more: a plain build need not
        from ..execute.dask_executor import parse_resources

        resources = parse_resources(args.dask_resources)
    options = BuildOptions(
        posts=args.posts, force=parse_force(args.force), plan_only=args.plan,
        overrides=parse_overrides(args.overrides), jobs=args.jobs, keep_going=args.keep_going,
        prune=args.prune, wait_for_lock=not args.no_wait, run=not args.no_run, executor=args.executor,
        scheduler=args.scheduler, dask_resources=resources,
        retry_blocked=args.retry_blocked)
    return build(root, options, reporter).exit_code


def _plan_run(args: argparse.Namespace, root: Path, reporter: ConsoleReporter) -> int:
    check_overrides(args.overrides)
    options = BuildOptions(posts=args.posts, force=parse_force(args.force), plan_only=True,
                           overrides=parse_overrides(args.overrides), wait_for_lock=not args.no_wait,
                           retry_blocked=args.retry_blocked)
    return build(root, options, reporter).exit_code


def _check_flag(args: argparse.Namespace, root: Path, reporter: ConsoleReporter) -> int:
    """``build-site --check``: only options that keep it a check of what a plain build writes."""
    conflicting = [option for option, given in (
        ("POST", bool(args.posts)), ("--set", bool(args.overrides)), ("--force", args.force), ("--plan", args.plan),
        ("--prune", args.prune), ("--retry-blocked", args.retry_blocked), ("--no-run", args.no_run),
        ("--executor dask", args.executor != "local"), ("--keep-going", bool(args.keep_going)),
        ("--jobs", args.jobs is not None)) if given]
    if conflicting:
        raise UserError(f"--check cannot be combined with {', '.join(conflicting)}",
                        hint="it checks the whole site against what a plain `build-site` writes")
    return _check_run(args, root, reporter)


def _check_run(args: argparse.Namespace, root: Path, reporter: ConsoleReporter) -> int:
    from .check import check_site  # only when checking

    return check_site(root, reporter, wait=not args.no_wait)


def _reproduce_setup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("posts", nargs="*", metavar="POST", help="post files (default: all posts)")
    parser.add_argument("--experiment", metavar="NAME", help="only the experiment of this name")
    parser.add_argument("--seed", type=int, metavar="K", help="only the run of this seed")


def _reproduce_run(args: argparse.Namespace, root: Path, reporter: ConsoleReporter) -> int:
    from .reproduce import reproduce_command  # only when reproducing

    return reproduce_command(root, args.posts, reporter, experiment=args.experiment, seed=args.seed,
                             wait=not args.no_wait)


def _serve_setup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", "-p", type=int, default=4000, metavar="N",
                        help="port to serve on (default 4000; 0 picks a free one)")
    parser.add_argument("--run", action="store_true",
                        help="train experiments whose inputs changed (default: show them as notices)")


def _serve_run(args: argparse.Namespace, root: Path, reporter: ConsoleReporter) -> int:
    from .serve import ServeOptions, serve  # http.server and friends only when serving

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a port", hint="use 1-65535, or 0 for any free port")
    return serve(root, ServeOptions(port=args.port, run=args.run), reporter)


def _no_options(parser: argparse.ArgumentParser) -> None:
    """A command whose options are all shared ones."""


@dataclass(frozen=True)
class Command:
    """One subcommand: the line ``build-site --help`` shows for it, its options, and what runs it."""

    name: str
    summary: str  # one line, in the top-level help
    description: str  # the head of ``build-site NAME --help``
    setup: Callable[[argparse.ArgumentParser], None]  # adds the options only this command has
    run: Callable[[argparse.Namespace, Path, ConsoleReporter], int]  # the exit status
    epilog: str  # its exit statuses
    parents: tuple[Callable[[], argparse.ArgumentParser], ...] = ()  # shared option sets besides the common
    log_setup: bool = True  # serve has never configured logging; kept so its output stays as it was


COMMANDS: dict[str, Command] = {command.name: command for command in (
    Command("build", "run the experiments that need it and write the site (the default command)",
            "Run the experiments your posts reference (only those without a stored result) and write the "
            "Jekyll site. The default command: `build-site [OPTION ...] [POST ...]` is `build-site build ...`.",
            _build_setup, _build_run, EXIT_STATUS, (_lock_options, _plan_options)),
    Command("plan", "print what would run and why; run nothing (also: --plan)",
            "Print each experiment and whether it would run, and why (no result yet, or which input changed); "
            "run and write nothing. Same as `build-site --plan`.",
            _no_options, _plan_run, "Exit status: 0 planned; 2 a mistake in a post, the config or the command line.",
            (_lock_options, _plan_options)),
    Command("check", "check that results are current and site/ is what a build writes (also: --check)",
            "Train and write nothing: check that every experiment has a current stored result and that site/ "
            "is what a build writes now (exit 1 if not); needs no TensorFlow. Same as `build-site --check`.",
            _no_options, _check_run,
            "Exit status: 0 everything current; 1 a result is stale or site/ differs from what a build writes "
            "(fixed by running build-site); 2 a mistake in a post, the config or the command line.",
            (_lock_options,)),
    Command("reproduce", "re-run the posts' runs into a scratch store and compare them with the stored ones",
            "Re-run the chosen runs (all, a post's, --experiment NAME, --seed K) into .litblog/reproduce/ and "
            "compare each with its stored run: every recorded value, the history per epoch, the predictions. "
            "Says identical (bit for bit), equal within a tolerance (and why), or differs (which values, and "
            "which recorded input differs from this machine). Writes nothing under results/ or site/.",
            _reproduce_setup, _reproduce_run,
            "Exit status: 0 every run agrees with its stored run (runs without one, which their page shows as a "
            "notice, are skipped); 1 one differs or failed, or none has a stored run; 2 a mistake in a post, "
            "the config or the command line.", (_lock_options,)),
    Command("serve", "build, serve the preview on 127.0.0.1, rebuild and reload on every change",
            "Build the site, serve the HTML preview on 127.0.0.1, and rebuild the affected posts and reload "
            "the browser when a post, template, recipe or the config changes.",
            _serve_setup, _serve_run,
            "Exit status: 0 stopped (Ctrl-C); 2 a mistake in the config or the command line, or the port is "
            "in use. Mistakes made while it serves are shown in the page and the console.", log_setup=False),
)}


def build_parser() -> _Parser:
    """The top-level parser (``build-site --help``), with one subparser per command in ``.commands``."""
    common = _common_options()
    shared = {factory: factory() for command in COMMANDS.values() for factory in command.parents}
    parser = _Parser(
        prog=PROG, usage=f"{PROG} [COMMAND] [OPTION ...] [POST ...]", parents=[common],
        description="Run the experiments your posts reference and write the Jekyll site, or preview it.",
        epilog=f"With no command, {PROG} builds: `{PROG} [OPTION ...] [POST ...]` is `{PROG} build ...`. "
               f"`{PROG} COMMAND --help` lists a command's options. {EXIT_STATUS}")
    _add_version(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS.values():
        sub = subparsers.add_parser(
            command.name, prog=f"{PROG} {command.name}", help=command.summary, description=command.description,
            epilog=command.epilog, parents=[common, *(shared[factory] for factory in command.parents)])
        command.setup(sub)
        parser.commands[command.name] = sub
    return parser


# -- finding the command word --------------------------------------------------------------------------


def _takes_value(parsers: list[_Parser]) -> dict[str, bool]:
    """Every option string of these parsers, and whether it takes a value (``-C DIR``) or not (``-q``)."""
    # argparse offers no public view of a parser's options; _actions is stable across versions.
    return {string: action.nargs != 0
            for parser in parsers for action in parser._actions for string in action.option_strings}


def _skips_next(token: str, table: dict[str, bool]) -> bool:
    """Whether the option ``token`` consumes the next argument as its value, as argparse reads it."""
    if token.startswith("--"):
        if "=" in token:
            return False
        if token in table:
            return table[token]
        # argparse accepts unambiguous prefixes (--proj DIR); an ambiguous one is its error to report.
        return {table[s] for s in table if s.startswith(token)} == {True}
    for index, letter in enumerate(token[1:], start=1):  # -q, -j2, -qC DIR: a cluster of short options
        takes = table.get("-" + letter)
        if takes is None:
            return False
        if takes:
            return index == len(token) - 1  # -C DIR; in -Cblog the value is attached
    return False


def _looks_like_post(word: str) -> bool:
    """A path (``posts/x.md``, ``x.md``, an existing file), not a mistyped command word."""
    return "/" in word or "\\" in word or "." in word or Path(word).exists()


def split_command(argv: list[str], parser: _Parser | None = None) -> tuple[str | None, list[str]]:
    """The command ``argv`` asks for and its arguments without the command word.

    The command word is the first argument that is neither an option nor an option's value, so
    options may come before or after it. No command word means ``build``; None means the
    top-level parser's own ``--help`` or ``--version``. A bare word that is neither a command nor
    a path is refused here, so ``build-site serv`` is not read as a post named ``serv``.
    """
    parser = parser or build_parser()
    table = _takes_value([parser, *parser.commands.values()])
    index = 0
    while index < len(argv) and argv[index].startswith("-") and argv[index] not in ("-", "--"):
        index += 1 + _skips_next(argv[index], table)
    if index < len(argv) and argv[index] != "--":
        word = argv[index]
        if word in COMMANDS:
            return word, argv[:index] + argv[index + 1:]
        if not _looks_like_post(word):
            raise UserError(f"unknown command '{word}'", suggestion=did_you_mean(word, COMMANDS),
                            hint=f"the commands are {', '.join(COMMANDS)} ({PROG} --help); a post is "
                                 f"named by its file, like posts/2026-01-05-title.md")
        return DEFAULT_COMMAND, argv
    top_level = _takes_value([parser])
    options = [token.split("=", 1)[0] for token in argv[:index] if token.startswith("-")]
    if any(o in ("-h", "--help", "--version") for o in options) and all(o in top_level for o in options):
        return None, argv
    return DEFAULT_COMMAND, argv


def parse_command_line(argv: list[str], parser: _Parser | None = None) -> tuple[Command, argparse.Namespace]:
    """The command and its parsed options; argparse exits (status 2) on a mistake, as before.

    An unknown command word is a :class:`UserError`.
    """
    parser = parser or build_parser()
    name, rest = split_command(argv, parser)
    if name is None:
        parser.parse_args(rest)  # prints the top-level help or the version and exits
        name = DEFAULT_COMMAND  # not reached: argparse exits after --help and --version
    args = parser.commands[name].parse_args(rest)
    _posts_after_force(args)
    return COMMANDS[name], args


def _posts_after_force(args: argparse.Namespace) -> None:
    """``--force posts/x.md`` is a bare ``--force`` and a post (``--force`` takes an optional
    experiment name, and argparse gives it the next word)."""
    values = getattr(args, "force", None)
    if not values:
        return
    posts = [v for v in values if isinstance(v, str) and _looks_like_post(v)]
    if posts:
        args.force = [True if v in posts else v for v in values]
        args.posts = posts + list(args.posts)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``build-site`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        command, args = parse_command_line(argv, parser)
    except UserError as exc:
        parser.print_usage(sys.stderr)
        print(exc, file=sys.stderr)
        return exc.exit_code
    verbosity = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    if command.log_setup:
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                            format="%(levelname)s: %(message)s", stream=sys.stderr)
    reporter = make_reporter(sys.stderr, verbosity)
    try:
        root = _project_root(args.project)
        reporter.root = root
        return command.run(args, root, reporter)
    except LitblogError as exc:
        located = isinstance(exc, (UserError, UserErrors))
        reporter.error(str(exc) if located else f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:  # serve handles its own; this is a build's
        reporter.close()
        reporter.error("interrupted: runs in progress were stopped; the site and the stored results are unchanged")
        return 130
    finally:
        reporter.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser", "split_command", "parse_command_line", "COMMANDS", "Command", "EXIT_FAILED"]
