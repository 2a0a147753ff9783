"""Reading a description: where its blocks are, and its checkers with their ids."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import attrs

from nodedc_gateway.domain.cards.block_names import BlockName, block_named
from nodedc_gateway.domain.cards.parts import (
    DESCRIPTION_FIELD,
    BlockSection,
    Checker,
    ForeignSegment,
    Part,
)
from nodedc_gateway.domain.html_fragment import (
    HEADING_LEVELS,
    Element,
    Fragment,
    LeafKind,
    Node,
    is_task_item,
    is_task_list,
    parse_fragment,
    task_item_checked,
    task_item_content,
)
from nodedc_gateway.domain.readable_text import inline_text

_MAX_WRAPPERS = 4
_CHECKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@attrs.frozen(eq=False)
class _ItemMarkup:
    """Where a checker sits: the part holding it and its `<li>` in that part's content."""

    part: int
    item: Element
    checker: Checker


@attrs.frozen(eq=False)
class Reading:
    """What reading a card's blocks found: its checkers, and where each one is written."""

    checkers_by_block: Mapping[BlockName, tuple[Checker, ...]]
    checkers: tuple[Checker, ...]
    items: Mapping[str, _ItemMarkup]


def block_container(fragment: Fragment) -> Element:
    """Where blocks are looked for: the top level, or inside a bare `<div>` that is the
    only thing there (lxml's wrapper around re-serialized multi-element HTML)."""
    container = fragment.root
    for _ in range(_MAX_WRAPPERS):
        significant = [n for n in container.children if not _is_blank(fragment, n)]
        if len(significant) != 1:
            break
        only = significant[0]
        if not (isinstance(only, Element) and only.name == "div" and not only.attributes):
            break
        container = only
    return container


def _is_blank(fragment: Fragment, node: Node) -> bool:
    if isinstance(node, Element):
        return False
    return node.kind is not LeafKind.TEXT or not fragment.slice(node).strip(" \t\n\r\f")


def split_parts(fragment: Fragment, container: Element, body_end: int) -> Iterator[Part]:
    """The container's content up to `body_end`, cut into block sections at the headings
    that name blocks, and foreign segments between them."""
    source = fragment.source
    cursor = container.inner_start
    open_block: tuple[BlockName, int, Element] | None = None
    seen: set[BlockName] = set()

    def part_until(end: int) -> Part | None:
        if open_block is not None:
            name, level, heading = open_block
            heading_end = min(heading.end, end)
            return BlockSection(
                name, level, source[heading.start : heading_end], source[heading_end:end]
            )
        return ForeignSegment(source[cursor:end]) if end > cursor else None

    for child in container.element_children():
        if child.start >= body_end:
            break
        level = HEADING_LEVELS.get(child.name)
        if level is None or (open_block is not None and level > open_block[1]):
            continue
        name = block_named(inline_text(fragment, child.children))
        if name is not None and name in seen:
            name = None
        if name is None and open_block is None:
            continue
        part = part_until(child.start)
        if part is not None:
            yield part
        cursor = child.start
        open_block = (name, level, child) if name is not None else None
        if name is not None:
            seen.add(name)
    last = part_until(body_end)
    if last is not None:
        yield last


def read_checkers(parts: Sequence[Part]) -> Reading:
    """The checkers of every block, with ids: first every usable `data-id` (the first of
    duplicates wins), then derived ids for the rest, avoiding those."""
    found: list[tuple[int, BlockSection, Fragment, list[Element]]] = []
    for index, part in enumerate(parts):
        if isinstance(part, BlockSection):
            found.append((index, part, part.content, list(_task_items(part.content))))
    in_markup: set[str] = set()
    for _, _, _, items in found:
        for item in items:
            data_id = item.attribute("data-id")
            if data_id is not None and _CHECKER_ID.fullmatch(data_id) and data_id not in in_markup:
                in_markup.add(data_id)
    used = set(in_markup)
    claimed: set[str] = set()
    occurrences: Counter[str] = Counter()
    by_block: dict[BlockName, tuple[Checker, ...]] = {}
    markups: dict[str, _ItemMarkup] = {}
    for index, section, fragment, items in found:
        checkers = []
        for item in items:
            text = _item_text(fragment, item)
            data_id = item.attribute("data-id")
            pinned = data_id is not None and data_id in in_markup and data_id not in claimed
            if data_id is not None and pinned:
                checker_id = data_id
                claimed.add(data_id)
            else:
                # Only items without an id of their own count: pinning an id, or adding
                # a checker with one, never moves the derived id of another.
                checker_id = _next_derived_id(text, occurrences, used)
            checker = Checker(checker_id, text, task_item_checked(item), section.name, pinned)
            checkers.append(checker)
            markups[checker_id] = _ItemMarkup(index, item, checker)
        by_block[section.name] = tuple(checkers)
    every = tuple(checker for checkers in by_block.values() for checker in checkers)
    return Reading(by_block, every, markups)


def new_checker_ids(reading: Reading, items_html: Sequence[str]) -> list[str]:
    """Ids for task items about to be added (`items_html`, one `<li>` each, without an
    id) to the card `reading` read: derived from the text each reads back as, as if it
    came after every item without an id of its own, and never an id a checker of the card
    has, so that no checker's id moves or passes to another. On a card with no item of
    the same text (a new card), they are what reading those items without ids derives."""
    used = set(reading.items)
    occurrences = Counter(_identity(c.text) for c in reading.checkers if not c.id_in_markup)
    ids = []
    for item_html in items_html:
        fragment = parse_fragment(item_html, field=DESCRIPTION_FIELD)
        (item,) = fragment.root.element_children()
        ids.append(_next_derived_id(_item_text(fragment, item), occurrences, used))
    return ids


def _item_text(fragment: Fragment, item: Element) -> str:
    """A task item's text, without the task lists nested in it."""
    return inline_text(fragment, task_item_content(item), skip=is_task_list)


def _next_derived_id(text: str, occurrences: Counter[str], used: set[str]) -> str:
    """The derived id of the next item without an id of its own that says `text`; counts
    it in `occurrences` and `used`."""
    key = _identity(text)
    checker_id = _derived_id(key, occurrences[key], used)
    occurrences[key] += 1
    used.add(checker_id)
    return checker_id


def _task_items(fragment: Fragment) -> Iterator[Element]:
    """The items of the top-level task lists, and of the task lists nested in them."""
    for child in fragment.root.element_children():
        if is_task_list(child):
            yield from _items_of(child)


def _items_of(task_list: Element) -> Iterator[Element]:
    for item in task_list.element_children():
        if is_task_item(item):
            yield item
            for nested in _nested_task_lists(item):
                yield from _items_of(nested)


def _nested_task_lists(item: Element) -> Iterator[Element]:
    pending = [c for c in reversed(list(item.element_children())) if c.name != "label"]
    while pending:
        element = pending.pop()
        if is_task_list(element):
            yield element
        else:
            pending.extend(reversed(list(element.element_children())))


def _identity(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _derived_id(key: str, occurrence: int, used: set[str]) -> str:
    """`chk-` and 16 hex digits of SHA-256 over the text and its occurrence number."""
    number = occurrence
    while True:
        digest = hashlib.sha256(f"{key}\x00{number}".encode()).hexdigest()
        candidate = f"chk-{digest[:16]}"
        if candidate not in used:
            return candidate
        number += 1
