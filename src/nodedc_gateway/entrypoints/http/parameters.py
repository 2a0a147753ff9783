"""The internal API's path, header and query parameters: each limit and pattern is the
domain's, projected onto the OpenAPI document (the checks stay the domain's)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import HeaderParameter, PathParameter, QueryParameter

from nodedc_gateway.application.ownership import MAX_PAGE
from nodedc_gateway.domain.agents import MAX_USER_ID
from nodedc_gateway.domain.audit import MAX_EVENT_NAME, MAX_SEQ_DIGITS
from nodedc_gateway.domain.idempotency import MAX_KEY_LENGTH
from nodedc_gateway.domain.validation import MAX_ID_INPUT, MAX_SLUG, MAX_UUID
from nodedc_gateway.entrypoints.http import bodies


def _path_text(description: str, max_length: int, pattern: str) -> Any:
    """A path parameter of text, with the pattern the domain's check amounts to."""
    return PathParameter(
        description=description,
        min_length=1,
        max_length=max_length,
        schema_extra={"pattern": pattern},
    )


def _path_id(description: str) -> Any:
    """A path parameter naming a stored id (the domain says whether it is one)."""
    return PathParameter(description=description, max_length=MAX_ID_INPUT)


OwnerId = Annotated[
    str, _path_text("The Tasker user who owns the agents", MAX_USER_ID, bodies.TEXT_PATTERN)
]
AgentId = Annotated[
    str, PathParameter(description="The agent's id (UUID)", max_length=MAX_ID_INPUT)
]
GrantId = Annotated[
    str, PathParameter(description="The grant's id (UUID)", max_length=MAX_ID_INPUT)
]
TokenId = Annotated[
    str, PathParameter(description="The token's id (UUID)", max_length=MAX_ID_INPUT)
]
ActorHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-NodeDC-Actor-User-Id",
        required=False,
        min_length=1,
        max_length=MAX_USER_ID,
        description="The person acting (default: the owner in the path)",
        schema_extra={"pattern": bodies.HEADER_TEXT_PATTERN},
    ),
]
IdempotencyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Retry-safe key (CONTRACT §7); a replay answers `Idempotent-Replayed: true`",
        schema_extra={"pattern": bodies.HEADER_TEXT_PATTERN},
    ),
]
Limit = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_PAGE, required=False, description="Page size")
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_UUID,
        required=False,
        description="next_cursor of the last page",
        schema_extra={"pattern": bodies.UUID_PATTERN},
    ),
]
AuditCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_SEQ_DIGITS,
        required=False,
        description="next_cursor of the last page",
        schema_extra={"pattern": f"^[0-9]{{1,{MAX_SEQ_DIGITS}}}$"},
    ),
]
AuditText = Annotated[
    str | None,
    QueryParameter(
        required=False, max_length=MAX_EVENT_NAME, schema_extra={"pattern": bodies.TEXT_PATTERN}
    ),
]
Timestamp = Annotated[
    str | None,
    QueryParameter(
        required=False,
        max_length=40,
        description="RFC 3339, e.g. 2026-11-22T12:00:00Z",
        schema_extra={"format": "date-time"},
    ),
]


RequestId = Annotated[str, _path_id("The access request's id (UUID)")]
Slug = Annotated[str, _path_text("Workspace slug", MAX_SLUG, bodies.SLUG_PATTERN)]
ProjectRef = Annotated[
    str, _path_text("Project UUID or identifier (DEMO)", MAX_ID_INPUT, bodies.PROJECT_PATTERN)
]


def user_id_query(description: str | None = None) -> Any:
    """A Tasker user id in the query string."""
    return QueryParameter(
        description=description,
        min_length=1,
        max_length=MAX_USER_ID,
        schema_extra={"pattern": bodies.TEXT_PATTERN},
    )
