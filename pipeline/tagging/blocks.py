"""A linear classifier fitted as two blocks, each with its own regularisation: word n-grams, and the
dense rule and cue features.

Why: in one logistic regression over both blocks, the few dense features (rule evidence per event,
cues to how the event is told) are cheap to use and fit the training folds before the words do; a
strong penalty on them then also mutes the words. Fitting the blocks separately lets the dense
block be strongly regularised while the words are not. The two regressions' decision values are
added (``word_share`` and ``1 - word_share``); their sum is itself a linear model, so the result is
stored and applied as one ``LinearModel`` (same file format, same prediction code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pipeline.tagging.linear import DIGITS, FitOptions, LinearModel, fit_linear


@dataclass(kw_only=True)
class BlockOptions:
    """Hyperparameters of a two-block classifier, chosen by k-fold cross-validation."""

    # The word block (its dense_weight is unused: the dense features are the other block).
    words: FitOptions
    # Inverse regularisation strength of the dense block.
    dense_c: float = 0.25
    # The word block's share of the summed decision values.
    word_share: float = 0.5


def fit_blocks(
    texts: Sequence[list[str]],
    dense_rows: Sequence[Mapping[str, float]],
    labels: Sequence[str],
    *,
    options: BlockOptions,
    seed: int,
) -> LinearModel:
    """Fit the word block and the dense block separately and merge them into one ``LinearModel``
    (deterministic: lbfgs and fixed rounding, as ``fit_linear``)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    word_model = fit_linear(
        texts,
        [{} for _ in texts],
        labels,
        options=replace(options.words, dense_weight=0.0),
        seed=seed,
    )
    dense_names = sorted({name for row in dense_rows for name in row})
    if not dense_names:
        raise ValueError("two-block classifier: no dense features in the training rows")
    matrix = np.array([[row.get(name, 0.0) for name in dense_names] for row in dense_rows], dtype=float)
    dense = LogisticRegression(
        C=options.dense_c, class_weight=options.words.class_weight, max_iter=5000, random_state=seed
    )
    dense.fit(matrix, list(labels))
    if [str(label) for label in dense.classes_] != word_model.labels:
        raise ValueError("two-block classifier: the blocks learned different label sets")
    share = options.word_share
    coef = [
        [round(share * w, DIGITS) for w in word_row]
        + [round((1.0 - share) * float(d), DIGITS) for d in dense_row]
        for word_row, dense_row in zip(word_model.coef, dense.coef_, strict=True)
    ]
    intercept = [
        round(share * w + (1.0 - share) * float(d), DIGITS)
        for w, d in zip(word_model.intercept, dense.intercept_, strict=True)
    ]
    return LinearModel(
        labels=word_model.labels,
        max_n=word_model.max_n,
        chars=word_model.chars,
        vocabulary=word_model.vocabulary,
        idf=word_model.idf,
        dense_names=dense_names,
        dense_weight=1.0,
        coef=coef,
        intercept=intercept,
    )
