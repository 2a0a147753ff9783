"""What the numbers mean: the prose of the report, written from the results."""

from __future__ import annotations

from bench.report import Run


def analysis(run: Run) -> list[str]:
    return ["## Notes", "", "(to be written)"]
