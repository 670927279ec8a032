"""litblog against the seed posts' plain Keras script: model 1 at full size, per epoch and in total.

The plain side is the seed post's code for model 1 as a script: ``image_dataset_from_directory``
at 160 px in batches of 32 (the test set taken from the validation set), ``prefetch``, the
two-block CNN, Adam, 20 epochs, the accuracy plot, and the test evaluation; it only trains with
``verbose=2`` (one line per epoch, as litblog logs). The litblog side is a temporary copy of
this repository's recipes with one post whose experiment is ``cats_vs_dogs.model1`` at the
same epochs, built with ``build-site --force`` so it really trains. Both read the same
extracted files and run on the same TensorFlow.

Per-epoch times come from Keras' own epoch lines on both sides (steps times time per step);
totals are each command's wall time, start to exit. It prints both, the ratio litblog / plain
script, and PASS or MISS against the performance issue's target (litblog's total at most 5%
above the plain script's).

    .venv/bin/python benchmarks/vs_plain_script.py [--epochs 20] [--quick] [--keep]

``--quick`` trains on 100 training and 100 validation images per class for 2 epochs (a copy
of the first files of each class, read by both sides), to try the script in a minute.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written outside the work folder, not even benchmarks/__pycache__
import benchlib  # noqa: E402
from benchlib import REPO  # noqa: E402

TARGET = 1.05  # litblog's total / the plain script's
QUICK = {"train": 100, "validation": 100}  # images per class with --quick
QUICK_FOLDER = "cats_and_dogs_quick"

PLAIN_SCRIPT = '''\
"""Model 1 of the seed post "Image Classification with TensorFlow", as a plain script."""

import os
import sys

import tensorflow as tf
from matplotlib import pyplot as plt
from tensorflow.keras import layers, losses, models, utils

PATH = sys.argv[1]  # the extracted cats_and_dogs_filtered folder
EPOCHS = int(sys.argv[2])

train_dir = os.path.join(PATH, 'train')
validation_dir = os.path.join(PATH, 'validation')

BATCH_SIZE = 32
IMG_SIZE = (160, 160)

train_dataset = utils.image_dataset_from_directory(train_dir,
                                                   shuffle=True,
                                                   batch_size=BATCH_SIZE,
                                                   image_size=IMG_SIZE)

validation_dataset = utils.image_dataset_from_directory(validation_dir,
                                                        shuffle=True,
                                                        batch_size=BATCH_SIZE,
                                                        image_size=IMG_SIZE)

val_batches = tf.data.experimental.cardinality(validation_dataset)
test_dataset = validation_dataset.take(val_batches // 5)
validation_dataset = validation_dataset.skip(val_batches // 5)

AUTOTUNE = tf.data.AUTOTUNE

train_dataset = train_dataset.prefetch(buffer_size=AUTOTUNE)
validation_dataset = validation_dataset.prefetch(buffer_size=AUTOTUNE)
test_dataset = test_dataset.prefetch(buffer_size=AUTOTUNE)

model1 = models.Sequential([
  layers.Input((160, 160, 3)),
  layers.Conv2D(32, (3,3), activation='relu'),
  layers.MaxPooling2D((2,2)),
  layers.Conv2D(64, (3,3), activation='relu'),
  layers.MaxPooling2D((2,2)),
  layers.Dropout(0.2),
  layers.Flatten(),
  layers.Dense(2)
])

model1.summary()

model1.compile(optimizer = 'adam',
               loss = losses.SparseCategoricalCrossentropy(from_logits=True),
               metrics = ['accuracy'])

history1 = model1.fit(train_dataset,
                      epochs = EPOCHS,
                      validation_data = validation_dataset,
                      verbose = 2)

plt.plot(history1.history["accuracy"], label = "training")
plt.plot(history1.history["val_accuracy"], label = "validation")
plt.gca().set(xlabel = "epoch", ylabel = "accuracy", title = "model1 accuracy")
plt.legend()
plt.savefig("model1_accuracy.png")

model1.evaluate(test_dataset, verbose = 2)
'''

POST = """---
title: Model 1
---

```{{experiment}} model1
recipe: cats_vs_dogs.model1
params: {{{params}}}
show: [code, summary, log, curves]
```
"""


def natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def quick_copy(data: Path, folder: Path) -> Path:
    """The first files of each class of ``data`` (natural order), copied into ``folder``."""
    for split, count in QUICK.items():
        for class_dir in sorted(p for p in (data / split).iterdir() if p.is_dir()):
            target = folder / split / class_dir.name
            target.mkdir(parents=True)
            for image in sorted(class_dir.iterdir(), key=natural)[:count]:
                shutil.copyfile(image, target / image.name)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs on both sides (default 20, 2 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['train']} training and {QUICK['validation']} validation images per class, "
                             f"2 epochs")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (under .litblog/benchmarks/) instead of a temporary one")
    args = parser.parse_args()
    epochs = args.epochs or (2 if args.quick else 20)
    if epochs < 1:
        parser.error("--epochs must be at least 1")

    data = benchlib.cats_and_dogs()
    print(f"machine: {benchlib.machine()}")
    print(benchlib.litblog_checkout())
    work, holder = benchlib.work_folder(args.keep, "vs-plain-script")
    blog = work / "blog"
    try:
        params = f"epochs: {epochs}"
        if args.quick:
            data = quick_copy(data, work / "data" / QUICK_FOLDER)
            params += f", dataset: {QUICK_FOLDER}"  # found by its folder name in LITBLOG_DATA_DIR
        counts = {split: sum(1 for _ in (data / split).rglob("*.jpg")) for split in ("train", "validation")}
        print(f"model 1: {counts['train']} training and {counts['validation']} validation images "
              f"(validation and test split from them), 160 px, {epochs} epochs; data {data}")
        env = benchlib.confined_env(work, data)
        # Untimed: TensorFlow read once into the OS file cache, matplotlib's font cache built.
        subprocess.run([sys.executable, "-c", "import tensorflow, keras, matplotlib.pyplot"], env=env,
                       check=True, capture_output=True)

        script = work / "plain" / "model1.py"
        script.parent.mkdir(parents=True)
        script.write_text(PLAIN_SCRIPT)
        print(f"plain script: running (load average {benchlib.load_average()})", flush=True)
        plain = benchlib.timed([sys.executable, str(script), str(data), str(epochs)], env,
                               work / "logs" / "plain.log", cwd=script.parent)
        plain_epochs = benchlib.keras_epoch_seconds(plain.stdout)

        benchlib.new_litblog_project(blog, "title: Benchmark blog\nlitblog:\n  seed: 0\n", REPO / "src" / "recipes",
                                     {"2026-01-01-model1.md": POST.format(params=params)})
        print(f"litblog: running (load average {benchlib.load_average()})", flush=True)
        mine = benchlib.timed(benchlib.litblog_build(blog, "--force"), env, work / "logs" / "litblog.log")
        ran = benchlib.litblog_runs(blog)
        if ran != ["model1"]:
            raise SystemExit(f"error: the litblog build ran {ran or 'nothing'}, not model1: its time means nothing")
        logs = list((blog / "results" / "cats_vs_dogs.model1").glob("*/log.txt"))
        mine_epochs = benchlib.keras_epoch_seconds(logs[0].read_text())

        for name, figures in (("plain script", plain_epochs), ("litblog", mine_epochs)):
            if len(figures) != epochs:
                raise SystemExit(f"error: {len(figures)} epoch lines in the {name}'s log, {epochs} expected")
        print()
        print(f"{'':<14}{'total':>10}{'epochs':>10}{'outside':>10}{'epoch 1':>10}{'later epochs:':>16}"
              f"{'median':>9}{'fastest':>9}")
        for name, total, figures in (("plain script", plain.seconds, plain_epochs),
                                     ("litblog", mine.seconds, mine_epochs)):
            rest = figures[1:] or figures
            print(f"{name:<14}{total:>9.1f}s{sum(figures):>9.1f}s{total - sum(figures):>9.1f}s"
                  f"{figures[0]:>9.2f}s{'':>16}{statistics.median(rest):>8.2f}s{min(rest):>8.2f}s")
        print("(total: the command's wall time; epochs: Keras' epoch times, training and validation, summed; "
              "outside: the rest. Other work on the machine slows some epochs: the fastest is the least disturbed)")
        ratio = mine.seconds / plain.seconds
        mine_rest, plain_rest = mine_epochs[1:] or mine_epochs, plain_epochs[1:] or plain_epochs
        print(f"ratio litblog / plain script: total {ratio:.3f}, later epochs median "
              f"{statistics.median(mine_rest) / statistics.median(plain_rest):.3f}, fastest {min(mine_rest) / min(plain_rest):.3f}")
        print(f"target: litblog's total within 5% of the plain script's (ratio <= {TARGET}): "
              f"{benchlib.verdict(ratio, TARGET)}" + (" (litblog is more than 5% faster)" if ratio < 0.95 else ""))
        print("epochs in detail, plain script: " + ", ".join(f"{s:.2f}" for s in plain_epochs))
        print("epochs in detail, litblog:      " + ", ".join(f"{s:.2f}" for s in mine_epochs))
        print(f"machine at the end: load average {benchlib.load_average()}")
        if args.keep:
            print(f"work folder kept: {work}")
    finally:
        benchlib.retire_warm_server(blog)
        if holder is not None:
            holder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
