"""``build-site``: the command line. Exit 0 built, 1 an experiment failed, 2 a user error."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .build import EXIT_FAILED, BuildOptions, build
from .config import find_project_root
from .errors import LitblogError, UserError, UserErrors
from .plan import parse_overrides
from .progress import NORMAL, QUIET, VERBOSE, make_reporter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build-site",
        description="Run the experiments your posts reference (only those without a stored result) "
                    "and write the Jekyll site.",
        epilog="Exit status: 0 built; 1 an experiment failed; 2 a mistake in a post, the config or "
               "the command line. `build-site serve --help`: preview with live reload.")
    parser.add_argument("posts", nargs="*", metavar="POST",
                        help="post files to build (default: all); other posts keep their last output")
    parser.add_argument("--project", "-C", metavar="DIR", type=Path,
                        help="the project folder (default: the one holding _config.yml, from here up)")
    parser.add_argument("--force", action="store_true", help="re-run the experiments even if results are stored")
    parser.add_argument("--no-run", action="store_true",
                        help="train nothing: experiments without a stored result are shown as notices")
    parser.add_argument("--plan", action="store_true",
                        help="print what would run and why (no result yet, or which input changed); run nothing")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override a param of every experiment that has it (epochs=2), or of one "
                             "(model1.epochs=2); repeatable")
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
    parser = argparse.ArgumentParser(
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
        root = args.project.resolve() if args.project else find_project_root(Path.cwd())
        reporter.root = root
        if args.jobs is not None and args.jobs < 1:
            raise UserError("--jobs must be at least 1")
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


def _serve_main(args: argparse.Namespace) -> int:
    from .serve import ServeOptions, serve  # http.server and friends only when serving

    reporter = make_reporter(sys.stderr, QUIET if args.quiet else VERBOSE if args.verbose else NORMAL)
    try:
        root = args.project.resolve() if args.project else find_project_root(Path.cwd())
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
