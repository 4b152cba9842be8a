"""Stress tests: historical windows on real index and stock prices, user-defined shocks."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.risk.stress import (
    HISTORICAL_SCENARIOS,
    HistoricalScenario,
    Position,
    historical_stress,
    run_historical_stress,
    shock_stress,
)


@pytest.fixture(scope="module")
def index_prices() -> pd.DataFrame:
    """Real S&P 500 and NASDAQ Composite closes, 1999-2018 (arch's bundled data)."""
    import arch.data.nasdaq
    import arch.data.sp500

    return pd.DataFrame(
        {
            "SPX": arch.data.sp500.load()["Adj Close"],
            "NASDAQ": arch.data.nasdaq.load()["Adj Close"],
        }
    )


@pytest.fixture(scope="module")
def stock_prices() -> pd.DataFrame:
    """Real adjusted closes of 20 S&P 500 stocks, 1990-2022 (skfolio's bundled data)."""
    from skfolio.datasets import load_sp500_dataset

    return load_sp500_dataset()


def test_gfc_on_the_index_is_close_end_over_close_start(index_prices: pd.DataFrame) -> None:
    # Both boundary dates are trading days, so the closes of those days are used.
    start = index_prices.loc["2007-10-09", "SPX"]  # 1565.150024
    end = index_prices.loc["2009-03-09", "SPX"]  # 676.530029
    result = historical_stress({"SPX": 1.0}, index_prices, "gfc_2008", portfolio_value=1e6)
    (position,) = result.positions
    assert position.shock == pytest.approx(end / start - 1, abs=1e-15)  # -56.78 %
    assert position.source == "own history"
    assert (position.start_date, position.end_date) == (date(2007, 10, 9), date(2009, 3, 9))
    assert result.portfolio_return == pytest.approx(end / start - 1, abs=1e-15)
    assert result.pnl_amount == pytest.approx((end / start - 1) * 1e6)
    # The window runs peak to trough, so the path drawdown equals the loss.
    assert result.max_drawdown == pytest.approx(1 - end / start, abs=1e-12)
    assert (result.drawdown_peak, result.drawdown_trough) == (date(2007, 10, 9), date(2009, 3, 9))


def test_dotcom_path_drawdown_is_peak_to_trough(index_prices: pd.DataFrame) -> None:
    window = index_prices.loc["2000-03-24":"2002-10-09", "NASDAQ"]
    shock = window.iloc[-1] / window.iloc[0] - 1
    drawdown = (1 - window / window.cummax()).max()
    result = historical_stress({"NASDAQ": 1.0}, index_prices, "dotcom_2000")
    assert result.portfolio_return == pytest.approx(shock, abs=1e-15)  # -77.6 %
    assert result.max_drawdown == pytest.approx(drawdown, abs=1e-12)


def test_path_drawdown_is_deeper_than_a_recovered_end(index_prices: pd.DataFrame) -> None:
    # September 2008 to June 2009: the index bottoms on 9 March 2009, then recovers.
    window = index_prices.loc["2008-09-02":"2009-06-01", "SPX"]
    underwater = 1 - window / window.cummax()
    trough = underwater.idxmax()
    peak = window.loc[:trough].idxmax()
    scenario = HistoricalScenario("gfc_tail", "GFC and rebound", date(2008, 9, 2), date(2009, 6, 1))
    result = historical_stress({"SPX": 1.0}, index_prices, scenario)
    assert result.max_drawdown == pytest.approx(underwater.max(), abs=1e-12)
    assert result.max_drawdown > -result.portfolio_return
    assert (result.drawdown_peak, result.drawdown_trough) == (peak.date(), trough.date())
    assert result.drawdown_trough == date(2009, 3, 9)


def test_covid_on_stocks(stock_prices: pd.DataFrame) -> None:
    start = stock_prices.loc["2020-02-19"]
    end = stock_prices.loc["2020-03-23"]
    single = historical_stress({"AAPL": 1.0}, stock_prices, "covid_2020")
    assert single.portfolio_return == pytest.approx(end["AAPL"] / start["AAPL"] - 1, abs=1e-15)
    weights = {"AAPL": 0.25, "JPM": 0.25, "XOM": 0.25, "KO": 0.15}  # 10 % cash
    result = historical_stress(weights, stock_prices, "covid_2020", portfolio_value=500_000)
    expected = sum(w * (end[s] / start[s] - 1) for s, w in weights.items())
    assert result.portfolio_return == pytest.approx(expected, abs=1e-15)
    assert result.covered_weight == pytest.approx(0.9)
    # Buy and hold within the window, cash flat: value_t = 0.1 + sum w_i P_i,t / P_i,start.
    window = stock_prices.loc["2020-02-19":"2020-03-23", list(weights)]
    value = 0.1 + (window / window.iloc[0] * pd.Series(weights)).sum(axis=1)
    assert result.max_drawdown == pytest.approx((1 - value / value.cummax()).max(), abs=1e-12)
    table = result.to_frame()
    assert table.loc["JPM", "pnl_amount"] == pytest.approx(
        0.25 * (end["JPM"] / start["JPM"] - 1) * 500_000
    )


def test_proxy_covers_a_symbol_without_history(index_prices: pd.DataFrame) -> None:
    # Real NASDAQ closes masked before 2010 stand in for a stock listed later.
    prices = index_prices.assign(NEWCO=index_prices["NASDAQ"].where(index_prices.index >= "2010"))
    weights = {"SPX": 0.5, "NEWCO": 0.3}
    spx = prices.loc["2009-03-09", "SPX"] / prices.loc["2007-10-09", "SPX"] - 1
    with_proxy = historical_stress(weights, prices, "gfc_2008", proxies={"NEWCO": "SPX"})
    newco = with_proxy.positions[1]
    assert (newco.source, newco.shock) == ("proxy:SPX", pytest.approx(spx, abs=1e-15))
    assert with_proxy.portfolio_return == pytest.approx(0.8 * spx, abs=1e-15)
    without = historical_stress(weights, prices, "gfc_2008")
    assert without.positions[1].source == "not covered"
    assert without.positions[1].shock is None
    assert without.not_covered == ("NEWCO",)
    assert without.covered_weight == pytest.approx(0.5)
    assert without.portfolio_return == pytest.approx(0.5 * spx, abs=1e-15)


def test_own_history_wins_over_the_proxy(index_prices: pd.DataFrame) -> None:
    result = historical_stress({"NASDAQ": 1.0}, index_prices, "gfc_2008", proxies={"NASDAQ": "SPX"})
    assert result.positions[0].source == "own history"


def test_weekend_boundaries_use_the_previous_close(index_prices: pd.DataFrame) -> None:
    # 13 Sep 2008 and 11 Oct 2008 are Saturdays: the Friday closes (12 Sep, 10 Oct) are used.
    weekend = HistoricalScenario("lehman", "Lehman month", date(2008, 9, 13), date(2008, 10, 11))
    result = historical_stress({"SPX": 1.0}, index_prices, weekend)
    position = result.positions[0]
    assert (position.start_date, position.end_date) == (date(2008, 9, 12), date(2008, 10, 10))
    expected = index_prices.loc["2008-10-10", "SPX"] / index_prices.loc["2008-09-12", "SPX"] - 1
    assert position.shock == pytest.approx(expected, abs=1e-15)


def test_a_window_outside_the_data_is_not_covered(index_prices: pd.DataFrame) -> None:
    # The arch data end in December 2018: the 2020 window has no close within 7 days.
    results = run_historical_stress({"SPX": 1.0}, index_prices)
    assert set(results) == set(HISTORICAL_SCENARIOS)
    covid = results["covid_2020"]
    assert covid.not_covered == ("SPX",)
    assert covid.portfolio_return == 0.0
    assert covid.max_drawdown is None


def test_bad_historical_input(index_prices: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="unknown scenario"):
        historical_stress({"SPX": 1.0}, index_prices, "crash_1987")
    with pytest.raises(ValidationError) as caught:
        historical_stress({"X": 1.0}, index_prices, "gfc_2008", proxies={"X": "DAX"})
    assert caught.value.issues[0].field == "DAX"
    with pytest.raises(ValidationError, match="DatetimeIndex"):
        historical_stress({"SPX": 1.0}, index_prices.reset_index(drop=True), "gfc_2008")
    negative = index_prices.copy()
    negative.iloc[3, 0] = -1.0
    with pytest.raises(ValidationError, match="positive"):
        historical_stress({"SPX": 1.0}, negative, "gfc_2008")


# --- user-defined shocks --------------------------------------------------------------------

BOOK = [
    Position("AAPL", 0.30, asset_class="equity", sector="Technology"),
    Position("MSFT", 0.20, asset_class="equity", sector="Technology"),
    Position("XOM", 0.20, asset_class="equity", sector="Energy"),
    Position("TLT", 0.20, asset_class="bond"),
    Position("GLD", 0.10, asset_class="commodity"),
]
SHOCKS = {"asset_class:equity": -0.20, "sector:Technology": -0.30, "symbol:AAPL": -0.5}


def test_most_specific_shock_wins() -> None:
    result = shock_stress(BOOK, SHOCKS, portfolio_value=1_000_000)
    table = result.to_frame()
    # AAPL symbol -0.5; MSFT sector -0.3; XOM asset class -0.2; TLT and GLD untouched.
    assert list(table["shock"]) == [-0.5, -0.3, -0.2, 0.0, 0.0]
    assert list(table["source"]) == [
        "symbol:AAPL",
        "sector:Technology",
        "asset_class:equity",
        "no shock",
        "no shock",
    ]
    # 0.3 * -0.5 + 0.2 * -0.3 + 0.2 * -0.2 = -0.15 - 0.06 - 0.04 = -0.25
    assert result.portfolio_return == pytest.approx(-0.25, abs=1e-15)
    assert result.pnl_amount == pytest.approx(-250_000)
    assert result.max_drawdown is None


def test_all_applies_to_positions_without_a_better_match() -> None:
    result = shock_stress(BOOK, {"all": -0.1, "SECTOR:technology": -0.3})
    # Names compare case-insensitively. 0.5 * -0.3 + 0.5 * -0.1 = -0.20
    assert result.portfolio_return == pytest.approx(-0.20, abs=1e-15)


def test_plain_weights_and_symbol_shocks() -> None:
    result = shock_stress({"AAPL": 0.6, "TLT": 0.4}, {"symbol:aapl": -0.5, "all": 0.02})
    # 0.6 * -0.5 + 0.4 * 0.02 = -0.30 + 0.008 = -0.292
    assert result.portfolio_return == pytest.approx(-0.292, abs=1e-15)


def test_shadowed_keys_are_not_unknown() -> None:
    # Every equity is hit by a more specific key, but the asset-class key still matches some.
    result = shock_stress(BOOK[:2], {"asset_class:equity": -0.2, "sector:Technology": -0.3})
    assert result.portfolio_return == pytest.approx(-0.15, abs=1e-15)


@pytest.mark.parametrize("key", ["country:US", "sector:", "equity", "symbol:NVDA"])
def test_unknown_shock_key_is_named(key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        shock_stress(BOOK, {**SHOCKS, key: -0.1})
    assert key in str(caught.value)
    assert caught.value.issues[0].field == key


def test_unmatched_keys_can_be_allowed() -> None:
    result = shock_stress(BOOK, {"symbol:NVDA": -0.5}, allow_unmatched=True)
    assert result.portfolio_return == 0.0


def test_bad_shock_values() -> None:
    with pytest.raises(ValidationError, match=">= -1"):
        shock_stress(BOOK, {"all": -1.5})
    with pytest.raises(ValidationError, match="twice"):
        shock_stress(BOOK, {"sector:Energy": -0.1, "SECTOR:energy": -0.2})
    with pytest.raises(ValidationError, match="finite"):
        shock_stress({"AAPL": float("nan")}, {"all": -0.1})


def test_position_pnl_is_weight_times_shock() -> None:
    result = shock_stress(BOOK, SHOCKS)
    for position in result.positions:
        assert position.pnl == pytest.approx(position.weight * (position.shock or 0.0))
    assert np.isclose(sum(p.pnl or 0.0 for p in result.positions), result.portfolio_return)
