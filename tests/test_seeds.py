"""Issue 11: repeated seeds, spread wherever a value appears, differences with confidence, checked claims.

Rendering is checked on a post whose runs are faked (golden files in tests/golden/seeds); what
runs and what is reused is checked with real builds of the tiny fixture project.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from faults import expect_refusal
from litblog.buildtime.results import spread
from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.sources.config import load_config
from litblog.buildtime.directives import parse_post
from litblog.common.errors import UserErrors
from litblog.buildtime.plan.plan import make_plan
from litblog.buildtime.sources.posts import read_post
from litblog.buildtime.render.renderer import ExperimentOutcome, Renderer, SeedOutcome
from litblog.common.store import ResultStore
from test_render import fake_result

GOLDEN = Path(__file__).parent / "golden" / "seeds"
UPDATE = os.environ.get("LITBLOG_UPDATE_GOLDEN") == "1"
STRIPES = "posts/2026-01-05-stripes.md"

BASE = {0: 0.669, 1: 0.682, 2: 0.690}
BETTER = {0: 0.80, 4: 0.79, 7: 0.81}


# -- Student's t and Welch -----------------------------------------------------------------------


@pytest.mark.parametrize("df, expected", [(1, 12.7062), (2, 4.3027), (4, 2.7764), (10, 2.2281), (30, 2.0423),
                                          (1e6, 1.9600)])
def test_t_quantile_matches_tables(df, expected):
    assert spread.t_quantile(0.975, df) == pytest.approx(expected, abs=5e-5)


def test_t_quantile_other_levels_and_symmetry():
    assert spread.t_quantile(0.995, 5) == pytest.approx(4.0321, abs=5e-5)
    assert spread.t_quantile(0.9, 20) == pytest.approx(1.3253, abs=5e-5)
    assert spread.t_quantile(0.025, 4) == pytest.approx(-2.7764, abs=5e-5)
    assert spread.t_quantile(0.5, 3) == 0.0
    # Real degrees of freedom (Welch's) fall between the integers around them.
    assert spread.t_quantile(0.975, 4) < spread.t_quantile(0.975, 3.5) < spread.t_quantile(0.975, 3)
    assert spread.t_cdf(spread.t_quantile(0.975, 7.3), 7.3) == pytest.approx(0.975, abs=1e-10)


def test_welch_interval_by_hand():
    a, b = [0.80, 0.79, 0.81], [0.669, 0.682, 0.690]
    result = spread.welch(a, b)
    va, vb = 0.01 ** 2 / 3, spread.sample_std(b) ** 2 / 3
    df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2)
    half = spread.t_quantile(0.975, df) * math.sqrt(va + vb)
    assert result.difference == pytest.approx(0.80 - sum(b) / 3)
    assert result.df == pytest.approx(df)
    assert (result.low, result.high) == pytest.approx((result.difference - half, result.difference + half))
    assert result.ns == (3, 3) and not result.includes_zero
    # A single run on a side: the difference, no interval.
    assert not spread.welch([0.7], b).has_interval
    assert spread.welch([0.7, 0.9], [0.8, 0.75]).includes_zero


def test_mean_std_and_interval():
    values = [0.669, 0.682, 0.690]
    assert spread.mean(values) == pytest.approx(0.680333, abs=1e-6)
    assert spread.sample_std(values) == pytest.approx(0.010599, abs=1e-6)
    low, high = spread.mean_interval(values)
    assert (high - low) / 2 == pytest.approx(4.3027 * 0.010599 / math.sqrt(3), abs=1e-5)
    assert math.isnan(spread.sample_std([0.5]))


# -- directives and config ----------------------------------------------------------------------


def _post(tmp_path: Path, body: str) -> list[str]:
    (tmp_path / "posts").mkdir(exist_ok=True)
    file = tmp_path / "posts" / "2026-01-01-x.md"
    file.write_text("---\ntitle: x\n---\n" + body)
    try:
        parse_post(read_post(file, tmp_path))
    except UserErrors as exc:
        return [e.render() for e in exc.errors]
    return []


@pytest.mark.parametrize("option, message", [
    ("seeds: 0", "posts/2026-01-01-x.md:7: option 'seeds' is 0: give how many seeds"),
    ("seeds: -2", "posts/2026-01-01-x.md:7: option 'seeds' is -2"),
    ("seeds: [0, 1, 1]", "posts/2026-01-01-x.md:7: option 'seeds' has seed 1 twice"),
    ("seeds: [0, -1]", "posts/2026-01-01-x.md:7: option 'seeds' has -1: a seed is between 0 and"),
    ("seeds: [0, 1.5]", "posts/2026-01-01-x.md:7: option 'seeds' has 1.5, which is not a whole number"),
    ("seeds: three", "posts/2026-01-01-x.md:7: option 'seeds' must be a number of seeds or a list"),
    ("seeds: 101", "posts/2026-01-01-x.md:7: option 'seeds' is 101: at most 100 seeds"),
    ("seed: 1\nseeds: 3", "posts/2026-01-01-x.md:8: options 'seed' and 'seeds' are both set"),
])
def test_bad_seeds_are_located_errors(tmp_path, option, message):
    errors = _post(tmp_path, f"\n```{{experiment}} m\nrecipe: tiny.stripes\n{option}\n```\n")
    assert any(e.startswith(message) for e in errors), errors


@pytest.mark.parametrize("role, message", [
    ("{claim}`m.test.accuracy ~= 0.5`", "'~=' needs a tolerance"),
    ("{claim}`m.test.accuracy > 0.5 ± 0.1`", "only '~=' takes a tolerance"),
    ("{claim}`m.test.accuracy is big`", "is not a comparison"),
    ("{claim}`1 < 2`", "names no experiment's value"),
    ("{claim}`n.test.accuracy > 0.5`", "undefined experiment 'n'"),
    ("{result}`m.test.accuracy - n.test.accuracy`", "undefined experiment 'n'"),
])
def test_bad_claims_are_located_errors(tmp_path, role, message):
    errors = _post(tmp_path, f"\n```{{experiment}} m\nrecipe: tiny.stripes\n```\n\nText {role}.\n")
    assert any(e.startswith("posts/2026-01-01-x.md:9: ") and message in e for e in errors), errors


def test_a_claim_in_a_caption_is_refused(tmp_path):
    errors = _post(tmp_path, "\n```{experiment} m\nrecipe: tiny.stripes\n```\n\n```{figure} m.curves\n"
                             "caption: \"{claim}`m.test.accuracy > 0.5`\"\n```\n")
    assert any("a {claim} role belongs in the post's text" in e for e in errors), errors


def test_config_seeds_are_the_default_and_checked(fresh_project):
    config = fresh_project / "_config.yml"
    config.write_text(config.read_text().replace("  seed: 1\n", "  seeds: [2, 3]\n"))
    loaded = load_config(fresh_project)
    assert loaded.build.seeds == (2, 3)
    plan = make_plan(_parse(_read_posts(loaded)), loaded, ResultStore(loaded.path("results_dir")))
    assert plan.runs_of(STRIPES, "plain").seeds == (2, 3)
    config.write_text(config.read_text().replace("  seeds: [2, 3]\n", "  seeds: [2, 2]\n"))
    with pytest.raises(UserErrors) as info:
        load_config(fresh_project)
    assert info.value.errors[0].render().startswith("_config.yml:4: config key 'seeds' has seed 2 twice")


# -- keys ---------------------------------------------------------------------------------------


def test_seed_k_of_seeds_has_the_key_of_seed_k(fresh_project):
    (fresh_project / "posts" / "2026-01-07-seeds.md").write_text(
        "---\ntitle: Seeds\n---\n\n```{experiment} many\nrecipe: tiny.stripes\nparams: {epochs: 2}\n"
        "seeds: [0, 4, 7]\n```\n\n```{experiment} four\nrecipe: tiny.stripes\nparams: {epochs: 2}\nseed: 4\n```\n")
    config = load_config(fresh_project)
    plan = make_plan(_parse(_read_posts(config)), config, ResultStore(config.path("results_dir")))
    runs = plan.runs_of("posts/2026-01-07-seeds.md", "many")
    assert runs.seeds == (0, 4, 7) and len(set(runs.keys)) == 3
    four = plan.key_of("posts/2026-01-07-seeds.md", "four")
    assert runs.keys[1] == four
    assert plan.experiments[four].inputs == plan.experiments[runs.keys[1]].inputs
    assert plan.experiments[four].inputs.seed == 4
    # The stripes post's `plain` (epochs 2, litblog.seed 1) is seed 1 of nothing here: a different key.
    assert plan.key_of(STRIPES, "plain") not in runs.keys
    labels = sorted(u.label for u in plan.experiments[four].uses)
    assert labels == ["four", "many [seed 4]"]
    with pytest.raises(ValueError):
        plan.key_of("posts/2026-01-07-seeds.md", "many")


def _set_seeds(root: Path, seeds: str) -> None:
    post = root / STRIPES
    text = re.sub(r"(```\{experiment\} plain\n(?:.*\n)*?)(seeds: .*\n)?```", lambda m: f"{m.group(1)}{seeds}\n```",
                  post.read_text(), count=1)
    post.write_text(text)


def _ran(root: Path) -> list[str]:
    report = json.loads((root / "site" / "_build" / "report.json").read_text())
    return sorted(row["experiment"] for row in report["experiments"] if row["ran"])


def _stored(root: Path) -> set[str]:
    return {p.parent.name for p in (root / "results").glob("*/*/manifest.json")}


def test_adding_a_seed_runs_only_that_seed_and_removing_one_runs_none(project, capsys):
    before = _stored(project)
    # litblog.seed is 1: the plain run stored by the single-seed build is seed 1 of these.
    _set_seeds(project, "seeds: [1, 2, 3]")
    assert run_cli(project, "-q") == 0
    assert _ran(project) == ["plain [seed 2]", "plain [seed 3]"]
    three = _stored(project)
    assert before < three and len(three - before) == 2

    _set_seeds(project, "seeds: [1, 2, 3, 4]")
    capsys.readouterr()
    assert run_cli(project, "--plan") == 0
    listing = capsys.readouterr().out
    assert re.search(r"^plain \[seed 4\] .* run: ", listing, re.M), listing
    assert re.search(r"^plain \[seed 2\] .* cached", listing, re.M), listing
    assert run_cli(project, "-q") == 0
    assert _ran(project) == ["plain [seed 4]"]
    four = _stored(project)
    assert len(four - three) == 1

    _set_seeds(project, "seeds: [1, 3, 4]")
    assert run_cli(project, "-q") == 0
    assert _ran(project) == [] and _stored(project) == four
    page = (project / "site" / "_posts" / "2026-01-05-stripes.md").read_text()
    # The post's values are now over three seeds.
    assert re.search(r'<span class="litblog-spread" title="n = 3 seeds: [^"]*">[^<]* ± ', page), page
    assert "with seeds 1, 3, 4" in page
    # The provenance card lists every run of the experiment, one per seed.
    card = page[page.index('class="litblog-provenance"'):]
    assert re.findall(r"<tr><td>(\d+)</td>", card)[:3] == ["1", "3", "4"]


def _false_claim(root: Path) -> tuple[str, float, float]:
    config = load_config(root)
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(_parse(_read_posts(config)), config, store)
    values = {name: plan.experiments[plan.key_of(STRIPES, name)].result.metrics["test"]["accuracy"]
              for name in ("plain", "flipped")}
    low, high = sorted(values, key=values.get)
    return f"{low}.test.accuracy > {high}.test.accuracy", values[low], values[high]


def test_a_false_claim_refuses_the_build_with_both_values(project):
    claim, low, high = _false_claim(project)
    post = project / STRIPES
    lines = post.read_text().split("\n")
    line = lines.index("The plain model reaches {result}`plain.val_accuracy.best:.1%` at best.") + 1
    lines[line - 1] += f" So {{claim}}`{claim}`."
    post.write_text("\n".join(lines))
    left, right = claim.split(" > ")
    expect_refusal(project, message=f"{STRIPES}:{line}: claim does not hold: {left} = {low:.3f} > "
                                    f"{right} = {high:.3f}")


def test_a_true_claim_and_a_claim_without_a_result(project):
    claim, _, _ = _false_claim(project)
    post = project / STRIPES
    true_claim = claim.replace(" > ", " <= ")
    post.write_text(post.read_text().replace("at best.", f"at best {{claim}}`{true_claim}`."))
    assert run_cli(project, "-q") == 0
    page = (project / "site" / "_posts" / "2026-01-05-stripes.md").read_text()
    assert re.search(r'at best <span class="litblog-claim" title="Checked when the site was built: '
                     + re.escape(true_claim.split(" <= ")[0]) + r' = [0-9.]+ &lt;= ', page), page
    # Change flipped so it needs a run; with --no-run its claim is a placeholder, not a failure.
    post.write_text(post.read_text().replace("params: {epochs: 2, augment: true}",
                                             "params: {epochs: 1, augment: true}"))
    assert run_cli(project, "-q", "--no-run") == 0
    page = (project / "site" / "_posts" / "2026-01-05-stripes.md").read_text()
    assert "(claim not checked: no result)" in page


# -- rendering (faked runs) ---------------------------------------------------------------------


def _fake_seeds(store, plan, post, name, accuracies):
    runs = plan.runs_of(post, name)
    for seed, key in runs:
        if seed in accuracies:
            experiment = plan.experiments[key]
            base = accuracies[seed]
            fake_result(store, experiment, [base - 0.1, base - 0.05 + seed / 1000, base], base)


@pytest.fixture
def seeds_golden(fresh_project):
    for old in (fresh_project / "posts").iterdir():
        old.unlink()
    shutil.copy(GOLDEN / "post.md", fresh_project / "posts" / "2024-03-04-seeds.md")
    config = load_config(fresh_project)
    parsed = _parse(_read_posts(config))
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    post = parsed[0]
    path = post.post.path

    def outcomes(missing: dict[str, set[int]] | None = None):
        result = {}
        for name in post.experiments:
            runs = []
            for seed, key in plan.runs_of(path, name):
                experiment = plan.experiments[key]
                lost = seed in (missing or {}).get(name, set())
                loaded = None if lost else store.load(experiment.recipe.reference, key)
                runs.append(SeedOutcome(seed, experiment, loaded, "The run failed: boom" if lost else None))
            result[name] = ExperimentOutcome.of_seeds(runs)
        return result

    _fake_seeds(store, plan, path, "base", BASE)
    _fake_seeds(store, plan, path, "better", BETTER)
    _fake_seeds(store, plan, path, "single", {0: 0.6})
    renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"], fresh_project / "cache")
    return renderer, post, outcomes


@pytest.mark.parametrize("target", ["jekyll", "preview"])
def test_seeds_post_matches_golden_file(seeds_golden, target):
    renderer, post, outcomes = seeds_golden
    rendered = renderer.render(post, outcomes())
    expected = GOLDEN / f"expected.{target}.md"
    if UPDATE:
        expected.write_text(rendered.bodies[target])
    assert rendered.bodies[target] == expected.read_text()


def test_values_over_seeds(seeds_golden):
    renderer, post, outcomes = seeds_golden
    body = renderer.render(post, outcomes()).bodies["preview"]
    # mean ± sample standard deviation in the same format, the runs in the title
    assert ('<span class="litblog-spread" title="n = 3 seeds: 66.9%, 68.2%, 69.0%">68.0% ± 1.1%</span>'
            in body), body
    # every statistic carries the runs in its title, as the value does
    runs = 'title="n = 3 seeds: 66.9%, 68.2%, 69.0%"'
    assert f'mean <span class="litblog-spread" {runs}>68.0%</span>, std <span class="litblog-spread" {runs}>1.1%</span>,' in body
    assert f'min <span class="litblog-spread" {runs}>66.9%</span>, max <span class="litblog-spread" {runs}>69.0%</span>' in body
    low, high = spread.mean_interval(list(BASE.values()))
    assert f'interval <span class="litblog-spread" {runs}>{low:.1%}–{high:.1%}</span>, seed 1 <span class="litblog-spread" {runs}>68.2%</span>' in body
    # equal across seeds: once, never "3 ± 0", the runs in the title
    assert 'epochs <span class="litblog-spread" title="n = 3 seeds (0, 1, 2): the same value in every run">3</span>, params' in body
    assert "± 0<" not in body and "± 0.0<" not in body
    # the difference with its interval by Welch's t
    result = spread.welch(list(BETTER.values()), list(BASE.values()))
    assert (f'<span class="litblog-difference" title="Welch&#39;s t, 95% CI, n = 3 and 3">'
            f'{result.difference:+.1%} (95% CI {result.low:+.1%} to {result.high:+.1%})</span>') in body
    # a true claim: a mark with the values
    assert re.search(r'<span class="litblog-claim" title="Checked when the site was built: better.test.accuracy = '
                     r'0.800 \(mean of 3 seeds\) &gt; base.test.accuracy = 0.680 \(mean of 3 seeds\); the 95% interval '
                     r'of the difference \([0-9.]+ to [0-9.]+; Welch&#39;s t, 95% CI, n = 3 and 3; p &lt; 0.001\) '
                     r'excludes zero">✓</span>', body), body


def test_table_cells_over_seeds(seeds_golden):
    renderer, post, outcomes = seeds_golden
    body = renderer.render(post, outcomes()).bodies["preview"]
    rows = {line.split(" | ")[0]: line.split(" | ")[1:] for line in body.split("\n") if line.startswith("| `")}
    assert rows["| `base`"][0].endswith(">false</span>")
    assert rows["| `base`"][1].endswith(">68.0% ± 1.1%</span>")
    assert [cell.rsplit(">", 2)[-2].split("<")[0] for cell in rows["| `base`"][2:4]] == ["68.0%", "3"]
    assert rows["| `better`"][1].endswith(">80.0% ± 1.0%</span>")
    assert rows["| `single`"][1:4] == ["60.0%", "60.0%", "1"]
    assert "title=\"Welch&#39;s t, 95% CI, n = 3 and 3\">+12.0% (95% CI" in rows["| `better`"][4]


def test_missing_seeds_are_counted_and_noticed(seeds_golden):
    renderer, post, outcomes = seeds_golden
    body = renderer.render(post, outcomes({"base": {2}})).bodies["preview"]
    assert ('title="n = 2 seeds: 66.9%, 68.2%; no result for seed 2">67.5% ± 0.9%</span> '
            '(<a class="litblog-missing" href="#litblog-notice-base">1 of 3 seeds missing</a>)') in body
    assert "1 of its 3 seeds has no result. Seed 2: The run failed: boom" in body
    assert 'seed 1 <span class="litblog-spread" title="n = 2 seeds: 66.9%, 68.2%; no result for seed 2">68.2%</span>' in body
    assert "(no result for seed 2)" not in body
    everything = renderer.render(post, outcomes({"base": {0, 1, 2}})).bodies["preview"]
    assert "None of its 3 seeds has a result. The run failed: boom" in everything
    assert "(claim not checked: no result)" in everything


def test_a_false_claim_over_seeds_is_an_error_and_a_weak_one_warns(seeds_golden):
    renderer, post, outcomes = seeds_golden
    text = post.post.body.replace("{claim}`better.test.accuracy > base.test.accuracy`",
                                  "{claim}`base.test.accuracy > better.test.accuracy`")
    from dataclasses import replace
    with pytest.raises(UserErrors) as info:
        renderer.render(parse_post(replace(post.post, body=text)), outcomes())
    (error,) = info.value.errors
    assert error.render().startswith(
        "posts/2024-03-04-seeds.md:31: claim does not hold: base.test.accuracy = 0.680 (mean of 3 seeds) > "
        "better.test.accuracy = 0.800 (mean of 3 seeds)")
    # Holds for the means, but the interval of the difference includes zero: a warning.
    weak = post.post.body.replace("{claim}`better.test.accuracy > base.test.accuracy`",
                                  "{claim}`base.test.accuracy > 0.675`")
    rendered = renderer.render(parse_post(replace(post.post, body=weak)), outcomes())
    (warning,) = rendered.warnings
    assert warning.startswith("posts/2024-03-04-seeds.md:31: claim 'base.test.accuracy > 0.675' holds for the "
                              "means, but the 95% interval of the difference (")
    assert "includes zero" in warning
    assert renderer.render(post, outcomes()).warnings == ()


def test_charts_of_seeds_state_their_error_bars(seeds_golden):
    renderer, post, outcomes = seeds_golden
    rendered = renderer.render(post, outcomes())
    body = rendered.bodies["preview"]
    assert "Test accuracy. Bars: mean of 3 seeds; error bars: ±1 standard deviation; dots: each seed." in body
    assert "Bars: mean of 3 seeds; error bars: 95% confidence interval of the mean (Student&#39;s t)" in body
    charts = [path for path in rendered.assets if "/chart-" in path]
    assert len(charts) == 2 and all(rendered.assets[c].read_bytes().startswith(b"<?xml") for c in charts)
    # The band of the curves, drawn from the histories and cached by content; one seed's curves, drawn
    # from its history too (the curves.png the results hold is what workers used to draw: not used).
    assert rendered.assets["assets/seeds/better-curves.svg"].parent == renderer.charts_dir
    assert rendered.assets["assets/seeds/base-curves-seed1.svg"].parent == renderer.charts_dir
    assert rendered.assets["assets/seeds/base-curves-seed1.svg"] != rendered.assets["assets/seeds/base-curves.svg"]
    assert "Mean per epoch over seeds 0, 1, 2; the band spans the lowest to the highest run." in body


def test_comparison_bars_draw_means_error_bars_and_dots():
    from matplotlib.collections import PathCollection
    from matplotlib.container import ErrorbarContainer

    from litblog.common.figures import comparison_bars

    means = [spread.mean(list(BASE.values())), spread.mean(list(BETTER.values())), 0.6]
    errors = [spread.chart_error(list(BASE.values()), "std"), spread.chart_error(list(BETTER.values()), "ci95"), None]
    fig = comparison_bars(["base", "better", "single"], means, errors=errors,
                          points=[list(BASE.values()), list(BETTER.values()), []])
    axis = fig.axes[0]
    bars = [p for p in axis.patches if p.get_visible()]
    assert [b.get_height() for b in bars] == pytest.approx(means)
    (container,) = [c for c in axis.containers if isinstance(c, ErrorbarContainer)]
    segments = container.lines[2][0].get_segments()
    assert len(segments) == 2  # no error bar for the single run
    for segment, centre, error in zip(segments, means, errors):
        (_, low), (_, high) = segment
        assert (low, high) == pytest.approx((centre - error, centre + error))
    assert errors[0] == pytest.approx(spread.sample_std(list(BASE.values())))
    low, high = spread.mean_interval(list(BETTER.values()))
    assert errors[1] == pytest.approx((high - low) / 2)
    dots = [c for c in axis.collections if isinstance(c, PathCollection)]
    assert [sorted(y for _, y in d.get_offsets()) for d in dots] == [
        pytest.approx(sorted(BASE.values())), pytest.approx(sorted(BETTER.values()))]
    assert all(abs(x - i) < 0.2 for i, d in enumerate(dots) for x, _ in d.get_offsets())


def test_learning_curve_band_draws_mean_and_min_max():
    from matplotlib.collections import PolyCollection

    from litblog.common.figures import learning_curves_band

    phases = [{"name": "training", "first_epoch": 1, "last_epoch": 2},
              {"name": "fine-tuning", "first_epoch": 3, "last_epoch": 3}]
    histories = [{"epochs": [1, 2, 3], "phases": phases,
                  "metrics": {"accuracy": [0.5 + s, 0.6 + s, 0.7 + s], "val_accuracy": [0.4, 0.5, 0.6 + s],
                              "loss": [1.0, 0.8, 0.6]}} for s in (0.0, 0.1, 0.2)]
    fig = learning_curves_band(histories, [0, 1, 2])
    accuracy = fig.axes[0]
    assert accuracy.get_title() == "accuracy" and fig.axes[1].get_title() == "loss"
    training = accuracy.get_lines()[0]
    assert list(training.get_ydata()) == pytest.approx([0.6, 0.7, 0.8])
    band = [c for c in accuracy.collections if isinstance(c, PolyCollection)][0]
    ys = band.get_paths()[0].vertices[:, 1]
    assert min(ys) == pytest.approx(0.5) and max(ys) == pytest.approx(0.9)
    assert any("start of fine-tuning" in t.get_text() for t in accuracy.texts)
    assert any(line.get_linestyle() == ":" for line in accuracy.get_lines())
