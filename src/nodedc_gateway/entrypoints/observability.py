"""Request ids, the access log and Prometheus metrics, as one ASGI middleware around the
whole app (MCP included). Metrics are labelled by route template, never by raw path, so
owner and agent ids cannot blow up label cardinality."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from nodedc_gateway.entrypoints.libraries import structlog
from nodedc_gateway.entrypoints.logs import get_logger
from nodedc_gateway.ports.ids import IdGenerator

ASGIApp = Any
REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
log = get_logger("nodedc_gateway.access")
#: Label sets whose metric children are kept at hand, per metric, at most.
MAX_LABEL_SETS = 1024
T = TypeVar("T")


class Metrics:
    """The gateway's metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nodedc_http_requests",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nodedc_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.tool_calls = Counter(
            "nodedc_mcp_tool_calls",
            "MCP tool calls by outcome",
            ["tool", "outcome"],
            registry=self.registry,
        )

        # Each label set's children, found once: `labels()` checks the values and takes a
        # lock on every call, a few µs per request. Bounded (a client names the method).
        self._request_children: dict[Any, tuple[Any, Any]] = {}
        self._tool_children: dict[Any, Any] = {}

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a request and observe its duration."""
        counted, timed = _kept(
            self._request_children,
            (method, route, status),
            lambda: (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            ),
        )
        counted.inc()
        timed.observe(seconds)

    def tool_call(self, tool: str, outcome: str) -> None:
        """Count an MCP tool call by its outcome."""
        key = (tool, outcome)
        _kept(self._tool_children, key, lambda: self.tool_calls.labels(*key)).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _kept(children: dict[Any, T], key: Any, make: Callable[[], T]) -> T:
    """The metric children kept under `key`, made on first use; all forgotten at once
    past MAX_LABEL_SETS (they stay in the registry, so nothing counted is lost)."""
    found = children.get(key)
    if found is None:
        if len(children) >= MAX_LABEL_SETS:
            children.clear()
        found = children[key] = make()
    return found


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, ids: IdGenerator) -> None:
        self.app = app
        self.metrics = metrics
        self.ids = ids

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if _VALID_REQUEST_ID.match(given) else self.ids.new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("path_template") or (
                    # Litestar rewrites `path` for a mount; the raw path still says /mcp.
                    "/mcp"
                    if bytes(scope.get("raw_path") or b"").startswith(b"/mcp")
                    else "unmatched"
                )
                method = scope.get("method", "")
                self.metrics.request_done(method, route, status, elapsed)
                log.info(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
