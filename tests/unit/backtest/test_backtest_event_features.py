"""Event engine features: corporate actions, brackets, slippage inputs, the per-time hook,
several intervals per symbol, progress reports and bad order arguments.

Every bar here is synthetic (hand-written), and every expected number is worked out by hand
in the comments or with the standard library (``statistics.stdev``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest import Context, Strategy, make_strategy, run_backtest
from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.domain.market_data import Interval
from quantdesk.domain.orders import Fill
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    SpreadSlippage,
    SquareRootImpact,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
Row = tuple[float, float, float, float]


def frame(rows: Sequence[Row], **extra: Sequence[float]) -> pd.DataFrame:
    """Synthetic daily OHLC bars from ``START`` with optional extra columns."""
    index = pd.DatetimeIndex([START + timedelta(days=i) for i in range(len(rows))])
    data = pd.DataFrame(list(rows), columns=["open", "high", "low", "close"], index=index)
    for name, values in extra.items():
        data[name] = list(values)
    return data


def flat(price: float) -> Row:
    return (price, price, price, price)


class Script(Strategy):
    """Run ``actions[n]`` on the n-th bar (1-based) of the run; keep what it saw."""

    def __init__(self, actions: dict[int, Callable[[Context], object]]) -> None:
        self.actions = actions
        self.seen = 0
        self.notes: list[object] = []

    def on_bar(self, ctx: Context) -> None:
        self.seen += 1
        action = self.actions.get(self.seen)
        if action is not None:
            self.notes.append(action(ctx))


# -- corporate actions ---------------------------------------------------------------------


def test_split_doubles_shares_halves_cost_and_keeps_equity() -> None:
    # buy 100 after day 0 -> fills day 1 at 10; a 2-for-1 split goes ex on day 2, where the
    # unadjusted price halves to 5: 200 shares at cost 5, equity unchanged at 10 000.
    rows = [flat(10.0), flat(10.0), flat(5.0), flat(5.0)]
    data = frame(rows, split=[math.nan, 1.0, 2.0, math.nan])
    strategy = Script(
        {
            1: lambda ctx: ctx.buy("X", 100),
            3: lambda ctx: (ctx.holding("X").quantity, ctx.holding("X").average_cost),
            4: lambda ctx: list(ctx.history("X")),
        }
    )
    result = run_backtest(strategy, {"X": data}, cash=10_000.0)
    np.testing.assert_allclose(result.equity.to_numpy(), [10_000.0] * 4)
    np.testing.assert_allclose(result.positions["X"].to_numpy(), [0, 100, 200, 200])
    np.testing.assert_allclose(result.cash.to_numpy(), [10_000, 9_000, 9_000, 9_000])
    assert strategy.notes[1] == (200.0, 5.0)
    # the history keeps the prices as given (not back-adjusted)
    assert strategy.notes[2] == [10.0, 10.0, 5.0, 5.0]
    day2 = (START + timedelta(days=2)).isoformat()
    assert result.log == (
        f"{day2} split X ratio 2 ex 2024-01-03: position 100 -> 200, average cost 10 -> 5",
    )


def test_a_round_trip_across_a_split_stays_one_trade() -> None:
    # buy 100 at 10 (day 1), 2:1 split on day 2, sell all 200 at 6 (fills day 4 at the open):
    # one long trade of 200 post-split shares at 5 -> 6, P&L 200 x (6 - 5) = 200.
    rows = [flat(10.0), flat(10.0), flat(5.0), flat(5.0), flat(6.0)]
    data = frame(rows, split=[1.0, 1.0, 2.0, 1.0, 1.0])
    strategy = Script({1: lambda ctx: ctx.buy("X", 100), 4: lambda ctx: ctx.sell("X", 200)})
    result = run_backtest(strategy, {"X": data}, cash=10_000.0)
    trades = result.trades
    assert len(trades) == 1
    trade = trades.iloc[0]
    assert trade["direction"] == "long"
    assert trade["quantity"] == pytest.approx(200.0)
    assert trade["entry_price"] == pytest.approx(5.0)
    assert trade["exit_price"] == pytest.approx(6.0)
    assert trade["pnl"] == pytest.approx(200.0)
    assert result.final_equity == pytest.approx(10_200.0)


def test_dividend_is_credited_to_longs_after_the_split_of_the_same_day() -> None:
    # long 100 bought at 10; on day 2 a 2:1 split and a 0.25 dividend per (new) share go ex:
    # 200 shares * 0.25 = 50 cash. Equity: 9 000 + 50 + 200 * 5 = 10 050.
    rows = [flat(10.0), flat(10.0), flat(5.0), flat(5.0)]
    data = frame(rows, split=[1, 1, 2, 1], dividend=[0, 0, 0.25, math.nan])
    result = run_backtest(Script({1: lambda ctx: ctx.buy("X", 100)}), {"X": data}, cash=10_000.0)
    np.testing.assert_allclose(result.cash.to_numpy(), [10_000, 9_000, 9_050, 9_050])
    np.testing.assert_allclose(result.equity.to_numpy(), [10_000, 10_000, 10_050, 10_050])
    day2 = (START + timedelta(days=2)).isoformat()
    assert (
        result.log[1] == f"{day2} dividend X 0.25 per share ex 2024-01-03 on 200 shares: cash +50"
    )


def test_short_pays_the_dividend() -> None:
    # short 100 at 10 (cash 10 000 + 1 000); dividend 0.5 ex day 2: the short pays 50.
    rows = [flat(10.0)] * 4
    data = frame(rows, dividend=[0, 0, 0.5, 0])
    config = AccountConfig(initial_cash=10_000.0, allow_short=True)
    result = run_backtest(Script({1: lambda ctx: ctx.sell("X", 100)}), {"X": data}, account=config)
    np.testing.assert_allclose(result.cash.to_numpy(), [10_000, 11_000, 10_950, 10_950])
    np.testing.assert_allclose(result.equity.to_numpy(), [10_000, 10_000, 9_950, 9_950])
    assert "on -100 shares: cash -50" in result.log[0]


def test_split_rescales_a_working_limit_order() -> None:
    # a GTC buy limit of 10 shares at 8 placed on day 0 never fills before the 2:1 split on
    # day 2; it becomes 20 shares at 4 and fills on day 3 whose low touches 4.
    rows = [flat(10.0), flat(10.0), flat(5.0), (5.0, 5.0, 4.0, 4.5)]
    data = frame(rows, split=[1, 1, 2, 1])
    order = {1: lambda ctx: ctx.buy("X", 10, type="limit", limit_price=8.0)}
    result = run_backtest(Script(order), {"X": data}, cash=1_000.0)
    assert list(result.fills["quantity"]) == [20.0]
    assert list(result.fills["price"]) == [4.0]


# -- brackets ------------------------------------------------------------------------------


def _bracket(ctx: Context) -> object:
    return ctx.bracket("X", "buy", 10, stop_loss=8.0, take_profit=12.0)


def test_bracket_take_profit_fills_and_cancels_the_stop() -> None:
    rows = [
        flat(10.0),
        (10.0, 11.0, 9.5, 10.5),  # entry fills at the open 10; neither exit level is touched
        (11.0, 12.5, 10.8, 12.2),  # high 12.5 reaches the take-profit: sell 10 at 12
        flat(12.0),
    ]
    result = run_backtest(Script({1: _bracket}), {"X": frame(rows)}, cash=1_000.0)
    assert list(zip(result.fills["side"], result.fills["price"], strict=True)) == [
        ("buy", 10.0),
        ("sell", 12.0),
    ]
    assert list(result.fills["ts"]) == [pd.Timestamp(START + timedelta(days=d)) for d in (1, 2)]
    states = dict(zip(result.orders["order_id"], result.orders["status"], strict=True))
    assert states == {"o1": "filled", "o1.sl": "cancelled", "o1.tp": "filled"}
    assert result.final_equity == pytest.approx(1_000.0 - 100.0 + 120.0)


def test_bracket_with_both_levels_in_one_bar_takes_the_stop() -> None:
    rows = [
        flat(10.0),
        (10.0, 11.0, 9.5, 10.5),
        (10.0, 12.5, 7.5, 11.0),  # both 8 and 12 inside the range: the adverse stop wins, at 8
        flat(11.0),
    ]
    result = run_backtest(Script({1: _bracket}), {"X": frame(rows)}, cash=1_000.0)
    assert list(result.fills["price"]) == [10.0, 8.0]
    states = dict(zip(result.orders["order_id"], result.orders["status"], strict=True))
    assert states == {"o1": "filled", "o1.sl": "filled", "o1.tp": "cancelled"}
    assert result.final_equity == pytest.approx(1_000.0 - 100.0 + 80.0)
    assert list(result.orders["type"]) == ["market", "stop", "limit"]


def test_bracket_with_a_limit_entry_fills_inside_the_bar() -> None:
    # buy limit 9.5: day 1 opens at 10 and trades down to 9 -> entry at 9.5; the stop (8) and
    # the take-profit (11) are then matched from the next bar; day 2 reaches 11.
    strategy = Script(
        {
            1: lambda ctx: ctx.bracket(
                "X", "buy", 5, type="limit", limit_price=9.5, stop_loss=8.0, take_profit=11.0
            )
        }
    )
    rows = [flat(10.0), (10.0, 10.0, 9.0, 9.8), (10.0, 11.2, 9.9, 11.0), flat(11.0)]
    result = run_backtest(strategy, {"X": frame(rows)}, cash=1_000.0)
    assert list(result.fills["price"]) == [9.5, 11.0]
    assert list(result.orders["limit_price"])[:1] == [9.5]


# -- slippage inputs -----------------------------------------------------------------------

# closes with returns +2 %, -2 %, +1 % over days 1-3; volumes 1000, 2000, 3000 on days 1-3
IMPACT_CLOSES = [100.0, 102.0, 99.96, 100.9596, 101.5, 101.0]
IMPACT_VOLUMES = [500.0, 1_000.0, 2_000.0, 3_000.0, 9_999.0, 1.0]


def impact_frame(fill_open: float = 101.0) -> pd.DataFrame:
    rows = [flat(c) for c in IMPACT_CLOSES]
    rows[4] = (fill_open, 102.0, 100.5, 101.5)
    return frame(rows, volume=IMPACT_VOLUMES)


def test_square_root_impact_uses_volatility_and_adv_of_earlier_bars_only() -> None:
    # window 3; the buy of 50 placed on day 3 fills at day 4's open 101. Inputs from days 1-3:
    # sigma = stdev(+2 %, -2 %, +1 %) = 0.0208167, ADV = (1000 + 2000 + 3000) / 3 = 2000.
    sigma = statistics.stdev([0.02, -0.02, 0.01])
    assert sigma == pytest.approx(0.0208167, abs=1e-7)
    expected = 101.0 * (1 + 0.5 * sigma * math.sqrt(50 / 2_000))
    # an order placed on day 0 fills on day 1 before any history exists: the model's
    # defaults (volatility 0.1, adv 1000) apply: 102 * (1 + 0.5 * 0.1 * sqrt(10 / 1000))
    model = SquareRootImpact(coefficient=0.5, volatility=0.1, adv=1_000.0)
    config = ExecutionConfig(slippage_model=model)
    actions = {1: lambda ctx: ctx.buy("X", 10), 4: lambda ctx: ctx.buy("X", 50)}
    result = run_backtest(
        Script(actions), {"X": impact_frame()}, cash=100_000.0, execution=config, impact_window=3
    )
    prices = list(result.fills["price"])
    assert prices[0] == pytest.approx(102.0 * (1 + 0.5 * 0.1 * math.sqrt(10 / 1_000)), rel=1e-12)
    assert prices[1] == pytest.approx(expected, rel=1e-12)
    assert prices[1] == pytest.approx(101.16622, abs=1e-5)


def test_impact_inputs_do_not_look_at_the_fill_bar() -> None:
    model = SquareRootImpact(coefficient=1.0, volatility=0.1, adv=1_000.0)
    config = ExecutionConfig(slippage_model=model)
    prices = []
    for close, volume in ((101.5, 9_999.0), (150.0, 1.0)):
        data = impact_frame()
        data.iloc[4, data.columns.get_loc("close")] = close
        data.iloc[4, data.columns.get_loc("high")] = max(close, 102.0)
        data.iloc[4, data.columns.get_loc("volume")] = volume
        result = run_backtest(
            Script({4: lambda ctx: ctx.buy("X", 50)}),
            {"X": data},
            cash=100_000.0,
            execution=config,
            impact_window=3,
        )
        prices.append(float(result.fills["price"].iloc[0]))
    assert prices[0] == prices[1]


def test_impact_inputs_are_split_adjusted() -> None:
    # the same market with a 2:1 split on day 2 (prices halved, volumes doubled from then on):
    # buying twice the shares costs exactly half the price per share.
    model = SquareRootImpact(coefficient=1.0, volatility=0.1, adv=1_000.0)
    config = ExecutionConfig(slippage_model=model)
    plain = impact_frame()
    split = impact_frame()
    split.iloc[2:, :4] = split.iloc[2:, :4] / 2
    split.iloc[2:, 4] = split.iloc[2:, 4] * 2
    split["split"] = [1, 1, 2, 1, 1, 1]
    runs = []
    for data, shares in ((plain, 50), (split, 100)):
        result = run_backtest(
            Script({4: lambda ctx, q=shares: ctx.buy("X", q)}),
            {"X": data},
            cash=100_000.0,
            execution=config,
            impact_window=3,
        )
        runs.append(float(result.fills["price"].iloc[0]))
    assert runs[1] == pytest.approx(runs[0] / 2, rel=1e-12)


def test_spread_slippage_crosses_half_the_bar_spread() -> None:
    # buy on day 1 at the open 10 + 0.2 / 2; sell on day 2 at 11 - 0.4 / 2; on day 3 the spread
    # is unknown and spread_bps = 20 applies: 12 * (1 + 0.001)
    rows = [flat(10.0), flat(10.0), flat(11.0), flat(12.0), flat(12.0)]
    data = frame(rows, spread=[0.1, 0.2, 0.4, math.nan, 0.1])
    config = ExecutionConfig(slippage_model=SpreadSlippage(spread_bps=20))
    actions = {
        1: lambda ctx: ctx.buy("X", 10),
        2: lambda ctx: ctx.sell("X", 10),
        3: lambda ctx: ctx.buy("X", 10),
    }
    result = run_backtest(Script(actions), {"X": data}, cash=1_000.0, execution=config)
    prices = list(result.fills["price"])
    assert prices == pytest.approx([10.1, 10.8, 12.012], rel=1e-12)


# -- the per-time hook ---------------------------------------------------------------------


def test_on_timestamp_runs_once_per_time_after_every_bar_of_it() -> None:
    a = frame([flat(10.0), flat(11.0), flat(12.0)])
    b = frame([flat(20.0), flat(21.0), flat(19.0)]).drop(index=START + timedelta(days=1))

    class Rotate(Strategy):
        def __init__(self) -> None:
            self.events: list[tuple[object, ...]] = []

        def on_bar(self, ctx: Context) -> None:
            self.events.append(("bar", ctx.ts.day, ctx.symbol))

        def on_timestamp(self, ctx: Context) -> None:
            seen = tuple(ctx.bars_seen(s) for s in ctx.symbols)
            self.events.append(("time", ctx.ts.day, seen))
            # rotate into the symbol with the larger last close, equal weight 0.4
            best = max(ctx.symbols, key=lambda s: float(ctx.history(s, n=1)[-1]))
            for symbol in ctx.symbols:
                ctx.order_target_percent(symbol, 0.4 if symbol == best else 0.0)

    strategy = Rotate()
    result = run_backtest(strategy, {"B": b, "A": a}, cash=1_000.0)
    assert strategy.events == [
        ("bar", 1, "A"), ("bar", 1, "B"), ("time", 1, (1, 1)),
        ("bar", 2, "A"), ("time", 2, (2, 1)),
        ("bar", 3, "A"), ("bar", 3, "B"), ("time", 3, (3, 2)),
    ]  # fmt: skip
    # B (20) is the best on day 1: trunc(0.4 * 1000 / 20) = 20 shares. B has no day-2 bar, so
    # the buy fills at B's next bar, day 3, at 19; that day's target trunc(0.4 * 1000 / 19) = 21
    # adds one share, which has no bar left to fill on
    fills = list(
        zip(result.fills["symbol"], result.fills["quantity"], result.fills["price"], strict=True)
    )
    assert fills == [("B", 20.0, 19.0)]
    assert list(zip(result.orders["symbol"], result.orders["quantity"], strict=True)) == [
        ("B", 20.0),
        ("B", 1.0),
    ]
    assert list(result.orders["submitted"]) == [
        pd.Timestamp(START + timedelta(days=d)) for d in (0, 2)
    ]


# -- several intervals ---------------------------------------------------------------------

DAYS = 3


def intraday() -> pd.DataFrame:
    """Synthetic 5-minute bars 14:00-15:55 UTC on three days: close rises 0.1 a bar."""
    rows, index = [], []
    for day in range(DAYS):
        base = 100.0 + 10 * day
        for k in range(24):
            ts = START + timedelta(days=day, hours=14, minutes=5 * k)
            price = base + 0.1 * k
            rows.append((price, price + 0.05, price - 0.05, price + 0.05))
            index.append(ts)
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)


def resampled(bars: pd.DataFrame, rule: str) -> pd.DataFrame:
    grouped = bars.resample(rule, label="left", closed="left")
    out = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
        }
    )
    return out.dropna()


class Observer(Strategy):
    def __init__(self) -> None:
        self.seen: list[tuple[str, datetime, bool, list[float]]] = []

    def on_bar(self, ctx: Context) -> None:
        daily = list(ctx.history("X", "close", interval="1d"))
        self.seen.append((ctx.bar.interval.value, ctx.ts, ctx.is_trading_bar, daily))


def test_daily_bar_is_only_visible_after_its_session() -> None:
    five = intraday()
    daily = resampled(five, "1D")
    hourly = resampled(five, "1h")
    observer = Observer()
    result = run_backtest(observer, {"X": {"5m": five, "1d": daily, "1h": hourly}}, cash=1_000.0)
    closes = list(daily["close"])
    for interval, clock, trading, seen_daily in observer.seen:
        if interval == "5m":
            assert trading
            # during day D's intraday bars only the sessions before D are visible
            day = (clock - START).days
            assert seen_daily == closes[:day]
        else:
            assert not trading
    daily_events = [(c, s) for i, c, _, s in observer.seen if i == "1d"]
    assert daily_events == [(START + timedelta(days=d + 1), closes[: d + 1]) for d in range(DAYS)]
    # the 14:00-15:00 hourly bar comes after the 14:55 five-minute bar, before the 15:00 one
    order = [(i, c) for i, c, _, _ in observer.seen[:27]]
    assert order[11] == ("5m", START + timedelta(hours=14, minutes=55))
    assert order[12] == ("1h", START + timedelta(hours=15))
    assert order[13] == ("5m", START + timedelta(hours=15))
    # the broker and the equity curve see the trading bars only
    assert len(result.equity) == len(five)
    assert result.equity.index[-1] == pd.Timestamp(five.index[-1])


def test_orders_from_a_daily_close_fill_on_the_next_intraday_bar() -> None:
    five = intraday()
    daily = resampled(five, "1D")

    class DailyBuyer(Strategy):
        def __init__(self) -> None:
            self.sma: list[float] = []

        def on_bar(self, ctx: Context) -> None:
            if ctx.bar.interval is Interval.D1:
                value = ctx.indicator("sma", interval="1d", timeperiod=2)
                assert isinstance(value, float)
                self.sma.append(value)
                if ctx.bars_seen("X", "1d") == 1:
                    ctx.buy("X", 2)
            elif ctx.bars_seen("X") == 30:  # 14:25 on day 1: a limit inside the next bar
                ctx.sell("X", 1, type="limit", limit_price=110.62)

    strategy = DailyBuyer()
    result = run_backtest(strategy, {"X": {"1d": daily, "5m": five}}, cash=1_000.0)
    # the day-0 daily bar closes at 00:00 of day 1: the buy is stamped then and fills at the
    # first 5-minute bar of day 1 (14:00, open 110)
    fills = result.fills.reset_index(drop=True)
    assert fills["ts"][0] == pd.Timestamp(START + timedelta(days=1, hours=14))
    assert fills["price"][0] == 110.0
    assert result.orders["submitted"][0] == pd.Timestamp(START + timedelta(days=1))
    # the limit sell placed at 14:25 fills on the 14:30 bar (110.6 +- 0.05) at its limit
    assert fills["ts"][1] == pd.Timestamp(START + timedelta(days=1, hours=14, minutes=30))
    assert fills["price"][1] == 110.62
    # daily SMA(2) of the daily closes 102.35, 112.35, 122.35
    assert math.isnan(strategy.sma[0])
    assert strategy.sma[1:] == pytest.approx([107.35, 117.35])


def test_a_one_interval_mapping_equals_the_plain_frame() -> None:
    data = frame([flat(10 + (i % 5)) for i in range(30)])
    strategy = {"fast": 2, "slow": 4, "weight": 0.5}
    plain = run_backtest(make_strategy("sma_cross", strategy), {"X": data})
    mapped = run_backtest(make_strategy("sma_cross", strategy), {"X": {"1d": data}})
    pd.testing.assert_series_equal(plain.equity, mapped.equity)
    pd.testing.assert_frame_equal(plain.fills, mapped.fills)
    assert len(plain.fills) > 2


def test_built_ins_ignore_coarser_bars() -> None:
    five = intraday()
    strategy = make_strategy("sma_cross", fast=3, slow=6)
    alone = run_backtest(strategy, {"X": five}, interval="5m")
    both = run_backtest(
        make_strategy("sma_cross", fast=3, slow=6), {"X": {"5m": five, "1d": resampled(five, "1D")}}
    )
    pd.testing.assert_frame_equal(alone.fills, both.fills)


# -- progress ------------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "expected_calls"), [(150, 100), (30, 60)])
def test_progress_is_monotone_and_ends_at_the_total(days: int, expected_calls: int) -> None:
    data = frame([flat(10.0 + i % 3) for i in range(days)])
    calls: list[tuple[int, int]] = []
    run_backtest(Strategy(), {"A": data, "B": data}, progress=lambda d, t: calls.append((d, t)))
    total = 2 * days
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(set(done))
    # about every 1 %: 300 bars -> every 3rd bar; 60 bars -> every bar
    assert len(calls) == expected_calls
    assert max(np.diff([0, *done])) <= max(1, total // 100)


# -- bad input -----------------------------------------------------------------------------


def _raises(action: Callable[[Context], object]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        run_backtest(Script({1: action}), {"X": frame([flat(10.0)] * 3)})
    return info.value


@pytest.mark.parametrize(
    ("action", "location", "field"),
    [
        (lambda ctx: ctx.buy("X", -5), "order", "quantity"),
        (lambda ctx: ctx.buy("X", 0), "order", "quantity"),
        (lambda ctx: ctx.buy("X", float("nan")), "order", "quantity"),
        (lambda ctx: ctx.buy("X", 5, type="limit"), "order", "limit_price"),
        (lambda ctx: ctx.sell("X", 5, type="stop"), "order", "stop_price"),
        (lambda ctx: ctx.buy("X", 5, limit_price=9.0), "order", "limit_price"),
        (lambda ctx: ctx.order("X", "hold", 5), "order", "side"),
        (lambda ctx: ctx.buy("X", 5, tif="forever"), "order", "tif"),
        (lambda ctx: ctx.buy("X", 5, type="iceberg"), "order", "type"),
        (
            lambda ctx: ctx.bracket("X", "buy", 5, stop_loss=12, take_profit=11),
            "bracket",
            "stop_loss",
        ),
        (lambda ctx: ctx.bracket("X", "buy", 5, stop_loss=-1), "bracket", "stop_loss"),
        (lambda ctx: ctx.bracket("X", "buy", 5, take_profit=math.inf), "bracket", "take_profit"),
        (lambda ctx: ctx.bracket("X", "buy", -5, stop_loss=8), "order", "quantity"),
        (lambda ctx: ctx.history("X", interval="7m"), "history", "interval"),
    ],
)
def test_bad_order_arguments_name_the_field(
    action: Callable[[Context], object], location: str, field: str
) -> None:
    error = _raises(action)
    assert (error.issues[0].location, error.issues[0].field) == (location, field)


def test_numpy_quantities_are_accepted() -> None:
    result = run_backtest(
        Script({1: lambda ctx: ctx.buy("X", np.int64(3))}), {"X": frame([flat(10.0)] * 3)}
    )
    assert list(result.fills["quantity"]) == [3.0]


def test_missing_interval_is_not_found() -> None:
    with pytest.raises(NotFound, match="no 1h bars"):
        run_backtest(
            Script({1: lambda ctx: ctx.history("X", interval="1h")}), {"X": frame([flat(1.0)] * 3)}
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"split": [1, -2, 1]}, "split"),
        ({"split": [1, 0, 1]}, "split"),
        ({"dividend": [0, -0.5, 0]}, "dividend"),
        ({"spread": [0.1, -0.1, 0.1]}, "spread"),
    ],
)
def test_bad_action_columns_name_the_row(kwargs: dict[str, list[float]], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        run_backtest(Strategy(), {"X": frame([flat(10.0)] * 3, **kwargs)})
    issue = info.value.issues[0]
    assert (issue.location, issue.field, issue.row) == ("bars[X]", field, 1)


def test_bad_run_arguments() -> None:
    data = {"X": frame([flat(10.0)] * 3)}
    with pytest.raises(ValidationError) as info:
        run_backtest(Strategy(), data, impact_window=1)
    assert info.value.issues[0].field == "impact_window"
    with pytest.raises(ValidationError) as info:
        run_backtest(Strategy(), data, progress=5)  # type: ignore[arg-type]
    assert info.value.issues[0].field == "progress"
    with pytest.raises(ValidationError) as info:
        run_backtest(Strategy(), {"X": {"7m": data["X"]}})
    assert info.value.issues[0].field == "interval"
    with pytest.raises(ValidationError, match="given twice"):
        run_backtest(Strategy(), {"X": {"1d": data["X"], "daily": data["X"]}})
    five = intraday()
    daily = resampled(five, "1D")
    daily["split"] = [1.0, 2.0, 1.0]
    five["split"] = 1.0
    five.iloc[24, five.columns.get_loc("split")] = 3.0
    with pytest.raises(ValidationError, match="two different split values"):
        run_backtest(Strategy(), {"X": {"1d": daily, "5m": five}})


def test_repeated_actions_across_intervals_count_once() -> None:
    five = intraday()
    daily = resampled(five, "1D")
    daily["dividend"] = [0.0, 1.0, 0.0]
    five["dividend"] = 0.0
    five.iloc[24:48, five.columns.get_loc("dividend")] = 1.0  # every bar of day 1
    fills: list[Fill] = []

    class Holder(Strategy):
        def on_start(self, ctx: Context) -> None:
            self.done = False

        def on_bar(self, ctx: Context) -> None:
            if not self.done:
                ctx.buy("X", 3)
                self.done = True

        def on_fill(self, ctx: Context, fill: Fill) -> None:
            fills.append(fill)

    result = run_backtest(Holder(), {"X": {"1d": daily, "5m": five}}, cash=1_000.0)
    # 3 shares bought at the second bar's open (100.1); one dividend of 1 per share: +3
    assert [f.price for f in fills] == [pytest.approx(100.1)]
    assert result.cash.iloc[-1] == pytest.approx(1_000.0 - 3 * 100.1 + 3.0)
    assert sum("dividend" in line for line in result.log) == 1
