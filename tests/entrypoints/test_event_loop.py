"""`serve` and `demo` (which serves) run on libuv's event loop (uvloop, a dependency
wherever it builds); the CLI's other commands on asyncio's own. Checked by the loop a
coroutine finds itself on; what it gains is measured by `make bench`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nodedc_gateway.entrypoints import cli


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not built for Windows")
def test_run_takes_libuvs_loop_when_asked() -> None:
    assert cli._run(_loop_module(), uvloop=True).startswith("uvloop")
    assert cli._run(_loop_module()).startswith("asyncio")


@pytest.mark.parametrize(("command", "fast"), [("serve", True), ("demo", True), ("purge", False)])
def test_only_the_serving_commands_ask_for_it(
    command: str, fast: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []

    def run(coroutine: Coroutine[Any, Any, Any], *, uvloop: bool = False) -> Any:
        coroutine.close()  # not run: only how it would be
        asked.append(uvloop)
        return {}

    monkeypatch.setattr(cli, "_run", run)
    monkeypatch.chdir(tmp_path)
    env = {"NODEDC_AGENT_GATEWAY_ENV": "local"}
    CliRunner().invoke(cli.main, [command], env=env, catch_exceptions=True)
    assert asked[:1] == [fast]
