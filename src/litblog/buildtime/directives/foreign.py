"""Directives and roles of MyST and Jupyter Book that litblog does not have, with how to write the
same thing here: the way out an "unknown directive" or "unknown role" error gives an author who
comes from those tools (docs/authoring.md, "Coming from MyST")."""

from __future__ import annotations

_CODE = "a plain fence shows code: ```python"

DIRECTIVES: dict[str, str] = {
    "code-cell": "litblog runs recipes, not notebook cells: put the code in a function under src/recipes/ and "
                 "run it with ```{experiment} name and 'recipe: module.function'",
    "code-block": _CODE,
    "code": _CODE,
    "literalinclude": "an experiment shows its recipe's code with 'show: [code]'",
    "image": "a figure a run saved is ```{figure} experiment.name; an image of your own is Markdown, "
             "![what it shows](path), its file in static/ (copied into the site as it is)",
    "glue:figure": "```{figure} experiment.figure shows a figure the run saved",
    "list-table": "write a Markdown table (| a | b |), or ```{table} for experiments' values",
    "csv-table": "write a Markdown table (| a | b |), or ```{table} for experiments' values",
    "bibliography": "the References section is added by itself: cite with {cite}`key` and name the .bib file "
                    "in the front matter ('bibliography: refs.bib')",
    "dropdown": "an admonition, ```{note} or ```{admonition} Title, shows its text open; or a <details> element "
                "with markdown=\"1\"",
    "toctree": "a post is one page: its table of contents comes by itself ('toc: true' in the front matter)",
}

ROLES: dict[str, str] = {
    "eq": "equations are not numbered: write the equation with ```{math}, and refer to it in words",
    "glue": "{result}`experiment.value` shows a value the run recorded",
    "glue:text": "{result}`experiment.value:.2f` shows a value the run recorded, formatted",
    "eval": "{result}`experiment.value` shows a value the run recorded",
    "doc": "link to another post with Markdown: [its title](/2024/01/01/its-slug/)",
    "sub": "write <sub>...</sub>",
    "sup": "write <sup>...</sup>",
    "cite:ps": "{cite:p}`key`: authors are shortened to 'et al.' after two",
    "cite:ts": "{cite:t}`key`: authors are shortened to 'et al.' after two",
}
