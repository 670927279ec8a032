"""The TensorFlow image-classification tutorial's network: three convolution blocks and a dense layer.

Its second half fights overfitting with data augmentation (random flips, rotations, zooms and
shifts) and dropout; ``augment`` and ``dropout`` switch those on.
"""

import keras
from keras import layers

from litblog import figures
from recipes.evaluation import score_on_test


def three_block_cnn(ctx, dataset: str = "cats_and_dogs", image_size: int = 180, batch_size: int = 32,
                    per_class: int | None = None, epochs: int = 15, augment: bool = False, dropout: float = 0.0):
    """Rescaling, Conv2D 16/32/64 with max pooling, Dense 128 and one logit per class; with ``augment``
    random flips, rotations, zooms and shifts in front, with ``dropout`` a Dropout before Flatten."""
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)
    model = keras.Sequential(name="three_block_cnn")
    model.add(keras.Input(shape=(image_size, image_size, 3)))
    if augment:
        model.add(keras.Sequential([
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.RandomTranslation(0.1, 0.1),
        ], name="augmentation"))
    model.add(layers.Rescaling(1.0 / 255))
    for filters in (16, 32, 64):
        model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.MaxPooling2D())
    if dropout:
        model.add(layers.Dropout(dropout))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dense(len(data.class_names)))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    if augment:
        sample, _ = data.images("train", per_class=1)
        ctx.figure("augmentation", figures.augmentation_demo(sample[0], model.get_layer("augmentation"), count=8,
                                                             columns=3),
                   caption="One training image through the augmentation layers several times.")
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    score_on_test(ctx, model, data)
