"""Pages a reader wants to read: summaries as tables, logs as epoch tables, code with what it uses.

The summary tables are built from hand-written ``summary.json`` files in ``tests/golden/pages``
(the layout ``context.summary_table`` writes: a Sequential model, a functional model around a
nested pretrained base, the same after fine-tuning) and compared with golden pages for both
targets (``LITBLOG_UPDATE_GOLDEN=1`` rewrites them). Nothing trains here.
"""

from __future__ import annotations

import html
import re
import json
import os
import shutil
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.sources.config import load_config
from litblog.buildtime.directives import parse_post
from litblog.buildtime.render.blocks.experiment import capped_log
from litblog.common.errors import UserErrors
from litblog.buildtime.results.log_table import epoch_seconds, epoch_table, evaluations, plural
from litblog.buildtime.plan.plan import make_plan
from litblog.buildtime.sources.posts import read_post
from litblog.buildtime.sources.recipe_source import find_recipe, recipe_digest, recipe_listing
from litblog.buildtime.render.renderer import ExperimentOutcome, Renderer
from litblog.common.store import ResultStore, seal
from litblog.buildtime.render.targets import strip_verbatim

GOLDEN = Path(__file__).parent / "golden" / "pages"
UPDATE = os.environ.get("LITBLOG_UPDATE_GOLDEN") == "1"

SEQ_LOG = """Found 24 files belonging to 2 classes (train).
Epoch 1/3
3/3 - 12s - 4s/step - accuracy: 0.5260 - loss: 42.4875 - val_accuracy: 0.5188 - val_loss: 0.7004
Epoch 2/3
3/3 - 1s - 300ms/step - accuracy: 0.6530 - loss: 0.6151 - val_accuracy: 0.5487 - val_loss: 0.6926
Epoch 3/3
3/3 - 850ms - 283ms/step - accuracy: 0.7035 - loss: 0.5465 - val_accuracy: 0.5337 - val_loss: 0.7191
Evaluate on test (name 'test'):
1/1 - 0s - 236ms/step - accuracy: 0.5400 - loss: 3.3293
template text {{ x }} and {% endraw %} and <b>bold</b>
"""
TRANSFER_LOG = """Epoch 1/2
2/2 - 65s - 30s/step - accuracy: 0.6000 - loss: 0.6600 - val_accuracy: 0.7000 - val_loss: 0.5000
Epoch 2/2
2/2 - 61s - 30s/step - accuracy: 0.7000 - loss: 0.5600 - val_accuracy: 0.7500 - val_loss: 0.4800
Epoch 3/4
2/2 - 3725s - 1862s/step - accuracy: 0.8000 - loss: 0.4000 - val_accuracy: 0.8500 - val_loss: 0.3500
Epoch 4/4
2/2 - 70s - 35s/step - accuracy: 0.9000 - loss: 0.3000 - val_accuracy: 0.9000 - val_loss: 0.2500
Evaluate on validation (name 'validation'):
1/1 - 2s - 2s/step - accuracy: 0.9000 - loss: 0.2500
Evaluate on test (name 'holdout'):
1/1 - 1s - 1s/step - accuracy: 0.8800 - loss: 0.2700
"""
OLD_LOG = """Epoch 1/1
2/2 - 5s - 2s/step - accuracy: 0.5000 - loss: 0.7000
1/1 - 0s - 100ms/step - accuracy: 0.5000 - loss: 0.6900
"""
SEQ_TEXT = 'Model: "model3"\n┃ Layer (type) ┃ Output Shape ┃ Param # ┃\n│ flatten_{{ x }} (Flatten) │ (None, 199712) │ 0 │\n' \
           ' Total params: 1,200,968 (4.58 MB)\n Trainable params: 400,322 (1.53 MB)\n'
FUNCTIONAL_TEXT = 'Model: "model4"\n Total params: 2,259,265 (8.62 MB)\n'
FINE_TUNING_TEXT = 'Model: "model4"\n Total params: 5,985,270 (22.83 MB)\n'


def write_result(store: ResultStore, experiment, *, log: str, history: dict,
                 summaries: list[tuple[str, str, str | None]]) -> None:
    """A sealed result: ``summaries`` are (model, Keras' text, name of a summary.json in GOLDEN or None)."""
    folder = store.folder(experiment.recipe.reference, experiment.key)
    folder.mkdir(parents=True)
    (folder / "history.json").write_text(json.dumps(history))
    (folder / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.5}}))
    (folder / "log.txt").write_text(log)
    entries = []
    for index, (model, text, table) in enumerate(summaries):
        stem = "summary" if index == 0 else f"summary-{index + 1}"
        (folder / f"{stem}.txt").write_text(text)
        entry = {"model": model, "file": f"{stem}.txt"}
        if table:
            shutil.copy(GOLDEN / table, folder / f"{stem}.json")
            entry["table"] = f"{stem}.json"
        entries.append(entry)
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "key": experiment.key, "recipe": experiment.recipe.reference,
        "key_inputs": experiment.inputs.to_json(), "timings": {"wall_seconds": 5.2, "train_seconds": 4.7},
        "summaries": entries, "figures": {}}))
    seal(folder)


def _history(epochs: int, phases: list[tuple[str, int, int]], validation: bool = True) -> dict:
    metrics = {"accuracy": [0.5 + 0.1 * e for e in range(epochs)], "loss": [0.7 - 0.1 * e for e in range(epochs)]}
    if validation:
        metrics.update(val_accuracy=[0.55 + 0.1 * e for e in range(epochs)],
                       val_loss=[0.65 - 0.1 * e for e in range(epochs)])
    return {"epochs": list(range(1, epochs + 1)), "metrics": metrics,
            "phases": [{"name": n, "first_epoch": a, "last_epoch": b, "epochs": b - a + 1} for n, a, b in phases]}


@pytest.fixture
def pages(fresh_project):
    """The golden post rendered from hand-made results: (rendered post, the results' store)."""
    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    shutil.copy(GOLDEN / "post.md", fresh_project / "posts" / "2024-02-03-pages.md")
    config = load_config(fresh_project)
    parsed = _parse(_read_posts(config))
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    post = parsed[0]
    experiments = {name: plan.experiments[plan.key_of(post.post.path, name)] for name in ("seq", "transfer", "old")}
    write_result(store, experiments["seq"], log=SEQ_LOG, history=_history(3, [("training", 1, 3)]),
                 summaries=[("model3", SEQ_TEXT, "summary-sequential.json")])
    write_result(store, experiments["transfer"], log=TRANSFER_LOG,
                 history=_history(4, [("training", 1, 2), ("fine-tuning", 3, 4)]),
                 summaries=[("model4", FUNCTIONAL_TEXT, "summary-functional.json"),
                            ("model4", FINE_TUNING_TEXT, "summary-fine-tuning.json")])
    write_result(store, experiments["old"], log=OLD_LOG, history=_history(1, [("training", 1, 1)], validation=False),
                 summaries=[("tiny", 'Model: "tiny"\n Total params: 1,234 (4.82 KB)\n', None)])
    outcomes = {name: ExperimentOutcome(e, store.load(e.recipe.reference, e.key)) for name, e in experiments.items()}
    renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"])
    return renderer.render(post, outcomes), (renderer, post, outcomes)


@pytest.mark.parametrize("target", ["jekyll", "preview"])
def test_summary_and_log_tables_match_golden_pages(pages, target):
    rendered, _ = pages
    expected_file = GOLDEN / f"expected.{target}.md"
    if UPDATE:
        expected_file.write_text(rendered.bodies[target])
    assert rendered.bodies[target] == expected_file.read_text()


class _Elements(HTMLParser):
    """Every element of an HTML fragment as (tag, attributes, text directly inside it), in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[list] = []
        self.open: list[list] = []

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.elements.append(element)
        if tag not in ("br", "img", "meta", "link", "input"):
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element[2] += data


def elements(html: str) -> list[list]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def test_summaries_are_tables_labelled_by_model_and_phase(pages):
    rendered, _ = pages
    found = elements(rendered.bodies["preview"])
    titles = [" ".join(text.split()) for tag, attrs, text in found if attrs.get("class") == "litblog-summary-title"]
    assert titles == ["Summary of model3 Sequential — training", "Summary of model4 Functional — training",
                      "Summary of model4 Functional — fine-tuning"]
    # The nested base is one row with its count; its layers are folded in the row below.
    nested = [text for tag, attrs, text in found if tag == "tr" and attrs.get("class") == "litblog-nested"]
    assert len(nested) == 2 and "mobilenetv2_1.00_160" in nested[0] and "2,257,984" in nested[0]
    assert "frozen" in nested[0] and "1,862,721 trainable" in nested[1]
    folded = [text for tag, attrs, text in found if tag == "summary" and "layers of" in text]
    assert folded == ["4 layers of mobilenetv2_1.00_160"] * 2
    ops = [text for tag, attrs, text in found if tag == "tr" and attrs.get("class") == "litblog-op"]
    assert len(ops) == 4 and all("(operation)" in text for text in ops)
    # Totals of the model alone; the optimizer's state on its own line when there is one.
    totals = [" ".join(text.split()) for tag, attrs, text in found if tag == "tfoot"]
    assert totals[0] == ("Total params400,322 Trainable params400,322 Non-trainable params0 "
                         "Optimizer state (Keras' text adds it to its total)800,646")
    assert "Optimizer" not in totals[1] and "Optimizer state" in totals[2]
    # Keras' own text stays, folded below each table.
    raw = [text for tag, attrs, text in found if tag == "details" and attrs.get("class") == "litblog-summary-text"]
    assert len(raw) == 3 and "Total params: 1,200,968 (4.58 MB)" in raw[0]


def test_summary_text_is_escaped_and_liquid_safe(pages):
    rendered, _ = pages
    jekyll = rendered.bodies["jekyll"]
    table_part = jekyll[jekyll.index('<table class="litblog-summary-table">'):jekyll.index('<details class="litblog-summary-text">')]
    assert "flatten_&#123;&#123; x &#125;&#125;" in table_part and "{{" not in table_part  # no raw block needed
    assert "dense&lt;b&gt;" in table_part and "<b>" not in table_part
    assert "{% raw %}" in jekyll[jekyll.index('<details class="litblog-summary-text">'):]  # Keras' text: verbatim


def test_a_result_without_a_summary_table_shows_keras_text(pages):
    rendered, _ = pages
    body = rendered.bodies["preview"]
    old = body[body.index("An older result"):]
    assert '```text\nModel: "tiny"' in old and "litblog-summary-table" not in old


def test_a_summary_table_without_the_layout_falls_back_to_keras_text(pages, caplog):
    _, (renderer, post, outcomes) = pages
    folder = outcomes["seq"].result.folder
    (folder / "summary.json").write_text(json.dumps({"model": "m", "layers": [{"name": "x", "params": "many"}]}))
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["digests"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    seal(folder)  # a sealed file of the run, with the wrong layout
    from litblog.common.store import StoredResult
    outcomes = {**outcomes, "seq": ExperimentOutcome(outcomes["seq"].experiment,
                                                     StoredResult(folder, json.loads((folder / "manifest.json").read_text())))}
    body = renderer.render(post, outcomes).bodies["preview"]
    seq = body[:body.index("A functional model")]
    assert '```text\nModel: "model3"' in seq and "litblog-summary-table" not in seq
    assert "its summary table is not used (not a count: 'many')" in caplog.text


def test_logs_are_tables_of_epochs_with_the_raw_log_folded(pages):
    rendered, _ = pages
    body = rendered.bodies["preview"]
    found = elements(body)
    titles = [" ".join(t.split()) for tag, attrs, t in found if attrs.get("class") == "litblog-training-title"]
    assert titles == ["Training of seq (3 epochs, 5 s)", "Training of transfer (4 epochs, 5 s)",
                      "Training of old (1 epoch, 5 s)"]
    heads = ["".join(t.split()) for tag, attrs, t in found if tag == "thead" and "epoch" in t]
    assert heads == ["epochtimetrainingvalidationlossaccuracylossaccuracy"] * 2 + ["epochtimelossaccuracy"]
    cells = [t for tag, attrs, t in elements(body[body.index('<table class="litblog-epochs">'):])
             if tag == "td" and attrs.get("class") == "litblog-num"]
    assert cells[:6] == ["1", "12 s", "0.7000", "0.5000", "0.6500", "0.5500"]  # loss first, then the metrics
    assert "850 ms" not in body and cells[12:14] == ["3", "1 s"]  # 850 ms rounds to a second
    phases = [t for tag, attrs, t in found if tag == "tr" and attrs.get("class") == "litblog-phase"]
    assert phases == ["training, from epoch 1", "fine-tuning, from epoch 3"]
    assert "1 h 02 min" in body  # epoch 3 of transfer: 3725 s
    lines = [t for tag, attrs, t in found if attrs.get("class") == "litblog-evaluation"]
    assert lines == ["Evaluated on test: accuracy 0.5400, loss 3.3293 (0 s).",
                     "Evaluated on validation: accuracy 0.9000, loss 0.2500 (2 s).",
                     "Evaluated on test (as holdout): accuracy 0.8800, loss 0.2700 (1 s)."]
    # The raw log is still there, folded, and counts its lines; an old log's unlabelled line stays as it was.
    folded = [" ".join(t.split()) for tag, attrs, t in found if tag == "summary" and t.startswith("Log of")]
    assert folded == ["Log of seq (10 lines)", "Log of transfer (12 lines)", "Log of old (3 lines)"]
    assert "1/1 - 0s - 100ms/step - accuracy: 0.5000 - loss: 0.6900" in body


def test_log_table_parts():
    assert epoch_seconds(SEQ_LOG) == {1: 12.0, 2: 1.0, 3: 0.85}
    assert [e.label for e in evaluations(TRANSFER_LOG)] == ["validation", "test (as holdout)"]
    assert evaluations(OLD_LOG) == []
    assert epoch_table({"epochs": [], "metrics": {}, "phases": []}, "") is None
    table = epoch_table(_history(2, [("training", 1, 2)]), "")
    assert table.columns == ("loss", "accuracy", "val_loss", "val_accuracy") and table.rows[0][1] is None
    # A resumed run prints an epoch twice: the last time counts.
    assert epoch_seconds("Epoch 2/3\n1/1 - 9s - x\nEpoch 2/3\n1/1 - 4s - x\n") == {2: 4.0}


def test_counts_in_headings_agree_with_their_number():
    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs" and plural(1200, "line") == "1,200 lines"
    text, omitted = capped_log("\n".join(str(i) for i in range(301)))
    assert omitted == 1 and "[… 1 line left out …]" in text


# -- show: [code] -------------------------------------------------------------------------------

RECIPE_MODULE = '''\
"""Recipes that use their module."""

import math

from recipes.helpers import tiny_cnn

SCALE = 2.5
OFFSET = SCALE * 2
UNUSED = "not read by scaled"


def _double(x):
    return x * 2


def helper(x):
    """Scales by SCALE."""
    return _double(x) * SCALE + OFFSET


def unrelated(ctx):
    return UNUSED


def scaled(ctx, epochs: int = 1):
    ctx.record("scaled", helper(epochs) + math.pi)
'''


@pytest.fixture
def recipe_module(tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "uses.py").write_text(RECIPE_MODULE)
    return folder


def test_code_shows_the_helpers_and_constants_the_recipe_uses(recipe_module):
    recipe = find_recipe("uses.scaled", recipe_module)
    listing = recipe_listing(recipe)
    assert listing == textwrap.dedent('''\
        import math

        from recipes.helpers import tiny_cnn

        SCALE = 2.5
        OFFSET = SCALE * 2


        def _double(x):
            return x * 2


        def helper(x):
            """Scales by SCALE."""
            return _double(x) * SCALE + OFFSET


        def scaled(ctx, epochs: int = 1):
            ctx.record("scaled", helper(epochs) + math.pi)''')
    assert "UNUSED" not in listing and "unrelated" not in listing and "Recipes that use" not in listing
    whole = recipe_listing(recipe, "module")
    assert whole == RECIPE_MODULE.rstrip("\n")


def test_the_listing_follows_the_digest(recipe_module):
    """What the page shows of the module is what the key covers: editing a shown helper re-keys."""
    recipe = find_recipe("uses.scaled", recipe_module)
    before = recipe_digest(recipe)
    (recipe_module / "uses.py").write_text(RECIPE_MODULE.replace("return x * 2", "return x * 3"))
    assert recipe_digest(recipe) != before and "x * 3" in recipe_listing(recipe)


def _experiment_post(tmp_path, options: str):
    file = tmp_path / "2024-01-01-code.md"
    file.write_text(f"---\ntitle: Code\n---\n\n```{{experiment}} one\nrecipe: uses.scaled\n{options}```\n")
    return next(block for block in parse_post(read_post(file, tmp_path)).blocks if hasattr(block, "show"))


def test_code_option_is_validated(tmp_path):
    assert _experiment_post(tmp_path, "show: [code]\ncode: module\n").code == "module"
    assert _experiment_post(tmp_path, "show: [code]\n").code == "function"
    with pytest.raises(UserErrors) as caught:
        _experiment_post(tmp_path, "show: [code]\ncode: modul\n")
    assert "code" in str(caught.value) and ":8:" in str(caught.value)
    with pytest.raises(UserErrors) as caught:
        _experiment_post(tmp_path, "show: [log]\ncode: module\n")
    assert "has no effect" in str(caught.value)


def test_rendered_code_lists_the_module_helper(fresh_project):
    (fresh_project / "src" / "recipes" / "uses.py").write_text(RECIPE_MODULE)
    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    (fresh_project / "posts" / "2024-01-01-code.md").write_text(
        "---\ntitle: Code\n---\n\n```{experiment} one\nrecipe: uses.scaled\nshow: [code]\n```\n\n"
        "```{experiment} two\nrecipe: uses.scaled\nshow: [code]\ncode: module\n```\n")
    config = load_config(fresh_project)
    parsed = _parse(_read_posts(config))
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    post = parsed[0]
    outcomes = {name: ExperimentOutcome(plan.experiments[plan.key_of(post.post.path, name)], None)
                for name in ("one", "two")}
    body = Renderer(config.path("templates_dir"), config.jekyll["permalink"]).render(post, outcomes).bodies["jekyll"]
    # the listing's text, as a reader sees it through the highlighting's spans
    one, two = (html.unescape(re.sub(r"<[^>]+>", "", part))
                for part in strip_verbatim(body).split('id="litblog-notice-two"'))
    assert "def helper(x):" in one and "SCALE = 2.5" in one and "UNUSED" not in one
    assert "def unrelated(ctx):" in two and '"""Recipes that use their module."""' in two


# -- charts at page width -----------------------------------------------------------------------

def test_long_bar_labels_wrap_and_do_not_overlap():
    from litblog.common.figures import LABEL_SIZE, LABEL_WRAP, TICK_SIZE, comparison_bars, wrapped_labels
    labels = ["augmented with flips and rotations", "MobileNetV2 features, frozen base", "baseline"]
    fig = comparison_bars(labels, [0.71, 0.93, 0.5], ylabel="test accuracy")
    fig.canvas.draw()
    axis = fig.axes[0]
    ticks = axis.get_xticklabels()
    assert [t.get_text() for t in ticks] == wrapped_labels(labels)[0]
    assert all(max(len(line) for line in t.get_text().split("\n")) <= LABEL_WRAP for t in ticks)
    boxes = [t.get_window_extent() for t in ticks]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), "tick labels overlap"
    assert {t.get_fontsize() for t in ticks} == {TICK_SIZE} and axis.yaxis.label.get_fontsize() == LABEL_SIZE
    # A label that would need more than three lines is slanted instead.
    assert wrapped_labels(["x" * 60])[1] == 30


def test_a_chart_without_any_value_says_no_results_yet():
    from litblog.common.figures import comparison_bars
    fig = comparison_bars(["a", "b"], [None, None])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "no results yet" in texts and fig.axes[0].get_yticks().size == 0


def test_band_curves_use_legible_fonts():
    from litblog.common.figures import LEGEND_SIZE, TICK_SIZE, learning_curves, learning_curves_band
    history = _history(3, [("training", 1, 2), ("fine-tuning", 3, 3)])
    for fig in (learning_curves_band([history, history], [0, 1]), learning_curves(history)):
        for axis in fig.axes:
            assert {t.get_fontsize() for t in axis.get_yticklabels()} == {TICK_SIZE}
            assert {t.get_fontsize() for t in axis.get_legend().get_texts()} == {LEGEND_SIZE}
