"""docs/authoring.md is checked against the code, so the reference cannot drift from it.

The page marks each table it promises to keep true with ``<!-- check: NAME -->`` on the line
before it. These tests read those tables and compare them with what the code declares: the
``Option`` tuples of the directives and the config, ``RecipeContext``'s public methods and
their signatures, the public functions of ``litblog.common.figures`` and theirs, the values a
reference can name, the statistics, the claim operators, the prediction heads. Modules that
would import TensorFlow or matplotlib (``context.py``, ``figures.py``) are read with ``ast``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from litblog.buildtime.sources import config, posts
from litblog.buildtime import directives
from litblog.buildtime.render import figure_kinds
from litblog.buildtime.results import spread, values
from litblog.runtime import finetune
from litblog.buildtime.directives import chart, claim, experiment
from litblog.buildtime.render.blocks import seed_values

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "authoring.md"
SRC = REPO / "src" / "litblog"

_MARKER = re.compile(r"^<!-- check: (?P<name>[\w -]+?) -->\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"`([^`]+)`")
_PLACEHOLDER = re.compile(r"<[^<>]+>")

# Every table the page marks; a marker that disappears fails test_every_marked_table_is_there.
MARKERS = {
    "front-matter", "directives", "options EXPERIMENT_OPTIONS", "show-choices", "code-choices",
    "options FIGURE_OPTIONS", "options TABLE_OPTIONS", "options CHART_OPTIONS", "chart-errors", "roles",
    "claim-operators", "fixed-values", "recorded-values", "history-stats", "seed-statistics",
    "options BUILD_SCHEMA", "options JEKYLL_SCHEMA", "ctx-methods", "optimizers", "heads", "figure-helpers",
    "synthetic-options", "outside-paths", "image-data-options", "figure-kinds", "writing-front-matter",
    "myst-directives", "myst-roles",
}

OPTION_TUPLES = {
    "EXPERIMENT_OPTIONS": directives.DIRECTIVES["experiment"].options,
    "FIGURE_OPTIONS": directives.DIRECTIVES["figure"].options,
    "TABLE_OPTIONS": directives.DIRECTIVES["table"].options,
    "CHART_OPTIONS": directives.DIRECTIVES["chart"].options,
    "BUILD_SCHEMA": config.BUILD_SCHEMA,
    "JEKYLL_SCHEMA": tuple(config.JEKYLL_SCHEMA.values()),
}

# How the type column starts for each Option kind ("any" is described in words).
KIND_WORDS = {
    "str": "string", "int": "integer", "number": "number", "bool": "boolean",
    "str_list": "list of strings", "mapping": "mapping",
}


# -- reading the page ------------------------------------------------------------------------


def marked_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each marked table as a list of rows, a row being {heading: cell}."""
    lines = text.split("\n")
    found: dict[str, list[dict[str, str]]] = {}
    for index, line in enumerate(lines):
        match = _MARKER.match(line)
        if not match:
            continue
        name = match["name"]
        assert name not in found, f"marker '{name}' appears twice"
        table = []
        for row in lines[index + 1:]:
            if not row.startswith("|"):
                break
            table.append([cell.strip() for cell in _CELL_SPLIT.split(row.strip())[1:-1]])
        assert len(table) >= 2 and set(table[1][0]) <= set("-: "), f"marker '{name}' is not followed by a table"
        headings = table[0]
        found[name] = [dict(zip(headings, cells)) for cells in table[2:]]
    return found


@pytest.fixture(scope="module")
def tables() -> dict[str, list[dict[str, str]]]:
    return marked_tables(DOC.read_text(encoding="utf-8"))


def first_code(cell: str) -> str:
    """The text of the cell's first code span."""
    match = _CODE.search(cell)
    assert match, f"no `code` in cell {cell!r}"
    return match.group(1)


def first_column(table: list[dict[str, str]]) -> list[str]:
    return [first_code(next(iter(row.values()))) for row in table]


def names_of(table: list[dict[str, str]]) -> set[str]:
    names = first_column(table)
    assert len(names) == len(set(names)), f"a name is listed twice: {names}"
    return set(names)


# -- reading the code without importing it ---------------------------------------------------


def module_ast(name: str) -> ast.Module:
    return ast.parse((SRC / f"{name}.py").read_text(encoding="utf-8"))


def class_ast(module: ast.Module, name: str) -> ast.ClassDef:
    return next(node for node in module.body if isinstance(node, ast.ClassDef) and node.name == name)


def function_ast(module: ast.Module | ast.ClassDef, name: str) -> ast.FunctionDef:
    return next(node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == name)


def module_constant(module: ast.Module, name: str) -> object:
    for node in module.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no module-level {name}")


def module_constants(module: ast.Module) -> dict[str, object]:
    """Module-level ``NAME = literal`` assignments (``LABEL_WRAP = 14``)."""
    found = {}
    for node in module.body:
        if isinstance(node, ast.Assign):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            found.update({t.id: value for t in node.targets if isinstance(t, ast.Name)})
    return found


def signature(arguments: ast.arguments, *, drop_first: bool = False,
              constants: dict[str, object] | None = None) -> list[tuple[str, str, str | None]]:
    """(kind, name, default) of every parameter; annotations left out, defaults as ast dumps (a
    default naming a module constant as the constant's value, the way the page writes it)."""
    def dump(node: ast.expr | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, ast.Name) and constants and node.id in constants:
            node = ast.Constant(constants[node.id])
        return ast.dump(node)

    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    params = [("positional", a.arg, dump(d)) for a, d in zip(positional, defaults)]
    if drop_first:
        params = params[1:]
    if arguments.vararg:
        params.append(("*args", arguments.vararg.arg, None))
    params += [("keyword", a.arg, dump(d))
               for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)]
    if arguments.kwarg:
        params.append(("**kwargs", arguments.kwarg.arg, None))
    return params


def documented_signature(text: str) -> tuple[str, list[tuple[str, str, str | None]]]:
    """``name(a, b=1, *, c=None)`` as written in the page: the name and its parameters."""
    tree = ast.parse(f"def {text}: pass")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    return function.name, signature(function.args)


def is_property(function: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in function.decorator_list)


def pattern_of(node: ast.expr) -> str:
    """A record name as the code writes it, each f-string field as ``<>``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    return "".join(part.value if isinstance(part, ast.Constant) else "<>" for part in node.values)


# -- the tests -------------------------------------------------------------------------------


def test_every_marked_table_is_there(tables):
    assert set(tables) == MARKERS
    for name, rows in tables.items():
        assert rows, f"the table '{name}' has no rows"


@pytest.mark.parametrize("tuple_name", sorted(OPTION_TUPLES))
def test_option_tables_match_the_declared_options(tables, tuple_name):
    declared = {option.name: option for option in OPTION_TUPLES[tuple_name]}
    rows = {first_code(row["option"]): row for row in tables[f"options {tuple_name}"]}
    assert len(rows) == len(tables[f"options {tuple_name}"]), "an option is listed twice"
    assert set(rows) == set(declared), f"{tuple_name}: documented options differ from the declared ones"
    for name, row in rows.items():
        option = declared[name]
        where = f"{tuple_name} '{name}'"
        # Type: the kind's word first; "or null" exactly when the option may be empty.
        if option.kind in KIND_WORDS:
            assert row["type"].startswith(KIND_WORDS[option.kind]), f"{where}: type {row['type']!r} is not {option.kind}"
        assert ("or null" in row["type"]) == option.nullable, f"{where}: 'or null' should say nullable={option.nullable}"
        # Default: the word "required", or the default as YAML in a code span.
        if option.required:
            assert row["default"] == "required", f"{where} is required"
        else:
            assert row["default"] != "required", f"{where} is not required"
            assert yaml.safe_load(first_code(row["default"])) == option.default, f"{where}: default"
        if option.choices:
            assert set(_CODE.findall(row["allowed values"])) == set(option.choices), f"{where}: allowed values"
        if option.minimum is not None:
            assert f"at least {option.minimum:g}" in row["allowed values"], f"{where}: minimum"


def test_figure_kinds_are_the_registry(tables):
    assert names_of(tables["figure-kinds"]) == set(figure_kinds.KINDS)
    for row in tables["figure-kinds"]:  # a qualified kind documents <name>.<kind> beside it
        kind = figure_kinds.KINDS[first_code(row["figure"])]
        assert (f"`<name>.{kind.name}`" in row["figure"]) == kind.qualified, kind.name


def test_directives_and_roles(tables):
    listed = [name for row in tables["directives"] for name in _CODE.findall(row["directive"])]
    assert sorted(listed) == sorted(directives.DIRECTIVES)  # a row may list several kinds (the admonitions)
    assert names_of(tables["roles"]) == set(directives.ROLES)
    caption_roles = {first_code(row["role"]) for row in tables["roles"] if "caption" in row["where"]}
    assert caption_roles == set(directives.CAPTION_ROLES)


def test_show_code_and_error_choices(tables):
    assert names_of(tables["show-choices"]) == set(experiment.SHOW_CHOICES)
    assert names_of(tables["code-choices"]) == set(experiment.CODE_CHOICES)
    error = next(option for option in chart.OPTIONS if option.name == "error")
    assert names_of(tables["chart-errors"]) == set(error.choices)
    assert set(error.choices) == set(spread.ERROR_WORDS)


def test_claim_operators(tables):
    assert names_of(tables["claim-operators"]) == set(claim.CLAIM_OPERATORS)


def test_fixed_value_names(tables):
    lookup = function_ast(module_ast("buildtime/results/values"), "lookup")
    fixed = next(node.value for node in ast.walk(lookup) if isinstance(node, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "fixed" for t in node.targets))
    assert isinstance(fixed, ast.Dict)
    constants = {node.value for node in ast.walk(lookup) if isinstance(node, ast.Constant)}
    assert {"params", "params."} <= constants
    code = {"params", "params.<>", *(ast.literal_eval(key) for key in fixed.keys if key is not None)}
    assert {_PLACEHOLDER.sub("<>", name) for name in names_of(tables["fixed-values"])} == code


def test_recorded_values_are_what_ctx_records(tables):
    # ctx records through RecipeContext, its capture (the summaries) and fine-tuning's ``prepare``.
    recorders = [class_ast(module_ast("runtime/context"), "RecipeContext"),
                 class_ast(module_ast("runtime/captured"), "Capture"),
                 function_ast(module_ast("runtime/finetune"), "prepare")]
    code = set()
    for node in (node for recorder in recorders for node in ast.walk(recorder)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"
                or isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "record"):
            code.add(pattern_of(node.args[0]))
    # ctx.predict also records what predictions.per_class_values names, under the predictions' name.
    per_class = next(node for node in module_ast("runtime/predictions").body
                     if isinstance(node, ast.FunctionDef) and node.name == "per_class_values")
    named = {"<>." + pattern_of(node.targets[0].slice) for node in ast.walk(per_class)
             if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)}
    assert named, "per_class_values names nothing?"
    code |= named
    assert code, "RecipeContext records nothing?"
    documented = {_PLACEHOLDER.sub("<>", name) for name in names_of(tables["recorded-values"])}
    assert documented == code


def test_history_statistics(tables):
    assert names_of(tables["history-stats"]) == set(values.HISTORY_STATS)


def test_seed_statistics_are_what_spread_and_render_accept(tables):
    documented = names_of(tables["seed-statistics"])
    assert documented == {*spread.STATISTICS, "seed<k>"}
    for name in documented:
        assert spread.statistic_name(name.replace("<k>", "2")) is not None, name
    # The renderer reads statistics through spread's rule, not a list of its own.
    assert seed_values.statistic_name is spread.statistic_name


def test_ctx_methods_and_signatures(tables):
    context = class_ast(module_ast("runtime/context"), "RecipeContext")
    public = {node.name: node for node in context.body
              if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    documented = {}
    for text in first_column(tables["ctx-methods"]):
        assert text.startswith("ctx."), text
        text = text[len("ctx."):]
        name = text.split("(")[0]
        assert name not in documented, f"ctx.{name} is listed twice"
        documented[name] = text
    assert set(documented) == set(public), "documented ctx methods differ from RecipeContext's public ones"
    for name, text in documented.items():
        if "(" not in text:
            assert is_property(public[name]), f"ctx.{name} is written as a property but is a method"
            continue
        assert not is_property(public[name]), f"ctx.{name} is a property: write it without arguments"
        _, params = documented_signature(text)
        assert params == signature(public[name].args, drop_first=True), f"signature of ctx.{name}"


def test_figure_helpers_and_signatures(tables):
    module = module_ast("common/figures")
    public = {node.name: node for node in module.body
              if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    documented = {}
    for text in first_column(tables["figure-helpers"]):
        name, params = documented_signature(text)
        assert name not in documented, f"{name} is listed twice"
        documented[name] = params
    assert set(documented) == set(public), "documented figure helpers differ from figures.py's public functions"
    for name, params in documented.items():
        assert params == signature(public[name].args, constants=module_constants(module)), \
            f"signature of figures.{name}"


def test_config_keys(tables):
    # Besides the option tables: every folder setting is a documented key with a folder default.
    build = {first_code(row["option"]): row for row in tables["options BUILD_SCHEMA"]}
    assert set(config.FOLDER_SETTINGS) <= set(build)
    for name in config.FOLDER_SETTINGS:
        assert "project subfolder" in build[name]["allowed values"], name


def test_front_matter_keys(tables):
    module = module_ast("buildtime/sources/posts")
    read = set(posts._STRING_KEYS) | set(posts._TEXT_KEYS) | set(posts._LIST_KEYS)
    for node in ast.walk(module):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "front_matter"
                and node.args and isinstance(node.args[0], ast.Constant)):
            read.add(node.args[0].value)
        elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
              and isinstance(node.ops[0], (ast.In, ast.NotIn)) and isinstance(node.comparators[0], ast.Name)
              and node.comparators[0].id == "front_matter"):
            read.add(node.left.value)
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
              and node.value.id == "front_matter" and isinstance(node.slice, ast.Constant)):
            read.add(node.slice.value)
    assert names_of(tables["front-matter"]) == read


def test_research_writing_front_matter_keys(tables):
    from litblog.buildtime.render import bibliography, toc

    assert names_of(tables["writing-front-matter"]) == {bibliography.FRONT_MATTER_KEY, toc.FRONT_MATTER_KEY}


def test_prediction_heads(tables):
    assert names_of(tables["heads"]) == set(module_constant(module_ast("runtime/predictions"), "HEADS"))


def test_fine_tuning_optimizers(tables):
    assert names_of(tables["optimizers"]) == set(finetune.OPTIMIZERS)


def test_synthetic_options(tables):
    generator = function_ast(module_ast("common/datasets"), "synthetic_folder")
    arguments = generator.args.args[1:]  # after cache_dir
    defaults = dict(zip((a.arg for a in arguments), generator.args.defaults[-len(arguments):]))
    rows = {first_code(row["option"]): row for row in tables["synthetic-options"]}
    assert set(rows) == set(defaults)
    for name, default in defaults.items():
        assert yaml.safe_load(first_code(rows[name]["default"])) == ast.literal_eval(default), name
    # ctx.image_data (its loader's ``load``) hands the generator only options it takes.
    image_data = function_ast(class_ast(module_ast("runtime/loading"), "ImageLoader"), "load")
    handed = {key.value for node in ast.walk(image_data)
              if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
              and any(isinstance(t, ast.Name) and t.id == "options" for t in node.targets)
              for key in node.value.keys if isinstance(key, ast.Constant)}
    assert {"image_size", "seed"} <= handed
    handed |= {node.slice.value for node in ast.walk(image_data)
               if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
               and isinstance(node.value, ast.Name) and node.value.id == "options"}
    assert handed <= set(rows)


def test_image_data_options_are_its_parameters_with_their_defaults(tables):
    image_data = function_ast(class_ast(module_ast("runtime/context"), "RecipeContext"), "image_data")
    code = {name: default for _, name, default in signature(image_data.args, drop_first=True)}
    rows = {first_code(row["option"]): row for row in tables["image-data-options"]}
    assert len(rows) == len(tables["image-data-options"]), "an option is listed twice"
    assert set(rows) == set(code), "documented image_data options differ from its parameters"
    for name, row in rows.items():
        assert ast.dump(ast.parse(first_code(row["default"]), mode="eval").body) == code[name], f"default of {name}"
    # The options that choose files are split_files' own, under the same names.
    from litblog.common import datasets

    assert set(datasets.SPLIT_OPTIONS) <= set(rows)
    split_files = function_ast(module_ast("common/datasets"), "split_files")
    assert set(datasets.SPLIT_OPTIONS) <= {name for _, name, _ in signature(split_files.args)}


def options_tests_use(calls: tuple[str, ...]) -> set[str]:
    """Keyword arguments that the tests (their fixture recipes included) pass to functions named ``calls``;
    a first positional argument counts as ``dataset``."""
    used: set[str] = set()
    for file in sorted((REPO / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in calls:
                used |= {keyword.arg for keyword in node.keywords if keyword.arg}
                if node.args:
                    used.add("dataset")
    return used


def test_every_image_data_option_the_page_lists_is_exercised_by_a_test(tables):
    # Through ctx.image_data itself, or split_files for the options that only choose files.
    documented = {first_code(row["option"]) for row in tables["image-data-options"]}
    exercised = options_tests_use(("image_data",)) | (options_tests_use(("split_files",)) & documented)
    assert documented - exercised == set(), "options no test passes"
    # The ones a real Keras pipeline depends on are exercised through ctx.image_data.
    assert {"dataset", "image_size", "batch_size", "per_class", "shuffle", "train_per_class",
            "validation_split"} <= options_tests_use(("image_data",))


# Modules that reach outside the project (the home folder, the Keras cache, the data folders, the
# temporary folder), and how. A new module here, or a new way out, fails until the page's
# "outside" table (and this list) says where it reads or writes.
OUTSIDE = {
    "buildtime/commands/check": {"TemporaryDirectory"},  # litblog-check-*
    "buildtime/commands/cli": {"expanduser"},  # --project ~/blog
    "buildtime/execute/dask_executor": {"gettempdir", "mkdtemp", "keras_home"},  # litblog-dask-worker/, litblog-task-*
    "runtime/decoded": {"mkstemp"},  # beside the entry it writes, in .litblog/cache/decoded
    "common/datasets": {"expanduser", "mkdtemp", "LITBLOG_DATA_DIR", "keras_home", "keras_cache_dir"},  # data dirs, Keras cache, .extract-*
    "buildtime/execute/execute": {"keras_home"},  # the Keras home named in worker specs
    "common/fsutil": {"mkstemp"},  # beside the file it writes, inside the project
    "common/paths": {"expanduser", "KERAS_HOME", "keras_home"},  # the one rule for the Keras home
    "buildtime/plan/plan": {"keras_home"},  # have a blocked run's files arrived?
    "runtime/pretrained": {"keras_models_dir"},  # the Keras cache's models/
    "common/reads": {"keras_home"},  # files a run read in the Keras cache
    "buildtime/render/renderer": {"gettempdir"},  # litblog-cache/charts without a cache folder
    "buildtime/execute/warm": {"HOME", "TMPDIR"},  # names hashed into the warm server's name; nothing is read or written there
    # scrubbing machine paths from what is stored; TMPDIR set to the run's .litblog/tmp/ folder (a way in)
    "runtime/worker": {"expanduser", "LITBLOG_DATA_DIR", "TMPDIR"},
}
_CALLS_OUT = {"expanduser", "gettempdir", "mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile", "home",
              "keras_home", "keras_cache_dir", "keras_models_dir"}
_ENVIRONMENT_OUT = {"KERAS_HOME", "LITBLOG_DATA_DIR", "HOME", "TMPDIR", "TEMP", "TMP"}


def ways_out(module: ast.Module) -> set[str]:
    """Calls and environment names of ``module`` that lead outside the project."""
    found = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in _CALLS_OUT:
                found.add(name)
        elif isinstance(node, ast.Constant) and node.value in _ENVIRONMENT_OUT:
            found.add(node.value)
    return found


def test_ways_out_of_the_project_are_the_documented_ones(tables):
    found = {file.relative_to(SRC).with_suffix("").as_posix(): ways_out(ast.parse(file.read_text(encoding="utf-8")))
             for file in sorted(SRC.rglob("*.py"))}
    assert {name: uses for name, uses in found.items() if uses} == OUTSIDE
    outside = " ".join(row["path"] for row in tables["outside-paths"])
    for place in ("$LITBLOG_DATA_DIR", "litblog.data_dir", "$KERAS_HOME/datasets", "$KERAS_HOME/models",
                  "keras.json", "litblog-check-", "litblog-task-", "litblog-dask-worker", "litblog-cache"):
        assert place in outside, f"the outside table does not name {place}"


def test_myst_names_with_a_way_out(tables):
    from litblog.buildtime.directives import foreign

    for table, names in (("myst-directives", foreign.DIRECTIVES), ("myst-roles", foreign.ROLES)):
        listed = [name for row in tables[table] for name in _CODE.findall(next(iter(row.values())))]
        assert sorted(listed) == sorted(names), table
