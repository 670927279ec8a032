"""Stage 2: posts keep their front matter and line numbers; bad front matter is a located error."""

import datetime as dt
from pathlib import Path

import pytest

from litblog.common.errors import UserError
from litblog.buildtime.sources.posts import discover_posts, read_post


def post(root: Path, name: str, text: str) -> Path:
    path = root / "posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_front_matter_body_and_line_numbers(tmp_path):
    file = post(tmp_path, "2024-03-09-hello-world.md", "---\ntitle: Hello\ntags: [a]\n---\nFirst line\n")
    parsed = read_post(file, tmp_path)
    assert parsed.path == "posts/2024-03-09-hello-world.md"
    assert parsed.front_matter == {"title": "Hello", "tags": ["a"]}
    assert parsed.body_line == 5 and parsed.body.startswith("First line")
    assert parsed.date == dt.date(2024, 3, 9) and parsed.slug == "hello-world"
    assert parsed.output_name == "2024-03-09-hello-world.md"


def test_date_may_come_from_front_matter(tmp_path):
    file = post(tmp_path, "notes.md", "---\ntitle: Notes\ndate: 2023-01-31\n---\n")
    assert read_post(file, tmp_path).output_name == "2023-01-31-notes.md"


@pytest.mark.parametrize("name, text, line, words", [
    ("2024-01-01-a.md", "---\ntitle: [unclosed\n---\n", 2, "invalid YAML"),
    ("2024-01-01-a.md", "---\ntitle: x\n", 1, "front matter is not closed"),
    ("2024-01-01-a.md", "---\nauthor: me\n---\n", 2, "no title"),
    ("2023-02-30-a.md", "---\ntitle: x\n---\n", 1, "invalid date '2023-02-30'"),
    ("a.md", "---\ntitle: x\n---\n", 1, "no date"),
    ("2024-01-01-a.md", "---\ntitle: x\ndate: 2024-01-02\n---\n", 3, "disagrees"),
    ("2024-01-01-a.md", "---\n- a list\n---\n", 2, "must be a mapping"),
    ("2024-01-01-Bad Slug.md", "---\ntitle: x\n---\n", 1, "not usable in a URL"),
])
def test_bad_front_matter_is_a_located_error(tmp_path, name, text, line, words):
    file = post(tmp_path, name, text)
    with pytest.raises(UserError) as info:
        read_post(file, tmp_path)
    assert info.value.location.path == f"posts/{name}"
    assert info.value.location.line == line
    assert words in info.value.message


def test_drafts_are_not_posts(tmp_path):
    post(tmp_path, "2024-01-01-a.md", "")
    post(tmp_path, "_draft.md", "")
    post(tmp_path, "_drafts/2024-01-02-b.md", "")
    post(tmp_path, "notes.txt", "")
    assert [p.name for p in discover_posts(tmp_path / "posts")] == ["2024-01-01-a.md"]


def test_posts_are_found_in_folders_in_path_order_and_links_to_folders_are_not_followed(tmp_path):
    """``discover_posts`` walks with ``os.scandir`` (``serve`` looks after each save): the files, and
    the order, of ``sorted(rglob("*"))`` with the draft and suffix rules."""
    for name in ["a/2024-01-02-b.md", "a-2024-01-01-c.md", "A/2024-01-03-d.MD", "a/x/2024-01-04-e.markdown",
                 ".hidden/2024-01-05-f.md", "a/_draft/2024-01-06-g.md", "notes.md.txt"]:
        post(tmp_path, name, "")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "2024-01-07-h.md").write_text("")
    (tmp_path / "posts" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "posts" / "2024-01-08-i.md").symlink_to(tmp_path / "elsewhere" / "2024-01-07-h.md")
    found = discover_posts(tmp_path / "posts")
    expected = sorted(p for p in (tmp_path / "posts").rglob("*")
                      if p.suffix.lower() in (".md", ".markdown") and p.is_file()
                      and not any(part.startswith(("_", ".")) for part in p.relative_to(tmp_path / "posts").parts))
    assert found == expected
    assert [p.relative_to(tmp_path / "posts").as_posix() for p in found] == [
        "2024-01-08-i.md", "A/2024-01-03-d.MD", "a/2024-01-02-b.md", "a/x/2024-01-04-e.markdown",
        "a-2024-01-01-c.md"]
    assert discover_posts(tmp_path / "missing") == []
