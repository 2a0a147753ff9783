"""Block HTML written by agents: checked against an allow-list, closed, and with its
headings moved below the block's own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from nodedc_gateway.domain.cards.limits import MAX_BLOCK_HTML
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.html_fragment import (
    HEADING_LEVELS,
    VOID_ELEMENTS,
    Element,
    Fragment,
    Leaf,
    LeafKind,
    Node,
    is_task_item,
    is_task_list,
    parse_fragment,
    start_tag,
)

_URL_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_ALLOWED_MARKUP: Mapping[str, frozenset[str]] = {
    **{tag: frozenset() for tag in ("p", "br", "hr", "blockquote", "pre", "ul", "li", "div")},
    **{tag: frozenset() for tag in ("strong", "b", "em", "i", "u", "s", "del", "sub", "sup")},
    **{tag: frozenset() for tag in ("span", "table", "thead", "tbody", "tfoot", "tr")},
    **{tag: frozenset() for tag in HEADING_LEVELS},
    "code": frozenset({"class"}),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"style", "colspan", "rowspan"}),
    "td": frozenset({"style", "colspan", "rowspan"}),
}
_URL_ATTRIBUTES = frozenset({"href", "src"})


def block_html(html: object, level: int, field: str) -> str:
    """Block content as the card stores it: `html` checked against the allow-list (what
    the gateway's Markdown renderer writes), every element closed, comments dropped, and
    headings moved below the block's own `level` (past h6 they become bold paragraphs)."""
    if not isinstance(html, str):
        raise ValidationFailed.field(field, "must be a string of HTML")
    if len(html) > MAX_BLOCK_HTML:
        raise ValidationFailed.field(field, f"must have at most {MAX_BLOCK_HTML} characters")
    fragment = parse_fragment(html, field=field)
    levels = [HEADING_LEVELS[e.name] for e in _elements(fragment.root) if e.name in HEADING_LEVELS]
    for element in _elements(fragment.root):
        _check_markup(element, field)
    shift = max(0, level + 1 - min(levels)) if levels else 0
    written: list[str] = []
    _write(fragment, fragment.root.children, shift, written)
    return "".join(written)


def _elements(root: Element) -> Iterator[Element]:
    pending = list(root.element_children())
    while pending:
        element = pending.pop()
        yield element
        pending.extend(element.element_children())


def _check_markup(element: Element, field: str) -> None:
    if is_task_list(element) or is_task_item(element):
        raise ValidationFailed.field(
            field, "holds no task lists: add checkers with update_checkers (add)"
        )
    allowed = _ALLOWED_MARKUP.get(element.name)
    if allowed is None:
        raise ValidationFailed.field(field, f"<{element.name}> is not allowed in a card block")
    for key, value in element.attributes:
        if key not in allowed:
            raise ValidationFailed.field(
                field, f"the attribute {key!r} is not allowed on <{element.name}>"
            )
        if key in _URL_ATTRIBUTES and not _is_safe_url(value or ""):
            raise ValidationFailed.field(
                field, f"{key} must be an http(s), mailto or tel URL, or a relative one"
            )


def _is_safe_url(url: str) -> bool:
    scheme = _URL_SCHEME.match(_URL_IGNORED.sub("", url).lower())
    return scheme is None or scheme.group(1) in _SAFE_URL_SCHEMES


def _write(fragment: Fragment, nodes: Sequence[Node], shift: int, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, Leaf):
            if node.kind is LeafKind.TEXT:
                out.append(fragment.slice(node))
            continue
        heading_level = HEADING_LEVELS.get(node.name)
        if heading_level is not None:
            moved = heading_level + shift
            opening, closing = (
                (f"<h{moved}>", f"</h{moved}>") if moved <= 6 else ("<p><strong>", "</strong></p>")
            )
            out.append(opening)
            _write(fragment, node.children, shift, out)
            out.append(closing)
            continue
        out.append(start_tag(node.name, node.attributes))
        if node.name not in VOID_ELEMENTS:
            _write(fragment, node.children, shift, out)
            out.append(f"</{node.name}>")
