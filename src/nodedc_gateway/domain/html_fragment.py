"""HTML fragments as Tasker stores them: a linear-time tokenizer and a small element tree
that remembers where every node sits in the source string.

The tree follows enough of HTML's parsing rules (void and raw-text elements, end tags that
close what they enclose, the implied ends of `<p>`, `<li>` and headings) to see the
structure Tasker's editor sees. The source string stays the single truth: callers cut and
splice it by the offsets given here, so bytes they do not own never change.

Hostile input is bounded: at most `MAX_FRAGMENT_CHARS` characters and `MAX_DEPTH` open
elements; every scan moves forward, so tokenizing is linear in the input.
"""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from enum import Enum
from typing import NamedTuple

import attrs

from nodedc_gateway.domain.errors import ValidationFailed

MAX_FRAGMENT_CHARS = 1_000_000
MAX_DEPTH = 128

HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
VOID_ELEMENTS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
        "param", "source", "track", "wbr",
    }
)  # fmt: skip
# Elements whose content is text up to their own end tag.
_RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"}
)
# Start tags that end an open <p> (HTML: "close a p element" in button scope).
_CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
        "div", "dl", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup",
        "hr", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table",
        "ul", "dd", "dt", "listing", "plaintext", "xmp", *HEADING_LEVELS,
    }
)  # fmt: skip
_P_SCOPE_LIMITS = frozenset(
    {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "button"}
)
# Where the search for an open <li>/<dd>/<dt> to close stops (HTML's "special" elements).
_ITEM_SCOPE_LIMITS = frozenset(
    {
        "ul", "ol", "dl", "menu", "dir", "table", "td", "th", "tr", "blockquote", "section",
        "article", "aside", "nav", "header", "footer", "main", "figure", "details", "fieldset",
        "form", "button", "template", "caption", "object", "applet", "marquee",
    }
)  # fmt: skip

_P = frozenset({"p"})
_LI = frozenset({"li"})
_DD_DT = frozenset({"dd", "dt"})

_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TAG_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
_SPACE = re.compile(r"[\t\n\f\r ]*")
_ATTR_NAME = re.compile(r"[^\t\n\f\r />][^\t\n\f\r /=>]*")
_UNQUOTED_VALUE = re.compile(r"[^\t\n\f\r >]*")
_COMMENT_END = re.compile(r"--!?>")
# Most tags are plain: names, then `name`, `name=value`, `name="value"` attributes. This
# pattern reads those in one step; anything else goes to the careful scanner below.
_HTML_SPACE = r"[\t\n\f\r ]"  # not \s: HTML spaces only, no NBSP or vertical tab
_PLAIN_NAME = r"[^\t\n\f\r />\"'=<]+"
# The value alternatives: double-quoted, single-quoted, bare (groups only where read).
_PLAIN_VALUE_SHAPE = r"(?:\"{0}[^\"]*{1}\"|'{0}[^']*{1}'|{0}[^\t\n\f\r \"'=<>`]+{1})"
_PLAIN_VALUE = _PLAIN_VALUE_SHAPE.format("(", ")")
_PLAIN_VALUE_UNREAD = _PLAIN_VALUE_SHAPE.format("", "")
_PLAIN_TAG = re.compile(
    rf"<(/?)([A-Za-z][^\t\n\f\r />\"'=<]*)"
    rf"((?:{_HTML_SPACE}+{_PLAIN_NAME}(?:{_HTML_SPACE}*={_HTML_SPACE}*{_PLAIN_VALUE_UNREAD})?)*)"
    rf"{_HTML_SPACE}*(/?)>"
)
_PLAIN_ATTRIBUTE = re.compile(rf"({_PLAIN_NAME})({_HTML_SPACE}*={_HTML_SPACE}*{_PLAIN_VALUE})?")
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}(?=[\t\n\f\r />]|$)", re.IGNORECASE) for name in _RAW_TEXT_ELEMENTS
}

Attributes = tuple[tuple[str, str | None], ...]


class LeafKind(Enum):
    TEXT = "text"
    COMMENT = "comment"  # comments, doctypes, processing instructions: never shown
    IGNORED = "ignored"  # end tags that close nothing, an unterminated tag at the end


class _TokenKind(Enum):
    START = "start"
    END = "end"
    LEAF = "leaf"


class _Token(NamedTuple):  # a tuple: tokens are made by the hundred thousand
    kind: _TokenKind
    start: int
    end: int
    name: str = ""
    attributes: Attributes = ()
    self_closing: bool = False
    leaf: LeafKind = LeafKind.TEXT
    terminator: str = ""  # what would end markup the source leaves unterminated


class _Unterminated(Exception):
    """The source ends inside a tag; `terminator` would end it."""

    def __init__(self, terminator: str) -> None:
        super().__init__(terminator)
        self.terminator = terminator


class Leaf(NamedTuple):
    """Text, a comment, or markup with no effect, at `source[start:end]`."""

    kind: LeafKind
    start: int
    end: int


@attrs.define(eq=False, repr=False)
class Element:
    """An element at `source[start:end]`; its content is `source[inner_start:inner_end]`."""

    name: str
    attributes: Attributes
    start: int
    inner_start: int
    inner_end: int = -1
    end: int = -1
    children: list[Leaf | Element] = attrs.field(factory=list)

    def attribute(self, name: str) -> str | None:
        """The value of the first attribute called `name` (`""` when it has no value)."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def has_attribute(self, name: str) -> bool:
        return any(key == name for key, _ in self.attributes)

    def element_children(self) -> Iterator[Element]:
        return (child for child in self.children if isinstance(child, Element))


Node = Leaf | Element


@attrs.frozen
class Fragment:
    """A parsed fragment: the source, its tree, the elements left open at its end, and,
    when the source ends inside a tag or comment, where that starts (`dangling_at`) and
    what would terminate it (`dangling`). HTML parsers drop such a cut-off tail."""

    source: str
    root: Element
    unclosed: tuple[str, ...]
    dangling: str = ""
    dangling_at: int | None = None

    def text(self, leaf: Leaf) -> str:
        """The decoded text of a text leaf."""
        return _decoded(self.source[leaf.start : leaf.end])

    def slice(self, node: Node) -> str:
        return self.source[node.start : node.end]


def end_tags(open_names: Sequence[str]) -> str:
    return "".join(f"</{name}>" for name in reversed(open_names))


def completion(source: str, *, field: str, keep_open: int = 0) -> str:
    """What to append to `source` so that what comes next is not swallowed by it: the
    end of a tag or comment it stops inside of, then end tags for the elements it leaves
    open (all but the outermost `keep_open`)."""
    added = ""
    for _ in range(3):  # a dangling tag, once ended, may open an element: at most twice
        fragment = parse_fragment(source + added, field=field)
        if not fragment.dangling:
            return added + end_tags(fragment.unclosed[keep_open:])
        added += fragment.dangling
    raise AssertionError("an ended tag cannot leave markup dangling")  # pragma: no cover


def parse_fragment(source: str, *, field: str) -> Fragment:
    """The tree of an HTML fragment; `ValidationFailed` on `field` beyond the limits."""
    if len(source) > MAX_FRAGMENT_CHARS:
        raise ValidationFailed.field(field, f"must have at most {MAX_FRAGMENT_CHARS} characters")
    builder = _TreeBuilder(field)
    for token in _tokens(source):
        if token.kind is _TokenKind.START:
            builder.open(token)
        elif token.kind is _TokenKind.END:
            builder.close(token)
        else:
            builder.stack[-1].children.append(Leaf(token.leaf, token.start, token.end))
            if token.terminator:
                builder.dangling, builder.dangling_at = token.terminator, token.start
    return builder.finish(source)


class _TreeBuilder:
    """The stack of open elements, with a count per name so that an end tag or an
    implied end with nothing to close costs nothing."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.stack = [Element("#fragment", (), 0, 0)]
        self.open_names: Counter[str] = Counter()
        self.dangling = ""
        self.dangling_at: int | None = None

    def open(self, token: _Token) -> None:
        self._close_implied(token.name, token.start)
        element = Element(token.name, token.attributes, token.start, token.end)
        self.stack[-1].children.append(element)
        if token.name in VOID_ELEMENTS or token.self_closing:
            element.inner_end = element.end = token.end
            return
        if len(self.stack) > MAX_DEPTH:
            raise ValidationFailed.field(
                self.field, f"must not nest elements more than {MAX_DEPTH} deep"
            )
        self.stack.append(element)
        self.open_names[token.name] += 1

    def close(self, token: _Token) -> None:
        index = self._innermost_named(token.name) if self.open_names[token.name] else 0
        if index == 0:
            self.stack[-1].children.append(Leaf(LeafKind.IGNORED, token.start, token.end))
            return
        element = self.stack[index]
        self._pop_to(index, token.start)
        element.end = token.end

    def finish(self, source: str) -> Fragment:
        root, *still_open = self.stack
        for element in still_open:
            element.inner_end = element.end = len(source)
        root.inner_end = root.end = len(source)
        unclosed = tuple(element.name for element in still_open)
        return Fragment(source, root, unclosed, self.dangling, self.dangling_at)

    def _close_implied(self, name: str, at: int) -> None:
        """The end tags HTML implies before a start tag: `<p>a<h2>` ends the paragraph."""
        if name in _CLOSES_P and self.open_names["p"]:
            self._pop_to(self._innermost(_P, _P_SCOPE_LIMITS), at)
        if name in HEADING_LEVELS and self.stack[-1].name in HEADING_LEVELS:
            self._pop_to(len(self.stack) - 1, at)
        if name == "li" and self.open_names["li"]:
            self._pop_to(self._innermost(_LI, _ITEM_SCOPE_LIMITS), at)
        if name in _DD_DT and (self.open_names["dd"] or self.open_names["dt"]):
            self._pop_to(self._innermost(_DD_DT, _ITEM_SCOPE_LIMITS), at)

    def _innermost_named(self, name: str) -> int:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].name == name:
                return index
        return 0

    def _innermost(self, names: frozenset[str], limits: frozenset[str]) -> int:
        """The stack index of the innermost open element named in `names`, unless an
        element in `limits` comes first; 0 when there is none."""
        for index in range(len(self.stack) - 1, 0, -1):
            element_name = self.stack[index].name
            if element_name in names:
                return index
            if element_name in limits:
                return 0
        return 0

    def _pop_to(self, index: int, at: int) -> None:
        """Close the element at `index` and everything inside it at offset `at`."""
        if index < 1:
            return
        for element in self.stack[index:]:
            element.inner_end = element.end = at
            self.open_names[element.name] -= 1
        del self.stack[index:]


def _tokens(source: str) -> Iterator[_Token]:
    """Tokens covering `source` exactly, in order; adjacent text is one token."""
    length = len(source)
    text_start = position = 0
    while True:
        lt = source.find("<", position)
        if lt < 0:
            break
        token = _markup_at(source, lt)
        if token is None:
            position = lt + 1
            continue
        if lt > text_start:
            yield _Token(_TokenKind.LEAF, text_start, lt)
        yield token
        position = token.end
        if (
            token.kind is _TokenKind.START
            and token.name in _RAW_TEXT_ELEMENTS
            and not token.self_closing
        ):
            found = _RAW_TEXT_END[token.name].search(source, position)
            raw_end = found.start() if found else length
            if raw_end > position:
                yield _Token(_TokenKind.LEAF, position, raw_end)
            position = raw_end
        text_start = position
    if text_start < length:
        yield _Token(_TokenKind.LEAF, text_start, length)


def _markup_at(source: str, lt: int) -> _Token | None:
    """The markup token starting at `source[lt] == "<"`, or None when it is just text."""
    plain = _PLAIN_TAG.match(source, lt)
    if plain is not None:
        return _plain_tag(plain)
    following = source[lt + 1 : lt + 2]
    if following in _ASCII_LETTERS:
        return _tag(source, lt, lt + 1, _TokenKind.START)
    if following == "/":
        after = source[lt + 2 : lt + 3]
        if after in _ASCII_LETTERS:
            return _tag(source, lt, lt + 2, _TokenKind.END)
        if after == ">":
            return _Token(_TokenKind.LEAF, lt, lt + 3, leaf=LeafKind.IGNORED)
        return _bogus_comment(source, lt, lt + 2)
    if source.startswith("<!--", lt):
        return _comment(source, lt)
    if following in ("!", "?"):
        return _bogus_comment(source, lt, lt + 2)
    return None


def _plain_tag(match: re.Match[str]) -> _Token:
    """A tag the fast pattern read whole; the same token the careful scanner would make."""
    closing, name, written, slash = match.groups()
    attributes = (
        tuple(
            (key.lower(), _decoded(double or single or bare) if assigned else None)
            for key, assigned, double, single, bare in _PLAIN_ATTRIBUTE.findall(written)
        )
        if written
        else ()
    )
    kind = _TokenKind.END if closing else _TokenKind.START
    return _Token(kind, match.start(), match.end(), name.lower(), attributes, bool(slash))


def _comment(source: str, lt: int) -> _Token:
    body = lt + 4
    if source.startswith(">", body):
        return _Token(_TokenKind.LEAF, lt, body + 1, leaf=LeafKind.COMMENT)
    if source.startswith("->", body):
        return _Token(_TokenKind.LEAF, lt, body + 2, leaf=LeafKind.COMMENT)
    found = _COMMENT_END.search(source, body)
    if found is None:
        return _Token(_TokenKind.LEAF, lt, len(source), leaf=LeafKind.COMMENT, terminator="-->")
    return _Token(_TokenKind.LEAF, lt, found.end(), leaf=LeafKind.COMMENT)


def _bogus_comment(source: str, lt: int, body: int) -> _Token:
    gt = source.find(">", body)
    if gt < 0:
        return _Token(_TokenKind.LEAF, lt, len(source), leaf=LeafKind.COMMENT, terminator=">")
    return _Token(_TokenKind.LEAF, lt, gt + 1, leaf=LeafKind.COMMENT)


def _tag(source: str, lt: int, name_at: int, kind: _TokenKind) -> _Token:
    """A start or end tag; an unterminated one swallows the rest, as in HTML."""
    try:
        return _complete_tag(source, lt, name_at, kind)
    except _Unterminated as unterminated:
        return _Token(
            _TokenKind.LEAF,
            lt,
            len(source),
            leaf=LeafKind.IGNORED,
            terminator=unterminated.terminator,
        )


def _complete_tag(source: str, lt: int, name_at: int, kind: _TokenKind) -> _Token:
    name_match = _TAG_NAME.match(source, name_at)
    assert name_match is not None  # the caller saw a letter at `name_at`
    name = name_match.group().lower()
    position = name_match.end()
    attributes: list[tuple[str, str | None]] = []
    length = len(source)
    while True:
        position = _after_space(source, position)
        if position >= length:
            raise _Unterminated(">")
        char = source[position]
        if char == ">":
            break
        if char == "/":
            if source.startswith(">", position + 1):
                return _Token(kind, lt, position + 2, name, tuple(attributes), self_closing=True)
            position += 1
            continue
        attribute, position = _attribute(source, position)
        attributes.append(attribute)
    return _Token(kind, lt, position + 1, name, tuple(attributes))


def _attribute(source: str, position: int) -> tuple[tuple[str, str | None], int]:
    """One `name`, `name=value`, `name="value"` at `position`, and where it ends."""
    name_match = _ATTR_NAME.match(source, position)
    assert name_match is not None  # the caller is at a character that starts a name
    name = name_match.group().lower()
    after_name = name_match.end()
    position = _after_space(source, after_name)
    if not source.startswith("=", position):
        return (name, None), after_name
    position = _after_space(source, position + 1)
    quote = source[position : position + 1]
    if quote in ('"', "'"):
        closing = source.find(quote, position + 1)
        if closing < 0:
            raise _Unterminated(f"{quote}>")
        return (name, _decoded(source[position + 1 : closing])), closing + 1
    value = _UNQUOTED_VALUE.match(source, position)
    assert value is not None  # the pattern matches the empty string
    return (name, _decoded(value.group())), value.end()


def _decoded(text: str) -> str:
    return html_lib.unescape(text) if "&" in text else text


def _after_space(source: str, position: int) -> int:
    match = _SPACE.match(source, position)
    return match.end() if match else position


def start_tag(name: str, attributes: Attributes) -> str:
    """A start tag written the way HTML serializers write it: `<li a="v" b>`."""
    written = "".join(
        f" {key}" if value is None else f' {key}="{html_lib.escape(value, quote=True)}"'
        for key, value in attributes
    )
    return f"<{name}{written}>"


def escape_text(text: str) -> str:
    return html_lib.escape(text, quote=False)


def with_attribute(attributes: Attributes, name: str, value: str | None) -> Attributes:
    """`attributes` with `name` set to `value` in place (or added at the end)."""
    if not any(key == name for key, _ in attributes):
        return (*attributes, (name, value))
    return tuple((key, value if key == name else old) for key, old in attributes)


def without_attribute(attributes: Attributes, name: str) -> Attributes:
    return tuple((key, value) for key, value in attributes if key != name)


# Tiptap's task list, as Plane's editor writes it:
# <ul data-type="taskList"><li data-type="taskItem" data-checked="true">
#   <label><input type="checkbox" checked><span></span></label><div><p>text</p></div></li></ul>


def is_task_list(node: Node) -> bool:
    return (
        isinstance(node, Element)
        and node.name == "ul"
        and node.attribute("data-type") == "taskList"
    )


def is_task_item(node: Node) -> bool:
    return (
        isinstance(node, Element)
        and node.name == "li"
        and node.attribute("data-type") == "taskItem"
    )


def task_item_checkbox(item: Element) -> Element | None:
    """The item's checkbox: the first `<input>` of its `<label>`, or a direct `<input>`."""
    for child in item.element_children():
        if child.name == "input":
            return child
        if child.name == "label":
            return next((c for c in child.element_children() if c.name == "input"), None)
    return None


def task_item_checked(item: Element) -> bool:
    """Tiptap reads `data-checked="true"`; without it, the checkbox's own state counts."""
    data_checked = item.attribute("data-checked")
    if data_checked is not None:
        return data_checked == "true"
    checkbox = task_item_checkbox(item)
    return checkbox is not None and checkbox.has_attribute("checked")


def task_item_content(item: Element) -> list[Node]:
    """What the item says: everything but its checkbox label."""
    return [
        c for c in item.children if not (isinstance(c, Element) and c.name in ("label", "input"))
    ]


# Readable text: what an agent reads back. Markdown-like, so it looks like what it wrote.
