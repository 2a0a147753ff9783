"""Percentiles and the few formatting helpers every part shares."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of non-empty `samples`."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 0.5)


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.inf


def fmt_ratio(value: float, bound: float | None = None) -> str:
    """`1.68×`; a small ratio as a fraction (`1/2,400`) so it does not read as zero; a
    third decimal when two would read as the target's `bound` itself (0.665 missing
    ≥ 0.67 is shown as `0.665×`, not `0.67×`)."""
    if 0 < value < 0.1:
        return f"1/{1 / value:,.0f}"
    if bound is not None and value != bound and f"{value:.2f}" == f"{bound:.2f}":
        return f"{value:.3f}×"
    return f"{value:.2f}×"


def fmt_us(seconds: float) -> str:
    """Seconds shown in µs (grant decisions)."""
    micros = seconds * 1e6
    return f"{micros:.2f} µs" if micros < 100 else f"{micros:,.0f} µs"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"
