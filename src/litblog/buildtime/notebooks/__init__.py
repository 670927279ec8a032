"""Notebooks: writes the notebook each post ships and compares a re-run with its published run.

``notebook.py`` (a post's notebook: its recipes, its runs, the comparison), ``comparison.py``
(re-run against stored run, standard library only: copied into every notebook and used by
``build-site reproduce``).
"""
