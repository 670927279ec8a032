"""``python -m litblog.worker SPEC`` runs :func:`litblog.runtime.worker.main` (see ``__main__.py``)."""
