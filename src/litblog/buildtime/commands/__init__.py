"""Commands: what ``build-site`` does, each command putting the stages together.

``cli.py`` (the command line, a registry of commands), ``pipeline.py`` (``build``: every stage in
order), ``check.py`` (``--check``), ``reproduce.py``, ``serve.py`` (the preview server),
``drafts.py`` (``--set`` builds), ``watch.py`` (sources edited while experiments ran).
"""
