"""The provenance card: a folded "How this post was built" at the end of every post with experiments.

The data: per experiment, its recipe (file and function) and a list of runs (one per seed),
each with params, seed, key, software versions, hardware, when it ran and for how long, the
repository commit it ran at and the digests of the files it read, all from the result's
manifest. The page shows it as one compact table (``template_values``): a row per run (seed,
key, date, duration), a heading row per experiment (recipe, params), and what every run shares
(software, hardware, commit, files read when any) stated once above the table. The same data, unescaped, goes into
``site/_build/report.json``. Build-time code: no TensorFlow.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Callable


from .page import notice_anchor
from ..sources.text import duration, html_text
from ..results.values import format_value

if TYPE_CHECKING:
    from ..directives import ParsedPost
    from ..execute.outcomes import ExperimentOutcome
    from ..plan.plan import Plan, PlannedExperiment
    from ...common.store import StoredResult, ResultStore

TEMPLATE = "provenance.html.j2"
NOT_RECORDED = "not recorded"
DIGEST_SHOWN = 12  # hex digits of a SHA-256 shown on the page (the report has all 64)


def run_data(experiment: PlannedExperiment, result: StoredResult | None, note: str | None = None) -> dict[str, Any]:
    """One run as plain data: what its key covers and what its manifest recorded (None where not)."""
    manifest = result.manifest if result is not None else {}
    runtime = manifest.get("runtime") or {}
    hardware = manifest.get("hardware") or {}
    timings = manifest.get("timings") or {}
    reads = manifest.get("reads") or {}
    repository = manifest.get("repository")
    return {
        "key": experiment.key,
        "seed": experiment.seed,
        "params": dict(experiment.params),
        "stored": result is not None,
        "note": None if result is not None else (note or "It has not been run."),
        "created": manifest.get("created"),
        "train_seconds": timings.get("train_seconds"),
        "wall_seconds": timings.get("wall_seconds"),
        "versions": {"python": runtime.get("python"), "tensorflow": runtime.get("tensorflow"),
                     "keras": runtime.get("keras"), "litblog": manifest.get("litblog")} if result else {},
        "hardware": {"cpu": hardware.get("cpu"), "cores": hardware.get("cpu_count"),
                     "gpus": [_gpu_name(g) for g in hardware.get("gpus") or []],
                     "system": " ".join(x for x in (hardware.get("system"), hardware.get("machine")) if x) or None}
        if hardware else None,
        # None: the result predates recording it (older manifests have no "repository")
        "repository": dict(repository) if isinstance(repository, dict) else None,
        "reads": [{"name": name, "sha256": entry.get("sha256"), "bytes": entry.get("bytes")}
                  for name, entry in sorted(reads.items()) if isinstance(entry, dict)],
    }


def experiment_data(experiment: PlannedExperiment, runs: list[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
    """An experiment as plain data: its recipe and the list of its runs."""
    file, function = _recipe_file(experiment)
    return {"experiment": name or experiment.label, "recipe": experiment.recipe.reference, "file": file,
            "function": function, "runs": runs}


def card_data(parsed: ParsedPost, outcomes: dict[str, ExperimentOutcome]) -> list[dict[str, Any]]:
    """The card of one post: its experiments in the order the post defines them; [] when it has none."""
    card = []
    for name in parsed.experiments:
        outcome = outcomes.get(name)
        if outcome is None:
            continue
        seeds = outcome.seeds or ()
        runs = ([run_data(run.experiment, run.result, run.failure) for run in seeds] if len(seeds) > 1
                else [run_data(outcome.experiment, outcome.result, outcome.failure)])
        card.append(experiment_data(outcome.experiment, runs, name))
    return card


def add_to_report(report: dict[str, Any], plan: Plan, store: ResultStore) -> None:
    """Put each experiment's provenance (the card's data) into its row of the build report."""
    for row in report.get("experiments", []):
        experiment = plan.experiments.get(row.get("key"))
        if experiment is None:
            continue
        result = experiment.result or store.load(experiment.recipe.reference, experiment.key)
        row["provenance"] = experiment_data(experiment, [run_data(experiment, result, experiment.blocked)])


# The fields of a run a reader compares least: stated once above the table when every run with a
# result has the same, else a column of their own. Label -> the run's text.
_SHARED_FIELDS: tuple[tuple[str, Callable[[dict[str, Any]], str | None]], ...] = (
    ("software", lambda run: _software(run["versions"])),
    ("hardware", lambda run: _hardware(run["hardware"])),
    ("commit", lambda run: _commit(run["repository"])),
    ("files read", lambda run: _reads(run["reads"])),  # None: read nothing (left out when no run read any)
)


def template_values(card: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``provenance.html.j2`` shows: one table, a row per run (seed, key, when, how long), what every
    run shares stated once above it, each experiment's recipe and params in the row that heads its runs;
    every value text made safe for HTML and Liquid."""
    stored = [run for entry in card for run in entry["runs"] if run["stored"]]
    shared, columns = [], []
    for label, text_of in _SHARED_FIELDS:
        texts = {text_of(run) for run in stored}
        if texts == {None} or not texts:
            continue
        if len(texts) == 1:
            shared.append({"label": label, "value": html_text(texts.pop())})
        else:
            columns.append((label, text_of))
    experiments = []
    for entry in card:
        params = entry["runs"][0]["params"] if entry["runs"] else None
        runs = []
        for run in entry["runs"]:
            shown: dict[str, Any] = {"seed": html_text(run["seed"]), "key": html_text(run["key"]),
                                     "note": html_text(run["note"]) if run["note"] else None}
            if run["stored"]:
                shown.update({"ran": html_text(_date(run)), "duration": html_text(_duration(run)),
                              "title": html_text(_seconds(run)),
                              "extra": [html_text(text_of(run) or "none") for _, text_of in columns]})
            runs.append(shown)
        experiments.append({"name": html_text(entry["experiment"]), "function": html_text(entry["function"]),
                            "file": html_text(entry["file"]),
                            "anchor": notice_anchor(str(entry["experiment"])),
                            "params": html_text(format_value(params)) if params else None, "runs": runs})
    return {"shared": shared, "columns": [html_text(label) for label, _ in columns], "experiments": experiments}


def _recipe_file(experiment: PlannedExperiment) -> tuple[str, str]:
    """The recipe's project-relative file and function, from its key inputs (never an absolute path)."""
    function = experiment.recipe.function
    for source in experiment.inputs.sources:
        path, _, name = source.partition("::")
        if name == function:
            return path, function
    return experiment.recipe.file.name, function


def _gpu_name(name: Any) -> str:
    # TensorFlow names devices "/physical_device:GPU:0"; the prefix reads like a path and says nothing.
    return str(name).removeprefix("/physical_device:")


def _software(versions: dict[str, Any]) -> str:
    labels = {"python": "Python", "tensorflow": "TensorFlow", "keras": "Keras", "litblog": "litblog"}
    return ", ".join(f"{label} {versions.get(name) or NOT_RECORDED}" for name, label in labels.items())


def _hardware(hardware: dict[str, Any] | None) -> str:
    if not hardware:
        return NOT_RECORDED
    cores = hardware.get("cores")
    cpu = hardware.get("cpu") or "unknown CPU"
    details = ", ".join(x for x in (f"{cores} cores" if cores else "", hardware.get("system") or "") if x)
    gpus = hardware.get("gpus") or []
    return f"{cpu}" + (f" ({details})" if details else "") + ("; GPUs: " + ", ".join(gpus) if gpus else "; no GPU")


def _reads(reads: list[dict[str, Any]]) -> str | None:
    return ", ".join(f"{(r['sha256'] or '?')[:DIGEST_SHOWN]} {r['name']}" for r in reads) or None


def _date(run: dict[str, Any]) -> str:
    """When the run was made, to the minute (UTC when recorded so)."""
    when = run.get("created")
    try:
        moment = dt.datetime.fromisoformat(when) if when else None
    except (TypeError, ValueError):
        moment = None
    if moment is None:
        return str(when) if when else NOT_RECORDED
    zone = " UTC" if moment.utcoffset() == dt.timedelta(0) else ""
    return f"{moment:%Y-%m-%d %H:%M}{zone}"


def _duration(run: dict[str, Any]) -> str:
    wall = run.get("wall_seconds")
    return duration(wall) if isinstance(wall, (int, float)) else NOT_RECORDED


def _seconds(run: dict[str, Any]) -> str:
    return ", ".join(f"{label} {value:.1f} s" for label, value in
                     (("training", run.get("train_seconds")), ("wall", run.get("wall_seconds")))
                     if isinstance(value, (int, float)))


def _commit(repository: dict[str, Any] | None) -> str:
    if not repository or not repository.get("commit"):
        return NOT_RECORDED
    dirty = repository.get("dirty")
    files = repository.get("dirty_files")
    if files:  # what the run used that the commit does not hold
        state = "not in the commit: " + ", ".join(str(f) for f in files)
    else:
        state = {True: "with uncommitted changes", False: "clean tree"}.get(dirty, "tree state not recorded")
    return f"{str(repository['commit'])[:DIGEST_SHOWN]} ({state})"


__all__ = ["TEMPLATE", "card_data", "run_data", "experiment_data", "add_to_report", "template_values"]
