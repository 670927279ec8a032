"""Stage 3, directives: find directive blocks and inline ``{result}`` references in a post.

Directive fences are lifted out of the Markdown the way Python-Markdown's fenced_code
extension stashes code blocks; everything else (prose, Liquid, HTML, math, ordinary code
fences) passes through as text blocks, untouched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from .errors import SourceLocation, UserError, UserErrors, did_you_mean, one_of
from .posts import Post
from .schema import PLAIN_VALUES, Option, parse_seeds, plain_value_problem, validate_options
from .yaml_source import YamlDocument, parse_yaml

SHOW_CHOICES = ("code", "summary", "log", "curves", "metrics")
CODE_CHOICES = ("function", "module")  # `code:`: what `show: [code]` lists (recipes.recipe_listing)

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE_INFO = re.compile(r"^\s*\{(?P<name>[^}\s]*)\}\s*(?P<argument>.*?)\s*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# A role is ``{name}`` immediately followed by a code span.
_ROLE = re.compile(r"\{(?P<role>[A-Za-z][\w-]*)\}(?P<ticks>`+)(?P<content>.+?)(?<!`)(?P=ticks)(?!`)", re.S)
CODE_SPAN = re.compile(r"(?P<ticks>`+)(?P<content>.+?)(?<!`)(?P=ticks)(?!`)", re.S)


@dataclass(frozen=True)
class ValuePath:
    """``experiment.path``: a value of an experiment, as a reference or a claim names it."""

    experiment: str
    path: str

    def __str__(self) -> str:
        return f"{self.experiment}.{self.path}"


@dataclass(frozen=True)
class ResultReference:
    """An inline ``{result}`experiment.metric:format``` in prose or a caption.

    ``minus``: ``{result}`a.x - b.y``` names the difference of two values (with seeds on both
    sides, the mean difference and its confidence interval).
    """

    experiment: str
    metric: str
    format_spec: str
    location: SourceLocation
    start: int  # offsets of the whole role in the text it was found in
    end: int
    minus: ValuePath | None = None

    @property
    def experiments(self) -> tuple[str, ...]:
        return (self.experiment,) + ((self.minus.experiment,) if self.minus else ())


@dataclass(frozen=True)
class Quantity:
    """One side of a claim: a value, a number, or the difference of two of those."""

    first: ValuePath | float
    minus: ValuePath | float | None = None

    def __str__(self) -> str:
        return f"{self.first}" + (f" - {self.minus}" if self.minus is not None else "")

    @property
    def paths(self) -> tuple[ValuePath, ...]:
        return tuple(v for v in (self.first, self.minus) if isinstance(v, ValuePath))


CLAIM_OPERATORS = ("<=", ">=", "~=", "<", ">")
CAPTION_ROLES = ("result",)  # a claim's mark belongs after a sentence of the post


@dataclass(frozen=True)
class ClaimReference:
    """An inline ``{claim}`model3.test.accuracy > model1.test.accuracy``` checked at build time.

    ``~=`` (about equal) takes a tolerance: ``a ~= b ± 0.02``.
    """

    left: Quantity
    operator: str
    right: Quantity
    tolerance: float | None
    text: str
    location: SourceLocation
    start: int
    end: int

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.experiment for p in (*self.left.paths, *self.right.paths)))


Reference = Union[ResultReference, ClaimReference]


@dataclass(frozen=True)
class TextBlock:
    """Markdown passed through as written, apart from its inline references."""

    text: str
    line: int
    references: tuple[Reference, ...] = ()  # {result} and {claim} roles, in order


@dataclass(frozen=True)
class CodeBlock:
    """An ordinary fenced code block, fences included, passed through as written."""

    text: str
    line: int


@dataclass(frozen=True)
class ExperimentDirective:
    """```{experiment} name``` : run a recipe and show what it captured."""

    name: str
    recipe: str
    params: dict[str, Any]
    show: tuple[str, ...]
    seed: int | None
    timeout: float | None
    location: SourceLocation
    options: YamlDocument = field(compare=False, repr=False)
    seeds: tuple[int, ...] | None = None  # `seeds:`: one run per seed (never set with `seed`)
    code: str = "function"  # `code:` what `show: [code]` lists: the recipe and what it uses, or its whole module

    def param_location(self, param: str) -> SourceLocation:
        return self.options.location("params", param)


@dataclass(frozen=True)
class FigureDirective:
    """```{figure} experiment.figure``` : place one figure an experiment produced."""

    experiment: str
    figure: str
    caption: str
    caption_references: tuple[ResultReference, ...]
    alt: str | None  # None: the caption's text
    width: str | None
    location: SourceLocation
    per_seed: bool = False  # an experiment of several seeds: one figure per seed (curves: not the band)


@dataclass(frozen=True)
class TableDirective:
    """```{table}``` : compare experiments, one row each, one column per metric."""

    experiments: tuple[str, ...]
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    formats: dict[str, str]
    caption: str
    caption_references: tuple[ResultReference, ...]
    location: SourceLocation
    options: YamlDocument = field(compare=False, repr=False)


@dataclass(frozen=True)
class ChartDirective:
    """```{chart}``` : a bar chart comparing one value across experiments, drawn from their results."""

    experiments: tuple[str, ...]
    value: str
    labels: tuple[str, ...]
    baseline: Any  # a number, "experiment.value", or None
    baseline_label: str
    value_format: str
    ylabel: str
    caption: str
    caption_references: tuple[ResultReference, ...]
    location: SourceLocation
    options: YamlDocument = field(compare=False, repr=False)
    error: str = "std"  # error bars of experiments of several seeds: "std" or "ci95"

    @property
    def baseline_reference(self) -> tuple[str, str] | None:
        """(experiment, value) when the baseline names a stored value rather than a number."""
        if isinstance(self.baseline, str):
            experiment, _, value = self.baseline.partition(".")
            return experiment, value
        return None


Block = Union[TextBlock, CodeBlock, ExperimentDirective, FigureDirective, TableDirective, ChartDirective]


@dataclass(frozen=True)
class ParsedPost:
    """A post split into text and directive blocks, with its experiments by name."""

    post: Post
    blocks: tuple[Block, ...]

    @property
    def experiments(self) -> dict[str, ExperimentDirective]:
        return {b.name: b for b in self.blocks if isinstance(b, ExperimentDirective)}

    def references(self) -> list[Reference]:
        refs: list[Reference] = []
        for block in self.blocks:
            if isinstance(block, TextBlock):
                refs.extend(block.references)
            elif isinstance(block, (FigureDirective, TableDirective, ChartDirective)):
                refs.extend(block.caption_references)
        return refs


EXPERIMENT_OPTIONS = (
    Option("recipe", "str", required=True, help="module.function under the recipes folder"),
    Option("params", "mapping", {}, help="keyword arguments of the recipe"),
    Option("show", "str_list", ["code", "summary", "log", "curves"], choices=SHOW_CHOICES),
    Option("seed", "int", None, nullable=True, help="random seed (default: the config's litblog.seed)"),
    Option("seeds", "any", None, nullable=True,
           help="one run per seed: a number (3: seeds 0, 1 and 2) or a list like [0, 4, 7]"),
    Option("timeout", "number", None, nullable=True, minimum=0, help="seconds before the run is stopped"),
    Option("code", "str", "function", choices=CODE_CHOICES,
           help="what show: [code] lists: the recipe with what it uses from its module, or the whole module"),
)
FIGURE_OPTIONS = (
    Option("caption", "str", ""),
    Option("alt", "str", None, nullable=True),
    Option("width", "str", None, nullable=True, help="a CSS width such as '80%' or '480px'"),
    Option("per_seed", "bool", False, help="an experiment of several seeds: one figure per seed"),
)
TABLE_OPTIONS = (
    Option("experiments", "str_list", required=True, help="names of experiments in this post"),
    Option("columns", "str_list", required=True,
           help="metrics such as val_accuracy.best, test.accuracy, params, params.epochs, train_seconds"),
    Option("labels", "str_list", None, nullable=True, help="column headings, one per column"),
    Option("format", "mapping", {}, help="format spec per column, like {test.accuracy: '.1%'}"),
    Option("caption", "str", ""),
)

CHART_OPTIONS = (
    Option("experiments", "str_list", required=True, help="names of experiments in this post, one bar each"),
    Option("value", "str", required=True, help="what to compare, like test.accuracy or val_accuracy.best"),
    Option("labels", "str_list", None, nullable=True, help="bar labels, one per experiment"),
    Option("baseline", "any", None, nullable=True,
           help="a dashed reference line: a number, or experiment.value like explore.baseline.accuracy"),
    Option("baseline_label", "str", "baseline"),
    Option("format", "str", ".3g", help="format spec of the numbers on the bars, like .1%"),
    Option("ylabel", "str", None, nullable=True, help="the axis label (default: the value's name)"),
    Option("caption", "str", ""),
    Option("error", "str", "std", choices=("std", "ci95"),
           help="error bars of experiments of several seeds: std (±1 standard deviation) or ci95"),
)

DirectiveParser = Callable[[str, YamlDocument, SourceLocation, list[UserError]], Block | None]


def parse_post(post: Post) -> ParsedPost:
    """Split ``post`` into blocks. All problems in the post are raised together."""
    errors: list[UserError] = []
    blocks: list[Block] = []
    lines = post.body.split("\n")
    text_lines: list[str] = []
    text_start = post.body_line
    broken: set[str] = set()

    def flush_text(next_line: int) -> None:
        nonlocal text_lines, text_start
        if text_lines:
            text = "\n".join(text_lines)
            refs = find_references(text, post.path, text_start, errors)
            blocks.append(TextBlock(text, text_start, refs))
        text_lines = []
        text_start = next_line

    i = 0
    while i < len(lines):
        line = lines[i]
        file_line = post.body_line + i
        opening = _FENCE_OPEN.match(line)
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            text_lines.append(line)
            i += 1
            continue
        close = _find_fence_end(lines, i, opening["fence"])
        info = _DIRECTIVE_INFO.match(opening["info"])
        if info is None:
            # An ordinary code fence: passed through whole, so nothing inside is parsed.
            end = len(lines) if close is None else close + 1
            flush_text(file_line)
            blocks.append(CodeBlock("\n".join(lines[i:end]), file_line))
            i = end
            text_start = post.body_line + i
            continue
        location = post.location(file_line)
        if close is None:
            errors.append(UserError(f"directive '{info['name']}' is not closed", location,
                                    hint=f"end it with a line holding only {opening['fence']}"))
            break
        flush_text(file_line)
        block = _parse_directive(info["name"], info["argument"], lines[i + 1:close],
                                 post.path, file_line, location, errors)
        if block is not None:
            blocks.append(block)
        elif info["name"] == "experiment":
            broken.add(info["argument"])  # already reported: references to it are not errors too
        i = close + 1
        text_start = post.body_line + i
    flush_text(post.body_line + len(lines))
    _check_experiment_names(post, blocks, errors, broken)
    if errors:
        raise UserErrors(errors)
    return ParsedPost(post, tuple(blocks))


def find_references(text: str, path: str, first_line: int, errors: list[UserError], *,
                    roles: tuple[str, ...] = ("result", "claim")) -> tuple[Reference, ...]:
    """Every role of ``roles`` (``{result}`...```, ``{claim}`...```) in ``text``, which starts at
    file line ``first_line``. Captions take ``{result}`` only."""
    refs: list[Reference] = []
    position = 0
    while True:
        span = CODE_SPAN.search(text, position)
        role = _ROLE.search(text, position)
        if role is None:
            break
        # A role inside an ordinary code span (``{result}`x```) is shown, not evaluated.
        if span is not None and span.start() < role.start():
            position = span.end()
            continue
        line = first_line + text.count("\n", 0, role.start())
        location = SourceLocation(path, line)
        name = role["role"]
        if name in ROLES and name not in roles:
            errors.append(UserError(f"a {{{name}}} role belongs in the post's text, not here", location,
                                    hint=f"here: {', '.join('{%s}' % r for r in roles)}"))
        elif name not in ROLES:
            errors.append(UserError(f"unknown role '{{{name}}}'", location,
                                    suggestion=did_you_mean(name, list(roles)) or one_of(list(roles))))
        else:
            ref = ROLES[name](role["content"].strip(), location, role.start(), role.end(), errors)
            if ref is not None:
                refs.append(ref)
        position = role.end()
    return tuple(refs)


_MINUS = re.compile(r"\s+-\s+")  # a difference: the minus has spaces around it (names may hold '-')


def _parse_reference(content: str, location: SourceLocation, start: int, end: int,
                     errors: list[UserError]) -> ResultReference | None:
    target, _, format_spec = content.partition(":")
    operands = _MINUS.split(target.strip())
    paths = [_value_path(operand, location) for operand in operands]
    if len(operands) > 2 or not all(paths):
        errors.append(UserError(f"result reference '{content}' needs an experiment and a metric", location,
                                hint="write {result}`experiment.metric`, {result}`experiment.metric:.1%` or "
                                     "{result}`model2.test.accuracy - model1.test.accuracy:+.1%`"))
        return None
    if format_spec:
        problem = format_spec_problem(format_spec)
        if problem:
            errors.append(UserError(f"invalid format spec '{format_spec}' in '{content}': {problem}", location,
                                    hint="use a Python format spec such as .1%, .3f or ,"))
            return None
    first = paths[0]
    assert first is not None
    return ResultReference(first.experiment, first.path, format_spec, location, start, end,
                           paths[1] if len(paths) == 2 else None)


def _value_path(text: str, location: SourceLocation) -> ValuePath | None:
    experiment, _, path = text.strip().partition(".")
    if not experiment or not path or not _IDENTIFIER.match(experiment) or any(c.isspace() for c in path):
        return None
    return ValuePath(experiment, path)


_CLAIM = re.compile(r"^(?P<left>.+?)\s*(?P<op><=|>=|~=|<|>)\s*(?P<right>.+?)"
                    r"(?:\s*(?:±|\+/-|\+-)\s*(?P<tolerance>\S+))?$", re.S)
_CLAIM_HINT = ("write {claim}`model3.test.accuracy > model1.test.accuracy` (<, >, <=, >=), or "
               "{claim}`model1.test.accuracy ~= model2.test.accuracy ± 0.02`; a side is experiment.value, "
               "a number, or a difference 'a - b'")


def _parse_claim(content: str, location: SourceLocation, start: int, end: int,
                 errors: list[UserError]) -> ClaimReference | None:
    match = _CLAIM.match(content)
    sides = None if match is None else (_quantity(match["left"], location), _quantity(match["right"], location))
    if match is None or sides is None or None in sides:
        errors.append(UserError(f"claim '{content}' is not a comparison", location, hint=_CLAIM_HINT))
        return None
    left, right = sides
    assert left is not None and right is not None
    tolerance = None
    if match["tolerance"] is not None:
        tolerance = _number(match["tolerance"])
        if match["op"] != "~=":
            errors.append(UserError(f"claim '{content}': only '~=' takes a tolerance", location, hint=_CLAIM_HINT))
            return None
        if tolerance is None or tolerance < 0:
            errors.append(UserError(f"claim '{content}': the tolerance '{match['tolerance']}' is not a number "
                                    f"of at least 0", location, hint=_CLAIM_HINT))
            return None
    elif match["op"] == "~=":
        errors.append(UserError(f"claim '{content}': '~=' needs a tolerance, like '± 0.02'", location,
                                hint=_CLAIM_HINT))
        return None
    if not left.paths and not right.paths:
        errors.append(UserError(f"claim '{content}' names no experiment's value", location, hint=_CLAIM_HINT))
        return None
    return ClaimReference(left, match["op"], right, tolerance, content, location, start, end)


def _quantity(text: str, location: SourceLocation) -> Quantity | None:
    operands: list[ValuePath | float] = []
    for operand in _MINUS.split(text.strip()):
        number = _number(operand)
        value = number if number is not None else _value_path(operand, location)
        if value is None:
            return None
        operands.append(value)
    if len(operands) > 2:
        return None
    return Quantity(operands[0], operands[1] if len(operands) == 2 else None)


def _number(text: str) -> float | None:
    """``0.7``, ``-3``, ``70%`` as a number, or None."""
    text = text.strip()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        value = float(text)
    except ValueError:
        return None
    return value * scale if math.isfinite(value) else None


_SPEC_NUMBER = re.compile(r"\d+")
MAX_FORMAT_WIDTH = 100  # a width of 10**9 would build a gigabyte string


def format_spec_problem(spec: str) -> str | None:
    """Why ``spec`` is not a usable Python format spec for a number or a string, or None."""
    if any(int(n) > MAX_FORMAT_WIDTH for n in _SPEC_NUMBER.findall(spec)):
        return f"has a width or precision above {MAX_FORMAT_WIDTH}"
    for sample in (0.5, "x"):
        try:
            format(sample, spec)
            return None
        except (ValueError, TypeError):
            continue
    return "is not a Python format spec"


def _find_fence_end(lines: list[str], start: int, fence: str) -> int | None:
    closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j
    return None


def _parse_directive(name: str, argument: str, body: list[str], path: str, fence_line: int,
                     location: SourceLocation, errors: list[UserError]) -> Block | None:
    parser = DIRECTIVES.get(name)
    if parser is None:
        errors.append(UserError(f"unknown directive '{name}'", location,
                                suggestion=did_you_mean(name, DIRECTIVES) or one_of(DIRECTIVES)))
        return None
    try:
        document = parse_yaml("\n".join(body), path=path, first_line=fence_line + 1)
    except UserError as exc:
        errors.append(exc)
        return None
    if document.data is not None and not isinstance(document.data, dict):
        errors.append(UserError(f"the options of '{name}' must be 'key: value' lines",
                                SourceLocation(path, fence_line + 1)))
        return None
    return parser(argument, document, location, errors)


def _parse_experiment(argument: str, doc: YamlDocument, location: SourceLocation,
                      errors: list[UserError]) -> ExperimentDirective | None:
    options, problems = validate_options(doc.data, EXPERIMENT_OPTIONS, doc, context="option")
    for name, value in (options.get("params") or {}).items():
        problem = plain_value_problem({name: value}) if not isinstance(name, str) else plain_value_problem(value)
        if problem:
            problems.append(UserError(f"param '{name}' {problem}", doc.location("params", name),
                                      hint=f"params must be {PLAIN_VALUES}"))
    if not _IDENTIFIER.match(argument):
        problems.append(UserError(
            f"experiment name '{argument}' is not a name" if argument else "the experiment has no name",
            location, hint="write ```{experiment} model1 with a name made of letters, digits, '_' and '-'"))
    seeds = None
    if options.get("seeds") is not None:
        seeds, problem = parse_seeds(options["seeds"])
        if problem:
            problems.append(UserError(f"option 'seeds' {problem}", doc.location("seeds"),
                                      hint="for example seeds: 3 (seeds 0, 1 and 2) or seeds: [0, 4, 7]"))
        elif options.get("seed") is not None:
            problems.append(UserError("options 'seed' and 'seeds' are both set", doc.location("seeds"),
                                      hint="keep one: seed: 4 for one run, seeds: [0, 4, 7] for several"))
    if doc.data and "code" in doc.data and "code" not in options["show"] and not problems:
        problems.append(UserError("option 'code' has no effect: 'show' does not list code", doc.location("code"),
                                  hint="add code to show: [code, ...], or leave 'code' out"))
    errors.extend(problems)
    if problems:
        return None
    return ExperimentDirective(argument, options["recipe"], options["params"], tuple(options["show"]),
                               options["seed"], options["timeout"], location, doc, seeds, options["code"])


def _parse_figure(argument: str, doc: YamlDocument, location: SourceLocation,
                  errors: list[UserError]) -> FigureDirective | None:
    options, problems = validate_options(doc.data, FIGURE_OPTIONS, doc, context="option")
    experiment, _, figure = argument.partition(".")
    if not experiment or not figure:
        problems.append(UserError(f"figure '{argument}' should be written experiment.figure", location,
                                  hint="for example ```{figure} model1.curves"))
    caption_refs = find_references(options.get("caption") or "", doc.path, doc.location("caption").line, problems,
                                   roles=CAPTION_ROLES)
    errors.extend(problems)
    if problems:
        return None
    return FigureDirective(experiment, figure, options["caption"], caption_refs, options["alt"], options["width"],
                           location, options["per_seed"])


def _check_no_argument(name: str, argument: str, location: SourceLocation, hint: str,
                       problems: list[UserError]) -> None:
    if argument:
        problems.append(UserError(f"'{name}' takes no argument, got '{argument}'", location, hint=hint))


def _check_labels(labels: list[str] | None, items: list[str], what: str, doc: YamlDocument,
                  problems: list[UserError]) -> None:
    if labels is not None and len(labels) != len(items):
        problems.append(UserError(f"'labels' has {len(labels)} entries for {len(items)} {what}",
                                  doc.location("labels")))


def _parse_table(argument: str, doc: YamlDocument, location: SourceLocation,
                 errors: list[UserError]) -> TableDirective | None:
    options, problems = validate_options(doc.data, TABLE_OPTIONS, doc, context="option")
    _check_no_argument("table", argument, location, "list the rows under 'experiments:'", problems)
    if not problems:
        _check_labels(options["labels"], options["columns"], "columns", doc, problems)
        for column, spec in options["format"].items():
            if column not in options["columns"]:
                problems.append(UserError(f"'format' names '{column}', which is not a column",
                                          doc.location("format", column),
                                          suggestion=did_you_mean(str(column), options["columns"])))
            elif not isinstance(spec, str):
                problems.append(UserError(f"the format of '{column}' must be a string such as '.1%'",
                                          doc.location("format", column)))
            elif format_spec_problem(spec):
                problems.append(UserError(f"the format '{spec}' of '{column}' {format_spec_problem(spec)}",
                                          doc.location("format", column),
                                          hint="use a Python format spec such as .1%, .3f or ,"))
    caption_refs = find_references(options.get("caption") or "", doc.path, doc.location("caption").line, problems,
                                   roles=CAPTION_ROLES)
    errors.extend(problems)
    if problems:
        return None
    columns = tuple(options["columns"])
    labels = tuple(options["labels"] or columns)
    return TableDirective(tuple(options["experiments"]), columns, labels,
                          {str(k): v for k, v in options["format"].items()},
                          options["caption"], caption_refs, location, doc)


def _parse_chart(argument: str, doc: YamlDocument, location: SourceLocation,
                 errors: list[UserError]) -> ChartDirective | None:
    options, problems = validate_options(doc.data, CHART_OPTIONS, doc, context="option")
    _check_no_argument("chart", argument, location, "list the bars under 'experiments:'", problems)
    if not problems:
        _check_labels(options["labels"], options["experiments"], "experiments", doc, problems)
        baseline = options["baseline"]
        if isinstance(baseline, bool) or not (baseline is None or isinstance(baseline, (int, float))
                                              or (isinstance(baseline, str) and "." in baseline)):
            problems.append(UserError(f"'baseline' is {baseline!r}", doc.location("baseline"),
                                      hint="give a number, or experiment.value"))
        elif isinstance(baseline, (int, float)) and not (math.isfinite(baseline) and abs(baseline) < 1e300):
            problems.append(UserError(f"'baseline' is {baseline!r}, which cannot be drawn", doc.location("baseline"),
                                      hint="give a finite number, or experiment.value"))
        problem = format_spec_problem(options["format"])
        if problem is None:
            try:
                format(0.5, options["format"])  # bars are numbers: a string-only spec will not do
            except (ValueError, TypeError):
                problem = "is not a format spec for numbers"
        if problem:
            problems.append(UserError(f"invalid format spec '{options['format']}': {problem}", doc.location("format"),
                                      hint="use a Python format spec such as .1% or .3f"))
    caption_refs = find_references(options.get("caption") or "", doc.path, doc.location("caption").line, problems,
                                   roles=CAPTION_ROLES)
    errors.extend(problems)
    if problems:
        return None
    experiments = tuple(options["experiments"])
    return ChartDirective(experiments, options["value"], tuple(options["labels"] or experiments),
                          options["baseline"], options["baseline_label"], options["format"],
                          options["ylabel"] or options["value"].replace("_", " ").replace(".", " "),
                          options["caption"], caption_refs, location, doc, options["error"])


RoleParser = Callable[[str, SourceLocation, int, int, list[UserError]], Union[Reference, None]]

# Inline roles, ``{name}`content```: name -> parser of the content.
ROLES: dict[str, RoleParser] = {
    "result": _parse_reference,
    "claim": _parse_claim,
}

DIRECTIVES: dict[str, DirectiveParser] = {
    "experiment": _parse_experiment,
    "figure": _parse_figure,
    "table": _parse_table,
    "chart": _parse_chart,
}


def _check_experiment_names(post: Post, blocks: list[Block], errors: list[UserError],
                            broken: frozenset[str] | set[str] = frozenset()) -> None:
    """Experiments are named once per post; every reference names one of them."""
    defined: dict[str, ExperimentDirective] = {}
    for block in blocks:
        if isinstance(block, ExperimentDirective):
            if block.name in defined:
                errors.append(UserError(f"experiment '{block.name}' is defined twice", block.location,
                                        hint=f"the first is at line {defined[block.name].location.line}"))
            defined.setdefault(block.name, block)

    def check(name: str, location: SourceLocation) -> None:
        if name not in defined and name not in broken:
            errors.append(UserError(f"undefined experiment '{name}'", location,
                                    suggestion=did_you_mean(name, defined) or one_of(defined)))

    for block in blocks:
        if isinstance(block, FigureDirective):
            check(block.experiment, block.location)
        elif isinstance(block, (TableDirective, ChartDirective)):
            for index, name in enumerate(block.experiments):
                check(name, block.options.location("experiments", index))
            if isinstance(block, ChartDirective) and block.baseline_reference:
                check(block.baseline_reference[0], block.options.location("baseline"))
        if isinstance(block, (TextBlock, FigureDirective, TableDirective, ChartDirective)):
            refs = block.references if isinstance(block, TextBlock) else block.caption_references
            for ref in refs:
                for name in ref.experiments:
                    check(name, ref.location)
