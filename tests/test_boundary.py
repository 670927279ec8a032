"""The two wings and what they share, enforced: litblog's layout is its architecture.

- ``litblog/buildtime/`` is ``build-site`` itself, whose rebuilds must stay fast and work where
  TensorFlow is not installed: it never imports ``litblog.runtime``, TensorFlow or Keras.
- ``litblog/runtime/`` runs inside a worker process (it may import TensorFlow): it never
  imports ``litblog.buildtime``.
- ``litblog/common/`` is used by both: it imports neither wing, and no TensorFlow or Keras.
- At the top of the package only the public paths remain (``python -m litblog``,
  ``litblog.figures``, ``litblog.pretrained``, ``python -m litblog.worker``): aliases, no code.

The walk covers every module of every subpackage and every import statement, including those
inside functions, so a lazy import on a rarely taken path is caught too; relative imports are
resolved from the file's own package (``from ...runtime import x`` in ``buildtime/directives/``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "litblog"
FRAMEWORKS = {"tensorflow", "keras", "tf_keras"}
# Package -> (litblog packages it must not import, third-party packages it must not import).
RULES: dict[str, tuple[set[str], set[str]]] = {
    "common": ({"litblog.buildtime", "litblog.runtime"}, FRAMEWORKS),
    "buildtime": ({"litblog.runtime"}, FRAMEWORKS),
    "runtime": ({"litblog.buildtime"}, set()),
}
# The build-time wing's stage packages, in the pipeline's order: each imports only from itself and
# those before it. A new stage package is placed here, in its order.
STAGES = ("sources", "directives", "plan", "execute", "results", "notebooks", "render", "publish", "commands")
# The top of the package: the public paths recipes and commands use (paths relative to PACKAGE).
PUBLIC = {"__init__.py", "__main__.py", "figures/__init__.py", "pretrained/__init__.py", "worker/__init__.py",
          "worker/__main__.py"}


def imported_modules(file: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``file``; litblog's own as ``litblog.x``.

    Relative imports are resolved from the package ``file`` is in under ``root`` (``from ..errors``
    in ``buildtime/x.py`` is ``litblog.errors``); a file outside ``root`` counts as top-level.
    """
    package = ["litblog", *file.parent.relative_to(root).parts] if file.is_relative_to(root) else ["litblog"]
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1]) if node.level <= len(package) else "?"
                module = f"{base}.{node.module}" if node.module else base
                found.append((node.lineno, module))
                if not node.module:
                    found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module or ""))
    return found


def modules(root: Path = PACKAGE) -> list[Path]:
    """Every module under ``root``, subpackages included."""
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def wing_of(file: Path, root: Path = PACKAGE) -> str | None:
    """``common``, ``buildtime`` or ``runtime``: the package of ``root`` that ``file`` is in, if any."""
    top = file.relative_to(root).parts[0]
    return top if top in RULES else None


def problems(file: Path, root: Path = PACKAGE) -> list[str]:
    """Each import of ``file`` that its package's rule forbids, as ``path:line imports module``."""
    wing = wing_of(file, root)
    if wing is None:
        return []
    packages, third_party = RULES[wing]
    name = file.relative_to(root).as_posix()
    found = []
    for line, module in imported_modules(file, root):
        if module.split(".")[0] in third_party:
            found.append(f"{name}:{line} imports {module} ({wing}/ never imports {', '.join(sorted(third_party))})")
        for forbidden in packages:
            if module == forbidden or module.startswith(forbidden + "."):
                found.append(f"{name}:{line} imports {module} ({wing}/ never imports {forbidden})")
    return found


def test_every_module_is_in_a_wing_or_a_public_path() -> None:
    outside = {p.relative_to(PACKAGE).as_posix() for p in modules() if wing_of(p) is None}
    assert outside == PUBLIC, f"modules belong in common/, buildtime/ or runtime/: {sorted(outside - PUBLIC)}"
    wings = {wing: {p.relative_to(PACKAGE / wing).with_suffix("").as_posix() for p in modules(PACKAGE / wing)}
             for wing in RULES}
    assert {"commands/pipeline", "plan/plan", "render/renderer", "publish/site", "commands/cli", "execute/execute",
            "directives/scan", "render/blocks/figure"} <= wings["buildtime"]
    assert {"worker", "context", "resume", "finetune", "pretrained", "download", "decoded", "warm_server"} <= wings["runtime"]
    assert {"errors", "paths", "protocol", "store", "datasets", "figures"} <= wings["common"]


@pytest.mark.parametrize("file", [p for p in modules() if wing_of(p)], ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_each_package_imports_only_what_its_wing_may(file: Path) -> None:
    assert not problems(file), "\n".join(problems(file))


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_the_public_paths_are_aliases_without_code(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    for node in body:
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.Expr)), f"{name}: {ast.dump(node)[:80]}"
        if isinstance(node, (ast.Assign, ast.Expr)):  # sys.modules[__name__] = module, sys.exit(main())
            assert ast.unparse(node) in ("sys.modules[__name__] = figures", "sys.modules[__name__] = pretrained",
                                         "__version__ = '0.1.0'", "sys.exit(main())"), f"{name}: {ast.unparse(node)}"


def test_the_public_paths_are_the_moved_modules() -> None:
    import litblog.common.figures
    import litblog.figures
    import litblog.pretrained
    import litblog.runtime.pretrained
    from litblog.figures import save_figure
    from litblog.pretrained import PretrainedWeightsUnavailable

    assert litblog.figures is litblog.common.figures and save_figure is litblog.common.figures.save_figure
    assert litblog.pretrained is litblog.runtime.pretrained
    assert PretrainedWeightsUnavailable is litblog.runtime.pretrained.PretrainedWeightsUnavailable
    # python -m litblog.worker SPEC is the worker's main: both read the spec and fail alike without one.
    runs = [subprocess.run([sys.executable, "-m", module, "/nonexistent/spec.json"], capture_output=True, text=True,
                           timeout=120) for module in ("litblog.worker", "litblog.runtime.worker")]
    assert runs[0].returncode == runs[1].returncode != 0
    assert all("FileNotFoundError" in run.stderr and "/nonexistent/spec.json" in run.stderr for run in runs)


def test_the_scratch_folder_and_the_keras_home_are_spelled_in_common_paths_only() -> None:
    """``.litblog`` and the Keras home rule have one place: both wings name them through it."""
    owned = {".litblog", "KERAS_HOME", ".keras"}
    found = [f"{file.relative_to(PACKAGE).as_posix()}:{node.lineno} {node.value!r}"
             for file in modules() if file != PACKAGE / "common" / "paths.py"
             for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
             if isinstance(node, ast.Constant) and node.value in owned]
    assert not found, "use litblog.common.paths: " + ", ".join(found)


def test_importing_every_build_module_loads_no_run_time_code_and_no_tensorflow() -> None:
    """The static rule, checked once in a fresh interpreter: all of litblog/buildtime/ imported."""
    probe = ("import importlib, pkgutil, sys, litblog.buildtime as b\n"
             "for m in pkgutil.walk_packages(b.__path__, 'litblog.buildtime.'):\n"
             "    importlib.import_module(m.name)\n"
             "print(sorted(n for n in sys.modules if n.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')\n"
             "             or n.startswith('litblog.runtime')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- each rule can fail ------------------------------------------------------------------------


def plant(root: Path, name: str, text: str) -> Path:
    file = root / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    return file


@pytest.mark.parametrize("name, text, forbidden", [
    ("buildtime/sample.py", "def f():\n    from ..runtime.context import RecipeContext\n", "litblog.runtime.context"),
    ("buildtime/plan/sample.py", "def f():\n    import keras\n", "keras"),
    ("buildtime/sample.py", "import tf_keras.layers\n", "tf_keras.layers"),
    ("buildtime/directives/sample.py", "from ...runtime import worker\n", "litblog.runtime"),
    ("buildtime/render/blocks/sample.py", "import litblog.runtime.decoded\n", "litblog.runtime.decoded"),
    ("common/sample.py", "from ..buildtime.plan.keys import FORMAT_VERSION\n", "litblog.buildtime.plan.keys"),
    ("common/sample.py", "from ..runtime.resume import FitRecord\n", "litblog.runtime.resume"),
    ("common/sample.py", "def f():\n    import tensorflow as tf\n", "tensorflow"),
    ("runtime/sample.py", "from ..buildtime.plan.plan import make_plan\n", "litblog.buildtime.plan.plan"),
    ("runtime/sample.py", "def f():\n    from litblog.buildtime.commands import cli\n", "litblog.buildtime.commands"),
])
def test_a_planted_bad_import_is_caught(tmp_path: Path, name: str, text: str, forbidden: str) -> None:
    sample = plant(tmp_path, name, text)
    assert sample in modules(tmp_path)
    found = problems(sample, root=tmp_path)
    assert any(f"imports {forbidden} " in problem for problem in found), found


def test_what_a_wing_may_import_is_not_caught(tmp_path: Path) -> None:
    allowed = [plant(tmp_path, "runtime/a.py", "import tensorflow\nfrom ..common import datasets\nfrom . import resume\n"),
               plant(tmp_path, "buildtime/render/b.py", "from ...common.figures import save_figure\nfrom ..plan import x\n"),
               plant(tmp_path, "common/c.py", "import matplotlib\nfrom .errors import UserError\n")]
    assert [problems(file, root=tmp_path) for file in allowed] == [[], [], []]


def test_the_walk_catches_a_lazy_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from .context import RecipeContext\n    import keras\n")
    assert imported_modules(sample) == [(2, "litblog.context"), (3, "keras")]


def test_the_walk_resolves_relative_imports_in_a_subpackage(tmp_path: Path) -> None:
    sample = plant(tmp_path, "buildtime/directives/sample.py",
                   "from ...runtime.worker import run\nfrom . import base\nfrom .base import Block\nfrom .. import plan\n")
    assert imported_modules(sample, root=tmp_path) == [
        (1, "litblog.runtime.worker"), (2, "litblog.buildtime.directives"), (2, "litblog.buildtime.directives.base"),
        (3, "litblog.buildtime.directives.base"), (4, "litblog.buildtime"), (4, "litblog.buildtime.plan")]
    assert any(p.parent.name == "directives" for p in modules() if wing_of(p) == "buildtime")


# -- the stages of the build-time wing, and no circles ------------------------------------------


def module_name(file: Path, root: Path = PACKAGE) -> str:
    """``litblog.buildtime.plan.keys`` for ``buildtime/plan/keys.py`` under ``root``."""
    parts = file.relative_to(root).with_suffix("").parts
    return ".".join(("litblog", *(parts[:-1] if parts[-1] == "__init__" else parts)))


def import_targets(file: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, module) of each litblog module ``file`` imports, whichever way it is written.

    ``from .x import Name`` imports module ``x``; ``from . import x`` imports module ``x`` (not the
    package it is in, which Python has imported already); unknown names are kept as written.
    """
    known = {module_name(p, root) for p in modules(root)}
    package = module_name(file, root) if file.name == "__init__.py" else module_name(file, root).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "litblog"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] != "litblog":
                continue
            submodules = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in known]
            found += [(node.lineno, name) for name in submodules] if submodules else [(node.lineno, module)]
    return found


def stage_of(module: str) -> str | None:
    """The build-time stage ``module`` is in (``plan`` for ``litblog.buildtime.plan.keys``), if any."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["litblog", "buildtime"] else None


def upward_imports(file: Path, root: Path = PACKAGE) -> list[str]:
    """Each import of ``file`` from a later stage than its own, as ``path:line imports module``."""
    own = stage_of(module_name(file, root))
    if own is None:
        return []
    return [f"{file.relative_to(root).as_posix()}:{line} imports {module} (stage '{own}' comes before "
            f"'{stage_of(module)}': {' < '.join(STAGES)})"
            for line, module in import_targets(file, root)
            if stage_of(module) in STAGES and own in STAGES and STAGES.index(stage_of(module)) > STAGES.index(own)]


def import_circles(root: Path = PACKAGE) -> list[list[str]]:
    """Each import circle among the modules under ``root``, as the modules around it (Tarjan's SCCs)."""
    files = {module_name(p, root): p for p in modules(root)}
    graph = {name: {module for _, module in import_targets(file, root) if module in files and module != name}
             for name, file in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in sorted(graph[name]):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while not component or component[-1] != name:
                component.append(stack.pop())
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return circles


def test_the_stage_packages_are_the_ones_in_order_and_each_says_what_it_owns() -> None:
    folders = {p.name for p in (PACKAGE / "buildtime").iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(STAGES), f"place a new stage package in STAGES, in its order: {sorted(folders ^ set(STAGES))}"
    for stage in STAGES:
        docstring = ast.get_docstring(ast.parse((PACKAGE / "buildtime" / stage / "__init__.py").read_text()))
        assert docstring and docstring.splitlines()[0].endswith(".") and len(docstring.splitlines()[0]) <= 100, stage


@pytest.mark.parametrize("file", [p for p in modules(PACKAGE / "buildtime")],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_a_stage_imports_only_from_itself_and_earlier_stages(file: Path) -> None:
    assert not upward_imports(file), "\n".join(upward_imports(file))


def test_no_module_of_litblog_is_in_an_import_circle() -> None:
    assert import_circles() == []


def test_every_relative_import_names_a_module_or_package_that_exists() -> None:
    known = {module_name(p) for p in modules()}
    missing = [f"{file.relative_to(PACKAGE).as_posix()}:{line} {module}" for file in modules()
               for line, module in import_targets(file) if module not in known
               and module.rpartition(".")[0] not in known]
    assert not missing


@pytest.mark.parametrize("name, text, later", [
    ("buildtime/plan/sample.py", "from ..render.page import Page\n", "litblog.buildtime.render.page"),
    ("buildtime/directives/sample.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                       "    from ..render.page import Page\n", "litblog.buildtime.render.page"),
    ("buildtime/sources/sample.py", "def f():\n    from ..commands import cli\n", "litblog.buildtime.commands.cli"),
    ("buildtime/render/blocks/sample.py", "import litblog.buildtime.publish.site\n", "litblog.buildtime.publish.site"),
])
def test_a_planted_import_up_the_stages_is_caught(tmp_path: Path, name: str, text: str, later: str) -> None:
    plant(tmp_path, "buildtime/commands/cli.py", "")
    sample = plant(tmp_path, name, text)
    assert any(f"imports {later} " in problem for problem in upward_imports(sample, tmp_path)), \
        upward_imports(sample, tmp_path)


def test_imports_down_the_stages_and_within_one_are_not_caught(tmp_path: Path) -> None:
    sample = plant(tmp_path, "buildtime/render/sample.py", "from ..plan.plan import make_plan\nfrom .page import Page\n"
                                                          "from ..sources import text\nfrom ...common import paths\n")
    assert upward_imports(sample, tmp_path) == []


def test_a_planted_import_circle_is_caught_even_through_type_checking_and_a_package(tmp_path: Path) -> None:
    plant(tmp_path, "buildtime/plan/__init__.py", "from .a import A\n")
    plant(tmp_path, "buildtime/plan/a.py", "from . import b\nA = 1\n")
    plant(tmp_path, "buildtime/plan/b.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n")
    plant(tmp_path, "buildtime/plan/c.py", "def f():\n    from ..plan import A\n")
    plant(tmp_path, "buildtime/plan/d.py", "from .a import A\n")  # imports into the circle, is not in it
    assert import_circles(tmp_path) == [["litblog.buildtime.plan", "litblog.buildtime.plan.a",
                                         "litblog.buildtime.plan.b", "litblog.buildtime.plan.c"]]


# The directory patterns of GitHub's standard Python .gitignore (github/gitignore, Python.gitignore),
# which a user who starts a blog from this repository may add: none may hide litblog's code.
PYTHON_GITIGNORE = """__pycache__/
build/
develop-eggs/
dist/
downloads/
eggs/
.eggs/
lib/
lib64/
parts/
sdist/
var/
wheels/
share/python-wheels/
*.egg-info/
htmlcov/
.tox/
.nox/
instance/
docs/_build/
.pybuilder/
target/
profile_default/
__pypackages__/
env/
venv/
ENV/
.venv
.mypy_cache/
.pyre/
.pytype/
cython_debug/
"""


def ignored_by_python_gitignore(paths: list[str], tmp_path: Path) -> list[str]:
    """Which of ``paths`` (relative to a repository root) the standard Python .gitignore ignores."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(PYTHON_GITIGNORE)
    done = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "--no-index", "--stdin"],
                          input="\n".join(paths), capture_output=True, text=True)
    return done.stdout.split()


def test_no_file_of_the_package_is_ignored_by_the_standard_python_gitignore(tmp_path: Path) -> None:
    files = [("src" / p.relative_to(PACKAGE.parent)).as_posix() for p in modules()]
    assert ignored_by_python_gitignore(files, tmp_path) == []
    # The check can fail: the package's old name was such a folder.
    assert ignored_by_python_gitignore(["src/litblog/build/plan.py"], tmp_path / "again") == ["src/litblog/build/plan.py"]
