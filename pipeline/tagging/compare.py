"""What ``muniwatch eval`` runs: the three systems on the training file (k-fold CV) and on the check files.

The learned system's check scores come from the shipped model (what ``muniwatch tag`` uses); the
bag-of-words baseline is fitted on the whole training file first; the rules need no fitting.
Without a training file only the check scores of the shipped model and the rules are printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.tagging.crossval import SEED, Comparison, analyse_all, cv_report, plain_report
from pipeline.tagging.labelled import eval_dir, file_sha256, read_all, read_labelled
from pipeline.tagging.model import load_model
from pipeline.tagging.systems import SYSTEMS, LearnedPredictor, Predictor, RulePredictor, fitter


def default_paths(train: str | None, paths: Sequence[str] | None) -> tuple[Path | None, list[Path]]:
    """The training file (given, or train.jsonl of the shared folder) and the check files (given, or
    dev.jsonl + seeds.jsonl of the shared folder)."""
    folder = eval_dir()
    train_path = Path(train) if train else (folder / "train.jsonl" if folder else None)
    if train_path is not None and not train_path.is_file():
        if train:
            raise ValueError(f"--train {train}: no such file")
        train_path = None
    if paths:
        return train_path, [Path(p) for p in paths]
    base = train_path.parent if train_path else folder
    checks = [base / name for name in ("dev.jsonl", "seeds.jsonl")] if base else []
    checks = [p for p in checks if p.is_file()]
    if not checks:
        raise ValueError("no labelled data to score: give --data F.jsonl (or set MUNIWATCH_EVAL_DIR)")
    return train_path, checks


def compare(
    train_path: Path | None,
    check_paths: Sequence[Path],
    *,
    k: int,
    seed: int = SEED,
    cross_validate: bool = True,
    explain: bool = False,
) -> Comparison:
    check = read_all(check_paths)
    check_analyses = analyse_all(check)
    shipped = load_model()
    train = read_labelled(train_path) if train_path else []
    comparison = Comparison(k=k, seed=seed, train_items=len(train), check_items=len(check))
    recorded = shipped.metadata.get("training_data", {}).get("sha256")
    if train_path is None:
        comparison.notes.append("no training file: no cross-validation, no bag-of-words baseline")
    else:
        train_sha = file_sha256(train_path)
        if recorded != train_sha:
            comparison.notes.append(f"the shipped model was trained on other data than {train_path}")
        seen = [str(p) for p in check_paths if file_sha256(p) in (train_sha, recorded)]
        if seen:
            comparison.notes.append(f"check scores on training data, not a held-out test: {', '.join(seen)}")
    train_analyses = analyse_all(train) if train else []
    for system in SYSTEMS:
        reports = comparison.reports.setdefault(system, {})
        if train and cross_validate:
            reports["cv"] = cv_report(system, train_analyses, train, k=k, seed=seed, explain=explain)
        predictor: Predictor | None
        if system == "learned":
            predictor = LearnedPredictor(shipped.model, shipped.version)
        elif system == "rules":
            predictor = RulePredictor()
        else:
            predictor = fitter(system)(train_analyses, train, seed) if train else None
        if predictor is not None:
            reports["check"] = plain_report(predictor, check_analyses, check, explain=explain)
        if not reports:
            del comparison.reports[system]
    return comparison
