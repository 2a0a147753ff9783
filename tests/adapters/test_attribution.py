"""The footer that signs the agent's writes in a Tasker without bot users."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.tasker import attribution
from nodedc_gateway.domain.tasker import Actor

ids = st.uuids().map(str) | st.sampled_from(["owner-1", "u_2"])
names = st.lists(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")),
        min_size=1,
        max_size=8,
    ),
    min_size=1,
    max_size=3,
).map(" · ".join)  # the footer's own separator inside a name must not confuse it
actors = st.tuples(ids, ids, names).map(
    lambda t: Actor(t[0], t[1], f"Codex Agent: {t[2]}", f"agent+{t[0]}@agents.nodedc.local")
)
bodies = st.text(max_size=30).map(lambda t: f"<p>{t}</p>")


@given(body=bodies, writers=st.lists(actors, min_size=1, max_size=2))
def test_a_signed_body_reads_back_as_written_and_names_its_last_writer(
    body: str, writers: list[Actor]
) -> None:
    signed = body
    for actor in writers:
        signed = attribution.with_footer(signed, actor)
    assert attribution.strip_footer(signed) == attribution.strip_footer(body)
    assert signed.count('class="nodedc-actor"') == 1
    last = writers[-1]
    assert attribution.read_footer(signed) == attribution.Attribution(
        last.display_name, last.email, last.agent_id, last.owner_user_id
    )


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
