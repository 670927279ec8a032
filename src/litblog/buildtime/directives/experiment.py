"""```{experiment} name```: run a recipe, and show what it captured where the directive stands.

```{experiment} model1
recipe: cats_vs_dogs.small_cnn
params: {epochs: 20}
show: [code, summary, log, curves, metrics]
seeds: 3
```

It is the only directive that defines an experiment: the plan runs it (one run per seed),
and other blocks name it. ``show`` picks what is rendered here: the recipe's code and the
call, the model summaries, the training log (per seed), the learning curves (drawn at build
time from the history, over seeds the mean with a band: ``figure.py``, ``figure_kinds.py``)
and the recorded values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...common.errors import SourceLocation, UserError
from ..sources.schema import PLAIN_VALUES, Option, parse_seeds, plain_value_problem
from ..sources.yaml_source import YamlDocument
from .base import IDENTIFIER, Block, Directive, DirectiveSource


SHOW_CHOICES = ("code", "summary", "log", "curves", "metrics")



ACCELERATE_CHOICES = ("mixed_precision", "xla")  # `accelerate:`: opt-in speed-ups that change numbers



CODE_CHOICES = ("function", "module")  # `code:`: what `show: [code]` lists (recipes.recipe_listing)



@dataclass(frozen=True)
class ExperimentDirective(Block):
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
    accelerate: tuple[str, ...] = ()  # `accelerate:` speed-ups the worker turns on; part of the key

    def param_location(self, param: str) -> SourceLocation:
        return self.options.location("params", param)



OPTIONS = (
    Option("recipe", "str", required=True, help="module.function under the recipes folder"),
    Option("params", "mapping", {}, help="keyword arguments of the recipe"),
    Option("show", "str_list", ["code", "summary", "log", "curves"], choices=SHOW_CHOICES),
    Option("seed", "int", None, nullable=True, help="random seed (default: the config's litblog.seed)"),
    Option("seeds", "any", None, nullable=True,
           help="one run per seed: a number (3: seeds 0, 1 and 2) or a list like [0, 4, 7]"),
    Option("timeout", "number", None, nullable=True, minimum=0, help="seconds before the run is stopped"),
    Option("code", "str", "function", choices=CODE_CHOICES,
           help="what show: [code] lists: the recipe with what it uses from its module, or the whole module"),
    Option("accelerate", "str_list", [], choices=ACCELERATE_CHOICES,
           help="opt-in speed-ups that can move numbers, so part of the key: mixed_precision (float16 compute "
                "on a GPU, bfloat16 on a CPU), xla (XLA auto-clustering of training steps)"),
)



def parse(source: DirectiveSource) -> ExperimentDirective | None:
    options, doc, problems, argument = source.options, source.document, source.problems, source.argument
    for name, value in (options.get("params") or {}).items():
        problem = plain_value_problem({name: value}) if not isinstance(name, str) else plain_value_problem(value)
        if problem:
            problems.append(UserError(f"param '{name}' {problem}", doc.location("params", name),
                                      hint=f"params must be {PLAIN_VALUES}"))
    if not IDENTIFIER.match(argument):
        problems.append(UserError(
            f"experiment name '{argument}' is not a name" if argument else "the experiment has no name",
            source.location, hint="write ```{experiment} model1 with a name made of letters, digits, '_' and '-'"))
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
    if problems:
        return None
    return ExperimentDirective(argument, options["recipe"], options["params"], tuple(options["show"]),
                               options["seed"], options["timeout"], source.location, doc, seeds, options["code"],
                               tuple(sorted(set(options["accelerate"]))))



DIRECTIVE = Directive("experiment", ExperimentDirective, OPTIONS, parse)

