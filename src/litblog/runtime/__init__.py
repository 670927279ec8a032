"""Inside a worker process: the recipe context, training, resume, data and weights.

Never imports ``litblog.buildtime`` (``tests/test_boundary.py``).
"""
