"""``build-site`` itself: read, plan, execute (by starting workers), render, write.

Never imports TensorFlow, Keras or ``litblog.runtime`` (``tests/test_boundary.py``).
"""
