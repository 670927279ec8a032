"""Publish: writes rendered posts into site/ and the preview, reusing what did not change.

``site.py`` (``write_site``: ``site/`` swapped in whole, the report, the home page),
``preview.py`` (the local preview's HTML), ``render_cache.py`` (rendered posts reused by their
inputs, site files as content-addressed objects), ``render_inputs.py`` (what a rendering read).
"""
