"""Numbers typed by hand in a post's prose, checked against what its experiments recorded.

A post's numbers should come from ``{result}`` references; a number typed into prose drifts
from the run that produced it. This check reads the prose of a post (not code, math, links,
HTML, Liquid, references or the front matter) and reports:

- a **warning** for a typed number that equals, at the precision it is written with, a value an
  experiment of the post recorded, with the reference to write instead
  (``posts/x.md:41: 87.5% is typed by hand; model4.test.accuracy is 87.5%: use
  {result}`model4.test.accuracy:.1%```);
- an **error** for a typed number right after (or before) the name of a recorded metric
  (``test accuracy``, ``validation loss``) that disagrees with every experiment's value of it
  (``posts/x.md:41: says 0.9250, test.accuracy is 0.875``).

Plain counts are left alone: an integer is considered only as a percentage (``87%``), and a
number must have three significant digits to be taken for a copy of a value unless its sentence
names the metric. Years, epochs, sizes (``160x160``), versions (``3.10``), names with digits
(``ResNet50``) are never read as values. ``<!-- typed -->`` right after a number silences it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ...common.errors import SourceLocation, UserError
from ..directives import ParsedPost, TextBlock
from ..results.values import HISTORY_STATS, format_value, is_undefined, lookup, recorded

if TYPE_CHECKING:
    from ..execute.outcomes import ExperimentOutcome

SILENCE = "<!-- typed -->"  # right after a number: it is meant as typed
# A number after one of these words is an approximation ("about 58%"), not a copy of a value.
_APPROXIMATE = re.compile(r"(?i)(?:\b(?:about|around|roughly|approximately|nearly|almost|some|circa|ca\.)|[~≈])\s*$")

# What is not prose: each match is blanked out (same length, newlines kept) before numbers are read.
_NOT_PROSE = [
    re.compile(r"<!--.*?-->", re.S),  # HTML comments (the silencing marker is looked for first)
    re.compile(r"(`+)(?:(?!\1).)+?\1", re.S),  # code spans
    re.compile(r"\$\$.+?\$\$", re.S),  # display math
    re.compile(r"(?<![\\$\w])\$(?=\S)[^$\n]+?(?<=\S)\$(?!\w)"),  # inline math $x$
    re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]", re.S),  # \( \) and \[ \] math
    re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S),  # Liquid
    re.compile(r"\]\([^)]*\)|\]\[[^\]]*\]|^\s*\[[^\]]+\]:.*$", re.M),  # link targets, reference definitions
    re.compile(r"<[A-Za-z/][^>]*>"),  # HTML tags and autolinks
    re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+"),  # bare URLs
    re.compile(r"^(?: {4}|\t).*$", re.M),  # indented code
]

# A number as prose writes it: 0.875, 87.5%, 1,234.5, -0.02. Not part of a word, a version, a
# date or a size: no letter, digit, dot or hyphen-digit glued to either side.
_NUMBER = re.compile(
    r"(?<![\w.\-+/:])(?P<sign>[-+−])?(?P<body>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<percent>\s?%)?(?![\w/]|\.\d|-\d|:\d|\s?[x×]\s?\d)")
# "between 59% and 64%", "from 0.61 to 0.65", "59–64%": a range's bounds describe, they do not quote.
_RANGE = re.compile(r"(?i)\bbetween\b[^.;]*\band\b|\bfrom\b[^.;]*\bto\b|\d\s?%?\s?(?:–|--|-|to)\s?\d")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n\s*\n")

# Metric phrases a sentence can name: split words x metric words. ``test accuracy`` names
# ``test.accuracy``; ``validation accuracy`` names ``val_accuracy.*``.
_SPLITS = {"test": ("test",), "val": ("validation", "val"), "validation": ("validation", "val")}


@dataclass(frozen=True)
class Recorded:
    """A numeric value an experiment of the post recorded, and how to refer to it."""

    reference: str  # "model4.test.accuracy", "base.test.accuracy.seed2"
    value: float
    metric: str  # "test.accuracy", "val_accuracy": what a sentence can name


@dataclass(frozen=True)
class Finding:
    location: SourceLocation
    message: str
    error: bool


def check_post(parsed: ParsedPost, outcomes: dict[str, ExperimentOutcome]) -> list[Finding]:
    """Every typed number of ``parsed``'s prose that copies or contradicts a recorded value."""
    values = recorded_values(outcomes)
    if not values:
        return []
    phrases = _metric_phrases(values)
    findings: list[Finding] = []
    for block in parsed.blocks:
        for text in block.prose():  # the post's text, and the prose a directive holds (an admonition's)
            findings += _check_text(text, parsed.post.path, values, phrases)
    return findings


def recorded_values(outcomes: dict[str, ExperimentOutcome]) -> list[Recorded]:
    """The numbers a post can refer to: what each experiment recorded and its history statistics;
    over seeds the mean and each seed's value."""
    found: list[Recorded] = []
    for name, outcome in outcomes.items():
        runs = outcome.results
        if not runs:
            continue
        paths = _numeric_paths(runs[0][1])
        for path, metric in paths:
            per_seed = []
            for seed, result in runs:
                try:
                    value = lookup(result, path)
                except Exception:  # a run without it: nothing to compare
                    continue
                if _is_float(value):
                    per_seed.append((seed, float(value)))
            if not per_seed:
                continue
            if len(runs) == 1:
                found.append(Recorded(f"{name}.{path}", per_seed[0][1], metric))
                continue
            numbers = [v for _, v in per_seed]
            found.append(Recorded(f"{name}.{path}", math.fsum(numbers) / len(numbers), metric))
            found += [Recorded(f"{name}.{path}.seed{seed}", v, metric) for seed, v in per_seed]
    return found


def _is_float(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and not is_undefined(value)


def _numeric_paths(result: Any) -> list[tuple[str, str]]:
    """(path, metric) of every recorded number and history statistic of ``result``."""
    paths = [(path, path) for path, value in recorded(result).items()
             if isinstance(value, float) and not path.startswith(("model.", "fine_tune."))]
    for metric in result.history.get("metrics", {}):
        paths += [(f"{metric}.{stat}", metric) for stat in HISTORY_STATS if stat != "best_epoch"]
    return paths


def _metric_phrases(values: Iterable[Recorded]) -> dict[str, re.Pattern[str]]:
    """metric -> the phrase naming it in prose: ``test.accuracy`` as "test accuracy" (or "test.accuracy");
    only metrics with a split (test, validation) are named specifically enough."""
    phrases: dict[str, re.Pattern[str]] = {}
    for metric in {v.metric for v in values}:
        parts = re.split(r"[._]", metric)
        if len(parts) != 2 or parts[0] not in _SPLITS:
            continue
        words = "|".join(re.escape(w) for w in _SPLITS[parts[0]])
        phrases[metric] = re.compile(rf"(?i)\b(?:{words})(?:[\s_.-]+set)?[\s_.-]+{re.escape(parts[1])}\b"
                                     rf"|\b{re.escape(metric)}\b")
    return phrases


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _prose(block: TextBlock) -> str:
    """The block's text with everything that is not prose blanked out (offsets kept)."""
    text = block.text
    for ref in block.references:  # {result} and {claim} roles
        text = text[:ref.start] + re.sub(r"[^\n]", " ", text[ref.start:ref.end]) + text[ref.end:]
    for pattern in _NOT_PROSE:
        text = pattern.sub(_blank, text)
    return text


def _check_text(block: TextBlock, path: str, values: list[Recorded],
                phrases: dict[str, re.Pattern[str]]) -> list[Finding]:
    original = block.text
    text = _prose(block)
    findings = []
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    sentences = list(zip([0, *ends], [*ends, len(text)]))
    for match in _NUMBER.finditer(text):
        if original[match.end():].lstrip(" ").startswith(SILENCE):
            continue
        typed = _Typed.of(match)
        if typed is None or _APPROXIMATE.search(text[max(0, match.start() - 20):match.start()]):
            continue
        start, end = next((s, e) for s, e in sentences if s <= match.start() < e)
        sentence = text[start:end]
        location = SourceLocation(path, block.line + original[:match.start()].count("\n"))
        named = _named_metric(sentence, match.start() - start, match.end() - start, phrases)
        around = text[max(start, match.start() - 30):min(end, match.end() + 30)]
        finding = _judge(typed, named, values, location, in_range=bool(_RANGE.search(around)))
        if finding is not None:
            findings.append(finding)
    return findings


@dataclass(frozen=True)
class _Typed:
    text: str  # as written: "87.5%", "0.9250"
    value: float  # as a fraction for a percentage: 0.875
    decimals: int
    percent: bool

    @classmethod
    def of(cls, match: re.Match[str]) -> "_Typed | None":
        body = match["body"].replace(",", "")
        percent = match["percent"] is not None
        decimals = len(body.partition(".")[2])
        if decimals == 0 and not percent:
            return None  # a plain count, a year, an epoch: never a value
        sign = -1.0 if match["sign"] in ("-", "−") else 1.0
        value = sign * float(body) / (100.0 if percent else 1.0)
        return cls(match.group(0).strip(), value, decimals, percent)

    @property
    def significant(self) -> int:
        """Significant digits as written: 0.9250 has 4, 87.5% 3, 87% 2, 100% 1."""
        number = self.text.rstrip("%").strip().lstrip("+-−").replace(",", "")
        digits = number.replace(".", "").lstrip("0")
        return len(digits if "." in number else digits.rstrip("0"))

    def shows(self, value: float) -> bool:
        """``value`` written at this number's precision is this number."""
        if self.percent:
            return format(value, f".{self.decimals}%") == format(self.value, f".{self.decimals}%")
        return format(value, f".{self.decimals}f") == format(self.value, f".{self.decimals}f")

    @property
    def spec(self) -> str:
        return f".{self.decimals}%" if self.percent else f".{self.decimals}f"


def _named_metric(sentence: str, start: int, end: int, phrases: dict[str, re.Pattern[str]]) -> str | None:
    """The metric a typed number belongs to: the nearest metric phrase at most 40 characters before
    it (with no other number between), or right after it ("0.925 test accuracy")."""
    best: tuple[int, str] | None = None
    for metric, phrase in phrases.items():
        for found in phrase.finditer(sentence):
            if found.end() <= start:
                gap = sentence[found.end():start]
                if len(gap) <= 40 and not _NUMBER.search(gap):
                    distance = start - found.end()
                else:
                    continue
            elif found.start() >= end:
                gap = sentence[end:found.start()]
                if len(gap) > 3 or gap.strip(" "):
                    continue
                distance = found.start() - end
            else:
                continue
            if best is None or distance < best[0]:
                best = (distance, metric)
    return best[1] if best else None


def _shown(reference: str) -> bool:
    """A value a post typically states: a recorded one, or the best or last of a history (not a seed's)."""
    return ".seed" not in reference and not reference.endswith((".first", ".min", ".max"))


def _judge(typed: _Typed, metric: str | None, values: list[Recorded], location: SourceLocation,
           in_range: bool = False) -> Finding | None:
    candidates = [v for v in values if metric is None or v.metric == metric]
    precise = typed.significant >= 3  # 87.5%, 0.875, 0.9250: a copy, not a rounding
    # A short number (87%) is taken for a copy only of a value the page would show.
    equal = [v for v in candidates if typed.shows(v.value) and (precise or _shown(v.reference))]
    if equal and (precise or metric is not None):
        match = min(equal, key=lambda v: (v.reference.count("."), v.reference))  # the mean before a seed
        shown = format(match.value, typed.spec)
        return Finding(location, f"{typed.text} is typed by hand; {match.reference} is {shown}: use "
                                 f"{{result}}`{match.reference}:{typed.spec}`", False)
    # A contradiction needs a precise number given as the metric's value, not a bound of a range.
    if metric is None or not candidates or not precise or in_range or not _looks_like(typed, metric):
        return None
    nearest = min(candidates, key=lambda v: (abs(v.value - typed.value), v.reference.count(".")))
    shown = format_value(nearest.value) if not typed.percent else format(nearest.value, typed.spec)
    return Finding(location, f"says {typed.text}, {nearest.reference} is {shown}", True)


def _looks_like(typed: _Typed, metric: str) -> bool:
    """Whether ``typed`` can be a value of ``metric`` at all: a rate is a fraction or a percentage."""
    if any(word in metric for word in ("loss", "error")):
        return not typed.percent and typed.value >= 0
    return typed.percent or 0.0 <= typed.value <= 1.0


def report(findings: list[Finding]) -> tuple[list[str], list[UserError]]:
    """(warnings, errors) of ``findings``, as the renderer reports them."""
    warnings = [f"{f.location}: {f.message}" for f in findings if not f.error]
    errors = [UserError(f.message, f.location,
                        hint=f"write the value with {{result}} (or put {SILENCE} right after a number meant as typed)")
              for f in findings if f.error]
    return warnings, errors
