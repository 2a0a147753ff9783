"""Who wrote it, for a Tasker that has no owned bot users yet (Plane).

Plane records every write under the one user whose API key the gateway holds. Until Tasker
represents agents as bot users, each card description and comment the agent writes ends
with a footer naming the bot identity, the agent and its owner, and creates carry an
`external_source` with the same ids. Reads strip the footer again, so the application
sees the text it wrote and a later write does not stack footers.

Plane re-serializes every description and comment with lxml, which wraps HTML of more
than one top-level node in a bare `<div>`; a signed body always has at least two (the text
and the footer). `unsigned` takes that wrapper off again, so what is read back is what was
written and writing it again gives the same structure (without this, each write nested the
card one `<div>` deeper until the card could no longer be found).
"""

from __future__ import annotations

import html
import re
from typing import Final

import attrs

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.html_fragment import Element, LeafKind, parse_fragment
from nodedc_gateway.domain.tasker import Actor

SOURCE: Final = "nodedc-gateway"
MAX_SOURCE_LENGTH: Final = 255  # Plane's external_source column
_CLASS: Final = "nodedc-actor"
_SIGNATURE: Final = "via NODE.DC Agent Gateway"
_FOOTER = re.compile(r'<p class="nodedc-actor">([^<]*)</p>')
#: Bare wrappers taken off at most (Plane's one, plus those older writes nested).
MAX_WRAPPERS: Final = 8
_BLANK: Final = " \t\n\r\f"
_FOOTER_TEXT = re.compile(
    r"^— (?P<name>.+) · (?P<email>\S+) · agent (?P<agent>\S+) · owner (?P<owner>\S+) · "
    + re.escape(_SIGNATURE)
    + "$"
)


@attrs.frozen
class Attribution:
    """What a footer says about its writer."""

    display_name: str
    email: str
    agent_id: str
    owner_user_id: str


def footer_html(actor: Actor) -> str:
    text = (
        f"— {actor.display_name} · {actor.email} · agent {actor.agent_id} · "
        f"owner {actor.owner_user_id} · {_SIGNATURE}"
    )
    return f'<p class="{_CLASS}">{html.escape(text, quote=False)}</p>'


def with_footer(body_html: str, actor: Actor) -> str:
    """The body as the agent wrote it, signed by `actor` (any older footer replaced)."""
    return strip_footer(body_html) + footer_html(actor)


def strip_footer(body_html: str) -> str:
    return _FOOTER.sub("", body_html)


def unsigned(stored_html: str) -> str:
    """A body as Tasker stores it, as the agent wrote it: the footer removed, and the bare
    `<div>` that Plane's lxml puts around multi-node HTML taken off (also the ones earlier
    versions let pile up). Writing the result signed again is stable under Plane's
    normalisation: it wraps it in exactly one `<div>` again."""
    body = strip_footer(stored_html)
    for _ in range(MAX_WRAPPERS):
        inner = _unwrapped(body)
        if inner is None:
            return body
        body = inner
    return body


def _unwrapped(body: str) -> str | None:
    """The content of `body` when it is one bare `<div>` (blank text around it), else None."""
    try:
        fragment = parse_fragment(body, field="description_html")
    except ValidationFailed:
        return None
    if fragment.unclosed or fragment.dangling_at is not None:
        return None
    significant = [
        node
        for node in fragment.root.children
        if isinstance(node, Element)
        or node.kind is not LeafKind.TEXT
        or fragment.slice(node).strip(_BLANK)
    ]
    if len(significant) != 1:
        return None
    only = significant[0]
    if not isinstance(only, Element) or only.name != "div" or only.attributes:
        return None
    return body[only.inner_start : only.inner_end]


def read_footer(body_html: str) -> Attribution | None:
    """The writer a body is signed by (its last footer), if any."""
    found = _FOOTER.findall(body_html)
    if not found:
        return None
    match = _FOOTER_TEXT.match(html.unescape(found[-1]))
    if match is None:
        return None
    return Attribution(match["name"], match["email"], match["agent"], match["owner"])


def external_source(actor: Actor) -> str:
    """Plane's `external_source` for the agent's writes: stable per agent (so Plane's
    external-id dedupe works), and naming the agent and its owner."""
    source = f"{SOURCE}:agent={actor.agent_id};owner={actor.owner_user_id}"
    if len(source) <= MAX_SOURCE_LENGTH:
        return source
    return f"{SOURCE}:agent={actor.agent_id}"[:MAX_SOURCE_LENGTH]


def agent_of_source(source: object) -> str | None:
    """The agent id an `external_source` written by `external_source` names."""
    if not isinstance(source, str) or not source.startswith(f"{SOURCE}:agent="):
        return None
    return source.removeprefix(f"{SOURCE}:agent=").split(";", 1)[0] or None
