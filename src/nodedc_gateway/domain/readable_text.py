"""A fragment read as text, the way its reader sees it: blocks on their own lines, list
markers, Markdown marks for emphasis, task items as `[x]` checkboxes, code kept as it is."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from nodedc_gateway.domain.html_fragment import (
    HEADING_LEVELS,
    Element,
    Fragment,
    Leaf,
    LeafKind,
    Node,
    is_task_item,
    is_task_list,
    task_item_checked,
    task_item_content,
)

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
#: Stands for `<br>` until spaces collapse: NUL, the one character a text never holds here
#: (HTML's parser ignores it in text, and so does `_inline`); any other could be the
#: text's own.
_HARD_BREAK = "\x00"
_RUNS_OF_SPACE = re.compile(r"\s+")
_SPACE_AROUND_BREAK = re.compile(r" ?\x00 ?")
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
        return [_indent("- ", "\n".join(_blocks(fragment, element.children)), 2)]
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
                width = 2  # what is nested under a task item lines up with its "[ ]"
            else:
                marker = f"{number}. " if ordered else "- "
                content = child.children
                width = len(marker)
                number += 1
            lines.append(_indent(marker, "\n".join(_blocks(fragment, content)), width))
        else:
            lines.extend(_blocks(fragment, [child]))
    return "\n".join(line for line in lines if line)


def _list_start(value: str | None) -> int:
    if value is None or not value.strip().isdigit() or len(value.strip()) > 9:
        return 1
    return min(int(value.strip()), _MAX_LIST_START)


def _indent(marker: str, text: str, width: int) -> str:
    lines = text.split("\n") if text else [""]
    rest = [f"{' ' * width}{line}" if line else "" for line in lines[1:]]
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
                parts.append(fragment.text(node).replace(_HARD_BREAK, ""))
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
