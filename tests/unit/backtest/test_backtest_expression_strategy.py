"""The ``expression`` strategy: screener conditions streamed bar by bar.

Real data: ``arch.data.sp500`` (S&P 500 index daily OHLCV 1999-2018) and
``skfolio.datasets.load_sp500_dataset`` (adjusted closes, close-only bars). Expected signal
dates come from ``talib.SMA`` / ``talib.RSI`` and pandas, replayed by hand in the tests.
"""

from __future__ import annotations

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest
import talib
from skfolio.datasets import load_sp500_dataset

from quantdesk.backtest import make_strategy, run_backtest, strategy_spec
from quantdesk.backtest.strategies import ExpressionParams, ExpressionStrategy
from quantdesk.core.errors import ValidationError

UP = "crosses_above(sma(20), sma(50))"
DOWN = "crosses_below(sma(20), sma(50))"


@pytest.fixture(scope="module")
def spx() -> pd.DataFrame:
    frame: pd.DataFrame = arch.data.sp500.load()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    return frame


def replay(enter: pd.Series, leave: pd.Series) -> list[tuple[pd.Timestamp, str]]:
    """Long/flat state machine on daily signals; each decision trades on the next bar."""
    fills: list[tuple[pd.Timestamp, str]] = []
    long = False
    for i in range(len(enter) - 1):
        if not long and enter.iloc[i]:
            fills.append((enter.index[i + 1], "buy"))
            long = True
        elif long and leave.iloc[i]:
            fills.append((enter.index[i + 1], "sell"))
            long = False
    return fills


def fill_dates(fills: pd.DataFrame) -> list[tuple[pd.Timestamp, str]]:
    return list(zip(fills["ts"], fills["side"], strict=True))


def test_crossing_rules_trade_exactly_like_sma_cross(spx: pd.DataFrame) -> None:
    rules = make_strategy("expression", entry=UP, exit=DOWN)
    by_rules = run_backtest(rules, {"SPX": spx})
    by_cross = run_backtest(make_strategy("sma_cross", fast=20, slow=50), {"SPX": spx})
    pd.testing.assert_frame_equal(by_rules.fills, by_cross.fills)
    pd.testing.assert_series_equal(by_rules.equity, by_cross.equity)
    assert by_rules.strategy == "expression"

    # the dates are TA-Lib's SMA crossings, traded on the next day
    close = spx["Close"].to_numpy(dtype=float)
    fast = pd.Series(talib.SMA(close, 20), index=spx.index)
    slow = pd.Series(talib.SMA(close, 50), index=spx.index)
    up = (fast.shift(1) <= slow.shift(1)) & (fast > slow)
    down = (fast.shift(1) >= slow.shift(1)) & (fast < slow)
    expected = replay(up, down)
    assert fill_dates(by_rules.fills) == expected
    assert len(expected) > 100
    assert (by_rules.orders["status"] == "filled").all()


def test_without_exit_the_position_lasts_while_entry_holds(spx: pd.DataFrame) -> None:
    data = spx.loc["2004":"2009"]
    result = run_backtest(make_strategy("expression", entry="close > sma(50)"), {"SPX": data})
    close = data["Close"]
    above = close > pd.Series(talib.SMA(close.to_numpy(dtype=float), 50), index=data.index)
    expected = replay(above, ~above)
    assert fill_dates(result.fills) == expected
    assert len(expected) > 40


def test_rsi_rules_match_talib_and_weight_sizes_the_entry(spx: pd.DataFrame) -> None:
    data = spx.loc["2007":"2012"]
    rules = make_strategy("expression", entry="rsi(14) < 30", exit="rsi(14) > 70", weight=0.5)
    result = run_backtest(rules, {"SPX": data}, cash=10_000.0)
    rsi = pd.Series(talib.RSI(data["Close"].to_numpy(dtype=float), 14), index=data.index)
    assert fill_dates(result.fills) == replay(rsi < 30, rsi > 70)
    first = result.fills.iloc[0]
    decided = data.index.get_loc(first["ts"]) - 1
    assert first["quantity"] == int(0.5 * 10_000.0 / data["Close"].iloc[decided])


def test_each_symbol_has_its_own_streams() -> None:
    prices = load_sp500_dataset().iloc[-1_200:][["AAPL", "JPM"]]
    bars = {s: pd.DataFrame({"close": prices[s]}) for s in prices}
    rules = make_strategy(
        "expression",
        entry="crosses_above(ema(10), ema(30))",
        exit="crosses_below(ema(10), ema(30))",
        weight=0.45,
    )
    result = run_backtest(rules, bars)
    assert (result.orders["status"] == "filled").all()
    for symbol in prices:
        close = prices[symbol].to_numpy(dtype=float)
        index = pd.DatetimeIndex(prices.index).tz_localize("UTC")
        fast = pd.Series(talib.EMA(close, 10), index=index)
        slow = pd.Series(talib.EMA(close, 30), index=index)
        up = (fast.shift(1) <= slow.shift(1)) & (fast > slow)
        down = (fast.shift(1) >= slow.shift(1)) & (fast < slow)
        mine = result.fills[result.fills["symbol"] == symbol]
        assert fill_dates(mine) == replay(up, down)
        assert len(mine) > 10


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"entry": "close >"}, "entry", "at column 8: unexpected end of expression"),
        (
            {"entry": "close > 0", "exit": "crosses_below(sma(20), smaa(50))"},
            "exit",
            "at column 24: unknown function 'smaa'",
        ),
        ({"entry": "sma(20)"}, "entry", "must be true or false"),
        ({"entry": "t3(5) > close"}, "entry", "no streaming version"),
        ({"entry": "rsi(1) < 30"}, "entry", "at column"),
        ({}, "entry", "Field required"),
        ({"entry": "close > 0", "weight": 0}, "weight", "greater than 0"),
    ],
)
def test_bad_rules_name_the_parameter(params: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_strategy("expression", params)
    issue = info.value.issues[0]
    assert (issue.location, issue.field) == ("strategy.expression", field)
    assert reason in issue.reason


def test_the_strategy_checks_its_rules_when_built_directly() -> None:
    unchecked = ExpressionParams.model_construct(entry="close > sma(20)", exit="close <", weight=1)
    with pytest.raises(ValidationError) as info:
        ExpressionStrategy(unchecked)
    issue = info.value.issues[0]
    assert (issue.field, issue.reason[:12]) == ("exit", "at column 8:")


def test_registry_schema_types_the_rules() -> None:
    spec = strategy_spec("expression")
    schema = spec.schema()
    assert schema["required"] == ["entry"]
    assert schema["properties"]["entry"]["type"] == "string"
    assert schema["properties"]["weight"]["default"] == 0.95
    assert spec.description


def test_coarser_bars_do_not_feed_the_rules(spx: pd.DataFrame) -> None:
    data = spx.loc["2008":"2009"]
    weekly = (
        data.resample("W-MON", label="left", closed="left")
        .agg({"Open": "first", "High": "max", "Low": "min", "Close": "last"})
        .dropna()
    )
    rules = {"entry": "close > sma(10)", "weight": 0.9}
    alone = run_backtest(make_strategy("expression", rules), {"SPX": data})
    both = run_backtest(make_strategy("expression", rules), {"SPX": {"1d": data, "1w": weekly}})
    pd.testing.assert_frame_equal(alone.fills, both.fills)
    assert np.isfinite(both.final_equity)
