"""``SentimentService`` on real embedded stores (SQLite + DuckDB) with the recorded feeds.

Most tests score with a fake scorer that gives each headline a score chosen here, so every
daily mean, count and dispersion below is worked out by hand from the table ``SCORES``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from quantdesk.core.clock import SimClock
from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.data.service import MarketDataService
from quantdesk.data.storage.duckdb import DuckDBBarStore
from quantdesk.db import SqlInstrumentStore, make_engine, upgrade
from quantdesk.db.news import SqlNewsStore
from quantdesk.domain import Instrument
from quantdesk.ml import FeatureSpec, build_features
from quantdesk.sentiment import (
    EmbeddingScorer,
    Label,
    LexiconScorer,
    SentimentScore,
    SentimentScorer,
)
from quantdesk.sentiment.ports import DailySentiment, NewsSource
from quantdesk.sentiment.service import MAX_TEXTS, SentimentService
from quantdesk.sentiment.sources import JsonlSource, RssSource

FIXTURES = Path(__file__).parents[2] / "fixtures" / "news"
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)

UNIVERSE = [
    Instrument("ACMR", "Acme Robotics Inc."),
    Instrument("BORF", "Borealis Foods Corp."),
    Instrument("CRSE", "Crestline Energy"),
    Instrument("DNMP", "Dunmore Pipelines"),
    Instrument("AAPL", "Apple Inc."),
    Instrument("MSFT", "Microsoft Corporation"),
    Instrument("GOOG", "Alphabet Inc. (Google)"),
    Instrument("ZZZT", "Zed Test Corp (synthetic)", synthetic=True, source="synthetic"),
]

# Headline fragment -> score given by the fake scorer. Publication times (from the fixtures)
# and the day each counts for (16:00 New York cut-off; New York is UTC-4 in May):
SCORES = {
    "beats first-quarter": 0.6,  # RSS, 20:15Z May 7 = 16:15 NY -> ACMR May 8
    "Reports First Quarter": 0.3,  # Atom, 16:05 NY May 7 -> ACMR May 8
    "Present at": 0.0,  # Atom, 08:00 NY May 8 -> ACMR May 8
    "Quarterly Dividend": 0.2,  # Atom, 20:30Z Apr 25 = 16:30 NY -> ACMR Apr 26
    "shares slide": -0.5,  # RSS, 09:42 NY May 7 -> BORF May 7
    "to acquire Dunmore": 0.4,  # RSS, 23:10+02 May 6 = 17:10 NY -> CRSE, DNMP May 7
    "names new chief": 0.1,  # JSONL, 13:30Z May 6 = 09:30 NY -> BORF May 6
    "wins warehouse": 0.5,  # JSONL, 09:15 NY May 7 -> ACMR May 7
    "shares fall": -0.3,  # JSONL, 21:45Z May 7 = 17:45 NY -> CRSE May 8
}


@dataclass
class TableScorer:
    """Scores a text by the first fragment of ``table`` it contains (0.0 when none)."""

    table: dict[str, float]
    name: str = "table"
    calls: int = 0

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        self.calls += 1
        results = []
        for text in texts:
            value = next((v for k, v in self.table.items() if k in text), 0.0)
            label: Label = "positive" if value > 0 else "negative" if value < 0 else "neutral"
            results.append(SentimentScore(value, label, abs(value)))
        return results


@dataclass
class World:
    service: SentimentService
    market: MarketDataService
    instruments: SqlInstrumentStore
    store: SqlNewsStore
    scorer: TableScorer


def _world(path: Path, **scorers: SentimentScorer) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{path / 'qd.db'}")
    upgrade(engine)
    bars = DuckDBBarStore(path / "market.duckdb")
    bars.migrate()
    instruments = SqlInstrumentStore(engine)
    instruments.upsert_instruments(UNIVERSE)
    table = TableScorer(SCORES)
    store = SqlNewsStore(engine)
    market = MarketDataService(bars, instruments)
    service = SentimentService(
        market,
        store,
        SimClock(NOW),
        path / "cache",
        scorers={"lexicon": table, **scorers},
    )
    yield World(service, market, instruments, store, table)
    bars.close()
    engine.dispose()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path)


def _rss() -> NewsSource:
    return RssSource.from_file(FIXTURES / "markets_rss20.xml")


def _atom() -> NewsSource:
    return RssSource.from_file(FIXTURES / "company_atom.xml")


def _jsonl() -> NewsSource:
    return JsonlSource(FIXTURES / "articles.jsonl")


Row = tuple[date, float, int, float]


def _rows(service: SentimentService, symbol: str, scorer: str = "lexicon") -> list[Row]:
    return [
        (row.day, round(row.mean, 12), row.count, round(row.dispersion, 12))
        for row in service.daily(symbol, scorer=scorer)
    ]


def _write_jsonl(path: Path, records: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    return path


def test_ingest_builds_daily_rows_from_every_source_of_a_day(world: World) -> None:
    service = world.service
    rss = service.ingest(_rss())
    assert (rss.fetched, rss.new, rss.duplicates) == (4, 4, 0)
    assert rss.symbols == ("ACMR", "BORF", "CRSE", "DNMP")
    assert rss.days_updated == 4  # ACMR May 8, BORF May 7, CRSE May 7, DNMP May 7
    assert [issue.location for issue in rss.skipped] == ["entry 5"]  # the undated live blog
    assert _rows(service, "ACMR") == [(date(2024, 5, 8), 0.6, 1, 0.0)]

    atom = service.ingest(_atom())
    assert (atom.fetched, atom.new, atom.symbols, atom.days_updated) == (3, 3, ("ACMR",), 2)
    jsonl = service.ingest(_jsonl())
    assert (jsonl.new, jsonl.symbols, jsonl.days_updated) == (3, ("ACMR", "BORF", "CRSE"), 3)
    assert len(jsonl.skipped) == 7  # the seven bad lines of the fixture

    # ACMR May 8: 0.6 (RSS), 0.3 and 0.0 (Atom): mean 0.3, population sd sqrt(0.18 / 3)
    sd = round(math.sqrt(0.06), 12)
    assert _rows(service, "ACMR") == [
        (date(2024, 4, 26), 0.2, 1, 0.0),
        (date(2024, 5, 7), 0.5, 1, 0.0),
        (date(2024, 5, 8), 0.3, 3, sd),
    ]
    assert _rows(service, "BORF") == [
        (date(2024, 5, 6), 0.1, 1, 0.0),
        (date(2024, 5, 7), -0.5, 1, 0.0),
    ]
    assert _rows(service, "CRSE") == [
        (date(2024, 5, 7), 0.4, 1, 0.0),
        (date(2024, 5, 8), -0.3, 1, 0.0),
    ]
    assert _rows(service, "DNMP") == [(date(2024, 5, 7), 0.4, 1, 0.0)]
    stored = service.articles("ACMR", limit=10)
    assert [a.article.published_at for a in stored] == sorted(
        (a.article.published_at for a in stored), reverse=True
    )
    assert len(stored) == 5
    assert {a.ingested_at for a in stored} == {NOW}
    assert {a.scorer for a in stored} == {"lexicon"}


def test_reingesting_is_idempotent_and_order_does_not_matter(world: World, tmp_path: Path) -> None:
    service = world.service
    for source in (_rss(), _atom(), _jsonl()):
        service.ingest(source)
    before = {s: _rows(service, s) for s in ("ACMR", "BORF", "CRSE", "DNMP")}
    again = service.ingest(_rss())
    assert (again.fetched, again.new, again.duplicates, again.symbols) == (4, 0, 4, ())
    assert {s: _rows(service, s) for s in before} == before
    assert len(service.articles(limit=100)) == 10  # 4 RSS + 3 Atom + 3 JSONL

    reverse_home = tmp_path / "reverse"
    reverse_home.mkdir()
    for other in _world(reverse_home):
        for source in (_jsonl(), _atom(), _rss()):
            other.service.ingest(source)
        assert {s: _rows(other.service, s) for s in before} == before


def test_tags_symbols_from_text_and_skips_a_story_stored_under_another_link(
    world: World, tmp_path: Path
) -> None:
    records = [
        {
            "id": "t1",
            "published_at": "2024-05-07T14:00:00Z",
            "title": "Apple (NASDAQ: AAPL) unveils new iPad lineup",
        },
        {
            "id": "t2",
            "published_at": "2024-05-07T15:00:00Z",
            "title": "Microsoft Corporation expands cloud deal",
            "url": "https://a.example.com/ms",
        },
        {
            "id": "t3",
            "published_at": "2024-05-07T16:00:00Z",
            "title": "Apple and Microsoft shares fall as tech slips",
        },
        {"id": "t4", "published_at": "2024-05-07T17:00:00Z", "title": "Google wins warehouse deal"},
        {"id": "t5", "published_at": "2024-05-07T18:00:00Z", "title": "Zed Test Corp ZZZT rallies"},
    ]
    summary = world.service.ingest(JsonlSource(_write_jsonl(tmp_path / "a.jsonl", records)))
    assert summary.symbols == ("AAPL", "GOOG", "MSFT")  # the synthetic name is not tagged
    tags = {a.article.id: a.article.symbols for a in world.service.articles(limit=10)}
    assert tags == {
        "t1": ("AAPL",),
        "t2": ("MSFT",),
        "t3": ("AAPL", "MSFT"),
        "t4": ("GOOG",),
        "t5": (),
    }
    # All before 16:00 New York on May 7: AAPL has 0.0 and -0.3 -> mean -0.15, sd 0.15
    assert _rows(world.service, "AAPL") == [(date(2024, 5, 7), -0.15, 2, 0.15)]

    # The same story from another outlet: other link (so another id), same title, same day
    repost = [
        {
            "id": "r1",
            "published_at": "2024-05-07T19:30:00Z",
            "title": "Microsoft Corporation expands cloud deal!",
            "url": "https://b.example.com/x",
        },
    ]
    second = world.service.ingest(JsonlSource(_write_jsonl(tmp_path / "b.jsonl", repost)))
    assert (second.new, second.duplicates) == (0, 1)
    assert _rows(world.service, "MSFT") == [(date(2024, 5, 7), -0.15, 2, 0.15)]


def test_a_second_scorer_rescores_every_stored_article_of_the_day(tmp_path: Path) -> None:
    constant = TableScorer({}, name="constant")
    for world in _world(tmp_path, flat=constant):
        world.service.ingest(_rss())
        world.service.ingest(_atom())
        again = world.service.ingest(_atom(), scorer="flat")
        assert (again.new, again.duplicates) == (0, 3)
        # ACMR May 8 holds 3 articles (1 RSS, 2 Atom), all re-scored 0.0 by "flat"
        assert _rows(world.service, "ACMR", "flat") == [
            (date(2024, 4, 26), 0.0, 1, 0.0),
            (date(2024, 5, 8), 0.0, 3, 0.0),
        ]
        assert _rows(world.service, "ACMR")[-1] == (
            date(2024, 5, 8),
            0.3,
            3,
            round(math.sqrt(0.06), 12),
        )
        assert {a.scorer for a in world.service.articles(limit=20)} == {"lexicon"}
        assert world.service.scorer_names() == ("lexicon", "embedding", "flat")


def test_daily_frame_feeds_build_features(world: World) -> None:
    for source in (_rss(), _atom(), _jsonl()):
        world.service.ingest(source)
    frame = world.service.daily_frame("acmr")
    assert frame.columns == ["symbol", "date", "mean", "count", "dispersion"]
    assert frame.get_column("date").to_list() == [
        date(2024, 4, 26),
        date(2024, 5, 7),
        date(2024, 5, 8),
    ]
    days = pd.date_range("2024-05-06", "2024-05-10", freq="D", tz="UTC")
    closes = pd.Series([10.0, 10.5, 10.2, 10.4, 10.3], index=days)
    spec = FeatureSpec(
        return_horizons=(1,),
        volatility_windows=(2,),
        range_window=0,
        indicators=(),
        volume_window=0,
        calendar=False,
        sentiment_window=0,
        warmup="keep",
    )
    features = build_features(closes, spec, sentiment=frame).frame
    # Apr 26 news reaches the first bar on or after it (May 6); May 9-10 have none
    assert features["sent_count"].tolist() == [1.0, 1.0, 3.0, 0.0, 0.0]
    assert features["sent_mean"].iloc[:3].round(12).tolist() == [0.2, 0.5, 0.3]
    assert features["sent_mean"].iloc[3:].isna().all()
    assert features["sent_dispersion"].iloc[2] == pytest.approx(math.sqrt(0.06))
    assert world.service.daily_frame("ACMR", start=date(2024, 5, 8)).height == 1


def test_score_texts_with_the_lexicon_and_the_universe(tmp_path: Path) -> None:
    for world in _world(tmp_path, real=LexiconScorer()):
        results = world.service.score_texts(
            [
                "Apple (NASDAQ: AAPL) beats estimates and raises its outlook",
                "Microsoft shares plunge after a profit warning",
                "The meeting is on Tuesday",
            ],
            "real",
        )
        assert [r.label for r in results] == ["positive", "negative", "neutral"]
        assert [r.symbols for r in results] == [("AAPL",), ("MSFT",), ()]
        assert results[0].score > 0 > results[1].score
        # a new instrument is found as soon as it is stored
        world.instruments.upsert_instruments([Instrument("JPM", "JPMorgan Chase & Co.")])
        jpm = world.service.score_texts("JPMorgan Chase raises its dividend", "real")
        assert jpm[0].symbols == ("JPM",)
        # a name without words is matched by its symbol alone and does not stop the others
        world.instruments.upsert_instruments([Instrument("DSH", "—")])
        both = world.service.score_texts("JPMorgan Chase and DSH rally", "real")
        assert both[0].symbols == ("DSH", "JPM")


@pytest.mark.parametrize(
    ("texts", "scorer", "expected"),
    [
        ([], "lexicon", [("texts", "texts")]),
        (["ok"] * (MAX_TEXTS + 1), "lexicon", [("texts", "texts")]),
        (["fine", "   "], "lexicon", [("texts[1]", "texts")]),
        (["x" * 5001], "lexicon", [("texts[0]", "texts")]),
        (["fine"], "weather", [("scorer", "scorer")]),
        (
            ["", "y" * 5001],
            "nope",
            [("texts[0]", "texts"), ("texts[1]", "texts"), ("scorer", "scorer")],
        ),
    ],
)
def test_bad_score_input_names_the_field(
    world: World, texts: list[str], scorer: str, expected: list[tuple[str, str]]
) -> None:
    with pytest.raises(ValidationError) as caught:
        world.service.score_texts(texts, scorer)
    assert [(i.location, i.field) for i in caught.value.issues] == expected
    assert world.scorer.calls == 0


def test_a_text_of_exactly_the_limit_is_accepted(world: World) -> None:
    assert len(world.service.score_texts(["x" * 5000] * MAX_TEXTS)) == MAX_TEXTS


def test_bad_reads_and_ingests(world: World, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        world.service.daily("NOPE")
    with pytest.raises(ValidationError, match="start"):
        world.service.daily("ACMR", start=date(2024, 5, 9), end=date(2024, 5, 8))
    with pytest.raises(ValidationError, match="scorer"):
        world.service.daily("ACMR", scorer="weather")
    with pytest.raises(ValidationError, match="scorer"):
        world.service.ingest(_rss(), scorer="weather")
    with pytest.raises(ValidationError, match="since"):
        world.service.ingest(_rss(), since=datetime(2024, 5, 7))
    with pytest.raises(ValidationError, match="limit"):
        world.service.articles(limit=0)
    assert world.service.daily("ACMR") == []
    # a tag that is not a symbol is dropped and reported; the article is kept
    record = {
        "id": "s1",
        "published_at": "2024-05-07T14:00:00Z",
        "title": "Odd tag",
        "symbols": ["not a symbol!"],
    }
    summary = world.service.ingest(JsonlSource(_write_jsonl(tmp_path / "s.jsonl", [record])))
    assert summary.new == 1
    assert [(i.location, i.field) for i in summary.skipped] == [("article s1", "symbols")]
    assert world.service.articles(limit=5)[0].article.symbols == ()


def test_ingest_since_is_passed_to_the_source(world: World) -> None:
    summary = world.service.ingest(_rss(), since=datetime(2024, 5, 7, 13, tzinfo=UTC))
    assert summary.fetched == 2  # Borealis at 13:42Z and Acme at 20:15Z
    assert world.service.daily("DNMP") == []


def test_default_scorers_are_built_lazily(tmp_path: Path) -> None:
    for world in _world(tmp_path):
        service = SentimentService(
            world.market,
            world.store,
            SimClock(NOW),
            tmp_path / "heads",
        )
        assert service.scorer_names() == ("lexicon", "embedding")
        assert isinstance(service.scorer("lexicon"), LexiconScorer)
        embedding = service.scorer("embedding")
        assert isinstance(embedding, EmbeddingScorer)
        assert embedding.cache_dir == tmp_path / "heads"
        assert service.scorer("embedding") is embedding


def test_one_embedding_call(tmp_path: Path, embedding_scorer: EmbeddingScorer) -> None:
    for world in _world(tmp_path, embedding=embedding_scorer):
        result = world.service.score_texts(
            ["Microsoft shares plunge after profit warning"], "embedding"
        )
        assert result[0].label == "negative"
        assert result[0].symbols == ("MSFT",)


def test_daily_rows_are_the_stores(world: World) -> None:
    world.store.upsert_daily([DailySentiment("AAPL", date(2024, 1, 2), "lexicon", 0.5, 2, 0.1)])
    assert world.service.daily("aapl") == [
        DailySentiment("AAPL", date(2024, 1, 2), "lexicon", 0.5, 2, 0.1)
    ]
