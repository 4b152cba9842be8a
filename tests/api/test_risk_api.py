"""Risk routes over real bundled history, checked against empyrical/quantstats and by hand."""

from __future__ import annotations

import math
from datetime import date

import arch.data.sp500
import empyrical
import numpy as np
import pandas as pd
import pytest
from auth_helpers import Account
from fastapi.testclient import TestClient
from skfolio.datasets import load_sp500_dataset

WEIGHTS = {"AAPL": 0.4, "JPM": 0.35, "XOM": 0.25}
START, END = date(2015, 1, 2), date(2019, 12, 31)


def _reference_portfolio_returns() -> pd.Series:
    """The same portfolio computed straight from skfolio's frame (not through quantdesk)."""
    prices = load_sp500_dataset()[list(WEIGHTS)]
    prices = prices.loc[pd.Timestamp(START) : pd.Timestamp(END)].dropna()
    returns = prices.pct_change().iloc[1:]
    return returns @ pd.Series(WEIGHTS)


def test_calculate_matches_empyrical_on_real_history(client: TestClient) -> None:
    response = client.post(
        "/api/v1/risk/calculate",
        json={
            "weights": WEIGHTS,
            "start": START.isoformat(),
            "end": END.isoformat(),
            "lookback_days": None,
            "confidence": 0.95,
            "methods": ["historical", "parametric", "mc_normal"],
            "portfolio_value": 1_000_000,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    reference = _reference_portfolio_returns()
    assert body["observations"] == len(reference)
    by_method = {v["method"]: v for v in body["var"]}
    # empyrical's historical VaR is the 5th percentile (a signed return); ours a positive loss.
    expected_var = -empyrical.value_at_risk(reference.to_numpy(), cutoff=0.05)
    assert by_method["historical"]["var"] == pytest.approx(expected_var, rel=1e-9)
    assert by_method["historical"]["var_amount"] == pytest.approx(expected_var * 1e6, rel=1e-9)
    assert body["metrics"]["sharpe"] == pytest.approx(
        empyrical.sharpe_ratio(reference.to_numpy()), rel=1e-9
    )
    assert body["metrics"]["max_drawdown"] == pytest.approx(
        -empyrical.max_drawdown(reference.to_numpy()), rel=1e-9
    )
    # Monte Carlo normal VaR lands near the parametric value (sampling error only).
    assert by_method["mc_normal"]["var"] == pytest.approx(by_method["parametric"]["var"], rel=0.05)
    # Euler components add up to the parametric VaR.
    total = sum(c["component_var"] for c in body["components"])
    assert total == pytest.approx(by_method["parametric"]["var"], rel=1e-9)
    assert body["synthetic"] == []
    assert set(body["correlation"]) == set(WEIGHTS)
    assert body["correlation"]["AAPL"]["AAPL"] == pytest.approx(1.0)


def test_stress_replays_the_gfc_on_the_real_index(client: TestClient) -> None:
    response = client.post(
        "/api/v1/risk/stress-test",
        json={
            "weights": {"SPX": 1.0},
            "scenarios": ["gfc_2008"],
            "shocks": {"asset_class:index": -0.2},
            "portfolio_value": 100_000,
        },
    )
    assert response.status_code == 200, response.text
    gfc = response.json()["historical"][0]
    # By hand from arch's own frame: closes on 2007-10-09 and 2009-03-09.
    closes = arch.data.sp500.load()["Adj Close"]
    expected = closes.loc["2009-03-09"] / closes.loc["2007-10-09"] - 1
    assert gfc["portfolio_return"] == pytest.approx(expected, rel=1e-9)
    assert gfc["pnl_amount"] == pytest.approx(expected * 100_000, rel=1e-9)
    assert gfc["positions"][0]["source"] == "own history"
    shock = response.json()["shocks"]
    assert shock["portfolio_return"] == pytest.approx(-0.2)


def test_stress_reports_uncovered_positions(client: TestClient) -> None:
    # The synthetic market has no history in 2008; with no proxy it is not covered.
    response = client.post(
        "/api/v1/risk/stress-test",
        json={"weights": {"SYN-IDX": 1.0}, "scenarios": ["gfc_2008"], "proxies": {}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["historical"][0]["not_covered"] == ["SYN-IDX"]


def test_monte_carlo_zero_volatility_is_deterministic(client: TestClient) -> None:
    response = client.post(
        "/api/v1/risk/monte-carlo",
        json={
            "initial_value": 10_000,
            "periods": 3,
            "expected_return": 0.01,
            "volatility": 0.0,
            "contribution": 1_000,
            "goal": 13_000,
            "n_paths": 200,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # 10,000 -> 10,100 + 1,000 = 11,100 -> 11,211 + 1,000 = 12,211 -> 12,333.11 + 1,000
    assert body["bands"]["p50"][-1] == pytest.approx(13_333.11)
    assert body["probability_goal_at_end"] == 1.0


def test_monte_carlo_bootstraps_history(client: TestClient) -> None:
    response = client.post(
        "/api/v1/risk/monte-carlo",
        json={"initial_value": 100, "periods": 20, "weights": WEIGHTS, "floor": 80},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == "bootstrap"
    assert body["bands"]["p5"][-1] < body["bands"]["p50"][-1] < body["bands"]["p95"][-1]


def test_position_size_fixed_fractional_and_risk_parity(client: TestClient) -> None:
    sized = client.post(
        "/api/v1/risk/position-size",
        json={
            "method": "fixed_fractional",
            "equity": 100_000,
            "entry_price": 50,
            "stop_price": 48,
            "risk_fraction": 0.01,
        },
    ).json()
    # Risk 1% of 100,000 = 1,000; 2 per share at the stop -> 500 shares.
    assert sized["quantity"] == 500
    assert sized["notional"] == 25_000
    parity = client.post(
        "/api/v1/risk/position-size",
        json={"method": "risk_parity", "symbols": ["AAPL", "KO", "XOM"], "lookback_days": 500},
    ).json()
    contributions = list(parity["risk_contributions"].values())
    assert math.isclose(sum(parity["weights"].values()), 1.0)
    assert np.allclose(contributions, contributions[0], rtol=1e-6)


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("/api/v1/risk/calculate", {"weights": {"NOPE": 1.0}}, None),
        ("/api/v1/risk/calculate", {"weights": WEIGHTS, "confidence": 0.05}, "confidence"),
        ("/api/v1/risk/calculate", {}, "body"),
        ("/api/v1/risk/stress-test", {"weights": WEIGHTS, "shocks": {"planet:mars": -1}}, None),
        ("/api/v1/risk/monte-carlo", {"initial_value": 1, "periods": 5}, "expected_return"),
        (
            "/api/v1/risk/position-size",
            {"method": "atr", "equity": 1e5, "entry_price": 10, "symbol": "AAPL"},
            "symbol",
        ),
        (
            "/api/v1/risk/position-size",
            {"method": "fixed_fractional", "equity": 1e5, "entry_price": 10, "stop_price": 12},
            None,
        ),
    ],
)
def test_bad_risk_requests_are_4xx_naming_the_problem(
    client: TestClient, path: str, body: dict[str, object], location: str | None
) -> None:
    response = client.post(path, json=body)
    assert response.status_code in (404, 422), response.text
    problem = response.json()
    assert problem["detail"]
    if location is not None:
        assert any(location in e["location"] for e in problem["errors"]), problem


def test_risk_of_an_owned_portfolio_uses_its_current_weights(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    created = client.post("/api/v1/portfolio", json={"name": "risk-weights"})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    rows = [
        {"type": "deposit", "trade_date": "2020-01-02", "quantity": "1", "price": "10000"},
        {
            "type": "buy",
            "trade_date": "2020-01-02",
            "symbol": "KO",
            "quantity": "100",
            "price": "54.69",
        },
    ]
    for row in rows:
        assert client.post(f"/api/v1/portfolio/{pid}/transaction", json=row).status_code == 201
    holdings = client.get(f"/api/v1/portfolio/{pid}/holdings").json()
    response = client.post(
        "/api/v1/risk/calculate", json={"portfolio_id": pid, "methods": ["historical"]}
    )
    assert response.status_code == 200, response.text
    ko_line = next(line for line in holdings["lines"] if line["symbol"] == "KO")
    assert response.json()["weights"] == {"KO": pytest.approx(ko_line["weight"])}
    other = client.post(
        "/api/v1/risk/calculate",
        json={"portfolio_id": pid},
        headers=accounts["other"].headers,
    )
    assert other.status_code == 404
    both = client.post("/api/v1/risk/calculate", json={"portfolio_id": pid, "weights": {"KO": 1}})
    assert both.status_code == 422
