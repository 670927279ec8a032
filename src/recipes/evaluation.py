"""Scoring a trained model on the held-out test split; shared by the image-classification recipes."""

from litblog import figures


def score_on_test(ctx, model, data, misclassified: int = 12, final_epochs: int = 5):
    """Test loss and accuracy, predictions stored with the result, a confusion matrix and misclassified images.

    Records ``test.accuracy`` and ``test.loss`` (Keras' evaluate), ``test.count`` and
    ``test.misclassified``; saves the figures ``confusion`` and ``misclassified`` (at most
    ``misclassified`` images, taken from each true class in turn so both kinds of mistake show).
    Everything is stored with the result: tables and figures never need a re-run. Also records
    how the last ``final_epochs`` epochs went (see :func:`record_final_epochs`).
    """
    record_final_epochs(ctx, final_epochs)
    ctx.evaluate(model, data.test)
    predictions = ctx.predict(model, data, split="test")
    wrong = predictions.misclassified
    ctx.record("test.count", len(predictions.y_true))
    ctx.record("test.misclassified", len(wrong))
    ctx.figure("confusion",
               figures.confusion_matrix(predictions.y_true, predictions.y_pred, predictions.class_names),
               caption="Test images by true and predicted class: count and share of the true class.")
    by_class = [[i for i in wrong if predictions.y_true[i] == label] for label in range(len(predictions.class_names))]
    shown = _interleave(by_class)[:misclassified]
    images = figures.load_images([predictions.files[i] for i in shown], predictions.image_size)
    ctx.figure("misclassified",
               figures.misclassified_grid(images, [predictions.y_true[i] for i in shown],
                                          [predictions.y_pred[i] for i in shown], predictions.class_names),
               caption="Misclassified test images, titled predicted:true.")
    return predictions


def record_final_epochs(ctx, count: int = 5):
    """Mean, lowest and highest accuracy over the last ``count`` epochs, training and validation.

    Prose like "validation accuracy settled between x and y" needs these: one epoch's value
    fluctuates. Recorded as ``final_epochs.<metric>.mean|min|max``, with ``final_epochs.count``
    and ``final_epochs.gap`` (mean training minus mean validation accuracy: overfitting).
    """
    history = ctx.history
    means = {}
    for metric in ("accuracy", "val_accuracy"):
        tail = [value for value in history.get(metric, [])[-count:] if value == value]  # NaN != NaN
        if tail:
            means[metric] = sum(tail) / len(tail)
            ctx.record(f"final_epochs.{metric}.mean", means[metric])
            ctx.record(f"final_epochs.{metric}.min", min(tail))
            ctx.record(f"final_epochs.{metric}.max", max(tail))
    if means:
        ctx.record("final_epochs.count", min(count, len(history.get("accuracy", []))))
    if len(means) == 2:
        ctx.record("final_epochs.gap", means["accuracy"] - means["val_accuracy"])


def _interleave(groups):
    """[[a1, a2], [b1]] -> [a1, b1, a2]: one from each group in turn."""
    longest = max((len(group) for group in groups), default=0)
    return [group[k] for k in range(longest) for group in groups if k < len(group)]
