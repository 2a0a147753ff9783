"""Who is calling: the internal token (constant time), the acting person, the
idempotency key, and the client address for public rate limits."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.agents import MAX_USER_ID
from nodedc_gateway.domain.errors import NotFound
from nodedc_gateway.domain.idempotency import idempotency_key
from nodedc_gateway.entrypoints.bootstrap import Services

ACTOR_HEADER = "x-nodedc-actor-user-id"
IDEMPOTENCY_HEADER = "idempotency-key"


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def internal_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the internal token (or one still accepted during its rotation), compared in
    constant time with each; anything else is a 401."""
    given = (bearer(connection) or "").encode()
    matched = False
    for accepted in services_of(connection).accepted_internal_tokens:
        matched |= hmac.compare_digest(given, accepted.reveal().encode())  # no early exit
    if not matched:
        raise NotAuthorizedException("Missing or invalid internal token.")


def actor_user_id(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The person acting through Tasker or Launcher (default: the owner in the path)."""
    value = connection.headers.get(ACTOR_HEADER)
    return (
        None
        if value is None
        else validation.text(value, "X-NodeDC-Actor-User-Id", max_length=MAX_USER_ID)
    )


def idempotency(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    value = connection.headers.get(IDEMPOTENCY_HEADER)
    return None if value is None else idempotency_key(value, "Idempotency-Key")


def owner_id(value: str) -> str:
    return validation.text(value, "owner_user_id", max_length=MAX_USER_ID)


def entity_id(value: str) -> str:
    """An agent, grant or token id from a path: anything but a UUID is simply not found."""
    if not validation.is_uuid(value):
        raise NotFound("No such agent for this owner.")
    return value.lower()


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    client = connection.client
    return client.host if client is not None else "unknown"
