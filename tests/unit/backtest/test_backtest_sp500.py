"""SMA crossover on the real S&P 500 history (``arch.data.sp500``), checked independently.

Expected trades come from plain pandas rolling means; metrics from empyrical on the returns
of the engine's daily equity curve.
"""

from __future__ import annotations

import math

import arch.data.sp500
import empyrical
import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest import BacktestResult, make_strategy, run_backtest

FAST, SLOW, WEIGHT, CASH = 20, 50, 0.95, 100_000.0


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    frame: pd.DataFrame = arch.data.sp500.load()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    return frame


@pytest.fixture(scope="module")
def result(sp500: pd.DataFrame) -> BacktestResult:
    strategy = make_strategy("sma_cross", fast=FAST, slow=SLOW, weight=WEIGHT)
    return run_backtest(strategy, {"SPX": sp500}, cash=CASH, benchmark=sp500["Close"])


def expected_fills(frame: pd.DataFrame) -> list[tuple[pd.Timestamp, str, float]]:
    """Crossover dates by pandas; each trades at the next day's open (long-only, all-in)."""
    close = frame["Close"]
    fast, slow = close.rolling(FAST).mean(), close.rolling(SLOW).mean()
    up = (fast.shift(1) <= slow.shift(1)) & (fast > slow)
    down = (fast.shift(1) >= slow.shift(1)) & (fast < slow)
    fills = []
    long = False
    for i in range(len(frame) - 1):  # a cross on the last day has no next open
        if up.iloc[i] and not long:
            fills.append((frame.index[i + 1], "buy", float(frame["Open"].iloc[i + 1])))
            long = True
        elif down.iloc[i] and long:
            fills.append((frame.index[i + 1], "sell", float(frame["Open"].iloc[i + 1])))
            long = False
    return fills


def test_sma_cross_trades_at_next_open_after_pandas_crossovers(
    sp500: pd.DataFrame, result: BacktestResult
) -> None:
    expected = expected_fills(sp500)
    fills = result.fills
    got = list(zip(fills["ts"], fills["side"], fills["price"], strict=True))
    assert len(got) == len(expected) > 50
    for (ts, side, price), (ets, eside, eprice) in zip(got, expected, strict=True):
        assert (ts, side) == (ets, eside)
        assert price == pytest.approx(eprice, rel=1e-12)
    # first entry: trunc(0.95 * 100000 / close on the crossover day) shares
    first_cross = int(np.flatnonzero(sp500.index == expected[0][0])[0]) - 1
    close = float(sp500["Close"].iloc[first_cross])
    assert fills["quantity"].iloc[0] == math.trunc(WEIGHT * CASH / close)
    # long-only all-in: every sell closes the whole position
    assert (
        fills["quantity"].iloc[1::2].to_numpy()
        == fills["quantity"].iloc[::2].to_numpy()[: len(fills) // 2]
    ).all()


def test_equity_curve_is_cash_plus_marked_position(
    sp500: pd.DataFrame, result: BacktestResult
) -> None:
    fills = result.fills
    signed = np.where(fills["side"] == "buy", 1.0, -1.0) * fills["quantity"]
    flows = pd.Series(-(signed * fills["price"]).to_numpy(), index=fills["ts"])
    cash = CASH + flows.groupby(level=0).sum().reindex(sp500.index, fill_value=0.0).cumsum()
    shares = pd.Series(signed.to_numpy(), index=fills["ts"]).groupby(level=0).sum()
    held = shares.reindex(sp500.index, fill_value=0.0).cumsum()
    equity = cash + held * sp500["Close"]
    np.testing.assert_allclose(result.daily_equity.to_numpy(), equity.to_numpy(), rtol=1e-10)


def test_metrics_match_empyrical_on_the_equity_curve(
    sp500: pd.DataFrame, result: BacktestResult
) -> None:
    wealth = np.concatenate([[CASH], result.daily_equity.to_numpy()])
    returns = pd.Series(wealth[1:] / wealth[:-1] - 1, index=result.daily_equity.index)
    m = result.metrics
    assert m.total_return == pytest.approx(wealth[-1] / CASH - 1)
    assert m.annual_return == pytest.approx(empyrical.annual_return(returns), rel=1e-9)
    assert m.volatility == pytest.approx(empyrical.annual_volatility(returns), rel=1e-9)
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    assert m.sortino == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-9)
    assert m.max_drawdown == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-9)
    assert m.calmar == pytest.approx(empyrical.calmar_ratio(returns), rel=1e-9)

    bench = sp500["Close"].pct_change()
    bench.index = returns.index
    alpha, beta = empyrical.alpha_beta(returns.iloc[1:], bench.iloc[1:])
    assert m.beta == pytest.approx(beta, rel=1e-9)
    assert m.alpha == pytest.approx(alpha, rel=1e-9)
    assert m.benchmark_total_return == pytest.approx(
        sp500["Close"].iloc[-1] / sp500["Close"].iloc[0] - 1
    )

    # trade statistics from the fills, pairing each buy with the next sell
    fills = result.fills
    buys, sells = fills[fills["side"] == "buy"], fills[fills["side"] == "sell"]
    pnl = (sells["price"].to_numpy() - buys["price"].to_numpy()[: len(sells)]) * sells[
        "quantity"
    ].to_numpy()
    assert m.trades == len(pnl)
    assert m.win_rate == pytest.approx((pnl > 0).mean())
    assert m.profit_factor == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl <= 0].sum())
    assert m.average_win == pytest.approx(pnl[pnl > 0].mean())
    assert m.average_loss == pytest.approx(pnl[pnl <= 0].mean())
    held = result.positions["SPX"] != 0
    assert m.time_in_market == pytest.approx(held.mean())
