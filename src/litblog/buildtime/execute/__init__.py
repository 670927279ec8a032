"""Execute: runs what the plan needs in workers and hands on each experiment's outcome.

``executors.py`` (the registry: ``local``, ``dask``), ``execute.py`` (the local executor),
``launch.py`` (the one way a worker starts), ``warm.py`` (the warm server's client),
``process_group.py`` (stopping a worker and what it started), ``dask_executor.py``, ``lock.py``
(one build at a time), ``checkpoints.py``, ``progress.py`` (the console), ``provenance.py`` (git
state handed to workers), ``outcomes.py`` (what rendering knows of each experiment's runs).
"""
