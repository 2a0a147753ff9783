"""Examples in the docs are executed, so they cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def python_blocks(name: str) -> str:
    blocks = PYTHON_BLOCK.findall((DOCS / name).read_text())
    assert blocks, f"{name} has no python example"
    return "\n".join(blocks)


def test_the_embedding_guide_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": "embedding_example"}
    exec(compile(python_blocks("embedding.md"), "docs/embedding.md", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "issue:label" in printed  # the refusal named the missing scope
    assert "DEMO-1" in printed  # and the pipeline created the card
