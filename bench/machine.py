"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import attrs


@attrs.frozen
class Machine:
    cpu: str
    cores: int
    python: str
    postgres: str
    system: str

    def lines(self) -> list[str]:
        return [
            f"- CPU: {self.cpu}, {self.cores} cores available",
            f"- Python: {self.python}",
            f"- PostgreSQL: {self.postgres}",
            f"- System: {self.system}",
        ]


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe(postgres_version: str) -> Machine:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Machine(
        cpu=cpu_model(),
        cores=cores or 1,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        postgres=postgres_version,
        system=f"{platform.system()} {platform.release()} ({platform.machine()})",
    )
