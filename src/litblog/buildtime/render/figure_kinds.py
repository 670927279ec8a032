"""Figures the build draws from stored data: a small registry of kinds, by figure name.

``{figure} model1.curves`` and ``show: [curves]`` place the learning curves drawn from the
stored ``history.json``; ``{figure} model1.confusion`` a confusion matrix drawn from the counts
``ctx.predict`` records (``<name>.confusion.<true>.<predicted>``). No worker draws them: the
render stage does (matplotlib, never TensorFlow), cached by what they show and the drawing
code (``Page.drawn``), so restyling one in ``figures.py`` redraws it and re-runs nothing.

A figure the recipe saved itself under the same name (``ctx.figure("confusion", fig)``) wins
over the kind, so posts keep their own figures. The learning curves workers used to draw and
store (``figures/curves.png``, the caption :data:`RUN_TIME_CURVES`) are not the recipe's own:
committed results that hold them are drawn from their history like any other.

A kind is a :class:`FigureKind` in :data:`KINDS`; adding one is its entry in the list at the
end of this module (and its row in ``docs/authoring.md``). Nothing else dispatches on names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...common.store import StoredResult

Runs = Sequence[tuple[int, "StoredResult"]]  # (seed, result) of each run the figure shows
_QUALIFIER = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")

# The manifest entry of the curves a worker drew and stored until drawing moved to the build;
# a recipe's own `curves` figure has the caption the recipe gave it.
RUN_TIME_CURVES = {"file": "figures/curves.png", "caption": "Accuracy and loss per epoch, training and validation."}


@dataclass(frozen=True)
class Drawing:
    """What a kind draws for some runs: JSON-plain data (the cache key) and what the figure shows."""

    data: dict[str, Any]  # everything the drawing depends on, besides the drawing code
    caption: str  # for a page that shows the figure without the author's caption
    draw: Callable[[dict[str, Any]], "Figure"]  # data -> figure; imports matplotlib only when called
    # The image's alt text, what it shows (kind, metrics, seeds); EXPERIMENT stands for the experiment's name.
    alt: str = ""


EXPERIMENT = "\0experiment\0"  # replaced in Drawing.alt by the experiment's name (and its seed)


@dataclass(frozen=True)
class FigureKind:
    """A figure the build can draw for any run that stored what it needs."""

    name: str  # the figure's name in `{figure} experiment.<name>`
    # (runs, qualifier, pooled) -> the drawing, or why these runs cannot have it. ``pooled``: one
    # figure for all the runs of an experiment of several seeds; else ``runs`` is one run.
    # ``qualifier``: what the figure name had before the kind's (``validation`` in
    # ``validation.confusion``), or None.
    drawing: Callable[[Runs, str | None, bool], Drawing | str]
    qualified: bool = False  # accepts ``<qualifier>.<name>``


def recipe_figures(result: StoredResult) -> dict[str, Path]:
    """The figures a recipe saved with ``ctx.figure``, by name (the run-time curves of older results left out)."""
    entries: Mapping[str, Any] = result.manifest.get("figures", {})
    return {name: result.folder / entry["file"] for name, entry in entries.items()
            if not (name == "curves" and entry == RUN_TIME_CURVES)}


def kind_of(figure: str) -> tuple[FigureKind | None, str | None]:
    """The kind a figure name asks for, and its qualifier: ``validation.confusion`` -> (confusion, "validation")."""
    qualifier, _, name = figure.rpartition(".")
    kind = KINDS.get(name)
    # A qualifier is part of a published file name: dotted simple names only, never a path.
    if kind is None or (qualifier and not (kind.qualified and _QUALIFIER.fullmatch(qualifier))):
        return None, None
    return kind, qualifier or None


def code_digest() -> str:
    """What drawings are keyed by of this module: what a drawing's data means is decided here
    (its pinned stamp while its code is unchanged, see ``drawing_code.py``)."""
    from .drawing_code import stamp

    return stamp("figure kinds")


# -- curves ---------------------------------------------------------------------------------


def _curves(runs: Runs, qualifier: str | None, pooled: bool) -> Drawing | str:
    trained = [(seed, result) for seed, result in runs if result.history.get("epochs")]
    if not trained:
        return "no run of it trained (its history has no epochs)" if pooled else "it did not train (no epochs)"
    names = [name for _, result in trained for name in result.history.get("metrics", {})]
    panels = sorted({n for n in names if not n.startswith("val_") and n != "learning_rate"},
                    key=lambda n: (n == "loss", n))
    what = " and ".join(n.replace("_", " ") for n in panels) or "metrics"
    validation = " against validation" if any(n.startswith("val_") for n in names) else ""
    if not pooled:
        return Drawing({"history": trained[0][1].history}, RUN_TIME_CURVES["caption"], _draw_curves,
                       f"Learning curves of {EXPERIMENT}: {what} per epoch, training{validation}")
    seeds = [seed for seed, _ in trained]
    words = ", ".join(str(seed) for seed in seeds)
    return Drawing({"histories": [result.history for _, result in trained], "seeds": seeds},
                   f"Mean per epoch over seeds {words}; the band spans the lowest to the highest run.", _draw_band,
                   f"Learning curves of {EXPERIMENT}: {what} per epoch, training{validation}, "
                   f"mean of {len(seeds)} seeds ({words}) with their range")


def _draw_curves(data: dict[str, Any]) -> Figure:
    from ...common.figures import learning_curves

    return learning_curves(data["history"])


def _draw_band(data: dict[str, Any]) -> Figure:
    from ...common.figures import learning_curves_band

    return learning_curves_band(data["histories"], data["seeds"])


# -- confusion ------------------------------------------------------------------------------


def _confusion(runs: Runs, qualifier: str | None, pooled: bool) -> Drawing | str:
    tables = []
    for seed, result in runs:
        found = recorded_confusion(result, qualifier)
        if isinstance(found, str):
            return found if len(runs) == 1 else f"seed {seed}: {found}"
        tables.append(found)
    name, classes, _ = tables[0]
    if any(table[1] != classes for table in tables):
        return "its seeds recorded different classes"
    counts = [[sum(table[2][i][j] for table in tables) for j in range(len(classes))] for i in range(len(classes))]
    what = f"{name[:1].upper()}{name[1:]} images by true and predicted class"
    if pooled:
        what += ", summed over seeds " + ", ".join(str(seed) for seed, _ in runs)
    seeds = ", ".join(str(seed) for seed, _ in runs)
    alt = (f"Confusion matrix of {EXPERIMENT} on the {name} images" +
           (f", summed over seeds {seeds}" if pooled else "") +
           f": counts of {', '.join(classes)} by true and predicted class, "
           f"{sum(counts[i][i] for i in range(len(classes)))} of {sum(map(sum, counts))} correct")
    return Drawing({"counts": counts, "classes": list(classes)},
                   f"{what}: count and share of the true class.", _draw_confusion, alt)


def recorded_confusion(result: StoredResult, name: str | None) -> tuple[str, tuple[str, ...], list[list[int]]] | str:
    """(name, class labels, counts[true][predicted]) recorded as ``<name>.confusion.<true>.<predicted>``,
    or why there are none. ``name`` None: ``test``, else the only name with counts.

    Labels are the class names of the stored predictions of that name when they match the
    recorded classes (their order is the dataset's), else the recorded names in recorded order.
    """
    recorded = _confusion_tables(result.metrics)
    if not recorded:
        return "it recorded no confusion counts (ctx.predict records them)"
    if name is None:
        if "test" not in recorded and len(recorded) > 1:
            return "it recorded confusion counts of " + ", ".join(f"'{n}'" for n in recorded) + \
                   ": name one, like " + f"{next(iter(recorded))}.confusion"
        name = "test" if "test" in recorded else next(iter(recorded))
    if name not in recorded:
        return f"it recorded no confusion counts named '{name}' (it has " + \
               ", ".join(f"'{n}'" for n in recorded) + ")"
    table = recorded[name]
    labels = {slug: slug for slug in table}
    names = _predicted_class_names(result, name)
    if names is not None and sorted(_slug(n) for n in names) == sorted(table):
        labels = {_slug(n): n for n in names}  # one label per recorded class, in the dataset's order
    slugs = list(labels)
    counts = [[int(table[true][predicted]) for predicted in slugs] for true in slugs]
    return name, tuple(labels.values()), counts


def _predicted_class_names(result: StoredResult, name: str) -> list[str] | None:
    """``class_names`` of the predictions ``ctx.predict`` stored under ``name``, or None."""
    if name not in result.manifest.get("predictions", {}):
        return None
    try:
        names = result.predictions(name).get("class_names")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def _confusion_tables(metrics: Any, prefix: str = "", depth: int = 0) -> dict[str, dict[str, dict[str, int]]]:
    """Every ``<name>.confusion`` table of recorded values, by name (dotted), in recorded order."""
    found: dict[str, dict[str, dict[str, int]]] = {}
    if not isinstance(metrics, dict) or depth > 8:
        return found
    for key, value in metrics.items():
        if key == "confusion" and prefix and _is_square_table(value):
            found[prefix] = value
        elif isinstance(value, dict):
            found.update(_confusion_tables(value, f"{prefix}.{key}" if prefix else str(key), depth + 1))
    return found


def _is_square_table(value: Any) -> bool:
    """``{true: {predicted: count}}`` over one set of classes, counts whole and not negative."""
    if not isinstance(value, dict) or not value:
        return False
    classes = set(value)
    return all(isinstance(row, dict) and set(row) == classes and
               all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in row.values())
               for row in value.values())


def _slug(name: str) -> str:
    # The rule ctx.predict names classes by in recorded values (runtime/recorded.slug, run-time code).
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _draw_confusion(data: dict[str, Any]) -> Figure:
    """``counts[true][predicted]`` as a matrix, each cell its count and share of the true class.

    Coloured and annotated as ``figures.confusion_matrix`` (which recipes call), with matplotlib
    alone: the build does not need seaborn. Drawn here rather than in figures.py because that
    file's digest names every committed chart (``chart-<digest>.svg``).
    """
    # First: it selects the Agg backend.
    from ...common.figures import LABEL_SIZE, SCREEN_WIDTH, TEXT_COLOUR, TICK_SIZE, TITLE_SIZE

    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    names = [str(name).replace("$", r"\$") for name in data["classes"]]  # drawn as written, never as mathtext
    size = len(names)
    counts = np.asarray(data["counts"], dtype=int).reshape(size, size)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(SCREEN_WIDTH - 1.2, 1.6 + 1.1 * size)  # a phone's width: see figures.SCREEN_WIDTH
    fig, axis = plt.subplots(figsize=(side + 1.2, side))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for true in range(size):
        for predicted in range(size):
            share = shares[true, predicted]
            # White on dark cells, as seaborn's heatmap picks, so every number stays legible.
            axis.text(predicted, true, f"{counts[true, predicted]}\n{share:.1%}", ha="center", va="center",
                      fontsize=TICK_SIZE, color="white" if share > 0.6 else TEXT_COLOUR)
    bar = fig.colorbar(image, ax=axis, format=PercentFormatter(1.0), fraction=0.046, pad=0.04)
    bar.set_label("share of the true class", size=LABEL_SIZE)
    axis.set_xticks(range(size), names)
    axis.set_yticks(range(size), names)
    axis.tick_params(labelsize=TICK_SIZE)
    axis.set_xlabel("predicted", size=LABEL_SIZE)
    axis.set_ylabel("true", size=LABEL_SIZE)
    axis.set_title(f"{int(np.trace(counts))} of {int(counts.sum())} correct", size=TITLE_SIZE)
    fig.tight_layout()
    return fig


# -- the registry ---------------------------------------------------------------------------


def _register(*kinds: FigureKind) -> dict[str, FigureKind]:
    """The kinds by name; a name must not repeat, and must be a figure name ``ctx.figure`` accepts."""
    registry: dict[str, FigureKind] = {}
    for kind in kinds:
        if kind.name in registry or not re.fullmatch(r"[A-Za-z0-9_-]+", kind.name):
            raise TypeError(f"figure kind {kind.name!r}: a repeated or invalid name")
        registry[kind.name] = kind
    return registry


KINDS: dict[str, FigureKind] = _register(
    FigureKind("curves", _curves),  # history.json: one run's curves, or the band over several seeds
    FigureKind("confusion", _confusion, qualified=True),  # <name>.confusion.<true>.<predicted> counts
)
