"""``quantdesk ingest news`` and ``quantdesk sentiment`` on the 20-stock universe."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from quantdesk.cli.main import app

runner = CliRunner()
FIXTURES = Path(__file__).parents[1] / "fixtures" / "news"
API_KEY = "nk-cli-test-DO-NOT-PRINT"

# 14:00Z and 15:00Z are before 16:00 New York (UTC-4 in May): both count for May 7; 21:30Z is
# after it and counts for May 8.
ARTICLES = [
    {
        "published_at": "2024-05-07T14:00:00Z",
        "title": "Apple (NASDAQ: AAPL) beats estimates",
        "url": "https://news.example.com/1",
    },
    {
        "published_at": "2024-05-07T15:00:00Z",
        "title": "Microsoft and Apple shares slump",
        "url": "https://news.example.com/2",
    },
    {
        "published_at": "2024-05-07T21:30:00Z",
        "title": "Microsoft Corporation wins cloud deal",
        "url": "https://news.example.com/3",
    },
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qd-cli-sentiment")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUANTDESK_HOME", str(path))
        result = runner.invoke(app, ["ingest", "demo", "--dataset", "sp500-20"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for key in list(os.environ):
        if key.startswith("QUANTDESK_") and not key.startswith("QUANTDESK_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("NEWSAPI_KEY", raising=False)
    monkeypatch.setenv("QUANTDESK_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="module")
def articles_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("news") / "big-tech.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in ARTICLES) + "\n")
    return path


def test_ingest_news_then_show_the_daily_series(articles_file: Path) -> None:
    first = runner.invoke(app, ["ingest", "news", "--jsonl", str(articles_file)])
    assert first.exit_code == 0, first.output
    assert "3 new, 0 duplicate(s) of 3 fetched (scorer lexicon)" in first.stdout
    assert "tagged symbols: AAPL, MSFT" in first.stdout
    assert "days updated: 3" in first.stdout  # AAPL May 7, MSFT May 7, MSFT May 8

    again = runner.invoke(app, ["ingest", "news", "--jsonl", str(articles_file)])
    assert again.exit_code == 0, again.output
    assert "0 new, 3 duplicate(s) of 3 fetched" in again.stdout
    assert "tagged symbols: none" in again.stdout

    shown = runner.invoke(app, ["sentiment", "show", "AAPL"])
    assert shown.exit_code == 0, shown.output
    assert "AAPL daily news sentiment (lexicon)" in shown.stdout
    rows = [line for line in shown.stdout.splitlines() if "2024-05-" in line]
    assert len(rows) == 1
    assert rows[0].split("│")[3].strip() == "2"  # two AAPL articles on May 7

    msft = runner.invoke(app, ["sentiment", "show", "msft", "--start", "2024-05-08"])
    assert msft.exit_code == 0, msft.output
    assert [
        line.split("│")[1].strip() for line in msft.stdout.splitlines() if "2024-05-" in line
    ] == ["2024-05-08"]

    empty = runner.invoke(app, ["sentiment", "show", "JPM"])
    assert empty.exit_code == 0, empty.output
    assert "no lexicon news sentiment stored for JPM" in empty.stdout


def test_ingest_news_from_a_feed_file_lists_skipped_entries() -> None:
    result = runner.invoke(app, ["ingest", "news", "--rss", str(FIXTURES / "markets_rss20.xml")])
    assert result.exit_code == 0, result.output
    assert "4 new" in result.stdout
    assert "tagged symbols: none" in result.stdout  # its companies are not instruments here
    assert "entry 5" in result.output  # the undated live-blog item, in the skipped table


def test_ingest_news_from_a_search_api() -> None:
    page = json.loads((FIXTURES / "newsapi_everything_page1.json").read_text(encoding="utf-8"))
    more = json.loads((FIXTURES / "newsapi_everything_page2.json").read_text(encoding="utf-8"))
    with respx.mock(base_url="https://newsapi.org", assert_all_called=False) as mock:
        route = mock.get("/v2/everything").mock(
            side_effect=[httpx.Response(200, json=page), httpx.Response(200, json=more)]
        )
        result = runner.invoke(
            app,
            ["ingest", "news", "--newsapi", "Acme Robotics", "--api-key-env", "QD_NEWS_KEY"],
            env={"QD_NEWS_KEY": API_KEY},
        )
    assert result.exit_code == 0, result.output
    assert route.called
    assert route.calls[0].request.headers.get("X-Api-Key") == API_KEY
    assert " new, " in result.stdout
    assert API_KEY not in result.output


def test_score_texts() -> None:
    result = runner.invoke(
        app,
        [
            "sentiment",
            "score",
            "Apple (NASDAQ: AAPL) beats estimates and raises its outlook",
            "Shares plunge after a profit warning",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [line.split("│") for line in result.stdout.splitlines() if "│" in line]
    assert [row[2].strip() for row in rows] == ["positive", "negative"]
    assert [row[5].strip() for row in rows] == ["AAPL", ""]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "news"], "exactly one of --rss, --jsonl or --newsapi"),
        (["ingest", "news", "--rss", "a.xml", "--jsonl", "b.jsonl"], "exactly one"),
        (["ingest", "news", "--newsapi", "Apple"], "NEWSAPI_KEY"),
        (["ingest", "news", "--jsonl", "/nonexistent/news.jsonl"], "cannot read"),
        (["ingest", "news", "--rss", str(FIXTURES / "not_a_feed.html")], "not an RSS"),
        (["ingest", "news", "--jsonl", "x.jsonl", "--scorer", "weather"], "unknown scorer"),
        (["ingest", "news", "--jsonl", "x.jsonl", "--since", "yesterday"], "--since"),
        (["sentiment", "show", "NOPE"], "NOPE"),
        (["sentiment", "show", "AAPL", "--start", "2024-13-01"], "start"),
        (["sentiment", "show", "AAPL", "--scorer", "weather"], "unknown scorer"),
        (["sentiment", "score", ""], "texts[0]"),
        (["sentiment", "score", "fine", "--scorer", "weather"], "unknown scorer"),
    ],
)
def test_bad_input_is_a_clear_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_help_documents_both_commands() -> None:
    result = runner.invoke(app, ["sentiment", "--help"])
    assert result.exit_code == 0
    assert "show" in result.stdout
    assert "score" in result.stdout
