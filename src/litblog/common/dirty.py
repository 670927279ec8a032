"""Which of a run's inputs were not in the commit it records: the manifest's ``repository`` entry.

The build asks git once (``buildtime/execute/provenance.py``) and hands each worker, in its spec, the
untracked or modified files that can matter to the run: the run's own code (recipe module and
the project modules it imports) that is changed, and the other changed files of the project,
which the recipe may read through ``ctx.input_file``. The worker keeps those it used.
"""

from __future__ import annotations

from typing import Any, Iterable


def repository_entry(given: dict[str, Any] | None, read_names: Iterable[str]) -> dict[str, Any]:
    """``{"commit", "dirty"}`` as the build found them, with ``dirty`` true and ``dirty_files`` (project
    paths, sorted) when a code file of the run or a file it read (``./path`` in ``read_names``) is
    untracked or modified."""
    given = given or {}
    entry: dict[str, Any] = {"commit": given.get("commit"), "dirty": given.get("dirty")}
    read = set(read_names)
    dirty = set(given.get("changed_code", ())) | {path for path in given.get("changed_files", ())
                                                   if f"./{path}" in read}
    if dirty:
        entry["dirty"] = True
        entry["dirty_files"] = sorted(dirty)
    return entry
