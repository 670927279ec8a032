"""Render: turns a parsed post and its outcomes into Markdown pages and hands on RenderedPosts.

``renderer.py`` (``Renderer``: one post for both targets), ``page.py`` (what block renderers
write onto), ``blocks/`` (how each directive and role is drawn, by block type),
``targets.py`` (Jekyll and the preview), ``figure_kinds.py`` (figures drawn from stored data),
``drawing_code.py`` (the drawing code's pinned stamps), ``web_images.py``, ``highlight.py``,
``toc.py``, ``bibliography.py``, ``notices.py``, ``typed_numbers.py`` (numbers typed into prose
checked), ``provenance_card.py``, ``reading.py``.
"""
