"""Sources: reads what the author wrote and hands on SiteConfig, Post and Recipe.

``config.py`` (``_config.yml``), ``posts.py`` (posts and front matter), ``yaml_source.py`` (YAML
with the line of every key), ``schema.py`` (declarative options), ``recipe_source.py`` (recipes
read with ``ast``, never imported), ``identity.py`` (file digests remembered by identity, and
litblog's own code digest), ``text.py`` (Markdown syntax litblog reads; escaping of what it writes).
"""
