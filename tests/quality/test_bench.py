"""`make bench` works from a clone: the whole benchmark, at smoke size, prints its ratios
and writes its report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import require_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.slow
def test_the_benchmark_runs_and_writes_its_report(tmp_path: Path) -> None:
    require_postgres()
    report = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=360,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    parts = ("[1] grant decision", "[2] governed `create_issue`, p50", "[3] governed call")
    parts += ("[4] `serve` ready", "[4] `stdio` answers `initialize`")
    for part in (*parts, "[5] governed `create_issue` on the HTTP Tasker, p50"):
        assert part in done.stdout
    for database in ("PostgreSQL", "SQLite"):  # issue 15's latency ratios, from one run
        for row in ("`create_issue`, p50", "`create_issue`, p50, against one INSERT"):
            assert f"[2] governed {row} ({database})" in done.stdout
        assert f"[2] governed `get_issue`, p50 ({database})" in done.stdout
    text = report.read_text()
    headings = ("## 1. Grant evaluation", "## 2. Governed call", "## 3. Scale", "## 4. Start-up")
    for heading in ("## Results", *headings, "## 5. Production shape: the HTTP Tasker"):
        assert heading in text
    for fact in ("- Command: `python -m bench --quick", "- CPU:", "- Python:", "- PostgreSQL:"):
        assert fact in text
    assert "Smoke run" in text  # a quick report says it is not the real numbers
    assert "×" in text  # every result is a ratio
