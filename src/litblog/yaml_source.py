"""YAML parsing that remembers the line of every key, so errors can point into the file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import SourceLocation, UserError

KeyPath = tuple[Any, ...]


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e-3`` as a float as YAML 1.2 does (1.1 calls it a string)."""


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
    """One YAML value, as written after ``--set name=``."""
    return yaml.load(text, Loader=Loader)


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
            probe = probe[:-1]
        return SourceLocation(self.path, self.first_line)


def parse_yaml(text: str, *, path: str, first_line: int) -> YamlDocument:
    """Parse ``text``, which starts at line ``first_line`` of the file ``path``.

    Syntax errors and duplicate keys become :class:`UserError` with the offending line.
    """
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, path, first_line)
        lines: dict[KeyPath, int] = {}
        _collect_lines(node, (), lines, path, first_line)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context} at line {first_line + exc.context_mark.line})"
        raise UserError(
            f"invalid YAML: {problem}",
            SourceLocation(path, line),
            hint="YAML needs 'key: value' pairs; quote values that contain ':' or '#'",
        ) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", SourceLocation(path, first_line)) from None
    finally:
        loader.dispose()
    return YamlDocument(data, path, first_line, lines)


def _collect_lines(
    node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int], path: str, first_line: int
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = first_line + key_node.start_mark.line
            if key in seen:
                raise UserError(f"duplicate key '{key}'", SourceLocation(path, line))
            seen.add(key)
            lines[prefix + (key,)] = line
            _collect_lines(value_node, prefix + (key,), lines, path, first_line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[prefix + (index,)] = first_line + item.start_mark.line
            _collect_lines(item, prefix + (index,), lines, path, first_line)
