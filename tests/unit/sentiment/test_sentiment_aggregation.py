"""Daily per-symbol sentiment with the point-in-time cutoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import numpy as np
import polars as pl
import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.sentiment import (
    DAILY_SCHEMA,
    SCORED_SCHEMA,
    Article,
    ScoredArticle,
    SentimentScore,
    daily_sentiment,
    sentiment_frame,
)


def scored(when: datetime, value: float, *symbols: str, title: str = "") -> ScoredArticle:
    label = "positive" if value > 0 else "negative" if value < 0 else "neutral"
    article = Article("wire", when, title or f"story at {when.isoformat()}", symbols=symbols)
    return ScoredArticle(article, SentimentScore(value, label, abs(value)))  # type: ignore[arg-type]


# May 2024: New York is on EDT (UTC-4), so the 16:00 cutoff is 20:00 UTC.
MAY = [
    scored(datetime(2024, 5, 7, 19, 59, tzinfo=UTC), 0.5, "AAA"),  # 15:59 EDT -> May 7
    scored(datetime(2024, 5, 7, 20, 0, tzinfo=UTC), -0.2, "AAA"),  # 16:00 EDT -> May 8
    scored(datetime(2024, 5, 8, 3, 0, tzinfo=UTC), 0.1, "AAA"),  # 23:00 EDT May 7 -> May 8
    scored(datetime(2024, 5, 8, 13, 0, tzinfo=UTC), 0.4, "AAA"),  # 09:00 EDT -> May 8
    scored(datetime(2024, 5, 7, 12, 0, tzinfo=UTC), -0.6, "BBB", "AAA"),  # both symbols, May 7
    scored(datetime(2024, 5, 7, 14, 0, tzinfo=UTC), 0.9),  # untagged: left out
]


def rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(row) for row in frame.iter_rows()]


def test_cutoff_moves_late_news_to_the_next_day() -> None:
    daily = daily_sentiment(MAY)

    assert daily.schema == pl.Schema(DAILY_SCHEMA)
    assert daily.get_column("symbol").to_list() == ["AAA", "AAA", "BBB"]
    assert daily.get_column("date").to_list() == [
        date(2024, 5, 7),
        date(2024, 5, 8),
        date(2024, 5, 7),
    ]
    assert daily.get_column("count").to_list() == [2, 3, 1]
    # reference values from numpy (population standard deviation)
    groups = [[0.5, -0.6], [-0.2, 0.1, 0.4], [-0.6]]
    np.testing.assert_allclose(daily.get_column("mean").to_numpy(), [np.mean(g) for g in groups])
    np.testing.assert_allclose(
        daily.get_column("dispersion").to_numpy(), [np.std(g, ddof=0) for g in groups]
    )
    # and by hand: mean(0.5, -0.6) = -0.05, std = 0.55; a single article has dispersion 0
    assert daily.row(0, named=True)["mean"] == pytest.approx(-0.05)
    assert daily.row(0, named=True)["dispersion"] == pytest.approx(0.55)
    assert daily.row(2, named=True)["dispersion"] == 0.0


def test_cutoff_follows_daylight_saving_time() -> None:
    january = [
        scored(datetime(2024, 1, 10, 20, 30, tzinfo=UTC), 0.2, "AAA"),  # 15:30 EST -> Jan 10
        scored(datetime(2024, 1, 10, 21, 0, tzinfo=UTC), 0.4, "AAA"),  # 16:00 EST -> Jan 11
    ]
    daily = daily_sentiment(january)
    assert rows(daily.select("date", "count")) == [(date(2024, 1, 10), 1), (date(2024, 1, 11), 1)]


def test_without_cutoff_the_day_is_the_calendar_date() -> None:
    utc_days = daily_sentiment(MAY, cutoff=None, timezone="UTC").filter(pl.col("symbol") == "AAA")
    assert rows(utc_days.select("date", "count")) == [(date(2024, 5, 7), 3), (date(2024, 5, 8), 2)]

    new_york = daily_sentiment(MAY, cutoff=None).filter(pl.col("symbol") == "AAA")
    # 03:00 UTC on May 8 is still May 7 in New York
    assert rows(new_york.select("date", "count")) == [(date(2024, 5, 7), 4), (date(2024, 5, 8), 1)]


def test_custom_cutoff_and_zone() -> None:
    london = daily_sentiment(MAY, cutoff=time(8, 0), timezone="Europe/London")
    # 08:00 London (BST, UTC+1) is 07:00 UTC: four AAA articles fall in [May 7 07:00, May 8
    # 07:00) UTC and count for May 8; the one at 13:00 UTC on May 8 counts for May 9
    aaa = london.filter(pl.col("symbol") == "AAA")
    assert rows(aaa.select("date", "count")) == [(date(2024, 5, 8), 4), (date(2024, 5, 9), 1)]


def test_sentiment_frame_is_one_row_per_article_and_symbol() -> None:
    frame = sentiment_frame(MAY)
    assert frame.schema == pl.Schema(SCORED_SCHEMA)
    assert frame.height == 6  # five tagged articles, one of them with two symbols
    assert frame.filter(pl.col("symbol") == "BBB").get_column("score").to_list() == [-0.6]
    assert daily_sentiment(frame).equals(daily_sentiment(MAY))


def test_frame_input_in_another_zone_is_converted() -> None:
    frame = pl.DataFrame(
        {
            "symbol": ["AAA", "AAA"],
            "published_at": [datetime(2024, 5, 7, 21, 59), datetime(2024, 5, 7, 22, 0)],
            "score": [1.0, -1.0],
        }
    ).with_columns(pl.col("published_at").dt.replace_time_zone("Europe/Paris"))
    # 21:59 Paris (CEST) = 15:59 New York; 22:00 Paris = 16:00 New York
    daily = daily_sentiment(frame)
    assert rows(daily.select("date", "mean")) == [(date(2024, 5, 7), 1.0), (date(2024, 5, 8), -1.0)]


def test_empty_input_gives_an_empty_frame_with_the_schema() -> None:
    daily = daily_sentiment([])
    assert daily.height == 0
    assert daily.schema == pl.Schema(DAILY_SCHEMA)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"symbol": ["A"], "score": [0.1]}), "published_at"),
        (
            pl.DataFrame({"symbol": ["A"], "published_at": [datetime(2024, 5, 7)], "score": [0.1]}),
            "timezone-aware",
        ),
        (
            pl.DataFrame(
                {
                    "symbol": [None],
                    "published_at": [datetime(2024, 5, 7, tzinfo=UTC)],
                    "score": [0.1],
                }
            ),
            "null",
        ),
    ],
)
def test_invalid_frames(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        daily_sentiment(frame)


def test_invalid_options() -> None:
    with pytest.raises(ValueError, match="time zone"):
        daily_sentiment(MAY, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="naive"):
        daily_sentiment(MAY, cutoff=time(16, 0, tzinfo=UTC))
