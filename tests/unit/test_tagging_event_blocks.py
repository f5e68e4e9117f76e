"""The event classifier's two-block fit (``pipeline.tagging.blocks``): the stored model predicts what
the two fitted regressions predict together, and a strongly penalised rule block does not override
the words."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.tagging.blocks import BlockOptions, fit_blocks
from pipeline.tagging.document import words
from pipeline.tagging.linear import FitOptions, LinearModel, fit_linear

pytestmark = pytest.mark.unit

TEXTS = [
    "the county ends its ice contract",
    "city council votes on a sanctuary policy",
    "sheriff signs a 287(g) agreement with ice",
    "council votes to end the jail contract",
    "the sheriff ended the agreement with ice",
    "commissioners sign a contract to house ice detainees",
] * 3
LABELS = ["terminate", "vote", "sign", "vote", "terminate", "sign"] * 3
WORDS = [words(text) for text in TEXTS]
# A rule feature that happens to fire on every "vote" item of the training set and on nothing else.
DENSE = [
    {"rule:spurious": float(label == "vote"), "rule:length": len(t) / 40}
    for t, label in zip(TEXTS, LABELS, strict=True)
]
OPTIONS = BlockOptions(words=FitOptions(c=64.0, min_df=1), dense_c=0.25, word_share=0.5)


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


def test_stored_model_predicts_the_sum_of_the_two_fitted_blocks() -> None:
    model = fit_blocks(WORDS, DENSE, LABELS, options=OPTIONS, seed=1)
    word_block = fit_linear(WORDS, [{} for _ in WORDS], LABELS, options=OPTIONS.words, seed=1)
    names = ["rule:length", "rule:spurious"]
    matrix = np.array([[row[name] for name in names] for row in DENSE])
    dense_block = LogisticRegression(C=0.25, class_weight="balanced", max_iter=5000).fit(matrix, LABELS)
    assert model.labels == word_block.labels == list(dense_block.classes_)
    assert model.dense_names == names
    for text_words, dense, row in zip(WORDS, DENSE, matrix, strict=True):
        word_scores = np.array(
            word_block.decision(word_block.vector(word_block.terms_of_words(text_words), {}))
        )
        dense_scores = dense_block.decision_function(row.reshape(1, -1))[0]
        expected = _softmax(0.5 * word_scores + 0.5 * dense_scores)
        ours = model.probabilities(model.vector(model.terms_of_words(text_words), dense))
        assert np.abs(expected - np.array([ours[label] for label in model.labels])).max() < 1e-4
    # Stored as a plain LinearModel: the model file's format does not change.
    assert LinearModel.from_dict(json.loads(json.dumps(model.to_dict()))).to_dict() == model.to_dict()


def test_penalised_rule_block_does_not_override_what_the_words_say() -> None:
    model = fit_blocks(WORDS, DENSE, LABELS, options=OPTIONS, seed=1)
    signing = words("the sheriff signs an agreement with ice")
    label, _ = model.predict(model.terms_of_words(signing), {"rule:spurious": 1.0, "rule:length": 1.0})
    assert label == "sign"


def test_rows_without_dense_features_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no dense features"):
        fit_blocks(WORDS, [{} for _ in WORDS], LABELS, options=OPTIONS, seed=1)
