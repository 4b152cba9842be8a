"""Accuracy and macro-F1 of the scorers on the labelled evaluation headlines.

Run with ``-s`` to see the table. Floors are deliberately modest: every scorer must beat the
majority-class rate and chance-level macro-F1. Which scorer wins is reported, not asserted.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, f1_score

from quantdesk.sentiment import EmbeddingScorer, LexiconScorer

REPO = Path(__file__).resolve().parents[3]
EVALUATION_CSV = REPO / "tests" / "data" / "financial_headlines.csv"

LABELS = ["negative", "neutral", "positive"]


def load() -> tuple[list[str], list[str]]:
    with EVALUATION_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def vader_labels(texts: Sequence[str]) -> list[str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    labels = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        labels.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    return labels


def test_scorers_beat_the_majority_class(embedding_scorer: EmbeddingScorer) -> None:
    pytest.importorskip("vaderSentiment")
    texts, truth = load()
    majority_rate = Counter(truth).most_common(1)[0][1] / len(truth)
    predictors: dict[str, Callable[[Sequence[str]], list[str]]] = {
        "lexicon (LM + headline terms)": lambda t: [s.label for s in LexiconScorer().score(t)],
        "lexicon (LM only)": lambda t: [
            s.label for s in LexiconScorer(headline_terms=False).score(t)
        ],
        "embedding (MiniLM + logistic)": lambda t: [s.label for s in embedding_scorer.score(t)],
        "VADER (compound ±0.05)": vader_labels,
    }
    results: dict[str, tuple[float, float]] = {}
    for name, predict in predictors.items():
        predicted = predict(texts)
        results[name] = (
            float(accuracy_score(truth, predicted)),
            float(f1_score(truth, predicted, labels=LABELS, average="macro")),
        )

    lines = [
        f"evaluation set: {len(texts)} headlines {dict(sorted(Counter(truth).items()))}, "
        f"majority-class rate {majority_rate:.3f}",
        f"{'scorer':32s} {'accuracy':>9s} {'macro-F1':>9s}",
    ]
    lines += [f"{name:32s} {acc:9.3f} {f1:9.3f}" for name, (acc, f1) in results.items()]
    print("\n" + "\n".join(lines))

    for name, (accuracy, macro_f1) in results.items():
        assert accuracy > majority_rate, name
        assert macro_f1 > 1 / 3, name


def test_evaluation_labels_are_balanced() -> None:
    texts, truth = load()
    counts = Counter(truth)
    assert len(texts) >= 300
    assert set(counts) == set(LABELS)
    assert min(counts.values()) / len(truth) > 0.28
