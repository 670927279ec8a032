"""Stage 3: directive fences and {result} roles are found, everything else passes through untouched."""

import datetime as dt
import importlib
import pkgutil
import textwrap
from dataclasses import dataclass

import pytest

import litblog.buildtime.directives
from litblog.buildtime.directives import DIRECTIVES, ROLES, Block, CodeBlock, Directive, ExperimentDirective, Role, TextBlock, parse_post, registry
from litblog.buildtime.directives.figure import FigureDirective
from litblog.buildtime.directives.table import TableDirective
from litblog.common.errors import SourceLocation, UserError, UserErrors
from litblog.buildtime.sources.posts import Post
from litblog.buildtime.sources.schema import Option


def make_post(body: str, body_line: int = 5) -> Post:
    return Post("posts/2024-01-01-x.md", {"title": "x"}, textwrap.dedent(body).lstrip("\n"), body_line,
                dt.date(2024, 1, 1), "x", "x")


def errors_of(body: str) -> list[str]:
    with pytest.raises(UserErrors) as info:
        parse_post(make_post(body))
    return [e.render() for e in info.value.errors]


def test_blocks_in_order_with_lines_and_options():
    parsed = parse_post(make_post("""
        Intro {result}`m1.val_accuracy.best:.1%` here.

        ```{experiment} m1
        recipe: mod.fn
        params: {epochs: 3}
        show: [code, log]
        seed: 7
        ```

        ```{figure} m1.curves
        caption: The *curves*.
        width: 80%
        ```

        ~~~{table}
        experiments: [m1]
        columns: [params.epochs, test.accuracy]
        format: {test.accuracy: .2f}
        ~~~
        """))
    kinds = [type(b) for b in parsed.blocks]
    assert kinds == [TextBlock, ExperimentDirective, TextBlock, FigureDirective, TextBlock, TableDirective, TextBlock]
    experiment = parsed.blocks[1]
    assert experiment.name == "m1" and experiment.recipe == "mod.fn"
    assert experiment.params == {"epochs": 3} and experiment.show == ("code", "log") and experiment.seed == 7
    assert experiment.location.line == 7
    assert experiment.param_location("epochs").line == 9
    (ref,) = parsed.blocks[0].references
    assert (ref.experiment, ref.metric, ref.format_spec, ref.location.line) == ("m1", "val_accuracy.best", ".1%", 5)
    figure = parsed.blocks[3]
    assert (figure.experiment, figure.figure, figure.width, figure.alt) == ("m1", "curves", "80%", None)
    table = parsed.blocks[5]
    assert table.columns == ("params.epochs", "test.accuracy") and table.formats == {"test.accuracy": ".2f"}


def test_everything_but_directives_passes_through_verbatim():
    body = textwrap.dedent("""
        {% include note.html %} and {{ page.title }} stay.
        <div class="x">{{ raw }}</div>

        $$\\frac{a_1}{b_2}$$ and `inline {code}`.

        ````markdown
        ```{experiment} not_parsed
        recipe: nope.nope
        ```
        {result}`not.parsed`
        ````

        ```python
        x = "{result}`also.not.parsed`"
        ```
        Also ``{result}`x.y` `` in a double-backtick span.
        """).lstrip("\n")
    parsed = parse_post(make_post(body))
    assert [type(b) for b in parsed.blocks] == [TextBlock, CodeBlock, TextBlock, CodeBlock, TextBlock]
    assert "\n".join(b.text for b in parsed.blocks) == body
    assert all(b.references == () for b in parsed.blocks if isinstance(b, TextBlock))
    assert parsed.blocks[1].line == 10 and parsed.blocks[1].text.startswith("````markdown")


def test_unknown_directive_suggests_the_right_one():
    errors = errors_of("""
        ```{experimnt} m1
        recipe: a.b
        ```
        """)
    assert errors == ["posts/2024-01-01-x.md:5: unknown directive 'experimnt' (did you mean 'experiment'?)"]


def test_unknown_option_and_bad_values_are_located():
    errors = errors_of("""
        ```{experiment} m1
        recipe: a.b
        parms: {epochs: 2}
        show: [code, lgo]
        ```
        """)
    assert errors == [
        "posts/2024-01-01-x.md:7: unknown option 'parms' (did you mean 'params'?)",
        "posts/2024-01-01-x.md:8: option 'show' has 'lgo': did you mean 'log'?",
    ]


def test_bad_yaml_inside_a_directive_points_into_it():
    (error,) = errors_of("""
        Some text.

        ```{experiment} m1
        recipe: a.b
        params: {epochs: 2
        ```
        """)
    assert error.startswith("posts/2024-01-01-x.md:9: invalid YAML") or \
        error.startswith("posts/2024-01-01-x.md:10: invalid YAML")


def test_references_must_name_experiments_of_the_post():
    errors = errors_of("""
        ```{experiment} model1
        recipe: a.b
        ```
        Value {result}`modle1.test.accuracy`.

        ```{figure} model2.curves
        ```
        """)
    assert errors == [
        "posts/2024-01-01-x.md:8: undefined experiment 'modle1' (did you mean 'model1'?)",
        "posts/2024-01-01-x.md:10: undefined experiment 'model2' (did you mean 'model1'?)",
    ]


@pytest.mark.parametrize("body, words", [
    ("```{experiment}\nrecipe: a.b\n```\n", "has no name"),
    ("```{experiment} m\n```\n", "missing required option 'recipe'"),
    ("```{experiment} m\nrecipe: a.b\n", "is not closed"),
    ("```{experiment} m\nrecipe: a.b\n```\n```{experiment} m\nrecipe: a.b\n```\n", "defined twice"),
    ("```{figure} curves\n```\n", "should be written experiment.figure"),
    ("```{experiment} m\nrecipe: a.b\n```\n{result}`m`\n", "needs an experiment and a metric"),
    ("```{experiment} m\nrecipe: a.b\n```\n{result}`m.x:.1q`\n", "invalid format spec"),
    ("```{experiment} m\nrecipe: a.b\n```\n{reslt}`m.x`\n", "unknown role '{reslt}' (did you mean 'result'?)"),
    ("```{experiment} m\nrecipe: a.b\n```\n```{table}\nexperiments: [m]\ncolumns: [a]\nlabels: [x, y]\n```\n",
     "'labels' has 2 entries for 1 columns"),
    ("```{experiment} m\n- recipe\n```\n", "must be 'key: value' lines"),
    ("```{experiment} m\nrecipe: a.b\n```\n```{chart}\nexperiments: [m]\nvalue: x\nlabels: [a, b]\n```\n",
     "'labels' has 2 entries for 1 experiments"),
    ("```{experiment} m\nrecipe: a.b\n```\n```{chart}\nexperiments: [m]\nvalue: x\nbaseline: half\n```\n",
     "'baseline' is 'half'"),
    ("```{experiment} m\nrecipe: a.b\n```\n```{chart}\nexperiments: [m]\nvalue: x\nbaseline: n.x\n```\n",
     "undefined experiment 'n'"),
])
def test_mistakes_are_reported(body, words):
    assert any(words in error for error in errors_of(body))


def test_every_directive_and_role_module_is_in_the_registry():
    registered = []
    for module in pkgutil.iter_modules(litblog.buildtime.directives.__path__):
        found = importlib.import_module(f"litblog.buildtime.directives.{module.name}")
        several = [entry for name in ("DIRECTIVES", "ROLES")  # registry.py's are the registries, dicts
                   if isinstance(entries := getattr(found, name, ()), tuple) for entry in entries]
        for entry in (getattr(found, "DIRECTIVE", None), getattr(found, "ROLE", None), *several):
            if entry is not None:
                registry_of = DIRECTIVES if isinstance(entry, Directive) else ROLES
                assert registry_of.get(entry.name) is entry, f"{module.name}.py is not in registry.py"
                registered.append(entry.name)
    assert sorted(registered) == sorted([*DIRECTIVES, *ROLES])


def test_the_registry_refuses_a_module_without_its_entry_or_with_a_name_taken():
    with pytest.raises(TypeError, match="claim.py: its DIRECTIVE is not a Directive"):
        registry._load(Directive, "claim")
    with pytest.raises(TypeError, match="with a new name"):
        registry._load(Role, "result", "result")
    with pytest.raises(TypeError, match="with a new name"):
        registry._load(Role, "cite", "cite")  # a module of several roles (ROLES): each name once too


@dataclass(frozen=True)
class Note(Block):
    text: str
    location: SourceLocation

    def uses(self):
        return [(self.text, self.location)]


def parse_note(source):
    if not source.argument:
        source.problems.append(UserError("a note needs words", source.location))
        return None
    return Note(source.argument, source.location)


def test_a_registered_directive_is_parsed_with_its_options_checked_and_its_names_checked(monkeypatch):
    monkeypatch.setitem(DIRECTIVES, "note", Directive("note", Note, (Option("level", "int", 1),), parse_note))
    parsed = parse_post(make_post("""
        ```{experiment} m1
        recipe: a.b
        ```
        ```{note} m1
        level: 2
        ```
        """))
    assert parsed.blocks[1] == Note("m1", SourceLocation("posts/2024-01-01-x.md", 8))
    assert errors_of("""
        ```{note} m1
        levl: 2
        ```
        ```{note} m2
        ```
        ```{note}
        ```
        """) == [
        "posts/2024-01-01-x.md:6: unknown option 'levl' (did you mean 'level'?)",
        "posts/2024-01-01-x.md:8: undefined experiment 'm2' (none are defined)",
        "posts/2024-01-01-x.md:10: a note needs words",
    ]


# -- block structure by CommonMark's rules: code and directives inside blockquotes and list items --


def test_code_inside_blockquotes_and_list_items_is_code_and_its_roles_are_not_evaluated():
    body = textwrap.dedent("""
        > ~~~
        > {result}`nowhere.a` {{ site.title }}
        > ~~~

        - item
          ```
          {claim}`nowhere.a > 1`
          ```
          1. nested
             ~~~
             {result}`nowhere.b`
             ~~~

        - > ```
          > {result}`nowhere.c`
          > ```

        Then indented code:

            {result}`nowhere.d`

        > ~~~
        > {result}`nowhere.e` (a fence closed by the end of its quote)
        """).lstrip("\n")
    parsed = parse_post(make_post(body))  # no "undefined experiment 'nowhere'"
    assert "\n".join(b.text for b in parsed.blocks) == body
    code = [(b.line, b.nested) for b in parsed.blocks if isinstance(b, CodeBlock)]
    assert code == [(5, True), (10, True), (14, True), (18, True), (24, True), (26, True)]
    assert all(b.references == () for b in parsed.blocks if isinstance(b, TextBlock))


def test_roles_in_prose_inside_containers_are_found_at_their_line():
    parsed = parse_post(make_post("""
        ```{experiment} m1
        recipe: a.b
        ```

            a stray ` in indented code is code, not the start of a span

        > quoted {result}`m1.test.accuracy`
        lazy continuation {result}`m1.test.loss`

        - item ``{result}`m1.not_a_role` `` and {claim}`m1.test.accuracy > 0.5`
        """))
    refs = [(ref.location.line, type(ref).__name__) for b in parsed.blocks if isinstance(b, TextBlock)
            for ref in b.references]
    assert refs == [(11, "ValueReference"), (12, "ValueReference"), (14, "ClaimReference")]


def test_a_code_span_ends_at_a_blank_line_and_an_unmatched_backtick_run_is_literal():
    # Inline code as CommonMark reads it: a stray `` in one paragraph does not swallow a role
    # in the next one, nor does a lone ` pair with a later paragraph's.
    parsed = parse_post(make_post("""
        ```{experiment} m1
        recipe: a.b
        ```
        A stray `` here, then a value {result}`m1.a`.

        > and a stray ` in a quote
        >
        > then {result}`m1.b`.
        """))
    refs = [ref.location.line for b in parsed.blocks if isinstance(b, TextBlock) for ref in b.references]
    assert refs == [8, 12]


def test_a_directive_inside_a_blockquote_or_list_item_is_parsed_with_exact_lines():
    parsed = parse_post(make_post("""
        > ```{experiment} m1
        > recipe: a.b
        > params: {epochs: 2}
        > ```

        1. The table:
           ~~~{table}
           experiments: [m1]
           columns: [test.accuracy]
           ~~~
        """))
    experiment, table = (b for b in parsed.blocks if not isinstance(b, TextBlock))
    assert isinstance(experiment, ExperimentDirective) and experiment.params == {"epochs": 2}
    assert experiment.location.line == 5 and experiment.param_location("epochs").line == 7
    assert isinstance(table, TableDirective) and table.columns == ("test.accuracy",)
    containers = {parsed.blocks[i].__class__.__name__: c for i, c in parsed.containers.items()}
    assert containers["ExperimentDirective"].kinds == ("blockquote",)
    assert containers["TableDirective"].prefix == "   " and containers["TableDirective"].separate
    assert not containers["ExperimentDirective"].separate
    errors = errors_of("""
        Text.

        - Quoted:
          > ```{experiment} m1
          > recipe: a.b
          > parms: {epochs: 2}
          > ```
        """)
    assert errors == ["posts/2024-01-01-x.md:10: unknown option 'parms' (did you mean 'params'?)"]
    assert errors_of("""
        - ```{table}
          experiments: []
          ```
        """) == ["posts/2024-01-01-x.md:5: directive 'table' cannot start a list item\n"
                 "  hint: write the item's text after its marker and the directive on the next lines, "
                 "indented as that text"]


def test_a_directive_closed_by_the_end_of_its_container_is_not_closed():
    errors = errors_of("""
        > ```{experiment} m1
        > recipe: a.b

        After the quote, {result}`m1.a` (not an error too).
        """)
    assert errors == ["posts/2024-01-01-x.md:5: directive 'experiment' is not closed\n"
                      "  hint: end it with a line holding only ``` in its blockquote"]


def test_a_directive_fence_inside_an_html_block_is_an_error_not_silently_html():
    errors = errors_of("""
        <div class="note">
        ```{experiment} m1
        recipe: a.b
        ```
        </div>

        <details>

        ```{experiment} m2
        recipe: a.b
        ```

        </details>
        """)
    assert errors == ["posts/2024-01-01-x.md:6: this directive is inside an HTML block, where Markdown reads it as HTML\n"
                      "  hint: leave a blank line between the HTML and the directive"]


@pytest.mark.parametrize("body, hint", [
    ("```{dropdown} More\nText.\n```\n", "an admonition"),
    ("```{code-cell} python\nprint(1)\n```\n", "put the code in a function under src/recipes/"),
    ("```{image} a.png\n```\n", "```{figure} experiment.name"),
    ("As {eq}`eq-loss` shows.\n", "equations are not numbered"),
    ("As {glue}`acc` shows.\n", "{result}`experiment.value`"),
    ("See {cite:ps}`lecun1998`.\n", "{cite:p}`key`"),
])
def test_myst_names_litblog_lacks_are_errors_with_the_way_to_write_them_here(body, hint):
    """An author coming from MyST or Jupyter Book gets, besides the list of names, what to write instead."""
    with pytest.raises(UserErrors) as info:
        parse_post(make_post(body))
    [error] = info.value.errors
    assert "unknown" in error.message and error.hint and hint in error.hint, error.render()


def test_the_myst_names_with_a_way_out_are_not_litblog_names():
    from litblog.buildtime.directives import foreign

    assert not set(foreign.DIRECTIVES) & set(DIRECTIVES) and not set(foreign.ROLES) & set(ROLES)
