"""Who wrote it, for a Tasker that has no owned bot users yet (Plane).

Plane records every write under the one user whose API key the gateway holds. Until Tasker
represents agents as bot users, each card description and comment the agent writes ends
with a footer naming the bot identity, the agent and its owner, and creates carry an
`external_source` with the same ids. Reads strip the footer again, so the application
sees the text it wrote and a later write does not stack footers.
"""

from __future__ import annotations

import html
import re
from typing import Final

import attrs

from nodedc_gateway.domain.tasker import Actor

SOURCE: Final = "nodedc-gateway"
MAX_SOURCE_LENGTH: Final = 255  # Plane's external_source column
_CLASS: Final = "nodedc-actor"
_SIGNATURE: Final = "via NODE.DC Agent Gateway"
_FOOTER = re.compile(r'<p class="nodedc-actor">([^<]*)</p>')
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
