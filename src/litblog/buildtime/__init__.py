"""``build-site`` itself, in stage packages taken in the pipeline's order.

sources -> directives -> plan -> execute -> results -> notebooks -> render -> publish -> commands:
each package imports only from itself and the ones before it, and nothing here imports
TensorFlow, Keras or ``litblog.runtime`` (``tests/test_boundary.py`` holds both rules).
"""
