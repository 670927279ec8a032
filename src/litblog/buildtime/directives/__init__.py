"""Stage 3, directives: find directive blocks and inline roles in a post, and parse them.

One module per directive (``experiment``, ``figure``, ``table``, ``chart``) and per role
(``result``, ``claim``) holds everything about it: its block or reference, its options, its
parser and its renderer. ``registry.py`` lists them, ``scan.py`` finds them in a post,
``base.py`` is what they share, and ``seed_values.py`` is how their renderers show values
of experiments with several seeds.
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
