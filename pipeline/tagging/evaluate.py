"""Score the tagger against labelled JSON Lines (fields as in ``shared/eval/*.jsonl``).

Metrics:
- relevance: precision, recall, F1 (positive class = relevant) and the share of negatives rejected;
- jurisdiction accuracy: over gold-relevant items, name and state both right; state accuracy alike;
- stance and event: macro-F1 over the gold-relevant items (labels = those in gold or predicted; a
  missing prediction counts as a miss for the gold label), with a confusion matrix (gold → predicted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.tagging.gazetteer import norm
from pipeline.tagging.labelled import LabelledItem, read_all
from pipeline.tagging.types import TagInput, Tags

# (item index, field, predicted label) -> the evidence that decided it
Explain = Callable[[int, str, str], list[str]]

NONE_LABEL = "none"


@dataclass(kw_only=True)
class ClassMetrics:
    macro_f1: float
    per_label_f1: dict[str, float]
    confusion: dict[str, dict[str, int]]
    accuracy: float

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "per_label_f1": dict(self.per_label_f1),
            "confusion": {g: dict(p) for g, p in self.confusion.items()},
        }


@dataclass(kw_only=True)
class EvalReport:
    n_items: int
    n_relevant_gold: int
    relevance_precision: float
    relevance_recall: float
    relevance_f1: float
    negatives_rejected: float
    jurisdiction_accuracy: float
    state_accuracy: float
    stance: ClassMetrics
    event: ClassMetrics
    tagger_version: str = ""
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "tagger_version": self.tagger_version,
            "n_items": self.n_items,
            "n_relevant_gold": self.n_relevant_gold,
            "relevance": {
                "precision": self.relevance_precision,
                "recall": self.relevance_recall,
                "f1": self.relevance_f1,
                "negatives_rejected": self.negatives_rejected,
            },
            "jurisdiction_accuracy": self.jurisdiction_accuracy,
            "state_accuracy": self.state_accuracy,
            "stance": self.stance.to_json_dict(),
            "event": self.event.to_json_dict(),
            "mismatches": list(self.mismatches),
        }


def _ratio(num: float, den: float) -> float:
    return round(num / den, 4) if den else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def class_metrics(pairs: list[tuple[str, str | None]]) -> ClassMetrics:
    """Macro-F1 over labels seen in gold or prediction; ``None`` predictions are misses."""
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs if p is not None})
    confusion: dict[str, dict[str, int]] = {}
    for gold, pred in pairs:
        row = confusion.setdefault(gold, {})
        key = pred if pred is not None else NONE_LABEL
        row[key] = row.get(key, 0) + 1
    per_label: dict[str, float] = {}
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        per_label[label] = _f1(_ratio(tp, tp + fp), _ratio(tp, tp + fn))
    macro = round(sum(per_label.values()) / len(per_label), 4) if per_label else 0.0
    accuracy = _ratio(sum(1 for g, p in pairs if g == p), len(pairs))
    return ClassMetrics(macro_f1=macro, per_label_f1=per_label, confusion=confusion, accuracy=accuracy)


def _same_name(gold: str | None, predicted: str | None) -> bool:
    if not gold or not predicted:
        return False
    return norm(gold).replace("saint ", "st. ") == norm(predicted).replace("saint ", "st. ")


def as_input(item: LabelledItem) -> TagInput:
    return TagInput(id=item.id, title=item.title, text=item.text, url=item.url, home_state=item.home_state)


def score(
    items: Sequence[LabelledItem], predicted: Sequence[Tags], explain: Explain | None = None
) -> EvalReport:
    """Score aligned predictions against the labels; each miss carries its evidence when ``explain``."""
    tp = fp = fn = tn = 0
    n_rel = juris_ok = state_ok = 0
    stance_pairs: list[tuple[str, str | None]] = []
    event_pairs: list[tuple[str, str | None]] = []
    mismatches: list[dict[str, Any]] = []

    def miss(index: int, name: str, gold: Any, pred: Any, label: str) -> None:
        entry = {"id": items[index].id, "field": name, "gold": gold, "pred": pred}
        if explain is not None:
            entry["evidence"] = [line for line in explain(index, name, label) if line]
        mismatches.append(entry)

    for index, (item, tags) in enumerate(zip(items, predicted, strict=True)):
        if item.relevant and tags.relevant:
            tp += 1
        elif item.relevant:
            fn += 1
        elif tags.relevant:
            fp += 1
        else:
            tn += 1
        if item.relevant != tags.relevant:
            label = "relevant" if tags.relevant else "not_relevant"
            miss(index, "relevant", item.relevant, tags.relevant, label)
        if not item.relevant:
            continue
        n_rel += 1
        j = tags.jurisdiction
        pred_name, pred_state = (j.name, j.state) if j else (None, None)
        if _same_name(item.jurisdiction, pred_name) and item.state == pred_state:
            juris_ok += 1
        else:
            gold_place, pred_place = f"{item.jurisdiction}, {item.state}", f"{pred_name}, {pred_state}"
            miss(index, "jurisdiction", gold_place, pred_place, pred_place)
        if item.state == pred_state:
            state_ok += 1
        pred_stance = tags.stance if tags.relevant else None
        pred_event = tags.event if tags.relevant else None
        if item.stance:
            stance_pairs.append((item.stance, pred_stance))
            if pred_stance is not None and item.stance != pred_stance:
                miss(index, "stance", item.stance, pred_stance, pred_stance)
        if item.event:
            event_pairs.append((item.event, pred_event))
            if pred_event is not None and item.event != pred_event:
                miss(index, "event", item.event, pred_event, pred_event)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return EvalReport(
        n_items=len(items),
        n_relevant_gold=n_rel,
        relevance_precision=precision,
        relevance_recall=recall,
        relevance_f1=_f1(precision, recall),
        negatives_rejected=_ratio(tn, tn + fp),
        jurisdiction_accuracy=_ratio(juris_ok, n_rel),
        state_accuracy=_ratio(state_ok, n_rel),
        stance=class_metrics(stance_pairs),
        event=class_metrics(event_pairs),
        tagger_version=predicted[0].tagger_version if predicted else "",
        mismatches=mismatches,
    )


def evaluate_items(items: Iterable[LabelledItem]) -> EvalReport:
    """Tag every item with the shipped tagger and score the tags against the labels."""
    from pipeline.tagging.tagger import tag_item

    listed = list(items)
    return score(listed, [tag_item(as_input(item)) for item in listed])


def evaluate_files(paths: Iterable[str | Path]) -> EvalReport:
    return evaluate_items(read_all(paths))


def format_table(report: EvalReport) -> str:
    """Human-readable metrics table, then the confusion matrices."""
    rows = [
        ("items", f"{report.n_items} ({report.n_relevant_gold} relevant)"),
        ("relevance precision", f"{report.relevance_precision:.3f}"),
        ("relevance recall", f"{report.relevance_recall:.3f}"),
        ("relevance F1", f"{report.relevance_f1:.3f}"),
        ("negatives rejected", f"{report.negatives_rejected:.3f}"),
        ("jurisdiction accuracy", f"{report.jurisdiction_accuracy:.3f}"),
        ("state accuracy", f"{report.state_accuracy:.3f}"),
        ("stance macro-F1", f"{report.stance.macro_f1:.3f}"),
        ("stance accuracy", f"{report.stance.accuracy:.3f}"),
        ("event macro-F1", f"{report.event.macro_f1:.3f}"),
        ("event accuracy", f"{report.event.accuracy:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"tagger {report.tagger_version}", f"{'metric'.ljust(width)}  value", f"{'-' * width}  -----"]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    for title, metrics in (("stance", report.stance), ("event", report.event)):
        lines.append("")
        lines.append(f"{title} confusion (rows gold, columns predicted)")
        labels = sorted(set(metrics.confusion) | {p for row in metrics.confusion.values() for p in row})
        col = max([len(lab) for lab in labels] + [4])
        lines.append(" " * (col + 2) + " ".join(lab[:col].rjust(col) for lab in labels))
        for gold in labels:
            row = metrics.confusion.get(gold, {})
            lines.append(gold.ljust(col + 2) + " ".join(str(row.get(p, 0)).rjust(col) for p in labels))
    return "\n".join(lines)
