"""Model summaries: Keras' text, wide enough that no column is cut, and the page's table.

The table (``summary.json``) holds the model's name and class, its phase and one row per
layer, nested models as one row with their own rows below; parameter counts are the model's
own, with an optimizer's state counted apart.
"""

from __future__ import annotations

import os
from typing import Any



SUMMARY_WIDTH = 110  # characters: wide enough that Keras never cuts a column


def parameter_count(weight: Any) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def summary_table(model: Any, phase: str | None = None) -> dict[str, Any]:
    """The model summary as data for a page table (written as ``summary.json``).

    ``{"model", "class", "phase", "layers": [row, ...], "total_params", "trainable_params",
    "non_trainable_params", "optimizer_params"}``. The rows are the ones Keras' summary lists
    (a functional model's operations, a Sequential's layers); each has ``name``, ``type``
    (class name), ``output_shape`` ("(None, 80, 80, 32)", "?" when unknown), ``params``,
    ``trainable`` and ``op`` (an operation such as ``GetItem`` or ``TrueDivide`` that is not a
    layer). A row for a nested model adds ``trainable_params``, ``non_trainable_params`` and
    its rows as ``children``; a model nested deeper gets the counts but not its rows. Totals
    come from the model's weights; ``optimizer_params`` (``None`` while the optimizer is not
    built) is the optimizer's state, which Keras' text adds to "Total params".
    """
    trainable, frozen = _weight_counts(model)
    optimizer = getattr(model, "optimizer", None)
    optimizer_params = None
    try:
        if getattr(model, "compiled", False) and optimizer is not None and optimizer.built:
            optimizer_params = sum(parameter_count(v) for v in optimizer.variables)
    except Exception:  # noqa: BLE001
        optimizer_params = None
    return {
        "model": str(getattr(model, "name", "?")),
        "class": type(model).__name__,
        "phase": phase,
        "layers": [_layer_row(layer, depth=0) for layer in _summary_rows(model)],
        "total_params": trainable + frozen,
        "trainable_params": trainable,
        "non_trainable_params": frozen,
        "optimizer_params": optimizer_params,
    }


def _weight_counts(model: Any) -> tuple[int, int]:
    """(trainable, non-trainable) parameters of ``model``'s weights, each weight once."""
    counts = []
    for weights in (model.trainable_weights, model.non_trainable_weights):
        seen: dict[int, Any] = {id(w): w for w in weights}
        counts.append(sum(parameter_count(w) for w in seen.values()))
    return counts[0], counts[1]


def _summary_rows(model: Any) -> list[Any]:
    """The layers (and operations) Keras' ``print_summary`` lists for ``model``."""
    import keras

    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - another Keras layout: list layers only
        Functional = None  # noqa: N806
    if Functional is not None and isinstance(model, Functional) and not isinstance(model, keras.Sequential):
        operations = getattr(model, "_operations", None)
        if operations is not None:
            return list(operations)
    return list(getattr(model, "layers", []) or [])


def _layer_row(layer: Any, depth: int) -> dict[str, Any]:
    import keras

    is_layer = isinstance(layer, keras.layers.Layer)
    row: dict[str, Any] = {
        "name": str(getattr(layer, "name", "?")),
        "type": type(layer).__name__,
        "output_shape": _output_shape(layer),
        "params": 0,
        "trainable": False,
        "op": not is_layer,
    }
    if not is_layer:
        return row
    try:
        row["trainable"] = bool(layer.trainable)
    except Exception:  # noqa: BLE001
        pass
    try:
        row["params"] = int(layer.count_params()) if getattr(layer, "built", False) else 0
    except Exception:  # noqa: BLE001
        row["params"] = 0
    if isinstance(layer, keras.Model):
        try:
            row["trainable_params"], row["non_trainable_params"] = _weight_counts(layer)
        except Exception:  # noqa: BLE001
            pass
        if depth == 0:
            try:
                row["children"] = [_layer_row(child, depth + 1) for child in _summary_rows(layer)]
            except Exception:  # noqa: BLE001
                row["children"] = []
        else:
            row["layers"] = len(getattr(layer, "layers", []) or [])
    return row


def _output_shape(layer: Any) -> str:
    """What Keras' summary shows as the output shape: from the layer's last call, else ``layer.output``."""
    try:
        nodes = getattr(layer, "_inbound_nodes", None) or []
        outputs = nodes[-1].output_tensors if nodes else layer.output
        import keras

        flat = keras.tree.flatten(outputs)
        shapes = [f"({', '.join(str(d) for d in tensor.shape)})" for tensor in flat]
    except Exception:  # noqa: BLE001
        return "?"
    if not shapes:
        return "?"
    return shapes[0] if len(shapes) == 1 else f"[{', '.join(shapes)}]"


def summary_text(model: Any) -> str:
    """``model.summary()`` as text, :data:`SUMMARY_WIDTH` characters wide."""
    lines: list[str] = []
    previous = os.environ.get("COLUMNS")
    # rich sizes the table from the terminal width, 80 columns when there is none.
    os.environ["COLUMNS"] = str(SUMMARY_WIDTH + 10)
    try:
        model.summary(line_length=SUMMARY_WIDTH, print_fn=lambda text, **_: lines.append(text))
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(lines).rstrip() + "\n"


def weight_counts(model: Any) -> tuple[int, int]:
    """The model's (trainable, non-trainable) parameters, as Keras counts them for the model alone."""
    trainable = sum(int(parameter_count(w)) for w in model.trainable_weights)
    frozen = sum(int(parameter_count(w)) for w in model.non_trainable_weights)
    return trainable, frozen
