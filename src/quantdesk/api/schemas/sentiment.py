"""News-sentiment wire models: scoring texts and daily per-symbol series."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from quantdesk.sentiment.ports import DailySentiment
from quantdesk.sentiment.scoring import Label
from quantdesk.sentiment.service import MAX_TEXT_LENGTH, MAX_TEXTS, TextSentiment

ScorerName = Literal["lexicon", "embedding"]


class SentimentScoreRequest(BaseModel):
    """Texts to score: ``texts`` (a list) or ``text`` (one), not both."""

    model_config = ConfigDict(extra="forbid")

    texts: list[str] | None = Field(
        default=None,
        description=f"1-{MAX_TEXTS} texts (headlines, summaries), each at most "
        f"{MAX_TEXT_LENGTH:,} characters",
        examples=[["Apple (NASDAQ: AAPL) beats estimates and raises its outlook"]],
    )
    text: str | None = Field(default=None, description="A single text, instead of texts")
    scorer: ScorerName = Field(
        default="lexicon",
        description="lexicon (Loughran-McDonald word lists, instant) or embedding (sentence "
        "embeddings with a fitted classifier; slower on first use)",
    )

    @model_validator(mode="after")
    def _one_of_text_and_texts(self) -> Self:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send either 'texts' (a list) or 'text' (one string), not both")
        return self

    def items(self) -> list[str]:
        """Return the texts to score, in order."""
        return [self.text] if self.text is not None else list(self.texts or [])


class TextSentimentPublic(BaseModel):
    """The sentiment of one text and the known symbols it mentions."""

    score: float = Field(description="-1 (negative) to 1 (positive)")
    label: Label
    confidence: float = Field(description="Certainty of the label, 0 to 1")
    symbols: list[str] = Field(description="Symbols of known instruments found in the text")

    @classmethod
    def of(cls, result: TextSentiment) -> TextSentimentPublic:
        """Return the wire form of ``result``."""
        return cls(
            score=result.score,
            label=result.label,
            confidence=result.confidence,
            symbols=list(result.symbols),
        )


class TextSentimentsPublic(BaseModel):
    """One result per text, in the order sent."""

    scorer: ScorerName
    data: list[TextSentimentPublic]
    count: int


class DailySentimentPublic(BaseModel):
    """A symbol's news sentiment on one day (16:00 New York cut-off)."""

    date: date
    mean: float = Field(description="Average article score")
    count: int = Field(description="Articles that day")
    dispersion: float = Field(description="Population standard deviation of the scores")

    @classmethod
    def of(cls, row: DailySentiment) -> DailySentimentPublic:
        """Return the wire form of ``row``."""
        return cls(date=row.day, mean=row.mean, count=row.count, dispersion=row.dispersion)


class DailySentimentsPublic(BaseModel):
    """A symbol's daily news sentiment, oldest first; days without news are absent."""

    symbol: str
    scorer: ScorerName
    data: list[DailySentimentPublic]
    count: int
