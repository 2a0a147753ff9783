"""Suite-wide settings: Hypothesis profiles and shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.support.databases import cleanup_test_databases

# `ci` is what `make test` runs: every property at least 2,000 examples. `dev` is quick.
settings.register_profile(
    "ci",
    max_examples=2_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
# `mutation` is what `make mutation` runs under each mutant (docs/mutation.md): few examples,
# derandomized and without the example database, so a mutant's verdict is the same on every
# run; no shrinking, since a mutant only needs one failing example to be killed.
settings.register_profile(
    "mutation",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session", autouse=True)
def _test_databases() -> Iterator[None]:
    """Databases the tests create live for the run, and are dropped at its end."""
    yield
    cleanup_test_databases()
