"""What every directive and role builds on: the blocks a post is split into, the two registry
entries (:class:`Directive`, :class:`Role`), and the bits of syntax several of them parse.

A directive module defines its block (a frozen dataclass), its options and a parser from a
:class:`DirectiveSource`, and exports them as ``DIRECTIVE`` (or ``DIRECTIVES``, several names of
one block); a role module does the same for an inline reference and exports ``ROLE`` (or ``ROLES``). ``registry.py`` lists the modules. How a block or a
reference is drawn onto a page is the render stage's (``render/blocks/``, by the block's type).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Protocol, TypeVar

from ...common.errors import SourceLocation, UserError
from ..sources.schema import Option
from ..sources.yaml_source import YamlDocument

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MINUS = re.compile(r"\s+-\s+")  # a difference: the minus has spaces around it (names may hold '-')
PAIRED = re.compile(r"\s*\(paired\)\s*$")  # a difference or claim compared seed by seed: "a.x - b.x (paired)"
_MYST_OPTION = re.compile(r"^\s*:(?P<name>[A-Za-z][\w-]*):")  # MyST's option line: ":class: dropdown"


class Reference(Protocol):
    """An inline role found in a text (prose or a caption): where it is, and the experiments it names."""

    @property
    def location(self) -> SourceLocation: ...

    @property
    def start(self) -> int: ...  # offsets of the whole role in the text it was found in

    @property
    def end(self) -> int: ...

    @property
    def experiments(self) -> tuple[str, ...]: ...


class Block:
    """Base of the blocks a post is split into."""

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        """The experiments this block names, each with where it is named; the post must define them."""
        return ()

    def numbered(self) -> tuple[str, str, SourceLocation] | None:
        """(kind's word, name, where) when a ``name:`` makes this block a target of ``{ref}``
        (``numbering.py``), else None."""
        return None

    def prose(self) -> tuple["TextBlock", ...]:
        """The author's prose this block holds (a text block itself; an admonition's body), for the
        checks that read prose (numbers typed into it)."""
        return ()


def named_in(references: Iterable[Reference]) -> list[tuple[str, SourceLocation]]:
    """The experiments ``references`` name, each at its reference's line."""
    return [(name, ref.location) for ref in references for name in ref.experiments]


@dataclass(frozen=True)
class TextBlock(Block):
    """Markdown passed through as written, apart from its inline references."""

    text: str
    line: int
    references: tuple[Reference, ...] = ()  # {result} and {claim} roles, in order

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        return named_in(self.references)

    def prose(self) -> tuple["TextBlock", ...]:
        return (self,)


@dataclass(frozen=True)
class CodeBlock(Block):
    """An ordinary code block (fenced, fences included, or indented), passed through as written."""

    text: str
    line: int
    # Inside a blockquote or list item (its lines carry their markers), or indented code: what
    # protects it from Liquid must stay inside its lines, adding none.
    nested: bool = False


@dataclass(frozen=True)
class ValuePath:
    """``experiment.path``: a value of an experiment, as a reference or a claim names it."""

    experiment: str
    path: str

    def __str__(self) -> str:
        return f"{self.experiment}.{self.path}"


@dataclass(frozen=True)
class Quantity:
    """A value, a number, or the difference of two of those (a side of a claim, a difference of values)."""

    first: ValuePath | float
    minus: ValuePath | float | None = None

    def __str__(self) -> str:
        return f"{self.first}" + (f" - {self.minus}" if self.minus is not None else "")

    @property
    def paths(self) -> tuple[ValuePath, ...]:
        return tuple(v for v in (self.first, self.minus) if isinstance(v, ValuePath))


@dataclass
class DirectiveSource:
    """A directive's fence as its parser sees it.

    ``options`` are already validated against the directive's (defaults filled in), their
    problems already in ``problems``; the parser adds its own there. A directive with any
    problem makes no block.
    """

    argument: str  # what follows ```{name}
    options: dict[str, Any]
    document: YamlDocument  # where each option was written: document.location("params", "epochs")
    location: SourceLocation  # the opening fence
    problems: list[UserError]
    find_references: Callable[[str, int], tuple[Reference, ...]] = field(repr=False)  # (text, first line)
    # A directive whose body is Markdown (``Directive.markdown_body``): the body, its first line in
    # the file, and the roles of prose (every role, not only a caption's) found in a text.
    body: str = ""
    body_line: int = 0
    find_prose_references: Callable[[str, int], tuple[Reference, ...]] | None = field(default=None, repr=False)

    def references_in(self, option: str) -> tuple[Reference, ...]:
        """The roles written in the text of ``option`` (a caption); a caption takes ``{result}`` only."""
        return self.find_references(self.options.get(option) or "", self.document.location(option).line)


B = TypeVar("B", bound=Block)
R = TypeVar("R", bound=Reference)


@dataclass(frozen=True)
class Directive(Generic[B]):
    """A fenced directive, ```{name} argument, with YAML options (or, ``markdown_body``, the author's
    own text as its body, Markdown or LaTeX: ``DirectiveSource.body``)."""

    name: str
    block: type[B]  # what ``parse`` makes (``render/blocks/`` draws it)
    options: tuple[Option, ...]  # validated before ``parse`` runs; docs/authoring.md lists them
    parse: Callable[[DirectiveSource], B | None]
    markdown_body: bool = False
    in_containers: bool = True  # may stand inside a blockquote or a list item


@dataclass(frozen=True)
class Role(Generic[R]):
    """An inline role, {name}`content`, in prose (and, ``in_captions``, in directive captions)."""

    name: str
    reference: type[R]  # what ``parse`` makes (``render/blocks/`` draws it)
    # (content, location, start, end, errors): the reference, or None after adding to errors
    parse: Callable[[str, SourceLocation, int, int, list[UserError]], R | None]
    in_captions: bool = False


def myst_option(line: str, name: str, where: SourceLocation, hint: str) -> UserError | None:
    """The error for a MyST option line (``:class: dropdown``) opening the body of ``{name}``, which
    takes none; None when ``line`` is not one."""
    option = _MYST_OPTION.match(line)
    if option is None:
        return None
    return UserError(f"'{{{name}}}' takes no options, got ':{option['name']}:'", where, hint=hint)


def value_path(text: str) -> ValuePath | None:
    """``experiment.path`` as a :class:`ValuePath`, or None when it is not one."""
    experiment, _, path = text.strip().partition(".")
    if not experiment or not path or not IDENTIFIER.match(experiment) or any(c.isspace() for c in path):
        return None
    return ValuePath(experiment, path)


def check_no_argument(name: str, source: DirectiveSource, hint: str) -> None:
    """A directive that takes no argument (``table``, ``chart``) got one: a problem."""
    if source.argument:
        source.problems.append(UserError(f"'{name}' takes no argument, got '{source.argument}'", source.location,
                                         hint=hint))


def check_labels(labels: list[str] | None, items: list[str], what: str, source: DirectiveSource) -> None:
    """``labels`` must name each of ``items`` (columns, bars)."""
    if labels is not None and len(labels) != len(items):
        source.problems.append(UserError(f"'labels' has {len(labels)} entries for {len(items)} {what}",
                                         source.document.location("labels")))


_SPEC_NUMBER = re.compile(r"\d+")
MAX_FORMAT_WIDTH = 100  # a width of 10**9 would build a gigabyte string


def format_spec_problem(spec: str) -> str | None:
    """Why ``spec`` is not a usable Python format spec for a number or a string, or None."""
    if any(int(n) > MAX_FORMAT_WIDTH for n in _SPEC_NUMBER.findall(spec)):
        return f"has a width or precision above {MAX_FORMAT_WIDTH}"
    for sample in (0.5, "x"):
        try:
            format(sample, spec)
            return None
        except (ValueError, TypeError):
            continue
    return "is not a Python format spec"
