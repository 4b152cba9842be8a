"""Strategy registry: names, typed parameters with bounds, clear errors; built-ins on real data.

Real data: ``arch.data.sp500`` (S&P 500 index daily OHLCV); expected RSI signals from
``talib.RSI``.
"""

from __future__ import annotations

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest
import talib

from quantdesk.backtest import (
    CrossParams,
    SmaCross,
    make_strategy,
    run_backtest,
    strategy_names,
    strategy_spec,
)
from quantdesk.core.errors import ValidationError

NAMES = (
    "bollinger_breakout",
    "donchian_trend",
    "ema_cross",
    "expression",
    "fixed_weight_rebalance",
    "rsi_reversion",
    "sma_cross",
)


def test_registry_lists_the_built_ins() -> None:
    assert strategy_names() == NAMES
    strategy = make_strategy("SMA_Cross", {"fast": 5}, slow=15)
    assert isinstance(strategy, SmaCross)
    assert strategy.params == CrossParams(fast=5, slow=15)
    schema = strategy_spec("rsi_reversion").schema()
    assert schema["properties"]["period"]["minimum"] == 2


def test_unknown_strategy_names_the_choices() -> None:
    with pytest.raises(ValidationError) as info:
        make_strategy("golden_cross")
    issue = info.value.issues[0]
    assert (issue.location, issue.field) == ("strategy", "name")
    assert "golden_cross" in issue.reason
    assert "sma_cross" in issue.reason


@pytest.mark.parametrize(
    ("name", "params", "field", "text"),
    [
        ("sma_cross", {"fast": 0}, "fast", "greater than or equal to 1"),
        ("sma_cross", {"speed": 3}, "speed", "Extra inputs"),
        ("ema_cross", {"fast": 30, "slow": 10}, None, "fast (30) must be below slow (10)"),
        ("rsi_reversion", {"upper": 120}, "upper", "less than 100"),
        ("rsi_reversion", {"lower": 80, "upper": 70}, None, "lower (80.0) must be below"),
        ("bollinger_breakout", {"nbdev": -1}, "nbdev", "greater than 0"),
        ("donchian_trend", {"period": "x"}, "period", "valid integer"),
        ("fixed_weight_rebalance", {}, "weights", "Field required"),
        ("fixed_weight_rebalance", {"weights": {}}, "weights", "at least 1"),
        ("fixed_weight_rebalance", {"weights": {"A": 0.5}, "every": 0}, "every", ">= 1"),
        ("sma_cross", {"weight": 0}, "weight", "greater than 0"),
    ],
)
def test_bad_parameters_name_the_strategy_and_field(
    name: str, params: dict[str, object], field: str | None, text: str
) -> None:
    with pytest.raises(ValidationError) as info:
        make_strategy(name, params)
    issue = info.value.issues[0]
    assert issue.location == f"strategy.{name}"
    assert issue.field == field
    assert text.replace(">= 1", "greater than or equal to 1") in issue.reason
    assert name in str(info.value)


@pytest.fixture(scope="module")
def spx() -> pd.DataFrame:
    frame: pd.DataFrame = arch.data.sp500.load()
    return frame.loc["2007":"2010"]


def test_rsi_reversion_enters_after_talib_rsi_dips(spx: pd.DataFrame) -> None:
    result = run_backtest(make_strategy("rsi_reversion", period=14), {"SPX": spx})
    rsi = pd.Series(talib.RSI(spx["Close"].to_numpy(), 14), index=spx.index)
    # replay the rule on talib's RSI: enter below 30 when flat, exit above 70 when long
    fills, long = [], False
    for i in range(len(spx) - 1):
        if rsi.iloc[i] < 30 and not long:
            fills.append((spx.index[i + 1], "buy"))
            long = True
        elif rsi.iloc[i] > 70 and long:
            fills.append((spx.index[i + 1], "sell"))
            long = False
    got = [
        (ts.tz_convert(None), side)
        for ts, side in zip(result.fills["ts"], result.fills["side"], strict=True)
    ]
    assert got == fills
    assert len(fills) >= 4


@pytest.mark.parametrize("name", NAMES)
def test_every_built_in_runs_and_books_consistently(name: str, spx: pd.DataFrame) -> None:
    params: dict[str, object] = {}
    if name == "fixed_weight_rebalance":
        params = {"weights": {"SPX": 0.6}, "every": 63}
    elif name == "expression":
        params = {"entry": "rsi(14) < 30", "exit": "rsi(14) > 70"}
    result = run_backtest(make_strategy(name, params), {"SPX": spx}, cash=50_000.0)
    assert result.strategy == name
    assert len(result.fills) > 0
    assert (result.orders["status"] == "filled").all()
    # with no fees, final equity = cash + shares * last close
    fills = result.fills
    signed = np.where(fills["side"] == "buy", 1.0, -1.0) * fills["quantity"]
    cash = 50_000.0 - float((signed * fills["price"]).sum())
    final = cash + float(signed.sum()) * float(spx["Close"].iloc[-1])
    assert result.final_equity == pytest.approx(final, rel=1e-12)
