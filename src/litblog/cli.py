"""``build-site``: the command line. Exit 0 built, 1 an experiment failed, 2 a user error."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .build import EXIT_FAILED, BuildOptions, build
from .config import CONFIG_NAME, find_project_root
from .errors import LitblogError, UserError, UserErrors
from .plan import parse_overrides
from .progress import NORMAL, QUIET, VERBOSE, make_reporter
from .schema import PLAIN_VALUES, plain_value_problem
from .yaml_source import load_scalar

# ``epochs`` or ``model1.epochs``: a param name, optionally after an experiment name.
_OVERRIDE_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_-]*\.)?[A-Za-z_][A-Za-z0-9_]*$")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors written like every other: ``error: ...`` on a line of its own."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n  hint: {self.prog} --help lists the options\n")


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="build-site",
        description="Run the experiments your posts reference (only those without a stored result) "
                    "and write the Jekyll site.",
        epilog="Exit status: 0 built (--check: everything current); 1 an experiment failed (--check: a "
               "result is stale or site/ differs from what a build writes; like a failed run, it is fixed by "
               "running build-site); 2 a mistake in a post, the config or the command line, which no "
               "rebuild fixes. `build-site serve --help`: preview with live reload.")
    parser.add_argument("posts", nargs="*", metavar="POST",
                        help="post files to build (default: all); other posts keep their last output")
    parser.add_argument("--project", "-C", metavar="DIR", type=Path,
                        help="the project folder (default: the one holding _config.yml, from here up)")
    parser.add_argument("--force", action="store_true", help="re-run the experiments even if results are stored")
    parser.add_argument("--no-run", action="store_true",
                        help="train nothing: experiments without a stored result are shown as notices")
    parser.add_argument("--plan", action="store_true",
                        help="print what would run and why (no result yet, or which input changed); run nothing")
    parser.add_argument("--check", action="store_true",
                        help="train and write nothing: check that every experiment has a current stored result "
                             "and that site/ is what a build writes now (exit 1 if not); needs no TensorFlow")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override a param of every experiment that has it (epochs=2), or of one "
                             "(model1.epochs=2); repeatable. A draft: only the preview (site/_site) is "
                             "written, never the published site/")
    parser.add_argument("--jobs", "-j", type=int, metavar="N", help="experiments to run at once")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="run experiments in local worker processes (default) or on a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="the Dask scheduler for --executor dask, like tcp://HOST:8786")
    parser.add_argument("--dask-resources", action="append", default=[], metavar="NAME=AMOUNT",
                        help="Dask worker resources each experiment needs, like GPU=1; repeatable")
    parser.add_argument("--keep-going", action="store_true", default=None,
                        help="after a failed experiment, run the others and write the site with a notice")
    parser.add_argument("--retry-blocked", action="store_true",
                        help="run experiments recorded as blocked by missing files (e.g. weights) again")
    parser.add_argument("--prune", action="store_true",
                        help="after a full build, delete stored results no post uses any more")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit instead of waiting when another build of this project is running")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="print more detail")
    parser.add_argument("--version", action="version", version=f"litblog {__version__}")
    return parser


def serve_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="build-site serve",
        description="Build the site, serve the HTML preview on 127.0.0.1, and rebuild the affected posts "
                    "and reload the browser when a post, template, recipe or the config changes.")
    parser.add_argument("--port", "-p", type=int, default=4000, metavar="N",
                        help="port to serve on (default 4000; 0 picks a free one)")
    parser.add_argument("--run", action="store_true",
                        help="train experiments whose inputs changed (default: show them as notices)")
    parser.add_argument("--project", "-C", metavar="DIR", type=Path,
                        help="the project folder (default: the one holding _config.yml, from here up)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="print more detail, and each request")
    return parser


def _serve_command(argv: list[str]) -> list[str] | None:
    """``argv`` without its ``serve`` word if it asks for ``build-site serve``, else None."""
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] in ("--project", "-C") else 1  # options that may come before it
    if index < len(argv) and argv[index] == "serve":
        return argv[:index] + argv[index + 1:]
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``build-site`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    serve_argv = _serve_command(argv)
    if serve_argv is not None:
        return _serve_main(serve_parser().parse_args(serve_argv))
    args = build_parser().parse_args(argv)
    verbosity = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    reporter = make_reporter(sys.stderr, verbosity)
    try:
        root = _project_root(args.project)
        reporter.root = root
        if args.jobs is not None and args.jobs < 1:
            raise UserError(f"--jobs must be at least 1, got {args.jobs}")
        check_overrides(args.overrides)
        if args.check:
            return _check_main(args, root, reporter)
        if args.executor == "dask" and not args.scheduler:
            raise UserError("--executor dask needs --scheduler ADDRESS", hint="for example --scheduler tcp://127.0.0.1:8786")
        from .dask_executor import parse_resources

        options = BuildOptions(
            posts=args.posts, force=args.force, plan_only=args.plan,
            overrides=parse_overrides(args.overrides), jobs=args.jobs, keep_going=args.keep_going,
            prune=args.prune, wait_for_lock=not args.no_wait, run=not args.no_run, executor=args.executor,
            scheduler=args.scheduler, dask_resources=parse_resources(args.dask_resources),
            retry_blocked=args.retry_blocked)
        result = build(root, options, reporter)
    except LitblogError as exc:
        located = isinstance(exc, (UserError, UserErrors))
        reporter.error(str(exc) if located else f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        reporter.close()
        reporter.error("interrupted: runs in progress were stopped; the site and the stored results are unchanged")
        return 130
    finally:
        reporter.close()
    return result.exit_code


def _check_main(args: argparse.Namespace, root: Path, reporter: Any) -> int:
    """``build-site --check``: only options that keep it a check of what a plain build writes."""
    conflicting = [option for option, given in (
        ("POST", bool(args.posts)), ("--set", bool(args.overrides)), ("--force", args.force), ("--plan", args.plan),
        ("--prune", args.prune), ("--retry-blocked", args.retry_blocked), ("--no-run", args.no_run),
        ("--executor dask", args.executor != "local"), ("--keep-going", bool(args.keep_going)),
        ("--jobs", args.jobs is not None)) if given]
    if conflicting:
        raise UserError(f"--check cannot be combined with {', '.join(conflicting)}",
                        hint="it checks the whole site against what a plain `build-site` writes")
    from .check import check_site  # only when checking

    return check_site(root, reporter, wait=not args.no_wait)


def _serve_main(args: argparse.Namespace) -> int:
    from .serve import ServeOptions, serve  # http.server and friends only when serving

    reporter = make_reporter(sys.stderr, QUIET if args.quiet else VERBOSE if args.verbose else NORMAL)
    try:
        root = _project_root(args.project)
        reporter.root = root
        if not 0 <= args.port <= 65535:
            raise UserError(f"--port {args.port} is not a port", hint="use 1-65535, or 0 for any free port")
        return serve(root, ServeOptions(port=args.port, run=args.run), reporter)
    except LitblogError as exc:
        located = isinstance(exc, (UserError, UserErrors))
        reporter.error(str(exc) if located else f"error: {exc}")
        return exc.exit_code
    finally:
        reporter.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser", "serve_parser", "EXIT_FAILED"]
