"""Task cards: named blocks and checkers inside an issue's `description_html`.

A card is the issue description, read as a sequence of parts: **blocks** the gateway
understands (`goal`, `context`, `plan`, `acceptance`, `implementation_notes`, `risks`,
`links`) and **foreign** HTML it never touches. Humans keep editing the card in Tasker's
editor (Plane's, built on tiptap/ProseMirror); agents change only the blocks they name.

Markup, and why
---------------
- A block is a **heading** whose text is the block's title (`<h2>Goal</h2>`), followed by
  everything up to the next heading of the same or a higher rank (as in any document
  outline), or the end. Plane's editor keeps headings h1–h6 with their text, but drops
  unknown elements and attributes, and its server sanitizer (nh3) drops comments and
  unlisted `data-*` attributes: a marker comment or a `data-block` attribute would vanish
  the first time a human saves. A heading is also what a human sees and understands.
  Reading is tolerant of what an editor does to it: any level (h1–h6), attributes (Plane
  adds `class` and `data-id`), case, surrounding spaces, emoji, a trailing colon or a
  leading number (`1. Goal:`), and the aliases in `BLOCK_TITLES`/`_SPELLINGS`. Blocks are
  found among the top-level elements, or inside one wrapping bare `<div>` (Plane's REST
  API re-serializes multi-element HTML with lxml, which wraps it so). A second heading
  for a block already seen is foreign text.
- **Checkers** are Plane's native task list, exactly what its editor writes:
  `<ul data-type="taskList"><li data-type="taskItem" data-checked="false" data-id="…">
  <label><input type="checkbox"><span></span></label><div><p>text</p></div></li></ul>`.
  The items of a block's top-level task lists (and the task lists nested in them) are
  that block's checkers; `add` puts new ones in `acceptance` unless told otherwise.
  Task lists in foreign HTML are not checkers: they are not the card's.
- A **checker id** lives in the item's `data-id`. Plane's editor gives every block node,
  task items included, a `data-id` (its UniqueID extension) and keeps an existing one, and
  the sanitizer allows it, so an id written once survives human edits. An item with no
  usable `data-id` (written by an older editor, or a duplicate after a copy-paste) gets a
  deterministic id from its text and how many items before it say the same
  (`chk-` + 16 hex digits of SHA-256): stable across checking, unchecking, re-rendering,
  and edits of other checkers, but it changes when its own text is edited. Every write
  through `update_checkers` pins such ids into the markup, so from then on they survive
  text edits too. New checkers get their id the same way, so an editor that drops
  `data-id` still derives the same id for them. No clock and no randomness are involved.

Everything outside the blocks is kept byte for byte: `parse_card(html).render() == html`
for every string, and operations only replace, extend or insert blocks. The one repair:
if the description ends with elements left open and a block is added after them, their
end tags are added first, or the new block would be swallowed by them. (A tag or comment
cut off at the very end, which HTML parsers drop, stays the last bytes, in `suffix`.)

Block content is HTML (the application turns the agent's Markdown into safe HTML first);
`Block.text` is the same content as Markdown-like text, so an agent reads back what it
wrote. Writes check that HTML against a small allow-list, close what it leaves open, and
move its headings below the block's own heading so the card's outline stays the same.
`implementation_notes` only grows: `append_notes` adds to it, and nothing here can
replace or shorten it (so checkers a person put there are read-only for agents, and
agents cannot add checkers there). Card rules (`CardRules`) are a project's data:
required blocks and size limits, enforced on what agents write.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import CardRuleViolation, ValidationFailed
from nodedc_gateway.domain.html_fragment import (
    HEADING_LEVELS,
    MAX_FRAGMENT_CHARS,
    VOID_ELEMENTS,
    Element,
    Fragment,
    Leaf,
    LeafKind,
    Node,
    completion,
    end_tags,
    escape_text,
    is_task_item,
    is_task_list,
    parse_fragment,
    start_tag,
    task_item_checkbox,
    task_item_checked,
    task_item_content,
    with_attribute,
    without_attribute,
)
from nodedc_gateway.domain.readable_text import inline_text, readable_text
from nodedc_gateway.domain.tasker import MAX_DESCRIPTION

#: The largest HTML one block write may carry.
MAX_BLOCK_HTML = 100_000
#: The longest checker text anyone may add, whatever a project's rules say.
MAX_CHECKER_TEXT = 1_000
#: The most checker ids (or texts) one call may name.
MAX_CHECKERS_PER_CALL = 100
#: The most checkers a project's rules may allow on one card.
MAX_CHECKERS_PER_CARD = 1_000
#: The heading level of blocks the gateway adds when the card has none to follow.
DEFAULT_HEADING_LEVEL = 2

_FIELD = "description_html"
_MAX_WRAPPERS = 4
_MAX_TITLE_CHARS = 80
# A heading that certainly ends where its text does: nothing in it to complete.
_PLAIN_HEADING = re.compile(
    r"<h([1-6])(?:\s+[^\s<>\"'=/]+(?:=\"[^\"<>]*\"|='[^'<>]*')?)*\s*>[^<>]*</h\1>",
    re.IGNORECASE,
)
_CHECKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_WORDS = re.compile(r"\w+")
_URL_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


class BlockName(StrEnum):
    """The named blocks of a card, in the order a new card shows them."""

    GOAL = "goal"
    CONTEXT = "context"
    PLAN = "plan"
    ACCEPTANCE = "acceptance"
    IMPLEMENTATION_NOTES = "implementation_notes"
    RISKS = "risks"
    LINKS = "links"

    @property
    def heading_text(self) -> str:
        """The heading text the gateway writes for this block."""
        return BLOCK_TITLES[self]


BLOCK_TITLES: Mapping[BlockName, str] = {
    BlockName.GOAL: "Goal",
    BlockName.CONTEXT: "Context",
    BlockName.PLAN: "Plan",
    BlockName.ACCEPTANCE: "Acceptance criteria",
    BlockName.IMPLEMENTATION_NOTES: "Implementation notes",
    BlockName.RISKS: "Risks",
    BlockName.LINKS: "Links",
}
_ORDER = {name: index for index, name in enumerate(BlockName)}
_NAMES = frozenset(name.value for name in BlockName)
_NOTES = BlockName.IMPLEMENTATION_NOTES


def _title_key(text: str) -> str:
    """A heading's text reduced to its words: case, emoji, punctuation and a leading
    number (`1. Goal:`) do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    words = _WORDS.findall(folded)
    while words and words[0].isdigit():
        words.pop(0)
    return " ".join(words)


_SPELLINGS: Mapping[str, BlockName] = {
    **{_title_key(title): name for name, title in BLOCK_TITLES.items()},
    **{_title_key(name.value): name for name in BlockName},
}


def block_named(heading_text: str) -> BlockName | None:
    """The block a heading with this text introduces, if any."""
    if len(heading_text) > _MAX_TITLE_CHARS:
        return None
    return _SPELLINGS.get(_title_key(heading_text))


def parse_block_name(value: object, field: str = "blocks") -> BlockName:
    """A block name as an agent gives it; `ValidationFailed` lists the valid ones."""
    if isinstance(value, str) and value in _NAMES:
        return BlockName(value)
    raise ValidationFailed.choice(field, str(value), "block", (n.value for n in BlockName))


@attrs.frozen
class Checker:
    """One checkbox of a card. `id_in_markup` says whether the id is written in the
    description (`data-id`) or derived from the text until the next checker write."""

    id: str
    text: str
    checked: bool
    block: BlockName
    id_in_markup: bool


@attrs.frozen
class Block:
    """A block as a reader sees it: its HTML, the same as readable text, its checkers."""

    name: BlockName
    html: str
    text: str
    checkers: tuple[Checker, ...]


@attrs.frozen
class ForeignSegment:
    """HTML the card does not own, kept byte for byte."""

    html: str


@attrs.frozen
class BlockSection:
    """A block in the description: its heading (as written) and the content after it."""

    name: BlockName
    level: int
    heading_html: str
    content_html: str

    @property
    def html(self) -> str:
        return self.heading_html + self.content_html

    @functools.cached_property
    def content(self) -> Fragment:
        """The content, parsed once per section (unchanged sections are shared by the
        cards an operation makes, so they are not parsed again)."""
        return parse_fragment(self.content_html, field=_FIELD)

    @functools.cached_property
    def text(self) -> str:
        """The content as readable text."""
        return readable_text(self.content, self.content.root.children)


Part = ForeignSegment | BlockSection


@attrs.frozen(eq=False)
class _ItemMarkup:
    """Where a checker sits: the part holding it and its `<li>` in that part's content."""

    part: int
    item: Element
    checker: Checker


@attrs.frozen(eq=False)
class _Reading:
    """What reading a card's blocks found: its checkers, and where each one is written."""

    checkers_by_block: Mapping[BlockName, tuple[Checker, ...]]
    checkers: tuple[Checker, ...]
    items: Mapping[str, _ItemMarkup]


@attrs.frozen
class Card:
    """An issue description read as a card: `prefix` and `suffix` are foreign HTML around
    the part that can hold blocks (a wrapping `<div>`'s tags, say); `parts` alternate
    between foreign segments and block sections. Build it with `parse_card` or `new_card`.
    """

    prefix: str
    parts: tuple[Part, ...]
    suffix: str

    def render(self) -> str:
        """The description HTML to store."""
        return self.prefix + "".join(part.html for part in self.parts) + self.suffix

    @property
    def foreign(self) -> tuple[str, ...]:
        """Every foreign segment, in order: what no card operation may change."""
        segments = [self.prefix, *(p.html for p in self.parts if isinstance(p, ForeignSegment))]
        return tuple(segment for segment in [*segments, self.suffix] if segment)

    @property
    def blocks(self) -> Mapping[BlockName, Block]:
        """The card's blocks by name, in the order they appear."""
        return self._blocks

    @property
    def checkers(self) -> tuple[Checker, ...]:
        """Every checker of every block, in the order they appear."""
        return self._reading.checkers

    def block(self, name: BlockName) -> Block | None:
        return self._blocks.get(name)

    # Writing blocks

    def write_blocks(self, blocks: Mapping[str, str]) -> Card:
        """What an agent's `update_card` does: each named block gets the given HTML;
        `implementation_notes` is appended to, never replaced. Unknown names are
        `ValidationFailed` listing the valid ones."""
        if not isinstance(blocks, Mapping) or not blocks:
            raise ValidationFailed.field("blocks", "give at least one block: name → content")
        named = {parse_block_name(key, f"blocks.{key}"): value for key, value in blocks.items()}
        card = self
        for name in sorted(named, key=_ORDER.__getitem__):
            if name is BlockName.IMPLEMENTATION_NOTES:
                card = card.append_notes(named[name])
            else:
                card = card.with_block(name, named[name])
        return card

    def with_block(self, name: BlockName, html: str) -> Card:
        """The card with block `name` holding `html` (added where the block order puts it
        if absent). The block's checkers stay; its other content is replaced. The notes
        block is append-only and refused here."""
        field = f"blocks.{name.value}"
        if name is BlockName.IMPLEMENTATION_NOTES:
            raise ValidationFailed.field(field, "is append-only: add to it, never replace it")
        index = self._index_of(name)
        if index is None:
            where, level = self._insertion_point(name)
            section = BlockSection(name, level, _heading(name, level), "")
            return self._inserted(where, _with_content(section, block_html(html, level, field)))
        section = self._section(index)
        content = block_html(html, section.level, field) + _task_lists_of(section.content_html)
        return self._replaced(index, _with_content(section, content))

    def append_notes(self, html: str) -> Card:
        """The card with `html` added at the end of `implementation_notes`: what was there
        stays, unchanged, as the start of the new notes."""
        name = BlockName.IMPLEMENTATION_NOTES
        index = self._index_of(name)
        if index is None:
            where, level = self._insertion_point(name)
            section = BlockSection(name, level, _heading(name, level), _note_html(html, level))
            return self._inserted(where, section)
        section = self._section(index)
        notes = _completed_content(section) + _note_html(html, section.level)
        return self._replaced(index, _with_content(section, notes))

    # Checkers

    def update_checkers(
        self,
        *,
        check: Iterable[object] = (),
        uncheck: Iterable[object] = (),
        add: Iterable[object] = (),
        block: BlockName = BlockName.ACCEPTANCE,
    ) -> Card:
        """What an agent's `update_checkers` does: check and uncheck checkers by id, then
        add unchecked ones by text to `block`, then write every derived id into the markup
        so it no longer depends on the text. Unknown ids are `ValidationFailed` listing the
        valid ones. Checkers a person put in `implementation_notes` are read-only here:
        agents only ever append to that block."""
        to_check = _checker_ids(check, "check")
        to_uncheck = _checker_ids(uncheck, "uncheck")
        texts = _checker_texts(add, "add")
        if not (to_check or to_uncheck or texts):
            raise ValidationFailed.field("check", "give at least one of check, uncheck or add")
        both = sorted(set(to_check) & set(to_uncheck))
        if both:
            raise ValidationFailed.field("uncheck", f"also asked to be checked: {', '.join(both)}")
        states = dict.fromkeys(to_check, True) | dict.fromkeys(to_uncheck, False)
        return self._with_states(states)._with_new_checkers(texts, block)._with_ids_pinned()

    def check(self, ids: Iterable[object]) -> Card:
        return self.update_checkers(check=ids)

    def uncheck(self, ids: Iterable[object]) -> Card:
        return self.update_checkers(uncheck=ids)

    def add_checkers(
        self, texts: Iterable[object], block: BlockName = BlockName.ACCEPTANCE
    ) -> Card:
        return self.update_checkers(add=texts, block=block)

    # Internals

    @functools.cached_property
    def _reading(self) -> _Reading:
        return _read(self.parts)

    @functools.cached_property
    def _blocks(self) -> Mapping[BlockName, Block]:
        by_block = self._reading.checkers_by_block
        return {
            part.name: Block(part.name, part.content_html, part.text, by_block[part.name])
            for part in self.parts
            if isinstance(part, BlockSection)
        }

    def _index_of(self, name: BlockName) -> int | None:
        return next(
            (i for i, p in enumerate(self.parts) if isinstance(p, BlockSection) and p.name == name),
            None,
        )

    def _section(self, index: int) -> BlockSection:
        part = self.parts[index]
        assert isinstance(part, BlockSection)
        return part

    def _insertion_point(self, name: BlockName) -> tuple[int, int]:
        """Where a new block goes, and its heading level: after the nearest block that
        comes before it in block order, else before the nearest that comes after, else at
        the end. Taking that neighbour's level keeps the outline: the new heading ends the
        block before it and is ended by the block after it."""
        sections = [(i, p) for i, p in enumerate(self.parts) if isinstance(p, BlockSection)]
        earlier = [(i, p) for i, p in sections if _ORDER[p.name] < _ORDER[name]]
        if earlier:
            index, section = max(earlier, key=lambda found: _ORDER[found[1].name])
            return index + 1, section.level
        later = [(i, p) for i, p in sections if _ORDER[p.name] > _ORDER[name]]
        if later:
            index, section = min(later, key=lambda found: _ORDER[found[1].name])
            return index, section.level
        return len(self.parts), DEFAULT_HEADING_LEVEL

    def _inserted(self, index: int, section: BlockSection) -> Card:
        parts = list(self.parts)
        if index == len(parts) and parts:
            parts[-1] = _closed_part(parts[-1])
        parts.insert(index, section)
        return attrs.evolve(self, parts=tuple(parts))

    def _replaced(self, index: int, section: BlockSection) -> Card:
        parts = list(self.parts)
        parts[index] = section
        return attrs.evolve(self, parts=tuple(parts))

    def _with_states(self, states: Mapping[str, bool]) -> Card:
        items = self._reading.items
        writable = [i for i, markup in items.items() if markup.checker.block is not _NOTES]
        for checker_id, field in ((i, "check" if s else "uncheck") for i, s in states.items()):
            if checker_id not in items:
                raise ValidationFailed.choice(field, checker_id, "checker id", writable)
            if items[checker_id].checker.block is _NOTES:
                raise ValidationFailed.field(
                    field,
                    f"{checker_id} is part of implementation_notes, which agents only add to; "
                    "a person can tick it in Tasker",
                )
        edits: dict[int, list[tuple[int, int, str]]] = {}
        for checker_id, checked in states.items():
            markup = items[checker_id]
            if markup.checker.checked != checked:
                edits.setdefault(markup.part, []).extend(_check_edits(markup.item, checked))
        return self._edited(edits)

    def _with_new_checkers(self, texts: Sequence[str], name: BlockName) -> Card:
        if not texts:
            return self
        if name is _NOTES:
            raise ValidationFailed.field(
                "add", "checkers cannot go in implementation_notes, which agents only add text to"
            )
        new_items = "".join(_new_item(text) for text in texts)
        index = self._index_of(name)
        if index is None:
            where, level = self._insertion_point(name)
            section = BlockSection(name, level, _heading(name, level), _task_list(new_items))
            return self._inserted(where, section)
        section = self._section(index)
        return self._replaced(
            index, _with_content(section, _with_items_added(section.content_html, new_items))
        )

    def _with_ids_pinned(self) -> Card:
        edits: dict[int, list[tuple[int, int, str]]] = {}
        for markup in self._reading.items.values():
            if not markup.checker.id_in_markup and markup.checker.block is not _NOTES:
                tag = with_attribute(markup.item.attributes, "data-id", markup.checker.id)
                edits.setdefault(markup.part, []).append(
                    (markup.item.start, markup.item.inner_start, start_tag("li", tag))
                )
        return self._edited(edits)

    def _edited(self, edits: Mapping[int, list[tuple[int, int, str]]]) -> Card:
        if not edits:
            return self
        parts = list(self.parts)
        for index, part_edits in edits.items():
            section = self._section(index)
            parts[index] = attrs.evolve(
                section, content_html=_spliced(section.content_html, part_edits)
            )
        return attrs.evolve(self, parts=tuple(parts))


def parse_card(description_html: str) -> Card:
    """Read an issue description as a card. Never changes it: `render()` gives back the
    same string. `ValidationFailed` only beyond the size and nesting limits."""
    if not isinstance(description_html, str):
        raise ValidationFailed.field(_FIELD, "must be a string")
    fragment = parse_fragment(description_html, field=_FIELD)
    container = _container(fragment)
    # A tag or comment cut off at the very end swallows anything after it: it stays last.
    body_end = container.inner_end
    if fragment.dangling_at is not None:
        body_end = max(container.inner_start, min(body_end, fragment.dangling_at))
    return Card(
        prefix=description_html[: container.inner_start],
        parts=tuple(_parts(fragment, container, body_end)),
        suffix=description_html[body_end:],
    )


def new_card(
    *,
    blocks: Mapping[str, str] | None = None,
    checkers: Iterable[object] = (),
    description_html: str = "",
) -> Card:
    """What `create_issue(card=…)` writes: the `description` HTML (if any) followed by the
    given blocks in block order, and the given checker texts in `acceptance`."""
    card = parse_card(description_html)
    if blocks:
        card = card.write_blocks(blocks)
    texts = _checker_texts(checkers, "card.checkers")
    return card.update_checkers(add=texts) if texts else card


# Reading


def _container(fragment: Fragment) -> Element:
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


def _parts(fragment: Fragment, container: Element, body_end: int) -> Iterator[Part]:
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


def _read(parts: Sequence[Part]) -> _Reading:
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
            text = inline_text(fragment, task_item_content(item), skip=is_task_list)
            key = _identity(text)
            occurrence = occurrences[key]
            occurrences[key] += 1
            data_id = item.attribute("data-id")
            pinned = data_id is not None and data_id in in_markup and data_id not in claimed
            if data_id is not None and pinned:
                checker_id = data_id
                claimed.add(data_id)
            else:
                checker_id = _derived_id(key, occurrence, used)
                used.add(checker_id)
            checker = Checker(checker_id, text, task_item_checked(item), section.name, pinned)
            checkers.append(checker)
            markups[checker_id] = _ItemMarkup(index, item, checker)
        by_block[section.name] = tuple(checkers)
    every = tuple(checker for checkers in by_block.values() for checker in checkers)
    return _Reading(by_block, every, markups)


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


# Writing


def _heading(name: BlockName, level: int) -> str:
    return f"<h{level}>{escape_text(name.heading_text)}</h{level}>"


def _completed(html: str) -> str:
    """`html` with whatever it leaves open ended, so that what follows is not inside it."""
    return html + completion(html, field=_FIELD)


def _completed_content(section: BlockSection) -> str:
    """The section's content, ended like `_completed`, from its already parsed tree."""
    parsed = section.content
    if parsed.dangling:
        return _completed(section.content_html)
    return section.content_html + end_tags(parsed.unclosed)


def _completed_heading(heading_html: str) -> str:
    if len(heading_html) < 500 and _PLAIN_HEADING.fullmatch(heading_html):
        return heading_html
    return _completed(heading_html)


def _with_content(section: BlockSection, content_html: str) -> BlockSection:
    return attrs.evolve(
        section, heading_html=_completed_heading(section.heading_html), content_html=content_html
    )


def _closed_part(part: Part) -> Part:
    if isinstance(part, ForeignSegment):
        return ForeignSegment(_completed(part.html))
    return _with_content(part, _completed_content(part))


def _note_html(html: object, level: int) -> str:
    field = f"blocks.{BlockName.IMPLEMENTATION_NOTES.value}"
    added = block_html(html, level, field)
    if not added.strip():
        raise ValidationFailed.field(field, "must not be empty: notes are only appended")
    return added


def _task_lists_of(content_html: str) -> str:
    """The block's top-level task lists, closed: its checkers, kept across a rewrite."""
    fragment = parse_fragment(content_html, field=_FIELD)
    return "".join(
        _completed(fragment.slice(child))
        for child in fragment.root.element_children()
        if is_task_list(child)
    )


def _task_list(items_html: str) -> str:
    return f'<ul data-type="taskList">{items_html}</ul>'


def _new_item(text: str) -> str:
    return (
        '<li data-type="taskItem" data-checked="false"><label><input type="checkbox">'
        f"<span></span></label><div><p>{escape_text(text)}</p></div></li>"
    )


def _with_items_added(content_html: str, items_html: str) -> str:
    """New items at the end of the block's last top-level task list, or in a new list at
    the end of the block."""
    fragment = parse_fragment(content_html, field=_FIELD)
    lists = [child for child in fragment.root.element_children() if is_task_list(child)]
    if not lists:
        return content_html + completion(content_html, field=_FIELD) + _task_list(items_html)
    at = lists[-1].inner_end
    before = content_html[:at]
    # End what is open inside the list there (not the list), so the items land in it.
    inside = completion(before, field=_FIELD, keep_open=1)
    return before + inside + items_html + content_html[at:]


def _check_edits(item: Element, checked: bool) -> list[tuple[int, int, str]]:
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


def _spliced(html: str, edits: Iterable[tuple[int, int, str]]) -> str:
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


# Block HTML written by agents

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


# Agent input


def _checker_ids(value: Iterable[object], field: str) -> list[str]:
    given = _bounded_list(value, field)
    ids = [
        validation.text(item, f"{field}[{i}]", max_length=validation.MAX_ID_INPUT)
        for i, item in enumerate(given)
    ]
    return list(dict.fromkeys(ids))


def _checker_texts(value: Iterable[object], field: str) -> list[str]:
    given = _bounded_list(value, field)
    return [
        " ".join(validation.text(item, f"{field}[{i}]", max_length=MAX_CHECKER_TEXT).split())
        for i, item in enumerate(given)
    ]


def _bounded_list(value: Iterable[object], field: str) -> list[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationFailed.field(field, "must be a list")
    given: list[object] = []
    for item in value:
        given.append(item)
        if len(given) > MAX_CHECKERS_PER_CALL:
            raise ValidationFailed.field(field, f"at most {MAX_CHECKERS_PER_CALL} items")
    return given


# Card rules


class CardRule(StrEnum):
    REQUIRED_BLOCK = "required_block"
    BLOCK_LENGTH = "block_length"
    CHECKER_COUNT = "checker_count"
    CHECKER_LENGTH = "checker_length"
    DESCRIPTION_LENGTH = "description_length"


@attrs.frozen
class CardViolation:
    """One broken rule: which, about what (a block name, a checker id, `checkers`,
    `description_html`), the limit and what the card has."""

    rule: CardRule
    subject: str
    limit: int
    actual: int

    @property
    def message(self) -> str:
        if self.rule is CardRule.REQUIRED_BLOCK:
            return f"the block {self.subject!r} is required and must not be empty"
        if self.rule is CardRule.BLOCK_LENGTH:
            return (
                f"the block {self.subject!r} has {self.actual} characters of text; "
                f"at most {self.limit} are allowed"
            )
        if self.rule is CardRule.CHECKER_COUNT:
            return f"the card has {self.actual} checkers; at most {self.limit} are allowed"
        if self.rule is CardRule.CHECKER_LENGTH:
            return (
                f"the checker {self.subject!r} has {self.actual} characters; "
                f"at most {self.limit} are allowed"
            )
        return f"the description has {self.actual} characters; at most {self.limit} are allowed"

    def is_worse_than(self, earlier: CardViolation) -> bool:
        """Whether this is a step further from the rule than `earlier` (same rule and
        subject): a longer block, more checkers. A required block still missing is not."""
        return self.rule is not CardRule.REQUIRED_BLOCK and self.actual > earlier.actual


def _required(value: Iterable[object]) -> frozenset[BlockName]:
    return frozenset(parse_block_name(v, "card_rules.required_blocks") for v in value)


@attrs.frozen
class CardRules:
    """A project's card rules. Text lengths count a block's readable text (what a reader
    sees); the description limit counts its stored HTML."""

    required_blocks: frozenset[BlockName] = attrs.field(
        default=frozenset({BlockName.GOAL}), converter=_required
    )
    max_block_chars: int = 20_000
    max_checkers: int = 100
    max_checker_chars: int = 500
    max_description_chars: int = MAX_DESCRIPTION

    def __attrs_post_init__(self) -> None:
        for name, ceiling in (
            ("max_block_chars", MAX_FRAGMENT_CHARS),
            ("max_checkers", MAX_CHECKERS_PER_CARD),
            ("max_checker_chars", MAX_CHECKER_TEXT),
            ("max_description_chars", MAX_FRAGMENT_CHARS),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
                raise ValidationFailed.field(
                    f"card_rules.{name}", f"must be a whole number from 1 to {ceiling}"
                )

    def violations(self, card: Card) -> tuple[CardViolation, ...]:
        """Every rule `card` breaks, in a stable order."""
        found: list[CardViolation] = []
        blocks = card.blocks
        for name in sorted(self.required_blocks, key=_ORDER.__getitem__):
            block = blocks.get(name)
            if block is None or not block.text.strip():
                found.append(CardViolation(CardRule.REQUIRED_BLOCK, name.value, 1, 0))
        for block in blocks.values():
            if len(block.text) > self.max_block_chars:
                found.append(
                    CardViolation(
                        CardRule.BLOCK_LENGTH,
                        block.name.value,
                        self.max_block_chars,
                        len(block.text),
                    )
                )
        checkers = card.checkers
        if len(checkers) > self.max_checkers:
            found.append(
                CardViolation(CardRule.CHECKER_COUNT, "checkers", self.max_checkers, len(checkers))
            )
        found.extend(
            CardViolation(CardRule.CHECKER_LENGTH, c.id, self.max_checker_chars, len(c.text))
            for c in checkers
            if len(c.text) > self.max_checker_chars
        )
        size = len(card.render())
        if size > self.max_description_chars:
            found.append(
                CardViolation(CardRule.DESCRIPTION_LENGTH, _FIELD, self.max_description_chars, size)
            )
        return tuple(found)

    def enforce(self, card: Card, *, before: Card | None = None) -> None:
        """Refuse a card an agent wrote with `CardRuleViolation` listing each violation.
        With `before` (the card as it was), only what the write broke or made worse
        counts: an agent can still tick a checker on an old card with no goal."""
        earlier = {(v.rule, v.subject): v for v in self.violations(before)} if before else {}
        new = [
            violation
            for violation in self.violations(card)
            if (violation.rule, violation.subject) not in earlier
            or violation.is_worse_than(earlier[(violation.rule, violation.subject)])
        ]
        if new:
            raise CardRuleViolation([violation.message for violation in new])


DEFAULT_CARD_RULES = CardRules()
