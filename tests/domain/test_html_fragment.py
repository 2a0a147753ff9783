"""The HTML fragment tree under task cards: offsets that cover the source exactly, the
structure an editor would see, readable text, and bounded work on hostile input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.html_fragment import (
    _PLAIN_TAG,
    MAX_DEPTH,
    MAX_FRAGMENT_CHARS,
    Element,
    Fragment,
    Leaf,
    LeafKind,
    _complete_tag,
    _plain_tag,
    _TokenKind,
    completion,
    parse_fragment,
)
from nodedc_gateway.domain.readable_text import readable_text
from tests.domain.choices import SOUP, Choices, decoded


def _check_spans(element: Element, source: str) -> None:
    assert element.start <= element.inner_start <= element.inner_end <= element.end
    cursor = element.inner_start
    for child in element.children:
        assert child.start == cursor
        assert child.start <= child.end
        if isinstance(child, Element):
            _check_spans(child, source)
        cursor = child.end
    assert cursor == element.inner_end


@given(SOUP)
def test_the_tree_covers_every_character_exactly_once(source: str) -> None:
    fragment = parse_fragment(source, field="html")
    assert (fragment.root.start, fragment.root.end) == (0, len(source))
    _check_spans(fragment.root, source)


@given(SOUP)
def test_completion_leaves_nothing_open_and_keeps_the_source(source: str) -> None:
    completed = source + completion(source, field="html")
    fragment = parse_fragment(completed, field="html")
    assert fragment.unclosed == ()
    assert fragment.dangling == ""
    assert completed.startswith(source)


@given(SOUP)
def test_what_follows_a_completed_fragment_is_at_the_top_level(source: str) -> None:
    fragment = parse_fragment(
        source + completion(source, field="html") + "<h2>Goal</h2>", field="h"
    )
    last = fragment.root.children[-1]
    assert isinstance(last, Element)
    assert last.name == "h2"


def test_implied_ends_follow_html() -> None:
    fragment = parse_fragment("<p>a<h2>Goal</h2><ul><li>x<li>y</ul>", field="html")
    names = [child.name for child in fragment.root.element_children()]
    assert names == ["p", "h2", "ul"]
    items = list(next(e for e in fragment.root.element_children() if e.name == "ul").children)
    assert [item.name for item in items if isinstance(item, Element)] == ["li", "li"]


def test_raw_text_and_comments_hide_markup() -> None:
    fragment = parse_fragment("<script><h2>Goal</h2></script><!-- <h2>Plan</h2> -->", field="h")
    script, comment = fragment.root.children
    assert isinstance(script, Element)
    assert script.name == "script"
    assert isinstance(comment, Leaf)
    assert comment.kind is LeafKind.COMMENT


def test_attributes_are_decoded_and_case_folded() -> None:
    fragment = parse_fragment(
        "<LI Data-Type=taskItem data-checked='true' title=\"a &amp; b\" x>", field="h"
    )
    item = next(fragment.root.element_children())
    assert item.attributes == (
        ("data-type", "taskItem"),
        ("data-checked", "true"),
        ("title", "a & b"),
        ("x", None),
    )


def _text(source: str) -> str:
    fragment: Fragment = parse_fragment(source, field="html")
    return readable_text(fragment, fragment.root.children)


def test_readable_text_reads_like_markdown() -> None:
    assert _text("<p>Hello <strong>big</strong>   world<br>next</p><p>two</p>") == (
        "Hello **big** world\nnext\n\ntwo"
    )
    assert _text("<ul><li><p>a</p><ol start='3'><li>b</li><li>c</li></ol></li></ul>") == (
        "- a\n  3. b\n  4. c"
    )
    assert _text('<pre><code class="language-py">x = 1\n  y &lt; 2\n</code></pre>') == (
        "```py\nx = 1\n  y < 2\n```"
    )
    assert _text('<blockquote><p>q</p></blockquote><p><a href="https://e.x">site</a></p>') == (
        "> q\n\n[site](https://e.x)"
    )
    assert _text(
        '<ul data-type="taskList"><li data-type="taskItem" data-checked="true"><label>'
        '<input type="checkbox" checked><span></span></label><div><p>done</p></div></li></ul>'
    ) == ("- [x] done")
    assert _text("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>") == (
        "| a | b |\n| --- | --- |\n| 1 | 2 |"
    )


def test_readable_text_keeps_every_character_a_person_wrote() -> None:
    # The reader marks a `<br>` with a character of its own until spaces collapse. Text
    # holding U+E000 (that mark until e14e7a6) reads as written; a NUL (the mark now) is
    # left out, as HTML's parser leaves it out of text: neither reads as a line break.
    assert _text("<p>a\ue000b<br>c</p>") == "a\ue000b\nc"
    assert _text("<p>\ue000</p>") == "\ue000"
    assert _text("<p>a\x00 b<br>c</p>") == "a b\nc"


def test_limits_refuse_huge_and_deep_input() -> None:
    with pytest.raises(ValidationFailed):
        parse_fragment("x" * (MAX_FRAGMENT_CHARS + 1), field="html")
    with pytest.raises(ValidationFailed, match="nest"):
        parse_fragment("<div>" * (MAX_DEPTH + 2), field="html")
    parse_fragment("<div>" * MAX_DEPTH, field="html")


@pytest.mark.parametrize(
    "hostile",
    [
        '<a b="' + "<x " * 60_000,
        "<!--" + "<p>" * 60_000,
        "<p " * 60_000,
        "</" * 90_000,
        "<script>" + "</scrip" * 30_000,
        "&" * 180_000,
        "<b>" * 100 + "</i>" * 60_000,
    ],
    ids=[
        "open-quote",
        "open-comment",
        "open-tags",
        "end-slashes",
        "raw-text",
        "ampersands",
        "ends",
    ],
)
def test_hostile_input_is_parsed_in_linear_time(hostile: str) -> None:
    # CPU time of this process, not wall time: other work on a busy machine does not count
    # (a quadratic parse of these inputs takes minutes; a linear one a fraction of a second).
    started = time.process_time()
    parse_fragment(hostile[:MAX_FRAGMENT_CHARS], field="html")
    assert time.process_time() - started < 2.0


def tag_like(c: Choices) -> str:
    """Mostly tags the fast path takes, some it must leave to the careful scanner."""
    odd = c.below(3) == 0
    spaces = [" ", "\n", "\t"] + (["  ", "\u00a0", "\x0b", ""] if odd else [])
    names = ["data-id", "CLASS", "x"] + (["a'b", '"', "=", "/", "<"] if odd else [])
    values = ['"v"', "'v'", "v", '"&lt;x&gt;"'] + (['a"b', "`x`", "&amp;", "", "'"] if odd else [])
    attributes = "".join(
        c.pick(spaces) + c.pick(names) + c.pick(["", "=", " = ", "=\n"]) + c.pick(values)
        for _ in range(c.count(3))
    )
    start = c.pick(["<", "</"])
    name = c.pick(["p", "LI", "h2", "data-x", "a:b", 'a"b', "x=y", "br"])
    return start + name + attributes + c.pick([">", "/>", " >", " / >", "", "x>"])


TAG_LIKE = decoded(tag_like)


@given(TAG_LIKE, st.sampled_from(["", ">", '">', "<p>", "'"]))
def test_the_fast_path_reads_tags_as_the_careful_scanner_does(tag: str, after: str) -> None:
    source = tag + after
    fast = _PLAIN_TAG.match(source)
    if fast is None:
        return
    name_at = 2 if source.startswith("</") else 1
    kind = _TokenKind.END if name_at == 2 else _TokenKind.START
    assert _plain_tag(fast) == _complete_tag(source, 0, name_at, kind)
