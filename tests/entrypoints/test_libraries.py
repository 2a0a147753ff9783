"""`entrypoints.libraries`: an import hidden while a library is imported, and only then;
and what the gateway logs without the integration it hides from structlog."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodedc_gateway.entrypoints.libraries import LEFT_OUT, without
from tests.support.interpreter import last_line


@pytest.fixture
def module_on_path(tmp_path: Path) -> Iterator[str]:
    """A module nothing has imported yet, importable from `tmp_path`."""
    name = f"optional_integration_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def test_a_hidden_module_cannot_be_imported_inside_the_block_and_can_after(
    module_on_path: str,
) -> None:
    with without((module_on_path,)), pytest.raises(ImportError):
        importlib.import_module(module_on_path)
    assert module_on_path not in sys.modules  # no trace left
    assert importlib.import_module(module_on_path).VALUE == 1


def test_a_module_imported_already_is_not_hidden(module_on_path: str) -> None:
    module = importlib.import_module(module_on_path)
    with without((module_on_path,)):
        assert importlib.import_module(module_on_path) is module
    assert sys.modules[module_on_path] is module


def test_the_block_gives_the_import_back_when_it_fails(module_on_path: str) -> None:
    with pytest.raises(RuntimeError), without((module_on_path,)):
        raise RuntimeError("import failed")
    assert importlib.import_module(module_on_path).VALUE == 1


#: Logs an exception whose message holds an agent token, as `serve` in local mode does
#: (the console renderer), in a fresh interpreter; prints whether rich was loaded.
LOG_AN_EXCEPTION = """
import io, json, sys
from nodedc_gateway.entrypoints.logs import Redactor, configure_logging, get_logger
stream = io.StringIO()
configure_logging(Redactor(), json=False, stream=stream)
try:
    raise ValueError("refused ndca_" + "A" * 30)
except ValueError:
    get_logger("test").exception("tool call failed unexpectedly")
print(json.dumps({"line": stream.getvalue(), "rich": "rich" in sys.modules}))
"""


def test_console_lines_keep_their_redacted_traceback_without_rich() -> None:
    assert LEFT_OUT["structlog"] == ("rich",)
    seen = json.loads(last_line(LOG_AN_EXCEPTION))
    assert seen["rich"] is False
    line = seen["line"]
    assert "tool call failed unexpectedly" in line
    assert "Traceback (most recent call last)" in line
    assert "ValueError: refused [redacted]" in line
    assert "ndca_" not in line
