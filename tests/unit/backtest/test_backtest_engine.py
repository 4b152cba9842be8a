"""Event-driven engine: a hand-worked run, hook order, multi-asset merge and no lookahead.

All bars in this module are synthetic (hand-written or generated), labelled as such.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.backtest import Context, Strategy, make_strategy, run_backtest
from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.domain import Bar
from quantdesk.domain.market_data import Interval
from quantdesk.domain.orders import Fill
from quantdesk.execution.sim import ExecutionConfig, PerShareFee

# Synthetic OHLC for symbol X over eight days (open, high, low, close).
HAND_BARS = [
    (10.0, 11.0, 9.0, 10.0),
    (10.0, 12.0, 10.0, 11.0),  # on_bar: buy 10 (market) -> fills at next open
    (12.0, 13.0, 11.0, 12.0),  # buy 10 @ 12 (open)
    (12.0, 14.0, 12.0, 13.0),
    (13.0, 13.0, 10.0, 11.0),  # on_bar: sell 10 -> fills at next open
    (10.0, 12.0, 9.0, 12.0),  # sell 10 @ 10 (open)
    (12.0, 12.0, 11.0, 11.0),
    (11.0, 12.0, 10.0, 12.0),
]
START = datetime(2024, 1, 1, tzinfo=UTC)


def hand_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([START + timedelta(days=i) for i in range(len(HAND_BARS))])
    return pd.DataFrame(HAND_BARS, columns=["Open", "High", "Low", "Close"], index=index)


class Scripted(Strategy):
    """Buy 10 after bar 2, sell 10 after bar 5; record what the hooks saw."""

    name = "scripted"

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_start(self, ctx: Context) -> None:
        self.events.append(("start", ctx.cash))

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        self.events.append(("fill", (ctx.bars_seen("X"), fill.side.value, fill.price)))

    def on_bar(self, ctx: Context) -> None:
        seen = ctx.bars_seen("X")
        self.events.append(("bar", (seen, ctx.position("X"), list(ctx.history("X")))))
        if seen == 2:
            ctx.buy("X", 10)
            ctx.record("entry")
        elif seen == 5:
            ctx.sell("X", 10)

    def on_stop(self, ctx: Context) -> None:
        self.events.append(("stop", ctx.equity))


def test_hand_worked_market_order_fills_at_next_open() -> None:
    strategy = Scripted()
    result = run_backtest(strategy, {"X": hand_frame()}, cash=1000.0)

    # buy 10 @ 12 (open of bar 3): cash 1000 - 120 = 880
    # bar 3: 880 + 10*12 = 1000; bar 4: 880 + 130 = 1010; bar 5: 880 + 110 = 990
    # sell 10 @ 10 (open of bar 6): cash 880 + 100 = 980, flat from then on
    expected = [1000.0, 1000.0, 1000.0, 1010.0, 990.0, 980.0, 980.0, 980.0]
    np.testing.assert_allclose(result.equity.to_numpy(), expected)
    np.testing.assert_allclose(result.daily_equity.to_numpy(), expected)
    np.testing.assert_allclose(result.cash.to_numpy(), [1000, 1000, 880, 880, 880, 980, 980, 980])
    np.testing.assert_allclose(result.positions["X"].to_numpy(), [0, 0, 10, 10, 10, 0, 0, 0])
    assert list(result.fills["price"]) == [12.0, 10.0]
    assert list(result.fills["side"]) == ["buy", "sell"]
    assert list(result.fills["ts"]) == [pd.Timestamp(START + timedelta(days=d)) for d in (2, 5)]
    assert list(result.orders["status"]) == ["filled", "filled"]
    assert list(result.orders["submitted"]) == [
        pd.Timestamp(START + timedelta(days=d)) for d in (1, 4)
    ]

    # daily returns from the initial 1000: 0, 0, 0, +1 %, 990/1010 - 1, 980/990 - 1, 0, 0
    np.testing.assert_allclose(
        result.returns.to_numpy(), [0, 0, 0, 0.01, 990 / 1010 - 1, 980 / 990 - 1, 0, 0]
    )
    m = result.metrics
    assert m.total_return == pytest.approx(-0.02)
    assert m.max_drawdown == pytest.approx(30 / 1010)  # peak 1010 -> 980
    assert m.max_drawdown_duration == 4  # bars 5..8 under water, no recovery
    assert m.trades == 1
    assert m.win_rate == 0.0
    assert m.profit_factor == 0.0
    assert m.average_loss == pytest.approx(-20.0)
    assert math.isnan(m.average_win)
    assert m.time_in_market == pytest.approx(3 / 8)
    assert m.exposure == pytest.approx((120 / 1000 + 130 / 1010 + 110 / 990) / 8)
    # traded notional 120 + 100 over mean equity 7940 / 8, per year of 8 / 252 days
    assert m.turnover == pytest.approx(220 / (7940 / 8) / (8 / 252))
    trade = result.trades.iloc[0]
    assert (trade["direction"], trade["quantity"], trade["entry_price"]) == ("long", 10, 12)
    assert (trade["exit_price"], trade["pnl"]) == (10.0, pytest.approx(-20.0))
    assert result.log == (f"{(START + timedelta(days=1)).isoformat()} entry",)

    # hooks: the fill is routed after its bar entered the history and before on_bar
    assert strategy.events[0] == ("start", 1000.0)
    assert strategy.events[1] == ("bar", (1, 0.0, [10.0]))
    assert strategy.events[2] == ("bar", (2, 0.0, [10.0, 11.0]))
    assert strategy.events[3] == ("fill", (3, "buy", 12.0))
    assert strategy.events[4] == ("bar", (3, 10.0, [10.0, 11.0, 12.0]))
    assert strategy.events[-1] == ("stop", 980.0)


def test_hand_worked_with_per_share_fee_and_polars_input() -> None:
    frame = hand_frame().reset_index(names="ts")
    bars = pl.from_pandas(frame)
    config = ExecutionConfig(fee_model=PerShareFee(0.5))
    result = run_backtest(Scripted(), {"X": bars}, cash=1000.0, execution=config)
    # each fill pays 10 * 0.5 = 5: cash 1000 - 120 - 5 = 875, then 875 + 100 - 5 = 970
    expected = [1000.0, 1000.0, 995.0, 1005.0, 985.0, 970.0, 970.0, 970.0]
    np.testing.assert_allclose(result.equity.to_numpy(), expected)
    assert result.metrics.fees == pytest.approx(10.0)
    assert result.trades.iloc[0]["pnl"] == pytest.approx(-30.0)


def test_multi_asset_merge_is_time_then_symbol_ordered() -> None:
    days = [START + timedelta(days=i) for i in range(4)]
    a = [Bar("AAA", Interval.D1, ts, None, None, None, 10.0 + i) for i, ts in enumerate(days)]
    b = [Bar("BBB", Interval.D1, ts, None, None, None, 20.0) for ts in days if ts != days[1]]

    class Recorder(Strategy):
        def __init__(self) -> None:
            self.seen: list[tuple[int, str]] = []

        def on_bar(self, ctx: Context) -> None:
            self.seen.append((ctx.ts.day, ctx.symbol))

    recorder = Recorder()
    result = run_backtest(recorder, {"BBB": b, "AAA": a}, cash=100.0)
    assert recorder.seen == [(1, "AAA"), (1, "BBB"), (2, "AAA"), (3, "AAA"), (3, "BBB"),
                             (4, "AAA"), (4, "BBB")]  # fmt: skip
    assert len(result.equity) == 4
    assert result.symbols == ("AAA", "BBB")


def test_order_target_percent_sizes_whole_shares_from_equity() -> None:
    class Target(Strategy):
        def on_bar(self, ctx: Context) -> None:
            if ctx.bars_seen("X") == 1:
                # 0.5 * 1000 / close 10 = 50 shares
                ctx.order_target_percent("X", 0.5)
            elif ctx.bars_seen("X") == 4:
                # equity: cash 500 + 50 * 13 = 1150; 0.2 * 1150 / 13 = 17.69 -> 17 (sell 33)
                ctx.order_target_percent("X", 0.2)

    result = run_backtest(Target(), {"X": hand_frame()}, cash=1000.0)
    # buy 50 @ open of bar 2 (10): cash 500; sell 33 @ open of bar 5 (13)
    assert list(result.fills["quantity"]) == [50.0, 33.0]
    assert list(result.fills["price"]) == [10.0, 13.0]
    assert result.positions["X"].iloc[-1] == 17.0


def test_history_is_read_only_and_bounded() -> None:
    class Peek(Strategy):
        def on_bar(self, ctx: Context) -> None:
            view = ctx.history("X", "high", 3)
            assert len(view) == min(3, ctx.bars_seen("X"))
            with pytest.raises(ValueError, match="read-only"):
                view[0] = 1.0
            with pytest.raises(NotFound):
                ctx.history("NOPE")
            with pytest.raises(ValidationError):
                ctx.history("X", "vwap")

    run_backtest(Peek(), {"X": hand_frame()}, cash=1000.0)


def test_bad_inputs_raise_validation_errors() -> None:
    with pytest.raises(ValidationError, match="no bars"):
        run_backtest(Scripted(), {}, cash=1000.0)
    with pytest.raises(ValidationError, match="close"):
        run_backtest(Scripted(), {"X": hand_frame().drop(columns="Close")})
    duplicated = pd.concat([hand_frame(), hand_frame().iloc[:1]])
    with pytest.raises(ValidationError, match="duplicate"):
        run_backtest(Scripted(), {"X": duplicated})


# -- no lookahead ------------------------------------------------------------------------------


def synthetic_bars(steps: list[float], start: float = 100.0) -> pd.DataFrame:
    """Synthetic close-to-close walk with open = previous close."""
    closes = start * np.cumprod(1 + np.asarray(steps))
    opens = np.concatenate([[start], closes[:-1]])
    highs = np.maximum(opens, closes) * 1.01
    lows = np.minimum(opens, closes) * 0.99
    index = pd.DatetimeIndex([START + timedelta(days=i) for i in range(len(steps))])
    data = {"open": opens, "high": highs, "low": lows, "close": closes}
    return pd.DataFrame(data, index=index)


class Watcher(Strategy):
    """Synthetic test strategy: trades on the last three closes and logs what it saw."""

    def on_bar(self, ctx: Context) -> None:
        closes = ctx.history(ctx.symbol, n=3)
        ctx.record(f"{ctx.symbol} {closes.tolist()} {ctx.indicator('sma', timeperiod=3)}")
        if len(closes) == 3 and closes[-1] > closes[0]:
            ctx.order_target_percent(ctx.symbol, 0.45)
        elif len(closes) == 3:
            ctx.order_target_percent(ctx.symbol, 0.0)


steps_strategy = st.lists(st.floats(-0.08, 0.08, allow_nan=False), min_size=12, max_size=25)


@settings(max_examples=20, deadline=None)
@given(
    steps=steps_strategy,
    other=st.lists(st.floats(-0.3, 0.3, allow_nan=False), min_size=30, max_size=30),
    cut=st.integers(3, 10),
)
def test_future_bars_do_not_change_the_past(
    steps: list[float], other: list[float], cut: int
) -> None:
    base = synthetic_bars(steps)
    altered_steps = steps[: cut + 1] + other[: len(steps) - cut - 1]
    altered = synthetic_bars(altered_steps)
    truncated = base.iloc[: cut + 1]
    second = synthetic_bars(list(reversed(steps)), start=50.0)
    runs = []
    for frame in (base, altered, truncated):
        for strategy in (Watcher(), make_strategy("sma_cross", fast=2, slow=4, weight=0.45)):
            runs.append(run_backtest(strategy, {"A": frame, "B": second}, cash=10_000.0))
    cutoff = base.index[cut]
    for i in (0, 1):
        reference = runs[i]
        for other_run in (runs[2 + i], runs[4 + i]):
            pd.testing.assert_series_equal(
                other_run.equity[:cutoff], reference.equity[:cutoff], check_freq=False
            )
            past = reference.orders[reference.orders["submitted"] <= cutoff]
            mine = other_run.orders[other_run.orders["submitted"] <= cutoff]
            cols = ["order_id", "symbol", "side", "quantity", "submitted"]
            assert mine[cols].to_dict("records") == past[cols].to_dict("records")
            stamp = [line for line in reference.log if line < cutoff.isoformat() + "~"]
            assert [line for line in other_run.log if line < cutoff.isoformat() + "~"] == stamp
