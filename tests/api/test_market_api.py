"""Market routes through the ASGI app, against real bundled history."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def test_health(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readiness_checks_both_stores(client: TestClient) -> None:
    body = client.get("/api/v1/health/ready").json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"bar_store (duckdb)", "relational (sqlite)"}


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/market/history/{symbol}" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_quote_of_real_index(client: TestClient) -> None:
    body = client.get("/api/v1/market/quote/spx").json()
    # arch.data.sp500: last two sessions of 2018 closed at 2485.739990 and 2506.850098.
    assert body["symbol"] == "SPX"
    assert body["ts"].startswith("2018-12-31")
    assert body["price"] == 2506.850098
    assert body["previous_close"] == 2485.73999
    assert abs(body["change_pct"] - (2506.850098 / 2485.73999 - 1) * 100) < 1e-9
    assert body["synthetic"] is False
    assert body["close_only"] is False


def test_quote_of_close_only_series(client: TestClient) -> None:
    body = client.get("/api/v1/market/quote/AAPL").json()
    assert body["close_only"] is True
    assert body["open"] is None
    assert body["ts"].startswith("2022-12-28")


def test_unknown_symbol_is_404_with_suggestions(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/market/quote/SPY"), 404)
    assert body["suggestions"] == ["SPX"]
    assert "SPY" in body["detail"]


def test_history_range_and_values(client: TestClient) -> None:
    response = client.get(
        "/api/v1/market/history/SPX", params={"start": "2018-12-27", "end": "2018-12-28"}
    )
    body = response.json()
    assert body["count"] == 2
    assert [bar["ts"][:10] for bar in body["bars"]] == ["2018-12-27", "2018-12-28"]
    assert body["bars"][1]["close"] == 2485.73999
    assert body["next_cursor"] is None


def test_history_cursor_paging_covers_everything_once(client: TestClient) -> None:
    params = {"start": "2018-01-01", "limit": 100}
    seen: list[str] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = client.get("/api/v1/market/history/SPX", params=query).json()
        seen.extend(bar["ts"] for bar in body["bars"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 251  # NYSE sessions in 2018
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen)


def test_history_resampled_to_months(client: TestClient) -> None:
    body = client.get(
        "/api/v1/market/history/SPX",
        params={"start": "2018-01-01", "end": "2018-12-31", "interval": "1mo"},
    ).json()
    assert body["source_interval"] == "1d"
    assert body["count"] == 12
    december = body["bars"][-1]
    assert december["ts"].startswith("2018-12-01")
    assert december["close"] == 2506.850098
    assert december["open"] == 2790.5  # open of 2018-12-03, the first December session


def test_history_newest_first(client: TestClient) -> None:
    body = client.get("/api/v1/market/history/SPX", params={"order": "desc", "limit": 2}).json()
    assert [bar["ts"][:10] for bar in body["bars"]] == ["2018-12-31", "2018-12-28"]


def test_bad_interval_names_the_parameter(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/market/history/SPX", params={"interval": "2h"}), 422)
    assert body["errors"][0]["location"] == "interval"


def test_bad_date_names_the_parameter(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/market/history/SPX", params={"start": "31/12/2018"}), 422)
    assert body["errors"][0]["location"] == "start"
    assert "YYYY-MM-DD" in body["errors"][0]["reason"]


def test_bad_limit_and_cursor(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/market/history/SPX", params={"limit": 0}), 422)
    assert "limit" in body["errors"][0]["location"]
    body = _problem(client.get("/api/v1/market/history/SPX", params={"limit": 10**7}), 422)
    assert body["errors"][0]["location"] == "limit"
    body = _problem(client.get("/api/v1/market/history/SPX", params={"cursor": "zz"}), 422)
    assert body["errors"][0]["location"] == "cursor"


def test_interval_finer_than_stored_is_422(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/market/history/SPX", params={"interval": "5m"}), 422)
    assert "stored: 1d" in body["errors"][0]["reason"]


def test_synthetic_history_is_flagged(client: TestClient) -> None:
    body = client.get(
        "/api/v1/market/history/SYN-IDX", params={"interval": "1h", "order": "desc", "limit": 3}
    ).json()
    assert body["synthetic"] is True
    assert body["source_interval"] == "5m"
    assert body["count"] == 3


def test_batch_quotes(client: TestClient) -> None:
    response = client.post("/api/v1/market/batch-quotes", json={"symbols": ["spx", "IXIC", "NOPE"]})
    body = response.json()
    assert [q["symbol"] for q in body["data"]] == ["SPX", "IXIC"]
    assert body["missing"] == ["NOPE"]
    assert body["count"] == 2


def test_batch_quotes_bad_body(client: TestClient) -> None:
    body = _problem(client.post("/api/v1/market/batch-quotes", json={"symbols": []}), 422)
    assert "symbols" in body["errors"][0]["location"]
    body = _problem(client.post("/api/v1/market/batch-quotes", json={"symbols": ["$$"]}), 422)
    assert "invalid symbol" in body["detail"]
    _problem(client.post("/api/v1/market/batch-quotes", content=b"{not json"), 422)


def test_symbol_search(client: TestClient) -> None:
    body = client.get("/api/v1/market/symbols", params={"q": "pfizer"}).json()
    assert body["count"] == 1
    (pfizer,) = body["data"]
    assert pfizer["symbol"] == "PFE"
    assert pfizer["sector"] == "Health Care"
    assert pfizer["series"][0]["interval"] == "1d"
    assert pfizer["series"][0]["first_ts"].startswith("1990-01-02")
    synthetic = client.get("/api/v1/market/symbols", params={"q": "SYN-"}).json()
    assert synthetic["count"] > 0
    assert all(item["synthetic"] for item in synthetic["data"])


def test_request_id_is_echoed_or_created(client: TestClient) -> None:
    echoed = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    created = client.get("/api/v1/health")
    assert created.headers["x-request-id"].startswith("req_")
    problem = client.get("/api/v1/market/quote/SPY", headers={"X-Request-ID": "trace-9"})
    assert problem.json()["request_id"] == "trace-9"


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    _problem(client.get("/api/v1/nope"), 404)
