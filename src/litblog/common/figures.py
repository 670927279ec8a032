"""Figures: functions that draw a matplotlib figure from captured data. None imports TensorFlow.

Each returns a :class:`matplotlib.figure.Figure`; a recipe saves it with ``ctx.figure(name, fig)``
and a post places it with a ``{figure}`` directive. Learning curves (phases marked), image
grids, sample images by class, augmentation demos, confusion matrices, misclassified images and
a bar chart comparing experiments.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to files

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

# The page's colours and fonts (templates/jekyll/assets/css/litblog.css): text, muted text, rules, links.
TEXT_COLOUR, MUTED_COLOUR, GRID_COLOUR = "#1f2328", "#4a525c", "#d1d9e0"
TRAIN_COLOUR = "#0550ae"  # the page's link colour
VALIDATION_COLOUR = "#bc4c00"
PAGE_FONTS = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif"
# Figures the build draws are at most SCREEN_WIDTH inches wide (SVG: 96 CSS px an inch at natural
# size) with no text under TICK_SIZE points. A phone shows the page's column at about 366 CSS px,
# so the smallest text there is TICK_SIZE * 4/3 * 366 / (96 * width) px: 11.6 px at 5.5 inches.
SCREEN_WIDTH = 5.5
TICK_SIZE, LABEL_SIZE, LEGEND_SIZE, TITLE_SIZE = 12, 12.5, 12, 13
LABEL_WRAP = 14  # characters per line of a bar's label
LOSS_LOG_RATIO = 10  # a loss panel whose values span more than a decade gets a log axis
# rcParams the build draws its SVG figures with: the page's font and colours, text kept as text,
# ids from a fixed salt (the same figure gives the same bytes).
PAGE_STYLE = {
    "svg.fonttype": "none", "svg.hashsalt": "litblog", "font.family": "sans-serif",
    "text.color": TEXT_COLOUR, "axes.labelcolor": TEXT_COLOUR, "axes.edgecolor": MUTED_COLOUR,
    "xtick.color": MUTED_COLOUR, "ytick.color": MUTED_COLOUR, "xtick.labelcolor": TEXT_COLOUR,
    "ytick.labelcolor": TEXT_COLOUR, "grid.color": GRID_COLOUR, "legend.edgecolor": GRID_COLOUR,
    "axes.spines.top": False, "axes.spines.right": False,
}


def _legible(axis: Any) -> None:
    """Ticks, axis labels and title in :data:`TICK_SIZE`, :data:`LABEL_SIZE` and :data:`TITLE_SIZE`."""
    axis.tick_params(labelsize=TICK_SIZE)
    axis.xaxis.label.set_size(LABEL_SIZE)
    axis.yaxis.label.set_size(LABEL_SIZE)
    axis.title.set_size(TITLE_SIZE)


def wrapped_labels(labels: Sequence[str], width: int = LABEL_WRAP) -> tuple[list[str], int]:
    """Bar labels wrapped to ``width`` characters a line (words kept whole where they fit, long
    ones broken) and the rotation to draw them at: 0, or 30 degrees when a label would need more
    than three lines."""
    wrapped = [textwrap.fill(str(label), width=width, break_long_words=True, break_on_hyphens=True) or str(label)
               for label in labels]
    if any(text.count("\n") >= 3 for text in wrapped):
        return [str(label) for label in labels], 30
    return wrapped, 0


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG through a temporary file and a rename, then close it.

    No "Software" stamp: the same figure gives the same bytes, so results and the site diff cleanly.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fig.savefig(partial, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    partial.replace(path)


def save_svg(fig: Figure, path: Path) -> None:
    """Write ``fig`` as an SVG for a page (text as text in the page's fonts, no date), atomically; close it.

    Draw the figure inside ``matplotlib.rc_context(PAGE_STYLE)`` (:func:`draw_for_page` does both).
    """
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "litblog"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.05,
                    metadata={"Date": None, "Creator": None})
    plt.close(fig)
    # matplotlib lays text out with DejaVu Sans, wider than the page's fonts: the page's text fits.
    text = re.sub(r"font-family: [^;\"]*", "font-family: " + PAGE_FONTS, buffer.getvalue())
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def draw_for_page(draw: Callable[[], Figure], path: Path) -> None:
    """``draw()`` in the page's style (:data:`PAGE_STYLE`), saved as an SVG at ``path``."""
    with plt.rc_context(PAGE_STYLE):
        fig = draw()
        save_svg(fig, path)


def learning_curves(history: dict[str, Any], title: str | None = None) -> Figure:
    """Accuracy and loss per epoch, training against validation, phases marked.

    ``history`` is a stored ``history.json``: ``epochs``, ``metrics`` and ``phases``. Each
    phase after the first gets a dotted line labelled "start of <phase>". Panels are stacked,
    one metric under the other, so the figure keeps a phone's width (:data:`SCREEN_WIDTH`).
    """
    epochs = history.get("epochs", [])
    metrics = history.get("metrics", {})
    panels = _panels(metrics)
    fig, axes = _stacked(len(panels))
    for axis, name in zip(axes, panels):
        axis.plot(epochs, metrics[name], marker="o", markersize=3, color=TRAIN_COLOUR, label="training")
        if f"val_{name}" in metrics:
            axis.plot(epochs, metrics[f"val_{name}"], marker="o", markersize=3, color=VALIDATION_COLOUR,
                      label="validation")
        values = [v for v in metrics[name] + metrics.get(f"val_{name}", []) if v == v and v > 0]
        _finish_panel(axis, name, history.get("phases", []), values, epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curves_band(histories: Sequence[dict[str, Any]], seeds: Sequence[int] | None = None,
                         title: str | None = None) -> Figure:
    """Learning curves of several runs (one per seed): the mean per epoch, with a band from the
    lowest to the highest run, training against validation, phases marked as in
    :func:`learning_curves` (the first history's phases). Drawn at build time from stored
    ``history.json`` files; an epoch counts the runs that reached it.
    """
    first = histories[0] if histories else {"epochs": [], "metrics": {}}
    names: list[str] = []
    for history in histories:
        names += [n for n in history.get("metrics", {}) if n not in names]
    panels = _panels(names)
    fig, axes = _stacked(len(panels))
    all_epochs = sorted({e for h in histories for e in h.get("epochs", [])})
    runs = len(histories)
    for axis, name in zip(axes, panels):
        for series, colour, label in ((name, TRAIN_COLOUR, "training"), (f"val_{name}", VALIDATION_COLOUR,
                                                                         "validation")):
            per_epoch: dict[int, list[float]] = {}
            for history in histories:
                values = history.get("metrics", {}).get(series, [])
                for epoch, value in zip(history.get("epochs", []), values):
                    if value == value:  # NaN: that run has no value there
                        per_epoch.setdefault(epoch, []).append(value)
            if not per_epoch:
                continue
            epochs = sorted(per_epoch)
            means = [sum(per_epoch[e]) / len(per_epoch[e]) for e in epochs]
            axis.fill_between(epochs, [min(per_epoch[e]) for e in epochs], [max(per_epoch[e]) for e in epochs],
                              color=colour, alpha=0.2, linewidth=0)
            axis.plot(epochs, means, marker="o", markersize=3, color=colour, label=f"{label} (mean of {runs})")
        values = [v for h in histories for key in (name, f"val_{name}")
                  for v in h.get("metrics", {}).get(key, []) if v == v and v > 0]
        _finish_panel(axis, name, first.get("phases", []), values, all_epochs)
    words = title or (f"seeds {', '.join(str(s) for s in seeds)}: mean and range"
                      if seeds else None)
    if words:
        fig.suptitle(_plain(words), fontsize=LABEL_SIZE)
    fig.tight_layout()
    return fig


def _stacked(count: int) -> tuple[Figure, list[Any]]:
    """A figure of ``count`` panels one above the other, :data:`SCREEN_WIDTH` wide."""
    fig, axes = plt.subplots(max(1, count), 1, figsize=(SCREEN_WIDTH, 0.4 + 3.1 * max(1, count)), squeeze=False)
    return fig, list(axes[:, 0])


def _panels(names: Iterable[str]) -> list[str]:
    """One panel per training metric: accuracy-like first, loss last, as readers of the tutorials expect."""
    return sorted((name for name in names if not name.startswith("val_") and name != "learning_rate"),
                  key=lambda name: (name == "loss", name))


def _finish_panel(axis: Any, name: str, phases: Sequence[dict[str, Any]], values: Sequence[float],
                  epochs: Sequence[int]) -> None:
    """What every learning-curve panel has: phase starts after the first marked, the loss axis rule
    (:func:`loss_scale`), labels, epoch ticks when few, grid and legend."""
    for phase in phases[1:]:
        boundary = phase["first_epoch"] - 0.5
        axis.axvline(boundary, color=MUTED_COLOUR, linestyle=":", linewidth=1.2)
        axis.annotate(f"start of {phase['name']}", xy=(boundary, 1), xycoords=("data", "axes fraction"),
                      xytext=(3, -14), textcoords="offset points", fontsize=TICK_SIZE, color=MUTED_COLOUR)
    if "loss" in name and loss_scale(values) == "log":
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        axis.set_yscale("log")
        axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.yaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("epoch")
    axis.set_ylabel(name.replace("_", " "))
    axis.set_title(name.replace("_", " "))
    if epochs and len(epochs) <= 25:
        # Every epoch a tick, every other one labelled past 12: numbers never touch at a phone's width.
        axis.set_xticks(epochs, [str(e) if len(epochs) <= 12 or i % 2 == 0 else "" for i, e in enumerate(epochs)])
    axis.grid(alpha=0.6)
    axis.legend(loc="best", fontsize=LEGEND_SIZE)
    _legible(axis)


def loss_scale(values: Sequence[float]) -> str:
    """The axis of every loss panel: "log" when its values (training and validation, all runs) span more
    than a decade (:data:`LOSS_LOG_RATIO`), as a first epoch's spike does; else "linear". On a linear
    axis such a spike flattens every other epoch to a line at the bottom."""
    values = [v for v in values if v == v and v > 0]
    return "log" if values and max(values) / min(values) > LOSS_LOG_RATIO else "linear"


def image_grid(images: Sequence[Any], titles: Sequence[str], columns: int | None = None,
               cell_inches: float = 2.2) -> Figure:
    """Images in a grid, each titled; ``columns`` defaults to a near-square layout."""
    count = max(1, len(images))
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(cell_inches * columns, cell_inches * rows + 0.3),
                             squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index])
            axis.set_title(titles[index], fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Data, augmentation, predictions and comparisons


def class_samples(images: Sequence[Any], labels: Sequence[int], class_names: Sequence[str],
                  cell_inches: float = 2.2) -> Figure:
    """Sample images in one row per class (cats on top, dogs below), each titled with its class.

    ``images`` are arrays (uint8 0..255, or floats in 0..1 or -1..1) and ``labels`` their class
    indices, for example from ``data.images("train", per_class=3)``.
    """
    rows = [[image for image, label in zip(images, labels) if label == index]
            for index in range(len(class_names))]
    rows = [(name, row) for name, row in zip(class_names, rows) if row]
    columns = max((len(row) for _, row in rows), default=1)
    fig, axes = plt.subplots(max(1, len(rows)), columns, figsize=(cell_inches * columns, cell_inches * len(rows) + 0.2),
                             squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for r, (name, row) in enumerate(rows):
        for c, image in enumerate(row):
            axes[r][c].imshow(displayable(image))
            axes[r][c].set_title(name, fontsize=10)
    fig.tight_layout()
    return fig


def augmentation_demo(image: Any, layer: Any, count: int = 5, *, title: str | None = None,
                      columns: int | None = None, cell_inches: float = 2.2) -> Figure:
    """One image and ``count`` passes of it through an augmentation ``layer`` (a Keras layer or model).

    The layer is called with ``training=True``, as ``fit`` calls it; each pass draws new random
    parameters. ``title`` defaults to the layer's class and its main setting.
    """
    import numpy as np

    batch = np.asarray(image, dtype="float32")[None]
    variants = [np.asarray(layer(batch, training=True))[0] for _ in range(count)]
    images = [image, *variants]
    titles = ["original", *(f"pass {index + 1}" for index in range(count))]
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(cell_inches * columns, cell_inches * rows + 0.5), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, picture, name in zip(axes.flat, images, titles):
        axis.imshow(displayable(picture))
        axis.set_title(name, fontsize=10)
    # Wrapped to the figure's width (about 12 characters per inch): a long title would widen it.
    fig.suptitle(textwrap.fill(title or describe_layer(layer), width=max(30, int(cell_inches * columns * 12))),
                 fontsize=11)
    fig.tight_layout()
    return fig


def describe_layer(layer: Any) -> str:
    """``RandomRotation(factor=0.2)``: a layer's class and the settings that say what it does."""
    config = layer.get_config() if hasattr(layer, "get_config") else {}
    if "layers" in config:  # a Sequential: name its layers
        return " → ".join(describe_layer(inner) for inner in getattr(layer, "layers", []))
    shown = {key: config[key] for key in ("mode", "factor", "height_factor", "width_factor", "scale", "offset")
             if key in config}
    settings = ", ".join(f"{key}={value!r}" for key, value in shown.items())
    return f"{type(layer).__name__}({settings})"


def confusion_matrix(true_labels: Sequence[int], predicted_labels: Sequence[int], class_names: Sequence[str],
                     *, title: str | None = None, percent_of: str = "true") -> Figure:
    """A seaborn heatmap of true against predicted classes; each cell shows its count and percentage.

    Percentages are of the true class (each row sums to 100 %) with ``percent_of="true"``, or
    of all images with ``percent_of="all"``; the colour follows the percentage.
    """
    import numpy as np
    import seaborn as sns

    if percent_of not in ("true", "all"):
        raise ValueError(f"percent_of must be 'true' or 'all', not {percent_of!r}")
    size = len(class_names)
    counts = np.zeros((size, size), dtype=int)
    for true, predicted in zip(true_labels, predicted_labels):
        counts[int(true), int(predicted)] += 1
    totals = counts.sum(axis=1, keepdims=True) if percent_of == "true" else np.full((size, 1), counts.sum())
    shares = counts / np.maximum(totals, 1)
    notes = np.array([[f"{counts[i, j]}\n{shares[i, j]:.1%}" for j in range(size)] for i in range(size)])
    side = 1.6 + 1.1 * size
    fig, axis = plt.subplots(figsize=(side + 1.2, side))
    sns.heatmap(shares, annot=notes, fmt="", cmap="Blues", vmin=0, vmax=1, square=True, linewidths=0.5,
                xticklabels=list(class_names), yticklabels=list(class_names), ax=axis,
                cbar_kws={"label": "share of the true class" if percent_of == "true" else "share of all images",
                          "format": PercentFormatter(1.0)})
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title or f"{counts.trace()} of {counts.sum()} correct")
    axis.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return fig


def misclassified_grid(images: Sequence[Any], true_labels: Sequence[int], predicted_labels: Sequence[int],
                       class_names: Sequence[str], *, columns: int | None = None,
                       cell_inches: float = 2.2) -> Figure:
    """Misclassified images, each titled ``predicted:true`` (``dog:cat`` is a cat taken for a dog).

    With no images (nothing was misclassified) the figure says so, so a post that places it
    still has a figure.
    """
    if not len(images):
        fig, axis = plt.subplots(figsize=(4, 1.2))
        axis.axis("off")
        axis.text(0.5, 0.5, "no misclassified images", ha="center", va="center", fontsize=11)
        return fig
    titles = [f"{class_names[int(p)]}:{class_names[int(t)]}" for t, p in zip(true_labels, predicted_labels)]
    fig = image_grid([displayable(image) for image in images], titles, columns=columns, cell_inches=cell_inches)
    fig.suptitle("predicted:true", fontsize=11)
    fig.tight_layout()
    return fig


def comparison_bars(labels: Sequence[str], values: Sequence[float | None], *, ylabel: str = "test accuracy",
                    baseline: float | None = None, baseline_label: str = "baseline", value_format: str = ".1%",
                    title: str | None = None, notes: Sequence[str | None] | None = None,
                    errors: Sequence[float | None] | None = None,
                    points: Sequence[Sequence[float]] | None = None) -> Figure:
    """A bar chart comparing one value across experiments, each bar labelled with its value.

    For experiments of several seeds, ``values`` are means, ``errors`` the length of each bar's
    error bar above and below it (None: none) and ``points`` each seed's value, drawn as dots.

    A ``None`` value (an experiment without a result) gets an empty slot marked "no result"
    (or its entry in ``notes``, like "not finite (inf)") rather than a zero bar; a value that
    is not finite is drawn the same way. When no value is left, the chart says so instead of
    showing an empty axis. ``baseline`` draws a dashed reference line. Text is drawn as
    written: a ``$`` in a label is not read as mathtext.
    """
    notes = list(notes or [None] * len(values))
    values = [v if v is not None and math.isfinite(v) else None for v in values]
    if baseline is not None and not math.isfinite(baseline):
        baseline = None
    shown_labels, rotation = wrapped_labels([str(label) for label in labels])
    shown_labels = [_plain(label) for label in shown_labels]
    # At most SCREEN_WIDTH wide: more bars get narrower slots (their labels slant when long).
    fig, axis = plt.subplots(figsize=(min(SCREEN_WIDTH, 1.4 + 1.2 * max(1, len(labels))), 3.8))
    positions = list(range(len(labels)))
    present = [v for v in values if v is not None]
    heights = [v if v is not None else 0.0 for v in values]
    bars = axis.bar(positions, heights, color=TRAIN_COLOUR, width=0.6)
    errors = [e if e is not None and v is not None and math.isfinite(e) else None
              for e, v in zip(errors or [None] * len(values), values)]
    points = [[p for p in runs if math.isfinite(p)] if v is not None else []
              for runs, v in zip(points or [[]] * len(values), values)]
    tops = [v + (e or 0.0) for v, e in zip(values, errors) if v is not None]
    top = max([*tops, *(p for runs in points for p in runs), baseline or 0.0, 1e-9])
    _draw_spread(axis, positions, heights, errors, points)
    _label_bars(axis, bars, values, notes, errors, points, top, value_format)
    if baseline is not None:
        axis.axhline(baseline, color=VALIDATION_COLOUR, linestyle="--", linewidth=1.2,
                     label=_plain(f"{baseline_label} ({format(baseline, value_format)})"))
        # Above the plot, where no bar can hide it.
        axis.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=LEGEND_SIZE, frameon=False)
    axis.set_xticks(list(positions))
    # Long labels wrap under their bar (or, when too long even so, slant) instead of running together.
    axis.set_xticklabels(shown_labels, rotation=rotation, ha="right" if rotation else "center",
                         rotation_mode="anchor" if rotation else "default")
    axis.set_ylabel(_plain(ylabel))
    _value_scale(axis, bool(present) or baseline is not None, top, value_format)
    axis.grid(axis="y", alpha=0.3)
    if title:
        axis.set_title(_plain(title), pad=18 if baseline is not None else 6)  # clear of the legend above
    _legible(axis)
    fig.tight_layout()
    return fig


def _draw_spread(axis: Any, positions: list[int], heights: list[float], errors: list[float | None],
                 points: list[list[float]]) -> None:
    """The spread over seeds on a bar chart: error bars, then each seed's value as a dot."""
    if any(e is not None for e in errors):
        shown = [i for i, e in enumerate(errors) if e is not None]
        axis.errorbar([positions[i] for i in shown], [heights[i] for i in shown], yerr=[errors[i] for i in shown],
                      fmt="none", ecolor=TEXT_COLOUR, elinewidth=1.2, capsize=5, zorder=3)
    for index, runs in enumerate(points):
        if runs:
            # Spread sideways a little, always the same way, so equal values stay visible.
            offsets = [0.0] if len(runs) == 1 else [-0.15 + 0.3 * k / (len(runs) - 1) for k in range(len(runs))]
            axis.scatter([index + o for o in offsets], runs, s=14, color="white", edgecolors=TEXT_COLOUR,
                         linewidths=0.8, zorder=4)


def _label_bars(axis: Any, bars: Any, values: list[float | None], notes: list[str | None],
                errors: list[float | None], points: list[list[float]], top: float, value_format: str) -> None:
    """Each bar's value above it (and its spread); a missing value's bar hidden and its slot marked instead."""
    for index, (bar, value, note) in enumerate(zip(bars, values, notes)):
        if value is None:
            bar.set_visible(False)
            axis.text(bar.get_x() + bar.get_width() / 2, top * 0.04, _plain(note or "no result"), ha="center",
                      va="bottom", fontsize=TICK_SIZE, color=MUTED_COLOUR, rotation=90)
        else:
            label_at = max([value + (errors[index] or 0.0), *points[index]])
            axis.text(bar.get_x() + bar.get_width() / 2, label_at, format(value, value_format), ha="center",
                      va="bottom", fontsize=TICK_SIZE)


def _value_scale(axis: Any, scaled: bool, top: float, value_format: str) -> None:
    """The value axis up to ``top`` (percentages for a ``%`` format); unless nothing ``scaled`` it."""
    if not scaled:
        # Nothing to scale the axis by: no ticks reading 0.00000%, a plain statement instead.
        axis.set_ylim(0, 1)
        axis.set_yticks([])
        axis.text(0.5, 0.6, "no results yet", transform=axis.transAxes, ha="center", va="center", fontsize=TITLE_SIZE,
                  color=MUTED_COLOUR)
    else:
        axis.set_ylim(0, top * 1.12)
        if value_format.endswith("%"):
            axis.yaxis.set_major_formatter(PercentFormatter(1.0))


def _plain(text: str) -> str:
    """``text`` for matplotlib as written: ``$`` escaped, so it is never parsed as mathtext."""
    return str(text).replace("$", r"\$")


def load_images(files: Sequence[Any], size: tuple[int, int]) -> list[Any]:
    """Image files as uint8 RGB arrays of ``size`` (height, width), resized bilinearly with Pillow.

    For figures of stored predictions (``Predictions.files``) without TensorFlow.
    """
    import numpy as np
    from PIL import Image

    height, width = size
    arrays = []
    for file in files:
        with Image.open(file) as image:
            arrays.append(np.asarray(image.convert("RGB").resize((width, height), Image.BILINEAR)))
    return arrays


def displayable(image: Any) -> Any:
    """An image as uint8 for ``imshow``: 0..255 as it is, 0..1 and -1..1 floats scaled up."""
    import numpy as np

    if np.asarray(image).dtype.kind in "ui":
        return np.clip(np.asarray(image), 0, 255).astype("uint8")
    array = np.asarray(image, dtype="float32")
    low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
    if low < 0 and high <= 1.0:
        array = (array + 1.0) * 127.5
    elif high <= 1.0:
        array = array * 255.0
    return np.clip(array, 0, 255).astype("uint8")
