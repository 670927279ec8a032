"""Every statistic and test a page shows, against scipy's own functions.

litblog's build computes them without scipy (``buildtime/results/spread.py``: ``build-site check`` stays
light); scipy is a test dependency only. Each is checked at 2, 3 and 10 seeds and with no
spread at all.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litblog.buildtime.results import spread
from litblog.buildtime.results.spread import Term

scipy_stats = pytest.importorskip("scipy.stats")

RNG = np.random.default_rng(19)
SAMPLES = {
    2: (RNG.normal(0.70, 0.03, 2), RNG.normal(0.75, 0.05, 2)),
    3: (np.array([0.669, 0.682, 0.690]), np.array([0.800, 0.790, 0.810])),
    10: (RNG.normal(0.70, 0.03, 10), RNG.normal(0.72, 0.05, 10)),
}


def close(a: float, b: float, tol: float = 1e-7) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _terms(a, b, *, seeds_b=None) -> tuple[list[Term], list[Term]]:
    seeds_b = seeds_b or range(len(b))
    return ([Term("a.x", 1.0, tuple(a), "a", dict(enumerate(map(float, a))))],
            [Term("b.x", 1.0, tuple(b), "b", dict(zip(seeds_b, map(float, b))))])


@pytest.mark.parametrize("n", sorted(SAMPLES))
def test_mean_std_and_t_interval(n):
    a, _ = SAMPLES[n]
    assert close(spread.mean(list(a)), float(np.mean(a)), 1e-12)
    assert close(spread.sample_std(list(a)), float(scipy_stats.tstd(a)), 1e-10)
    low, high = spread.mean_interval(list(a))
    expected = scipy_stats.t.interval(0.95, n - 1, loc=np.mean(a), scale=scipy_stats.sem(a))
    assert close(low, expected[0]) and close(high, expected[1])


@pytest.mark.parametrize("n", sorted(SAMPLES))
def test_welch_interval_and_p_value(n):
    a, b = SAMPLES[n]
    ours = spread.welch(list(a), list(b))
    theirs = scipy_stats.ttest_ind(a, b, equal_var=False)
    interval = theirs.confidence_interval(0.95)
    assert close(ours.difference, float(np.mean(a) - np.mean(b)), 1e-12)
    assert close(ours.low, interval.low) and close(ours.high, interval.high)
    assert close(ours.df, float(theirs.df))
    assert close(ours.p_value, float(theirs.pvalue))


@pytest.mark.parametrize("n", sorted(SAMPLES))
def test_paired_t_interval_and_p_value(n):
    a, b = SAMPLES[n]
    ours = spread.difference_of_means([*_terms(a, b)[0], Term("b.x", -1.0, tuple(b), "b",
                                                              dict(enumerate(map(float, b))))], paired=True)
    theirs = scipy_stats.ttest_rel(a, b)
    interval = theirs.confidence_interval(0.95)
    assert ours.method == "paired" and ours.ns == (n,)
    assert close(ours.low, interval.low) and close(ours.high, interval.high)
    assert close(ours.p_value, float(theirs.pvalue))
    same = spread.paired(dict(enumerate(map(float, a))), dict(enumerate(map(float, b))))
    assert close(same.low, interval.low) and close(same.high, interval.high)


@pytest.mark.parametrize("n", sorted(SAMPLES))
@pytest.mark.parametrize("paired", [False, True])
def test_tost_against_two_one_sided_scipy_tests(n, paired):
    a, b = SAMPLES[n]
    tolerance = 0.04
    left, right = _terms(a, b)
    negated = [Term(t.name, -t.sign, t.values, t.experiment, t.by_seed) for t in right]
    test = spread.equivalence([*left, *negated], tolerance, paired=paired)
    if paired:
        lower = scipy_stats.ttest_rel(a + tolerance, b, alternative="greater")
        upper = scipy_stats.ttest_rel(a - tolerance, b, alternative="less")
        interval = scipy_stats.ttest_rel(a, b).confidence_interval(0.90)
    else:
        lower = scipy_stats.ttest_ind(a + tolerance, b, equal_var=False, alternative="greater")
        upper = scipy_stats.ttest_ind(a - tolerance, b, equal_var=False, alternative="less")
        interval = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.90)
    assert close(test.p_value, max(float(lower.pvalue), float(upper.pvalue)))
    assert close(test.interval.low, interval.low) and close(test.interval.high, interval.high)
    # TOST at 5% holds exactly when the 90% interval is within the bounds
    assert test.holds == (test.p_value <= 0.05)
    assert test.holds == (-tolerance <= interval.low and interval.high <= tolerance)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy's, on equal values
def test_zero_variance():
    same = [0.5, 0.5, 0.5]
    assert spread.sample_std(same) == 0.0 == float(scipy_stats.tstd(same))
    assert spread.mean_interval(same) == (0.5, 0.5)
    result = spread.welch(same, [0.4, 0.4, 0.4])
    assert close(result.difference, 0.1) and close(result.low, 0.1) and close(result.high, 0.1)
    assert result.p_value == 0.0  # a difference without any spread: certain
    assert spread.welch(same, same).p_value == 1.0
    test = spread.equivalence([Term("a.x", 1.0, tuple(same), "a", dict(enumerate(same))),
                               Term("b.x", -1.0, (0.49,) * 3, "b", dict(enumerate([0.49] * 3)))], 0.02)
    assert test.holds and test.p_value == 0.0
    # paired differences that do not vary, from samples that do (exactly: 0.75 - 0.5 = 0.25 in binary)
    paired = spread.paired({0: 0.75, 1: 1.0, 2: 1.25}, {0: 0.5, 1: 0.75, 2: 1.0})
    assert (paired.low, paired.high, paired.p_value) == (0.25, 0.25, 0.0)
    # where Welch's t sees samples that vary and cannot tell them apart
    assert spread.welch([0.75, 1.0, 1.25], [0.5, 0.75, 1.0]).includes_zero


def _holm_by_definition(p: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure as Holm (1979) states it: reject the smallest p-values in order
    while p_(k) <= alpha / (m - k + 1); stop at the first that is not."""
    order = np.argsort(p, kind="stable")
    rejected = [False] * len(p)
    for rank, index in enumerate(order):
        if p[index] <= alpha / (len(p) - rank):
            rejected[index] = True
        else:
            break
    return rejected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12),
       st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_adjusted_p_values_decide_like_the_procedure(p_values, alpha):
    adjusted = spread.holm(p_values)
    assert all(0.0 <= a <= 1.0 for a in adjusted)
    assert all(a >= p - 1e-15 for a, p in zip(adjusted, p_values))
    expected = _holm_by_definition(p_values, alpha)
    # an adjusted p-value at exactly alpha is a tie both ways round; the rest must agree
    for a, reject in zip(adjusted, expected):
        if not math.isclose(a, alpha, rel_tol=1e-12):
            assert (a <= alpha) == reject


def test_holm_on_claims_p_values_from_scipy():
    """The p-values of three Welch tests from scipy, adjusted: the smallest times 3, then 2, then 1."""
    pairs = [SAMPLES[10], SAMPLES[3], SAMPLES[2]]
    p = [float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue) for a, b in pairs]
    ours = [spread.welch(list(a), list(b)).p_value for a, b in pairs]
    assert all(close(x, y) for x, y in zip(ours, p))
    order = sorted(range(3), key=lambda i: p[i])
    expected = {}
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (3 - rank) * p[i]))
        expected[i] = running
    assert all(close(a, expected[i]) for i, a in enumerate(spread.holm(ours)))


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-5, max_value=5), min_size=2, max_size=10),
       st.lists(st.floats(min_value=-5, max_value=5), min_size=2, max_size=10))
def test_welch_matches_scipy_for_any_samples(a, b):
    if np.std(a) == 0 and np.std(b) == 0:
        return  # zero variance: test_zero_variance
    if np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b) < 1e-12:
        return  # near-zero standard error: both sides lose all precision
    ours = spread.welch(a, b)
    theirs = scipy_stats.ttest_ind(a, b, equal_var=False)
    interval = theirs.confidence_interval(0.95)
    assert close(ours.low, interval.low, 1e-6) and close(ours.high, interval.high, 1e-6)
    assert close(ours.p_value, float(theirs.pvalue), 1e-6)


def test_paired_needs_the_same_seeds():
    with pytest.raises(spread.PairingError, match="same seeds"):
        spread.difference_of_means([Term("a.x", 1.0, (0.1, 0.2), "a", {0: 0.1, 1: 0.2}),
                                    Term("b.x", -1.0, (0.1, 0.2), "b", {0: 0.1, 2: 0.2})], paired=True)


# -- on a page: stored results made with the store's format, no training -------------------------

import json  # noqa: E402

from litblog.buildtime.sources.config import load_config  # noqa: E402
from litblog.buildtime.render.figure_kinds import recorded_confusion  # noqa: E402
from litblog.buildtime.commands.pipeline import _parse, _read_posts  # noqa: E402
from litblog.buildtime.plan.plan import make_plan  # noqa: E402
from litblog.buildtime.render.renderer import ExperimentOutcome, Renderer, SeedOutcome  # noqa: E402
from litblog.common.errors import UserErrors  # noqa: E402
from litblog.common.store import ResultStore, seal  # noqa: E402

# Seed 1 never predicts "cat"; the worker records its cat precision as 0.0.
CONFUSION = {0: {"cat": {"cat": 40, "dog": 10}, "dog": {"cat": 20, "dog": 30}},
             1: {"cat": {"cat": 0, "dog": 50}, "dog": {"cat": 0, "dog": 50}},
             2: {"cat": {"cat": 45, "dog": 5}, "dog": {"cat": 25, "dog": 25}}}


def _per_class(confusion):
    """What runtime/predictions.py records from these counts (0.0 for a class never predicted)."""
    values = {}
    for cls in confusion:
        hits = confusion[cls][cls]
        predicted = sum(confusion[t][cls] for t in confusion)
        support = sum(confusion[cls].values())
        values[cls] = {"precision": hits / predicted if predicted else 0.0,
                       "recall": hits / support if support else 0.0, "support": support}
    return values


def _store_result(store, experiment, metrics):
    folder = store.folder(experiment.recipe.reference, experiment.key)
    folder.mkdir(parents=True)
    (folder / "history.json").write_text(json.dumps({"epochs": [1], "phases": [], "metrics": {"accuracy": [0.5]}}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "log.txt").write_text("")
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "key": experiment.key, "recipe": experiment.recipe.reference,
        "key_inputs": experiment.inputs.to_json(), "timings": {"wall_seconds": 1.0, "train_seconds": 1.0}}))
    seal(folder)


STATS_POST = """---
title: Statistics
{front}---

```{{experiment}} base
recipe: tiny.stripes
params: {{epochs: 1}}
seeds: 3
show: []
```

```{{experiment}} other
recipe: tiny.stripes
params: {{epochs: 2}}
seeds: 3
show: []
```

{body}
"""


@pytest.fixture
def stats_page(fresh_project):
    """(render(body, front=""), the store's results): a post over two experiments of 3 seeds whose
    results are written with the store's format."""
    def render(body: str, front: str = "", accuracies=None):
        for old in (fresh_project / "posts").iterdir():
            old.unlink()
        (fresh_project / "posts" / "2024-05-06-stats.md").write_text(STATS_POST.format(front=front, body=body))
        config = load_config(fresh_project)
        parsed = _parse(_read_posts(config))
        store = ResultStore(config.path("results_dir"))
        plan = make_plan(parsed, config, store)
        post = parsed[0]
        accuracies = accuracies or {"base": [0.60, 0.70, 0.81], "other": [0.65, 0.66, 0.70]}
        outcomes = {}
        for name in ("base", "other"):
            runs = []
            for seed, key in plan.runs_of(post.post.path, name):
                experiment = plan.experiments[key]
                if store.load(experiment.recipe.reference, key) is None:
                    confusion = CONFUSION[seed]
                    _store_result(store, experiment, {"test": {
                        "accuracy": accuracies[name][seed], "per_class": _per_class(confusion),
                        "confusion": confusion}})
                runs.append(SeedOutcome(seed, experiment, store.load(experiment.recipe.reference, key)))
            outcomes[name] = ExperimentOutcome.of_seeds(runs)
        renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"], fresh_project / "cache")
        return renderer.render(post, outcomes), outcomes
    return render


def test_pooled_precision_is_the_matrix_and_undefined_is_never_zero(stats_page):
    rendered, outcomes = stats_page(
        "Cat precision {result}`base.test.per_class.cat.precision:.1%`; seed 1: "
        "{result}`base.test.per_class.cat.precision.seed1:.1%`; mean of the defined seeds "
        "{result}`base.test.per_class.cat.precision.mean:.1%`; recall {result}`base.test.per_class.cat.recall:.1%`.")
    body = rendered.bodies["preview"]
    # the summed confusion matrix the page would draw: its cat column
    counts = [recorded_confusion(result, "test")[2] for _, result in outcomes["base"].results]
    summed = np.sum(counts, axis=0)
    matrix_precision = summed[0][0] / summed[:, 0].sum()
    assert f">{matrix_precision:.1%}</span>" in body  # 85/130 = 65.4%
    assert "precision pooled from the summed confusion counts of 3 seeds: 85/130; per seed: 66.7%, " \
           "undefined (never predicted), 64.3%" in body
    assert "seed 1: <span" in body and "\">undefined (never predicted)</span>" in body
    assert f">{np.mean([40 / 60, 45 / 70]):.1%}</span>" in body  # the mean leaves seed 1 out
    assert "66.7%, 0.0%, 64.3%" not in body  # seed 1's precision is never 0.0 (its recall is: 0/50)
    # the old average with 0.0 for seed 1 is nowhere
    assert f"{np.mean([40 / 60, 0.0, 45 / 70]):.1%}" not in body
    # recall pools the rows: 85/150
    assert f">{85 / 150:.1%}</span>" in body


def test_a_single_run_never_predicting_a_class_shows_undefined(stats_page):
    rendered, _ = stats_page("Seed 1 alone: {result}`base.test.per_class.cat.precision.seed1`.")
    assert "undefined (never predicted)" in rendered.bodies["preview"]
    from litblog.buildtime.results.values import lookup
    _, outcomes = stats_page("")
    result = dict(outcomes["base"].results)[1]
    value = lookup(result, "test.per_class.cat.precision")
    assert math.isnan(value) and format(value, ".1%") == "undefined (never predicted)"


def test_an_equivalence_claim_whose_interval_exceeds_the_tolerance_fails_with_both_bounds(stats_page):
    with pytest.raises(UserErrors) as info:
        stats_page("Same: {claim}`other.test.accuracy ~= base.test.accuracy ± 0.05`.")
    (error,) = info.value.errors
    a, b = [0.65, 0.66, 0.70], [0.60, 0.70, 0.81]
    interval = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.90)
    assert abs(np.mean(a) - np.mean(b)) < 0.05  # the means alone would have passed it
    message = error.render()
    assert message.startswith("posts/2024-05-06-stats.md:19: claim does not hold: other.test.accuracy = 0.670")
    assert f"the 90% interval of the difference, {interval.low:.3f} to {interval.high:.3f}, is not within ± 0.050" \
        in message
    # a tolerance the interval fits in: holds, and its title names the test
    rendered, _ = stats_page("Same: {claim}`other.test.accuracy ~= base.test.accuracy ± 0.25`.")
    assert "equivalence test (TOST at 5%): the 90% interval of the difference" in rendered.bodies["preview"]


def test_paired_claims_and_differences(stats_page):
    # seed k shares its data in both experiments: paired, the difference is clear
    accuracies = {"base": [0.60, 0.70, 0.80], "other": [0.62, 0.73, 0.82]}
    table = ("\n\n```{table}\nexperiments: [other]\ncolumns: [test.accuracy - base.test.accuracy (paired)]\n"
             "format: {test.accuracy - base.test.accuracy (paired): '+.2%'}\n```\n")
    rendered, _ = stats_page("Better {claim}`other.test.accuracy > base.test.accuracy (paired)`, by "
                             "{result}`other.test.accuracy - base.test.accuracy (paired):+.1%`; "
                             "unpaired {claim}`other.test.accuracy > base.test.accuracy`." + table,
                             accuracies=accuracies)
    body = rendered.bodies["preview"]
    paired = scipy_stats.ttest_rel(accuracies["other"], accuracies["base"])
    interval = paired.confidence_interval(0.95)
    assert f"paired t, 95% CI, n = 3 pairs; p = {paired.pvalue:.3f}) excludes zero" in body
    assert f"(95% CI {interval.low:+.1%} to {interval.high:+.1%})" in body
    assert f"(95% CI {interval.low:+.2%} to {interval.high:+.2%})" in body  # the table's column
    # Welch's t ignores the pairing: the same means, an interval that includes zero, a warning
    assert any("holds for the means" in w and "Welch" in w for w in rendered.warnings)
    assert not any("paired" in w for w in rendered.warnings)


def test_several_claims_get_a_note_and_holm_on_request(stats_page):
    accuracies = {"base": [0.60, 0.70, 0.80], "other": [0.62, 0.73, 0.82]}
    body = ("{claim}`other.test.accuracy > base.test.accuracy (paired)` "
            "{claim}`other.test.accuracy > 0.6` {claim}`base.test.accuracy > 0.5`.")
    rendered, _ = stats_page(body, accuracies=accuracies)
    assert "This post checks 3 claims when it is built; each test is at the 5% level, not corrected" \
        in rendered.bodies["preview"]
    assert "This post checks 3 claims" in rendered.bodies["jekyll"]
    plain = [w for w in rendered.warnings if "holds for the means" in w]
    rendered, _ = stats_page(body, front="multiple_comparisons: holm\n", accuracies=accuracies)
    page = rendered.bodies["preview"]
    assert "corrected for multiple comparisons by Holm" in page
    ps = [float(scipy_stats.ttest_rel(accuracies["other"], accuracies["base"]).pvalue),
          float(scipy_stats.ttest_1samp(accuracies["other"], 0.6).pvalue),
          float(scipy_stats.ttest_1samp(accuracies["base"], 0.5).pvalue)]
    for adjusted in spread.holm(ps):
        assert f"Holm-adjusted over 3 tests: {spread.p_words(adjusted)}" in page
    assert len([w for w in rendered.warnings if "Holm-adjusted" in w]) == \
        sum(1 for a in spread.holm(ps) if a > 0.05)
    assert len(plain) <= len(rendered.warnings)
    # one claim: no note
    rendered, _ = stats_page("{claim}`base.test.accuracy > 0.5`.", accuracies=accuracies)
    assert "litblog-claims-note" not in rendered.bodies["preview"]


def test_an_unknown_correction_is_a_located_error(stats_page):
    from litblog.common.errors import UserError
    with pytest.raises((UserError, UserErrors)) as info:
        stats_page("{claim}`base.test.accuracy > 0.5`", front="multiple_comparisons: bonferroni\n")
    assert "posts/2024-05-06-stats.md:3: 'multiple_comparisons' must be none or holm, got" in str(info.value)
