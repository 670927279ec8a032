"""Files a run read (pretrained weights) are recorded with their digests: a changed file re-runs
the result and ``--plan`` names it; a missing file (a fresh clone) keeps the stored result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli_process
from litblog.common import reads

RECIPE = '''
import keras

from litblog import pretrained


def transfer(ctx, epochs: int = 1):
    data = ctx.image_data("synthetic", image_size=32, batch_size=8, per_class=8)
    base = pretrained.load(keras.applications.MobileNetV2, input_shape=(32, 32, 3), alpha=0.35)
    base.trainable = False
    model = keras.Sequential([keras.Input((32, 32, 3)), base, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    ctx.fit(model, data.train, validation_data=data.validation, epochs=epochs)
    ctx.evaluate(model, data.test)
'''
POST = "posts/2026-01-07-transfer.md"
WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def save_stand_ins(*targets: Path) -> None:
    """An untrained MobileNetV2 saved to each of ``targets``, each with other weights (seeds 1, 2, ...;
    one fresh interpreter for all: importing TensorFlow is most of the cost)."""
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
    code = ("import keras, sys\n"
            "for seed, target in enumerate(sys.argv[1:], 1):\n"
            "    keras.utils.set_random_seed(seed)\n"
            "    keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)"
            ".save(target)\n")
    subprocess.run([sys.executable, "-c", code, *map(str, targets)], check=True, capture_output=True)


def manifests(project: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (project / "results" / "weights.transfer").glob("*/manifest.json")]


def test_a_changed_weights_file_reruns_and_a_missing_one_keeps_the_result(project: Path, tmp_path: Path) -> None:
    keras_home = tmp_path / "keras-home"
    env = {"KERAS_HOME": str(keras_home), "LITBLOG_OFFLINE": "1"}
    (project / "src" / "recipes" / "weights.py").write_text(RECIPE)
    (project / POST).write_text("---\ntitle: Transfer\n---\n\n```{experiment} transfer\n"
                                "recipe: weights.transfer\nshow: [log]\n```\n")
    first = keras_home / "models" / WEIGHTS
    other = tmp_path / "other-weights" / WEIGHTS  # written over the first below: a changed file
    save_stand_ins(first, other)
    done = run_cli_process(project, env=env)
    assert done.returncode == 0, done.stderr
    [manifest] = manifests(project)
    name = f"$KERAS_HOME/models/{WEIGHTS}"
    assert manifest["reads"] == {name: {"sha256": reads.sha256(first), "bytes": first.stat().st_size}}
    assert str(keras_home) not in json.dumps(manifest)

    first.write_bytes(other.read_bytes())
    second = first
    assert reads.sha256(second) != manifest["reads"][name]["sha256"]
    plan = run_cli_process(project, "--plan", env=env)
    assert plan.returncode == 0, plan.stderr
    assert f"a file it read changed: {name}" in plan.stdout
    assert "1 of 4 experiments would run." in plan.stdout
    rebuilt = run_cli_process(project, env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    [replaced] = manifests(project)
    assert replaced["key"] == manifest["key"]
    assert replaced["reads"][name]["sha256"] == reads.sha256(second)

    second.unlink()
    plan = run_cli_process(project, "--plan", env=env)
    assert "0 of 4 experiments would run." in plan.stdout, plan.stderr


def test_portable_names_never_hold_a_machine_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (tmp_path / "kh" / "models").mkdir(parents=True)
    assert reads.portable_name(project / "data" / "x.bin", project) == "./data/x.bin"
    assert reads.portable_name(tmp_path / "kh" / "models" / "w.h5", project) == "$KERAS_HOME/models/w.h5"
    with pytest.raises(ValueError, match="neither in the project nor in Keras' cache"):
        reads.portable_name(tmp_path / "elsewhere.bin", project)
    assert reads.resolve("./data/x.bin", project) == project / "data" / "x.bin"
    assert reads.resolve("./../outside", project) is None and reads.resolve("/etc/passwd", project) is None


def test_a_declared_input_file_is_recorded_and_its_change_reruns(project: Path) -> None:
    (project / "data").mkdir()
    (project / "data" / "vocabulary.txt").write_text("cat\ndog\n")
    (project / "src" / "recipes" / "declared.py").write_text(
        "def count(ctx):\n"
        "    words = ctx.input_file('data/vocabulary.txt').read_text().split()\n"
        "    ctx.record('words', len(words))\n")
    (project / "posts" / "2026-01-08-words.md").write_text(
        "---\ntitle: Words\n---\n\n```{experiment} words\nrecipe: declared.count\n```\n\n"
        "{result}`words.words` words.\n")
    done = run_cli_process(project)
    assert done.returncode == 0, done.stderr
    [manifest] = [json.loads(p.read_text()) for p in (project / "results" / "declared.count").glob("*/manifest.json")]
    assert list(manifest["reads"]) == ["./data/vocabulary.txt"]
    (project / "data" / "vocabulary.txt").write_text("cat\ndog\nbird\n")
    plan = run_cli_process(project, "--plan")
    assert "a file it read changed: ./data/vocabulary.txt" in plan.stdout, plan.stderr
    assert run_cli_process(project).returncode == 0
    assert "3 words." in (project / "site" / "_posts" / "2026-01-08-words.md").read_text()
