"""Values over seeds: mean, sample standard deviation, intervals, Welch's t, and their text.

An experiment with ``seeds:`` is several runs; a value it names is one value per run. This
module is the statistics of such values (no numpy, no scipy: Student's t quantile is computed
from the regularized incomplete beta function) and how they are written:

- a value: ``68.0% ± 1.4%`` (mean ± sample standard deviation, both in the reference's
  format), with ``n = 3 seeds: 66.9%, 68.2%, 69.0%`` for the element's title;
- a statistic: ``.mean``, ``.std``, ``.min``, ``.max``, ``.n``, ``.ci95`` (``low–high``, the
  t interval of the mean) or ``.seed<k>`` after the value's path;
- a difference of two experiments' values: the mean difference and its 95% interval by
  Welch's t, ``+12.4% (95% CI +8.1% to +16.7%)``, or by a paired t on the per-seed differences
  when the author asks for ``(paired)``;
- claims: ``<``/``>`` decided by the means, with the two-sided p-value of the difference;
  ``~=`` by an equivalence test (TOST: the 90% interval of the difference within ± tolerance);
  Holm's step-down correction over a post's claims when its front matter asks for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from .values import Pooled, format_value, is_undefined

STATISTICS = ("mean", "std", "min", "max", "n", "ci95")
_SEED_STATISTIC = re.compile(r"^seed(\d+)$")
LEVEL = 0.95


def statistic_name(text: str) -> str | None:
    """``text`` if it names a statistic (``mean``, ``seed2``, ...), else None."""
    return text if text in STATISTICS or _SEED_STATISTIC.match(text) else None


def seed_of_statistic(name: str) -> int | None:
    """2 for ``seed2``; None for the other statistics."""
    match = _SEED_STATISTIC.match(name)
    return int(match.group(1)) if match else None


# -- statistics ---------------------------------------------------------------------------------


def mean(values: Sequence[float]) -> float:
    """The mean; equal values are their own mean exactly (fsum / n can be off by an ulp)."""
    if values and all(v == values[0] for v in values):
        return float(values[0])
    return math.fsum(values) / len(values) if values else math.nan


def sample_std(values: Sequence[float]) -> float:
    """The sample standard deviation (n - 1 in the denominator); NaN for fewer than two values;
    exactly 0 for equal values."""
    if len(values) < 2:
        return math.nan
    if all(v == values[0] for v in values):
        return 0.0
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, epsilon = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < epsilon:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (any real df > 0)."""
    if math.isinf(df):
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    tail = 0.5 * regularized_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom: t_{0.975, 4} = 2.7764.

    Bisection on :func:`t_cdf` to about 1e-12: slow by numerical standards, instant for a build.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if df <= 0 or math.isnan(df):
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
        if high > 1e12:
            return math.inf
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


def mean_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """The t interval of the mean of ``values``; NaNs for fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    centre = mean(values)
    half = t_quantile(0.5 + level / 2.0, n - 1) * sample_std(values) / math.sqrt(n)
    return centre - half, centre + half


def t_two_sided_p(t: float, df: float) -> float:
    """The two-sided p-value of a t statistic: P(|T| >= |t|)."""
    if math.isnan(t):
        return math.nan
    return min(1.0, 2.0 * t_cdf(-abs(t), df))


METHODS = {"welch": "Welch's t", "paired": "paired t", "student": "Student's t"}


@dataclass(frozen=True)
class Welch:
    """A difference of means (a sum of signed means, in general) with its interval: by Welch's t
    for independent experiments, by a paired t on per-seed differences (``method="paired"``), or
    by Student's t for one sample (one experiment's runs, values paired by seed)."""

    difference: float
    low: float  # NaN when a side has fewer than two values
    high: float
    df: float
    ns: tuple[int, ...]  # the runs behind each mean
    level: float = LEVEL
    method: str = "welch"  # a key of METHODS
    se: float = math.nan  # the standard error of the difference

    @property
    def has_interval(self) -> bool:
        return not math.isnan(self.low)

    @property
    def includes_zero(self) -> bool:
        return self.has_interval and self.low <= 0.0 <= self.high

    @property
    def p_value(self) -> float:
        """The two-sided p-value of "the difference is zero"; NaN without an interval."""
        if not self.has_interval:
            return math.nan
        if self.se == 0.0:
            return 1.0 if self.difference == 0.0 else 0.0
        return t_two_sided_p(self.difference / self.se, self.df)


def welch_interval(groups: Sequence[Sequence[float]], constant: float = 0.0, level: float = LEVEL) -> Welch:
    """The sum of the groups' means (plus ``constant``) and its ``level`` interval by Welch's t.

    Each group is an independent sample already multiplied by its sign, so two groups ``a`` and
    ``-b`` give mean(a) - mean(b) with the Welch–Satterthwaite degrees of freedom. Groups without
    any spread give a zero-width interval; a group of fewer than two values gives none (NaN).
    One group is a one-sample Student's t interval.
    """
    ns = tuple(len(g) for g in groups)
    method = "welch" if len(groups) > 1 else "student"
    difference = math.fsum(mean(g) for g in groups) + constant
    if not groups or min(ns) < 2:
        return Welch(difference, math.nan, math.nan, math.nan, ns, level, method)
    parts = [sample_std(g) ** 2 / len(g) for g in groups]
    se = math.sqrt(math.fsum(parts))
    if se == 0.0:
        return Welch(difference, difference, difference, math.inf, ns, level, method, 0.0)
    df = se ** 4 / math.fsum(v ** 2 / (n - 1) for v, n in zip(parts, ns))
    half = t_quantile(0.5 + level / 2.0, df) * se
    return Welch(difference, difference - half, difference + half, df, ns, level, method, se)


def welch(first: Sequence[float], second: Sequence[float], level: float = LEVEL) -> Welch:
    """mean(first) - mean(second) and its ``level`` interval by Welch's t (unequal variances)."""
    return welch_interval([list(first), [-v for v in second]], level=level)


def paired(first: dict[int, float], second: dict[int, float], level: float = LEVEL) -> Welch:
    """mean(first - second) over the seeds both have, and its ``level`` interval by a paired t
    (Student's t on the per-seed differences, n - 1 degrees of freedom)."""
    if set(first) != set(second):
        raise ValueError("a paired comparison needs the same seeds on both sides")
    one = welch_interval([[first[s] - second[s] for s in first]], level=level)
    return replace(one, method="paired")


class PairingError(ValueError):
    """A paired comparison of experiments that do not have the same seeds with results."""


@dataclass(frozen=True)
class Term:
    """A signed part of a difference: the runs of one experiment's value, or a constant."""

    name: str  # as the author wrote it: "model1.test.accuracy", "0.5"
    sign: float
    values: tuple[float, ...]
    experiment: str | None = None
    by_seed: dict[int, float] | None = None
    constant: bool = False


def difference_of_means(terms: Sequence[Term], *, paired: bool = False, level: float = LEVEL) -> Welch:
    """Σ sign × mean of ``terms`` with its interval. Terms of one experiment are paired by seed
    (``a.x - a.y`` is one sample of differences); different experiments are independent (Welch's
    t) unless ``paired``: then every experiment's runs are paired by seed, one sample of per-seed
    differences (paired t), which needs the same seeds everywhere (:class:`PairingError`)."""
    constant = math.fsum(t.sign * t.values[0] for t in terms if t.constant)
    groups: dict[str, dict[int, float]] = {}
    for term in terms:
        if term.constant:
            continue
        key = term.experiment or term.name
        runs = term.by_seed or dict(enumerate(term.values))
        if key not in groups:
            groups[key] = {seed: term.sign * v for seed, v in runs.items()}
        else:
            groups[key] = {seed: groups[key][seed] + term.sign * runs[seed] for seed in groups[key] if seed in runs}
    if paired and len(groups) > 1:
        seeds = [set(g) for g in groups.values()]
        if any(s != seeds[0] for s in seeds):
            raise PairingError("a paired comparison needs the same seeds with a result on both sides; seeds: "
                               + " and ".join(", ".join(str(k) for k in sorted(s)) or "none" for s in seeds))
        order = sorted(seeds[0])
        sample = [math.fsum(g[seed] for g in groups.values()) for seed in order]
        return replace(welch_interval([sample], constant, level), ns=(len(sample),), method="paired")
    return welch_interval([list(g.values()) for g in groups.values()], constant, level)


@dataclass(frozen=True)
class Equivalence:
    """The equivalence test (TOST) of a difference against ± tolerance: it holds when the
    ``1 - 2α`` interval (90% for α = 5%) lies within the bounds."""

    interval: Welch  # the difference with its 90% interval
    tolerance: float

    @property
    def holds(self) -> bool:
        return -self.tolerance <= self.interval.low and self.interval.high <= self.tolerance

    @property
    def p_value(self) -> float:
        """The larger of the two one-sided p-values (TOST); NaN without an interval."""
        result = self.interval
        if not result.has_interval:
            return math.nan
        if result.se == 0.0:
            return 0.0 if abs(result.difference) < self.tolerance else 1.0
        lower = 1.0 - t_cdf((result.difference + self.tolerance) / result.se, result.df)
        upper = t_cdf((result.difference - self.tolerance) / result.se, result.df)
        return max(lower, upper)


ALPHA = 1.0 - LEVEL  # the claims' significance level, 5%


def equivalence(terms: Sequence[Term], tolerance: float, *, paired: bool = False, alpha: float = ALPHA) -> Equivalence:
    """TOST of ``terms``' difference against ± ``tolerance`` at level ``alpha``."""
    return Equivalence(difference_of_means(terms, paired=paired, level=1.0 - 2.0 * alpha), tolerance)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest p times (m - i + 1),
    kept non-decreasing and at most 1. A claim is significant at α when its adjusted p is ≤ α."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def number_words(value: float) -> str:
    """A number in a claim's message: ``0.680``, ``1.2e-05``."""
    return f"{value:.3f}" if value == 0 or 0.001 <= abs(value) < 1e4 else f"{value:.4g}"


def interval_words(result: Welch, spec: str = "") -> str:
    write = (lambda v: formatted(v, spec)) if spec else number_words
    return f"{write(result.low)} to {write(result.high)}"


def method_words(result: Welch) -> str:
    """``Welch's t, 95% CI, n = 3 and 3``; ``paired t, 95% CI, n = 3 pairs``."""
    ns = [str(n) for n in result.ns]
    counts = ns[0] if len(ns) == 1 else ", ".join(ns[:-1]) + " and " + ns[-1]
    if result.method == "paired":
        counts += " pairs"
    return f"{METHODS[result.method]}, {result.level:.0%} CI, n = {counts}"


@dataclass(frozen=True)
class Verdict:
    holds: bool
    includes_zero: bool  # the interval of the difference includes zero (a claim that only the means carry)
    detail: str  # the test and its result, in words ("" without an interval)
    p_value: float = math.nan  # the claim's test: two-sided for <, >, <=, >=; TOST for ~=; NaN without one
    bounds: str = ""  # ~= that fails its test: "the 90% interval of the difference, -0.107 to 0.134, ..."


def check_claim(operator: str, left: Sequence[Term], right: Sequence[Term], tolerance: float | None, *,
                paired: bool = False) -> Verdict:
    """Whether ``left operator right`` holds. ``<``, ``>``, ``<=``, ``>=``: the means decide, and
    with runs the 95% interval of left - right (Welch's t, or paired t) is stated, with its
    p-value. ``~=``: with runs, the equivalence test (TOST at 5%: the 90% interval within
    ± tolerance); without any spread to test, the means (|d| ≤ tolerance)."""
    negated = [Term(t.name, -t.sign, t.values, t.experiment, t.by_seed, t.constant) for t in right]
    terms = [*left, *negated]
    result = difference_of_means(terms, paired=paired)
    d = result.difference
    slack = 1e-12 * max(1.0, abs(d))
    if operator == "~=":
        tol = tolerance or 0.0
        test = equivalence(terms, tol, paired=paired)
        if not test.interval.has_interval:
            return Verdict(abs(d) <= tol + slack, False, "")
        interval = test.interval
        inside = "within" if test.holds else "not within"
        bounds = (f"the {interval.level:.0%} interval of the difference, {interval_words(interval)}, is {inside} "
                  f"± {number_words(tol)}")
        detail = (f"equivalence test (TOST at {ALPHA:.0%}): {bounds} ({method_words(interval)}; "
                  f"{p_words(test.p_value)})")
        return Verdict(test.holds, False, detail, test.p_value, "" if test.holds else bounds)
    holds = {"<": d < 0, ">": d > 0, "<=": d <= slack, ">=": d >= -slack}[operator]
    detail = ""
    if result.has_interval:
        detail = (f"the {result.level:.0%} interval of the difference ({interval_words(result)}; "
                  f"{method_words(result)}; {p_words(result.p_value)}) "
                  f"{'includes' if result.includes_zero else 'excludes'} zero")
    return Verdict(holds, result.includes_zero, detail, result.p_value if result.has_interval else math.nan)


def p_words(p: float) -> str:
    """A p-value in a claim's text: ``p = 0.012``, ``p < 0.001``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def describe_claim(operator: str, left: Sequence[Term], right: Sequence[Term], tolerance: float | None) -> str:
    """``model3.test.accuracy = 0.680 > model1.test.accuracy = 0.712`` (means of several runs said so)."""
    def side(terms: Sequence[Term]) -> str:
        if len(terms) == 1 and terms[0].constant:
            return number_words(terms[0].values[0])
        name = " - ".join(t.name for t in terms)
        value = difference_of_means(terms).difference
        runs = max(len(t.values) for t in terms if not t.constant)
        return f"{name} = {number_words(value)}" + (f" (mean of {runs} seeds)" if runs > 1 else "")

    words = f"{side(left)} {operator} {side(right)}"
    return words + (f" ± {number_words(tolerance)}" if tolerance is not None else "")


def chart_error(values: Sequence[float], kind: str) -> float | None:
    """The length of an error bar above and below the mean: one standard deviation, or half the
    95% interval of the mean; None for a single run."""
    if len(values) < 2:
        return None
    if kind == "ci95":
        low, high = mean_interval(values)
        return (high - low) / 2.0
    return sample_std(values)


ERROR_WORDS = {"std": "±1 standard deviation", "ci95": "95% confidence interval of the mean (Student's t)"}


def seeds_statement(counts: Sequence[int], kind: str) -> str:
    """``Bars: mean of 3 seeds; error bars: ±1 standard deviation; dots: each seed.``"""
    low, high = min(counts), max(counts)
    seeds = f"{low}" if low == high else f"{low}–{high}"
    return f"Bars: mean of {seeds} seeds; error bars: {ERROR_WORDS[kind]}; dots: each seed."


# -- values over seeds --------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class SeedValues:
    """One value of an experiment in each of its runs that has a result."""

    name: str  # "model1.test.accuracy", for messages
    values: tuple[tuple[int, Any], ...]  # (seed, value), in the directive's seed order
    missing: tuple[int, ...] = ()  # seeds without a result
    pooled: Pooled | None = None  # a per-class rate: its value from the runs' summed confusion counts

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(seed for seed, _ in self.values)

    @property
    def numeric(self) -> bool:
        return bool(self.values) and all(is_number(v) for _, v in self.values)

    @property
    def defined(self) -> tuple[tuple[int, float], ...]:
        """(seed, number) of the runs whose value is defined (an undefined rate left out)."""
        return tuple((seed, float(v)) for seed, v in self.values if not is_undefined(v))

    @property
    def numbers(self) -> list[float]:
        """The runs' numbers, undefined ones (a precision of a class never predicted) left out."""
        return [v for _, v in self.defined]

    @property
    def uniform(self) -> bool:
        """Every run has the same value (a param, a count, a name, a measurement that did not vary)."""
        first = self.values[0][1]
        return not is_undefined(first) and all(
            v == first and type(v) is type(first) for _, v in self.values)

    def statistic(self, name: str) -> Any:
        """The value of ``name`` (see :data:`STATISTICS`); a seed's value for ``seed<k>``. Statistics
        of numbers are over the runs where the value is defined."""
        if name == "n":
            return self.n
        seed = seed_of_statistic(name)
        if seed is not None:
            return dict(self.values)[seed]
        numbers = self.numbers
        if name == "mean":
            return mean(numbers)
        if name == "std":
            return sample_std(numbers)
        if name == "min":
            return min(numbers) if numbers else math.nan
        if name == "max":
            return max(numbers) if numbers else math.nan
        if name == "ci95":
            return mean_interval(numbers)
        raise ValueError(f"unknown statistic {name!r}")


def plain_spec(spec: str) -> str:
    """``spec`` without its sign option: a spread is written ``± 1.4%``, never ``± +1.4%``."""
    return re.sub(r"^((?:.?[<>=^])?)[-+ ]", r"\1", spec)


def formatted(value: Any, spec: str) -> str:
    """``value`` in ``spec``; NaN (a spread of fewer than two runs) as a dash; an undefined value
    as ``undefined (never predicted)``."""
    if isinstance(value, float) and math.isnan(value) and not is_undefined(value):
        return "–"
    return format_value(value, spec)


def seeds_title(values: SeedValues, spec: str) -> str:
    """``n = 3 seeds: 66.9%, 68.2%, 69.0%`` (and the seeds without a result); for a pooled rate
    ``pooled from the summed confusion counts of 3 seeds: 150/271; per seed: ...``."""
    runs = ", ".join(formatted(v, spec) for _, v in values.values)
    seeds = f"{values.n} seed{'s' if values.n != 1 else ''}"
    if values.n > 1 and values.uniform and values.pooled is None:
        words = f"n = {seeds} ({', '.join(str(s) for s in values.seeds)}): the same value in every run"
    elif values.pooled is not None:
        pooled = values.pooled
        words = (f"{pooled.rate} pooled from the summed confusion counts of {seeds}: {pooled.hits}/{pooled.total}; "
                 f"per seed: {runs}")
    else:
        words = f"n = {seeds}: {runs}"
    if values.missing:
        words += f"; no result for seed{'s' if len(values.missing) > 1 else ''} " + \
                 ", ".join(str(s) for s in values.missing)
    return words


def spread_text(values: SeedValues, spec: str) -> str:
    """The visible text of a value over seeds: ``68.0% ± 1.4%``, one value when all runs agree,
    or each seed's when they differ and are not numbers."""
    if values.pooled is not None:
        return formatted(values.pooled.value, spec)
    if values.uniform:
        return formatted(values.values[0][1], spec)
    if values.numeric:
        numbers = values.numbers
        return f"{formatted(mean(numbers), spec)} ± {formatted(sample_std(numbers), plain_spec(spec))}"
    return "; ".join(f"seed {seed}: {formatted(v, spec)}" for seed, v in values.values)


def statistic_text(values: SeedValues, name: str, spec: str) -> str:
    value = values.statistic(name)
    if name == "ci95":
        low, high = value
        return f"{formatted(low, spec)}–{formatted(high, spec)}"
    if name == "std":
        return formatted(value, plain_spec(spec))
    return formatted(value, spec)


def difference_text(result: Welch, spec: str) -> tuple[str, str]:
    """(visible text, title) of a difference of means: ``+12.4% (95% CI +8.1% to +16.7%)``."""
    text = formatted(result.difference, spec)
    if result.has_interval:
        text += f" ({result.level:.0%} CI {interval_words(result, spec)})"
        return text, method_words(result)
    counts = " and ".join(str(n) for n in result.ns)
    return text, f"difference of means, n = {counts}: no interval, a side has a single run"
