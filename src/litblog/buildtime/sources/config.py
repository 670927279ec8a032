"""Stage 1, config: read and validate ``_config.yml`` (Jekyll's settings plus a ``litblog:`` section)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ...common.errors import SourceLocation, UserError, UserErrors
from ...common.paths import SCRATCH
from .schema import Option, parse_seeds, validate_options
from .yaml_source import YamlDocument, parse_yaml, read_source

CONFIG_NAME = "_config.yml"
# Folders of the project litblog reads or writes; each must be its own subfolder of the project.
FOLDER_SETTINGS = ("posts_dir", "recipes_dir", "results_dir", "site_dir", "templates_dir", "static_dir")
# Written by the build (the site is replaced whole, results are pruned): they may neither hold
# nor lie inside another folder.
WRITTEN_FOLDERS = ("site_dir", "results_dir")
# Not the repository's or litblog's own working areas.
RESERVED_FOLDERS = (".git", SCRATCH)

BUILD_SCHEMA: tuple[Option, ...] = (
    Option("posts_dir", "str", "posts", help="folder of post sources, relative to the project"),
    Option("recipes_dir", "str", "src/recipes", help="package of training recipes"),
    Option("results_dir", "str", "results", help="committed store of experiment results"),
    Option("site_dir", "str", "site", help="where the Jekyll source tree is written"),
    Option("templates_dir", "str", "templates", help="Jinja2 templates and Jekyll layouts"),
    Option("static_dir", "str", "static", help="files copied into the site as they are"),
    Option("data_dir", "str", None, nullable=True,
           help="folder searched first for datasets (LITBLOG_DATA_DIR overrides it)"),
    Option("seed", "int", 0, help="random seed of experiments that do not set one"),
    Option("seeds", "any", None, nullable=True,
           help="seeds of experiments that set neither seed nor seeds: a number (3: seeds 0, 1, 2) or a list"),
    Option("jobs", "int", None, nullable=True, minimum=1,
           help="experiments run at once (default: one per GPU; without GPUs, one per two cores as memory allows)"),
    Option("warm_workers", "number", 600, minimum=0,
           help="seconds a warm worker server (TensorFlow imported once, each run forked from it) waits "
                "for the next run; 0: every run starts a fresh interpreter (LITBLOG_WARM_WORKERS overrides)"),
    Option("timeout", "number", None, nullable=True, minimum=0,
           help="seconds an experiment may run before it is stopped (empty: no limit)"),
    Option("deterministic", "bool", True, help="make TensorFlow ops deterministic"),
    Option("keep_going", "bool", False, help="write the site even when an experiment fails"),
    Option("repository", "str", None, nullable=True,
           help="the blog's GitHub repository, owner/name: posts' notebooks get an \"Open in Colab\" link and "
                "install litblog from it"),
    Option("branch", "str", "main", help="the branch of that repository whose site/ is published"),
)
# owner/name as GitHub allows them (the Colab link and the notebook's pip URL are built from it).
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")

# Jekyll keys litblog reads itself; other Jekyll keys pass through to site/_config.yml as written.
JEKYLL_SCHEMA: dict[str, Option] = {
    "title": Option("title", "str", "litblog"),
    "description": Option("description", "str", "", nullable=True),
    "baseurl": Option("baseurl", "str", "", nullable=True,
                      help="a project page's path, like '/my-repo' (no trailing slash)"),
    "url": Option("url", "str", "", nullable=True, help="like 'https://user.github.io'"),
    "permalink": Option("permalink", "str", "/:year/:month/:day/:title/"),
    "author": Option("author", "any", None, nullable=True),
}


@dataclass(frozen=True)
class BuildSettings:
    """The validated ``litblog:`` section."""

    posts_dir: str = "posts"
    recipes_dir: str = "src/recipes"
    results_dir: str = "results"
    site_dir: str = "site"
    templates_dir: str = "templates"
    static_dir: str = "static"
    data_dir: str | None = None
    seed: int = 0
    seeds: tuple[int, ...] | None = None  # several runs per experiment by default (instead of seed)
    jobs: int | None = None
    warm_workers: float = 600
    timeout: float | None = None
    deterministic: bool = True
    keep_going: bool = False
    repository: str | None = None  # "owner/name" on GitHub
    branch: str = "main"


@dataclass(frozen=True)
class SiteConfig:
    """The whole configuration: project root, Jekyll settings and build settings."""

    root: Path
    jekyll: dict[str, Any]
    build: BuildSettings = field(default_factory=BuildSettings)
    warnings: tuple[str, ...] = ()  # located lines the build prints: settings that are valid but do nothing

    def path(self, setting: str) -> Path:
        """Absolute path of a folder setting such as ``posts_dir``."""
        return self.root / getattr(self.build, setting)

    @property
    def recipes_package(self) -> str:
        """The import name of the recipes package (the last part of ``recipes_dir``)."""
        return Path(self.build.recipes_dir).name

    @property
    def import_root(self) -> Path:
        """The folder put on ``sys.path`` so ``recipes.<module>`` and its siblings import."""
        return self.path("recipes_dir").parent

    @property
    def baseurl(self) -> str:
        return self.jekyll.get("baseurl") or ""


def find_project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds ``_config.yml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise UserError(
        f"no {CONFIG_NAME} found in {start.name or start} or any folder above it",
        hint="run build-site inside a litblog project, or pass --project DIR",
    )


def load_config(root: Path) -> SiteConfig:
    """Read and validate ``root/_config.yml``; every problem is reported at once."""
    config_file = root / CONFIG_NAME
    if not config_file.is_file():
        raise UserError(f"{CONFIG_NAME} not found in the project folder",
                        hint=f"create {CONFIG_NAME} with at least a 'title:'")
    text = read_source(config_file, CONFIG_NAME)
    document = parse_yaml(text, path=CONFIG_NAME, first_line=1)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise UserError("the config must be a mapping of keys to values", SourceLocation(CONFIG_NAME, 1))
    return _validate(root, data, document)


def _validate(root: Path, data: dict[str, Any], document: YamlDocument) -> SiteConfig:
    errors: list[UserError] = []
    jekyll = {k: v for k, v in data.items() if k != "litblog"}
    known_jekyll = {k: v for k, v in jekyll.items() if k in JEKYLL_SCHEMA}
    checked, jekyll_errors = validate_options(
        known_jekyll, list(JEKYLL_SCHEMA.values()), document, context="config key")
    errors += jekyll_errors
    jekyll.update({k: checked[k] for k in known_jekyll if k in checked})
    jekyll.setdefault("title", JEKYLL_SCHEMA["title"].default)
    jekyll.setdefault("permalink", JEKYLL_SCHEMA["permalink"].default)
    permalink = jekyll.get("permalink")
    if isinstance(permalink, str):
        from .posts import url_pattern_problem  # posts imports nothing from here; avoid a cycle anyway

        problem = url_pattern_problem(permalink)
        if problem:
            errors.append(UserError(f"config key 'permalink' is '{permalink}': it {problem}",
                                    document.location("permalink"), hint="for example /:year/:month/:day/:title/"))
    baseurl = jekyll.get("baseurl") or ""
    if baseurl and (not baseurl.startswith("/") or baseurl.endswith("/")):
        errors.append(UserError(
            f"config key 'baseurl' is '{baseurl}'", document.location("baseurl"),
            hint="write it as '/repo-name': a leading slash and no trailing one, or '' for a user site"))

    section = data.get("litblog") or {}
    if not isinstance(section, dict):
        errors.append(UserError("'litblog' must be a mapping of build settings",
                                document.location("litblog")))
        section = {}
    settings, build_errors = validate_options(
        section, BUILD_SCHEMA, document, key_path=("litblog",), context="config key")
    errors += build_errors
    if settings.get("seeds") is not None:
        seeds, problem = parse_seeds(settings["seeds"])
        if problem:
            errors.append(UserError(f"config key 'seeds' {problem}", document.location("litblog", "seeds"),
                                    hint="for example seeds: 3 (seeds 0, 1 and 2) or seeds: [0, 4, 7]"))
        elif "seed" in section:
            errors.append(UserError("config keys 'seed' and 'seeds' are both set", document.location("litblog", "seeds"),
                                    hint="keep one: seed for one run per experiment, seeds for several"))
        settings["seeds"] = seeds
    errors += _check_repository(settings, document)
    if not build_errors:
        errors += _check_folders(root, settings, document)
    if errors:
        raise UserErrors(errors)
    return SiteConfig(root=root, jekyll=jekyll, build=BuildSettings(**settings),
                      warnings=tuple(_missing_data_dir(root, settings.get("data_dir"), document)))


def _missing_data_dir(root: Path, data_dir: str | None, document: YamlDocument) -> list[str]:
    """A warning when ``litblog.data_dir`` names no folder: datasets would silently come from elsewhere."""
    if not data_dir:
        return []
    from ...common.datasets import search_dirs  # the worker's own rule for where data_dir points

    folder = search_dirs(data_dir, root)[-2]  # [LITBLOG_DATA_DIR,] data_dir, the Keras cache
    if folder.is_dir():
        return []
    return [f"{document.location('litblog', 'data_dir')}: litblog.data_dir is '{data_dir}', a folder that does "
            f"not exist; datasets are looked for in LITBLOG_DATA_DIR and the Keras cache only (create the "
            f"folder, or correct or remove the setting)"]


def _check_repository(settings: dict[str, Any], document: YamlDocument) -> list[UserError]:
    """``repository`` is a GitHub owner/name and ``branch`` a branch name: both go into URLs."""
    errors = []
    repository, branch = settings.get("repository"), settings.get("branch")
    if isinstance(repository, str) and not _REPOSITORY.match(repository):
        errors.append(UserError(f"config key 'repository' is '{repository}', not a GitHub owner/name",
                                document.location("litblog", "repository"), hint="for example repository: octocat/blog"))
    if isinstance(branch, str) and (not _BRANCH.match(branch) or ".." in branch):
        errors.append(UserError(f"config key 'branch' is '{branch}', not a branch name",
                                document.location("litblog", "branch"), hint="for example branch: main"))
    return errors


def _check_folders(root: Path, settings: dict[str, Any], document: YamlDocument) -> list[UserError]:
    """Each folder setting names a distinct subfolder of the project, and no written folder
    overlaps another: ``site_dir: .`` would replace the whole repository with the site."""
    errors: list[UserError] = []
    real_root = root.resolve()
    normal: dict[str, PurePosixPath] = {}
    for name in FOLDER_SETTINGS:
        value = str(settings[name])
        where = document.location("litblog", name)
        default = BuildSettings.__dataclass_fields__[name].default
        hint = f"use a folder inside the project, like the default '{default}'"
        path = PurePosixPath(posixpath.normpath(value.replace("\\", "/"))) if value.strip() else PurePosixPath(".")
        if value.startswith(("/", "~")) or Path(value).is_absolute() or (len(value) > 1 and value[1] == ":"):
            errors.append(UserError(f"config key '{name}' is '{value}', outside the project", where, hint=hint))
        elif ".." in PurePosixPath(value.replace("\\", "/")).parts:
            errors.append(UserError(f"config key '{name}' is '{value}', which uses '..'", where, hint=hint))
        elif str(path) == ".":
            errors.append(UserError(f"config key '{name}' is '{value}', the project folder itself", where, hint=hint))
        elif path.parts[0] in RESERVED_FOLDERS:
            errors.append(UserError(f"config key '{name}' is '{value}', inside {path.parts[0]}/", where, hint=hint))
        elif not (root / path).resolve().is_relative_to(real_root) or (root / path).resolve() == real_root:
            errors.append(UserError(f"config key '{name}' is '{value}', a symbolic link that leads "
                                    f"outside the project or to the project itself", where, hint=hint))
        else:
            real = PurePosixPath((root / path).resolve().relative_to(real_root).as_posix())
            if real.parts[0] in RESERVED_FOLDERS:
                errors.append(UserError(f"config key '{name}' is '{value}', a symbolic link into {real.parts[0]}/",
                                        where, hint=hint))
            else:
                normal[name] = real
    names = list(normal)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            a, b = normal[first], normal[second]
            later = max(first, second, key=lambda n: document.location("litblog", n).line)
            if a == b:
                errors.append(UserError(f"config keys '{first}' and '{second}' name the same folder '{a}'",
                                        document.location("litblog", later), hint="give each its own folder"))
            elif (first in WRITTEN_FOLDERS or second in WRITTEN_FOLDERS) and (a in b.parents or b in a.parents):
                inner, outer = (first, second) if b in a.parents else (second, first)
                written = outer if outer in WRITTEN_FOLDERS else inner
                errors.append(UserError(
                    f"config key '{inner}' ({normal[inner]}) lies inside '{outer}' ({normal[outer]}), "
                    f"and build-site replaces or prunes '{written}'",
                    document.location("litblog", later), hint="give each its own folder, side by side"))
    return errors
