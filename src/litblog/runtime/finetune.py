"""Fine-tuning a pretrained base: unfreeze its top layers and compile again with a lower learning rate.

:meth:`litblog.runtime.context.RecipeContext.fine_tune` uses these and then continues the history as
the phase "fine-tuning". Keras is imported lazily (workers only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .summaries import parameter_count

if TYPE_CHECKING:  # pragma: no cover
    import keras

OPTIMIZERS = ("rmsprop", "adam", "sgd", "adamw")


@dataclass(frozen=True)
class Unfrozen:
    """What :func:`unfreeze_from` left trainable."""

    from_layer: int
    first_layer: str  # name of the first trainable layer
    trainable_layers: int
    frozen_layers: int


def unfreeze_from(base: "keras.Model", from_layer: int) -> Unfrozen:
    """Make ``base.layers[from_layer:]`` trainable and keep the layers before it frozen.

    Call the base with ``training=False`` in the model (as the transfer-learning tutorials do)
    so its BatchNormalization layers stay in inference mode while their weights are unfrozen.
    """
    count = len(base.layers)
    if not 0 <= from_layer < count:
        raise ValueError(f"fine-tuning from layer {from_layer}: {base.name} has {count} layers, "
                         f"so from_layer must be between 0 and {count - 1}")
    base.trainable = True
    for layer in base.layers[:from_layer]:
        layer.trainable = False
    return Unfrozen(from_layer, base.layers[from_layer].name, count - from_layer, from_layer)


def recompile(model: "keras.Model", optimizer: str = "rmsprop", learning_rate: float = 1e-5) -> None:
    """Compile ``model`` again with a new optimizer and learning rate, keeping its loss and metrics.

    Needed after changing what is trainable: Keras fixes the trainable weights at compile time.
    """
    import keras

    name = optimizer.lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r} for fine-tuning: use one of {', '.join(OPTIMIZERS)}")
    config = model.get_compile_config()
    if not config:
        raise ValueError(f"model {model.name!r} must be compiled (and trained on frozen features) before fine-tuning")
    chosen = keras.optimizers.get({"class_name": name, "config": {"learning_rate": float(learning_rate)}})
    config["optimizer"] = keras.optimizers.serialize(chosen)
    model.compile_from_config(config)


def trainable_count(model: "keras.Model") -> int:
    """Parameters that training updates."""
    return sum(parameter_count(weight) for weight in model.trainable_weights)



def prepare(model: "keras.Model", base: "keras.Model", *, from_layer: int, learning_rate: float, optimizer: str,
            record: Callable[[str, Any], None]) -> None:
    """``ctx.fine_tune`` before it trains: unfreeze, compile again, say so in the log and ``record`` ``fine_tune.*``."""
    unfrozen = unfreeze_from(base, from_layer)
    recompile(model, optimizer, learning_rate)
    trainable = trainable_count(model)
    print(f"Fine-tuning {base.name} from layer {from_layer} ({unfrozen.first_layer}): "
          f"{unfrozen.trainable_layers} of {len(base.layers)} layers trainable, {trainable:,} trainable "
          f"parameters; {optimizer} at learning rate {learning_rate:g}.")
    record("fine_tune.from_layer", from_layer)
    record("fine_tune.first_layer", unfrozen.first_layer)
    record("fine_tune.trainable_layers", unfrozen.trainable_layers)
    record("fine_tune.trainable_params", trainable)
    record("fine_tune.learning_rate", float(learning_rate))
    record("fine_tune.optimizer", optimizer)
