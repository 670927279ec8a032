"""Used by both wings: the build (``litblog.buildtime``) and the worker (``litblog.runtime``).

Imports neither wing, and never TensorFlow or Keras (``tests/test_boundary.py``).
"""
