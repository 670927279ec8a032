"""Read recipes without importing them: signatures, source and the project modules they import.

Planning must not import TensorFlow, so recipes are inspected with :mod:`ast` only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...common.errors import did_you_mean, one_of
from ...common.reads import DigestCache
from ...common.sources import ModuleUse, function_digest, module_use, read_source, source_digest, token_digest

__all__ = ["ModuleUse", "Recipe", "RecipeNotFound", "RecipeParameter", "check_param_type", "find_recipe",
           "function_digest", "module_use", "project_dependencies", "read_source", "recipe_digest",
           "recipe_listing", "source_digest", "token_digest"]

_NO_DEFAULT = object()


class RecipeNotFound(LookupError):
    """The recipe reference names no module or no function; ``suggestion`` may say what was meant."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


@dataclass(frozen=True)
class RecipeParameter:
    name: str
    default: Any  # a literal, or _NO_DEFAULT
    annotation: str | None

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True)
class Recipe:
    """A recipe function as read from its source file."""

    reference: str  # "module.function" as written in posts
    module: str  # import name, e.g. "recipes.cats_vs_dogs"
    function: str
    file: Path
    source: str  # the function's own source text, shown in posts
    line: int
    parameters: tuple[RecipeParameter, ...]
    accepts_any_keyword: bool

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters if not p.required}


def find_recipe(reference: str, recipes_dir: Path) -> Recipe:
    """Locate ``module.function`` under ``recipes_dir`` and read its signature."""
    module_name, _, function = reference.rpartition(".")
    if not module_name or not function:
        raise RecipeNotFound(f"recipe '{reference}' should be written module.function")
    file = _module_file(recipes_dir, module_name.split("."))
    if file is None:
        available = [p.stem for p in recipes_dir.glob("*.py") if p.stem != "__init__"]
        raise RecipeNotFound(f"recipe module '{module_name}' not found in {recipes_dir.name}/",
                             did_you_mean(module_name, available) or one_of(available))
    source = read_source(file)
    tree = ast.parse(source, filename=file.name)
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    node = functions.get(function)
    if node is None:
        public = [name for name in functions if not name.startswith("_")]
        raise RecipeNotFound(f"recipe module '{module_name}' has no function '{function}'",
                             did_you_mean(function, public) or one_of(public))
    parameters, var_kw = _parameters(node)
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    text = "\n".join(source.splitlines()[start - 1:node.end_lineno])
    package = recipes_dir.name
    return Recipe(reference, f"{package}.{module_name}", function, file, text, start, parameters, var_kw)


def _module_file(recipes_dir: Path, parts: list[str]) -> Path | None:
    base = recipes_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[tuple[RecipeParameter, ...], bool]:
    args = node.args
    positional = args.posonlyargs + args.args
    # The first positional parameter is the context; the rest are the recipe's params.
    if not positional:
        raise RecipeNotFound(f"recipe function '{node.name}' must take the context as first argument")
    defaults: list[Any] = [_NO_DEFAULT] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = []
    for arg, default in list(zip(positional, defaults))[1:]:
        params.append(RecipeParameter(arg.arg, _literal(default), _annotation(arg)))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(RecipeParameter(arg.arg, _NO_DEFAULT if default is None else _literal(default), _annotation(arg)))
    return tuple(params), args.kwarg is not None


def _literal(node: Any) -> Any:
    if node is _NO_DEFAULT:
        return _NO_DEFAULT
    try:
        return ast.literal_eval(node)
    except ValueError:
        # A computed default: the recipe's source is hashed, so its text stands for its value.
        return f"<{ast.unparse(node)}>"


def _annotation(arg: ast.arg) -> str | None:
    return ast.unparse(arg.annotation) if arg.annotation is not None else None


def check_param_type(param: RecipeParameter, value: Any) -> str | None:
    """A problem with ``value`` for ``param``'s simple annotation (int, float, bool, str), or None."""
    expected = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(param.annotation or "")
    if expected is None or value is None:
        return None
    if isinstance(value, bool) and expected is not bool:
        return f"must be {param.annotation}, got {value!r}"
    if not isinstance(value, expected):
        return f"must be {param.annotation}, got {value!r}"
    return None


def project_dependencies(file: Path, import_root: Path) -> list[Path]:
    """``file`` and every module under ``import_root`` it imports, transitively (sorted).

    The engine package ``litblog`` itself is not a dependency: its results format is versioned.
    """
    seen: set[Path] = set()
    root = import_root.resolve()
    pending = [file.resolve()]
    # Importing a module runs its packages' __init__.py first.
    folder = file.resolve().parent
    while folder != root and root in folder.parents:
        if (folder / "__init__.py").is_file():
            pending.append(folder / "__init__.py")
        folder = folder.parent
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tree = ast.parse(read_source(current))
        except SyntaxError:
            continue  # the worker reports it when the recipe runs
        package_parts = list(current.relative_to(root).with_suffix("").parts)
        if package_parts[-1] == "__init__":
            package_parts = package_parts[:-1]
        else:
            package_parts = package_parts[:-1]
        for module in _imported_modules(tree, package_parts):
            if module and module[0] == "litblog":
                continue
            for found in _resolve(module, root):
                if found not in seen:
                    pending.append(found)
    return sorted(seen)


def _imported_modules(tree: ast.Module, package: list[str]) -> list[list[str]]:
    modules: list[list[str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.extend(alias.name.split(".") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
            else:
                base = []
            target = base + (node.module.split(".") if node.module else [])
            modules.append(target)
            # ``from recipes import common`` may import a submodule.
            modules.extend(target + [alias.name] for alias in node.names if alias.name != "*")
    return modules


def _resolve(module: list[str], root: Path) -> list[Path]:
    """The files under ``root`` that importing ``module`` executes (packages' __init__ included)."""
    found: list[Path] = []
    for depth in range(1, len(module) + 1):
        base = root.joinpath(*module[:depth])
        init = base / "__init__.py"
        if init.is_file():
            found.append(init.resolve())
        elif base.with_suffix(".py").is_file():
            found.append(base.with_suffix(".py").resolve())
            break
        else:
            break
    return found


def recipe_digest(recipe: Recipe, digests: DigestCache | None = None) -> str:
    """Hash of what running one recipe executes from its own module (:func:`function_digest`).

    That is the function, the module-level statements (imports, constants), and the module's
    functions and classes the recipe uses, directly or through each other. Another recipe in
    the same module can change without re-running this one. With ``digests`` (the project's
    ``identity.FileDigests``), remembered across builds until the recipe's file changes: parsing
    and tokenizing the module is most of a small project's plan.
    """
    function = recipe.function
    if digests is None:
        return function_digest(read_source(recipe.file), function)
    return digests.digest(recipe.file, lambda file: function_digest(read_source(file), function),
                          kind=f"function {function}")


def recipe_listing(recipe: Recipe, code: str = "function") -> str:
    """The recipe's code as a post shows it.

    ``code="function"``: in source order, the module's imports, then what the recipe uses from its
    own module (the definitions :func:`recipe_digest` covers, the constants they read, other
    module-level statements such as calls), the recipe itself included. ``code="module"``: the
    whole module.
    """
    if code == "module":
        return read_source(recipe.file).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    use = module_use(read_source(recipe.file), recipe.function)
    nodes = [use.definitions[name] for name in use.needed]
    used = {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}
    assignments = [node for node in use.body if _bound_names(node) is not None]
    # Constants read by what is shown, and the constants those read, transitively.
    shown_assignments: list[ast.stmt] = []
    changed = True
    while changed:
        changed = False
        for node in assignments:
            if node not in shown_assignments and _bound_names(node) & used:
                shown_assignments.append(node)
                used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                changed = True
    others = [node for node in use.body if _bound_names(node) is None]  # imports, calls, if/try blocks
    chosen = sorted([*others, *shown_assignments, *nodes], key=lambda node: node.lineno)
    pieces: list[str] = []
    previous: ast.AST | None = None
    for node in chosen:
        if previous is not None:
            definition = isinstance(node, _DEFINITIONS) or isinstance(previous, _DEFINITIONS)
            pieces.append("\n\n\n" if definition else "\n" if node.lineno == previous.end_lineno + 1 else "\n\n")
        pieces.append(use.segment(node))
        previous = node
    return "".join(pieces)


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _bound_names(node: ast.stmt) -> set[str] | None:
    """The names a module-level assignment binds; None for any other statement."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    else:
        return None
    return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
