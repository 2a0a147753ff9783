"""`python -m bench [--quick] [--output PATH] [--only PART ...]`: run the benchmarks,
print every result as a ratio, and write the report (default `docs/benchmarks.md`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import governed_call, grant_evaluation, http_tasker, postgres, scale, startup
from bench.analysis import analysis
from bench.machine import describe
from bench.report import Run, console, markdown

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
PARTS = ("grants", "call", "scale", "startup", "http")

FULL_GRANT_SIZES = (10, 100, 1_000, 10_000)
QUICK_GRANT_SIZES = (10, 100)
FULL_CALLS = governed_call.Sizes(
    rounds=12, calls_per_round=60, clients=16, bursts=8, seconds_per_round=3.0, counted_calls=50
)
#: counted_calls stays above psycopg's prepare threshold (5), which the count relies on.
QUICK_CALLS = governed_call.Sizes(
    rounds=2, calls_per_round=5, clients=2, bursts=2, seconds_per_round=0.5, counted_calls=10
)
FULL_SCALE_CALLS = governed_call.Sizes(
    rounds=12, calls_per_round=50, clients=1, bursts=0, seconds_per_round=0, counted_calls=0
)
FULL_LOAD = scale.Load(agents=10_000, tokens=100_000, events=1_000_000)
QUICK_LOAD = scale.Load(agents=10, tokens=100, events=1_000)
FULL_STARTS = 12
QUICK_STARTS = 3
FULL_HTTP = http_tasker.Sizes(rounds=12, calls_per_round=60)
QUICK_HTTP = http_tasker.Sizes(rounds=2, calls_per_round=5)


def _load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _step(name: str) -> None:
    print(f"--- {name}", flush=True)


async def main(options: argparse.Namespace) -> Run:
    quick: bool = options.quick
    parts = set(options.only or PARTS)
    load_before = _load_average()
    machine = describe(postgres.server_version())
    grants = call = loaded = started = http = None
    if "grants" in parts:
        _step("1. grant evaluation: ours against Cedar")
        grants = grant_evaluation.run(
            QUICK_GRANT_SIZES if quick else FULL_GRANT_SIZES,
            min_samples=2_000 if quick else 20_000,
            cedar_budget_s=0.2 if quick else 3.0,
        )
    if "call" in parts:
        _step("2. governed call: the gateway against a bare MCP server")
        call = await governed_call.run(QUICK_CALLS if quick else FULL_CALLS)
    if "scale" in parts:
        _step("3. scale: a loaded database against an empty one")
        sizes = QUICK_CALLS if quick else FULL_SCALE_CALLS
        loaded = await scale.run(QUICK_LOAD if quick else FULL_LOAD, sizes)
    if "startup" in parts:
        _step("4. start-up: the gateway's processes against a bare server and bare Python")
        started = startup.run(QUICK_STARTS if quick else FULL_STARTS)
    if "http" in parts:
        _step("5. production shape: the gateway on the HTTP Tasker against a direct MCP call")
        http = await http_tasker.run(QUICK_HTTP if quick else FULL_HTTP)
    return Run(
        machine=machine,
        command=options.command,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        quick=quick,
        load_before=load_before,
        load_after=_load_average(),
        grants=grants,
        call=call,
        scale=loaded,
        startup=started,
        http=http,
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny sizes")
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the report")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts")
    parser.add_argument(
        "--console", action="store_true", help="only the owner console's page renders (quick)"
    )
    options = parser.parse_args(argv)
    shown = " ".join(argv)
    options.command = "make bench" if not argv else f"python -m bench {shown}"
    return options


def run(argv: list[str]) -> int:
    options = parse(argv)
    started = time.perf_counter()
    if options.console:
        from bench import console as console_pages

        print(console_pages.report(asyncio.run(console_pages.run())))
        return 0
    result = asyncio.run(main(options))
    print(console(result))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(markdown(result, analysis(result)))
    print(f"written to {options.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
