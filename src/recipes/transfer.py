"""Transfer learning from ResNet50: a new head on frozen ImageNet features, then fine-tuning.

The shape of a transfer-learning report: feature extraction, fine-tuning of the last stage
with a lower learning rate (one history, "start of fine-tuning" marked on the curves), the test
score, a confusion matrix and the misclassified test images. The head is a single logit
trained with binary cross-entropy, the other common setup next to the two logits of model 4.
"""

import keras
from keras import layers

from litblog import pretrained
from recipes.evaluation import score_on_test


def resnet50(ctx, dataset: str = "cats_and_dogs", image_size: int = 224, batch_size: int = 32,
             per_class: int | None = None, epochs: int = 10, learning_rate: float = 0.001, dropout: float = 0.2,
             fine_tune_epochs: int = 10, fine_tune_from: int = 143, fine_tune_learning_rate: float = 1e-5,
             fine_tune_optimizer: str = "rmsprop"):
    """ResNet50 pretrained on ImageNet: ``epochs`` of feature extraction, then ``fine_tune_epochs``
    with the base trainable from layer ``fine_tune_from`` (143: the conv5 stage)."""
    data = ctx.image_data(dataset, image_size=image_size, batch_size=batch_size, per_class=per_class)
    if len(data.class_names) != 2:
        raise ValueError(f"resnet50 has a one-logit (binary) head, but '{dataset}' has {len(data.class_names)} "
                         f"classes; use a Dense layer with one logit per class for more")
    shape = (image_size, image_size, 3)
    base = pretrained.load(keras.applications.ResNet50, input_shape=shape, include_top=False, weights="imagenet")
    base.trainable = False

    inputs = keras.Input(shape=shape)
    x = keras.applications.resnet50.preprocess_input(inputs)  # RGB to BGR, ImageNet channel means subtracted
    x = base(x, training=False)  # BatchNormalization stays in inference mode, also when fine-tuning
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1)(x)  # one logit: positive means the second class
    model = keras.Model(inputs, outputs, name="resnet50_transfer")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs, phase="feature extraction")
    if fine_tune_epochs:
        ctx.fine_tune(model, base, data.train, validation_data=data.validation, from_layer=fine_tune_from,
                      epochs=epochs + fine_tune_epochs, learning_rate=fine_tune_learning_rate,
                      optimizer=fine_tune_optimizer)
    score_on_test(ctx, model, data)
