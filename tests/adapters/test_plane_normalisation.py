"""Plane re-serializes what it stores (lxml wraps several top-level nodes in a `<div>`):
a card written through the Plane adapter again and again keeps its structure, and the
create answer carries the stored `created_at`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodedc_gateway.adapters.tasker import attribution
from nodedc_gateway.application.pipeline import RateLimits
from nodedc_gateway.domain.cards import BlockName, Card, new_card, parse_card
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.tasker import Actor, IssueDraft
from tests.contracts.tasker_backends import BACKENDS, TaskerUnderTest
from tests.support.fake_plane import lxml_like
from tests.support.gateway import build_memory_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}
ACTOR = Actor("a-1", "o-1", "Codex Agent: Norm", "agent+a-1@agents.nodedc.local")

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20
).filter(lambda t: t.strip())
block_names = st.sampled_from(
    [BlockName.GOAL, BlockName.CONTEXT, BlockName.PLAN, BlockName.ACCEPTANCE, BlockName.RISKS]
)
cards = st.builds(
    lambda blocks, checkers, lead: new_card(
        blocks={str(name): f"<p>{_esc(text)}</p>" for name, text in blocks.items()},
        checkers=checkers,
        description_html=f"<p>{_esc(lead)}</p>" if lead else "",
    ),
    st.dictionaries(block_names, texts, max_size=4),
    st.lists(texts, max_size=4, unique=True),
    st.none() | texts,
)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shape(card: Card) -> tuple[Any, ...]:
    return (
        tuple((str(name), block.text) for name, block in card.blocks.items()),
        tuple((c.id, c.text, c.checked) for c in card.checkers),
    )


def _stored_after_write(read_html: str) -> str:
    """One round trip through Plane: signed, then re-serialized as Plane does."""
    return lxml_like(attribution.with_footer(read_html, ACTOR))


@settings(max_examples=60, deadline=None)
@given(card=cards, writes=st.integers(min_value=2, max_value=10))
def test_writing_a_card_n_times_through_plane_gives_the_structure_of_writing_it_once(
    card: Card, writes: int
) -> None:
    once = attribution.unsigned(_stored_after_write(card.render()))
    assert _shape(parse_card(once)) == _shape(card)
    read = once
    for _ in range(writes):
        card_read = parse_card(read)
        read = attribution.unsigned(_stored_after_write(card_read.render()))
        assert _shape(parse_card(read)) == _shape(card)
    assert read == once  # a fixed point: the same bytes, not a deeper nesting


def test_cards_already_nested_by_older_writes_are_read_whole() -> None:
    card = new_card(blocks={"goal": "<p>g</p>"}, checkers=["one"])
    nested = "<div>" * 5 + card.render() + "</div>" * 5
    assert attribution.unsigned(nested) == card.render()
    # a div with attributes, or one beside other content, is the author's, not Plane's
    kept = '<div class="note"><p>x</p></div>'
    assert attribution.unsigned(kept) == kept
    assert attribution.unsigned("<div><p>a</p></div><p>b</p>") == "<div><p>a</p></div><p>b</p>"


@pytest.fixture
async def plane() -> AsyncIterator[TaskerUnderTest]:
    async with BACKENDS["plane"]() as backend:
        yield backend


async def test_a_card_written_ten_times_through_the_gateway_keeps_its_blocks_and_checkers(
    plane: TaskerUnderTest,
) -> None:
    writes = RatePolicy("writes", 1000, 60, 1000)
    gateway = await build_memory_gateway(tasker=plane.port, limits=RateLimits(writes=writes))
    alice = plane.demo.alice.id
    agent_id = await gateway.create_agent(owner=alice)
    await gateway.grant(agent_id, owner=alice)
    token = await gateway.token(agent_id, owner=alice)
    created = await gateway.call(
        token,
        "create_issue",
        {**DEMO, "name": "Nested?", "card": {"goal": "Stay flat", "checkers": ["first"]}},
    )
    key = created.body["issue"]["identifier"]
    for n in range(10):
        await gateway.call(
            token, "update_card", {**DEMO, "issue": key, "blocks": {"plan": f"Step {n}"}}
        )
        read = await gateway.call(token, "get_issue", {"workspace_slug": "demo", "issue": key})
        card = read.body["issue"]["card"]
        assert card is not None, f"the card vanished after write {n + 1}"
        assert (card["goal"], card["plan"]) == ("Stay flat", f"Step {n}")
        [checker] = card["checkers"]
        await gateway.call(
            token,
            "update_checkers",
            {**DEMO, "issue": key, ("check" if n % 2 == 0 else "uncheck"): [checker["id"]]},
        )
    stored = next(iter(plane.admin.plane.issues.values()))["description_html"]  # type: ignore[attr-defined]
    assert stored.count("<div>") - stored.count("<div><p>") <= 1  # one wrapper, Plane's own


async def test_a_create_answers_with_the_stored_created_at(plane: TaskerUnderTest) -> None:
    created = await plane.port.create_issue(
        "demo", plane.demo.project.id, IssueDraft(name="When?"), actor=ACTOR
    )
    stored = await plane.port.get_issue("demo", created.id)
    assert created.created_at == stored.created_at
