"""`python -m bench --console`: how fast the owner console renders its pages on the
embedded default (SQLite file + sandbox Tasker), measured in process, one request at a
time after a warm-up. A benchmark, not a test: it prints the p50 and p99 of each page and
checks the p50 against the 100 ms target (CONTRACT §13 and issue #16)."""

from __future__ import annotations

import io
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import attrs
from litestar.testing import AsyncTestClient

from bench.stats import median, percentile
from nodedc_gateway.adapters.persistence.sql.migrate import upgrade
from nodedc_gateway.adapters.tasker.seed import seed_demo
from nodedc_gateway.entrypoints.bootstrap import build_container, resolve
from nodedc_gateway.entrypoints.http.app import create_app
from nodedc_gateway.entrypoints.logs import configure_logging
from nodedc_gateway.entrypoints.settings import load_settings

TARGET_P50_S = 0.100
INTERNAL = "bench-internal-token-0123456789abcdefghij"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@attrs.frozen
class PageTiming:
    path: str
    p50_s: float
    p99_s: float
    samples: int


async def run(samples: int = 200, warmup: int = 20) -> list[PageTiming]:
    with tempfile.TemporaryDirectory(prefix="nodedc_bench_console_") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'gateway.db'}"
        await upgrade(url)
        settings = load_settings(
            {}, database_url=url, internal_token=INTERNAL, token_pepper="bench-pepper-" + "x" * 32
        )
        container = build_container(settings)
        configure_logging(container.core.redactor(), stream=io.StringIO())  # quiet
        app = create_app(container)
        async with AsyncTestClient(app, base_url="http://127.0.0.1:8000") as client:
            demo = await seed_demo(await resolve(container.tasker.sandbox))
            paths = await _console_with_data(client, demo.alice.id)
            timings = []
            for path in paths:
                for _ in range(warmup):
                    await client.get(path)
                seen = []
                for _ in range(samples):
                    started = time.perf_counter()
                    response = await client.get(path)
                    seen.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(f"{path} answered {response.status_code}")
                timings.append(PageTiming(path, median(seen), percentile(seen, 0.99), len(seen)))
    return timings


async def _console_with_data(client: AsyncTestClient, owner: str) -> list[str]:  # type: ignore[type-arg]
    """Sign in through a link, create an agent with a grant and a token through the
    console's own forms, and name the pages to time."""
    headers = {"Authorization": f"Bearer {INTERNAL}"}
    link = (await client.post(f"/internal/v1/owners/{owner}/console-links", headers=headers)).json()
    await client.get(urlsplit(link["url"]).path, follow_redirects=False)
    page = await client.get("/console/agents")
    csrf = _CSRF.search(page.text)
    assert csrf is not None
    created = await client.post(
        "/console/agents",
        data={"_csrf_token": csrf.group(1), "display_name": "Bench", "owner_email": "a@b.cd"},
        follow_redirects=False,
    )
    agent = created.headers["location"].split("/")[-1].split("?")[0]
    granted = await client.post(
        f"/console/agents/{agent}/grants",
        data={
            "_csrf_token": csrf.group(1),
            "workspace_slug": "demo",
            "project_id": "DEMO",
            "scopes": ["issue:read", "issue:create"],
            "mode": "voluntary",
        },
        follow_redirects=False,
    )
    grant = granted.headers["location"].split("?")[0]
    await client.post(
        f"/console/agents/{agent}/tokens",
        data={"_csrf_token": csrf.group(1), "name": "bench"},
    )
    return [
        "/console/agents",
        f"/console/agents/{agent}",
        grant,
        "/console/requests",
        f"/console/audit?agent={agent}",
        "/console/reporting",
    ]


def report(timings: list[PageTiming]) -> str:
    lines = ["Owner console, embedded default (SQLite + sandbox Tasker), in process:", ""]
    shown = [re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", t.path) for t in timings]
    width = max(len(path) for path in shown)
    for t, path in zip(timings, shown, strict=True):
        verdict = "ok" if t.p50_s <= TARGET_P50_S else "OVER the 100 ms target"
        lines.append(
            f"  {path:<{width}}  p50 {t.p50_s * 1000:6.2f} ms  p99 {t.p99_s * 1000:6.2f} ms"
            f"  ({t.samples} renders, {verdict})"
        )
    worst = max(t.p50_s for t in timings)
    lines += ["", f"  slowest page p50: {worst * 1000:.2f} ms (target <= 100 ms)"]
    return "\n".join(lines)
