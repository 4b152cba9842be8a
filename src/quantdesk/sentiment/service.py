"""News sentiment as a service: ingest sources into the store, score texts, serve daily series.

:meth:`SentimentService.ingest` reads a :class:`~quantdesk.sentiment.ports.NewsSource`,
drops repeated stories (within the batch, by id against the store, and by title on the same
UTC day against the store), tags each article with the symbols of the instrument universe,
scores its headline and stores it. It then recomputes the daily rows of every (symbol, day)
the batch touches from **all** stored articles of those days, so ingesting the same feed
twice, or two feeds covering one day in either order, gives the same daily rows.

The universe is every non-synthetic instrument of the market-data service: its symbol and
name, with a parenthesised part of the name read as an alias (``Alphabet Inc. (Google)`` is
found as Alphabet or Google). Synthetic instruments are left out: no news is about them.

Daily rows are kept per scorer. Articles keep the score of the scorer they were ingested
with; when daily rows are computed for another scorer, the stored headlines are re-scored with
it (in memory), so a day's row always covers every stored article of that day.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from quantdesk.core.clock import Clock
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.data.service import MarketDataService
from quantdesk.domain import Instrument, normalize_symbol
from quantdesk.sentiment.aggregation import (
    DAILY_SCHEMA,
    DEFAULT_CUTOFF,
    DEFAULT_TIMEZONE,
    daily_sentiment,
)
from quantdesk.sentiment.articles import Article, deduplicate, normalized_title
from quantdesk.sentiment.ports import DailySentiment, NewsSource, NewsStore, StoredArticle
from quantdesk.sentiment.scoring import (
    EmbeddingScorer,
    Label,
    LexiconScorer,
    SentimentScorer,
    score_articles,
)
from quantdesk.sentiment.tagging import Company, SymbolTagger, normalize_name

__all__ = [
    "MAX_TEXTS",
    "MAX_TEXT_LENGTH",
    "SCORERS",
    "IngestSummary",
    "SentimentService",
    "TextSentiment",
]

SCORERS: tuple[str, ...] = ("lexicon", "embedding")
"""Scorers every service offers: Loughran-McDonald lexicon (default) and sentence embeddings."""

MAX_TEXTS = 100
"""Most texts :meth:`SentimentService.score_texts` scores in one call."""

MAX_TEXT_LENGTH = 5_000
"""Most characters of one text given to :meth:`SentimentService.score_texts`."""

_UNIVERSE_LIMIT = 1_000_000
_ALIAS = re.compile(r"\(([^()]*)\)")
_SCORED_FRAME: dict[str, pl.DataType | type[pl.DataType]] = {
    "symbol": pl.String,
    "published_at": pl.Datetime("us", "UTC"),
    "score": pl.Float64,
}


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one ingest did.

    ``fetched`` articles came from the source, ``new`` of them were stored and ``duplicates``
    were already stored (same id, or same title on the same UTC day) or repeated in the batch.
    ``symbols`` are the symbols the new articles are tagged with; ``days_updated`` counts the
    (symbol, day) rows recomputed; ``skipped`` lists entries the source could not read and
    tags that are not valid symbols.
    """

    source: str
    scorer: str
    fetched: int
    new: int
    duplicates: int
    symbols: tuple[str, ...]
    days_updated: int
    skipped: tuple[Issue, ...] = ()


@dataclass(frozen=True, slots=True)
class TextSentiment:
    """The sentiment of one text and the symbols it mentions."""

    score: float
    label: Label
    confidence: float
    symbols: tuple[str, ...]


def _company(instrument: Instrument) -> Company | None:
    """Return ``instrument`` as a tagger company; None when nothing of it can be matched."""
    aliases = tuple(
        alias
        for alias in (" ".join(m.split()) for m in _ALIAS.findall(instrument.name))
        if normalize_name(alias)
    )
    candidates = (" ".join(_ALIAS.sub(" ", instrument.name).split()), instrument.name)
    # A name without words ("—") cannot be matched; the symbol then stands in for it.
    name = next((c for c in (*candidates, instrument.symbol) if normalize_name(c)), None)
    return None if name is None else Company(instrument.symbol, name, aliases)


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Return the UTC publication window of the news days ``first`` to ``last``."""
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    start = datetime.combine(first - timedelta(days=1), DEFAULT_CUTOFF, zone)
    end = datetime.combine(last, DEFAULT_CUTOFF, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise ValidationError(
            "invalid date range",
            [Issue("start", f"start {start} is after end {end}; swap them", "start")],
        )


class SentimentService:
    """Ingest news, score texts and serve daily per-symbol sentiment.

    Parameters
    ----------
    market
        The market-data service: its instruments are the universe articles are tagged with,
        and symbols asked for are resolved through it.
    store
        The relational store of articles and daily rows.
    clock
        Time source of ``ingested_at``.
    cache_dir
        Directory where the embedding scorer caches its fitted head.
    scorers
        Scorers by name, replacing or adding to the defaults (``lexicon``: a
        :class:`~quantdesk.sentiment.LexiconScorer`; ``embedding``: an
        :class:`~quantdesk.sentiment.EmbeddingScorer` built on first use).
    """

    def __init__(
        self,
        market: MarketDataService,
        store: NewsStore,
        clock: Clock,
        cache_dir: Path,
        *,
        scorers: Mapping[str, SentimentScorer] | None = None,
    ) -> None:
        self._market = market
        self._store = store
        self._clock = clock
        self._cache_dir = cache_dir
        self._factories: dict[str, Callable[[], SentimentScorer]] = {
            "lexicon": LexiconScorer,
            "embedding": lambda: EmbeddingScorer(cache_dir=self._cache_dir),
        }
        self._scorers: dict[str, SentimentScorer] = dict(scorers or {})
        self._lock = threading.Lock()
        self._tagger: tuple[tuple[Company, ...], SymbolTagger | None] | None = None

    # -- scorers and tagger --------------------------------------------------------------------

    def scorer_names(self) -> tuple[str, ...]:
        """Return the names :meth:`scorer` accepts, defaults first."""
        extra = sorted(set(self._scorers) - set(self._factories))
        return (*self._factories, *extra)

    def scorer(self, name: str) -> SentimentScorer:
        """Return the scorer called ``name`` (building it on first use).

        Raises
        ------
        ValidationError
            If no scorer has that name (the issue names the field ``scorer``).
        """
        issue = self._scorer_issue(name)
        if issue is not None:
            raise ValidationError("unknown sentiment scorer", [issue])
        with self._lock:
            if name not in self._scorers:
                self._scorers[name] = self._factories[name]()
            return self._scorers[name]

    def _scorer_issue(self, name: str) -> Issue | None:
        if name in self._scorers or name in self._factories:
            return None
        known = ", ".join(self.scorer_names())
        return Issue("scorer", f"unknown scorer {name!r}; use one of {known}", "scorer")

    def tagger(self) -> SymbolTagger | None:
        """Return the tagger of the current instrument universe (None when it is empty).

        It is rebuilt when the instruments' symbols or names change.
        """
        infos = self._market.search(None, limit=_UNIVERSE_LIMIT)
        companies = tuple(
            company
            for info in infos
            if not info.instrument.synthetic and (company := _company(info.instrument)) is not None
        )
        cached = self._tagger
        if cached is not None and cached[0] == companies:
            return cached[1]
        tagger = SymbolTagger(companies) if companies else None
        self._tagger = (companies, tagger)
        return tagger

    # -- ingest --------------------------------------------------------------------------------

    def ingest(
        self, source: NewsSource, *, scorer: str = "lexicon", since: datetime | None = None
    ) -> IngestSummary:
        """Fetch, de-duplicate, tag, score and store a source's articles; update daily rows.

        Parameters
        ----------
        source
            Where the articles come from.
        scorer
            Scorer of the new articles' headlines and of the recomputed daily rows.
        since
            Timezone-aware lower bound on publication times passed to the source.

        Returns
        -------
        IngestSummary
            Counts of new and duplicate articles, tagged symbols, days recomputed and skipped
            entries.

        Raises
        ------
        ValidationError
            For an unknown scorer, a naive ``since`` or an unreadable source.
        ProviderError
            If a remote source fails (see the adapter).
        """
        chosen = self.scorer(scorer)
        if since is not None and since.tzinfo is None:
            raise ValidationError(
                "invalid since",
                [Issue("since", "give a timezone-aware time (e.g. 2024-05-01T00:00Z)", "since")],
            )
        fetched = source.fetch(since)
        last_error = getattr(source, "last_error", None)
        skipped: list[Issue] = (
            list(last_error.issues) if isinstance(last_error, ValidationError) else []
        )
        tagger = self.tagger()
        tagged = [
            self._valid_symbols(article if tagger is None else tagger.tag_article(article), skipped)
            for article in deduplicate(fetched)
        ]
        known = self._store.known_ids([article.id for article in tagged])
        fresh = self._not_stored_by_title([a for a in tagged if a.id not in known])
        now = self._clock.now()
        added = self._store.add_articles(
            [
                StoredArticle(item.article, item.sentiment, scorer, now)
                for item in score_articles(fresh, chosen)
            ]
        )
        new_ids = set(added.new)
        symbols = sorted({s for a in tagged if a.id in new_ids for s in a.symbols})
        days = self._recompute(self._days_of(tagged), scorer, chosen)
        return IngestSummary(
            source=source.name,
            scorer=scorer,
            fetched=len(fetched),
            new=len(new_ids),
            duplicates=len(fetched) - len(new_ids),
            symbols=tuple(symbols),
            days_updated=days,
            skipped=tuple(skipped),
        )

    @staticmethod
    def _valid_symbols(article: Article, skipped: list[Issue]) -> Article:
        valid: list[str] = []
        for symbol in article.symbols:
            try:
                valid.append(normalize_symbol(symbol))
            except ValueError as exc:
                skipped.append(Issue(f"article {article.id}", f"{exc}; tag dropped", "symbols"))
        if len(valid) == len(article.symbols):
            return article
        return replace(article, symbols=tuple(valid))

    def _not_stored_by_title(self, articles: Sequence[Article]) -> list[Article]:
        if not articles:
            return []
        first = min(a.published_at for a in articles).date()
        last = max(a.published_at for a in articles).date()
        start = datetime.combine(first, datetime.min.time(), UTC)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
        stored = {
            (normalized_title(item.article.title), item.article.published_at.date())
            for item in self._store.list_articles(start=start, end=end)
        }
        return [
            a for a in articles if (normalized_title(a.title), a.published_at.date()) not in stored
        ]

    @staticmethod
    def _days_of(articles: Sequence[Article]) -> set[tuple[str, date]]:
        rows = [(s, a.published_at, 0.0) for a in articles for s in a.symbols]
        if not rows:
            return set()
        frame = daily_sentiment(pl.DataFrame(rows, schema=_SCORED_FRAME, orient="row"))
        return set(zip(frame.get_column("symbol"), frame.get_column("date"), strict=True))

    def _recompute(self, pairs: set[tuple[str, date]], name: str, scorer: SentimentScorer) -> int:
        """Recompute the daily rows of ``pairs`` from every stored article of those days."""
        if not pairs:
            return 0
        wanted: dict[str, list[date]] = {}
        for symbol, day in pairs:
            wanted.setdefault(symbol, []).append(day)
        articles: dict[str, StoredArticle] = {}
        for symbol, days in wanted.items():
            start, end = _day_bounds(min(days), max(days))
            for item in self._store.list_articles(symbol=symbol, start=start, end=end):
                articles[item.article.id] = item
        scores = {
            key: item.sentiment.score for key, item in articles.items() if item.scorer == name
        }
        others = [item.article for item in articles.values() if item.scorer != name]
        for scored in score_articles(others, scorer):
            scores[scored.article.id] = scored.sentiment.score
        rows = [
            (symbol, item.article.published_at, scores[key])
            for key, item in articles.items()
            for symbol in item.article.symbols
            if symbol in wanted
        ]
        if not rows:
            return 0
        frame = daily_sentiment(pl.DataFrame(rows, schema=_SCORED_FRAME, orient="row"))
        daily = [
            DailySentiment(
                symbol=row["symbol"],
                day=row["date"],
                scorer=name,
                mean=row["mean"],
                count=row["count"],
                dispersion=row["dispersion"],
            )
            for row in frame.iter_rows(named=True)
            if (row["symbol"], row["date"]) in pairs
        ]
        return self._store.upsert_daily(daily)

    # -- scoring -------------------------------------------------------------------------------

    def score_texts(self, texts: Sequence[str], scorer: str = "lexicon") -> list[TextSentiment]:
        """Return the sentiment of each text and the symbols of the universe it mentions.

        Parameters
        ----------
        texts
            1 to :data:`MAX_TEXTS` non-empty texts of at most :data:`MAX_TEXT_LENGTH`
            characters each (a single string counts as one text).
        scorer
            Name of the scorer (``lexicon`` or ``embedding``).

        Returns
        -------
        list[TextSentiment]
            One result per text, in order.

        Raises
        ------
        ValidationError
            Naming ``texts`` (with the row) or ``scorer`` for every rule broken.
        """
        items = [texts] if isinstance(texts, str) else list(texts)
        issues: list[Issue] = []
        if not items:
            issues.append(Issue("texts", "no texts given; send at least one", "texts"))
        elif len(items) > MAX_TEXTS:
            issues.append(
                Issue(
                    "texts",
                    f"{len(items)} texts given; send at most {MAX_TEXTS} per call",
                    "texts",
                )
            )
        for row, text in enumerate(items):
            if not text.strip():
                issues.append(
                    Issue(
                        f"texts[{row}]",
                        "the text is empty; send words or leave it out",
                        "texts",
                        row=row,
                    )
                )
            elif len(text) > MAX_TEXT_LENGTH:
                issues.append(
                    Issue(
                        f"texts[{row}]",
                        f"{len(text):,} characters; at most {MAX_TEXT_LENGTH:,} (send the "
                        "headline or a summary)",
                        "texts",
                        row=row,
                    )
                )
        scorer_issue = self._scorer_issue(scorer)
        if scorer_issue is not None:
            issues.append(scorer_issue)
        if issues:
            raise ValidationError("cannot score these texts", issues)
        scores = self.scorer(scorer).score(items)
        tagger = self.tagger()
        return [
            TextSentiment(
                score=value.score,
                label=value.label,
                confidence=value.confidence,
                symbols=() if tagger is None else tagger.tag(text),
            )
            for text, value in zip(items, scores, strict=True)
        ]

    # -- reads ---------------------------------------------------------------------------------

    def daily(
        self,
        symbol: str,
        start: date | None = None,
        end: date | None = None,
        scorer: str = "lexicon",
    ) -> list[DailySentiment]:
        """Return the stored daily sentiment of ``symbol``, oldest first.

        Parameters
        ----------
        symbol
            A known instrument.
        start, end
            First and last day (inclusive); open when None.
        scorer
            Scorer whose daily rows to return.

        Returns
        -------
        list[DailySentiment]
            One row per day with news (days without news are absent).

        Raises
        ------
        NotFound
            If ``symbol`` is not a known instrument.
        ValidationError
            For an unknown scorer or ``start`` after ``end``.
        """
        issue = self._scorer_issue(scorer)
        if issue is not None:
            raise ValidationError("unknown sentiment scorer", [issue])
        _check_range(start, end)
        instrument = self._market.resolve(symbol)
        return self._store.daily(instrument.symbol, scorer=scorer, start=start, end=end)

    def daily_frame(
        self,
        symbol: str,
        start: date | None = None,
        end: date | None = None,
        scorer: str = "lexicon",
    ) -> pl.DataFrame:
        """Return :meth:`daily` as a frame for :func:`quantdesk.ml.build_features`.

        Returns
        -------
        pl.DataFrame
            Columns of :data:`~quantdesk.sentiment.DAILY_SCHEMA` (``symbol``, ``date``,
            ``mean``, ``count``, ``dispersion``), one symbol, sorted by date; pass it as
            ``build_features(bars, sentiment=frame)``.
        """
        rows = [
            (row.symbol, row.day, row.mean, row.count, row.dispersion)
            for row in self.daily(symbol, start, end, scorer)
        ]
        return pl.DataFrame(rows, schema=DAILY_SCHEMA, orient="row")

    def articles(
        self,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
    ) -> list[StoredArticle]:
        """Return stored articles (about ``symbol``) published in ``[start, end)``, newest first.

        Raises
        ------
        NotFound
            If ``symbol`` is given and is not a known instrument.
        ValidationError
            If ``limit`` is below 1 or a bound is naive.
        """
        issues: list[Issue] = []
        if limit < 1:
            issues.append(Issue("limit", f"limit must be at least 1, got {limit}", "limit"))
        for name, value in (("start", start), ("end", end)):
            if value is not None and value.tzinfo is None:
                issues.append(Issue(name, "give a timezone-aware time", name))
        if issues:
            raise ValidationError("invalid article query", issues)
        resolved = None if symbol is None else self._market.resolve(symbol).symbol
        return self._store.list_articles(symbol=resolved, start=start, end=end, limit=limit)
