"""The footer that signs the agent's writes in a Tasker without bot users."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.tasker import attribution
from nodedc_gateway.domain.tasker import Actor

ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40)
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=80
).filter(lambda s: s.strip() == s and s)
actors = st.builds(
    Actor,
    agent_id=ids,
    owner_user_id=ids,
    display_name=names.map(lambda n: f"Codex Agent: {n}"),
    email=ids.map(lambda i: f"agent+{i}@agents.nodedc.local"),
)
bodies = st.text(max_size=200).map(lambda t: f"<p>{t}</p>")


@given(body=bodies, actor=actors)
def test_a_signed_body_reads_back_as_written_and_names_its_writer(body: str, actor: Actor) -> None:
    signed = attribution.with_footer(body, actor)
    assert attribution.strip_footer(signed) == attribution.strip_footer(body)
    writer = attribution.read_footer(signed)
    assert writer == attribution.Attribution(
        actor.display_name, actor.email, actor.agent_id, actor.owner_user_id
    )


@given(body=bodies, first=actors, second=actors)
def test_signing_again_replaces_the_footer(body: str, first: Actor, second: Actor) -> None:
    twice = attribution.with_footer(attribution.with_footer(body, first), second)
    assert twice.count('class="nodedc-actor"') == 1
    assert attribution.read_footer(twice) is not None
    assert attribution.read_footer(twice).agent_id == second.agent_id  # type: ignore[union-attr]


def test_the_footer_survives_a_wrapping_div_and_escapes_markup() -> None:
    actor = Actor("a-1", "o-1", "Codex Agent: <b>x</b> & co", "agent+a-1@agents.nodedc.local")
    signed = attribution.with_footer("<p>hi</p>", actor)
    assert "<b>" not in signed
    wrapped = f"<div>{signed}</div>"  # what lxml makes of a multi-element fragment
    assert attribution.strip_footer(wrapped) == "<div><p>hi</p></div>"
    assert attribution.read_footer(wrapped) == attribution.Attribution(
        "Codex Agent: <b>x</b> & co", "agent+a-1@agents.nodedc.local", "a-1", "o-1"
    )


def test_external_source_names_agent_and_owner_and_fits_plane() -> None:
    actor = Actor("a-1", "o-1", "Codex Agent: x", "agent+a-1@agents.nodedc.local")
    source = attribution.external_source(actor)
    assert source == "nodedc-gateway:agent=a-1;owner=o-1"
    assert attribution.agent_of_source(source) == "a-1"
    long_owner = Actor("a-1", "o" * 400, "n", "e")
    assert len(attribution.external_source(long_owner)) <= 255
    assert attribution.agent_of_source(attribution.external_source(long_owner)) == "a-1"
    assert attribution.agent_of_source("jira") is None
