"""Directives: finds directive blocks and inline roles in a post and hands on a ParsedPost.

One module per directive (``experiment``, ``figure``, ``table``, ``chart``) and per role
(``result``, ``claim``, ``ref``, ``numref``, ``cite``) holds its syntax: its block or reference,
its options, its parser. ``registry.py`` lists them, ``scan.py`` finds them in a post (block
structure from ``structure.py``), ``numbering.py`` numbers figures and tables, ``base.py`` is what
they share. How each is drawn is the render stage's (``render/blocks/``).
"""

from .base import Block, CodeBlock, Directive, DirectiveSource, Reference, Role, TextBlock
from .registry import CAPTION_ROLES, DIRECTIVES, ROLES
from .scan import Container, ParsedPost, find_references, parse_post
from .experiment import ExperimentDirective  # the directive the plan runs

__all__ = [
    "CAPTION_ROLES", "DIRECTIVES", "ROLES", "Block", "CodeBlock", "Container", "Directive", "DirectiveSource",
    "ExperimentDirective", "ParsedPost", "Reference", "Role", "TextBlock",
    "find_references", "parse_post",
]
