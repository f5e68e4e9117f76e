"""``muniwatch train``: fit the tagger's model on the labelled training file and write the model file.

Deterministic: a fixed seed, a stratified fold assignment drawn from it, scikit-learn's lbfgs solver
(no randomness), numbers rounded to 6 decimals and JSON with sorted keys — running it twice on the
same data writes the same bytes. The file records the SHA-256 of the training data, the seed, the
library versions, the options and the k-fold cross-validated scores of the method.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.tagging.crossval import FOLDS, SEED, analyse_all, cv_report, headline
from pipeline.tagging.labelled import eval_dir, file_sha256, read_labelled
from pipeline.tagging.model import (
    EVENT_OPTIONS,
    MODEL_FORMAT,
    MODEL_PATH,
    OPTIONS,
    fit_tagger_model,
    model_bytes,
    version_of,
)

LIBRARIES = ("scikit-learn", "numpy", "scipy")


def default_train_path() -> Path | None:
    folder = eval_dir()
    return folder / "train.jsonl" if folder else None


def build_model_document(data: Path, *, seed: int = SEED, k: int = FOLDS) -> dict[str, Any]:
    """Cross-validate the method on ``data``, fit it on all of it, and return the model file's content."""
    labelled = read_labelled(data)
    analyses = analyse_all(labelled)
    report = cv_report("learned", analyses, labelled, k=k, seed=seed)
    model = fit_tagger_model(analyses, labelled, seed=seed)
    return {
        "format": MODEL_FORMAT,
        "training_data": {
            "file": data.name,
            "sha256": file_sha256(data),
            "items": len(labelled),
            "relevant": sum(1 for item in labelled if item.relevant),
        },
        "seed": seed,
        "libraries": {name: metadata.version(name) for name in LIBRARIES},
        "options": {
            **{name: asdict(options) for name, options in sorted(OPTIONS.items())},
            "event": asdict(EVENT_OPTIONS),
        },
        "cross_validation": {
            "folds": k,
            "scores": headline(report),
            "stance_per_label_f1": report.stance.per_label_f1,
            "event_per_label_f1": report.event.per_label_f1,
        },
        "model": model.to_dict(),
    }


def train(data: Path, output: Path = MODEL_PATH, *, seed: int = SEED) -> tuple[str, dict[str, Any]]:
    """Write the model file; returns its tagger version and the document written."""
    document = build_model_document(data, seed=seed)
    raw = model_bytes(document)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(raw)
    return version_of(raw), document


def train_command(args: argparse.Namespace) -> int:
    data = Path(args.data) if args.data else default_train_path()
    if data is None or not data.is_file():
        where = data or "$MUNIWATCH_EVAL_DIR, ../shared/eval, ../../shared/eval or /work/shared/eval"
        print(f"muniwatch train: no training data at {where} (give --data train.jsonl)", file=sys.stderr)
        return 2
    try:
        version, document = train(data, Path(args.output), seed=int(args.seed))
    except (OSError, ValueError) as exc:
        print(f"muniwatch train: {exc}", file=sys.stderr)
        return 2
    scores = document["cross_validation"]["scores"]
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size / 1024:.0f} KB), tagger version {version}")
    trained_on = document["training_data"]
    print(f"trained on {data} ({trained_on['items']} items, sha256 {trained_on['sha256'][:12]}…)")
    print(
        f"{document['cross_validation']['folds']}-fold CV: "
        + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
    )
    return 0
