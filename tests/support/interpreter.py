"""Code run in a fresh Python interpreter: what a process imports, or how it behaves,
without anything this test process has already loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def last_line(code: str, cwd: Path | None = None) -> str:
    """What `code`, run in a fresh interpreter (in `cwd` if given; no gateway settings in
    its environment), printed last. Fails the test with its stderr if it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEDC_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]
