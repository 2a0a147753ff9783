"""The reliability suite's figures: each test records what it measured with the `figures`
fixture, and the run ends with one section that lists them, so a CI log shows the load
held, the faults survived, the fuzzed requests and the audit chain's state without `-s`.

Every test file's outcome is tallied too: a figure is only printed for what ran."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.reliability.figures import RECORDED, Figure
from tests.reliability.real_plane import BOOT_TIMEOUT_S

_OUTCOMES: defaultdict[str, Counter[str]] = defaultdict(Counter)  # test file -> outcomes
_PASSED: defaultdict[str, list[str]] = defaultdict(list)  # test file -> tests passed


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figure:
    """Record one line for the run's "reliability figures" section."""
    where = Path(str(request.node.path)).stem

    def record(line: str) -> None:
        RECORDED.append((where, line))

    return record


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The first test to need the real Plane boots it, and that boot's first run on a
    machine installs and migrates Plane: minutes (1.5 idle, over 5 under load), longer than
    the suite's limit per test, which would kill it halfway and leave a half-migrated
    database for every later boot. Such tests wait as long as the boot may take, and their
    own limit on top (pyproject's `timeout`)."""
    limit = BOOT_TIMEOUT_S + float(config.getini("timeout") or 0)
    for item in items:
        if "plane" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(limit))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid:
        return
    where = Path(report.nodeid.split("::", 1)[0]).stem
    if report.when == "call" or report.outcome != "passed":
        # a setup or teardown error counts as the test's outcome; a passed setup does not
        outcome = "error" if report.when != "call" and report.failed else report.outcome
        _OUTCOMES[where][outcome] += 1
        if outcome == "passed":
            _PASSED[where].append(report.nodeid.split("::", 1)[1].removeprefix("test_"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _OUTCOMES:
        return
    terminalreporter.section("reliability figures")
    for where in sorted(_OUTCOMES):
        tally = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_OUTCOMES[where].items()))
        terminalreporter.write_line(f"{where}: {tally}")
        lines = [line for source, line in RECORDED if source == where]
        if not lines:  # a file that measures nothing: what held is what passed
            lines = [f"held: {name}" for name in _PASSED[where]]
        for line in lines:
            terminalreporter.write_line(f"    {line}")
