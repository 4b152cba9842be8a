"""Daily per-symbol news sentiment, point in time, as a tidy frame for models and screens.

**Which day an article counts for.** An article counts for the calendar day, in
``timezone`` (default ``America/New_York``), on which it was published if it appeared before
``cutoff`` (default 16:00, the US equity close), and for the next calendar day if it appeared at
or after the cutoff. So the value for day ``D`` covers ``[cutoff on D-1, cutoff on D)`` and is
complete at the cutoff on ``D``: a model that acts at the close of ``D`` (or later) may use it
without seeing the future. Days are calendar days: news published on a Saturday counts for
Saturday (or Sunday after the cutoff); roll such days forward onto the next trading session when
joining to bars (for example ``polars.DataFrame.join_asof(..., strategy="forward")``). With
``cutoff=None`` the day is simply the calendar date of publication in ``timezone`` (use
``timezone="UTC"`` for the UTC date).

Articles are attributed to every symbol they are tagged with; untagged articles are left out.
De-duplicate articles (:func:`quantdesk.sentiment.articles.deduplicate`) before scoring so a
story syndicated twice is not counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.sentiment.scoring import ScoredArticle

__all__ = [
    "DAILY_SCHEMA",
    "DEFAULT_CUTOFF",
    "DEFAULT_TIMEZONE",
    "SCORED_SCHEMA",
    "daily_sentiment",
    "sentiment_frame",
]

DEFAULT_CUTOFF = time(16, 0)
DEFAULT_TIMEZONE = "America/New_York"

SCORED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String,
    "source": pl.String,
    "published_at": pl.Datetime("us", "UTC"),
    "symbol": pl.String,
    "title": pl.String,
    "score": pl.Float64,
    "label": pl.String,
    "confidence": pl.Float64,
}
"""Columns of :func:`sentiment_frame`: one row per article and tagged symbol."""

DAILY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "symbol": pl.String,
    "date": pl.Date,
    "mean": pl.Float64,
    "count": pl.Int64,
    "dispersion": pl.Float64,
}
"""Columns of :func:`daily_sentiment`."""


def sentiment_frame(scored: Sequence[ScoredArticle]) -> pl.DataFrame:
    """Return scored articles as a tidy frame, one row per article and tagged symbol.

    Parameters
    ----------
    scored
        Scored, symbol-tagged articles.

    Returns
    -------
    pl.DataFrame
        Columns of :data:`SCORED_SCHEMA`, in input order; untagged articles are left out.
    """
    rows = [
        {
            "id": item.article.id,
            "source": item.article.source,
            "published_at": item.article.published_at,
            "symbol": symbol,
            "title": item.article.title,
            "score": item.sentiment.score,
            "label": item.sentiment.label,
            "confidence": item.sentiment.confidence,
        }
        for item in scored
        for symbol in item.article.symbols
    ]
    return pl.DataFrame(rows, schema=SCORED_SCHEMA, orient="row")


def _check_frame(frame: pl.DataFrame) -> pl.DataFrame:
    issues: list[Issue] = []
    for column in ("symbol", "published_at", "score"):
        if column not in frame.columns:
            issues.append(Issue("scored", f"missing column {column!r}", column))
    if issues:
        raise ValidationError("cannot aggregate sentiment", issues)
    dtype = frame.schema["published_at"]
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
        raise ValidationError(
            "cannot aggregate sentiment",
            [Issue("scored", "published_at must be a timezone-aware datetime", "published_at")],
        )
    for column in ("symbol", "published_at", "score"):
        nulls = frame.get_column(column).null_count()
        if nulls:
            raise ValidationError(
                "cannot aggregate sentiment",
                [Issue("scored", f"{nulls} null value(s); drop or fill those rows", column)],
            )
    return frame.select(
        pl.col("symbol").cast(pl.String),
        pl.col("published_at").dt.convert_time_zone("UTC"),
        pl.col("score").cast(pl.Float64),
    )


def daily_sentiment(
    scored: Sequence[ScoredArticle] | pl.DataFrame,
    *,
    cutoff: time | None = DEFAULT_CUTOFF,
    timezone: str = DEFAULT_TIMEZONE,
) -> pl.DataFrame:
    """Return the mean, count and dispersion of sentiment per symbol and day.

    See the module docstring for the point-in-time day rule.

    Parameters
    ----------
    scored
        Scored, symbol-tagged articles, or a frame with at least ``symbol``, timezone-aware
        ``published_at`` and ``score`` columns (such as :func:`sentiment_frame` returns).
    cutoff
        Local time from which an article counts for the next day; None counts every article
        for its local publication date.
    timezone
        IANA time zone in which days and the cutoff are read.

    Returns
    -------
    pl.DataFrame
        Columns ``symbol``, ``date``, ``mean`` (average score), ``count`` (articles),
        ``dispersion`` (population standard deviation of the scores, 0.0 for a single
        article), sorted by symbol and date.

    Raises
    ------
    ValueError
        If ``timezone`` is unknown or ``cutoff`` carries a time zone.
    ValidationError
        If a frame lacks a column, has nulls or a naive ``published_at``.
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r}; use an IANA name such as 'America/New_York'"
        ) from None
    if cutoff is not None and cutoff.tzinfo is not None:
        raise ValueError("cutoff must be a naive local time, read in `timezone`")
    frame = _check_frame(scored if isinstance(scored, pl.DataFrame) else sentiment_frame(scored))
    local = pl.col("published_at").dt.convert_time_zone(timezone)
    day = local.dt.date()
    if cutoff is not None:
        day = pl.when(local.dt.time() >= cutoff).then(day + pl.duration(days=1)).otherwise(day)
    return (
        frame.with_columns(day.cast(pl.Date).alias("date"))
        .group_by("symbol", "date")
        .agg(
            pl.col("score").mean().alias("mean"),
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("score").std(ddof=0).fill_null(0.0).alias("dispersion"),
        )
        .sort("symbol", "date")
        .cast(DAILY_SCHEMA)  # type: ignore[arg-type]
        .select(list(DAILY_SCHEMA))
    )
