"""What may leave the gateway for a Tasker backend: a closed table of routes.

Every request a Tasker adapter sends is built from a `Route`: its method, its path template,
and the body and query fields it may carry. Routes are checked when they are defined: no
method other than GET, POST and PATCH; no path that names an archive, an invitation,
settings or anything else human-only; no body field Tasker would read as archiving,
deleting, drafting or impersonating. Building a request checks it again: a body or query
field outside the route's allow-list, or a path value that is not a plain id, slug or key,
stops the request before it leaves (a programming error: the port cannot ask for more).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal
from urllib.parse import quote

import attrs
import httpx

from nodedc_gateway.adapters.service_client import ServiceClient
from nodedc_gateway.domain import validation

Method = Literal["GET", "POST", "PATCH"]
ALLOWED_METHODS: Final = frozenset({"GET", "POST", "PATCH"})

#: Fields no request body may carry, at any depth: Tasker (Plane) would honour them as
#: archiving, deleting, drafting, back-dating or writing as someone else.
FORBIDDEN_FIELDS: Final = frozenset(
    {
        "archived_at",
        "archive",
        "is_archived",
        "deleted_at",
        "is_deleted",
        "delete",
        "is_draft",
        "created_by",
        "created_by_id",
        "updated_by",
        "updated_by_id",
        "created_at",
        "updated_at",
        "owned_by",
        "workspace",
        "workspace_id",
        "project_id_override",
        "invite",
        "invitations",
        "emails",
        "settings",
        "path",
        "url",
        "method",
    }
)

#: Words no path template may contain.
FORBIDDEN_PATH_WORDS: Final = (
    "archive",
    "invit",
    "setting",
    "delete",
    "remove",
    "bulk",
    "transfer",
    "leave",
    "token",
    "webhook",
    "export",
    "import",
    "attachment",
    "asset",
    "proxy",
    "raw",
)

_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9]{0,11}-[1-9][0-9]{0,8}$")
_IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9]{0,11}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_PLACEHOLDER = re.compile(r"\{(\w+):(\w+)\}")


class ForbiddenRequest(Exception):
    """A request outside the allow-list was about to leave the gateway (a bug)."""


def _uuid(value: str) -> bool:
    return validation.is_uuid(value) and value == value.lower()


_PARAM_KINDS: Final[Mapping[str, Callable[[str], bool]]] = {
    "slug": lambda v: bool(_SLUG.match(v)),
    "uuid": _uuid,
    "key": lambda v: bool(_ISSUE_KEY.match(v)),
    "project_ref": lambda v: _uuid(v) or bool(_IDENTIFIER.match(v)),
    "issue_ref": lambda v: _uuid(v) or bool(_ISSUE_KEY.match(v)),
}

#: A body field's shape: `None` for a value (scalar or list of scalars), or the keys of a
#: nested object.
Shape = frozenset[str] | None


@attrs.frozen
class Outbound:
    """A request that passed the allow-list; adapters send exactly this."""

    route: str
    method: Method
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None


async def send_through(
    http: ServiceClient, outbound: Outbound, *, repeatable: bool
) -> httpx.Response:
    """`outbound`, exactly as built, to the backend `http` speaks to."""
    return await http.send(
        outbound.method,
        outbound.path,
        params=outbound.query,
        json=outbound.body,
        repeatable=repeatable,
    )


@attrs.frozen
class Route:
    """One allowed request. `path` is relative to the backend's base URL, with
    placeholders `{name:kind}` (kinds: slug, uuid, key, project_ref, issue_ref)."""

    name: str
    method: Method
    path: str
    body: Mapping[str, Shape] = attrs.field(factory=dict)
    query: frozenset[str] = frozenset()
    fixed_body: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = route_problems(self)
        if problems:
            raise ForbiddenRequest(f"route {self.name}: {'; '.join(problems)}")

    def build(
        self,
        params: Mapping[str, str] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str | int] | None = None,
    ) -> Outbound:
        """The request for these values, or `ForbiddenRequest`."""
        path = self._render(params or {})
        sent_query = tuple((k, str(v)) for k, v in (query or {}).items())
        extra_query = sorted({k for k, _ in sent_query} - self.query)
        if extra_query:
            raise ForbiddenRequest(f"{self.name}: query fields not allowed: {extra_query}")
        if self.method == "GET":
            if body is not None:
                raise ForbiddenRequest(f"{self.name}: a GET carries no body")
            return Outbound(self.name, self.method, path, sent_query)
        sent = dict(body or {})
        overlap = sorted(set(sent) & set(self.fixed_body))
        if overlap:
            raise ForbiddenRequest(f"{self.name}: fixed fields may not be given: {overlap}")
        _check_body(self.name, sent, self.body)
        sent.update(self.fixed_body)
        return Outbound(self.name, self.method, path, sent_query, sent)

    def accepts(self, params: Mapping[str, str]) -> bool:
        """Whether these path values are plain enough to send (else nothing can match)."""
        try:
            self._render(params)
        except ForbiddenRequest:
            return False
        return True

    def _render(self, params: Mapping[str, str]) -> str:
        wanted = dict(_PLACEHOLDER.findall(self.path))
        if set(params) != set(wanted):
            raise ForbiddenRequest(f"{self.name}: path needs {sorted(wanted)}")
        for name, kind in wanted.items():
            value = params[name]
            if not isinstance(value, str) or not _PARAM_KINDS[kind](value):
                raise ForbiddenRequest(f"{self.name}: {name} is not a plain {kind}")
        return _PLACEHOLDER.sub(lambda m: quote(params[m.group(1)], safe=""), self.path)


def route_problems(route: Route) -> list[str]:
    """Why a route could never be allowed (empty when it is fine)."""
    problems: list[str] = []
    if route.method not in ALLOWED_METHODS:
        problems.append(f"method {route.method} is not allowed")
    literal = _PLACEHOLDER.sub("", route.path).lower()
    problems += [f"path names {w!r}" for w in FORBIDDEN_PATH_WORDS if w in literal]
    if ".." in route.path or "//" in route.path or route.path.startswith("/"):
        problems.append("path must be relative and plain")
    unknown_kinds = {k for _, k in _PLACEHOLDER.findall(route.path)} - set(_PARAM_KINDS)
    if unknown_kinds:
        problems.append(f"unknown placeholder kinds {sorted(unknown_kinds)}")
    fields = set(route.body) | set(route.fixed_body) | set(route.query)
    for nested in route.body.values():
        fields |= nested or set()
    problems += [f"field {f!r} is forbidden" for f in sorted(fields & FORBIDDEN_FIELDS)]
    if route.method == "GET" and (route.body or route.fixed_body):
        problems.append("a GET carries no body")
    return problems


def _check_body(route: str, body: Mapping[str, Any], allowed: Mapping[str, Shape]) -> None:
    for key, value in body.items():
        if key in FORBIDDEN_FIELDS or key not in allowed:
            raise ForbiddenRequest(f"{route}: body field {key!r} is not allowed")
        nested = allowed[key]
        if nested is None:
            if isinstance(value, Mapping) or (
                isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value)
            ):
                raise ForbiddenRequest(f"{route}: body field {key!r} must be a plain value")
            continue
        if not isinstance(value, Mapping):
            raise ForbiddenRequest(f"{route}: body field {key!r} must be an object")
        _check_body(f"{route}.{key}", value, dict.fromkeys(nested))
