"""Performance: valuation, TWR, XIRR, period returns, benchmark and allocation, by hand.

Price series here are synthetic, constructed so every answer can be worked out by hand, except
in the last test, which uses real S&P 500 closes shipped with skfolio.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.domain.instruments import AssetClass, Instrument
from quantdesk.domain.portfolio import Transaction, TransactionType
from quantdesk.portfolio import (
    Period,
    allocation,
    benchmark_returns,
    compare_to_benchmark,
    daily_returns,
    holdings,
    money_weighted_return,
    period_returns,
    replay,
    time_weighted_return,
    valuation_series,
    xirr,
)

D = Decimal
T = TransactionType


def _npv(rate: float, flows: list[tuple[date, float]]) -> float:
    """Net present value, actual/365 from the first date (written independently)."""
    origin = min(day for day, _ in flows)
    return sum(amount / (1.0 + rate) ** ((day - origin).days / 365.0) for day, amount in flows)


# --------------------------------------------------------------------------- TWR and XIRR

DAYS = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08",
                       "2024-01-09"])  # fmt: skip
CLOSES = pd.DataFrame({"XYZ": [100.0, 110.0, 105.0, 120.0, 120.0, 126.0]}, index=DAYS)
FLOWS_LEDGER = [
    Transaction.cash(T.DEPOSIT, date(2024, 1, 2), "1000"),
    Transaction(T.BUY, date(2024, 1, 2), "XYZ", D(10), D(100)),
    Transaction.cash(T.DEPOSIT, date(2024, 1, 4), "500"),
    Transaction.cash(T.WITHDRAWAL, date(2024, 1, 8), "300"),
]


def test_valuation_and_twr_with_a_deposit_and_a_withdrawal() -> None:
    valuation = valuation_series(FLOWS_LEDGER, CLOSES)
    # 10 XYZ held throughout, cash 0 -> 500 (Jan 4) -> 200 (Jan 8)
    assert valuation["market_value"].tolist() == [1000, 1100, 1050, 1200, 1200, 1260]
    assert valuation["cash"].tolist() == [0, 0, 500, 500, 200, 200]
    assert valuation["total_value"].tolist() == [1000, 1100, 1550, 1700, 1400, 1460]
    assert valuation["net_flow"].tolist() == [1000, 0, 500, 0, -300, 0]
    returns = daily_returns(valuation)
    # flows at the start of the day: r_t = V_t / (V_{t-1} + F_t) - 1
    expected = [
        1000 / (0 + 1000) - 1,  # Jan 2: 0
        1100 / 1000 - 1,  # Jan 3: +10%
        1550 / (1100 + 500) - 1,  # Jan 4: -3.125%
        1700 / 1550 - 1,  # Jan 5: +9.677%
        1400 / (1700 - 300) - 1,  # Jan 8: 0
        1460 / 1400 - 1,  # Jan 9: +4.286%
    ]
    assert returns.tolist() == pytest.approx(expected, abs=1e-15)
    # linked: 1.1 * 0.96875 = 1.065625; * 1700/1550 = 1.16875; * 1460/1400 = 1.2188392857
    assert time_weighted_return(returns) == pytest.approx(0.21883928571428, abs=1e-12)
    # from the Jan 3 close to the Jan 5 close: 0.96875 * 1700/1550 - 1 = 0.0625
    assert time_weighted_return(returns, start=date(2024, 1, 3), end=date(2024, 1, 5)) == (
        pytest.approx(0.0625, abs=1e-12)
    )


def test_money_weighted_return_solves_the_investor_flows() -> None:
    valuation = valuation_series(FLOWS_LEDGER, CLOSES)
    rate = money_weighted_return(valuation)
    # investor: -1000 (Jan 2), -500 (Jan 4), +300 (Jan 8), +1460 ending value (Jan 9)
    flows = [
        (date(2024, 1, 2), -1000.0),
        (date(2024, 1, 4), -500.0),
        (date(2024, 1, 8), 300.0),
        (date(2024, 1, 9), 1460.0),
    ]
    assert abs(_npv(rate, flows)) < 1e-7
    assert rate > 0  # 260 gained on about 1,200 in a week
    # from the Jan 4 close: -1550 invested on Jan 4, +300 on Jan 8, +1460 on Jan 9
    window = money_weighted_return(valuation, start=date(2024, 1, 4))
    flows = [(date(2024, 1, 4), -1550.0), (date(2024, 1, 8), 300.0), (date(2024, 1, 9), 1460.0)]
    assert abs(_npv(window, flows)) < 1e-7


def test_xirr_two_flows_closed_form() -> None:
    # -1000 then +1210 after 731 days: (1 + r) ** (731/365) = 1.21
    rate = xirr([(date(2023, 1, 1), -1000), (date(2025, 1, 1), D(1210))])
    assert rate == pytest.approx(1.21 ** (365 / 731) - 1, abs=1e-12)


def test_xirr_three_annual_flows_quadratic() -> None:
    # -100, +60 after 365 days, +60 after 730: with v = 1/(1+r), 60 v^2 + 60 v - 100 = 0
    # v = (-60 + sqrt(60^2 + 4 * 60 * 100)) / 120 = (-60 + sqrt(27600)) / 120 = 0.884437...
    v = (-60 + math.sqrt(27600)) / 120
    flows = [(date(2021, 1, 1), -100.0), (date(2022, 1, 1), 60.0), (date(2023, 1, 1), 60.0)]
    rate = xirr(flows)
    assert rate == pytest.approx(1 / v - 1, abs=1e-12)  # 13.066%
    assert abs(_npv(rate, flows)) < 1e-9


def test_xirr_negative_rate_and_clear_errors() -> None:
    rate = xirr([(date(2023, 1, 1), -1000.0), (date(2024, 1, 1), 600.0)])
    assert rate == pytest.approx(-0.4, abs=1e-12)  # 365 days, 600 / 1000 - 1
    with pytest.raises(ValidationError, match="money in and money out") as caught:
        xirr([(date(2023, 1, 1), -1.0), (date(2024, 1, 1), -1.0)])
    assert caught.value.issues[0].location == "flows"
    # 100 - 300 v + 250 v^2 > 0 for every v: no rate makes the NPV zero
    with pytest.raises(ValidationError, match="does not change sign"):
        xirr([(date(2020, 1, 1), 100.0), (date(2021, 1, 1), -300.0), (date(2022, 1, 1), 250.0)])


def test_undefined_day_is_reported() -> None:
    # a buy without any deposit: no capital at the start of the day but a value at its end
    ledger = [Transaction(T.BUY, date(2024, 1, 2), "XYZ", D(10), D(100))]
    valuation = valuation_series(ledger, CLOSES)
    with pytest.raises(ValidationError, match="record the deposit") as caught:
        daily_returns(valuation)
    assert "2024-01-03" in caught.value.issues[0].reason


def test_securities_only_valuation_treats_cash_movements_as_flows() -> None:
    ledger = [
        Transaction(T.BUY, date(2024, 1, 2), "XYZ", D(10), D(100)),
        Transaction(T.SELL, date(2024, 1, 4), "XYZ", D(5), D(110)),
        Transaction.cash(T.DIVIDEND, date(2024, 1, 5), "5", symbol="XYZ"),
    ]
    closes = pd.DataFrame({"XYZ": [100.0, 110.0, 120.0, 120.0]}, index=DAYS[:4])
    valuation = valuation_series(ledger, closes, include_cash=False)
    assert valuation["cash"].tolist() == [0, 0, 0, 0]
    assert valuation["net_flow"].tolist() == [1000, 0, -550, -5]
    returns = daily_returns(valuation)
    # Jan 2: 1000/1000 - 1 = 0; Jan 3: 1100/1000 - 1 = 10%;
    # Jan 4: 5 * 120 = 600 on 1100 - 550 -> 600/550 - 1 = 9.09% (the stock's own 110 -> 120)
    # Jan 5: 600 / (600 - 5) - 1 = 0.84% (the dividend)
    assert returns.tolist() == pytest.approx([0, 0.1, 600 / 550 - 1, 600 / 595 - 1], abs=1e-15)
    # 20% price gain and a 5/600 dividend: 1.2 * 600/595 - 1
    assert time_weighted_return(returns) == pytest.approx(1.2 * 600 / 595 - 1, abs=1e-12)


def test_valuation_converts_fx_and_moves_weekend_transactions() -> None:
    ledger = [
        Transaction.cash(T.DEPOSIT, date(2023, 12, 30), "1000", currency="EUR"),  # a Saturday
        Transaction(T.BUY, date(2024, 1, 2), "SAP", D(10), D(100), D(0), "EUR"),
    ]
    closes = pd.DataFrame({"SAP": [100.0, 100.0, 110.0]}, index=DAYS[:3])
    fx = pd.DataFrame({"EUR": [1.1, 1.2]}, index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    valuation = valuation_series(ledger, closes, fx=fx)
    # the Saturday deposit counts on the next price date (Jan 2); Jan 4 reuses the 1.2 rate
    assert valuation.index[0] == pd.Timestamp("2024-01-02")
    assert valuation["net_flow"].tolist() == pytest.approx([1100, 0, 0])
    assert valuation["total_value"].tolist() == pytest.approx([1100, 1200, 1320])
    returns = daily_returns(valuation)
    assert returns.tolist() == pytest.approx([0, 1200 / 1100 - 1, 0.1])


def test_securities_transfer_flows_at_market_value() -> None:
    # transferred in with a cost basis of 50 a unit; the flow is the market value 10 * 100
    ledger = [Transaction(T.TRANSFER_IN, date(2024, 1, 2), "XYZ", D(10), D(50))]
    valuation = valuation_series(ledger, CLOSES.iloc[:2])
    assert valuation["net_flow"].tolist() == [1000, 0]
    assert daily_returns(valuation).tolist() == pytest.approx([0, 0.1])
    state = replay(ledger)
    assert state.positions["XYZ"].cost_basis == 500


def test_valuation_errors_name_what_is_missing() -> None:
    eur = [Transaction(T.BUY, date(2024, 1, 2), "SAP", D(1), D(1), D(0), "EUR")]
    with pytest.raises(ValidationError) as caught:
        valuation_series(eur, CLOSES.rename(columns={"XYZ": "SAP"}))
    assert (caught.value.issues[0].location, caught.value.issues[0].field) == ("fx", "EUR")
    with pytest.raises(ValidationError) as caught:
        valuation_series([Transaction(T.BUY, date(2024, 1, 2), "ABC", D(1), D(1))], CLOSES)
    assert caught.value.issues[0].field == "ABC"
    late = [*FLOWS_LEDGER, Transaction.cash(T.DEPOSIT, date(2024, 2, 1), "1")]
    with pytest.raises(ValidationError, match="after the last price date") as caught:
        valuation_series(late, CLOSES)
    assert (caught.value.issues[0].row, caught.value.issues[0].field) == (4, "trade_date")
    assert len(valuation_series(late, CLOSES, end=date(2024, 1, 5))) == 4
    with pytest.raises(ValidationError, match="DatetimeIndex"):
        valuation_series(FLOWS_LEDGER, CLOSES.reset_index(drop=True))


def test_leading_missing_close_uses_the_trade_price() -> None:
    closes = CLOSES.copy()
    closes.iloc[0, 0] = np.nan  # no close on the day of purchase (e.g. a listing day)
    valuation = valuation_series(FLOWS_LEDGER, closes)
    assert valuation["market_value"].iloc[0] == 1000  # 10 at the purchase price of 100


# --------------------------------------------------------------------------- periods


def _constructed_returns() -> pd.Series:
    """Zero daily returns on business days 2018-12-31..2024-06-14 except on eight dates."""
    index = pd.bdate_range("2018-12-31", "2024-06-14")
    returns = pd.Series(0.0, index=index)
    for day, value in {
        "2019-03-01": 0.10,  # before the 5Y start (2019-06-14): max only
        "2019-07-01": 0.05,  # 5Y
        "2021-09-01": -0.10,  # 3Y (starts 2021-06-14)
        "2023-08-01": 0.20,  # 1Y (starts 2023-06-14)
        "2024-02-01": 0.02,  # YTD
        "2024-06-04": -0.01,  # MTD, not WTD (the week starts Monday 2024-06-10)
        "2024-06-11": 0.03,  # WTD
        "2024-06-14": 0.01,  # 1D
    }.items():
        returns[pd.Timestamp(day)] = value
    return returns


def test_every_period_on_a_constructed_series() -> None:
    periods = period_returns(_constructed_returns(), date(2024, 6, 14))
    one_day = 0.01
    wtd = 1.03 * 1.01 - 1  # 0.0403
    mtd = 0.99 * 1.03 * 1.01 - 1  # 0.029897
    ytd = 1.02 * (1 + mtd) - 1  # 0.05049494
    one_year = 1.20 * (1 + ytd) - 1  # 0.260593928
    three_years = 0.90 * (1 + one_year) - 1  # 0.1345345352
    five_years = 1.05 * (1 + three_years) - 1  # 0.19126126196
    total = 1.10 * (1 + five_years) - 1  # 0.310387388156
    expected = {
        Period.DAY: one_day,
        Period.WEEK_TO_DATE: wtd,
        Period.MONTH_TO_DATE: mtd,
        Period.YEAR_TO_DATE: ytd,
        Period.ONE_YEAR: one_year,
        Period.THREE_YEARS: three_years,
        Period.FIVE_YEARS: five_years,
        Period.MAX: total,
    }
    for period, value in expected.items():
        assert periods[period].total_return == pytest.approx(value, abs=1e-12), period
        assert periods[period].available
        assert periods[period].end == date(2024, 6, 14)
    starts = {period: result.start for period, result in periods.items()}
    assert starts == {
        Period.DAY: date(2024, 6, 13),
        Period.WEEK_TO_DATE: date(2024, 6, 9),
        Period.MONTH_TO_DATE: date(2024, 5, 31),
        Period.YEAR_TO_DATE: date(2023, 12, 31),
        Period.ONE_YEAR: date(2023, 6, 14),
        Period.THREE_YEARS: date(2021, 6, 14),
        Period.FIVE_YEARS: date(2019, 6, 14),
        Period.MAX: date(2018, 12, 30),  # inception: the close before the first day
    }
    # periods of a year or less are not annualised
    for period in (Period.DAY, Period.WEEK_TO_DATE, Period.MONTH_TO_DATE, Period.YEAR_TO_DATE,
                   Period.ONE_YEAR):  # fmt: skip
        assert periods[period].annualized_return is None
    assert periods[Period.THREE_YEARS].annualized_return == pytest.approx(
        (1 + three_years) ** (1 / 3) - 1, abs=1e-12
    )
    assert periods[Period.FIVE_YEARS].annualized_return == pytest.approx(
        (1 + five_years) ** (1 / 5) - 1, abs=1e-12
    )
    # max: 2018-12-30 -> 2024-06-14 = 1826 days to 2023-12-30, + 167 = 1993 days
    assert (date(2024, 6, 14) - date(2018, 12, 30)).days == 1993
    assert periods[Period.MAX].annualized_return == pytest.approx(
        (1 + total) ** (365 / 1993) - 1, abs=1e-12
    )
    assert not any(result.since_inception for result in periods.values())


def test_as_of_on_a_weekend_ignores_later_returns() -> None:
    returns = _constructed_returns()
    periods = period_returns(returns, date(2024, 6, 9))  # a Sunday
    assert periods[Period.DAY].end == date(2024, 6, 7)
    assert periods[Period.DAY].total_return == 0.0
    # the week of Sunday 2024-06-09 started Monday 2024-06-03: only the -1% of June 4
    assert periods[Period.WEEK_TO_DATE].total_return == pytest.approx(-0.01)
    assert periods[Period.MONTH_TO_DATE].total_return == pytest.approx(-0.01)


def test_short_history_marks_trailing_periods_unavailable() -> None:
    returns = _constructed_returns()["2023-03-01":]
    periods = period_returns(returns, date(2024, 6, 14))
    for period in (Period.THREE_YEARS, Period.FIVE_YEARS):
        assert not periods[period].available
        assert periods[period].total_return is None
        assert "history starts 2023-03-01" in (periods[period].note or "")
    assert periods[Period.ONE_YEAR].available
    # max from 2023-03-01 (inception close 2023-02-28) to 2024-06-14 is 472 days: annualised
    assert periods[Period.MAX].total_return == pytest.approx(1.2 * 1.02 * 0.99 * 1.03 * 1.01 - 1)
    assert periods[Period.MAX].annualized_return == pytest.approx(
        (1.2 * 1.02 * 0.99 * 1.03 * 1.01) ** (365 / 472) - 1
    )


def test_history_starting_inside_the_month_is_since_inception() -> None:
    returns = _constructed_returns()["2024-06-05":]
    periods = period_returns(returns, date(2024, 6, 14))
    for period in (Period.MONTH_TO_DATE, Period.YEAR_TO_DATE):
        assert periods[period].since_inception
        assert periods[period].start == date(2024, 6, 4)
        assert periods[period].total_return == pytest.approx(1.03 * 1.01 - 1)
    assert not periods[Period.WEEK_TO_DATE].since_inception
    assert periods[Period.MAX].annualized_return is None
    assert not periods[Period.ONE_YEAR].available


def test_no_returns_before_as_of() -> None:
    periods = period_returns(_constructed_returns(), date(2000, 1, 1))
    assert all(not result.available for result in periods.values())


# --------------------------------------------------------------------------- benchmark


def test_benchmark_comparison_over_the_same_periods() -> None:
    index = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    portfolio = pd.Series([0.01, 0.02, -0.01, 0.005], index=index)
    # benchmark closes: Dec 29 100, Jan 2 102, (no Jan 3 close), Jan 4 105.06, Jan 5 103
    bench = pd.Series(
        [100.0, 102.0, 105.06, 103.0],
        index=pd.to_datetime(["2023-12-29", "2024-01-02", "2024-01-04", "2024-01-05"]),
    )
    aligned = benchmark_returns(bench, index)
    # Jan 2: 102/100 - 1; Jan 3: carried 102 -> 0; Jan 4: 105.06/102 - 1; Jan 5: 103/105.06 - 1
    assert aligned.tolist() == pytest.approx([0.02, 0.0, 0.03, 103 / 105.06 - 1], abs=1e-12)
    comparison = compare_to_benchmark(portfolio, bench, as_of=date(2024, 1, 5))
    mine = 1.01 * 1.02 * 0.99 * 1.005 - 1
    total = comparison[Period.MAX]
    assert total.portfolio.total_return == pytest.approx(mine, abs=1e-12)
    assert total.benchmark.total_return == pytest.approx(0.03, abs=1e-12)  # 103 / 100 - 1
    assert total.excess_return == pytest.approx(mine - 0.03, abs=1e-12)
    day = comparison[Period.DAY]
    assert day.excess_return == pytest.approx(0.005 - (103 / 105.06 - 1), abs=1e-12)
    assert comparison[Period.YEAR_TO_DATE].excess_return == pytest.approx(mine - 0.03, abs=1e-12)
    assert comparison[Period.ONE_YEAR].excess_return is None
    assert comparison[Period.MAX].excess_annualized is None


def test_benchmark_starting_later_drops_leading_dates() -> None:
    index = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    bench = pd.Series([50.0, 55.0], index=pd.to_datetime(["2024-01-03", "2024-01-04"]))
    aligned = benchmark_returns(bench, index)
    assert aligned.index.tolist() == [pd.Timestamp("2024-01-04")]
    assert aligned.tolist() == pytest.approx([0.1])


# --------------------------------------------------------------------------- allocation


def test_allocation_by_asset_class_sector_and_currency() -> None:
    state = replay(
        [
            Transaction.cash(T.DEPOSIT, date(2024, 1, 2), "10000"),
            Transaction(T.BUY, date(2024, 1, 2), "AAPL", D(10), D(200)),  # 2000
            Transaction(T.BUY, date(2024, 1, 2), "TLT", D(30), D(100)),  # 3000
            Transaction(T.BUY, date(2024, 1, 2), "SAP", D(10), D(100), D(0), "EUR"),
        ]
    )
    # prices unchanged; EUR at 1.5 -> SAP 1500 USD, EUR cash -1000 EUR = -1500 USD
    report = holdings(state, {"AAPL": 200, "TLT": 100, "SAP": 100}, fx_rates={"EUR": "1.5"})
    meta = {
        "AAPL": ("equity", "Technology", "USD"),
        "SAP": ("equity", "Technology", "EUR"),
        "TLT": Instrument("TLT", "Treasury ETF", AssetClass.BOND, currency="USD"),
    }
    result = allocation(report, meta)
    # total: securities 2000 + 3000 + 1500 = 6500; cash USD 5000, EUR -1500 -> 10000
    assert result.total_value == 10000
    assert [(s.name, s.value, s.weight) for s in result.by_asset_class] == [
        ("cash", D(3500), 0.35),  # 5000 - 1500; equal values are ordered by name
        ("equity", D(3500), 0.35),
        ("bond", D(3000), 0.30),
    ]
    assert [(s.name, s.value) for s in result.by_sector] == [
        ("Technology", D(3500)),
        ("cash", D(3500)),
        ("unclassified", D(3000)),
    ]
    assert [(s.name, s.value) for s in result.by_currency] == [("USD", D(10000)), ("EUR", D(0))]
    with pytest.raises(ValidationError) as caught:
        allocation(report, {"AAPL": ("equity", None, "USD")})
    assert {issue.field for issue in caught.value.issues} == {"SAP", "TLT"}


# --------------------------------------------------------------------------- real data


def test_buy_and_hold_on_real_closes_matches_empyrical_and_closed_forms() -> None:
    from empyrical import cum_returns_final
    from skfolio.datasets import load_sp500_dataset

    closes = load_sp500_dataset()[["AAPL", "CVX"]].loc["2015-01-02":]
    first = closes.iloc[0]
    aapl, cvx = D(repr(float(first["AAPL"]))), D(repr(float(first["CVX"])))
    ledger = [
        Transaction.cash(T.DEPOSIT, date(2015, 1, 2), "100000"),
        Transaction(T.BUY, date(2015, 1, 2), "AAPL", D(100), aapl),
        Transaction(T.BUY, date(2015, 1, 2), "CVX", D(200), cvx),
    ]
    valuation = valuation_series(ledger, closes)
    cash = 100000 - 100 * float(first["AAPL"]) - 200 * float(first["CVX"])
    value = 100 * closes["AAPL"] + 200 * closes["CVX"] + cash  # computed independently
    assert valuation["total_value"].to_numpy() == pytest.approx(value.to_numpy(), rel=1e-12)
    returns = daily_returns(valuation)
    assert returns.iloc[0] == pytest.approx(0.0, abs=1e-12)  # bought at the close
    total = float(cum_returns_final(value.pct_change().dropna()))
    assert time_weighted_return(returns) == pytest.approx(total, rel=1e-9)
    as_of = date(2022, 12, 28)
    periods = period_returns(returns, as_of)
    # 1Y: from the last close on or before 2021-12-28
    start = value.loc[:"2021-12-28"].iloc[-1]
    assert periods[Period.ONE_YEAR].total_return == pytest.approx(value.iloc[-1] / start - 1)
    ytd_start = value.loc[:"2021-12-31"].iloc[-1]
    assert periods[Period.YEAR_TO_DATE].total_return == pytest.approx(
        value.iloc[-1] / ytd_start - 1
    )
    # one deposit, no other flow: the money-weighted return is (V_end / V_0) ** (365/days) - 1
    days = (as_of - date(2015, 1, 2)).days
    assert money_weighted_return(valuation) == pytest.approx(
        (value.iloc[-1] / 100000) ** (365 / days) - 1, rel=1e-9
    )
