"""TODO notebooks."""
