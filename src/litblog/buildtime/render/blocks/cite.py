"""The cite role drawn on a page; its syntax, options and parser are ``directives/cite.py``.

``{cite}`lecun1998```: a citation of an entry of the post's bibliography, as MyST writes it:
"(LeCun et al., 1998)"; ``{cite:t}`` names the work in the sentence: "LeCun et al. (1998)".
"""

from __future__ import annotations

from markupsafe import Markup

from ....common.errors import SourceLocation, UserError, did_you_mean, one_of
from ..bibliography import DEFAULT_FILE, FRONT_MATTER_KEY, anchor, post_bibliography, reference_item
from ..page import Page
from ...sources.text import html_text
from .rendering import Rendering
from ...directives.cite import Citation

REFERENCES_TEMPLATE = "references.html.j2"  # the section after the post, of the entries it cited


def _bibliography(page: Page, location: SourceLocation) -> bool:
    """Read the post's bibliography into ``page`` once; False (with an error) when it has none."""
    if page.bibliography is not None:
        return True
    post = page.post
    doc = post.front_matter_doc
    where = doc.location(FRONT_MATTER_KEY) if doc is not None and FRONT_MATTER_KEY in post.front_matter \
        else post.location(1)
    try:
        found = post_bibliography(post.front_matter, where, page.root) if page.root is not None else None
    except UserError as exc:
        page.errors.append(exc)
        return False
    if found is None:
        page.errors.append(UserError("a citation needs a bibliography, and this post has none", location,
                                     hint=f"add {DEFAULT_FILE} at the project root, or 'bibliography: "
                                          "file.bib' to the post's front matter"))
        return False
    page.bibliography = found
    return True



def render(citation: Citation, page: Page, links: bool) -> str:
    if not _bibliography(page, citation.location):
        return html_text(", ".join(citation.keys))
    assert page.bibliography is not None
    entries = page.bibliography.entries
    parts = []
    for key in citation.keys:
        entry = entries.get(key)
        if entry is None:
            page.errors.append(UserError(f"'{key}' is not in {', '.join(page.bibliography.files)}",
                                         citation.location, suggestion=did_you_mean(key, entries) or one_of(entries)))
            parts.append(str(html_text(key)))
            continue
        page.cited.setdefault(key)
        year = page.bibliography.years[key]
        text = html_text(f"{entry.short_authors} ({year})" if citation.textual else f"{entry.short_authors}, {year}")
        parts.append(f'<a class="litblog-cite" href="#{anchor(key)}">{text}</a>' if links else str(text))
    return "; ".join(parts) if citation.textual else "(" + "; ".join(parts) + ")"


def references_section(page: Page) -> str:
    """The References section of the entries the page cited, in the order first cited; "" when none."""
    if not page.cited or page.bibliography is None:
        return ""
    items = [reference_item(page.bibliography.entries[key], page.bibliography.years[key]) for key in page.cited]
    return page.template(REFERENCES_TEMPLATE, items=items, title=Markup("References"))


RENDERING = Rendering(Citation, render)
