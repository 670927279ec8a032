"""Images for screens: a recipe's saved PNG as WebP at 1x and 2x, and the size of a drawn SVG.

A figure a recipe saved (``ctx.figure``: sample grids, misclassified images) is a 100 dpi PNG,
often larger than it is shown and heavy (photographs compress badly as PNG). The page gets it as
WebP (Pillow) at most :data:`PHOTO_WIDTH` CSS px wide, plus a version twice that wide (at most
the PNG's own width) for screens of two or more device pixels per CSS pixel, offered with
``srcset``. Conversions are cached like drawings (``Page.drawn``: by the PNG's SHA-256, the width
and the quality, stamped with their digest), so a rebuild converts nothing and ``--check`` reuses
the committed files. The stored PNG is never changed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .page import Page

PHOTO_WIDTH = 800  # CSS px: the widest a saved image is shown (the page's wide column holds it)
QUALITY = 80  # WebP quality: photographs and their titles stay clean at a tenth of the PNG's bytes
CONVERSION = 1  # bump when the conversion changes: every WebP is made again
_SVG_SIZE = re.compile(rb'<svg[^>]*?\swidth="([0-9.]+)pt"\s+height="([0-9.]+)pt"')


def web_versions(page: Page, png: Path) -> list[tuple[Path, int, int]]:
    """(file, width, height) of the WebP versions of ``png``: the 1x one, then a 2x one when the PNG
    is wider than the 1x."""
    digest = hashlib.sha256(png.read_bytes()).hexdigest()
    width, height = _size(png)
    one = min(width, PHOTO_WIDTH)
    widths = [one] + ([min(width, 2 * one)] if width > one else [])
    versions = []
    for shown in widths:
        shown_height = max(1, round(height * shown / width))
        file = page.drawn({"webp": digest, "width": shown, "quality": QUALITY, "conversion": CONVERSION},
                          functools.partial(_convert, png, (shown, shown_height)), stamped=True, suffix=".webp")
        versions.append((file, shown, shown_height))
    return versions


def sizes(width: int) -> str:
    """The ``sizes`` of a saved image shown ``width`` CSS px wide at most: the column's width below that."""
    return f"(max-width: {width + 40}px) calc(100vw - 1.5rem), {width}px"


def svg_size(svg: Path) -> tuple[int, int]:
    """The CSS px size of a matplotlib SVG (its ``width``/``height`` in points, 4/3 px each)."""
    with svg.open("rb") as file:
        found = _SVG_SIZE.search(file.read(2000))
    if not found:
        raise ValueError(f"{svg}: no width and height in points")
    return round(float(found.group(1)) * 4 / 3), round(float(found.group(2)) * 4 / 3)


def _size(png: Path) -> tuple[int, int]:
    """A PNG's (width, height) from its header: a rebuild that converts nothing does not import Pillow."""
    with png.open("rb") as file:
        head = file.read(24)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    from PIL import Image

    with Image.open(png) as image:
        return image.size


def _convert(png: Path, size: tuple[int, int], drawing: dict[str, object], target: Path) -> None:
    """``png`` resized to ``size`` (Lanczos), written as a plain lossy WebP (no metadata)."""
    from PIL import Image

    with Image.open(png) as image:
        picture = image.convert("RGB")
    if picture.size != size:
        picture = picture.resize(size, Image.LANCZOS)
    picture.info.clear()
    partial = target.with_name(f".{target.name}.partial")
    picture.save(partial, "WEBP", quality=QUALITY, method=6, exif=b"", icc_profile=None)
    partial.replace(target)
