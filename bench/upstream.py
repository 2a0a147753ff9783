"""The upstream of part 5: a small in-memory Tasker answering the internal adapter's
contract (`docs/tasker-adapter.md`) for the requests a governed `create_issue` makes, and
those the setup makes to grant an agent its project.

A bare ASGI app (no framework, so its own time stays small and is all in the app),
served by uvicorn like the other servers of the benchmark. It holds one workspace
(`demo`, agents allowed), one project (`DEMO`) with its states, and one member, the
agents' owner; it checks what the document says Tasker checks for these requests (the
bearer token, strict bodies, the actor on every write, the state, labels, assignees and
parent belonging to the project, the dates' order, `external_id` unique per project) and
answers in the documented JSON. Anything else the document offers is a `404`, as for a
path it does not know.

Served operations (numbers of the document's table): 2 `find_project`, 3 `get_project`,
5 `workspace_policy`, 6 `user_has_access`, 10 `create_issue`, 14 `check`.

It times itself: every request's time in the app, from its body in hand to the end of its
answer (uvicorn's own parsing, the wait for the client's bytes and the loopback exchange
are not in it), kept by
operation until `POST /bench/timings` (outside the adapter's prefix, no token) answers and
forgets them, so the benchmark can say what each side's calls cost the upstream. An
operation is named by its handler, the port operation it serves (`workspace_policy`,
`create_issue`, …); a refused request is `refused`.

    python -m bench.upstream --port 8124 --token …
"""

from __future__ import annotations

import argparse
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, date, datetime
from typing import Any, Final

import attrs
import uvicorn

PREFIX: Final = "/internal/agent-gateway/v1/"
TIMINGS_PATH: Final = "/bench/timings"
WORKSPACE: Final = "demo"
PROJECT_ID: Final = "0192f0c4-0000-7000-8000-00000000d3e0"
PROJECT_IDENTIFIER: Final = "DEMO"
#: The agents' owner: the one member of the workspace and of the project.
OWNER_ID: Final = "0192f0c4-0000-7000-8000-0000000a11ce"
OWNER_EMAIL: Final = "alice@demo.local"
STATES: Final = (
    {"id": "0192f0c4-0000-7000-8000-000000005701", "name": "Backlog", "group": "backlog"},
    {"id": "0192f0c4-0000-7000-8000-000000005702", "name": "Todo", "group": "unstarted"},
    {"id": "0192f0c4-0000-7000-8000-000000005703", "name": "In Progress", "group": "started"},
    {"id": "0192f0c4-0000-7000-8000-000000005704", "name": "Done", "group": "completed"},
    {"id": "0192f0c4-0000-7000-8000-000000005705", "name": "Cancelled", "group": "cancelled"},
)
LABELS: Final = ({"id": "0192f0c4-0000-7000-8000-000000001ab1", "name": "bug"},)
MEMBERS: Final = ({"id": OWNER_ID, "display_name": "Alice", "email": OWNER_EMAIL},)
PRIORITIES: Final = frozenset({"urgent", "high", "medium", "low", "none"})
ACTOR_FIELDS: Final = frozenset({"agent_id", "owner_user_id", "display_name", "email", "is_bot"})
ISSUE_FIELDS: Final = frozenset(
    {
        "name",
        "description_html",
        "priority",
        "state_id",
        "label_ids",
        "assignee_ids",
        "start_date",
        "target_date",
        "parent_id",
    }
)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_W = r"workspaces/(?P<slug>[a-z0-9][a-z0-9_-]{0,47})"
_P = _W + rf"/projects/(?P<project_id>{_UUID})"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Problem(Exception):
    """A refusal, answered as `application/problem+json`."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field

    def body(self) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": "about:blank",
            "title": self.code,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.field is not None:
            problem["errors"] = [{"field": self.field, "message": self.detail}]
        return problem


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation_failed", f"{field}: {message}", field)


def _not_found(what: str) -> Problem:
    return Problem(404, "not_found", f"No such {what}, or not visible to the gateway.")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@attrs.define
class Store:
    """The workspace's issues, by id, and their ids by `external_id`."""

    issues: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: Who wrote each issue (the document's actor model: kept, not answered).
    authors: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    by_external_id: dict[str, str] = attrs.field(factory=dict)
    sequence: int = 0


class Upstream:
    """The ASGI app: `token` is the gateway's `TASKER_TOKEN`."""

    def __init__(self, token: str) -> None:
        self._authorization = f"Bearer {token}".encode()
        self.store = Store()
        self.timings: dict[str, list[float]] = {}
        self._routes: tuple[tuple[str, re.Pattern[str], Callable[..., Any]], ...] = tuple(
            (method, re.compile(pattern), handler)
            for method, pattern, handler in (
                ("GET", "health", self.check),
                ("GET", _W + "/policy", self.workspace_policy),
                ("GET", _W + rf"/members/(?P<user_id>{_UUID})/access", self.user_has_access),
                ("GET", _P + "/details", self.get_project),
                ("GET", _W + "/projects/(?P<project_ref>[^/]+)", self.find_project),
                ("POST", _P + "/issues", self.create_issue),
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                await send({"type": event + ".complete"})
                if event == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        raw = await _read_body(receive)
        started = time.perf_counter()  # the request in hand: waiting for its bytes is not ours
        operation, status, body = self.handle(scope, raw)
        payload = json.dumps(body, separators=(",", ":")).encode()
        kind = b"application/json" if status < 400 else b"application/problem+json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        if operation != "timings":
            self.timings.setdefault(operation, []).append(time.perf_counter() - started)

    def handle(self, scope: Scope, raw: bytes) -> tuple[str, int, Any]:
        """(operation, status, JSON body) of one request."""
        method, path = scope["method"], scope["path"]
        if path == TIMINGS_PATH and method == "POST":
            timings, self.timings = self.timings, {}
            return "timings", 200, timings
        try:
            if dict(scope["headers"]).get(b"authorization") != self._authorization:
                raise Problem(401, "unauthenticated", "Bearer token missing or wrong.")
            if not path.startswith(PREFIX):
                raise _not_found("endpoint")
            rest = path.removeprefix(PREFIX)
            for route_method, pattern, handler in self._routes:
                match = pattern.fullmatch(rest)
                if match is not None and route_method == method:
                    body = json.loads(raw) if raw else None
                    status, answer = handler(body, **match.groupdict())
                    return handler.__name__, status, answer
            raise _not_found("endpoint")
        except Problem as problem:
            return "refused", problem.status, problem.body()
        except ValueError:
            return "refused", 400, _invalid("body", "is not JSON").body()

    # --- reads ----------------------------------------------------------------------------

    def check(self, body: Any) -> tuple[int, Any]:
        return 200, {"status": "ok"}

    def workspace_policy(self, body: Any, slug: str) -> tuple[int, Any]:
        _workspace(slug)
        return 200, {"workspace_slug": slug, "agents_allowed": True}

    def user_has_access(self, body: Any, slug: str, user_id: str) -> tuple[int, Any]:
        member = slug == WORKSPACE and any(m["id"] == user_id for m in MEMBERS)
        return 200, {"has_access": member}

    def find_project(self, body: Any, slug: str, project_ref: str) -> tuple[int, Any]:
        _workspace(slug)
        if project_ref not in (PROJECT_ID, PROJECT_IDENTIFIER):
            raise _not_found("project")
        return 200, _project()

    def get_project(self, body: Any, slug: str, project_id: str) -> tuple[int, Any]:
        _project_of(slug, project_id)
        return 200, {
            "project": _project(),
            "states": list(STATES),
            "labels": list(LABELS),
            "members": list(MEMBERS),
        }

    # --- the write ------------------------------------------------------------------------

    def create_issue(self, body: Any, slug: str, project_id: str) -> tuple[int, Any]:
        _project_of(slug, project_id)
        _strict(body, "body", {"actor", "external_id", "issue"}, required={"actor", "issue"})
        actor = _actor(body["actor"])
        external_id = body.get("external_id")
        if external_id is not None:
            if not isinstance(external_id, str) or not external_id:
                raise _invalid("external_id", "must be a non-empty string")
            if external_id in self.store.by_external_id:
                return 200, self.store.issues[self.store.by_external_id[external_id]]
        issue = self._new_issue(project_id, body["issue"])
        self.store.issues[issue["id"]] = issue
        self.store.authors[issue["id"]] = actor
        if external_id is not None:
            self.store.by_external_id[external_id] = issue["id"]
        return 201, issue

    def _new_issue(self, project_id: str, fields: Any) -> dict[str, Any]:
        _strict(fields, "issue", ISSUE_FIELDS, required={"name"})
        name = fields["name"]
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise _invalid("issue.name", "must be 1-255 characters")
        priority = fields.get("priority", "none")
        if priority not in PRIORITIES:
            raise _invalid("issue.priority", "must be urgent, high, medium, low or none")
        state_id = fields.get("state_id") or STATES[0]["id"]
        state = next((s for s in STATES if s["id"] == state_id), None)
        if state is None:
            raise _invalid("issue.state_id", "is not a state of this project")
        labels = _pick(fields.get("label_ids") or [], LABELS, "issue.label_ids", "a label")
        assignees = _pick(
            fields.get("assignee_ids") or [], MEMBERS, "issue.assignee_ids", "a member"
        )
        parent_id = fields.get("parent_id")
        if parent_id is not None and parent_id not in self.store.issues:
            raise _invalid("issue.parent_id", "is not an issue of this project")
        start, target = _date(fields, "start_date"), _date(fields, "target_date")
        if start and target and date.fromisoformat(start) > date.fromisoformat(target):
            raise _invalid("issue.start_date", "must not be after target_date")
        self.store.sequence += 1
        now = _now()
        return {
            "id": str(uuid.uuid4()),
            "workspace_slug": WORKSPACE,
            "project_id": project_id,
            "identifier": f"{PROJECT_IDENTIFIER}-{self.store.sequence}",
            "name": name,
            "description_html": fields.get("description_html") or "",
            "priority": priority,
            "state": state,
            "labels": labels,
            "assignees": assignees,
            "parent_id": parent_id,
            "start_date": start,
            "target_date": target,
            "created_at": now,
            "updated_at": now,
        }


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _workspace(slug: str) -> None:
    if slug != WORKSPACE:
        raise _not_found("workspace")


def _project_of(slug: str, project_id: str) -> None:
    _workspace(slug)
    if project_id != PROJECT_ID:
        raise _not_found("project")


def _project() -> dict[str, Any]:
    return {
        "id": PROJECT_ID,
        "workspace_slug": WORKSPACE,
        "identifier": PROJECT_IDENTIFIER,
        "name": "Demo project",
    }


def _strict(raw: Any, where: str, allowed: set[str] | frozenset[str], required: set[str]) -> None:
    if not isinstance(raw, dict):
        raise _invalid(where, "must be a JSON object")
    unknown = set(raw) - allowed
    if unknown:
        raise _invalid(f"{where}.{sorted(unknown)[0]}", "is not a field of this request")
    missing = required - set(raw)
    if missing:
        raise _invalid(f"{where}.{sorted(missing)[0]}", "is required")


def _actor(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) != ACTOR_FIELDS:
        raise _invalid("actor", f"must have exactly {sorted(ACTOR_FIELDS)}")
    if raw["is_bot"] is not True:
        raise _invalid("actor.is_bot", "must be true")
    if not all(isinstance(raw[k], str) and raw[k] for k in ACTOR_FIELDS - {"is_bot"}):
        raise _invalid("actor", "every field must be a non-empty string")
    return raw


def _pick(ids: Any, known: tuple[dict[str, Any], ...], field: str, what: str) -> list[Any]:
    if not isinstance(ids, list):
        raise _invalid(field, "must be a list of ids")
    by_id = {item["id"]: item for item in known}
    for item_id in ids:
        if item_id not in by_id:
            raise _invalid(field, f"{item_id!r} is not {what} of this project")
    return [by_id[item_id] for item_id in ids]


def _date(fields: Any, name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise _invalid(f"issue.{name}", "must be YYYY-MM-DD") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    options = parser.parse_args()
    config = uvicorn.Config(
        Upstream(options.token),
        host=options.host,
        port=options.port,
        log_config=None,
        http="httptools",
        server_header=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
