"""Backtest routes: submit, follow, read results and the tear sheet; bad input is a 4xx."""

from __future__ import annotations

import time
from typing import Any

import arch.data.sp500
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from quantdesk.api.security import REPORT_CSP
from quantdesk.domain.backtests import BacktestRun, RunStatus
from quantdesk.runtime import Runtime

SPEC = {
    "strategy": "sma_cross",
    "symbols": ["SPX"],
    "params": {"fast": 20, "slow": 50},
    "start": "2004-01-01",
    "end": "2010-01-01",
    "capital": 100_000,
}


def _wait(client: TestClient, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/v1/analysis/backtest/{run_id}").json()
        if body["status"] in ("succeeded", "failed", "interrupted"):
            return body
        assert 0.0 <= body["progress"] <= 1.0
        assert time.monotonic() < deadline, f"run still {body['status']} after {timeout} s"
        time.sleep(0.2)


def _reference_entries() -> list[tuple[pd.Timestamp, float]]:
    """SMA(20)/SMA(50) up-crossings on the S&P 500, computed with pandas from arch's frame;
    each entry fills at the next bar's open."""
    frame = arch.data.sp500.load().loc["2004-01-01":"2009-12-31"]
    close = frame["Close"]
    fast, slow = close.rolling(20).mean(), close.rolling(50).mean()
    above = fast > slow
    crossed = above & ~above.shift(1, fill_value=True) & slow.shift(1).notna()
    entries = []
    positions = [frame.index.get_loc(ts) for ts in crossed[crossed].index]
    for i in positions:
        if i + 1 < len(frame):
            entries.append((frame.index[i + 1], float(frame["Open"].iloc[i + 1])))
    return entries


@pytest.fixture(scope="module")
def finished(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/v1/analysis/backtest", json=SPEC)
    assert response.status_code == 202, response.text
    run = response.json()
    assert response.headers["location"] == f"/api/v1/analysis/backtest/{run['id']}"
    assert run["status"] in ("queued", "running", "succeeded")
    return _wait(client, run["id"])


def test_strategies_lists_typed_parameters(client: TestClient) -> None:
    response = client.get("/api/v1/analysis/strategies")
    assert response.status_code == 200
    strategies = {s["name"]: s for s in response.json()["strategies"]}
    assert {"sma_cross", "rsi_reversion", "fixed_weight_rebalance"} <= strategies.keys()
    fast = strategies["sma_cross"]["params"]["properties"]["fast"]
    assert fast["default"] == 10
    assert fast["minimum"] == 1


def test_backtest_runs_in_the_background_and_matches_pandas_crossovers(
    finished: dict[str, Any],
) -> None:
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["progress"] == 1.0
    assert finished["spec"]["params"] == {"fast": 20, "slow": 50, "weight": 0.95}
    assert finished["spec"]["start"] == "2004-01-02"  # pinned to the first bar used
    assert len(finished["spec_hash"]) == 64
    result = finished["result"]
    entries = [(pd.Timestamp(t["entry_ts"]), t["entry_price"]) for t in result["trades"]]
    reference = _reference_entries()
    assert len(entries) == len(reference) > 5
    for (ts, price), (ref_ts, ref_price) in zip(entries, reference, strict=True):
        assert ts.date() == ref_ts.date()
        assert price == pytest.approx(ref_price, rel=1e-12)
    equity = result["daily_equity"]
    assert equity[-1]["equity"] == pytest.approx(result["final_equity"])
    metrics = finished["metrics"]
    assert metrics["total_return"] == pytest.approx(result["final_equity"] / 100_000 - 1)
    assert metrics["trades"] == sum(1 for t in result["trades"] if t["exit_ts"] is not None)


def test_report_is_self_contained_html_with_its_own_policy(
    client: TestClient, finished: dict[str, Any]
) -> None:
    response = client.get(finished["report_url"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == REPORT_CSP
    assert "<svg" in response.text
    assert "<script" not in response.text


def test_identical_spec_reuses_the_stored_result(
    client: TestClient, finished: dict[str, Any]
) -> None:
    again = client.post("/api/v1/analysis/backtest", json={**SPEC, "symbols": ["spx"]})
    assert again.status_code == 202
    body = _wait(client, again.json()["id"])
    assert body["status"] == "succeeded"
    assert body["spec_hash"] == finished["spec_hash"]
    assert body["reused"] is True
    assert body["metrics"] == finished["metrics"]


def test_list_shows_the_callers_runs(client: TestClient, finished: dict[str, Any]) -> None:
    runs = client.get("/api/v1/analysis/backtest", params={"limit": 200}).json()["runs"]
    assert finished["id"] in {run["id"] for run in runs}
    assert all(run["result"] is None for run in runs)


@pytest.mark.parametrize(
    ("changes", "status", "where"),
    [
        ({"strategy": "moon_phase"}, 422, "strategy"),
        ({"params": {"fats": 3}}, 422, "params"),
        ({"params": {"fast": 60, "slow": 50}}, 422, "params"),
        ({"symbols": ["NOPE"]}, 404, None),
        ({"start": "1980-01-01", "end": "1981-01-01"}, 422, "symbols"),
        ({"start": "2010-01-01", "end": "2009-01-01"}, 422, "body"),
        ({"capital": -1}, 422, "capital"),
        ({"symbols": []}, 422, "symbols"),
        ({"fee": {"kind": "percent", "rate": 2}}, 422, "rate"),
        ({"benchmark": "NOPE"}, 404, None),
    ],
)
def test_bad_backtests_are_4xx_naming_the_problem(
    client: TestClient, changes: dict[str, Any], status: int, where: str | None
) -> None:
    response = client.post("/api/v1/analysis/backtest", json={**SPEC, **changes})
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["detail"]
    if where is not None:
        locations = [f"{e['location']} {e['field']}" for e in problem["errors"]]
        assert any(where in text for text in locations), problem


def test_unknown_run_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/analysis/backtest/bt_nope").status_code == 404
    assert client.get("/api/v1/analysis/backtest/bt_nope/report").status_code == 404


def test_runs_left_unfinished_are_marked_interrupted(
    client: TestClient, api_runtime: Runtime, finished: dict[str, Any]
) -> None:
    from quantdesk.db.backtests import SqlBacktestStore

    store = SqlBacktestStore(api_runtime.engine)
    template = store.get_run(finished["id"])
    assert template is not None
    stale = BacktestRun(
        id="bt_stale",
        owner_id=template.owner_id,
        strategy=template.strategy,
        symbols=template.symbols,
        spec=template.spec,
        spec_hash=template.spec_hash,
        status=RunStatus.RUNNING,
        created_at=template.created_at,
    )
    store.add_run(stale)
    assert api_runtime.recover() >= 1
    body = client.get("/api/v1/analysis/backtest/bt_stale").json()
    assert body["status"] == "interrupted"
    assert body["report_url"] is None
    assert "stopped" in body["error"]
