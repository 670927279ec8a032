"""Faults of the second round (issue 22) in the store, the worker and the command line: deletion
confined to the project, keys that match the code that ran, recipe files read as Python reads
them, posts and folders never silently left out, workers that end, command-line values checked
before they reach a library. Each test fails on the code before the fix."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import run_cli_process, shown_text, snapshot
from faults import expect_refusal, no_partial_results
from litblog.buildtime.execute import checkpoints
from litblog.common.store import MANIFEST, ResultStore


def outside_archive(tmp_path: Path) -> Path:
    """A folder outside the project shaped like a recipe's results: what --prune must never touch."""
    archive = tmp_path / "archive"
    for key in ("aaaa", "bbbb"):
        (archive / key / "figures").mkdir(parents=True)
        (archive / key / MANIFEST).write_text(json.dumps({"key": key}))
        (archive / key / "figures" / "x.png").write_bytes(b"\x89PNG" + key.encode())
    return archive


# -- 1. deletion never leaves the project ----------------------------------------------------------------

def test_prune_does_not_follow_a_symlinked_recipe_folder_out_of_the_project(project, tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    (project / "results" / "archived.recipe").symlink_to(archive, target_is_directory=True)
    done = run_cli_process(project, "--prune")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    assert snapshot(archive) == before and sorted(p.name for p in archive.iterdir()) == ["aaaa", "bbbb"]
    assert "results/archived.recipe is a symbolic link" in done.stderr and "not followed" in done.stderr
    assert (project / "results" / "archived.recipe").is_symlink()  # left alone, said so


def test_prune_of_a_symlinked_result_folder_removes_the_link_only(project, tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    link = project / "results" / "tiny.stripes" / "0123456789abcdef01234567"
    link.symlink_to(archive / "aaaa", target_is_directory=True)
    done = run_cli_process(project, "--prune")
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert not link.exists() and not link.is_symlink()
    assert snapshot(archive) == before
    no_partial_results(project)


def test_prune_with_a_recipe_link_to_an_empty_folder_is_no_traceback(project, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (project / "results" / "gone.recipe").symlink_to(empty, target_is_directory=True)
    done = run_cli_process(project, "--prune")
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert empty.is_dir() and (project / "results" / "gone.recipe").is_symlink()


def test_quarantine_through_a_symlink_moves_nothing_out_of_the_store(tmp_path):
    store_root = tmp_path / "blog" / "results"
    folder = store_root / "r.f" / "key1"
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text("{}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (store_root / ".quarantine").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError, match="symbolic link"):
        ResultStore(store_root).quarantine(folder)
    assert list(elsewhere.iterdir()) == [] and (folder / MANIFEST).is_file()


def test_staging_clean_up_and_checkpoints_remove_links_never_their_targets(tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    root = tmp_path / "blog"
    store = ResultStore(root / "results")
    (root / "results" / ".tmp").mkdir(parents=True)
    (root / "results" / ".tmp" / "key-1234").symlink_to(archive, target_is_directory=True)
    store.clean_staging()
    assert not (root / "results" / ".tmp").exists()
    (root / "results" / ".tmp").symlink_to(archive, target_is_directory=True)
    store.new_staging("key")  # the link is replaced by a real folder, the target untouched
    assert not (root / "results" / ".tmp").is_symlink()
    store.clean_staging()
    cache = root / ".litblog" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "oldkey").symlink_to(archive, target_is_directory=True)
    checkpoints.remove_stale(cache, keep=set())
    assert not (cache / "oldkey").is_symlink()
    assert snapshot(archive) == before


def test_the_shared_helper_refuses_paths_reached_through_a_link(tmp_path, caplog):
    from litblog.common.fsutil import remove_confined

    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    root = tmp_path / "blog" / "results"
    root.mkdir(parents=True)
    (root / "linked").symlink_to(archive, target_is_directory=True)
    assert remove_confined(root / "linked" / "aaaa", root) is False
    assert "results/linked is a symbolic link" in caplog.text and "nothing is deleted through it" in caplog.text
    assert remove_confined(root / ".." / "blog", root) is False  # not an entry inside the root
    assert remove_confined(root / "linked", root) is True  # the link itself goes
    assert snapshot(archive) == before


# -- 2. a result holds only the numbers of the code its key names ---------------------------------------

SWAPPING = {
    # The recipe rewrites a module it imported, mid-run, and leaves it changed.
    "rewritten": '''
from pathlib import Path

from recipes import swapped_helper


def run(ctx):
    path = Path(swapped_helper.__file__)
    path.write_text(path.read_text() + "\\nVALUE = 2\\n")
    ctx.record("value", swapped_helper.VALUE)
''',
    # The module is swapped, imported (lazily) while swapped, then put back before the run ends.
    "swapped and restored": '''
from pathlib import Path


def run(ctx):
    path = Path(__file__).with_name("swapped_helper.py")
    original = path.read_text()
    path.write_text("VALUE = 99\\n")
    from recipes import swapped_helper
    path.write_text(original)
    ctx.record("value", swapped_helper.VALUE)
''',
    # A project module imported by a name the plan cannot read: the key does not cover it.
    "imported unseen": '''
import importlib


def run(ctx):
    name = "recipes." + "unseen" + "_helper"
    ctx.record("value", importlib.import_module(name).VALUE)
''',
}


@pytest.mark.parametrize("case", sorted(SWAPPING))
def test_a_module_changed_during_a_run_fails_it_naming_the_file_and_stores_nothing(project, case):
    recipes = project / "src" / "recipes"
    (recipes / "swapped_helper.py").write_text("VALUE = 1\n")
    (recipes / "unseen_helper.py").write_text("VALUE = 3\n")
    (recipes / "swapping.py").write_text(SWAPPING[case])
    (project / "posts" / "2026-01-08-swap.md").write_text(
        "---\ntitle: Swap\n---\n\nThe value is {result}`swap.value`.\n\n"
        "```{experiment} swap\nrecipe: swapping.run\nshow: [metrics]\n```\n")
    if case == "swapped and restored":  # the plan keys the module the recipe imports lazily
        (recipes / "swapping.py").write_text(SWAPPING[case] + "\nif False:\n    from recipes import swapped_helper\n")
    results_before = snapshot(project / "results")
    done = run_cli_process(project, "-q")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    shown = "src/recipes/unseen_helper.py" if case == "imported unseen" else "src/recipes/swapped_helper.py"
    words = "was imported by the run but is not part of its key" if case == "imported unseen" else \
        "changed while the run was running"
    assert f"{shown} {words}" in output, output
    assert snapshot(project / "results") == results_before  # nothing stored
    assert not (project / "results" / "swapping.run").exists()
    no_partial_results(project)


# -- 4. recipe modules read as Python reads them -------------------------------------------------------

LATIN1 = '# -*- coding: latin-1 -*-\n"""Caf\xe9 cr\xe8me."""\n\n\ndef accent(ctx):\n    ctx.record("word", len("caf\xe9"))\n'


def test_latin1_and_bom_recipe_modules_run_and_are_shown(project):
    recipes = project / "src" / "recipes"
    (recipes / "latin.py").write_bytes(LATIN1.encode("latin-1"))
    (recipes / "bommed.py").write_bytes(b"\xef\xbb\xbf" + LATIN1.replace("# -*- coding: latin-1 -*-\n", "")
                                        .replace("accent", "marked").encode("utf-8"))
    (project / "posts" / "2026-01-08-accents.md").write_text(
        "---\ntitle: Accents\n---\n\n{result}`latin.word` and {result}`bom.word`.\n\n"
        "```{experiment} latin\nrecipe: latin.accent\nshow: [code, metrics]\ncode: module\n```\n\n"
        "```{experiment} bom\nrecipe: bommed.marked\nshow: [code, metrics]\n```\n")
    done = run_cli_process(project, "-q")
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output
    page = (project / "site" / "_posts" / "2026-01-08-accents.md").read_text(encoding="utf-8")
    assert "Caf\xe9 cr\xe8me" in shown_text(page) and 'len("caf\xe9")' in shown_text(page) and "\ufeff" not in page
    assert len(list((project / "results" / "latin.accent").glob("*/manifest.json"))) == 1
    assert len(list((project / "results" / "bommed.marked").glob("*/manifest.json"))) == 1


def test_a_coding_line_or_a_bom_reads_the_text_python_runs(tmp_path):
    from litblog.buildtime.sources.recipe_source import find_recipe, recipe_digest, source_digest

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    utf8 = LATIN1.replace("latin-1", "utf-8")
    (recipes / "plain.py").write_text(utf8, encoding="utf-8")
    (recipes / "latin.py").write_bytes(LATIN1.encode("latin-1"))
    (recipes / "bommed.py").write_bytes(b"\xef\xbb\xbf" + utf8.encode("utf-8"))
    digests = {name: (source_digest(recipes / f"{name}.py"), recipe_digest(find_recipe(f"{name}.accent", recipes)))
               for name in ("plain", "latin", "bommed")}
    assert digests["latin"] == digests["plain"] == digests["bommed"]  # the coding comment is no token
    assert 'len("caf\xe9")' in find_recipe("latin.accent", recipes).source


# -- 7. command-line values are checked before they reach a library --------------------------------------

@pytest.mark.parametrize("args, message", [
    (("--scheduler", "tcp://127.0.0.1"), "error: argument --scheduler: 'tcp://127.0.0.1' has no port"),
    (("--scheduler", "tcp://no_such host:8786"), "is not a host name or IP address"),
    (("--scheduler", "tcp://127.0.0.1:99999"), "error: argument --scheduler: 'tcp://127.0.0.1:99999': Port out of range"),
    (("--scheduler", "tcp://127.0.0.1:eighty"), "error: argument --scheduler: 'tcp://127.0.0.1:eighty'"),
    (("--scheduler", "http://127.0.0.1:8786"), "unknown scheme 'http'"),
    (("--scheduler", "tcp://127.0.0.1:8786", "--dask-resources", "GPU"), "'GPU' should be written NAME=AMOUNT"),
    (("--scheduler", "tcp://127.0.0.1:8786", "--dask-resources", "GPU=nan"), "must be a finite number"),
    (("--scheduler", "tcp://127.0.0.1:8786", "--dask-resources", "GPU=-1"), "must be a finite number"),
])
def test_a_bad_dask_value_is_an_error_line_not_a_library_traceback(project, args, message):
    expect_refusal(project, "--executor", "dask", *args, message=message)


# -- 5. nothing silently left out ------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".MD", ".Md", ".MARKDOWN"])
def test_a_post_with_an_upper_case_extension_is_built(project, suffix):
    source = (project / "posts" / "2026-01-06-counts.md").read_text()
    (project / "posts" / f"2026-01-09-shouting{suffix}").write_text(source.replace("Counting images", "Loud"))
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    written = project / "site" / "_posts" / "2026-01-09-shouting.md"
    assert written.is_file() and "There are 12 horizontal" in written.read_text()
    assert not list((project / "site" / "_posts").glob(f"*{suffix}"))  # Jekyll's own extension, whatever the source's


def test_a_data_dir_that_does_not_exist_is_a_warning_at_its_line(project):
    config = project / "_config.yml"
    config.write_text(config.read_text() + "  data_dir: no-such-folder\n")
    line = config.read_text().splitlines().index("  data_dir: no-such-folder") + 1
    done = run_cli_process(project, "--plan")
    assert done.returncode == 0, done.stderr
    assert f"_config.yml:{line}: litblog.data_dir is 'no-such-folder', a folder that does not exist" in done.stderr
    (project / "no-such-folder").mkdir()
    assert "data_dir" not in run_cli_process(project, "--plan").stderr


# -- 6. workers that end, and leave nothing behind ---------------------------------------------------------

THREADS = '''
import threading
import time


def lingering(ctx):
    threading.Thread(target=time.sleep, args=(3600,), name="left-running").start()  # not a daemon
    ctx.record("value", 1)
'''

TRACED = '''
from pathlib import Path

import tensorflow as tf


def traced(ctx):
    @tf.function
    def double_positive(x):
        if tf.reduce_sum(x) > 0:  # control flow: AutoGraph converts it through a generated file
            return x * 2.0
        return x

    ctx.record("value", float(double_positive(tf.constant([1.5]))[0]))


def scribble(ctx):
    Path("posts", "notes.txt").write_text("written by a recipe")
    ctx.record("value", 2)
'''


def add_post(project: Path, module: str, source: str, name: str, recipe: str) -> None:
    (project / "src" / "recipes" / f"{module}.py").write_text(source)
    (project / "posts" / f"2026-01-09-{name}.md").write_text(
        f"---\ntitle: {name}\n---\n\n```{{experiment}} {name}\nrecipe: {module}.{recipe}\nshow: [metrics]\n```\n")


def test_a_non_daemon_thread_left_by_a_recipe_does_not_keep_a_cold_build_waiting(project):
    import subprocess
    import sys

    add_post(project, "threads", THREADS, "lingering", "lingering")
    try:
        done = subprocess.run([sys.executable, "-m", "litblog", "--project", str(project), "-q"],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "LITBLOG_WARM_WORKERS": "0"})
    except subprocess.TimeoutExpired:
        pytest.fail("the build waited on the thread its recipe left running")
    finally:
        from conftest import worker_pids

        for pid in worker_pids(project):
            os.kill(pid, 9)
    assert done.returncode == 0, done.stderr
    assert list((project / "results" / "threads.lingering").glob("*/manifest.json"))


def test_warm_runs_leave_no_autograph_file_in_the_temporary_folder(project, tmp_path):
    add_post(project, "traced", TRACED, "traced", "traced")
    temporary = tmp_path / "system-tmp"
    temporary.mkdir()
    (project / ".litblog" / "logs" / "warm-server.log").unlink(missing_ok=True)  # the copied build's
    done = run_cli_process(project, "-q", env={"TMPDIR": str(temporary), "LITBLOG_WARM_WORKERS": "30"})
    assert done.returncode == 0, done.stderr
    assert "forked pid" in (project / ".litblog" / "logs" / "warm-server.log").read_text()  # the run was warm
    assert json.loads(next((project / "results" / "traced.traced").glob("*/metrics.json")).read_text())["value"] == 3.0
    assert not list(temporary.rglob("__autograph_generated_file*")), list(temporary.rglob("*"))
    assert not list((project / ".litblog").rglob("__autograph_generated_file*"))  # removed with the run


def test_a_recipe_writing_into_posts_is_reported_naming_the_file(project):
    add_post(project, "traced", TRACED, "scribble", "scribble")
    done = run_cli_process(project)
    assert done.returncode == 0, done.stderr
    assert "files of the project's sources changed while experiments ran (scribble): posts/notes.txt" in done.stderr
    again = run_cli_process(project)  # nothing runs: nothing to report
    assert "changed while experiments ran" not in again.stderr


@pytest.mark.parametrize("source, message", [
    (b'def counts(ctx):\n    X = "caf\xe9"\n', "the file is not valid utf-8 text (byte 0xe9); save it as UTF-8 or declare its "
                                             "coding (PEP 263) (counting.py:2)"),
    (b"# coding: klingon\ndef counts(ctx):\n    pass\n", "unknown encoding: klingon (counting.py:1)"),
])
def test_a_recipe_python_could_not_decode_is_a_located_error(project, source, message):
    (project / "src" / "recipes" / "counting.py").write_bytes(source)
    expect_refusal(project, "--plan", message=f"posts/2026-01-06-counts.md:8: recipe 'counting.counts' cannot be "
                                              f"read: {message}")


def test_a_result_is_never_committed_through_a_linked_recipe_folder(tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    store = ResultStore(tmp_path / "blog" / "results")
    store.root.mkdir(parents=True)
    (store.root / "linked.recipe").symlink_to(archive, target_is_directory=True)
    staging = store.new_staging("cccc")
    (staging / MANIFEST).write_text(json.dumps({"key": "cccc", "recipe": "linked.recipe"}))
    with pytest.raises(OSError, match="results/linked.recipe is a symbolic link"):
        store.commit(staging, "linked.recipe", "cccc")
    assert snapshot(archive) == before
