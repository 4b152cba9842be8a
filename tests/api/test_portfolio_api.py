"""Portfolio routes through the ASGI app, on real bundled history (``sp500-20`` closes from
``skfolio``, the S&P 500 index from ``arch``).

Every bad input must come back as a 4xx problem naming the field (and the row for imports).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from skfolio.datasets import load_sp500_dataset

PROBLEM = "application/problem+json"
IMPORTS = Path(__file__).parents[1] / "fixtures" / "imports"
API = "/api/v1/portfolio"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


def _errors(body: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(e["location"], e["field"]) for e in body["errors"]}


def _create(client: TestClient, **settings: Any) -> str:
    body = {"name": f"p-{uuid.uuid4().hex[:8]}", **settings}
    response = client.post(API, json=body)
    assert response.status_code == 201, response.text
    pid: str = response.json()["id"]
    return pid


def _tx(client: TestClient, pid: str, **fields: Any) -> Any:
    return client.post(f"{API}/{pid}/transaction", json=fields)


def _upload(
    client: TestClient, pid: str, name: str, content: bytes | None = None, **params: Any
) -> Any:
    data = content if content is not None else (IMPORTS / name).read_bytes()
    return client.post(
        f"{API}/{pid}/import", files={"file": (name, data, "text/csv")}, params=params
    )


# --------------------------------------------------------------------------- portfolios


def test_create_read_update_list_delete(client: TestClient) -> None:
    name = f"core-{uuid.uuid4().hex[:6]}"
    created = client.post(API, json={"name": name, "benchmark_symbol": "spx"})
    assert created.status_code == 201
    body = created.json()
    assert (body["benchmark_symbol"], body["base_currency"], body["lot_method"]) == (
        "SPX",
        "USD",
        "fifo",
    )
    pid = body["id"]
    assert client.get(f"{API}/{pid}").json()["name"] == name
    updated = client.patch(f"{API}/{pid}", json={"benchmark_symbol": None, "lot_method": "lifo"})
    assert updated.status_code == 200
    assert (updated.json()["benchmark_symbol"], updated.json()["lot_method"]) == (None, "lifo")
    kept = client.patch(f"{API}/{pid}", json={"allow_short": True}).json()
    assert (kept["name"], kept["lot_method"], kept["allow_short"]) == (name, "lifo", True)
    listed = client.get(API, params={"limit": 1000}).json()
    assert pid in {p["id"] for p in listed["data"]}
    assert listed["count"] >= 1
    _problem(client.post(API, json={"name": name}), 409)
    assert client.delete(f"{API}/{pid}").status_code == 204
    _problem(client.get(f"{API}/{pid}"), 404)


def test_bad_portfolio_settings_name_the_field(client: TestClient) -> None:
    body = _problem(client.post(API, json={"name": "x", "base_currency": "ABC"}), 422)
    assert _errors(body) == {("base_currency", "base_currency")}
    body = _problem(client.post(API, json={"name": "x", "benchmark_symbol": "NOPE"}), 422)
    assert _errors(body) == {("benchmark_symbol", "benchmark_symbol")}
    body = _problem(client.post(API, json={"name": "x", "lot_method": "random"}), 422)
    assert body["errors"][0]["location"] == "body.lot_method"
    _problem(client.post(API, json={"name": "x", "extra": 1}), 422)


def test_other_users_get_404_and_admins_see_it(
    client: TestClient, admin_client: TestClient, app: Any, accounts: dict[str, Any]
) -> None:
    pid = _create(client)
    with TestClient(app, headers=accounts["other"].headers) as other:
        _problem(other.get(f"{API}/{pid}"), 404)
        _problem(other.get(f"{API}/{pid}/transactions"), 404)
        _problem(
            _tx(other, pid, type="deposit", trade_date="2020-01-02", quantity="1", price="5"), 404
        )
    assert admin_client.get(f"{API}/{pid}").status_code == 200
    mine = admin_client.get(API, params={"all_users": True, "limit": 1000}).json()
    assert pid in {p["id"] for p in mine["data"]}
    audit = admin_client.get("/api/v1/audit", params={"target": f"portfolio:{pid}"}).json()
    assert [e["action"] for e in audit["data"]] == ["portfolio.create"]


# --------------------------------------------------------------------------- transactions


def test_decimal_amounts_round_trip_exactly(client: TestClient) -> None:
    pid = _create(client)
    posted = _tx(
        client, pid, type="deposit", trade_date="2020-01-02", quantity="1", price="123.456789"
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["price"] == "123.456789"
    bought = _tx(
        client,
        pid,
        type="buy",
        trade_date="2020-01-02",
        symbol="aapl",
        quantity="0.000000000001",
        price="98765432109876.123456789012",
        fees=2,
    )
    assert bought.status_code == 201, bought.text
    listed = client.get(f"{API}/{pid}/transactions").json()
    assert listed["count"] == 2
    first, second = listed["data"]
    assert (first["price"], first["amount"], first["cash_effect"]) == ("123.456789",) * 3
    assert (second["symbol"], second["quantity"], second["price"], second["fees"]) == (
        "AAPL",
        "0.000000000001",
        "98765432109876.123456789012",
        "2",
    )
    # amount = 1e-12 x price, exactly; the cash effect subtracts the fee too.
    assert Decimal(second["amount"]) == Decimal("0.000000000001") * Decimal(
        "98765432109876.123456789012"
    )
    assert "E" not in second["amount"]
    paged = client.get(f"{API}/{pid}/transactions", params={"offset": 1, "limit": 1}).json()
    assert [t["id"] for t in paged["data"]] == [second["id"]]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"quantity": 1.5}, ("body.quantity", None)),
        ({"quantity": "1e3"}, ("body.quantity", None)),
        ({"price": "1.1234567890123"}, ("transaction", "price")),
        ({"symbol": "NOPE"}, ("transaction", "symbol")),
        ({"trade_date": "2999-01-01"}, ("transaction", "trade_date")),
        ({"trade_date": "2020-02-30"}, ("body.trade_date", None)),
        ({"type": "gift"}, ("body.type", None)),
        ({"quantity": "5"}, ("transaction", "quantity")),  # sells more than held
        ({"currency": "EUR"}, ("transaction", "currency")),  # AAPL is priced in USD
        ({"quantity": "-1"}, ("transaction", "quantity")),
    ],
)
def test_bad_transactions_are_422_naming_the_field(
    client: TestClient, fields: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    pid = _create(client)
    base = {"type": "sell", "trade_date": "2020-01-02", "symbol": "AAPL", "quantity": "1"}
    body = _problem(_tx(client, pid, **{**base, "price": "10", **fields}), 422)
    assert expected in _errors(body)
    assert client.get(f"{API}/{pid}/transactions").json()["count"] == 0


# --------------------------------------------------------------------------- imports


def test_import_dry_run_commit_and_skip_bad_rows(client: TestClient) -> None:
    pid = _create(client)
    # SAP (row 4) is not a known instrument; everything else in the file is fine.
    preview = _upload(client, pid, "generic_good.csv", dry_run=True)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["rows_read"], body["rows_ok"], body["rows_bad"], body["written"]) == (10, 9, 1, 0)
    assert body["committable"] is False
    assert [(i["row"], i["field"]) for i in body["issues"]] == [(4, "symbol")]
    assert client.get(f"{API}/{pid}/transactions").json()["count"] == 0

    refused = _problem(_upload(client, pid, "generic_good.csv"), 422)
    assert ("row 4", "symbol") in _errors(refused)
    assert client.get(f"{API}/{pid}/transactions").json()["count"] == 0

    done = _upload(client, pid, "generic_good.csv", skip_bad_rows=True).json()
    assert (done["written"], done["rows_bad"]) == (9, 1)
    assert [r["row"] for r in done["transactions"]] == [2, 3, 5, 6, 7, 8, 9, 10, 11]
    listed = client.get(f"{API}/{pid}/transactions").json()
    assert listed["count"] == 9
    assert listed["data"][1]["price"] == "185.64"
    held = client.get(f"{API}/{pid}/holdings").json()
    # AAPL: 10 bought, split 2-for-1 -> 20, 8 sold -> 12; MSFT: 3 transferred in.
    assert {line["symbol"]: line["quantity"] for line in held["lines"]} == {
        "AAPL": "12",
        "MSFT": "3",
    }


def test_import_reports_every_bad_row(client: TestClient) -> None:
    pid = _create(client)
    body = _upload(client, pid, "generic_bad.csv", dry_run=True).json()
    assert body["rows_ok"] == 2
    assert {(i["row"], i["field"]) for i in body["issues"]} == {
        (3, "date"),
        (4, "type"),
        (5, "symbol"),
        (6, "quantity"),
        (6, "currency"),
        (9, "price"),
        (11, "quantity"),
        (12, "price"),
    }
    refused = _problem(_upload(client, pid, "generic_bad.csv"), 422)
    assert len(refused["errors"]) == 8


def test_schwab_import_preview(client: TestClient) -> None:
    pid = _create(client)
    body = _upload(client, pid, "schwab_transactions.csv", preset="schwab", dry_run=True).json()
    # Lines 7, 8 and 11 are about SCHD, which is not a stored instrument; line 14 is the total.
    assert (body["rows_read"], body["rows_ignored"]) == (12, 1)
    assert sorted({i["row"] for i in body["issues"]}) == [7, 8, 11]
    assert {i["field"] for i in body["issues"]} == {"symbol"}
    sale = next(r for r in body["transactions"] if r["row"] == 4)["transaction"]
    assert (sale["type"], sale["trade_date"], sale["price"], sale["fees"]) == (
        "sell",
        "2024-06-13",
        "441.58",
        "0.03",
    )


def test_bad_uploads_are_4xx(client: TestClient) -> None:
    pid = _create(client)
    _problem(client.post(f"{API}/{pid}/import"), 422)  # no file
    body = _problem(_upload(client, pid, "x.csv", b"\xff\xfe\x00bad"), 422)
    assert "UTF-8" in body["detail"]
    body = _problem(_upload(client, pid, "x.csv", b"when,what\n2024-01-02,deposit\n"), 422)
    assert {e["field"] for e in body["errors"]} >= {"date", "type", "quantity"}
    _problem(_upload(client, pid, "generic_good.csv", preset="fidelity"), 422)


# --------------------------------------------------------------------------- analytics


@pytest.fixture(scope="module")
def real_portfolio(client: TestClient) -> tuple[str, dict[str, int]]:
    """A portfolio bought at real 2016-01-04 closes (rounded to the cent), SPX benchmark."""
    closes = load_sp500_dataset().loc["2016-01-04"]
    pid = _create(client, benchmark_symbol="SPX")
    shares = {"AAPL": 300, "JPM": 100, "KO": 150}
    rows = [{"type": "deposit", "trade_date": "2016-01-04", "quantity": "1", "price": "30000"}]
    rows += [
        {
            "type": "buy",
            "trade_date": "2016-01-04",
            "symbol": symbol,
            "quantity": str(count),
            "price": f"{closes[symbol]:.2f}",
        }
        for symbol, count in shares.items()
    ]
    for row in rows:
        assert _tx(client, pid, **row).status_code == 201
    return pid, shares


def test_holdings_at_the_latest_real_close(
    client: TestClient, real_portfolio: tuple[str, dict[str, int]]
) -> None:
    pid, shares = real_portfolio
    body = client.get(f"{API}/{pid}/holdings").json()
    last = load_sp500_dataset().iloc[-1]
    lines = {line["symbol"]: line for line in body["lines"]}
    for symbol, count in shares.items():
        assert lines[symbol]["price"] == repr(float(last[symbol]))
        assert Decimal(lines[symbol]["market_value"]) == count * Decimal(repr(float(last[symbol])))
        assert lines[symbol]["price_time"].startswith("2022-12-28")
    assert body["synthetic"] is False
    assert Decimal(body["totals"]["total_value"]) == Decimal(
        body["totals"]["market_value"]
    ) + Decimal(body["totals"]["cash"])


def test_performance_matches_the_closes(
    client: TestClient, real_portfolio: tuple[str, dict[str, int]]
) -> None:
    pid, shares = real_portfolio
    body = client.get(f"{API}/{pid}/performance").json()
    prices = load_sp500_dataset()
    start = prices.loc["2016-01-04"]
    cost = sum(count * round(float(start[s]), 2) for s, count in shares.items())
    cash = 30_000 - cost
    end = prices.iloc[-1]
    value = cash + sum(count * float(end[s]) for s, count in shares.items())
    # One deposit at the start and nothing after: the TWR is the value over the deposit.
    assert body["time_weighted_return"] == pytest.approx(value / 30_000 - 1, rel=1e-9)
    assert (body["start"], body["end"]) == ("2016-01-04", "2022-12-28")
    assert body["series"][-1]["total_value"] == pytest.approx(value, rel=1e-12)
    periods = {p["period"]: p for p in body["periods"]}
    assert periods["5Y"]["available"] is True
    assert periods["max"]["annualized_return"] is not None
    benchmark = body["benchmark"]
    assert benchmark["symbol"] == "SPX"
    assert benchmark["as_of"] == "2018-12-31"  # the index history ends there
    assert "2018-12-31" in benchmark["note"]
    sectors = {s["name"] for s in body["allocation"]["by_sector"]}
    assert sectors == {"Information Technology", "Financials", "Consumer Staples", "cash"}
    brief = client.get(f"{API}/{pid}/performance", params={"series": False}).json()
    assert brief["series"] is None


def test_optimize_and_rebalance(
    client: TestClient, real_portfolio: tuple[str, dict[str, int]]
) -> None:
    pid, shares = real_portfolio
    result = client.post(f"{API}/{pid}/optimize", json={"method": "min_variance"})
    assert result.status_code == 200, result.text
    body = result.json()
    assert {w["symbol"] for w in body["weights"]} == set(shares)
    assert sum(w["weight"] for w in body["weights"]) == pytest.approx(1.0, abs=1e-6)
    assert (body["observations"], body["end"]) == (756, "2022-12-28")
    plan = client.post(
        f"{API}/{pid}/rebalance", json={"optimize": {"method": "hrp"}, "options": {"cost_bps": "5"}}
    )
    assert plan.status_code == 200, plan.text
    planned = plan.json()
    assert planned["optimization"]["solver_status"] == "closed_form"
    assert all(isinstance(t["notional"], str) for t in planned["trades"])
    cash = Decimal(planned["residual_cash"])
    assert cash >= 0
    given = client.post(
        f"{API}/{pid}/rebalance", json={"target_weights": {"AAPL": 0.5, "MSFT": 0.3}}
    )
    assert given.status_code == 200, given.text
    sides = {t["symbol"]: t["side"] for t in given.json()["trades"]}
    assert sides["MSFT"] == "buy"
    assert sides["JPM"] == "sell"  # not in the targets: sold


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("optimize", {"symbols": ["AAPL"]}, None),  # at least two (schema)
        ("optimize", {"constraints": {"weight_bounds": [0.0, 0.1]}}, "constraints.weight_bounds"),
        ("optimize", {"method": "target_return", "target_return": 5.0}, "target_return"),
        ("optimize", {"lookback": 10}, None),
        ("optimize", {"risk_free_rate": "nan"}, None),
        ("rebalance", {}, "target_weights"),
        ("rebalance", {"target_weights": {"AAPL": 0.8, "JPM": 0.8}}, "target_weights"),
        ("rebalance", {"target_weights": {"AAPL": 1.5}}, None),
        ("rebalance", {"target_weights": {"NOPE": 0.5}}, "NOPE"),
    ],
)
def test_bad_optimize_and_rebalance_requests(
    client: TestClient,
    real_portfolio: tuple[str, dict[str, int]],
    path: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    pid, _ = real_portfolio
    problem = _problem(client.post(f"{API}/{pid}/{path}", json=body), 422)
    if field is not None:
        assert any(field in (e["location"], e["field"]) for e in problem["errors"]), problem


def test_analytics_errors_are_explained(client: TestClient) -> None:
    pid = _create(client)
    body = _problem(client.get(f"{API}/{pid}/performance"), 422)
    assert "no transactions yet" in body["detail"]
    assert (
        _tx(
            client,
            pid,
            type="deposit",
            trade_date="2020-01-02",
            quantity="1",
            price="100",
            currency="EUR",
        ).status_code
        == 201
    )
    body = _problem(client.get(f"{API}/{pid}/holdings"), 422)
    assert _errors(body) == {("fx_rates", "EUR")}
    assert "EUR" in body["detail"]
    late = _create(client)
    _upload(client, late, "generic_good.csv", skip_bad_rows=True)
    body = _problem(client.get(f"{API}/{late}/performance"), 422)
    assert (
        "AAPL has no daily closes from 2024-01-02 on (its prices end on 2022-12-28)"
        in body["detail"]
    )
    _problem(client.post(f"{API}/{pid}/optimize", json={}), 422)
