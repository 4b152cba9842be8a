"""Technical-analysis routes through the ASGI app, checked against TA-Lib on the real data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import talib
from arch.data import sp500
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def spx() -> dict[str, np.ndarray]:
    frame = sp500.load()
    return {c.lower(): frame[c].to_numpy(float) for c in ("Open", "High", "Low", "Close")}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_indicator_registry(client: TestClient) -> None:
    body = client.get("/api/v1/analysis/indicators").json()
    by_name = {item["name"]: item for item in body["data"]}
    assert body["count"] == len(by_name) > 150
    rsi = by_name["rsi"]
    assert rsi["params"][0]["name"] == "timeperiod"
    assert rsi["params"][0]["default"] == 14
    assert by_name["macd"]["outputs"] == ["macd", "signal", "hist"]
    assert by_name["supertrend"]["source"] == "quantdesk"
    patterns = client.get("/api/v1/analysis/indicators", params={"group": "pattern"}).json()
    assert patterns["count"] == 61
    assert all(item["name"].startswith("cdl") for item in patterns["data"])


def test_technical_matches_talib(client: TestClient, spx: dict[str, np.ndarray]) -> None:
    body = client.post(
        "/api/v1/analysis/technical",
        json={
            "symbol": "SPX",
            "indicators": [
                {"name": "rsi", "params": {"timeperiod": 14}},
                {"name": "macd"},
            ],
            "start": "2018-12-24",
        },
    ).json()
    expected_rsi = talib.RSI(spx["close"], 14)
    _macd, signal, _ = talib.MACD(spx["close"])
    # Sessions from 2018-12-24 on: the last 5 rows of the real history.
    assert [t[:10] for t in body["ts"]] == [
        "2018-12-24",
        "2018-12-26",
        "2018-12-27",
        "2018-12-28",
        "2018-12-31",
    ]
    np.testing.assert_allclose(body["series"]["rsi(14)"]["values"], expected_rsi[-5:], rtol=1e-12)
    np.testing.assert_allclose(
        body["series"]["macd(12,26,9).signal"]["values"], signal[-5:], rtol=1e-12
    )
    assert body["series"]["macd(12,26,9).macd"]["output"] == "macd"


def test_technical_warm_up_is_null(client: TestClient) -> None:
    body = client.post(
        "/api/v1/analysis/technical",
        json={"symbol": "SPX", "indicators": [{"name": "sma", "params": {"timeperiod": 5}}]},
    ).json()
    values = body["series"]["sma(5)"]["values"]
    assert values[:4] == [None] * 4
    assert values[4] is not None
    assert math.isfinite(values[4])


def test_technical_bad_requests(client: TestClient) -> None:
    unknown = _problem(
        client.post(
            "/api/v1/analysis/technical",
            json={"symbol": "SPX", "indicators": [{"name": "rsl"}]},
        ),
        422,
    )
    assert unknown["errors"][0]["location"] == "indicators[0].name"
    assert "rsi" in unknown["detail"]
    bounds = _problem(
        client.post(
            "/api/v1/analysis/technical",
            json={"symbol": "SPX", "indicators": [{"name": "rsi", "params": {"timeperiod": 0}}]},
        ),
        422,
    )
    assert bounds["errors"][0]["location"] == "rsi.timeperiod"
    short = _problem(
        client.post(
            "/api/v1/analysis/technical",
            json={"symbol": "SPX", "indicators": [{"name": "sma", "params": {"timeperiod": 9000}}]},
        ),
        422,
    )
    assert "needs at least 9000" in short["errors"][0]["reason"]
    _problem(
        client.post(
            "/api/v1/analysis/technical", json={"symbol": "SPY", "indicators": [{"name": "rsi"}]}
        ),
        404,
    )
    _problem(
        client.post("/api/v1/analysis/technical", json={"symbol": "SPX", "indicators": []}), 422
    )


def test_signals_have_explanations(client: TestClient, spx: dict[str, np.ndarray]) -> None:
    body = client.get(
        "/api/v1/analysis/signals/SPX", params={"since": "2018-01-01", "limit": 1000}
    ).json()
    assert body["count"] > 0
    timestamps = [event["ts"] for event in body["data"]]
    assert timestamps == sorted(timestamps, reverse=True)
    assert all(event["ts"] >= "2018-01-01" for event in body["data"])
    assert all(0 <= event["strength"] <= 1 and event["explanation"] for event in body["data"])
    # Independent check: the RSI(14) crossings below 30 during 2018, from TA-Lib.
    rsi = talib.RSI(spx["close"], 14)
    dates = sp500.load().index
    crosses = {
        str(dates[i].date())
        for i in range(1, len(rsi))
        if rsi[i - 1] >= 30 > rsi[i] and dates[i].year == 2018
    }
    oversold = {e["ts"][:10] for e in body["data"] if e["rule"] == "rsi_oversold"}
    assert oversold == crosses


def test_patterns(client: TestClient) -> None:
    body = client.get("/api/v1/analysis/patterns/SPX").json()
    assert body["levels"]
    assert body["last_close"] == 2506.850098
    assert {level["kind"] for level in body["levels"]} <= {"support", "resistance"}


def test_screen(client: TestClient, spx: dict[str, np.ndarray]) -> None:
    body = client.post(
        "/api/v1/analysis/screen",
        json={"expression": "rsi(14) < 50", "universe": ["SPX", "IXIC", "NOPE"]},
    ).json()
    expected_spx = talib.RSI(spx["close"], 14)[-1]
    assert expected_spx < 50
    spx_match = next(m for m in body["matches"] if m["symbol"] == "SPX")
    assert spx_match["values"]["rsi(14)"] == pytest.approx(expected_spx, rel=1e-12)
    assert {"symbol": "NOPE", "reason": "unknown symbol"} in body["skipped"]


def test_screen_errors_point_at_the_mistake(client: TestClient) -> None:
    body = _problem(
        client.post("/api/v1/analysis/screen", json={"expression": "close > sma(200"}), 422
    )
    assert body["position"] == 15
    assert "^" in body["caret"]
    body = _problem(
        client.post("/api/v1/analysis/screen", json={"expression": "rsl(14) < 30"}), 422
    )
    assert "did you mean rsi" in body["detail"]
    body = _problem(
        client.post("/api/v1/analysis/screen", json={"expression": "rsi(1000000) < 30"}), 422
    )
    assert "timeperiod" in body["detail"]
    _problem(client.post("/api/v1/analysis/screen", json={"expression": "__import__('os')"}), 422)
