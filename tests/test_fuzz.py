"""Property-based fuzzing of build-site's inputs: whatever a post or the config contains,
build-site exits 0 or 2, never prints a traceback, and leaves site/ untouched when it refuses.

The project fuzzed is this repository's own (its posts, recipes, stored results and site).
Builds run with ``--no-run``, so a mutation that changes a param shows a notice instead of
training. ``LITBLOG_FUZZ_EXAMPLES`` sets the number of examples (CI keeps the default).

Mutations also change the Markdown's container structure: lines quoted (``> ``) or made list
items (``- ``, ``1. ``, nested), fences of both kinds and several lengths inserted inside
them. A probe, code inside random containers holding a role that names no experiment and a
Liquid include of a missing file, is appended to a post: code is never evaluated, so no
error may name it and the Jekyll tree must carry its Liquid protected.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, snapshot
from litblog.buildtime.commands import cli

EXAMPLES = int(os.environ.get("LITBLOG_FUZZ_EXAMPLES", "40"))
PROJECT_PARTS = ("_config.yml", "posts", "src", "results", "site", "templates", "static")
PUBLISHED_POSTS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "posts").glob("[!_.]*.md"))
FUZZED_FILES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "posts").glob("*.md")) + ["_config.yml"]

# Values a new user (or a broken editor) puts where YAML expects something else.
NASTY_VALUES = [
    "", "~", "null", "[", "]", "{", "}", "{a: [b, {c: d}", "*alias", "&anchor x", "!!python/object:os.system",
    "!!binary aGVsbG8=", "!!set {a, b}", ".inf", "-.inf", ".nan", "1e999", "2024-13-45", "2024-01-01",
    "12:30:00", "0x1F", "0o17", "1_000", "-1", "0", "99999999999999999999999999", "yes", "off", "'", '"',
    "\"unterminated", "'{{ site.title }}'", "{% include x.html %}", "<script>alert(1)</script>",
    "../../../etc/passwd", "/etc/passwd", "a: b: c", "- item", "\t", "é∑😀", "\x00", "\u202e",
    "[" * 200 + "]" * 200, "[" * 2000, "&a [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
]
NASTY_NAMES = ["experiment", "experimnt", "figure", "table", "chart", "result", "claim", "", "{", "}",
               "plain", "model1", "augmented", "recipe", "params", "show", "seed", "seeds", "timeout",
               "columns", "experiments", "value", "caption", "title", "date", "permalink", "litblog",
               "site_dir", "posts_dir", "results_dir", "jobs", "data_dir"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's project, copied once, with the scratch caches a first build makes."""
    root = tmp_path_factory.mktemp("fuzz") / "project"
    root.mkdir()
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("_site", "_build", "__pycache__"))
        elif source.is_file():
            shutil.copy2(source, root / part)
    code, output = build(root)
    assert code == 0, output
    return root


def build(root: Path) -> tuple[int, str]:
    """``build-site --no-run -q`` in this process; any exception escaping it fails the test."""
    stream = io.StringIO()
    with contextlib.redirect_stderr(stream), contextlib.redirect_stdout(stream):
        code = cli.main(["--project", str(root), "--no-run", "-q", "--no-wait"])
    return code, stream.getvalue()


@st.composite
def mutation(draw: st.DrawFn, text: bytes) -> bytes:
    """One edit of ``text``: random bytes, a truncation, a line dropped or doubled, a YAML value or
    a directive/option name replaced."""
    lines = text.split(b"\n")
    kind = draw(st.sampled_from(["bytes", "truncate", "drop", "double", "value", "name", "fence",
                                 "quote", "list", "contained fence"]))
    if kind == "bytes":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.binary(min_size=1, max_size=16)) + text[at:]
    if kind == "truncate":
        return text[:draw(st.integers(0, max(0, len(text) - 1)))]
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "drop":
        return b"\n".join(lines[:index] + lines[index + 1:])
    if kind == "double":
        return b"\n".join(lines[:index + 1] + lines[index:])
    if kind in ("quote", "list"):
        # Lines index..end put inside a blockquote or a list item (a directive among them included).
        end = min(len(lines), index + draw(st.integers(1, 12)))
        first, rest = (b"> ", b"> ") if kind == "quote" else draw(st.sampled_from(
            [(b"- ", b"  "), (b"1. ", b"   "), (b"* ", b"  "), (b"- - ", b"    "), (b"1. > ", b"   > ")]))
        inside = [(first if n == 0 else rest) + line if line.strip() else (first if n == 0 else rest).rstrip()
                  for n, line in enumerate(lines[index:end])]
        return b"\n".join(lines[:index] + inside + lines[end:])
    if kind == "contained fence":
        block = [line.encode() for line in draw(contained_code("{result}`model1.test.accuracy` {{ x }}"))]
        return b"\n".join(lines[:index] + block + lines[index:])
    line = lines[index].decode("utf-8", "surrogateescape")
    if kind == "value":
        # Replace what follows a YAML key (or a whole line) with something awkward.
        head = line.split(":", 1)[0] + ": " if ":" in line else ""
        line = head + draw(st.sampled_from(NASTY_VALUES) | st.text(max_size=12))
    elif kind == "name":
        word = draw(st.sampled_from(NASTY_NAMES))
        if "{" in line and "}" in line:
            line = line[:line.index("{") + 1] + word + line[line.index("}"):]
        elif ":" in line:
            line = word + line[line.index(":"):]
        else:
            line = word + " " + line
    else:  # a fence opened or closed where it should not be
        line = draw(st.sampled_from(["```", "```{experiment} x", "```{table}", "````", "---", "```{chart}",
                                     "```{note}", "```{admonition}", "```{warning} text {result}`x.y`", ":class: tip"]))
    lines[index] = line.encode("utf-8", "surrogateescape")
    return b"\n".join(lines)


CONTAINERS = ["> ", "- ", "1. ", "* ", "2) "]


@st.composite
def contained_code(draw: st.DrawFn, content: str) -> list[str]:
    """A fenced code block (``` or ~~~, 3 to 5 long) holding ``content`` and a blank line,
    inside 0 to 3 nested blockquotes and list items; closed, or cut off by what follows."""
    prefix = "".join(draw(st.lists(st.sampled_from(CONTAINERS), max_size=3)))
    rest = re.sub(r"[-*]|\d[.)]", lambda m: " " * len(m.group(0)), prefix)
    fence = draw(st.sampled_from("`~")) * draw(st.integers(3, 5))
    info = draw(st.sampled_from(["", "text", "python", " liquid"]))
    body = [prefix + fence + info, rest + content, rest.rstrip(), rest + "{% if unclosed %}"]
    if draw(st.booleans()):
        body.append(rest + fence)
    return body


# Ends an HTML block of any kind CommonMark knows (<pre>, comments, <?, <!X, CDATA) that a
# mutation left open, so that the probe after it is Markdown.
_HTML_ENDS = "--> ?> ]]> > </pre></script></style></textarea>"
PROBE = "{result}`nowhere_probe.value` {claim}`nowhere_probe.a > 1` {{ probe_var }} {% include missing_probe.html %}"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_posts_and_config_exit_0_or_2_without_a_traceback(template: Path, tmp_path: Path,
                                                                    data: st.DataObject) -> None:
    root = tmp_path / f"p{len(list(tmp_path.iterdir()))}"
    shutil.copytree(template, root, ignore=shutil.ignore_patterns("build.lock"))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        name = data.draw(st.sampled_from(FUZZED_FILES), label="file")
        path = root / name
        path.write_bytes(data.draw(mutation(path.read_bytes()), label=f"mutated {name}"))
    probed = data.draw(st.sampled_from(PUBLISHED_POSTS), label="probed post")
    probe = data.draw(contained_code(PROBE), label="probe")
    with (root / probed).open("ab") as file:
        file.write("\n".join(["", "", _HTML_ENDS, "", "Probe:", "", *probe, ""]).encode())
    site_before = snapshot(root / "site")
    code, output = build(root)
    assert code in (0, 2), output
    assert "Traceback" not in output, output
    assert "nowhere_probe" not in output, output  # code is shown, never evaluated
    if code == 2:
        assert output.strip(), "a refusal must say why"
        assert snapshot(root / "site") == site_before
    else:
        published = "".join(p.read_text(encoding="utf-8") for p in (root / "site" / "_posts").glob("*.md"))
        assert "missing_probe" in published and "{% include missing_probe" not in published
    shutil.rmtree(root)
