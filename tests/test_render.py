"""Stage 6: rendered posts compared with committed golden files, and Liquid-safe output."""

import json
import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image

from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.sources.config import load_config
from litblog.buildtime.directives import DIRECTIVES, Block, Directive, parse_post
from litblog.buildtime.render.blocks import BLOCKS, Rendering
from litblog.common.errors import SourceLocation, UserError, UserErrors
from litblog.buildtime.render.figure_kinds import RUN_TIME_CURVES
from litblog.buildtime.render.page import drawing_digest
from litblog.buildtime.plan.plan import make_plan
from litblog.buildtime.render.renderer import ExperimentOutcome, Renderer, post_url
from litblog.common.store import ResultStore, seal
from litblog.buildtime.results.values import format_value

GOLDEN = Path(__file__).parent / "golden" / "render"
UPDATE = os.environ.get("LITBLOG_UPDATE_GOLDEN") == "1"

LOG = """Epoch 1/3
2/2 - 1s - 300ms/step - accuracy: 0.5000 - loss: 0.7000 - val_accuracy: 0.5000 - val_loss: 0.6900
template text {{ x }} and {% endraw %} and <b>bold</b>
"""
SUMMARY = 'Model: "tiny"\n Total params: 1,234 (4.82 KB)\n'


def fake_result(store: ResultStore, experiment, val_accuracy: list[float], test_accuracy: float) -> None:
    folder = store.folder(experiment.recipe.reference, experiment.key)
    (folder / "figures").mkdir(parents=True)
    Image.new("RGB", (20, 10), "white").save(folder / "figures" / "curves.png")
    epochs = list(range(1, len(val_accuracy) + 1))
    (folder / "history.json").write_text(json.dumps({
        "epochs": epochs, "phases": [{"name": "training", "first_epoch": 1, "last_epoch": len(epochs)}],
        "metrics": {"accuracy": [0.5] * len(epochs), "val_accuracy": val_accuracy}}))
    (folder / "metrics.json").write_text(json.dumps({
        "test": {"accuracy": test_accuracy, "loss": 0.5}, "model": {"total_params": 1234}}))
    (folder / "log.txt").write_text(LOG)
    (folder / "summary.txt").write_text(SUMMARY)
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "key": experiment.key, "recipe": experiment.recipe.reference,
        "key_inputs": experiment.inputs.to_json(), "timings": {"wall_seconds": 65.2, "train_seconds": 61.7},
        "summaries": [{"model": "tiny", "file": "summary.txt"}],
        # The learning curves a worker drew and stored until drawing moved to the build: ignored,
        # the page's curves are drawn from history.json.
        "figures": {"curves": dict(RUN_TIME_CURVES)}}))
    seal(folder)  # as ResultStore.commit does: a result without digests is not used


@pytest.fixture
def rendered_golden(fresh_project):
    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    shutil.copy(GOLDEN / "post.md", fresh_project / "posts" / "2024-02-03-golden.md")
    config = load_config(fresh_project)
    parsed = _parse(_read_posts(config))
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    post = parsed[0]
    experiments = {name: plan.experiments[plan.key_of(post.post.path, name)] for name in ("base", "other")}
    fake_result(store, experiments["base"], [0.5, 0.61, 0.58], 0.6237)
    fake_result(store, experiments["other"], [0.55, 0.6, 0.7], 0.7)
    outcomes = {name: ExperimentOutcome(e, store.load(e.recipe.reference, e.key)) for name, e in experiments.items()}
    return Renderer(config.path("templates_dir"), config.jekyll["permalink"]), post, outcomes


@pytest.mark.parametrize("target", ["jekyll", "preview"])
def test_rendered_post_matches_golden_file(rendered_golden, target):
    renderer, post, outcomes = rendered_golden
    rendered = renderer.render(post, outcomes)
    expected_file = GOLDEN / f"expected.{target}.md"
    body = rendered.bodies[target]
    for name, outcome in outcomes.items():  # keys change with the framework versions and litblog's engine
        body = body.replace(outcome.experiment.key, f"KEY-OF-{name}")
    if UPDATE:
        expected_file.write_text(body)
    assert body == expected_file.read_text()
    assert rendered.url == "/2024/02/03/golden/"
    assert set(rendered.assets) == {"assets/golden/base-curves.svg", "assets/golden/other-curves.svg"}


def test_liquid_never_reads_code_or_logs(rendered_golden):
    renderer, post, outcomes = rendered_golden
    jekyll = renderer.render(post, outcomes).bodies["jekyll"]
    # The log's own "{% endraw %}" has its "{%" emitted through Liquid so the raw block is not cut
    # short ("{{ '{% endraw %}' }}" would not do: Liquid's tokenizer ends an output at the first "}").
    assert "{{ x }} and {% endraw %}{{ '{%' }}{% raw %} endraw %} and &lt;b&gt;bold&lt;/b&gt;" in jekyll
    assert "{{ '/assets/golden/other-curves.svg' | relative_url }}" in jekyll


def test_a_metric_the_result_lacks_is_a_located_error(rendered_golden):
    renderer, post, outcomes = rendered_golden
    block = post.blocks[0]
    broken = block.__class__(block.text, block.line, tuple(
        ref.__class__(ref.experiment, "test.acuracy", ref.format_spec, ref.location, ref.start, ref.end)
        for ref in block.references))
    post = post.__class__(post.post, (broken, *post.blocks[1:]))
    with pytest.raises(UserErrors) as info:
        renderer.render(post, outcomes)
    assert [e.render() for e in info.value.errors] == [
        "posts/2024-02-03-golden.md:5: experiment 'base' has no value 'test.acuracy' (did you mean 'test.accuracy'?)",
        "posts/2024-02-03-golden.md:5: experiment 'base' has no value 'test.acuracy' (did you mean 'test.accuracy'?)",
    ][:len(info.value.errors)]


def test_format_value():
    assert format_value(0.61234) == "0.6123"
    assert format_value(0.61234, ".1%") == "61.2%"
    assert format_value(204226) == "204,226"
    assert format_value(True) == "true"
    assert format_value({"epochs": 20, "augment": False}) == "epochs=20, augment=false"
    assert format_value(float("nan")) == "–"
    with pytest.raises(ValueError):
        format_value("text", ".1%")


def test_permalinks_follow_jekyll(fresh_project):
    config = load_config(fresh_project)
    post = _read_posts(config)[0]
    assert post_url(post, "/:year/:month/:day/:title/") == "/2026/01/05/stripes/"
    assert post_url(post, "date") == "/2026/01/05/stripes.html"
    assert post_url(post, "pretty") == "/2026/01/05/stripes/"
    assert post_url(post, "/blog/:title:output_ext") == "/blog/stripes.html"


CHART = """
```{chart}
experiments: [base, other]
value: test.accuracy
labels: [plain, augmented]
baseline: 0.5
format: .1%
caption: Test accuracy; the dashed line is chance.
```
"""


def test_a_chart_compares_experiments_and_is_drawn_once(rendered_golden, tmp_path):
    renderer, parsed, outcomes = rendered_golden
    renderer.charts_dir = tmp_path / "charts"
    post = replace(parsed.post, body=parsed.post.body + CHART)
    rendered = renderer.render(parse_post(post), outcomes)
    (chart,) = [path for path in rendered.assets if "/chart-" in path]
    png = rendered.assets[chart]
    assert png.parent == tmp_path / "charts" and png.read_bytes().startswith(b"<?xml") and chart.endswith(".svg")
    assert f"{{{{ '/{chart}' | relative_url }}}}" in rendered.bodies["jekyll"]
    # The alt says what the chart shows, bar by bar; the caption stays the caption.
    assert 'alt="Bar chart of ' in rendered.bodies["jekyll"]
    assert 'alt="Test accuracy; the dashed line is chance."' not in rendered.bodies["jekyll"]
    assert re.search(r'<img [^>]*width="\d+" height="\d+"[^>]* decoding="async"', rendered.bodies["jekyll"])
    stamp = png.stat().st_mtime_ns
    assert renderer.render(parse_post(post), outcomes).assets[chart] == png
    assert png.stat().st_mtime_ns == stamp  # drawn once, reused


def test_a_chart_of_a_value_the_results_lack_is_a_located_error(rendered_golden):
    renderer, parsed, outcomes = rendered_golden
    post = replace(parsed.post, body=parsed.post.body + CHART.replace("value: test.accuracy", "value: test.acc"))
    with pytest.raises(UserErrors) as info:
        renderer.render(parse_post(post), outcomes)
    assert "experiment 'base' has no value 'test.acc' (did you mean 'test.accuracy'?)" in str(info.value)


def test_a_value_a_chart_cannot_draw_is_one_warning_for_both_targets(rendered_golden, tmp_path, caplog):
    renderer, parsed, outcomes = rendered_golden
    renderer.charts_dir = tmp_path / "charts"
    outcomes["other"].result.metrics["test"]["accuracy"] = float("inf")
    renderer.render(parse_post(replace(parsed.post, body=parsed.post.body + CHART)), outcomes)
    warnings = [r.getMessage() for r in caplog.records if "not finite" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].endswith(": other.test.accuracy is inf: its bar is drawn as not finite")


@dataclass(frozen=True)
class Probe(Block):
    """The block of a directive of this test's own: it meets one problem in every target, one in the preview only."""

    location: SourceLocation


def render_probe(block: Probe, page) -> str:
    page.errors.append(UserError("met by every target", block.location))
    if page.target.name == "preview":
        page.errors.append(UserError("met by the preview only", block.location, hint="a check of that target"))
    return "probed\n"


@pytest.fixture
def probe(monkeypatch):
    """```{probe}```, registered as a directive module's entry would be (before the renderer is made)."""
    monkeypatch.setitem(DIRECTIVES, "probe", Directive("probe", Probe, (), lambda source: Probe(source.location)))
    monkeypatch.setitem(BLOCKS, Probe, Rendering(Probe, render_probe))


def test_errors_of_every_target_are_reported_once(probe, rendered_golden):
    renderer, parsed, outcomes = rendered_golden
    post = parse_post(replace(parsed.post, body=parsed.post.body + "\n```{probe}\n```\n"))
    (probed,) = [block for block in post.blocks if isinstance(block, Probe)]
    line = probed.location.line
    with pytest.raises(UserErrors) as info:
        renderer.render(post, outcomes)
    assert [e.render() for e in info.value.errors] == [
        f"posts/2024-02-03-golden.md:{line}: met by every target",
        f"posts/2024-02-03-golden.md:{line}: met by the preview only\n  hint: a check of that target",
    ]


# -- figures drawn at build time (figure_kinds.py) ----------------------------------------------

CONFUSION = "\n```{figure} other.confusion\ncaption: Counts of *other*.\n```\n"
COUNTS = {"horizontal": {"horizontal": 3, "vertical": 1}, "vertical": {"horizontal": 0, "vertical": 4}}


def test_a_confusion_matrix_is_drawn_from_the_recorded_counts(rendered_golden, tmp_path):
    renderer, parsed, outcomes = rendered_golden
    renderer.charts_dir = tmp_path / "charts"
    outcomes["other"].result.metrics["test"]["confusion"] = COUNTS  # as ctx.predict records them
    rendered = renderer.render(parse_post(replace(parsed.post, body=parsed.post.body + CONFUSION)), outcomes)
    png = rendered.assets["assets/golden/other-confusion.svg"]
    assert png.parent == tmp_path / "charts" and drawing_digest(png) == png.stem
    assert "<figcaption>Counts of <em>other</em>.</figcaption>" in rendered.bodies["preview"]
    # The curves of both runs are drawn from their histories (their stored curves.png is the worker's).
    assert rendered.assets["assets/golden/base-curves.svg"].parent == tmp_path / "charts"
    # The counts named explicitly: the same drawing, under the figure's own name.
    named = CONFUSION.replace("other.confusion", "other.test.confusion")
    rendered = renderer.render(parse_post(replace(parsed.post, body=parsed.post.body + named)), outcomes)
    assert rendered.assets["assets/golden/other-test.confusion.svg"] == png


def test_a_figure_the_recipe_saved_wins_over_the_kind_of_that_name(rendered_golden, tmp_path):
    renderer, parsed, outcomes = rendered_golden
    renderer.charts_dir = tmp_path / "charts"
    result = outcomes["other"].result
    result.metrics["test"]["confusion"] = COUNTS
    Image.new("RGB", (20, 10), "blue").save(result.folder / "figures" / "confusion.png")
    result.manifest["figures"]["confusion"] = {"file": "figures/confusion.png", "caption": "The recipe's own."}
    rendered = renderer.render(parse_post(replace(parsed.post, body=parsed.post.body + CONFUSION)), outcomes)
    # The recipe's PNG, converted to WebP for the page (20 px wide: no 2x version); the result is untouched.
    webp = rendered.assets["assets/golden/other-confusion.webp"]
    assert webp.parent == tmp_path / "charts" and drawing_digest(webp) == webp.stem
    assert "assets/golden/other-confusion-2x.webp" not in rendered.assets
    with Image.open(webp) as image, Image.open(result.folder / "figures" / "confusion.png") as saved:
        assert image.format == "WEBP" and image.size == saved.size == (20, 10)
    assert "alt=\"Figure 'confusion' of other, saved by its recipe: The recipe's own\"" in \
        rendered.bodies["preview"].replace("&#39;", "'")


def test_a_figure_no_run_can_have_is_a_located_error_saying_why(rendered_golden, tmp_path):
    renderer, parsed, outcomes = rendered_golden
    renderer.charts_dir = tmp_path / "charts"
    body = parsed.post.body + CONFUSION + "\n```{figure} base.curvs\n```\n"
    with pytest.raises(UserErrors) as info:
        renderer.render(parse_post(replace(parsed.post, body=body)), outcomes)
    assert [e.render().split(": ", 1)[1] for e in info.value.errors] == [
        "experiment 'other' has no figure 'confusion': it recorded no confusion counts (ctx.predict records them)",
        "experiment 'base' has no figure 'curvs' (did you mean 'curves'?)"]


def test_show_curves_of_a_run_that_did_not_train_shows_nothing_and_the_figure_says_why(rendered_golden, tmp_path):
    renderer, parsed, outcomes = rendered_golden
    renderer.charts_dir = tmp_path / "charts"
    outcomes["base"].result.history["epochs"] = []
    experiment = "```{experiment} base\nrecipe: tiny.stripes\nparams: {epochs: 3}\nshow: [curves]\n```\n"
    rendered = renderer.render(parse_post(replace(parsed.post, body=experiment)), outcomes)
    assert rendered.assets == {} and "<figure" not in rendered.bodies["preview"]
    with pytest.raises(UserErrors) as info:
        renderer.render(parse_post(replace(parsed.post, body=experiment + "\n```{figure} base.curves\n```\n")),
                        outcomes)
    assert "experiment 'base' has no figure 'curves': it did not train (no epochs)" in str(info.value)
