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
from .progress import NORMAL, QUIET, VERBOSE, ConsoleReporter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build-site",
        description="Run the experiments your posts reference (only those without a stored result) "
                    "and write the Jekyll site.",
        epilog="Exit status: 0 built; 1 an experiment failed; 2 a mistake in a post, the config or "
               "the command line.")
    parser.add_argument("posts", nargs="*", metavar="POST",
                        help="post files to build (default: all); other posts keep their last output")
    parser.add_argument("--project", "-C", metavar="DIR", type=Path,
                        help="the project folder (default: the one holding _config.yml, from here up)")
    parser.add_argument("--force", action="store_true", help="re-run the experiments even if results are stored")
    parser.add_argument("--plan", action="store_true",
                        help="print what would run and why (no result yet, or which input changed); run nothing")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override a param of every experiment that has it (epochs=2), or of one "
                             "(model1.epochs=2); repeatable")
    parser.add_argument("--jobs", "-j", type=int, metavar="N", help="experiments to run at once")
    parser.add_argument("--keep-going", action="store_true", default=None,
                        help="after a failed experiment, run the others and write the site with a notice")
    parser.add_argument("--prune", action="store_true",
                        help="after a full build, delete stored results no post uses any more")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit instead of waiting when another build of this project is running")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="print more detail")
    parser.add_argument("--version", action="version", version=f"litblog {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``build-site`` console script."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    verbosity = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    reporter = ConsoleReporter(sys.stderr, verbosity)
    try:
        root = args.project.resolve() if args.project else find_project_root(Path.cwd())
        reporter.root = root
        if args.jobs is not None and args.jobs < 1:
            raise UserError("--jobs must be at least 1")
        options = BuildOptions(
            posts=args.posts, force=args.force, plan_only=args.plan,
            overrides=parse_overrides(args.overrides), jobs=args.jobs, keep_going=args.keep_going,
            prune=args.prune, wait_for_lock=not args.no_wait)
        result = build(root, options, reporter)
    except LitblogError as exc:
        located = isinstance(exc, (UserError, UserErrors))
        reporter.error(str(exc) if located else f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        reporter.error("interrupted: runs in progress were stopped; the site and the stored results are unchanged")
        return 130
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser", "EXIT_FAILED"]
