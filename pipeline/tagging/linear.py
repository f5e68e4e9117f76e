"""A linear text classifier kept as plain data: vocabulary, idf, dense-feature names and coefficients.

Fitting uses scikit-learn (TF-IDF of word n-grams from ``features.terms`` plus scaled dense
features, logistic regression); prediction is a few dictionary look-ups in plain Python, so tagging
neither imports scikit-learn nor unpickles anything. ``predict`` reproduces scikit-learn's
``predict_proba`` of the fitted model (up to the rounding of the stored numbers).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import mul
from typing import Any

from pipeline.tagging.document import words

# Stored numbers keep 6 decimals: the model file stays small and identical from run to run.
DIGITS = 6
CHAR_SIZES = (3, 4, 5)


def terms(text: str, max_n: int = 2, chars: bool = False) -> list[str]:
    """Word n-grams (1..max_n) of a lower-cased text, and with ``chars`` the character 3-5-grams of
    each word padded with spaces (marked "#"; scikit-learn's "char_wb" analyzer does the same)."""
    return terms_of_words(words(text), max_n, chars)


def terms_of_words(words: list[str], max_n: int = 2, chars: bool = False) -> list[str]:
    """``terms`` of an already split text (one split serves classifiers of different n)."""
    out = list(words)
    for n in range(2, max_n + 1):
        out.extend(map(" ".join, zip(*(words[k:] for k in range(n)), strict=False)))
    if chars:
        for word in words:
            padded = f" {word} "
            for n in CHAR_SIZES:
                out.extend("#" + padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return out


@dataclass(kw_only=True)
class FitOptions:
    """Hyperparameters of one classifier, chosen by k-fold cross-validation on the training data."""

    c: float = 1.0
    max_n: int = 2
    min_df: int = 2
    max_features: int = 4000
    chars: bool = False
    dense_weight: float = 1.0
    class_weight: str | None = "balanced"


@dataclass(kw_only=True)
class LinearModel:
    """Multinomial (or binary) logistic regression over TF-IDF terms and dense features."""

    labels: list[str]
    max_n: int
    chars: bool
    vocabulary: list[str]
    idf: list[float]
    dense_names: list[str]
    dense_weight: float
    coef: list[list[float]]  # one row per label (binary: one row, for labels[1])
    intercept: list[float]
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    # term -> (its index, its idf): one look-up per distinct term of an input
    _known: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)
    # label -> term -> coefficient × idf, filled on first use (evidence ranking reads it per sentence)
    _pushes: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {term: i for i, term in enumerate(self.vocabulary)}
        self._known = {term: (i, self.idf[i]) for term, i in self._index.items()}

    def terms(self, text: str) -> list[str]:
        return terms(text, self.max_n, self.chars)

    def terms_of_words(self, text_words: list[str]) -> list[str]:
        return terms_of_words(text_words, self.max_n, self.chars)

    def vector(self, term_list: Sequence[str], dense: Mapping[str, float]) -> dict[int, float]:
        """Sparse input vector: sublinear TF-IDF (l2-normalised) of known terms, then dense features."""
        known = self._known
        weights: dict[int, float] = {}
        # Unknown terms (most of a text's n-grams) are dropped before counting, in C.
        for term, n in Counter(filter(known.__contains__, term_list)).items():
            index, idf = known[term]
            weights[index] = (1.0 + math.log(n)) * idf
        norm = math.sqrt(sum(map(mul, weights.values(), weights.values())))
        out = {i: w / norm for i, w in weights.items()} if norm else {}
        base = len(self.vocabulary)
        for offset, name in enumerate(self.dense_names):
            value = dense.get(name, 0.0)
            if value:
                out[base + offset] = value * self.dense_weight
        return out

    def decision(self, vector: Mapping[int, float]) -> list[float]:
        """Per row: intercept + Σ coefficient × value, summed in the vector's order (C-level loops)."""
        indexes, values = list(vector), list(vector.values())
        return [
            sum(map(mul, map(row.__getitem__, indexes), values), intercept)
            for row, intercept in zip(self.coef, self.intercept, strict=True)
        ]

    def probabilities(self, vector: Mapping[int, float]) -> dict[str, float]:
        scores = self.decision(vector)
        if len(self.labels) == 2:
            p = 1.0 / (1.0 + math.exp(-scores[0]))
            return {self.labels[0]: 1.0 - p, self.labels[1]: p}
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        return {label: e / total for label, e in zip(self.labels, exp, strict=True)}

    def predict(self, term_list: Sequence[str], dense: Mapping[str, float]) -> tuple[str, float]:
        """The most probable label and its probability."""
        probs = self.probabilities(self.vector(term_list, dense))
        label = max(self.labels, key=lambda lab: probs[lab])
        return label, probs[label]

    def _row(self, label: str) -> tuple[list[float], float]:
        """Coefficients that raise ``label`` (binary: the stored row, negated for labels[0])."""
        if len(self.labels) == 2:
            sign = 1.0 if label == self.labels[1] else -1.0
            return [sign * c for c in self.coef[0]], 1.0
        return self.coef[self.labels.index(label)], 1.0

    def contributions(
        self, term_list: Sequence[str], dense: Mapping[str, float], label: str
    ) -> list[tuple[str, float]]:
        """Every active feature's push toward ``label`` (coefficient × value), strongest first."""
        row, _ = self._row(label)
        names = self.vocabulary + self.dense_names
        vector = self.vector(term_list, dense)
        pushes = [(names[i], round(row[i] * x, 4)) for i, x in vector.items() if row[i] * x]
        return sorted(pushes, key=lambda p: (-p[1], p[0]))

    def term_push(self, term_list: Sequence[str], label: str) -> float:
        """How much a span's terms (unnormalised TF-IDF) push toward ``label``: ranks evidence spans."""
        weights = self._pushes.get(label)
        if weights is None:
            row, _ = self._row(label)
            weights = {term: row[i] * self.idf[i] for term, i in self._index.items() if row[i]}
            self._pushes[label] = weights
        return sum(map(weights.get, term_list, repeat(0.0)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "max_n": self.max_n,
            "chars": self.chars,
            "dense_names": list(self.dense_names),
            "dense_weight": self.dense_weight,
            "intercept": list(self.intercept),
            "vocabulary": list(self.vocabulary),
            "idf": list(self.idf),
            "coef": [list(row) for row in self.coef],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearModel:
        try:
            model = cls(
                labels=[str(x) for x in data["labels"]],
                max_n=int(data["max_n"]),
                chars=bool(data["chars"]),
                vocabulary=[str(x) for x in data["vocabulary"]],
                idf=[float(x) for x in data["idf"]],
                dense_names=[str(x) for x in data["dense_names"]],
                dense_weight=float(data["dense_weight"]),
                coef=[[float(x) for x in row] for row in data["coef"]],
                intercept=[float(x) for x in data["intercept"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a linear model: {exc!r}") from exc
        width = len(model.vocabulary) + len(model.dense_names)
        if len(model.idf) != len(model.vocabulary) or any(len(row) != width for row in model.coef):
            raise ValueError("linear model: vocabulary, idf and coefficient lengths differ")
        return model


def fit_linear(
    texts: Sequence[str | list[str]],
    dense_rows: Sequence[Mapping[str, float]],
    labels: Sequence[str],
    *,
    options: FitOptions,
    seed: int,
) -> LinearModel:
    """Fit TF-IDF + logistic regression with scikit-learn and keep the numbers (deterministic).

    ``texts`` are lower-cased texts or their ``words``."""
    import numpy as np
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=lambda text: (
            terms(text, options.max_n, options.chars)
            if isinstance(text, str)
            else terms_of_words(text, options.max_n, options.chars)
        ),
        min_df=options.min_df,
        max_features=options.max_features,
        sublinear_tf=True,
    )
    words = vectorizer.fit_transform(list(texts))
    dense_names = sorted({name for row in dense_rows for name in row})
    dense = np.array([[row.get(name, 0.0) for name in dense_names] for row in dense_rows], dtype=float)
    matrix = sparse.hstack([words, sparse.csr_matrix(dense * options.dense_weight)]).tocsr()
    classifier = LogisticRegression(
        C=options.c, class_weight=options.class_weight, max_iter=5000, random_state=seed
    )
    classifier.fit(matrix, list(labels))
    vocabulary = [str(t) for t in vectorizer.get_feature_names_out()]
    return LinearModel(
        labels=[str(label) for label in classifier.classes_],
        max_n=options.max_n,
        chars=options.chars,
        vocabulary=vocabulary,
        idf=[round(float(x), DIGITS) for x in vectorizer.idf_],
        dense_names=dense_names,
        dense_weight=options.dense_weight,
        coef=[[round(float(x), DIGITS) for x in row] for row in classifier.coef_],
        intercept=[round(float(x), DIGITS) for x in classifier.intercept_],
    )
