"""The markup a card write produces: block headings, closed sections, appended notes,
new task items and the edits that check, uncheck or pin a checker."""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from nodedc_gateway.domain.cards.block_content import block_html
from nodedc_gateway.domain.cards.block_names import BlockName
from nodedc_gateway.domain.cards.parts import DESCRIPTION_FIELD, BlockSection, ForeignSegment, Part
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.html_fragment import (
    Element,
    completion,
    end_tags,
    escape_text,
    is_task_list,
    parse_fragment,
    start_tag,
    task_item_checkbox,
    with_attribute,
    without_attribute,
)

# A heading that certainly ends where its text does: nothing in it to complete.
_PLAIN_HEADING = re.compile(
    r"<h([1-6])(?:\s+[^\s<>\"'=/]+(?:=\"[^\"<>]*\"|='[^'<>]*')?)*\s*>[^<>]*</h\1>",
    re.IGNORECASE,
)


def block_heading(name: BlockName, level: int) -> str:
    return f"<h{level}>{escape_text(name.heading_text)}</h{level}>"


def _completed(html: str) -> str:
    """`html` with whatever it leaves open ended, so that what follows is not inside it."""
    return html + completion(html, field=DESCRIPTION_FIELD)


def completed_content(section: BlockSection) -> str:
    """The section's content, ended like `_completed`, from its already parsed tree."""
    parsed = section.content
    if parsed.dangling:
        return _completed(section.content_html)
    return section.content_html + end_tags(parsed.unclosed)


def _completed_heading(heading_html: str) -> str:
    if len(heading_html) < 500 and _PLAIN_HEADING.fullmatch(heading_html):
        return heading_html
    return _completed(heading_html)


def with_content(section: BlockSection, content_html: str) -> BlockSection:
    return attrs.evolve(
        section, heading_html=_completed_heading(section.heading_html), content_html=content_html
    )


def closed_part(part: Part) -> Part:
    if isinstance(part, ForeignSegment):
        return ForeignSegment(_completed(part.html))
    return with_content(part, completed_content(part))


def note_html(html: object, level: int) -> str:
    field = f"blocks.{BlockName.IMPLEMENTATION_NOTES.value}"
    added = block_html(html, level, field)
    if not added.strip():
        raise ValidationFailed.field(field, "must not be empty: notes are only appended")
    return added


def task_lists_of(content_html: str) -> str:
    """The block's top-level task lists, closed: its checkers, kept across a rewrite."""
    fragment = parse_fragment(content_html, field=DESCRIPTION_FIELD)
    return "".join(
        _completed(fragment.slice(child))
        for child in fragment.root.element_children()
        if is_task_list(child)
    )


def task_list(items_html: str) -> str:
    return f'<ul data-type="taskList">{items_html}</ul>'


def new_item(text: str, checker_id: str | None = None) -> str:
    """An unchecked task item, with `checker_id` (a derived id: `chk-` and hex digits)
    as its `data-id` if given."""
    data_id = "" if checker_id is None else f' data-id="{checker_id}"'
    return (
        f'<li data-type="taskItem" data-checked="false"{data_id}><label>'
        '<input type="checkbox">'
        f"<span></span></label><div><p>{escape_text(text)}</p></div></li>"
    )


def with_items_added(content_html: str, items_html: str) -> str:
    """New items at the end of the block's last top-level task list, or in a new list at
    the end of the block."""
    fragment = parse_fragment(content_html, field=DESCRIPTION_FIELD)
    lists = [child for child in fragment.root.element_children() if is_task_list(child)]
    if not lists:
        return (
            content_html + completion(content_html, field=DESCRIPTION_FIELD) + task_list(items_html)
        )
    at = lists[-1].inner_end
    before = content_html[:at]
    # End what is open inside the list there (not the list), so the items land in it.
    inside = completion(before, field=DESCRIPTION_FIELD, keep_open=1)
    return before + inside + items_html + content_html[at:]


def check_edits(item: Element, checked: bool) -> list[tuple[int, int, str]]:
    """The `<li>` start tag with `data-checked`, and the checkbox with `checked`, set."""
    edits = [
        (
            item.start,
            item.inner_start,
            start_tag("li", with_attribute(item.attributes, "data-checked", str(checked).lower())),
        )
    ]
    checkbox = task_item_checkbox(item)
    if checkbox is not None:
        attributes = (
            with_attribute(checkbox.attributes, "checked", "checked")
            if checked
            else without_attribute(checkbox.attributes, "checked")
        )
        edits.append((checkbox.start, checkbox.inner_start, start_tag("input", attributes)))
    return edits


def spliced(html: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """`html` with each `(start, end, replacement)` applied; spans must not overlap, and a
    later edit of the same span wins."""
    by_span = {(start, end): text for start, end, text in edits}
    pieces: list[str] = []
    cursor = 0
    for (start, end), text in sorted(by_span.items()):
        pieces.append(html[cursor:start])
        pieces.append(text)
        cursor = end
    pieces.append(html[cursor:])
    return "".join(pieces)
