"""``bench/results/latest.png``: one small panel per figure, each with its target line.

matplotlib is optional (it is not a runtime dependency): without it the JSON is still written and
the command says the chart was skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)


def _panels(result: dict[str, Any]) -> list[tuple[str, list[str], list[float | None], float | None]]:
    return [
        ("documents / s", ["extract only", "full pipeline"],
         [result["extract_only_docs_per_s"], result["pipeline_docs_per_s"]],
         0.8 * result["extract_only_docs_per_s"]),
        ("feeds polled / s", ["first pass (200)", "conditional (304)"],
         [result["poll_first_pass_feeds_per_s"], result["poll_feeds_per_s"]], 200.0),
        ("items tagged / s (1 core)", ["tagger"], [result["tag_items_per_s"]], 200.0),
        ("alert latency, s", ["run p50", "run p95", "Airflow p50", "Airflow p95"],
         [result["alert_latency_run_p50_s"], result["alert_latency_run_p95_s"],
          result["alert_latency_airflow_p50_s"], result["alert_latency_airflow_p95_s"]], 60.0),
        ("peak RSS, MB", ["pipeline worker"], [result["peak_rss_mb"]], 1024.0),
    ]  # fmt: skip


def draw(result: dict[str, Any], path: Path) -> bool:
    """Write the chart; False (and a warning) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        LOGGER.warning("matplotlib is not installed: %s not drawn (pip install matplotlib)", path)
        return False
    panels = _panels(result)
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2))
    for axis, (title, labels, values, target) in zip(axes, panels, strict=True):
        shown = [v if v is not None else 0.0 for v in values]
        bars = axis.bar(labels, shown, color=["#4C72B0", "#DD8452", "#55A868", "#C44E52"][: len(labels)])
        for bar, value in zip(bars, values, strict=True):
            text = "not measured" if value is None else f"{value:,.1f}"
            axis.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                          va="bottom", fontsize=8)  # fmt: skip
        if target is not None:
            axis.axhline(target, color="black", linestyle="--", linewidth=1)
            axis.annotate(f"target {target:,.0f}", (0.02, target), xycoords=("axes fraction", "data"),
                          fontsize=8, va="bottom")  # fmt: skip
        axis.set_title(title, fontsize=10)
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    machine = result.get("machine", {})
    figure.suptitle(f"muniwatch bench — {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
                    f"{machine.get('ram_gb', '?')} GB, Python {machine.get('python', '?')}, "
                    f"{machine.get('date', '')[:10]}", fontsize=10)  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True
