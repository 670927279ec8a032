"""Finding directives and roles in a post: fences and inline roles, each handed to its registry entry.

Directive fences are lifted out of the Markdown the way Python-Markdown's fenced_code
extension stashes code blocks; everything else (prose, Liquid, HTML, math, ordinary code
fences) passes through as text blocks, untouched. What a directive or role means is its
module's business (``registry.py`` lists them); this module only finds them, reads a
directive's YAML options and checks them against the directive's, and checks that every
experiment a block names is defined in the post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...common.errors import SourceLocation, UserError, UserErrors, did_you_mean, one_of
from ..posts import Post
from ..schema import validate_options
from ..text import CODE_SPAN
from ..yaml_source import parse_yaml
from .base import Block, CodeBlock, Directive, DirectiveSource, Reference, TextBlock
from .experiment import ExperimentDirective
from .registry import CAPTION_ROLES, DIRECTIVES, ROLES

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE_INFO = re.compile(r"^\s*\{(?P<name>[^}\s]*)\}\s*(?P<argument>.*?)\s*$")
# A role is ``{name}`` immediately followed by a code span.
_ROLE = re.compile(r"\{(?P<role>[A-Za-z][\w-]*)\}(?P<ticks>`+)(?P<content>.+?)(?<!`)(?P=ticks)(?!`)", re.S)


@dataclass(frozen=True)
class ParsedPost:
    """A post split into text and directive blocks, with its experiments by name."""

    post: Post
    blocks: tuple[Block, ...]

    @property
    def experiments(self) -> dict[str, ExperimentDirective]:
        return {b.name: b for b in self.blocks if isinstance(b, ExperimentDirective)}


def parse_post(post: Post) -> ParsedPost:
    """Split ``post`` into blocks. All problems in the post are raised together."""
    errors: list[UserError] = []
    blocks: list[Block] = []
    lines = post.body.split("\n")
    text_lines: list[str] = []
    text_start = post.body_line
    broken: set[str] = set()

    def flush_text(next_line: int) -> None:
        nonlocal text_lines, text_start
        if text_lines:
            text = "\n".join(text_lines)
            refs = find_references(text, post.path, text_start, errors)
            blocks.append(TextBlock(text, text_start, refs))
        text_lines = []
        text_start = next_line

    i = 0
    while i < len(lines):
        line = lines[i]
        file_line = post.body_line + i
        opening = _FENCE_OPEN.match(line)
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            text_lines.append(line)
            i += 1
            continue
        close = _find_fence_end(lines, i, opening["fence"])
        info = _DIRECTIVE_INFO.match(opening["info"])
        if info is None:
            # An ordinary code fence: passed through whole, so nothing inside is parsed.
            end = len(lines) if close is None else close + 1
            flush_text(file_line)
            blocks.append(CodeBlock("\n".join(lines[i:end]), file_line))
            i = end
            text_start = post.body_line + i
            continue
        location = post.location(file_line)
        if close is None:
            errors.append(UserError(f"directive '{info['name']}' is not closed", location,
                                    hint=f"end it with a line holding only {opening['fence']}"))
            break
        flush_text(file_line)
        block = _parse_directive(info["name"], info["argument"], lines[i + 1:close],
                                 post.path, file_line, location, errors)
        if block is not None:
            blocks.append(block)
        elif info["name"] == "experiment":
            broken.add(info["argument"])  # already reported: references to it are not errors too
        i = close + 1
        text_start = post.body_line + i
    flush_text(post.body_line + len(lines))
    _check_experiment_names(blocks, errors, broken)
    if errors:
        raise UserErrors(errors)
    return ParsedPost(post, tuple(blocks))


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
                                    suggestion=did_you_mean(name, list(allowed)) or one_of(list(allowed))))
        else:
            ref = ROLES[name].parse(role["content"].strip(), location, role.start(), role.end(), errors)
            if ref is not None:
                refs.append(ref)
        position = role.end()
    return tuple(refs)


def _find_fence_end(lines: list[str], start: int, fence: str) -> int | None:
    closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j
    return None


def _parse_directive(name: str, argument: str, body: list[str], path: str, fence_line: int,
                     location: SourceLocation, errors: list[UserError]) -> Block | None:
    directive: Directive[Any] | None = DIRECTIVES.get(name)
    if directive is None:
        errors.append(UserError(f"unknown directive '{name}'", location,
                                suggestion=did_you_mean(name, DIRECTIVES) or one_of(DIRECTIVES)))
        return None
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
