"""YAML parsing that remembers the line of every key, so errors can point into the file.

Everything a file can contain ends as a value or a :class:`UserError` naming its file and
line, never a traceback, and nothing a file can contain makes memory or recursion grow
without bound: a YAML block has a size limit, nesting a depth limit, and aliases may not
expand the document beyond a number of values (the "billion laughs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...common.errors import SourceLocation, UserError

KeyPath = tuple[Any, ...]

MAX_YAML_CHARS = 1_000_000  # one front matter, directive or config file
MAX_YAML_DEPTH = 50  # nested collections
MAX_YAML_VALUES = 100_000  # values after expanding aliases
MAX_SOURCE_BYTES = 20_000_000  # a post or config file
BOM = "\ufeff"


def decode_source(data: bytes, path: str) -> str:
    """``data`` as text: UTF-8 (a byte-order mark is dropped), ``\r\n`` as ``\n``.

    Bytes that are not UTF-8 and NUL characters are a :class:`UserError` at their line.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column} cannot be decoded",
                        SourceLocation(path, line),
                        hint="save the file as UTF-8 (most editors offer it under 'Save with encoding')") from None
    text = text.removeprefix(BOM).replace("\r\n", "\n")
    nul = text.find("\0")
    if nul >= 0:
        raise UserError("the file contains a NUL character", SourceLocation(path, text.count("\n", 0, nul) + 1),
                        hint="remove it; posts and the config are plain text")
    return text


def read_source(file: Path, path: str) -> str:
    """Read a post or the config: :func:`decode_source` with a size limit; ``path`` names it in errors."""
    try:
        size = file.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise UserError(f"the file is {size:,} bytes, more than the limit of {MAX_SOURCE_BYTES:,}",
                            SourceLocation(path, 1), hint="split it into several posts")
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the file: {exc.strerror or exc}", SourceLocation(path, 1)) from None
    return decode_source(data, path)


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e-3`` as a float as YAML 1.2 does (1.1 calls it a string).

    It refuses nesting deeper than :data:`MAX_YAML_DEPTH` (PyYAML composes recursively) and
    turns a value PyYAML cannot construct (``2023-13-45``) into an error at its line.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            # A MarkedYAMLError is neither: only PyYAML's own conversions (dates, numbers) land here.
            written = repr(node.value) if isinstance(node, yaml.ScalarNode) else "a value"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {written} as {node.tag.rpartition(':')[2]}: {exc}",
                node.start_mark) from None


Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |\.[0-9_]+(?:[eE][-+][0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def load_scalar(text: str) -> Any:
    """One YAML value, as written after ``--set name=``.

    Syntax errors raise :class:`yaml.YAMLError`; values PyYAML cannot construct and the
    size, depth and alias limits raise :class:`UserError`.
    """
    if len(text) > MAX_YAML_CHARS:
        raise UserError(f"the value is {len(text):,} characters, more than the limit of {MAX_YAML_CHARS:,}")
    loader = Loader(text)  # a control character raises ReaderError, a YAMLError
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            _collect_lines(node, (), {}, "--set", 1, [0], 0)
        except UserError as exc:
            raise UserError(f"--set value: {exc.message}") from None
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        raise UserError(f"--set value {text!r}: {exc.problem}") from None
    except yaml.composer.ComposerError as exc:
        if "nested more than" in str(exc.problem):
            raise UserError(f"--set value: {exc.problem}") from None
        raise
    finally:
        loader.dispose()


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML plus the 1-based file line of each key (paths like ``("params", "epochs")``)."""

    data: Any
    path: str
    first_line: int
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def location(self, *key_path: Any) -> SourceLocation:
        """Where ``key_path`` is written; the nearest enclosing key, or the document start."""
        probe: KeyPath = tuple(key_path)
        while probe:
            if probe in self.lines:
                return SourceLocation(self.path, self.lines[probe])
            # Mapping keys are recorded as written (``1``, ``true``), the data has them typed.
            written = probe[:-1] + (_written_key(probe[-1]),)
            if written in self.lines:
                return SourceLocation(self.path, self.lines[written])
            probe = probe[:-1]
        return SourceLocation(self.path, self.first_line)


def parse_yaml(text: str, *, path: str, first_line: int) -> YamlDocument:
    """Parse ``text``, which starts at line ``first_line`` of the file ``path``.

    Syntax errors, duplicate keys, values that cannot be constructed and the size, depth and
    alias limits become :class:`UserError` with the offending line.
    """
    if len(text) > MAX_YAML_CHARS:
        raise UserError(f"this YAML block is {len(text):,} characters, more than the limit of {MAX_YAML_CHARS:,}",
                        SourceLocation(path, first_line), hint="keep front matter and directive options short")
    try:
        loader = Loader(text)
    except yaml.reader.ReaderError as exc:
        # Raised before parsing starts: a control character anywhere in the block.
        before = text[:exc.position]
        line, column = first_line + before.count("\n"), exc.position - (before.rfind("\n") + 1) + 1
        raise UserError(f"invalid YAML: the control character U+{exc.character:04X} at column {column} is not allowed",
                        SourceLocation(path, line), hint="delete it (a stray byte from an editor or a paste)") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, path, first_line)
        lines: dict[KeyPath, int] = {}
        _collect_lines(node, (), lines, path, first_line, [0], 0)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context} at line {first_line + exc.context_mark.line})"
        hint = ("indent YAML with spaces, not tabs" if "'\\t'" in problem
                else "quote the value to keep it as text (dates are YYYY-MM-DD)" if problem.startswith("cannot read")
                else "YAML needs 'key: value' pairs; quote values that contain ':' or '#'")
        raise UserError(f"invalid YAML: {problem}", SourceLocation(path, line), hint=hint) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", SourceLocation(path, first_line)) from None
    except RecursionError:  # a safety net: the depth limit should come first
        raise UserError("invalid YAML: nested too deeply", SourceLocation(path, first_line)) from None
    finally:
        loader.dispose()
    return YamlDocument(data, path, first_line, lines)


def _written_key(key: Any) -> Any:
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


def _collect_lines(
    node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int], path: str, first_line: int,
    count: list[int], depth: int,
) -> None:
    """Record each key's line, walking the document as aliases expand it.

    PyYAML shares an aliased node instead of copying it, but everything downstream (JSON,
    keys, templates) expands it: counting values here bounds all of them. An alias that
    contains itself exceeds the depth limit.
    """
    count[0] += 1
    if count[0] > MAX_YAML_VALUES or depth > MAX_YAML_DEPTH:
        what = (f"expands to more than {MAX_YAML_VALUES:,} values" if count[0] > MAX_YAML_VALUES
                else f"is nested more than {MAX_YAML_DEPTH} levels deep")
        raise UserError(f"this YAML {what} (through aliases such as *name)",
                        SourceLocation(path, first_line + node.start_mark.line),
                        hint="write the values out instead of repeating large anchors")
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = first_line + key_node.start_mark.line
            if key in seen:
                raise UserError(f"duplicate key '{key}'", SourceLocation(path, line))
            seen.add(key)
            lines[prefix + (key,)] = line
            _collect_lines(value_node, prefix + (key,), lines, path, first_line, count, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[prefix + (index,)] = first_line + item.start_mark.line
            _collect_lines(item, prefix + (index,), lines, path, first_line, count, depth + 1)
