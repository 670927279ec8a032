"""Recipe listings highlighted coarsely at build time (buildtime/render/highlight.py): the text unchanged, a
span only for keywords, strings, comments, numbers and def/class names, runs of one class merged."""

from __future__ import annotations

import re
from html import unescape

from hypothesis import given, settings, strategies as st

from litblog.buildtime.render.highlight import coarse_spans, highlighted

LISTING = '''import numpy as np
from keras import layers  # the layers


def model(ctx, size: int = 160, rate=0.5):
    """A docstring."""
    if size is not None and rate:
        return "a" + 'b'


class Net:
    pass
'''


def test_only_what_a_reader_scans_for_gets_a_span_and_runs_of_one_class_are_one():
    page = highlighted(LISTING)
    assert page.startswith('<pre class="highlight"><code>') and page.endswith("</code></pre>")
    spans = re.findall(r'<span class="([a-z]+)">([^<]*)</span>', page)
    assert {name for name, _ in spans} == {"k", "s", "c", "m", "nf", "nc"}
    assert ("k", "is not None and") in spans  # adjacent keywords, with their blanks: one span
    assert ("s", "&#34;&#34;&#34;A docstring.&#34;&#34;&#34;") in spans
    assert ("nf", "model") in spans and ("nc", "Net") in spans and ("c", "# the layers") in spans
    # names, operators and punctuation stay plain text: a per-token highlighter makes ~5x the spans
    assert len(spans) == 18
    assert unescape(re.sub(r"<[^>]+>", "", page)) == LISTING.rstrip()


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
               max_size=80))
def test_any_source_comes_back_as_it_was_escaped(source):
    page = highlighted(source)
    assert "<script" not in page.lower().replace("&lt;", "")
    assert unescape(re.sub(r"<[^>]+>", "", page)) == (source.rstrip() + "\n").rstrip("\n")
    runs = coarse_spans(source + "\n")
    assert all(a[0] != b[0] for a, b in zip(runs, runs[1:]))  # adjacent runs differ in class
