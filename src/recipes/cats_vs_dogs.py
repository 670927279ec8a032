"""Cats vs dogs: the data, a majority-class baseline and the four models of the seed posts.

Models 1-3 are small convolutional networks trained from scratch (plain, with random flips and
rotations, and with MobileNetV2's input scaling in front); model 4 puts a frozen MobileNetV2,
pretrained on ImageNet, under a new two-logit head. Each recipe spells out its layers, because
a post shows the recipe's code next to its summary. ``small_cnn`` is the demo post's recipe.
"""

import keras
import numpy as np
from keras import layers

from litblog import figures, pretrained
from recipes.evaluation import score_on_test


def explore(ctx, dataset: str = "cats_and_dogs", image_size: int = 160, per_class: int | None = None,
            samples: int = 3):
    """The data before any model: sample images, label counts, the majority-class baseline, and
    what random flips, rotations and zooms do to one image."""
    data = ctx.image_data(dataset, image_size=image_size, per_class=per_class)
    ctx.record("classes", list(data.class_names))
    for split in ("train", "validation", "test"):
        counts = data.counts(split)
        for name, count in counts.items():
            ctx.record(f"counts.{split}.{name}", count)
        ctx.record(f"images.{split}", sum(counts.values()))

    # The baseline always answers the most frequent training class (the first one on a tie).
    train = data.counts("train")
    majority = max(data.class_names, key=lambda name: train[name])
    ctx.record("baseline.class", majority)
    ctx.record("baseline.accuracy", train[majority] / sum(train.values()))
    for split in ("validation", "test"):
        counts = data.counts(split)
        ctx.record(f"baseline.{split}_accuracy", counts[majority] / sum(counts.values()))

    images, labels = data.images("train", per_class=samples)
    ctx.figure("samples", figures.class_samples(images, labels, data.class_names),
               caption="The first training images of each class.")
    image = images[0]
    ctx.figure("flip", figures.augmentation_demo(image, layers.RandomFlip("horizontal_and_vertical"), count=4),
               caption="One training image through RandomFlip('horizontal_and_vertical').")
    ctx.figure("rotation", figures.augmentation_demo(image, layers.RandomRotation(0.2), count=4),
               caption="The same image through RandomRotation(0.2).")
    ctx.figure("zoom", figures.augmentation_demo(image, layers.RandomZoom(0.2), count=4),
               caption="The same image through RandomZoom(0.2).")


def model1(ctx, dataset: str = "cats_and_dogs", image_size: int = 160, batch_size: int = 32,
           per_class: int | None = None, epochs: int = 20):
    """Model 1: two convolution blocks, dropout and one logit per class."""
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)
    model = keras.Sequential([
        keras.Input(shape=(image_size, image_size, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(len(data.class_names)),
    ], name="model1")
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    score_on_test(ctx, model, data)


def model2(ctx, dataset: str = "cats_and_dogs", image_size: int = 160, batch_size: int = 32,
           per_class: int | None = None, epochs: int = 20):
    """Model 2: model 1 with random flips and rotations in front (active only while training)."""
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)
    model = keras.Sequential([
        keras.Input(shape=(image_size, image_size, 3)),
        layers.RandomFlip("horizontal_and_vertical"),
        layers.RandomRotation(0.2),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(len(data.class_names)),
    ], name="model2")
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    score_on_test(ctx, model, data)


def model3(ctx, dataset: str = "cats_and_dogs", image_size: int = 160, batch_size: int = 32,
           per_class: int | None = None, epochs: int = 20):
    """Model 3: model 2 with MobileNetV2's input scaling in front, pixels from 0..255 to -1..1."""
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)
    # mobilenet_v2.preprocess_input computes x / 127.5 - 1. The seeds wrapped it in a functional
    # model with list inputs and outputs, which Keras 3 cannot nest in a Sequential; a Rescaling
    # layer computes the same, as checked here on training images.
    preprocess = layers.Rescaling(1 / 127.5, offset=-1)
    sample, _ = data.images("train", per_class=4)
    expected = keras.applications.mobilenet_v2.preprocess_input(sample.astype("float32"))
    difference = np.abs(keras.ops.convert_to_numpy(preprocess(sample)) - expected).max()
    ctx.record("preprocessing.max_difference", float(difference))

    model = keras.Sequential([
        keras.Input(shape=(image_size, image_size, 3)),
        preprocess,
        layers.RandomFlip("horizontal_and_vertical"),
        layers.RandomRotation(0.2),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(len(data.class_names)),
    ], name="model3")
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    score_on_test(ctx, model, data)


def model4(ctx, dataset: str = "cats_and_dogs", image_size: int = 160, batch_size: int = 32,
           per_class: int | None = None, epochs: int = 20, fine_tune_epochs: int = 0, fine_tune_from: int = 100,
           fine_tune_learning_rate: float = 1e-5):
    """Model 4: a frozen MobileNetV2 pretrained on ImageNet under model 3's input layers and a new head.

    With ``fine_tune_epochs``, the base is then unfrozen from layer ``fine_tune_from`` and
    trained on at ``fine_tune_learning_rate`` (RMSprop), continuing the same history.
    """
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)
    shape = (image_size, image_size, 3)
    # Fails with a message naming the missing file rather than training an untrained base.
    base = pretrained.load(keras.applications.MobileNetV2, input_shape=shape, include_top=False, weights="imagenet")
    base.trainable = False

    inputs = keras.Input(shape=shape)
    x = layers.Rescaling(1 / 127.5, offset=-1)(inputs)  # mobilenet_v2.preprocess_input, as in model 3
    x = layers.RandomFlip("horizontal_and_vertical")(x)
    x = layers.RandomRotation(0.2)(x)
    x = base(x, training=False)  # BatchNormalization stays in inference mode, also when fine-tuning
    x = layers.GlobalMaxPooling2D()(x)
    outputs = layers.Dense(len(data.class_names))(x)
    model = keras.Model(inputs, outputs, name="model4")
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs, phase="feature extraction")
    if fine_tune_epochs:
        ctx.fine_tune(model, base, data.train, validation_data=data.validation, from_layer=fine_tune_from,
                      epochs=epochs + fine_tune_epochs, learning_rate=fine_tune_learning_rate, optimizer="rmsprop")
    score_on_test(ctx, model, data)


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
