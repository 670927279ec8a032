"""Finding directives and roles in a post: fences and inline roles, each handed to its registry entry.

Code blocks are found as CommonMark finds them (``structure.py``, markdown-it-py), inside
blockquotes and list items too; directive fences among them are lifted out of the Markdown the
way Python-Markdown's fenced_code extension stashes code blocks; everything else (prose,
Liquid, HTML, math, ordinary code) passes through as text and code blocks, untouched. What a directive or role means is its
module's business (``registry.py`` lists them); this module only finds them, reads a
directive's YAML options and checks them against the directive's, and checks that every
experiment a block names is defined in the post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ...common.errors import SourceLocation, UserError, UserErrors, did_you_mean, one_of
from ..sources.posts import Post
from ..sources.schema import validate_options
from ..sources.text import CODE_SPAN, SPAN_CONTENT
from ..sources.yaml_source import parse_yaml
from . import foreign
from .base import Block, CodeBlock, Directive, DirectiveSource, Reference, TextBlock
from .experiment import ExperimentDirective
from .registry import CAPTION_ROLES, DIRECTIVES, ROLES
from .structure import CodeSpan, Structure, read_structure

_DIRECTIVE_INFO = re.compile(r"^\s*\{(?P<name>[^}\s]*)\}\s*(?P<argument>.*?)\s*$")
# A role is ``{name}`` (or MyST's ``{domain:name}``) immediately followed by a code span.
_ROLE = re.compile(r"\{(?P<role>[A-Za-z][\w-]*(?::[A-Za-z][\w-]*)?)\}(?P<ticks>`+)(?!`)(?P<content>" + SPAN_CONTENT
                   + r")(?<!`)(?P=ticks)(?!`)")


@dataclass(frozen=True)
class Container:
    """Where a directive stands when its output needs more than its place: inside blockquotes or
    list items, the prefix that keeps each line of its output there (``> `` for a quote, spaces
    for a list item's content); after a line of text, a blank line first (a fence may interrupt
    a paragraph, a table or an HTML block may not: kramdown would read them as its text)."""

    kinds: tuple[str, ...]  # "blockquote", "list item", outermost first; () at the top level
    prefix: str  # before each line of output: ``> ``, ``  ``, ``>    ``; "" at the top level
    separate: bool = False  # the line before the fence is text

    def carry(self, rendered: str) -> str:
        """``rendered`` (Markdown) with every line prefixed so that it stays in the containers."""
        out = rendered.strip("\n").split("\n")
        lines = [self.prefix + line if line.strip() else self.prefix.rstrip() for line in out]
        return "\n".join([self.prefix.rstrip()] * self.separate + lines)


@dataclass(frozen=True)
class ParsedPost:
    """A post split into text and directive blocks, with its experiments by name."""

    post: Post
    blocks: tuple[Block, ...]
    # Directives inside a blockquote or list item, or right after a line of text, by their index in
    # ``blocks``: rendered in place, every line of what they render carried inside the same containers.
    containers: Mapping[int, Container] = field(default_factory=dict)

    @property
    def experiments(self) -> dict[str, ExperimentDirective]:
        return {b.name: b for b in self.blocks if isinstance(b, ExperimentDirective)}


def parse_post(post: Post) -> ParsedPost:
    """Split ``post`` into blocks. All problems in the post are raised together.

    Code blocks are found as CommonMark finds them (``structure.py``), inside blockquotes and
    list items too: a fence whose info string is ``{name}`` is a directive, any other fenced or
    indented code block is a :class:`CodeBlock`, passed through unevaluated. The rest is text.
    """
    errors: list[UserError] = []
    blocks: list[Block] = []
    containers: dict[int, Container] = {}
    lines = post.body.split("\n")
    broken: set[str] = set()
    position = 0  # the first body line not yet in a block

    def add_text(end: int) -> None:
        if end > position:
            text = "\n".join(lines[position:end])
            refs = find_references(text, post.path, post.body_line + position, errors)
            blocks.append(TextBlock(text, post.body_line + position, refs))

    structure = read_structure(post.body)
    _check_html_blocks(structure, lines, post, errors)
    for span in structure.code:
        file_line = post.body_line + span.start
        info = _DIRECTIVE_INFO.match(span.info) if span.fence else None
        add_text(span.start)
        position = span.end
        if info is None:
            # Ordinary code: passed through whole, so nothing inside is parsed.
            blocks.append(CodeBlock("\n".join(lines[span.start:span.end]), file_line, nested=_nested(span)))
            continue
        block = _directive_in(span, info, lines, post, errors)
        if block is not None:
            separate = span.start > 0 and bool(lines[span.start - 1].strip(" \t>"))
            if span.containers or separate:
                containers[len(blocks)] = Container(span.containers, span.continuation, separate)
            blocks.append(block)
        elif info["name"] == "experiment":
            broken.add(info["argument"])  # already reported: references to it are not errors too
    add_text(len(lines))
    _check_experiment_names(blocks, errors, broken)
    if errors:
        raise UserErrors(errors)
    return ParsedPost(post, tuple(blocks), containers)


def _directive_in(span: CodeSpan, info: re.Match[str], lines: list[str], post: Post,
                  errors: list[UserError]) -> Block | None:
    """The directive a ``{name}`` fence holds, or None with its problems in ``errors``: unclosed, on a list
    marker's line, or refused by its parser."""
    file_line = post.body_line + span.start
    location = post.location(file_line)
    if not span.closed:
        where = f" in its {span.containers[-1]}" if span.containers else ""
        errors.append(UserError(f"directive '{info['name']}' is not closed", location,
                                hint=f"end it with a line holding only {span.fence}{where}"))
        return None
    directive = DIRECTIVES.get(info["name"])
    if directive is not None and not directive.in_containers and span.containers:
        # kramdown reads Markdown inside the box there, but the preview's converter does not.
        errors.append(UserError(f"a {{{info['name']}}} cannot be inside a {span.containers[-1]}", location,
                                hint="put it at the top level, before or after the quote or list"))
        return None
    if span.prefix != span.continuation:
        # Its output would begin on the marker's line, where Liquid may leave nothing (a raw
        # tag) and kramdown then reads the item's content with another indentation.
        errors.append(UserError(f"directive '{info['name']}' cannot start a list item", location,
                                hint="write the item's text after its marker and the directive on the "
                                     "next lines, indented as that text"))
        return None
    body = lines[span.start + 1:span.end - 1] if not span.containers else span.content.split("\n")[:-1]
    return _parse_directive(info["name"], info["argument"], body, post.path, file_line, location, errors)


# A directive's opening fence, wherever it stands (after container markers).
_DIRECTIVE_FENCE = re.compile(r"^[ \t>]*(?:[-+*]|\d{1,9}[.)])?[ \t>]*(?:`{3,}|~{3,})\s*\{[^}\s]*\}")


def _check_html_blocks(structure: Structure, lines: list[str], post: Post, errors: list[UserError]) -> None:
    """A directive fence inside an HTML block is HTML to Markdown (and kramdown): it would be
    shown as text, silently, so it is an error at its line."""
    for block in structure.html:
        for index in block:
            if index < len(lines) and _DIRECTIVE_FENCE.match(lines[index]):
                errors.append(UserError("this directive is inside an HTML block, where Markdown reads it as HTML",
                                        post.location(post.body_line + index),
                                        hint="leave a blank line between the HTML and the directive"))


def _nested(span: CodeSpan) -> bool:
    """Code whose Liquid protection must not add lines: inside a container, or indented code."""
    return bool(span.containers) or not span.fence


def find_references(text: str, path: str, first_line: int, errors: list[UserError], *,
                    roles: tuple[str, ...] | None = None) -> tuple[Reference, ...]:
    """Every role of ``roles`` (default: all, ``{result}`...```, ``{claim}`...```) in ``text``,
    which starts at file line ``first_line``. Captions take :data:`CAPTION_ROLES` only."""
    allowed = tuple(ROLES) if roles is None else roles
    refs: list[Reference] = []
    position = 0
    while True:
        span = CODE_SPAN.search(text, position)
        role = _ROLE.search(text, position)
        if role is None:
            break
        # A role inside an ordinary code span (``{result}`x```) is shown, not evaluated.
        if span is not None and span.start() < role.start():
            position = span.end()
            continue
        line = first_line + text.count("\n", 0, role.start())
        location = SourceLocation(path, line)
        name = role["role"]
        if name in ROLES and name not in allowed:
            errors.append(UserError(f"a {{{name}}} role belongs in the post's text, not here", location,
                                    hint=f"here: {', '.join('{%s}' % r for r in allowed)}"))
        elif name not in ROLES:
            errors.append(UserError(f"unknown role '{{{name}}}'", location,
                                    suggestion=did_you_mean(name, list(allowed)) or one_of(list(allowed)),
                                    hint=foreign.ROLES.get(name)))
        else:
            ref = ROLES[name].parse(role["content"].strip(), location, role.start(), role.end(), errors)
            if ref is not None:
                refs.append(ref)
        position = role.end()
    return tuple(refs)


def _parse_directive(name: str, argument: str, body: list[str], path: str, fence_line: int,
                     location: SourceLocation, errors: list[UserError]) -> Block | None:
    directive: Directive[Any] | None = DIRECTIVES.get(name)
    if directive is None:
        errors.append(UserError(f"unknown directive '{name}'", location,
                                suggestion=did_you_mean(name, DIRECTIVES) or one_of(DIRECTIVES),
                                hint=foreign.DIRECTIVES.get(name)))
        return None
    if directive.markdown_body:
        problems: list[UserError] = []
        source = DirectiveSource(argument, {}, parse_yaml("", path=path, first_line=fence_line + 1), location,
                                 problems, lambda text, line: find_references(text, path, line, problems,
                                                                              roles=CAPTION_ROLES),
                                 body="\n".join(body), body_line=fence_line + 1,
                                 find_prose_references=lambda text, line: find_references(text, path, line, problems))
        block = directive.parse(source)
        errors.extend(problems)
        return None if problems else block
    try:
        document = parse_yaml("\n".join(body), path=path, first_line=fence_line + 1)
    except UserError as exc:
        errors.append(exc)
        return None
    if document.data is not None and not isinstance(document.data, dict):
        errors.append(UserError(f"the options of '{name}' must be 'key: value' lines",
                                SourceLocation(path, fence_line + 1)))
        return None
    options, problems = validate_options(document.data, directive.options, document, context="option")
    source = DirectiveSource(argument, options, document, location, problems,
                             lambda text, line: find_references(text, path, line, problems, roles=CAPTION_ROLES))
    block = directive.parse(source)
    errors.extend(problems)
    return None if problems else block


def _check_experiment_names(blocks: list[Block], errors: list[UserError],
                            broken: frozenset[str] | set[str] = frozenset()) -> None:
    """Experiments are named once per post; every experiment a block names is one of them."""
    defined: dict[str, ExperimentDirective] = {}
    for block in blocks:
        if isinstance(block, ExperimentDirective):
            if block.name in defined:
                errors.append(UserError(f"experiment '{block.name}' is defined twice", block.location,
                                        hint=f"the first is at line {defined[block.name].location.line}"))
            defined.setdefault(block.name, block)

    def check(name: str, location: SourceLocation) -> None:
        if name not in defined and name not in broken:
            errors.append(UserError(f"undefined experiment '{name}'", location,
                                    suggestion=did_you_mean(name, defined) or one_of(defined)))

    for block in blocks:
        for name, location in block.uses():
            check(name, location)
