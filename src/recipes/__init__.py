"""Training recipes: plain functions ``recipe(ctx, **params)`` that posts refer to as ``module.function``."""
