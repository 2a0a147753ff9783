"""The layering rule is a test, not a hope: `make test` runs import-linter, and these tests
show it passes on the real tree and fails the moment a framework import reaches the domain
or the application reaches into an adapter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(source_root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "importlinter.toml"
    shutil.copy(ROOT / "pyproject.toml", config)
    env = {**os.environ, "PYTHONPATH": str(source_root)}  # ahead of the editable install
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def planted_copy(tmp_path: Path, module: str, line: str) -> Path:
    tree = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "nodedc_gateway", tree / "nodedc_gateway")
    target = tree / "nodedc_gateway" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return tree


def test_the_real_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = lint(ROOT / "src", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.split("Contracts:")[-1].replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("domain/grants.py", "import litestar  # noqa", "The domain imports no framework"),
        ("domain/evaluation.py", "import sqlalchemy  # noqa", "The domain imports no framework"),
        ("domain/tokens.py", "import nodedc_gateway.adapters.clock  # noqa", "Hexagon layers"),
        (
            "application/pipeline.py",
            "import nodedc_gateway.adapters.persistence.memory  # noqa",
            "Hexagon layers",
        ),
        (
            "adapters/clock.py",
            "import nodedc_gateway.application.pipeline  # noqa",
            "Hexagon layers",
        ),
    ],
)
def test_a_forbidden_import_fails_the_gate(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    result = lint(planted_copy(tmp_path, module, line), tmp_path)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
