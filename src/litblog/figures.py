"""Figures: functions that draw a matplotlib figure from captured data. None imports TensorFlow.

Each returns a :class:`matplotlib.figure.Figure`; a recipe saves it with ``ctx.figure(name, fig)``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to files

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"


def learning_curves(history: dict[str, Any], title: str | None = None) -> Figure:
    """Accuracy and loss per epoch, training against validation, phases marked.

    ``history`` is a stored ``history.json``: ``epochs``, ``metrics`` and ``phases``. Each
    phase after the first gets a dotted line labelled "start of <phase>".
    """
    epochs = history.get("epochs", [])
    metrics = history.get("metrics", {})
    panels = [name for name in metrics if not name.startswith("val_") and name != "learning_rate"]
    # Accuracy-like panels first, loss last, as readers of the tutorials expect.
    panels.sort(key=lambda name: (name == "loss", name))
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5.2 * max(1, len(panels)), 3.8), squeeze=False)
    for axis, name in zip(axes[0], panels):
        axis.plot(epochs, metrics[name], marker="o", markersize=3, color=TRAIN_COLOUR, label="training")
        if f"val_{name}" in metrics:
            axis.plot(epochs, metrics[f"val_{name}"], marker="o", markersize=3, color=VALIDATION_COLOUR,
                      label="validation")
        for phase in history.get("phases", [])[1:]:
            boundary = phase["first_epoch"] - 0.5
            axis.axvline(boundary, color="grey", linestyle=":", linewidth=1.2)
            axis.annotate(f"start of {phase['name']}", xy=(boundary, 1), xycoords=("data", "axes fraction"),
                          xytext=(3, -12), textcoords="offset points", fontsize=8, color="dimgrey")
        values = [v for v in metrics[name] + metrics.get(f"val_{name}", []) if v == v and v > 0]
        if "loss" in name and values and max(values) / min(values) > 100:
            axis.set_yscale("log")  # a first-epoch loss in the hundreds would flatten the rest
        axis.set_xlabel("epoch")
        axis.set_ylabel(name.replace("_", " "))
        axis.set_title(name.replace("_", " "))
        if epochs and len(epochs) <= 25:
            axis.set_xticks(epochs)
        axis.grid(alpha=0.3)
        axis.legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
