"""The learned model as shipped: plain JSON, small, versioned by its hash, and predicting exactly
what scikit-learn's fitted model predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline.tagging import TAGGER_VERSION
from pipeline.tagging.linear import FitOptions, LinearModel, fit_linear, terms
from pipeline.tagging.model import MODEL_PATH, TaggerModel, load_model, shipped_version, version_of

pytestmark = pytest.mark.unit

TEXTS = [
    "the county ends its ice contract",
    "city council votes on a sanctuary policy",
    "sheriff signs a 287(g) agreement with ice",
    "council votes to end the jail contract",
    "an ice storm hits the city",
] * 3
LABELS = ["end", "vote", "sign", "vote", "end"] * 3
DENSE = [{"rule:flag": float(i % 2)} for i in range(len(TEXTS))]


def test_python_prediction_equals_scikit_learn() -> None:
    options = FitOptions(c=2.0, min_df=1, dense_weight=0.5)
    model = fit_linear(TEXTS, DENSE, LABELS, options=options, seed=1)
    vectorizer = TfidfVectorizer(
        analyzer=lambda t: terms(t, 2), min_df=1, max_features=4000, sublinear_tf=True
    )
    dense = sparse.csr_matrix(np.array([[d["rule:flag"]] for d in DENSE]) * 0.5)
    matrix = sparse.hstack([vectorizer.fit_transform(TEXTS), dense]).tocsr()
    reference = LogisticRegression(C=2.0, class_weight="balanced", max_iter=5000).fit(matrix, LABELS)
    expected = reference.predict_proba(matrix)
    ours = [
        [model.probabilities(model.vector(model.terms(t), d))[lab] for lab in model.labels]
        for t, d in zip(TEXTS, DENSE, strict=True)
    ]
    assert list(reference.classes_) == model.labels
    assert np.abs(expected - np.array(ours)).max() < 1e-4
    assert LinearModel.from_dict(json.loads(json.dumps(model.to_dict()))).to_dict() == model.to_dict()


def test_shipped_model_is_small_plain_json_and_versioned_by_hash() -> None:
    raw = MODEL_PATH.read_bytes()
    assert len(raw) < 5 * 1024 * 1024
    document = json.loads(raw)  # JSON, not pickle
    assert set(document["model"]) == {"relevance", "stance", "event", "jurisdiction"}
    assert document["seed"] == 12 and len(document["training_data"]["sha256"]) == 64
    assert TaggerModel.from_dict(document["model"]).to_dict() == document["model"]
    assert TAGGER_VERSION == load_model().version == version_of(raw)
    assert version_of(raw + b" ") != TAGGER_VERSION


def test_missing_model_file_is_named_on_use(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    assert shipped_version(missing).endswith("+no-model")
    with pytest.raises(RuntimeError, match="muniwatch train"):
        load_model(missing)
