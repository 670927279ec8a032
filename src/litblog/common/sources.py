"""Python source as Python reads it, and the digests that key results by it.

Both wings need these: the plan keys a run by the digests of its recipe function and the
project modules it imports (``litblog.buildtime.plan.plan``), and the worker checks, before it stores,
that the code it ran still has those digests (``litblog.runtime.worker``). Source is read with
:func:`tokenize.open`'s rules (a PEP 263 coding line, a UTF-8 byte-order mark), so a module
Python runs is a module litblog can read. Read with :mod:`ast` only, never imported.

The digest values never change: they are part of every stored result's key.
"""

from __future__ import annotations

import ast
import hashlib
import io
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path


def decode_source(data: bytes, name: str = "<source>") -> str:
    """``data`` decoded as Python decodes a module: its coding line or UTF-8, a byte-order mark dropped.

    ``SyntaxError`` (as Python's own, with ``name`` and the line) for an unknown coding or bytes
    that are not in it.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        line = next((i for i, text in enumerate(data.split(b"\n")[:2], 1) if b"coding" in text), 1)
        raise SyntaxError(str(exc.msg if hasattr(exc, "msg") and exc.msg else exc), (name, line, 0, "")) from None
    try:
        return data.decode(encoding)  # "utf-8-sig" when there is a BOM: dropped
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SyntaxError(f"the file is not valid {encoding} text (byte 0x{data[exc.start]:02x}); "
                          f"save it as UTF-8 or declare its coding (PEP 263)", (name, line, 0, "")) from None
    except LookupError as exc:
        raise SyntaxError(str(exc), (name, 1, 0, "")) from None


def read_source(file: Path) -> str:
    """The text of the Python module ``file`` (see :func:`decode_source`); line endings as in the file."""
    return decode_source(file.read_bytes(), file.name)


def token_digest(text: str) -> str:
    """Hash of Python text's tokens: comments, blank lines, line endings and indentation width do not count."""
    text = text.replace("\r\n", "\n")
    digest = hashlib.sha256()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.COMMENT, tokenize.NL):
                continue
            digest.update(tokenize.tok_name[token.type].encode())
            digest.update(b"\0")
            # Indentation width is layout, not meaning.
            digest.update(b"" if token.type == tokenize.INDENT else token.string.encode())
            digest.update(b"\0")
    except (tokenize.TokenError, IndentationError, SyntaxError):
        digest.update(text.encode())
    return digest.hexdigest()


def source_digest(file: Path) -> str:
    """:func:`token_digest` of a Python file, read as Python reads it.

    A file Python could not decode either is hashed as bytes: the plan keys it all the same,
    and the run reports Python's own error when it imports it.
    """
    data = file.read_bytes()
    try:
        text = decode_source(data, file.name)
    except SyntaxError:
        return hashlib.sha256(data).hexdigest()
    return token_digest(text)


@dataclass(frozen=True)
class ModuleUse:
    """What one function of a module uses from the module itself, read with :mod:`ast`.

    ``needed``: the module's functions and classes the function uses, directly or through each
    other (itself included); ``body``: the module-level statements that are not definitions
    (imports, constants, calls), the docstring left out. :func:`function_digest` hashes ``body``
    and ``needed``; ``litblog.buildtime.sources.recipe_source.recipe_listing`` shows them.
    """

    source: str
    definitions: dict[str, ast.AST]
    needed: tuple[str, ...]
    body: tuple[ast.stmt, ...]

    def segment(self, node: ast.AST) -> str:
        """The source lines of a top-level ``node``, decorators included."""
        start = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        return "\n".join(self.source.splitlines()[start - 1:node.end_lineno])


def module_use(source: str, function: str) -> ModuleUse:
    """The closure of ``function`` in the module whose text is ``source`` (see :class:`ModuleUse`)."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as Python reads
    tree = ast.parse(source)
    definitions = {node.name: node for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    needed: list[str] = []
    pending = [function]
    while pending:
        name = pending.pop()
        if name in needed or name not in definitions:
            continue
        needed.append(name)
        pending.extend(n.id for n in ast.walk(definitions[name]) if isinstance(n, ast.Name))
    body = [node for node in tree.body if node not in definitions.values()]
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the module docstring
    return ModuleUse(source, definitions, tuple(needed), tuple(body))


def function_digest(source: str, function: str) -> str:
    """Hash of what running ``function`` executes from its own module (whose text is ``source``).

    That is the function, the module-level statements (imports, constants), and the module's
    functions and classes it uses, directly or through each other: another function of the
    same module can change without changing this digest.
    """
    use = module_use(source, function)
    digest = hashlib.sha256()
    for node in [*use.body, *(use.definitions[name] for name in sorted(use.needed))]:
        digest.update(token_digest(textwrap.dedent(use.segment(node))).encode())
    return digest.hexdigest()


def keyed_digest(entry: str, source: str) -> str:
    """The digest a key's ``sources`` entry holds for a file whose text is ``source``.

    ``path::function`` is the recipe's own module (:func:`function_digest`); a bare path is an
    imported project module, hashed whole (:func:`token_digest`: its top level runs on import).
    """
    _, separator, function = entry.partition("::")
    return function_digest(source, function) if separator else token_digest(source)
