"""Task cards in `description_html`: blocks and checkers round-trip, foreign HTML is kept
byte for byte, checker ids survive edits, notes only grow, card rules catch exactly what
they should. Documents are generated the way Plane's editor and API write them, each
decoded from one drawn integer (see `choices.py`) so 2,000 examples stay quick."""

from __future__ import annotations

import html
import itertools
import random
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nodedc_gateway.domain.cards import (
    DEFAULT_CARD_RULES,
    BlockName,
    Card,
    CardRule,
    CardRules,
    new_card,
    parse_card,
)
from nodedc_gateway.domain.cards.block_content import block_html
from nodedc_gateway.domain.cards.block_names import BLOCK_TITLES
from nodedc_gateway.domain.cards.checker_input import checker_texts
from nodedc_gateway.domain.errors import CardRuleViolation, ValidationFailed
from tests.domain.choices import SOUP, Choices, decoded

NAMES = list(BlockName)
NOTES = BlockName.IMPLEMENTATION_NOTES
WRITABLE = [name for name in NAMES if name is not NOTES]

# ---------------------------------------------------------------------------------------
# Text an agent or a human types.

WORDS = [
    "alpha", "Beta", "gamma42", "é", "straße", "ж", "中文", "😀", "a&b", "<tag>", "x<y", "a>b",
    '"q"', "it's", "*bold*", "_u_", "#1", "-", "1.", "Goal", "plan", "Acceptance", "&amp;",
    "&lt;p&gt;", "https://e.x/a?b=1&c=2", "`code`", "[x]", "–", "\\\\", "0",
]  # fmt: skip
PHRASES = sorted(
    {
        *WORDS,
        *(" ".join(pair) for pair in itertools.pairwise(WORDS)),
        *(" ".join(WORDS[start::7][:3]) for start in range(7)),
        *(" ".join(WORDS[start::5][:4]) for start in range(5)),
    }
)
HEADING_TITLES = [*PHRASES[::3], *BLOCK_TITLES.values(), "goal", "Links:"]


def esc(text: str) -> str:
    return html.escape(text, quote=False)


# ---------------------------------------------------------------------------------------
# Block HTML as the gateway's Markdown renderer writes it, with the text it should read as.


@attrs.frozen
class Prose:
    """Agent block content: pieces of (kind, payload)."""

    pieces: tuple[tuple[Any, ...], ...]
    newlines: bool

    @property
    def html(self) -> str:
        sep = "\n" if self.newlines else ""
        return sep.join(_piece_html(piece, sep) for piece in self.pieces)

    def text(self, level: int) -> str:
        heading_levels = [p[1] for p in self.pieces if p[0] == "h"]
        shift = max(0, level + 1 - min(heading_levels)) if heading_levels else 0
        return "\n\n".join(_piece_text(piece, shift) for piece in self.pieces)


def _piece_html(piece: tuple[Any, ...], sep: str) -> str:
    kind = piece[0]
    if kind == "p":
        return f"<p>{esc(piece[1])}</p>"
    if kind in ("ul", "ol"):
        items = sep.join(f"<li>{esc(item)}</li>" for item in piece[1])
        return f"<{kind}>{sep}{items}{sep}</{kind}>"
    if kind == "code":
        return f'<pre><code class="language-py">{esc(piece[1])}\n</code></pre>'
    return f"<h{piece[1]}>{esc(piece[2])}</h{piece[1]}>"


def _piece_text(piece: tuple[Any, ...], shift: int) -> str:
    kind = piece[0]
    if kind == "p":
        return str(piece[1])
    if kind == "ul":
        return "\n".join(f"- {item}" for item in piece[1])
    if kind == "ol":
        return "\n".join(f"{n}. {item}" for n, item in enumerate(piece[1], start=1))
    if kind == "code":
        return f"```py\n{piece[1]}\n```"
    level = piece[1] + shift
    return f"{'#' * level} {piece[2]}" if level <= 6 else f"**{piece[2]}**"


def prose(c: Choices) -> Prose:
    pieces = []
    for _ in range(1 + c.count(3)):
        kind = c.pick(["p", "ul", "ol", "code", "h"])
        if kind == "p":
            pieces.append((kind, c.pick(PHRASES)))
        elif kind in ("ul", "ol"):
            pieces.append((kind, [c.pick(PHRASES) for _ in range(1 + c.count(2))]))
        elif kind == "code":
            lines = [c.pick(["", "  ", "    "]) + c.pick(PHRASES) for _ in range(1 + c.count(2))]
            pieces.append((kind, "\n".join(lines)))
        else:
            pieces.append((kind, 1 + c.below(6), c.pick(HEADING_TITLES)))
    return Prose(tuple(pieces), c.flag())


# ---------------------------------------------------------------------------------------
# Foreign HTML: what humans and Plane put around the blocks. All of it well formed, none of
# it a top-level heading (those are placed on purpose below).

TRICKY = [
    "<p>Plain &amp; simple &lt;h2&gt;Goal&lt;/h2&gt;</p>",
    "<!-- <h2>Goal</h2> a comment that looks like a block -->",
    '<p class="editor-paragraph-block" data-id="5f0c">Goal</p>',
    "<blockquote><h2>Plan</h2><p>quoted, not a block</p></blockquote>",
    '<ul class="not-prose pl-2 space-y-2" data-type="taskList"><li class="relative" '
    'data-checked="true" data-id="foreign-1" data-type="taskItem"><label><input '
    'type="checkbox" checked="checked"><span></span></label><div><p>not a checker</p></div>'
    "</li></ul>",
    "<ul><li>one<ul><li>nested &gt; deeper</li></ul></li><li>two</li></ul>",
    '<ol start="3"><li><p>three</p></li></ol>',
    '<div class="py-4 border-strong-1" data-type="horizontalRule"><div></div></div>',
    '<pre><code class="language-html">&lt;h2&gt;Goal&lt;/h2&gt;\n</code></pre>',
    "<table><tbody><tr><th><p>Goal</p></th></tr><tr><td><p>x</p></td></tr></tbody></table>",
    '<p><mention-component entity_identifier="0b1c" entity_name="user_mention">'
    "</mention-component> please look</p>",
    "<p>a&nbsp;b &#x27;q&#x27; &#8212; &unknown; &amp</p>",
    "<p title='single \"quoted\" &gt;'>attributes</p>",
    "<p></p>",
    "\n",
    "<p>line<br>break</p>",
    '<p><img src="https://x.example/y.png" alt="a" /></p>',
    "<details><summary>Goal</summary><p>hidden</p></details>",
    '<p xmlns="http://www.w3.org/1999/xhtml" class="editor-paragraph-block">xhtml</p>',
    '<blockquote><h6 class="editor-heading-block">Goal</h6></blockquote>',
]
HUMAN_PARAGRAPHS = [f'<p class="editor-paragraph-block">{esc(t)}</p>' for t in PHRASES[::4]]
FOREIGN_PIECES = TRICKY + HUMAN_PARAGRAPHS
# What a human writes inside a block: the same, but a task list there is a checker list.
BLOCK_PIECES = [piece for piece in FOREIGN_PIECES if "taskList" not in piece]
FOREIGN_TITLES = [
    "Discussion",
    "Notes",
    "Goals and non-goals",
    "Open questions",
    "Acceptance tests",
]


@attrs.frozen
class Item:
    key: int  # the model's identity of the item, never written
    id: str | None
    text: str
    checked: bool
    style: int


def item_html(item: Item) -> str:
    """A task item the way Plane's editor (0), its seeds/lxml (1), a minimal writer (2) or
    a checkbox-only writer (3) writes it."""
    checked = "true" if item.checked else "false"
    data_id = f' data-id="{item.id}"' if item.id else ""
    text = esc(item.text)
    if item.style == 0:
        box = ' checked="checked"' if item.checked else ""
        return (
            f'<li class="relative" data-checked="{checked}"{data_id} data-type="taskItem">'
            f'<label><input type="checkbox"{box}><span></span></label><div>'
            f'<p class="editor-paragraph-block">{text}</p></div></li>'
        )
    if item.style == 1:
        box = ' checked=""' if item.checked else ""
        return (
            f'<li class="flex" data-checked="{checked}" data-type="taskItem"{data_id}><label>'
            f'<input type="checkbox"{box} /><span></span></label><div>'
            f'<p class="editor-paragraph-block">{text}</p></div></li>'
        )
    if item.style == 2:
        return f'<li data-type="taskItem" data-checked="{checked}"{data_id}>{text}</li>'
    box = " checked" if item.checked else ""
    return (
        f'<li data-type="taskItem"{data_id}><label><input type="checkbox"{box}></label>'
        f"<div><p>{text}</p></div></li>"
    )


@attrs.frozen
class BlockModel:
    name: BlockName
    level: int
    heading: str
    prose: tuple[str, ...]
    items: tuple[Item, ...]
    after: tuple[str, ...]  # a foreign section after the block: heading, then pieces

    @property
    def html(self) -> str:
        task_list = (
            '<ul class="not-prose pl-2 space-y-2" data-type="taskList">'
            + "".join(item_html(item) for item in self.items)
            + "</ul>"
            if self.items
            else ""
        )
        return self.heading + "".join(self.prose) + task_list


@attrs.frozen
class Doc:
    intro: tuple[str, ...]
    blocks: tuple[BlockModel, ...]
    wrapped: bool  # as Plane's REST API returns multi-element HTML: inside one <div>

    @property
    def html(self) -> str:
        body = "".join(self.intro) + "".join(b.html + "".join(b.after) for b in self.blocks)
        return f"<div>{body}</div>" if self.wrapped else body

    @property
    def foreign(self) -> tuple[str, ...]:
        segments = ["".join(self.intro), *("".join(b.after) for b in self.blocks)]
        inner = [s for s in segments if s]
        return ("<div>", *inner, "</div>") if self.wrapped else tuple(inner)

    @property
    def items(self) -> list[Item]:
        return [item for block in self.blocks for item in block.items]


def heading_variant(name: BlockName, level: int, c: Choices) -> str:
    title = BLOCK_TITLES[name]
    text = c.pick(
        [
            title,
            name.value,
            title.upper(),
            f"{title}:",
            f"  {title.lower()}  ",
            f'<span data-name="dart" data-type="emoji">🎯</span> {title}',
            f"1. {title}",
            f"<strong>{title}</strong>",
        ]
    )
    attributes = c.pick(
        ["", ' class="editor-heading-block"', f' class="editor-heading-block" data-id="h{level}"']
    )
    return f"<h{level}{attributes}>{text}</h{level}>"


def plane_id(seed: int, key: int) -> str:
    """A UUID-shaped id as Plane's editor gives a block, unique per item."""
    return f"{seed:08x}-0d6a-4e5e-9a55-{key:012x}"


def doc(c: Choices, *, min_items: int = 0) -> Doc:
    names = c.subset(NAMES, 4)
    seed = c.below(2**32)
    keys = itertools.count()
    intro = tuple(c.some(FOREIGN_PIECES, 3))
    blocks: list[BlockModel] = []
    open_level: int | None = None  # the level of a block nothing has closed yet
    for name in names:
        level = 1 + c.below(open_level if open_level is not None else 3)
        heading = heading_variant(name, level, c)
        block_prose = c.some(BLOCK_PIECES, 2)
        if level < 6 and c.flag():
            sub_level = level + 1 + c.below(6 - level)
            title = esc(c.pick(HEADING_TITLES))
            block_prose.insert(0, f"<h{sub_level}>{title}</h{sub_level}>")
        items = []
        for _ in range(c.count(3)):
            key = next(keys)
            with_id, text, checked, style = c.flag(), c.pick(PHRASES), c.flag(), c.below(4)
            items.append(Item(key, plane_id(seed, key) if with_id else None, text, checked, style))
        after: tuple[str, ...] = ()
        if c.flag():
            closing = 1 + c.below(level)
            title = c.pick(FOREIGN_TITLES)
            after = (f"<h{closing}>{title}</h{closing}>", *c.some(FOREIGN_PIECES, 2))
        blocks.append(BlockModel(name, level, heading, tuple(block_prose), tuple(items), after))
        open_level = None if after else level
    model = Doc(intro, tuple(blocks), c.flag())
    if len(model.items) < min_items:
        model = attrs.evolve(model, blocks=(*model.blocks, _extra_block(model, min_items, keys)))
    return model


def _extra_block(model: Doc, min_items: int, keys: itertools.count[int]) -> BlockModel:
    """A last block to reach `min_items` items (its level 1 closes any block before it)."""
    free = [n for n in WRITABLE if n not in {b.name for b in model.blocks}]
    items = tuple(
        Item(next(keys), None, f"extra item {n}", False, 0)
        for n in range(min_items - len(model.items))
    )
    return BlockModel(free[0], 1, f"<h1>{BLOCK_TITLES[free[0]]}</h1>", (), items, ())


DOCS = decoded(doc)
DOCS_WITH_ITEMS = decoded(lambda c: doc(c, min_items=1))

# ---------------------------------------------------------------------------------------
# What agents do.


def agent_op(c: Choices) -> tuple[Any, ...]:
    kind = c.pick(["write", "check", "uncheck", "add"])
    if kind == "write":
        return (kind, {name.value: prose(c) for name in c.subset(NAMES, 3) or [BlockName.GOAL]})
    if kind == "add":
        return (kind, [c.pick(PHRASES) for _ in range(1 + c.count(1))], c.pick(WRITABLE))
    return (kind, c.below(30))


def agent_ops(most: int, least: int = 0) -> Any:
    return decoded(lambda c: [agent_op(c) for _ in range(least + c.count(most - least))])


def agent_does(card: Card, op: tuple[Any, ...]) -> Card:
    kind = op[0]
    if kind == "write":
        return card.write_blocks({name: body.html for name, body in op[1].items()})
    if kind == "add":
        return card.add_checkers(op[1], block=op[2])
    writable = [c for c in card.checkers if c.block is not NOTES]
    if not writable:
        return card
    checker_id = writable[op[1] % len(writable)].id
    return card.check([checker_id]) if kind == "check" else card.uncheck([checker_id])


def reparsed(card: Card) -> Card:
    return parse_card(card.render())


# =======================================================================================
# Properties: reading


@given(SOUP)
def test_parse_then_render_gives_back_any_description(description: str) -> None:
    assert parse_card(description).render() == description


@given(DOCS)
def test_a_plane_description_reads_as_written(model: Doc) -> None:
    card = parse_card(model.html)
    assert card.render() == model.html
    assert list(card.blocks) == [b.name for b in model.blocks]
    assert card.foreign == model.foreign
    for block in model.blocks:
        checkers = card.blocks[block.name].checkers
        assert [(c.text, c.checked) for c in checkers] == [(i.text, i.checked) for i in block.items]
        for checker, item in zip(checkers, block.items, strict=True):
            assert checker.id == (item.id or checker.id)
            assert checker.id_in_markup == (item.id is not None)
            assert checker.block is block.name
    assert len({c.id for c in card.checkers}) == len(card.checkers)


# Properties: writing


def new_card_input(c: Choices) -> tuple[dict[BlockName, Prose], list[str], str]:
    blocks = {name: prose(c) for name in c.subset(NAMES, 7)}
    return blocks, c.some(PHRASES, 5), "".join(c.some(FOREIGN_PIECES, 3))


@given(decoded(new_card_input))
def test_render_then_parse_returns_the_blocks_and_checkers(
    given_input: tuple[dict[BlockName, Prose], list[str], str],
) -> None:
    blocks, checkers, description = given_input
    card = new_card(
        blocks={name.value: body.html for name, body in blocks.items()},
        checkers=checkers,
        description_html=description,
    )
    again = reparsed(card)
    assert again == card
    assert again.foreign == ((description,) if description else ())
    written = [n for n in NAMES if n in blocks or (n is BlockName.ACCEPTANCE and checkers)]
    assert list(again.blocks) == written
    for name, body in blocks.items():
        block = again.blocks[name]
        assert block.html.startswith(block_html(body.html, 2, "test"))
        expected = body.text(2)
        if name is BlockName.ACCEPTANCE and checkers:
            expected += "\n\n" + "\n".join(f"- [ ] {text}" for text in checkers)
        assert block.text == expected
    assert [(c.text, c.checked, c.block) for c in again.checkers] == [
        (text, False, BlockName.ACCEPTANCE) for text in checkers
    ]
    assert all(c.id_in_markup for c in again.checkers)


@given(DOCS, agent_ops(4))
def test_agent_operations_keep_foreign_html_byte_for_byte(
    model: Doc, ops: list[tuple[Any, ...]]
) -> None:
    card = parse_card(model.html)
    for op in ops:
        card = agent_does(card, op)
        assert reparsed(card) == card
        assert card.foreign == model.foreign


@given(SOUP, agent_ops(3, least=1))
def test_any_description_stays_readable_after_agent_operations(
    description: str, ops: list[tuple[Any, ...]]
) -> None:
    card = original = parse_card(description)
    for op in ops:
        card = agent_does(card, op)
        assert reparsed(card) == card
    # Foreign HTML is untouched, except that a description ending inside something open
    # gets that closed before a block is added after it.
    assert len(card.foreign) == len(original.foreign)
    for now, before in zip(card.foreign, original.foreign, strict=True):
        assert now.startswith(before)
    assert (
        sum(now != before for now, before in zip(card.foreign, original.foreign, strict=True)) <= 1
    )


@given(DOCS, agent_ops(5))
def test_implementation_notes_only_grow(model: Doc, ops: list[tuple[Any, ...]]) -> None:
    card = parse_card(model.html)
    for op in ops:
        before = card.block(NOTES)
        card = agent_does(card, op)
        after = card.block(NOTES)
        if before is not None:
            assert after is not None
            assert after.html.startswith(before.html)
        with pytest.raises(ValidationFailed, match="append-only"):
            card.with_block(NOTES, "")


# Properties: checker ids


def human_edit(c: Choices) -> tuple[Any, ...]:
    kind = c.pick(["toggle", "retext", "append", "shuffle"])
    if kind == "toggle":
        return (kind, c.below(50))
    if kind == "retext":
        return (kind, c.below(50), f"edited {c.pick(PHRASES)}")
    if kind == "append":
        return (kind, c.below(10), c.pick(PHRASES), c.flag(), c.below(2**32))
    return (kind, c.below(2**32))


HUMAN_EDITS = decoded(lambda c: [human_edit(c) for _ in range(1 + c.count(4))])


def human_edits(model: Doc, edit: tuple[Any, ...], key: int) -> tuple[Doc, set[str]]:
    """The document after one edit in Tasker, and the texts it touched."""
    kind = edit[0]
    if kind == "shuffle":
        shuffle = random.Random(edit[1]).shuffle
        shuffled = []
        for block in model.blocks:
            pieces = list(block.after[1:])
            shuffle(pieces)
            shuffled.append(attrs.evolve(block, after=block.after[:1] + tuple(pieces)))
        intro = list(model.intro)
        shuffle(intro)
        return attrs.evolve(model, intro=tuple(intro), blocks=tuple(shuffled)), set()
    if kind == "append":
        with_items = [b for b in model.blocks if b.items]
        if not with_items:
            return model, set()
        target = with_items[edit[1] % len(with_items)]
        item = Item(key, plane_id(edit[4], key) if edit[3] else None, edit[2], False, 0)
        return _replace_block(model, attrs.evolve(target, items=(*target.items, item))), {edit[2]}
    items = model.items
    if not items:
        return model, set()
    item = items[edit[1] % len(items)]
    if kind == "toggle":
        return _replace_item(model, attrs.evolve(item, checked=not item.checked)), set()
    return _replace_item(model, attrs.evolve(item, text=edit[2])), {item.text, edit[2]}


def _replace_block(model: Doc, block: BlockModel) -> Doc:
    blocks = tuple(block if b.name == block.name else b for b in model.blocks)
    return attrs.evolve(model, blocks=blocks)


def _replace_item(model: Doc, item: Item) -> Doc:
    for block in model.blocks:
        if any(i.key == item.key for i in block.items):
            items = tuple(item if i.key == item.key else i for i in block.items)
            return _replace_block(model, attrs.evolve(block, items=items))
    raise AssertionError("no such item")


def identity(text: str) -> str:
    return " ".join(text.casefold().split())


def ids_by_key(model: Doc) -> dict[int, str]:
    card = parse_card(model.html)
    assert [c.text for c in card.checkers] == [i.text for i in model.items]
    return {item.key: c.id for item, c in zip(model.items, card.checkers, strict=True)}


@given(DOCS_WITH_ITEMS, HUMAN_EDITS)
def test_checker_ids_survive_human_edits_of_other_checkers(
    model: Doc, edits: list[tuple[Any, ...]]
) -> None:
    before = ids_by_key(model)
    touched: set[str] = set()
    for number, edit in enumerate(edits):
        model, texts = human_edits(model, edit, key=1_000 + number)
        touched |= {identity(t) for t in texts}
    after = ids_by_key(model)
    for item in model.items:
        if item.key not in before:
            continue
        # Ids in the markup always survive; derived ones unless their own text (or one
        # like it) was edited.
        if item.id is not None or identity(item.text) not in touched:
            assert after[item.key] == before[item.key], item


@given(DOCS_WITH_ITEMS, agent_ops(4, least=1))
def test_checker_ids_survive_agent_writes(model: Doc, ops: list[tuple[Any, ...]]) -> None:
    card = parse_card(model.html)
    for op in ops:
        known = {c.id: c.text for c in card.checkers}
        card = agent_does(card, op)
        now = {c.id: c.text for c in card.checkers}
        assert {i: now.get(i) for i in known} == known
    # After any checker write, every id is written into the markup.
    card = card.add_checkers(["one more"])
    assert all(c.id_in_markup for c in card.checkers if c.block is not NOTES)


@given(DOCS_WITH_ITEMS, decoded(lambda c: c))
def test_checking_changes_exactly_the_named_checkers(model: Doc, c: Choices) -> None:
    card = parse_card(model.html)
    wanted = {x.id: c.pick([None, True, False]) for x in card.checkers if x.block is not NOTES}
    check = [i for i, state in wanted.items() if state is True]
    uncheck = [i for i, state in wanted.items() if state is False]
    updated = card.update_checkers(check=check, uncheck=uncheck) if check or uncheck else card
    expected = {x.id: (x.id in check) or (x.checked and x.id not in uncheck) for x in card.checkers}
    assert {x.id: x.checked for x in reparsed(updated).checkers} == expected
    assert [x.text for x in updated.checkers] == [x.text for x in card.checkers]


# Properties: card rules


def rules_case(c: Choices) -> tuple[dict[BlockName, list[str]], list[str], CardRules]:
    paragraphs = {name: c.some(PHRASES, 3) for name in c.subset(WRITABLE, 6)}
    if BlockName.ACCEPTANCE in paragraphs:
        del paragraphs[BlockName.ACCEPTANCE]  # its text is its checkers here
    if c.flag():
        paragraphs[NOTES] = [c.pick(PHRASES) for _ in range(1 + c.count(2))]  # notes only grow
    rules = CardRules(
        required_blocks=frozenset(c.subset(NAMES, 3)),
        max_block_chars=1 + c.below(60),
        max_checkers=1 + c.below(5),
        max_checker_chars=1 + c.below(30),
        max_description_chars=1 + c.below(3_000),
    )
    return paragraphs, c.some(PHRASES, 6), rules


@given(decoded(rules_case))
def test_card_rules_find_exactly_the_violations(
    case: tuple[dict[BlockName, list[str]], list[str], CardRules],
) -> None:
    paragraphs, checkers, rules = case
    card = new_card(
        blocks={n.value: "".join(f"<p>{esc(p)}</p>" for p in ps) for n, ps in paragraphs.items()},
        checkers=checkers,
    )
    texts = {n: "\n\n".join(ps) for n, ps in paragraphs.items()}
    if checkers:
        texts[BlockName.ACCEPTANCE] = "\n".join(f"- [ ] {c}" for c in checkers)
    expected = {
        (CardRule.REQUIRED_BLOCK, n.value) for n in rules.required_blocks if not texts.get(n)
    }
    expected |= {
        (CardRule.BLOCK_LENGTH, n.value) for n, t in texts.items() if len(t) > rules.max_block_chars
    }
    if len(checkers) > rules.max_checkers:
        expected.add((CardRule.CHECKER_COUNT, "checkers"))
    expected |= {
        (CardRule.CHECKER_LENGTH, c.id)
        for c in card.checkers
        if len(c.text) > rules.max_checker_chars
    }
    if len(card.render()) > rules.max_description_chars:
        expected.add((CardRule.DESCRIPTION_LENGTH, "description_html"))
    found = rules.violations(card)
    assert {(v.rule, v.subject) for v in found} == expected
    assert len(found) == len(expected)
    if expected:
        with pytest.raises(CardRuleViolation) as refused:
            rules.enforce(card)
        assert len(refused.value.violations) == len(expected)
    else:
        rules.enforce(card)
    # What was already broken before a write and is no worse after it does not refuse it.
    rules.enforce(card, before=card)


# =======================================================================================
# Examples: a realistic Plane description

PLANE_DESCRIPTION = (
    '<p class="editor-paragraph-block" data-id="p-1">Reported by <mention-component '
    'entity_identifier="u-7" entity_name="user_mention"></mention-component> on &nbsp;Monday.'
    "</p>"
    '<h2 class="editor-heading-block" data-id="h-1">Goal</h2>'
    '<p class="editor-paragraph-block" data-id="p-2">Let agents update cards &amp; checkers.</p>'
    '<h2 class="editor-heading-block" data-id="h-2">Acceptance criteria:</h2>'
    '<ul class="not-prose pl-2 space-y-2" data-type="taskList" data-id="l-1">'
    '<li class="relative" data-checked="true" data-id="0d6a1c2e-1111-4e5e-9a55-000000000001"'
    ' data-type="taskItem"><label><input type="checkbox" checked="checked"><span></span>'
    '</label><div><p class="editor-paragraph-block" data-id="p-3">Parser handles Plane HTML</p>'
    "</div></li>"
    '<li class="relative" data-checked="false" data-id="0d6a1c2e-1111-4e5e-9a55-000000000002"'
    ' data-type="taskItem"><label><input type="checkbox"><span></span></label><div>'
    '<p class="editor-paragraph-block" data-id="p-4">Ids survive edits</p>'
    '<ul class="not-prose pl-2 space-y-2" data-type="taskList"><li class="relative" '
    'data-checked="false" data-type="taskItem"><label><input type="checkbox"><span></span>'
    "</label><div><p>nested, added by a human</p></div></li></ul></div></li></ul>"
    '<h2 class="editor-heading-block" data-id="h-3">Discussion</h2>'
    '<p class="editor-paragraph-block" data-id="p-5">Humans talk here; agents never touch it.</p>'
    '<div class="py-4 border-strong-1" data-type="horizontalRule"><div></div></div>'
)
FIRST = "0d6a1c2e-1111-4e5e-9a55-000000000001"
SECOND = "0d6a1c2e-1111-4e5e-9a55-000000000002"


def test_reads_a_plane_description() -> None:
    card = parse_card(PLANE_DESCRIPTION)
    assert list(card.blocks) == [BlockName.GOAL, BlockName.ACCEPTANCE]
    assert card.blocks[BlockName.GOAL].text == "Let agents update cards & checkers."
    assert [(c.id, c.text, c.checked) for c in card.checkers][:2] == [
        (FIRST, "Parser handles Plane HTML", True),
        (SECOND, "Ids survive edits", False),
    ]
    nested = card.checkers[2]
    assert (nested.text, nested.checked, nested.id_in_markup) == (
        "nested, added by a human",
        False,
        False,
    )
    assert card.blocks[BlockName.ACCEPTANCE].text == (
        "- [x] Parser handles Plane HTML\n- [ ] Ids survive edits\n  - [ ] nested, added by a human"
    )
    assert card.foreign[0].startswith('<p class="editor-paragraph-block" data-id="p-1">')
    assert card.foreign[1].startswith('<h2 class="editor-heading-block" data-id="h-3">Discussion')


def test_checking_rewrites_only_that_item_and_pins_derived_ids() -> None:
    card = parse_card(PLANE_DESCRIPTION)
    nested_id = card.checkers[2].id
    updated = card.check([SECOND])
    rendered = updated.render()
    assert (
        '<li class="relative" data-checked="true" data-id="0d6a1c2e-1111-4e5e-9a55-000000000002"'
        ' data-type="taskItem"><label><input type="checkbox" checked="checked">'
    ) in rendered
    assert f'data-id="{nested_id}"' in rendered
    assert [c.id for c in updated.checkers] == [FIRST, SECOND, nested_id]
    assert [c.checked for c in updated.checkers] == [True, True, False]
    # Nothing else changed: one item's state and checkbox, and the nested item's pinned id.
    expected = PLANE_DESCRIPTION.replace(
        f'data-checked="false" data-id="{SECOND}" data-type="taskItem"><label><input '
        'type="checkbox">',
        f'data-checked="true" data-id="{SECOND}" data-type="taskItem"><label><input '
        'type="checkbox" checked="checked">',
    ).replace(
        '<li class="relative" data-checked="false" data-type="taskItem">',
        f'<li class="relative" data-checked="false" data-type="taskItem" data-id="{nested_id}">',
    )
    assert rendered == expected


def test_reads_the_wrapper_plane_rest_api_adds() -> None:
    wrapped = f"<div>{PLANE_DESCRIPTION}</div>"
    card = parse_card(wrapped)
    assert list(card.blocks) == [BlockName.GOAL, BlockName.ACCEPTANCE]
    assert card.prefix == "<div>"
    assert card.suffix == "</div>"
    updated = card.write_blocks({"risks": "<p>None known.</p>"})
    rendered = updated.render()
    assert '<h2>Risks</h2><p>None known.</p><h2 class="editor-heading-block" data-id="h-3">' in (
        rendered
    )
    assert rendered.startswith("<div>")
    assert rendered.endswith("</div>")
    assert reparsed(updated) == updated


def test_new_blocks_go_where_the_block_order_puts_them() -> None:
    card = parse_card(PLANE_DESCRIPTION).write_blocks(
        {"plan": "<ol><li>parse</li></ol>", "links": "<p>PR</p>"}
    )
    assert list(card.blocks) == [
        BlockName.GOAL,
        BlockName.PLAN,
        BlockName.ACCEPTANCE,
        BlockName.LINKS,
    ]
    rendered = card.render()
    assert rendered.index("<h2>Plan</h2>") < rendered.index("Acceptance criteria:")
    # Links follows acceptance, before the human's "Discussion" section.
    assert rendered.index("<h2>Links</h2>") < rendered.index("Discussion")


def test_headings_are_read_tolerantly() -> None:
    html_ = (
        '<h3 class="x" data-id="1">  acceptance CRITERIA: </h3><p>a</p>'
        '<h2><span data-type="emoji">🎯</span> 1. Goal</h2><p>b</p>'
        "<H2>Implementation_Notes</H2><p>c</p>"
    )
    card = parse_card(html_)
    assert [(n, b.text) for n, b in card.blocks.items()] == [
        (BlockName.ACCEPTANCE, "a"),
        (BlockName.GOAL, "b"),
        (BlockName.IMPLEMENTATION_NOTES, "c"),
    ]


def test_a_subheading_stays_in_its_block_and_a_foreign_heading_ends_it() -> None:
    card = parse_card("<h2>Plan</h2><h3>Goal</h3><p>x</p><h2>Questions</h2><p>y</p>")
    assert list(card.blocks) == [BlockName.PLAN]
    assert card.blocks[BlockName.PLAN].text == "### Goal\n\nx"
    assert card.foreign == ("<h2>Questions</h2><p>y</p>",)


def test_a_card_with_no_blocks_is_foreign_html() -> None:
    card = parse_card("<p></p>")
    assert card.blocks == {}
    assert card.foreign == ("<p></p>",)
    assert card.checkers == ()


def test_a_repeated_block_heading_is_foreign_text() -> None:
    card = parse_card("<h2>Goal</h2><p>first</p><h2>Goal</h2><p>second</p>")
    assert card.blocks[BlockName.GOAL].text == "first"
    assert card.foreign == ("<h2>Goal</h2><p>second</p>",)


def test_duplicate_data_ids_keep_the_first_and_pin_a_new_one_for_the_rest() -> None:
    item = (
        '<li data-type="taskItem" data-checked="false" data-id="same"><label><input '
        'type="checkbox"></label><div><p>{}</p></div></li>'
    )
    card = parse_card(
        '<h2>Acceptance</h2><ul data-type="taskList">'
        + item.format("a")
        + item.format("b")
        + "</ul>"
    )
    first, second = card.checkers
    assert (first.id, first.id_in_markup) == ("same", True)
    assert second.id.startswith("chk-")
    assert not second.id_in_markup
    pinned = card.check([second.id])
    assert [c.id for c in pinned.checkers] == ["same", second.id]
    assert all(c.id_in_markup for c in pinned.checkers)


def test_block_content_has_its_headings_moved_below_the_block() -> None:
    card = new_card(blocks={"context": "<h1>Why</h1><p>x</p><h2>How</h2>"})
    assert card.blocks[BlockName.CONTEXT].html == "<h3>Why</h3><p>x</p><h4>How</h4>"
    deep = parse_card("<h6>Context</h6>").write_blocks({"context": "<h2>Why</h2>"})
    assert deep.blocks[BlockName.CONTEXT].html == "<p><strong>Why</strong></p>"


def test_rewriting_a_block_keeps_its_checkers() -> None:
    card = new_card(blocks={"acceptance": "<p>old</p>"}, checkers=["a", "b"])
    rewritten = card.write_blocks({"acceptance": "<p>new</p>"})
    assert rewritten.blocks[BlockName.ACCEPTANCE].text == "new\n\n- [ ] a\n- [ ] b"
    assert [c.id for c in rewritten.checkers] == [c.id for c in card.checkers]


def test_two_notes_both_remain() -> None:
    card = new_card(blocks={"goal": "<p>g</p>"})
    card = card.write_blocks({"implementation_notes": "<p>first</p>"})
    card = card.write_blocks({"implementation_notes": "<p>second</p>"})
    assert reparsed(card).blocks[NOTES].text == "first\n\nsecond"


def test_derived_ids_are_what_new_checkers_get_so_editors_that_drop_ids_agree() -> None:
    card = new_card(checkers=["Write tests", "Write tests", "Ship"])
    assert ids_read_without_ids(card) == [c.id for c in card.checkers]


def ids_read_without_ids(card: Card) -> list[str]:
    """The checker ids of `card` as read once every `data-id` is dropped from it."""
    stripped = card.render()
    for checker in card.checkers:
        stripped = stripped.replace(f' data-id="{checker.id}"', "")
    return [c.id for c in parse_card(stripped).checkers]


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4))
@example(["\ue000"])  # once the reader's own mark for a line break: read back as nothing
@example(["a\ue000b"])
def test_new_checkers_read_back_as_written(texts: list[str]) -> None:
    # Their texts as given (once normalised), and their ids what an editor that drops
    # every `data-id` derives again from the markup.
    try:
        card = new_card(checkers=texts)
    except ValidationFailed:
        return
    assert [c.text for c in reparsed(card).checkers] == checker_texts(texts, "checkers")
    assert ids_read_without_ids(card) == [c.id for c in card.checkers]


def test_a_checker_added_before_one_of_the_same_text_leaves_its_id() -> None:
    # A person's card, its ids derived from the texts: "Review" under Goal. An agent adds
    # "Review" to Plan, which comes first: the Goal's checker keeps the id already seen.
    item = '<ul data-type="taskList"><li data-type="taskItem">Review</li></ul>'
    card = parse_card(f"<h2>Plan</h2><p>steps</p><h2>Goal</h2>{item}")
    (seen,) = card.checkers
    added = reparsed(card.add_checkers(["Review"], block=BlockName.PLAN))
    assert [(c.block, c.text) for c in added.checkers] == [
        (BlockName.PLAN, "Review"),
        (BlockName.GOAL, "Review"),
    ]
    assert added.checkers[1].id == seen.id
    assert added.checkers[0].id != seen.id


def test_a_checker_added_before_a_persons_notes_takes_none_of_their_ids() -> None:
    # The notes are never rewritten, so their checkers keep derived ids: a new checker of
    # the same text, placed before them, must neither shift those nor take one over.
    items = '<ul data-type="taskList">' + '<li data-type="taskItem">Review</li>' * 2 + "</ul>"
    card = parse_card(f"<h2>Plan</h2><p>steps</p><h2>Implementation notes</h2>{items}")
    seen = [c.id for c in card.checkers]
    added = reparsed(card.add_checkers(["Review"], block=BlockName.PLAN))
    assert [c.block for c in added.checkers] == [BlockName.PLAN, NOTES, NOTES]
    assert [c.id for c in added.checkers[1:]] == seen
    assert added.checkers[0].id not in seen


# Examples: what is refused


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.write_blocks({"goals": "<p>x</p>"}), "valid blocks: acceptance, context"),
        (lambda c: c.write_blocks({}), "at least one block"),
        (lambda c: c.check(["nope"]), "valid checker ids: chk-"),
        (lambda c: c.update_checkers(), "at least one of check, uncheck or add"),
        (lambda c: c.update_checkers(check=["x"], uncheck=["x"]), "also asked to be checked"),
        (lambda c: c.add_checkers([""]), "at least 1 character"),
        (lambda c: c.add_checkers("one string"), "must be a list"),
        (lambda c: c.add_checkers(["x"] * 101), "at most 100 items"),
        (lambda c: c.with_block(NOTES, "<p>shorter</p>"), "append-only"),
        (lambda c: c.append_notes("<!-- nothing -->"), "must not be empty"),
        (lambda c: c.write_blocks({"plan": "<script>x</script>"}), "<script> is not allowed"),
        (lambda c: c.write_blocks({"plan": '<p onclick="x">a</p>'}), "'onclick' is not allowed"),
        (lambda c: c.write_blocks({"links": '<a href="javascript:x">a</a>'}), "href must be"),
        (lambda c: c.write_blocks({"links": '<a href=" JaVa\tscript:x">a</a>'}), "href must be"),
        (
            lambda c: c.write_blocks({"acceptance": '<ul data-type="taskList"></ul>'}),
            "add checkers with update_checkers",
        ),
        (lambda c: c.write_blocks({"plan": "x" * 100_001}), "at most 100000"),
    ],
)
def test_refusals_say_how_to_fix_the_call(call: Callable[[Card], Card], message: str) -> None:
    card = new_card(blocks={"goal": "<p>g</p>"}, checkers=["a"])
    with pytest.raises(ValidationFailed) as refused:
        call(card)
    assert message in refused.value.message


def test_checkers_in_the_notes_are_read_only_for_agents() -> None:
    card = parse_card(
        '<h2>Implementation notes</h2><p>log</p><ul data-type="taskList"><li data-type="taskItem" '
        'data-checked="false" data-id="n1"><div><p>by a person</p></div></li></ul>'
    )
    assert [c.id for c in card.checkers] == ["n1"]
    with pytest.raises(ValidationFailed, match="only add to"):
        card.check(["n1"])
    with pytest.raises(ValidationFailed, match="cannot go in implementation_notes"):
        card.add_checkers(["x"], block=NOTES)
    with pytest.raises(ValidationFailed, match=r"valid checker ids: \(none\)"):
        card.check(["other"])


def test_safe_links_are_kept() -> None:
    card = new_card(
        blocks={
            "links": '<p><a href="https://x.example/a?b=1&amp;c=2">PR</a> <a href="#x">y</a></p>'
        }
    )
    assert card.blocks[BlockName.LINKS].text == "[PR](https://x.example/a?b=1&c=2) [y](#x)"


def test_hostile_descriptions_are_refused_or_read_quickly() -> None:
    with pytest.raises(ValidationFailed, match="nest"):
        parse_card("<div>" * 500)
    with pytest.raises(ValidationFailed, match="at most"):
        parse_card("<p>" + "x" * 1_000_001)
    huge = "<h2>Plan</h2>" + "<p>a</p>" * 50_000
    assert parse_card(huge).blocks[BlockName.PLAN].text.count("a") == 50_000


def test_default_rules_want_a_goal_but_forgive_old_cards() -> None:
    legacy = parse_card('<h2>Acceptance</h2><ul data-type="taskList"></ul>')
    updated = legacy.add_checkers(["tick me"])
    DEFAULT_CARD_RULES.enforce(updated, before=legacy)
    with pytest.raises(CardRuleViolation, match="'goal' is required"):
        DEFAULT_CARD_RULES.enforce(updated)
    emptied = new_card(blocks={"goal": "<p>g</p>"}).write_blocks({"goal": ""})
    with pytest.raises(CardRuleViolation, match="'goal' is required"):
        DEFAULT_CARD_RULES.enforce(emptied, before=new_card(blocks={"goal": "<p>g</p>"}))


def test_rules_refuse_a_write_that_makes_a_violation_worse() -> None:
    rules = CardRules(required_blocks=[], max_block_chars=10)
    long = new_card(blocks={"goal": "<p>0123456789ab</p>"})
    rules.enforce(long.write_blocks({"goal": "<p>0123456789a</p>"}), before=long)
    with pytest.raises(CardRuleViolation, match="has 13 characters of text; at most 10"):
        rules.enforce(long.write_blocks({"goal": "<p>0123456789abc</p>"}), before=long)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_block_chars": 0},
        {"max_checkers": 1_001},
        {"max_checker_chars": 1_001},
        {"max_description_chars": True},
        {"required_blocks": ["nope"]},
    ],
)
def test_card_rules_are_validated_data(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        CardRules(**bad)


def test_cards_are_values() -> None:
    first: Sequence[Card] = [new_card(checkers=["a"]) for _ in range(2)]
    assert first[0] == first[1]
    assert hash(first[0]) == hash(first[1])
