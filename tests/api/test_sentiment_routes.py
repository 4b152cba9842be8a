"""Sentiment routes: score texts, and the daily series of a symbol after an ingest."""

from __future__ import annotations

import json
import statistics
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quantdesk.runtime import Runtime
from quantdesk.sentiment import LexiconScorer
from quantdesk.sentiment.sources import JsonlSource

NEGATIVE = "Shares plunge after the company issues a profit warning and cuts jobs"
POSITIVE = "Profit soars as the company beats estimates and raises its outlook"
APPLE = "Apple (NASDAQ: AAPL) unveils a new iPad lineup"

# Times well inside a New York day (UTC-4 in June): 14:00Z is 10:00 NY (counts for that day),
# 21:00Z is 17:00 NY (after the 16:00 cut-off: counts for the next day).
ARTICLES = [
    ("2015-06-10T14:00:00Z", "Apple shares jump after record iPhone sales"),
    ("2015-06-10T15:30:00Z", "Apple Inc. faces lawsuit over battery failures"),
    ("2015-06-10T21:00:00Z", "Apple supplier warns of weak demand and losses"),
]


@pytest.fixture(scope="module")
def ingested(api_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> int:
    path = tmp_path_factory.mktemp("news") / "apple.jsonl"
    lines = [
        {"published_at": when, "title": title, "url": f"https://news.example.com/apple/{n}"}
        for n, (when, title) in enumerate(ARTICLES)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    summary = api_runtime.sentiment.ingest(JsonlSource(path))
    assert summary.symbols == ("AAPL",)
    return summary.new


def test_scores_texts_with_labels_and_symbols(client: TestClient) -> None:
    response = client.post("/api/v1/ml/sentiment", json={"texts": [NEGATIVE, POSITIVE, APPLE]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scorer"] == "lexicon"
    assert body["count"] == 3
    negative, positive, apple = body["data"]
    assert negative["label"] == "negative"
    assert negative["score"] < 0
    assert positive["label"] == "positive"
    assert positive["score"] > 0
    assert apple["symbols"] == ["AAPL"]
    for item in body["data"]:
        assert 0.0 <= item["confidence"] <= 1.0


def test_scores_a_single_text(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ml/sentiment", json={"text": "Microsoft Corporation beats estimates"}
    )
    assert response.status_code == 200, response.text
    (only,) = response.json()["data"]
    assert only["label"] == "positive"
    assert only["symbols"] == ["MSFT"]


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"texts": [""]}, "texts[0]"),
        ({"texts": ["fine", "  "]}, "texts[1]"),
        ({"text": ""}, "texts[0]"),
        ({"texts": []}, "texts"),
        ({"texts": ["headline"] * 101}, "texts"),
        ({"texts": ["x" * 5001]}, "texts[0]"),
        ({"texts": ["headline"], "scorer": "weather"}, "body.scorer"),
        ({"texts": ["a"], "text": "b"}, "body"),
        ({}, "body"),
        ({"texts": ["a"], "model": "x"}, "body.model"),
    ],
)
def test_bad_score_requests_are_422_naming_the_field(
    client: TestClient, body: dict[str, Any], location: str
) -> None:
    response = client.post("/api/v1/ml/sentiment", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert location in [error["location"] for error in response.json()["errors"]]


def test_daily_series_after_an_ingest(client: TestClient, ingested: int) -> None:
    assert ingested == 3
    response = client.get("/api/v1/sentiment/aapl")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["symbol"] == "AAPL"
    assert body["scorer"] == "lexicon"
    assert [row["date"] for row in body["data"]] == ["2015-06-10", "2015-06-11"]
    assert [row["count"] for row in body["data"]] == [2, 1]
    # The day's mean and population spread of the headline scores, from the scorer itself
    first, second, third = (s.score for s in LexiconScorer().score([t for _, t in ARTICLES]))
    june_10, june_11 = body["data"]
    assert june_10["mean"] == pytest.approx(statistics.mean([first, second]))
    assert june_10["dispersion"] == pytest.approx(statistics.pstdev([first, second]))
    assert june_11["mean"] == pytest.approx(third)
    assert june_11["dispersion"] == 0.0
    ranged = client.get(
        "/api/v1/sentiment/AAPL", params={"start": "2015-06-11", "end": "2015-06-30"}
    )
    assert [row["date"] for row in ranged.json()["data"]] == ["2015-06-11"]
    assert ranged.json()["count"] == 1


def test_a_symbol_without_news_has_an_empty_series(client: TestClient) -> None:
    response = client.get("/api/v1/sentiment/JPM")
    assert response.status_code == 200, response.text
    assert response.json() == {"symbol": "JPM", "scorer": "lexicon", "data": [], "count": 0}


def test_bad_series_requests(client: TestClient) -> None:
    unknown = client.get("/api/v1/sentiment/NOPE")
    assert unknown.status_code == 404, unknown.text
    assert "NOPE" in unknown.json()["detail"]
    scorer = client.get("/api/v1/sentiment/AAPL", params={"scorer": "weather"})
    assert scorer.status_code == 422
    backwards = client.get(
        "/api/v1/sentiment/AAPL", params={"start": "2015-07-01", "end": "2015-06-01"}
    )
    assert backwards.status_code == 422
    assert [e["location"] for e in backwards.json()["errors"]] == ["start"]


def test_routes_need_sign_in(anon_client: TestClient) -> None:
    assert anon_client.get("/api/v1/sentiment/AAPL").status_code == 401
    assert anon_client.post("/api/v1/ml/sentiment", json={"text": "x"}).status_code == 401
