"""litblog: machine-learning blog posts whose every number, log and figure comes from a recorded run."""

__version__ = "0.1.0"
