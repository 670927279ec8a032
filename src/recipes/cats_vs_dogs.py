"""Cats vs dogs: the small convolutional network of the image-classification tutorial."""

import keras
from keras import layers


def small_cnn(ctx, dataset: str = "cats_and_dogs", image_size: int = 160, batch_size: int = 32,
              per_class: int | None = None, epochs: int = 20, augment: bool = False):
    """Two convolution blocks, dropout and a two-logit head; random flips and rotations in front
    when ``augment`` is set."""
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)

    model = keras.Sequential(name="small_cnn")
    model.add(keras.Input(shape=(image_size, image_size, 3)))
    if augment:
        model.add(layers.RandomFlip("horizontal_and_vertical"))
        model.add(layers.RandomRotation(0.2))
    model.add(layers.Conv2D(32, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Dropout(0.2))
    model.add(layers.Flatten())
    model.add(layers.Dense(2))

    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    ctx.evaluate(model, data.test)
