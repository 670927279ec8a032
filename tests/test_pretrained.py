"""Pretrained weights through Keras' cache, the failure when they are missing, and fine-tuning helpers.

No test downloads anything: Keras' download function is replaced where a test needs to see
what Keras asks for, and a locally saved file stands in for the ImageNet weights.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_cli_process
from litblog.runtime import pretrained
from litblog.runtime.finetune import recompile, trainable_count, unfreeze_from
from litblog.runtime.pretrained import PretrainedWeightsUnavailable


class Requested(Exception):
    """Raised by the stand-in download function: carries the file name Keras asked for."""


@pytest.fixture
def keras_download(monkeypatch):
    """Replace Keras' download function (as keras.applications and litblog call it) so that it records and fails."""
    import keras
    from keras.src.utils import file_utils

    calls: list[str] = []

    def get_file(fname=None, origin=None, **kwargs):
        calls.append(fname)
        raise Requested(fname, origin)

    monkeypatch.setattr(file_utils, "get_file", get_file)
    monkeypatch.setattr(keras.utils, "get_file", get_file)
    return calls


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(pretrained.OFFLINE_ENV, raising=False)
    return tmp_path / "keras" / "models"


@pytest.mark.parametrize("architecture, shape", [
    ("MobileNetV2", (160, 160, 3)),
    ("MobileNetV2", (32, 32, 3)),  # no weights for 32×32: Keras loads its 224 file
    ("ResNet50", (32, 32, 3)),
])
def test_weights_file_is_the_name_keras_itself_asks_for(keras_download, architecture, shape):
    import keras

    with pytest.raises(Requested) as requested:
        getattr(keras.applications, architecture)(weights="imagenet", include_top=False, input_shape=shape)
    expected = pretrained.weights_file(architecture, input_shape=shape)
    assert requested.value.args == (expected.name, expected.url)


def test_a_cached_file_is_loaded_not_replaced_by_untrained_weights(empty_cache, keras_download, capsys):
    import keras
    import numpy as np

    shape = (32, 32, 3)
    stand_in = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=shape)
    empty_cache.mkdir(parents=True)
    stand_in.save(str(empty_cache / pretrained.weights_file("MobileNetV2", input_shape=shape).name))

    base = pretrained.load(keras.applications.MobileNetV2, input_shape=shape, include_top=False, weights="imagenet")
    assert all(np.array_equal(a, b) for a, b in zip(base.get_weights(), stand_in.get_weights()))
    assert keras_download == []  # found in the cache: no download was even tried
    assert re.search(r"ImageNet weights for MobileNetV2: \S+_224_no_top\.h5 from the Keras cache \(sha256 [0-9a-f]{16}",
                     capsys.readouterr().out)


def test_missing_weights_offline_fail_before_any_download_naming_file_cache_and_remedy(empty_cache, keras_download,
                                                                                      monkeypatch):
    import keras

    monkeypatch.setenv(pretrained.OFFLINE_ENV, "1")
    with pytest.raises(PretrainedWeightsUnavailable) as failure:
        pretrained.load(keras.applications.ResNet50, input_shape=(32, 32, 3), include_top=False, weights="imagenet")
    message = str(failure.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "$KERAS_HOME/models" in message and str(empty_cache) not in message  # where, without this machine's path
    assert "copy the file into" in message and "https://storage.googleapis.com/" in message  # how to provide it
    assert "does not fall back to untrained weights" in message
    assert keras_download == []


def test_missing_weights_whose_download_fails_say_why(empty_cache, monkeypatch):
    import keras

    asked: list[tuple] = []

    def unreachable(fname, origin, **kwargs):
        asked.append((fname, origin, kwargs))
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", unreachable)
    with pytest.raises(PretrainedWeightsUnavailable, match=r"the download failed \(Exception: URL fetch failure") as failure:
        pretrained.load(keras.applications.MobileNetV2, input_shape=(96, 96, 3), include_top=False, weights="imagenet")
    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    assert name in str(failure.value)
    # Downloaded as Keras would: same file name and URL, into the same cache.
    assert asked == [(name, pretrained.weights_file("MobileNetV2", input_shape=(96, 96, 3)).url,
                      {"cache_subdir": "models", "cache_dir": str(empty_cache.parent)})]


def test_a_download_lands_in_the_cache_and_is_loaded(empty_cache, monkeypatch, capsys):
    import keras
    import numpy as np

    shape = (32, 32, 3)
    published = keras.applications.ResNet50(weights=None, include_top=False, input_shape=shape)

    def download(fname, origin, cache_subdir, cache_dir):
        target = Path(cache_dir) / cache_subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        published.save(str(target))
        return str(target)

    monkeypatch.setattr(keras.utils, "get_file", download)
    base = pretrained.load(keras.applications.ResNet50, input_shape=shape, include_top=False, weights="imagenet")
    assert all(np.array_equal(a, b) for a, b in zip(base.get_weights(), published.get_weights()))
    assert (empty_cache / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").is_file()
    assert "downloaded resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 into the Keras cache" in capsys.readouterr().out


def test_a_broken_cached_file_fails_with_a_way_out(empty_cache, keras_download):
    import keras

    empty_cache.mkdir(parents=True)
    (empty_cache / pretrained.weights_file("ResNet50").name).write_bytes(b"not an HDF5 file")
    with pytest.raises(PretrainedWeightsUnavailable, match="could not be loaded.*Replace it with the published file"):
        pretrained.load(keras.applications.ResNet50, input_shape=(32, 32, 3), include_top=False, weights="imagenet")


def test_offline_setting_values():
    import os

    saved = os.environ.get(pretrained.OFFLINE_ENV)
    try:
        for value, expected in (("1", True), ("yes", True), ("0", False), ("", False), ("false", False)):
            os.environ[pretrained.OFFLINE_ENV] = value
            assert pretrained.offline() is expected
    finally:
        if saved is None:
            os.environ.pop(pretrained.OFFLINE_ENV, None)
        else:
            os.environ[pretrained.OFFLINE_ENV] = saved


# -- fine-tuning helpers -----------------------------------------------------------------------


def small_transfer_model():
    """A tiny 'base' (three layers with weights) under a head, compiled for binary logits."""
    import keras
    from keras import layers

    base = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, name="c1"), layers.Conv2D(4, 3, name="c2"),
                             layers.Conv2D(4, 3, name="c3")], name="base")
    base.trainable = False
    inputs = keras.Input((8, 8, 3))
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    model = keras.Model(inputs, layers.Dense(1)(x))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")])
    return base, model


def test_unfreeze_from_keeps_earlier_layers_frozen_and_recompile_keeps_loss_and_metrics():
    base, model = small_transfer_model()
    head_only = trainable_count(model)
    unfrozen = unfreeze_from(base, 1)
    assert [layer.trainable for layer in base.layers] == [False, True, True]
    assert (unfrozen.first_layer, unfrozen.trainable_layers, unfrozen.frozen_layers) == ("c2", 2, 1)
    recompile(model, "rmsprop", 1e-5)
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    config = model.get_compile_config()
    assert config["loss"]["config"]["from_logits"] is True
    assert config["metrics"][0]["config"] == {"name": "accuracy", "dtype": "float32", "threshold": 0.0}
    assert trainable_count(model) == head_only + 2 * (3 * 3 * 4 * 4 + 4)


def test_fine_tuning_mistakes_are_explained():
    import keras

    base, model = small_transfer_model()
    with pytest.raises(ValueError, match="has 3 layers, so from_layer must be between 0 and 2"):
        unfreeze_from(base, 3)
    with pytest.raises(ValueError, match="use one of rmsprop, adam"):
        recompile(model, "adagrad-ish")
    uncompiled = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="must be compiled"):
        recompile(uncompiled)


# -- a whole build without the weights ---------------------------------------------------------

EXPLORE_POST = """---
title: The data
---

```{experiment} data
recipe: cats_vs_dogs.explore
params: {dataset: synthetic, image_size: 32, per_class: 8}
show: [code]
```

```{figure} data.samples
caption: Samples.
```
"""

MODEL4_POST = """---
title: Transfer learning
---

```{experiment} model4
recipe: cats_vs_dogs.model4
params: {dataset: synthetic, image_size: 32, per_class: 8, epochs: 1}
```

```{figure} model4.confusion
caption: Test accuracy {result}`model4.test.accuracy:.1%`.
```
"""


def test_keep_going_writes_every_post_and_shows_the_missing_weights_as_a_notice(tmp_path):
    root = tmp_path / "blog"
    shutil.copytree(REPO / "src" / "recipes", root / "src" / "recipes", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "_config.yml").write_text("title: Weights test\n")
    (root / "posts").mkdir()
    (root / "posts" / "2026-01-01-data.md").write_text(EXPLORE_POST)
    (root / "posts" / "2026-01-02-transfer.md").write_text(MODEL4_POST)
    keras_home = tmp_path / "empty-keras-home"
    done = run_cli_process(root, "--keep-going", env={"KERAS_HOME": str(keras_home), pretrained.OFFLINE_ENV: "1"})
    assert done.returncode == 1, done.stderr  # an experiment failed, the site is written all the same
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in done.stderr

    posts = root / "site" / "_posts"
    data = (posts / "2026-01-01-data.md").read_text()
    assert "litblog-notice" not in data and "data-samples.webp" in data
    transfer = (posts / "2026-01-02-transfer.md").read_text()
    notice = re.search(r'<div class="litblog-notice".*?</div>', transfer, re.S)
    assert notice, transfer
    text = notice.group(0)
    assert ("Experiment <code>model4</code> needs the ImageNet weights for MobileNetV2, which were not available "
            "when this site was built.") in text
    assert "<summary>Details for the author</summary><p>The run could not start: ImageNet weights for MobileNetV2 are not available" in text
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in text
    assert "$KERAS_HOME/models" in text and "copy the file into" in text  # the folder it really looked in
    assert str(tmp_path) not in transfer  # the worker scrubbed the machine's paths
    assert "Test accuracy" not in transfer  # the figure of the failed run is a notice too, not a caption
    assert not list((root / "results").glob("cats_vs_dogs.model4/*/manifest.json"))  # no result for it
    (blocked,) = (root / "results").glob("cats_vs_dogs.model4/*/blocked.json")  # but a record of why

    # The next build (a fresh clone's, say) does not try again: the notice stays and the build succeeds.
    again = run_cli_process(root, env={"KERAS_HOME": str(keras_home), pretrained.OFFLINE_ENV: "1"})
    assert again.returncode == 0, again.stderr
    assert "1 blocked, 0 to run" in again.stderr and "started" not in again.stderr
    assert "experiment 'model4' is blocked by missing files and shown as a notice" in again.stderr
    assert "Experiment <code>model4</code> needs the ImageNet weights" in (posts / "2026-01-02-transfer.md").read_text()

    # Once the file it lacked is in the Keras cache, the plan runs it again.
    weights = keras_home / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_bytes(b"stand-in")
    plan = run_cli_process(root, "--plan", env={"KERAS_HOME": str(keras_home)})
    assert "run: the files it lacked are now in the Keras cache: models/" in plan.stdout
    assert "1 of 2 experiments would run." in plan.stdout
