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
from collections.abc import Callable, Iterator, Sequence
from enum import Enum

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

_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TAG_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
_SPACE = re.compile(r"[\t\n\f\r ]*")
_ATTR_NAME = re.compile(r"[^\t\n\f\r />][^\t\n\f\r /=>]*")
_UNQUOTED_VALUE = re.compile(r"[^\t\n\f\r >]*")
_COMMENT_END = re.compile(r"--!?>")
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


@attrs.frozen
class _Token:
    kind: _TokenKind
    start: int
    end: int
    name: str = ""
    attributes: Attributes = ()
    self_closing: bool = False
    leaf: LeafKind = LeafKind.TEXT


@attrs.frozen
class Leaf:
    """Text, a comment, or markup with no effect, at `source[start:end]`."""

    kind: LeafKind
    start: int
    end: int


@attrs.define(eq=False)
class Element:
    """An element at `source[start:end]`; its content is `source[inner_start:inner_end]`.

    `closed` is False when the fragment ends while the element is still open (its end tag,
    and those of its open descendants, are missing from the source).
    """

    name: str
    attributes: Attributes
    start: int
    inner_start: int
    inner_end: int = -1
    end: int = -1
    children: list[Leaf | Element] = attrs.field(factory=list)
    closed: bool = True

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
    """A parsed fragment: the source, its tree, and the elements left open at its end."""

    source: str
    root: Element
    unclosed: tuple[str, ...]

    def text(self, leaf: Leaf) -> str:
        """The decoded text of a text leaf."""
        return html_lib.unescape(self.source[leaf.start : leaf.end])

    def slice(self, node: Node) -> str:
        return self.source[node.start : node.end]

    @property
    def closers(self) -> str:
        """End tags for everything still open at the end, innermost first."""
        return end_tags(self.unclosed)


def end_tags(open_names: Sequence[str]) -> str:
    return "".join(f"</{name}>" for name in reversed(open_names))


def parse_fragment(source: str, *, field: str) -> Fragment:
    """The tree of an HTML fragment; `ValidationFailed` on `field` beyond the limits."""
    if len(source) > MAX_FRAGMENT_CHARS:
        raise ValidationFailed.field(field, f"must have at most {MAX_FRAGMENT_CHARS} characters")
    root = Element("#fragment", (), 0, 0)
    stack = [root]
    for token in _tokens(source):
        if token.kind is _TokenKind.START:
            _open(stack, token, field)
        elif token.kind is _TokenKind.END:
            _close(stack, token)
        else:
            stack[-1].children.append(Leaf(token.leaf, token.start, token.end))
    for element in stack[1:]:
        element.inner_end = element.end = len(source)
        element.closed = False
    root.inner_end = root.end = len(source)
    return Fragment(source, root, tuple(element.name for element in stack[1:]))


def _open(stack: list[Element], token: _Token, field: str) -> None:
    _close_implied(stack, token.name, token.start)
    element = Element(token.name, token.attributes, token.start, token.end)
    stack[-1].children.append(element)
    if token.name in VOID_ELEMENTS or token.self_closing:
        element.inner_end = element.end = token.end
        return
    if len(stack) > MAX_DEPTH:
        raise ValidationFailed.field(field, f"must not nest elements more than {MAX_DEPTH} deep")
    stack.append(element)


def _close_implied(stack: list[Element], name: str, at: int) -> None:
    """The end tags HTML implies before a start tag: `<p>a<h2>` ends the paragraph."""
    if name in _CLOSES_P:
        _pop_to(stack, _open_index(stack, frozenset({"p"}), _P_SCOPE_LIMITS), at)
    if name in HEADING_LEVELS and stack[-1].name in HEADING_LEVELS:
        _pop_to(stack, len(stack) - 1, at)
    if name == "li":
        _pop_to(stack, _open_index(stack, frozenset({"li"}), _ITEM_SCOPE_LIMITS), at)
    if name in ("dd", "dt"):
        _pop_to(stack, _open_index(stack, frozenset({"dd", "dt"}), _ITEM_SCOPE_LIMITS), at)


def _open_index(stack: list[Element], names: frozenset[str], limits: frozenset[str]) -> int:
    """The index of the innermost open element named in `names`, within scope; else 0."""
    for index in range(len(stack) - 1, 0, -1):
        element_name = stack[index].name
        if element_name in names:
            return index
        if element_name in limits:
            return 0
    return 0


def _pop_to(stack: list[Element], index: int, at: int) -> None:
    if index < 1:
        return
    for element in stack[index:]:
        element.inner_end = element.end = at
    del stack[index:]


def _close(stack: list[Element], token: _Token) -> None:
    for index in range(len(stack) - 1, 0, -1):
        if stack[index].name == token.name:
            for inner in stack[index + 1 :]:
                inner.inner_end = inner.end = token.start
            stack[index].inner_end = token.start
            stack[index].end = token.end
            del stack[index:]
            return
    stack[-1].children.append(Leaf(LeafKind.IGNORED, token.start, token.end))


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


def _comment(source: str, lt: int) -> _Token:
    body = lt + 4
    if source.startswith(">", body):
        return _Token(_TokenKind.LEAF, lt, body + 1, leaf=LeafKind.COMMENT)
    if source.startswith("->", body):
        return _Token(_TokenKind.LEAF, lt, body + 2, leaf=LeafKind.COMMENT)
    found = _COMMENT_END.search(source, body)
    end = found.end() if found else len(source)
    return _Token(_TokenKind.LEAF, lt, end, leaf=LeafKind.COMMENT)


def _bogus_comment(source: str, lt: int, body: int) -> _Token:
    gt = source.find(">", body)
    end = gt + 1 if gt >= 0 else len(source)
    return _Token(_TokenKind.LEAF, lt, end, leaf=LeafKind.COMMENT)


def _tag(source: str, lt: int, name_at: int, kind: _TokenKind) -> _Token:
    """A start or end tag; an unterminated one swallows the rest, as in HTML."""
    name_match = _TAG_NAME.match(source, name_at)
    assert name_match is not None  # the caller saw a letter at `name_at`
    name = name_match.group().lower()
    position = name_match.end()
    attributes: list[tuple[str, str | None]] = []
    length = len(source)
    while True:
        position = _after_space(source, position)
        if position >= length:
            return _Token(_TokenKind.LEAF, lt, length, leaf=LeafKind.IGNORED)
        char = source[position]
        if char == ">":
            break
        if char == "/":
            if source.startswith(">", position + 1):
                return _Token(kind, lt, position + 2, name, tuple(attributes), self_closing=True)
            position += 1
            continue
        parsed = _attribute(source, position)
        if parsed is None:
            return _Token(_TokenKind.LEAF, lt, length, leaf=LeafKind.IGNORED)
        attribute, position = parsed
        attributes.append(attribute)
    return _Token(kind, lt, position + 1, name, tuple(attributes))


def _attribute(source: str, position: int) -> tuple[tuple[str, str | None], int] | None:
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
            return None
        return (name, html_lib.unescape(source[position + 1 : closing])), closing + 1
    value = _UNQUOTED_VALUE.match(source, position)
    assert value is not None  # the pattern matches the empty string
    return (name, html_lib.unescape(value.group())), value.end()


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

_BLOCK_ELEMENTS = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "dd",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "ul",
        *HEADING_LEVELS,
    }
)  # fmt: skip
_UNSHOWN = frozenset(
    {"script", "style", "template", "head", "title", "input", "noscript", "iframe", "object"}
)
_INLINE_MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "s": "~~", "del": "~~"}
_HARD_BREAK = "\ue000"  # a private-use character standing for <br> until spaces collapse
_RUNS_OF_SPACE = re.compile(r"\s+")
_SPACE_AROUND_BREAK = re.compile(r" ?\ue000 ?")
_MAX_LIST_START = 10**9


def readable_text(fragment: Fragment, nodes: Sequence[Node]) -> str:
    """Markdown-like text of `nodes`: paragraphs, `#` headings, `- `/`1. `/`- [x] ` lists,
    fenced code, `> ` quotes, tables as `| a | b |`; inline marks and links as Markdown."""
    return "\n\n".join(_blocks(fragment, nodes))


def inline_text(
    fragment: Fragment, nodes: Sequence[Node], *, skip: Callable[[Node], bool] | None = None
) -> str:
    """The text of `nodes` on one line, spaces collapsed (a checker's or heading's text),
    leaving out elements `skip` names (a checker's nested task lists)."""
    return " ".join(_inline(fragment, nodes, skip).replace(_HARD_BREAK, " ").split())


def _blocks(fragment: Fragment, nodes: Sequence[Node]) -> list[str]:
    blocks: list[str] = []
    pending: list[Node] = []

    def flush() -> None:
        text = _collapse(_inline(fragment, pending))
        pending.clear()
        if text:
            blocks.append(text)

    for node in nodes:
        if isinstance(node, Element) and node.name in _BLOCK_ELEMENTS:
            flush()
            blocks.extend(block for block in _block(fragment, node) if block)
        else:
            pending.append(node)
    flush()
    return blocks


def _block(fragment: Fragment, element: Element) -> list[str]:
    name = element.name
    if name in HEADING_LEVELS:
        title = _collapse(_inline(fragment, element.children))
        return [f"{'#' * HEADING_LEVELS[name]} {title}"] if title else []
    if name == "p":
        return [_collapse(_inline(fragment, element.children))]
    if name in ("ul", "ol"):
        return [_list(fragment, element)]
    if name == "li":
        return [_indent("- ", "\n".join(_blocks(fragment, element.children)))]
    if name == "pre":
        return [_code_block(fragment, element)]
    if name == "blockquote":
        quoted = "\n\n".join(_blocks(fragment, element.children))
        return ["\n".join(f"> {line}".rstrip() for line in quoted.split("\n"))] if quoted else []
    if name == "hr":
        return ["---"]
    if name == "table":
        return [_table(fragment, element)]
    return _blocks(fragment, element.children)


def _list(fragment: Fragment, element: Element) -> str:
    task_list = is_task_list(element)
    ordered = element.name == "ol"
    number = _list_start(element.attribute("start")) if ordered else 1
    lines: list[str] = []
    for child in element.children:
        if isinstance(child, Element) and child.name == "li":
            if task_list and is_task_item(child):
                marker = "- [x] " if task_item_checked(child) else "- [ ] "
                content: Sequence[Node] = task_item_content(child)
            else:
                marker = f"{number}. " if ordered else "- "
                content = child.children
                number += 1
            lines.append(_indent(marker, "\n".join(_blocks(fragment, content))))
        else:
            lines.extend(_blocks(fragment, [child]))
    return "\n".join(line for line in lines if line)


def _list_start(value: str | None) -> int:
    if value is None or not value.strip().isdigit() or len(value.strip()) > 9:
        return 1
    return min(int(value.strip()), _MAX_LIST_START)


def _indent(marker: str, text: str) -> str:
    lines = text.split("\n") if text else [""]
    rest = [f"{' ' * len(marker)}{line}" if line else "" for line in lines[1:]]
    return "\n".join([f"{marker}{lines[0]}".rstrip(), *rest])


def _code_block(fragment: Fragment, element: Element) -> str:
    language = ""
    for child in element.element_children():
        if child.name == "code":
            for css_class in (child.attribute("class") or "").split():
                if css_class.startswith("language-"):
                    language = css_class.removeprefix("language-")
    code = _raw_text(fragment, element).rstrip("\n")
    return f"```{language}\n{code}\n```"


def _raw_text(fragment: Fragment, element: Element) -> str:
    parts: list[str] = []
    for child in element.children:
        if isinstance(child, Leaf):
            if child.kind is LeafKind.TEXT:
                parts.append(fragment.text(child))
        elif child.name == "br":
            parts.append("\n")
        else:
            parts.append(_raw_text(fragment, child))
    return "".join(parts)


def _table(fragment: Fragment, table: Element) -> str:
    rows: list[str] = []
    for row in _table_rows(table):
        cells = [c for c in row.element_children() if c.name in ("td", "th")]
        rows.append("| " + " | ".join(inline_text(fragment, c.children) for c in cells) + " |")
        if len(rows) == 1 and cells and all(c.name == "th" for c in cells):
            rows.append("|" + " --- |" * len(cells))
    return "\n".join(rows)


def _table_rows(table: Element) -> Iterator[Element]:
    for child in table.element_children():
        if child.name == "tr":
            yield child
        elif child.name in ("thead", "tbody", "tfoot"):
            yield from (row for row in child.element_children() if row.name == "tr")


def _inline(
    fragment: Fragment, nodes: Sequence[Node], skip: Callable[[Node], bool] | None = None
) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Leaf):
            if node.kind is LeafKind.TEXT:
                parts.append(fragment.text(node))
        elif skip is None or not skip(node):
            parts.append(_inline_element(fragment, node, skip))
    return "".join(parts)


def _inline_element(
    fragment: Fragment, element: Element, skip: Callable[[Node], bool] | None
) -> str:
    name = element.name
    if name in _UNSHOWN:
        return ""
    if name == "br":
        return _HARD_BREAK
    if name == "img":
        alt, src = element.attribute("alt") or "", element.attribute("src") or ""
        return f"![{alt}]({src})" if src else alt
    inner = _inline(fragment, element.children, skip)
    if name in _INLINE_MARKS and inner.strip():
        mark = _INLINE_MARKS[name]
        return f"{mark}{inner.strip()}{mark}"
    if name == "code" and inner:
        return f"`{inner}`"
    if name == "a":
        href = (element.attribute("href") or "").strip()
        text = " ".join(inner.split())
        if href and text and text != href:
            return f"[{text}]({href})"
        return text or href
    if name in _BLOCK_ELEMENTS:
        return f" {inner} "
    return inner


def _collapse(text: str) -> str:
    """Runs of whitespace as one space; `<br>` as a line break; no space at either end."""
    spaced = _RUNS_OF_SPACE.sub(" ", text)
    return _SPACE_AROUND_BREAK.sub("\n", spaced).strip(" \n")
