"""Alert latency through Airflow's event-driven path (placeholder until measured)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.settings import Settings


def measure_airflow_latency(
    settings: Settings, *, runs: int, progress: Callable[[str], Any] = print
) -> dict[str, Any]:
    return {"measured": False, "reason": "not implemented yet"}
