"""k-fold cross-validation and the side-by-side comparison that ``muniwatch eval`` prints.

Every system (``systems.SYSTEMS``) is scored the same way: on the training file by k-fold
cross-validation (fit on k-1 folds, tag the held-out fold, score all out-of-fold tags together),
and on the check files (dev + seeds) after fitting on the whole training file — for the learned
system that is the shipped model, which ``muniwatch train`` fitted on the same file.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.tagging.evaluate import EvalReport, as_input, score
from pipeline.tagging.features import ItemAnalysis, analyse_item
from pipeline.tagging.labelled import LabelledItem
from pipeline.tagging.systems import Predictor, fitter
from pipeline.tagging.types import Tags

FOLDS = 5
SEED = 12
# The figures compared side by side (name, how to read it from a report).
HEADLINE_METRICS: tuple[tuple[str, str], ...] = (
    ("relevance precision", "relevance_precision"),
    ("relevance recall", "relevance_recall"),
    ("relevance F1", "relevance_f1"),
    ("jurisdiction (name+state)", "jurisdiction_accuracy"),
    ("stance macro-F1", "stance.macro_f1"),
    ("event macro-F1", "event.macro_f1"),
)


def fold_of(labelled: Sequence[LabelledItem], k: int, seed: int) -> list[int]:
    """Fold number per item, stratified by stance (or "not relevant"): shuffled with ``seed``, then
    dealt round-robin within each stratum so every fold gets its share of each."""
    rng = random.Random(seed)
    strata: dict[str, list[int]] = {}
    for index, item in enumerate(labelled):
        strata.setdefault(item.stance if item.relevant and item.stance else "not_relevant", []).append(index)
    folds = [0] * len(labelled)
    dealt = 0
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        for index in members:
            folds[index] = dealt % k
            dealt += 1
    return folds


@dataclass(kw_only=True)
class Scored:
    """Tags of every item and the predictor that made each (for explanations)."""

    tags: list[Tags]
    predictors: list[Predictor]

    def explainer(self, analyses: Sequence[ItemAnalysis]) -> Any:
        return lambda index, name, label: self.predictors[index].explain(analyses[index], name, label)


def cross_validate(
    system: str, analyses: Sequence[ItemAnalysis], labelled: Sequence[LabelledItem], *, k: int, seed: int
) -> Scored:
    """Out-of-fold tags of every item: fit on the other folds, tag the held-out one."""
    fit = fitter(system)
    folds = fold_of(labelled, k, seed)
    tags: list[Tags | None] = [None] * len(labelled)
    predictors: list[Predictor | None] = [None] * len(labelled)
    for fold in range(k):
        train = [i for i, f in enumerate(folds) if f != fold]
        predictor = fit([analyses[i] for i in train], [labelled[i] for i in train], seed)
        for index in (i for i, f in enumerate(folds) if f == fold):
            tags[index] = predictor.tags(analyses[index])
            predictors[index] = predictor
    return Scored(
        tags=[t for t in tags if t is not None], predictors=[p for p in predictors if p is not None]
    )


def analyse_all(items: Sequence[LabelledItem]) -> list[ItemAnalysis]:
    return [analyse_item(as_input(item)) for item in items]


def cv_report(
    system: str,
    analyses: Sequence[ItemAnalysis],
    labelled: Sequence[LabelledItem],
    *,
    k: int = FOLDS,
    seed: int = SEED,
    explain: bool = False,
) -> EvalReport:
    scored = cross_validate(system, analyses, labelled, k=k, seed=seed)
    return score(labelled, scored.tags, scored.explainer(analyses) if explain else None)


def plain_report(
    predictor: Predictor, analyses: Sequence[ItemAnalysis], labelled: Sequence[LabelledItem], *, explain: bool
) -> EvalReport:
    tags = [predictor.tags(a) for a in analyses]
    explainer = (lambda i, name, label: predictor.explain(analyses[i], name, label)) if explain else None
    return score(labelled, tags, explainer)


def metric(report: EvalReport, path: str) -> float:
    value: Any = report
    for part in path.split("."):
        value = getattr(value, part)
    return float(value)


def headline(report: EvalReport) -> dict[str, float]:
    """The compared figures of one report, by their JSON names."""
    return {path.replace(".", "_"): metric(report, path) for _name, path in HEADLINE_METRICS}


@dataclass(kw_only=True)
class Comparison:
    """Reports per system: ``cv`` (k-fold on the training file) and ``check`` (dev + seeds)."""

    k: int
    seed: int
    train_items: int
    check_items: int
    reports: dict[str, dict[str, EvalReport]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self, *, errors: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "folds": self.k,
            "seed": self.seed,
            "train_items": self.train_items,
            "check_items": self.check_items,
            "notes": list(self.notes),
            "systems": {},
        }
        for system, reports in self.reports.items():
            entry: dict[str, Any] = {}
            for split, report in reports.items():
                full = report.to_json_dict()
                if not errors:
                    full.pop("mismatches")
                entry[split] = {"headline": headline(report), "report": full}
            out["systems"][system] = entry
        return out


def format_comparison(comparison: Comparison) -> str:
    """One row per figure, one column per (system, split)."""
    columns = [(system, split) for system, reports in comparison.reports.items() for split in reports]
    labels = {"cv": "CV", "check": "check"}
    heads = [f"{system}: {labels[split]}" for system, split in columns]
    width = max(len(name) for name, _ in HEADLINE_METRICS)
    col = max([len(h) for h in heads] + [8])
    lines = [
        f"CV: {comparison.k}-fold cross-validation on the training file ({comparison.train_items} items, "
        f"seed {comparison.seed}); check: the scored files ({comparison.check_items} items)",
        "metric".ljust(width) + "  " + "  ".join(h.rjust(col) for h in heads),
    ]
    for name, path in HEADLINE_METRICS:
        values = [metric(comparison.reports[system][split], path) for system, split in columns]
        lines.append(name.ljust(width) + "  " + "  ".join(f"{v:.3f}".rjust(col) for v in values))
    lines += [f"note: {note}" for note in comparison.notes]
    return "\n".join(lines)


def format_errors(comparison: Comparison, system: str) -> str:
    """Every miss of ``system``, per split, with the evidence that decided it."""
    lines: list[str] = []
    for split, report in comparison.reports.get(system, {}).items():
        lines.append(f"\n{system} misses ({split}): {len(report.mismatches)}")
        for miss in report.mismatches:
            lines.append(f"- {miss['id']} {miss['field']}: gold {miss['gold']!r}, predicted {miss['pred']!r}")
            lines += [f"    {line}" for line in miss.get("evidence", [])]
    return "\n".join(lines)
