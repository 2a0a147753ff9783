"""The gateway's metrics keep each label set's children at hand; what they count must be
exactly what asking `labels()` every time would count, also once the kept sets are
forgotten (more label sets than kept)."""

from __future__ import annotations

import pytest

from nodedc_gateway.entrypoints import observability
from nodedc_gateway.entrypoints.observability import Metrics


def _requests(metrics: Metrics, method: str, route: str, status: str) -> float | None:
    labels = {"method": method, "route": route, "status": status}
    return metrics.registry.get_sample_value("nodedc_http_requests_total", labels)


def test_requests_and_their_durations_are_counted_per_label_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(observability, "MAX_LABEL_SETS", 2)  # forgotten along the way
    metrics = Metrics()
    calls = [("POST", "/mcp", 200)] * 3 + [("GET", "/health/live", 200), ("POST", "/mcp", 401)]
    calls += [("POST", "/mcp", 200)] * 2
    for method, route, status in calls:
        metrics.request_done(method, route, status, 0.003)

    assert _requests(metrics, "POST", "/mcp", "200") == 5
    assert _requests(metrics, "GET", "/health/live", "200") == 1
    assert _requests(metrics, "POST", "/mcp", "401") == 1
    durations = {"method": "POST", "route": "/mcp"}
    count = metrics.registry.get_sample_value(
        "nodedc_http_request_duration_seconds_count", durations
    )
    assert count == 6
    bucket = {**durations, "le": "0.005"}
    assert (
        metrics.registry.get_sample_value("nodedc_http_request_duration_seconds_bucket", bucket)
        == 6
    )


def test_tool_calls_are_counted_per_tool_and_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "MAX_LABEL_SETS", 1)
    metrics = Metrics()
    for tool, outcome in [("whoami", "ok"), ("create_issue", "ok"), ("whoami", "ok")]:
        metrics.tool_call(tool, outcome)
    sample = metrics.registry.get_sample_value
    assert sample("nodedc_mcp_tool_calls_total", {"tool": "whoami", "outcome": "ok"}) == 2
    assert sample("nodedc_mcp_tool_calls_total", {"tool": "create_issue", "outcome": "ok"}) == 1
