"""Holdings and P&L in the base currency, worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.domain.portfolio import Transaction, TransactionType
from quantdesk.portfolio import LedgerState, holdings, replay

D = Decimal
T = TransactionType


def _state() -> LedgerState:
    rows = [
        Transaction.cash(T.DEPOSIT, date(2024, 1, 2), "10000"),
        Transaction(T.BUY, date(2024, 1, 3), "AAPL", D(10), D(150), D(1)),
        Transaction(T.SELL, date(2024, 2, 1), "AAPL", D(4), D(170), D(1)),
        Transaction.cash(T.DEPOSIT, date(2024, 1, 2), "5000", currency="EUR"),
        Transaction(T.BUY, date(2024, 1, 4), "SAP", D(20), D(100), D(0), "EUR"),
        Transaction.cash(T.DIVIDEND, date(2024, 3, 1), "30", symbol="SAP", currency="EUR"),
        Transaction(T.SELL, date(2024, 3, 5), "TSLA", D(5), D(200), D(0)),  # short
        Transaction(T.BUY, date(2024, 1, 5), "MSFT", D(1), D(300), D(0)),
        Transaction(T.SELL, date(2024, 1, 6), "MSFT", D(1), D(310), D(0)),  # closed, +10
    ]
    return replay(rows, base_currency="USD", allow_short=True)


PRICES = {"AAPL": D(160), "SAP": "110", "tsla": 180}
FX = {"EUR": D("1.10")}


def test_holdings_hand_worked() -> None:
    report = holdings(_state(), PRICES, fx_rates=FX)
    assert [line.symbol for line in report.lines] == ["AAPL", "SAP", "TSLA"]
    aapl, sap, tsla = report.lines
    # AAPL: bought 10 @ 150 + 1 = 1501; sold 4 @ 170 - 1 = 679 against 1501 * 4/10 = 600.40
    # -> realised 78.60; 6 left costing 900.60, worth 6 * 160 = 960 -> unrealised 59.40
    assert (aapl.quantity, aapl.cost_basis, aapl.market_value) == (6, D("900.6"), 960)
    assert aapl.unrealized_pnl == D("59.4")
    assert aapl.realized_pnl_base == D("78.6")
    assert aapl.average_cost == D("150.1")
    assert aapl.unrealized_return == pytest.approx(59.4 / 900.6)
    # SAP in EUR at 1.10: cost 2000 EUR = 2200 USD, value 20 * 110 = 2200 EUR = 2420 USD,
    # unrealised 200 EUR = 220 USD, dividend 30 EUR = 33 USD
    assert (sap.currency, sap.fx_rate) == ("EUR", D("1.10"))
    assert (sap.market_value, sap.market_value_base) == (2200, D(2420))
    assert (sap.cost_basis_base, sap.unrealized_pnl_base, sap.income_base) == (2200, 220, 33)
    # TSLA short 5 @ 200: cost basis -1000 (credit), value -5 * 180 = -900 -> +100 unrealised
    assert (tsla.quantity, tsla.cost_basis, tsla.market_value) == (-5, -1000, -900)
    assert tsla.unrealized_pnl == 100
    assert tsla.unrealized_return == pytest.approx(0.1)
    # cash: USD 10000 - 1501 + 679 + 1000 - 300 + 310 = 10188; EUR 5000 - 2000 + 30 = 3030
    eur, usd = report.cash  # sorted by currency code
    assert (usd.currency, usd.balance, usd.value_base) == ("USD", 10188, 10188)
    assert (eur.currency, eur.balance, eur.value_base) == ("EUR", 3030, D(3333))
    totals = report.totals
    # market value 960 + 2420 - 900 = 2480; cash 10188 + 3333 = 13521; total 16001
    assert (totals.market_value, totals.cash, totals.total_value) == (2480, 13521, 16001)
    assert totals.cost_basis == D("2100.6")  # 900.60 + 2200 - 1000
    assert totals.unrealized_pnl == D("379.4")  # 59.40 + 220 + 100
    assert totals.realized_pnl == D("88.6")  # AAPL 78.60 + MSFT 10
    assert totals.income == 33
    assert totals.fees_paid == 2
    assert totals.contributions == D(15500)  # 10000 + 5000 * 1.10
    # every dollar is accounted for: contributions + realised + unrealised + income
    assert totals.total_value == (
        totals.contributions + totals.realized_pnl + totals.unrealized_pnl + totals.income
    )
    assert aapl.weight == pytest.approx(960 / 16001)
    assert tsla.weight == pytest.approx(-900 / 16001)
    weights = sum(line.weight for line in report.lines) + sum(c.weight for c in report.cash)
    assert weights == pytest.approx(1.0)
    assert report.line("aapl") is aapl
    with pytest.raises(KeyError):
        report.line("NOPE")


def test_holdings_can_list_closed_positions() -> None:
    report = holdings(_state(), PRICES, fx_rates=FX, include_closed=True)
    msft = report.line("MSFT")
    assert (msft.quantity, msft.price, msft.market_value, msft.realized_pnl_base) == (
        0,
        None,
        0,
        10,
    )
    assert msft.average_cost is None
    assert msft.unrealized_return is None


def test_holdings_in_another_base_currency() -> None:
    # base EUR: USD per EUR 1.10 -> EUR per USD 1 / 1.10; pass it as a string to stay exact
    report = holdings(_state(), PRICES, fx_rates={"USD": "0.8"}, base_currency="eur")
    assert report.base_currency == "EUR"
    assert report.line("AAPL").market_value_base == D(768)  # 960 * 0.8
    assert report.line("SAP").market_value_base == D(2200)


def test_floats_are_read_from_their_shortest_repr() -> None:
    report = holdings(_state(), {**PRICES, "AAPL": 160.1}, fx_rates={"EUR": 1.1})
    assert report.line("AAPL").price == D("160.1")
    assert report.line("SAP").fx_rate == D("1.1")


def test_missing_prices_and_rates_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        holdings(_state(), {"AAPL": D(1), "SAP": D(-1)}, fx_rates={})
    found = {(issue.location, issue.field) for issue in caught.value.issues}
    assert found == {("fx_rates", "EUR"), ("prices", "TSLA"), ("prices", "SAP")}
    reasons = " ".join(issue.reason for issue in caught.value.issues)
    assert "no rate for EUR; pass USD per 1 EUR" in reasons
    assert "no price for open position TSLA" in reasons
    assert "negative" in reasons
    with pytest.raises(ValidationError, match="finite"):
        holdings(_state(), {**PRICES, "AAPL": float("nan")}, fx_rates=FX)
    with pytest.raises(ValidationError, match="must be positive"):
        holdings(_state(), PRICES, fx_rates={"EUR": 0})


def test_empty_ledger_has_zero_weights() -> None:
    report = holdings(replay([]), {})
    assert report.lines == ()
    assert report.cash == ()
    assert report.totals.total_value == 0
