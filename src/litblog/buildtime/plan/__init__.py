"""Plan: decides what must run and hands on a Plan of keyed experiments with their stored results.

``plan.py`` (``make_plan``: recipes resolved, params checked, a key per run), ``keys.py`` (what a
key covers, and the key), ``engine.py`` + ``engine_pins.json`` (litblog's run-time code in every
key), ``seals.py`` (stored results verified once per file change), ``parse_cache.py`` (posts read
and parsed once per change).
"""
