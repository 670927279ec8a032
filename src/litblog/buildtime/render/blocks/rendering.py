"""What each module of ``render/blocks/`` exports: the type it draws and the function that draws it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Rendering(Generic[T]):
    """How a directive's block or a role's reference becomes Markdown on a page.

    A block's ``render`` takes ``(block, page)``; a reference's takes ``(reference, page, links)``
    (without ``links``, in a caption, plain text only).
    """

    kind: type[T]
    render: Callable[..., str]


