"""The reliability suite's figures: what each test measured, printed together at the end
of the run (see conftest.py here) so that a CI log shows them without `-s`."""

from __future__ import annotations

from collections.abc import Callable

#: Records one line for the run's "reliability figures" section.
Figure = Callable[[str], None]

#: (test file's stem, the figure), in the order recorded.
RECORDED: list[tuple[str, str]] = []
