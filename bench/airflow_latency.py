"""Alert latency through Airflow's event-driven path: honest about when it cannot be measured.

The path: a new entry on a ``priority: true`` feed → ``PriorityFeedTrigger`` (the AssetWatcher in
the triggerer, checking every ``check_interval`` = 60 s) → ``muniwatch_poll`` → asset →
``muniwatch_enrich`` → asset → ``muniwatch_alerts`` → SMTP. Measuring it needs a running stack
whose priority feed the benchmark can publish to. ``muniwatch stack up`` serves only the bundled
demo files (``pipeline/data/demo``) and the benchmark must not rewrite the shared stack's files or
configuration, so until the stack offers a bench-owned priority feed this reports *not measured*
with the reason, never a guessed figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from pipeline.settings import Settings

AIRFLOW_HEALTH = "http://127.0.0.1:8080/api/v2/monitor/health"


def measure_airflow_latency(
    settings: Settings, *, runs: int, progress: Callable[[str], Any] = print
) -> dict[str, Any]:
    """``{"measured": False, "reason": ...}`` until a bench-owned priority feed exists (see above)."""
    try:
        up = httpx.get(AIRFLOW_HEALTH, timeout=3.0).status_code == 200
    except httpx.HTTPError:
        up = False
    if not up:
        return {"measured": False, "runs": 0,
                "reason": "no Airflow stack answers on 127.0.0.1:8080 (start it with `make up`)"}  # fmt: skip
    return {
        "measured": False,
        "runs": 0,
        "reason": "the running stack watches only the bundled demo feeds; the benchmark has no priority "
        "feed of its own in it to publish timed entries to (and does not rewrite the shared stack's "
        "files). The watcher checks priority feeds every 60 s, so the event-driven p95 is bounded "
        "below by ~60 s plus three DAG runs",
    }
