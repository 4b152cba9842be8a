"""Vectorised engine: hand-worked runs, stops, validation and accounting properties.

All bars in this module are synthetic (hand-written or generated), labelled as such. Expected
numbers are worked out by hand in the comments next to them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import quantdesk.backtest.vectorized as vectorized
from quantdesk.backtest.vectorized import (
    VECTORIZED_STRATEGIES,
    SizeType,
    VectorizedResult,
    run_signals,
    run_strategy,
)
from quantdesk.core.errors import ValidationError
from quantdesk.domain.market_data import Bar
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    FixedBpsSlippage,
    MarketFill,
    PercentFee,
    SpreadSlippage,
)

# Synthetic OHLC over six days (open, high, low, close).
HAND_BARS = np.array(
    [
        (10.0, 11.0, 9.0, 10.0),
        (10.0, 12.0, 10.0, 11.0),
        (12.0, 13.0, 11.0, 12.0),
        (12.0, 14.0, 12.0, 13.0),
        (13.0, 13.0, 10.0, 11.0),
        (10.0, 12.0, 9.0, 12.0),
    ]
)
INDEX = pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=6, freq="D")


def signal(*bars: int, length: int = 6) -> np.ndarray:
    out = np.zeros(length, dtype=bool)
    out[list(bars)] = True
    return out


def hand_run(
    entries: np.ndarray, exits: np.ndarray | None = None, **kwargs: object
) -> VectorizedResult:
    o, h, lo, c = HAND_BARS.T
    kwargs.setdefault("cash", 1000.0)
    kwargs.setdefault("index", INDEX)
    return run_signals(c, entries, exits, open=o, high=h, low=lo, **kwargs)


def equity(result: VectorizedResult) -> list[float]:
    return result.equity.iloc[:, 0].tolist()


# -- hand-worked runs --------------------------------------------------------------------------


def test_target_percent_buys_at_next_open_and_marks_at_close() -> None:
    # t1 close 11: target trunc(0.5 * 1000 / 11) = 45 shares; fill t2 open 12 -> cash 460.
    # t3 exit -> sell 45 at t4 open 13 -> cash 460 + 585 = 1045.
    result = hand_run(signal(1), signal(3), size=0.5)
    assert equity(result) == [1000, 1000, 1000, 1045, 1045, 1045]
    fills = result.fills
    assert fills["ts"].tolist() == [INDEX[2], INDEX[4]]
    assert fills["side"].tolist() == ["buy", "sell"]
    assert fills["quantity"].tolist() == [45, 45]
    assert fills["price"].tolist() == [12, 13]
    assert fills["order_id"].tolist() == ["o1", "o2"]


def test_percent_fee_minimum_and_fixed_bps_slippage() -> None:
    # buy 45 at 12 * 1.01 = 12.12, fee max(0.001 * 545.4, 2) = 2: cash 1000 - 545.4 - 2 = 452.6
    # equity t2 = 452.6 + 45 * 12 = 992.6, t3 = 452.6 + 585 = 1037.6
    # sell 45 at 13 * 0.99 = 12.87, fee 2: cash 452.6 + 579.15 - 2 = 1029.75
    execution = ExecutionConfig(PercentFee(0.001, minimum=2.0), FixedBpsSlippage(100))
    result = hand_run(signal(1), signal(3), size=0.5, execution=execution)
    assert equity(result) == pytest.approx([1000, 1000, 992.6, 1037.6, 1029.75, 1029.75], 1e-12)
    fills = result.fills
    assert fills["price"].tolist() == pytest.approx([12.12, 12.87], rel=1e-12)
    assert fills["fee"].tolist() == [2.0, 2.0]
    assert fills["slippage"].tolist() == pytest.approx([5.4, 5.85], rel=1e-9)
    assert result.metrics.loc[0, "fees"] == 4.0


def test_same_close_option_fills_at_the_deciding_close() -> None:
    # buy 45 at t1 close 11 -> cash 505; sell 45 at t3 close 13 -> cash 1090
    execution = ExecutionConfig(market_fill=MarketFill.SAME_CLOSE_OPTIMISTIC)
    result = hand_run(signal(1), signal(3), size=0.5, execution=execution)
    assert equity(result) == [1000, 1000, 1045, 1090, 1090, 1090]
    assert result.fills["ts"].tolist() == [INDEX[1], INDEX[3]]
    assert result.fills["price"].tolist() == [11, 13]


def test_fill_that_breaks_the_cash_limit_is_rejected() -> None:
    # target trunc(1000 / 11) = 90 passes at the close (990), but 90 * 12 = 1080 at the open
    result = hand_run(signal(1), signal(3), size=1.0)
    assert equity(result) == [1000] * 6
    assert result.fills.empty
    orders = result.orders
    assert orders["status"].tolist() == ["rejected"]  # the exit never fires: nothing is held
    assert orders["reason"].iloc[0].startswith("insufficient buying power: the order needs 1,080")
    assert result.metrics.loc[0, "rejected_orders"] == 1


def test_short_pays_borrow_per_calendar_day_at_the_previous_close() -> None:
    # sell 45 at 12 -> cash 1540; t3 borrow 45 * 12 * 0.36 / 360 = 0.54; t4 borrow 0.585
    # then buy 45 at 13: cash 1540 - 0.54 - 0.585 - 585 = 953.875
    account = AccountConfig(1000.0, borrow_rate=0.36, day_count=360)
    o, h, lo, c = HAND_BARS.T
    result = run_signals(
        c,
        signal(),
        open=o,
        high=h,
        low=lo,
        short_entries=signal(1),
        short_exits=signal(3),
        size=0.5,
        account=account,
        index=INDEX,
    )
    assert equity(result) == pytest.approx([1000, 1000, 1000, 954.46, 953.875, 953.875], 1e-12)
    assert result.fills["side"].tolist() == ["sell", "buy"]


def test_short_sale_is_refused_by_a_long_only_account() -> None:
    o, h, lo, c = HAND_BARS.T
    result = run_signals(
        c,
        signal(),
        open=o,
        high=h,
        low=lo,
        short_entries=signal(1),
        account=AccountConfig(1000.0, allow_short=False),
        index=INDEX,
    )
    assert result.fills.empty
    assert result.orders["reason"].iloc[0] == (
        "short selling is not allowed: the account holds 0 ASSET and the order sells 86"
    )


def test_volume_cap_spreads_an_order_and_charges_the_minimum_once() -> None:
    # 25 shares, 10 a bar (half of 20): 10 @ 10, 10 @ 12, 5 @ 12; fee(10) = 2, then 0, 0
    # the entry at t1 is ignored: 10 held + 15 working is not flat
    execution = ExecutionConfig(PercentFee(0.001, minimum=2.0), participation=0.5)
    result = hand_run(
        signal(0, 1), size=25, size_type="shares", volume=np.full(6, 20.0), execution=execution
    )
    fills = result.fills
    assert fills["quantity"].tolist() == [10, 10, 5]
    assert fills["price"].tolist() == [10, 12, 12]
    assert fills["fee"].tolist() == [2.0, 0.0, 0.0]
    assert fills["order_id"].unique().tolist() == ["o1"]
    # cash 1000 - 102 - 120 - 60 = 718, plus 25 shares at 12
    assert equity(result)[-1] == 718 + 25 * 12


def test_value_size_buys_whole_shares_for_the_amount() -> None:
    result = hand_run(signal(1), size=500.0, size_type=SizeType.VALUE)
    assert result.fills["quantity"].tolist() == [45]  # trunc(500 / 11)


def test_retarget_tops_the_position_up_and_guards_ignore_repeats() -> None:
    guarded = hand_run(signal(1, 2), size=0.5)
    assert guarded.fills["quantity"].tolist() == [45]
    # t2: equity 460 + 45 * 12 = 1000 -> target trunc(500 / 12) = 41 -> sell 4 at t3 open 12
    retarget = hand_run(signal(1, 2), size=0.5, retarget=True)
    fills = retarget.fills
    assert list(zip(fills["side"], fills["quantity"], fills["price"], strict=True)) == [
        ("buy", 45, 12),
        ("sell", 4, 12),
    ]


def test_take_profit_fills_at_its_limit() -> None:
    # entry at t0 fills t1 open 10: stop 9.5, take-profit 12.5; t2 high 13 -> sell at 12.5
    result = hand_run(signal(0), size=10, size_type="shares", sl_stop=0.05, tp_stop=0.25)
    fills = result.fills
    assert fills["order_id"].tolist() == ["o1", "o1.tp"]
    assert fills["price"].tolist() == [10, 12.5]
    assert fills["ts"].tolist() == [INDEX[1], INDEX[2]]
    assert equity(result)[-1] == 1000 - 100 + 125


def test_stop_loss_goes_first_when_both_levels_are_inside_the_bar() -> None:
    # entry at t4 fills t5 open 10: stop 9.5 and take-profit 11 both inside [9, 12] -> stop
    result = hand_run(signal(4), size=10, size_type="shares", sl_stop=0.05, tp_stop=0.1)
    assert result.fills["order_id"].tolist() == ["o1", "o1.sl"]
    assert result.fills["price"].tolist() == [10, 9.5]
    bt = result.result(0)
    assert bt.orders["type"].tolist() == ["market", "stop"]
    assert bt.orders["stop_price"].iloc[1] == 9.5


def test_stop_gapped_through_fills_at_the_open_and_cancels_working_orders() -> None:
    # synthetic: entry t0 fills t1 open 10 (stop 9.5); exit decided at t1 works for t2, but t2
    # opens at 9, through the stop: the stop fills at 9 and the market exit is cancelled
    bars = np.array([(10, 10, 10, 10), (10, 11, 9.8, 10.5), (9, 9.5, 8.5, 9.0)], dtype=float)
    o, h, lo, c = bars.T
    result = run_signals(
        c,
        signal(0, length=3),
        signal(1, length=3),
        open=o,
        high=h,
        low=lo,
        size=10,
        size_type="shares",
        sl_stop=0.05,
        cash=1000.0,
        index=INDEX[:3],
    )
    assert result.fills["price"].tolist() == [10, 9]
    orders = result.orders.set_index("order_id")
    assert orders.loc["o2", "status"] == "cancelled"
    assert orders.loc["o1.sl", "status"] == "filled"
    assert result.equity.iloc[-1, 0] == 1000 - 100 + 90


def test_result_of_a_column_is_an_event_style_backtest_result() -> None:
    result = hand_run(signal(1), signal(3), size=0.5)
    bt = result.result(0)
    assert bt.equity.tolist() == [1000, 1000, 1000, 1045, 1045, 1045]
    assert bt.cash.tolist() == [1000, 1000, 460, 460, 1045, 1045]
    assert bt.positions.iloc[:, 0].tolist() == [0, 0, 45, 45, 0, 0]
    assert bt.trades["pnl"].tolist() == [45.0]
    assert bt.metrics.trades == 1
    assert result.metrics.loc[0, "trades"] == 1
    assert result.metrics.loc[0, "win_rate"] == 1.0
    assert result.metrics.loc[0, "total_return"] == pytest.approx(0.045)


def test_grid_columns_are_labelled_by_symbol_and_parameters() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))  # synthetic
    index = pd.date_range("2020-01-01", periods=300, freq="D", tz="UTC")
    bars = {"AAA": pd.DataFrame({"close": close}, index=index)}
    result = run_strategy("sma_cross", bars, {"fast": [5, 10], "slow": [20, 40]})
    assert result.columns.names == ["symbol", "fast", "slow", "weight"]
    assert result.columns.tolist()[0] == ("AAA", 5, 20, 0.95)
    assert result.metrics.shape == (4, 17)
    assert result.result(("AAA", 10, 40, 0.95)).strategy == "sma_cross"
    assert "sma_cross" in VECTORIZED_STRATEGIES


def test_pandas_inputs_name_columns_and_symbols() -> None:
    c = HAND_BARS[:, 3]
    close = pd.DataFrame({"AAA": c, "BBB": c * 2}, index=INDEX)  # synthetic
    entries = pd.DataFrame({"first": signal(1), "second": signal(2)}, index=INDEX)
    result = run_signals(close, entries, size=0.5, cash=1000.0)
    assert result.columns.tolist() == ["first", "second"]
    assert result.symbols == ("AAA", "BBB")
    assert result.index.equals(INDEX)
    # column "second" trades BBB (close-only): t2 close 24 -> trunc(500 / 24) = 20 shares
    fills = result.fills
    assert fills.loc[fills["column"] == "second", "quantity"].tolist() == [20]
    assert result.result("second").fills["symbol"].tolist() == ["BBB"]


def test_frames_polars_and_bar_lists_run_alike() -> None:
    frame = pd.DataFrame(HAND_BARS, columns=["Open", "High", "Low", "Close"], index=INDEX)
    stamps = INDEX.to_pydatetime()
    bars = [
        Bar("AAA", "1d", ts, o, h, lo, c)
        for ts, (o, h, lo, c) in zip(stamps, HAND_BARS, strict=True)
    ]
    polars = pl.DataFrame({"ts": stamps, **{k: frame[k].to_numpy() for k in frame.columns}})
    grid = [{"fast": 1, "slow": 2}]
    runs = [run_strategy("sma_cross", {"AAA": data}, grid) for data in (frame, polars, bars)]
    for run in runs[1:]:
        pd.testing.assert_frame_equal(run.equity, runs[0].equity)
        pd.testing.assert_frame_equal(run.orders, runs[0].orders)
    # SMA(1) crosses above SMA(2) at t5 (11 <= 12, then 12 > 11.5): the order waits for t6
    assert runs[0].orders["status"].tolist() == ["accepted"]


def test_public_names_are_pinned() -> None:
    assert vectorized.__all__ == [
        "METRIC_COLUMNS",
        "VECTORIZED_STRATEGIES",
        "SizeType",
        "StrategySignals",
        "VectorizedResult",
        "run_signals",
        "run_strategy",
        "strategy_signals",
    ]


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"entries": np.zeros(5, dtype=bool)}, "entries"),
        ({"entries": np.zeros(6)}, "entries"),
        ({"exits": np.zeros((6, 2), dtype=bool)}, "exits"),
        ({"size": math.nan}, "size"),
        ({"size": [0.5, 0.5]}, "size"),
        ({"size": -1.0}, "size"),
        ({"size_type": "lots"}, "size_type"),
        ({"sl_stop": 1.5}, "sl_stop"),
        ({"open": np.ones(6)}, "high"),
        ({"index": INDEX[:5]}, "index"),
        ({"index": INDEX[::-1]}, "index"),
        ({"close": np.array([10.0, 11, math.nan, 12, 13, 12])}, "close"),
        ({"close": np.array([], dtype=float)}, "close"),
        ({"volume": np.full(6, -1.0)}, "volume"),
        ({"price_columns": [3]}, "price_columns"),
        (
            {"execution": ExecutionConfig(slippage_model=SpreadSlippage())},
            "execution.slippage_model",
        ),
        (
            {"execution": ExecutionConfig(participation=0.1), "sl_stop": 0.1},
            "execution.participation",
        ),
    ],
)
def test_bad_input_names_the_parameter(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "close": HAND_BARS[:, 3],
        "entries": signal(1),
        "exits": None,
        "index": INDEX,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as caught:
        run_signals(**args)
    assert caught.value.issues[0].field == field


def test_inconsistent_ohlc_is_refused_with_its_row() -> None:
    o, h, lo, c = HAND_BARS.T.copy()
    h[4] = 9.0  # below the open of 13
    with pytest.raises(ValidationError) as caught:
        run_signals(c, signal(1), open=o, high=h, low=lo)
    assert caught.value.issues[0].row == 4


@pytest.mark.parametrize(
    ("name", "grid", "field"),
    [
        ("sma_cros", None, "name"),
        ("fixed_weight_rebalance", None, "name"),
        ("sma_cross", {"fast": [10], "slow": [5]}, None),
        ("rsi_reversion", [{"period": 14, "lenght": 3}], "lenght"),
        ("sma_cross", {"fast": []}, "params_grid"),
        ("sma_cross", [], "params_grid"),
    ],
)
def test_bad_strategy_or_parameters_are_refused(name: str, grid: object, field: str | None) -> None:
    close = pd.DataFrame(
        {"close": np.linspace(10, 20, 50)}, index=pd.date_range("2020", periods=50)
    )
    with pytest.raises(ValidationError) as caught:
        run_strategy(name, {"AAA": close}, grid)
    assert caught.value.issues[0].field == field


def test_bad_bars_name_the_symbol_and_row() -> None:
    index = pd.date_range("2020", periods=50)
    close = np.linspace(10, 20, 50)
    close[7] = -1.0
    with pytest.raises(ValidationError) as caught:
        run_strategy("sma_cross", {"AAA": pd.DataFrame({"close": close}, index=index)})
    issue = caught.value.issues[0]
    assert (issue.field, issue.row) == ("bars[AAA].close", 7)


def test_symbols_on_different_calendars_are_refused() -> None:
    index = pd.date_range("2020", periods=50)
    bars = {
        "AAA": pd.DataFrame({"close": np.linspace(10, 20, 50)}, index=index),
        "BBB": pd.DataFrame({"close": np.linspace(10, 20, 50)}, index=index + pd.Timedelta("1D")),
    }
    with pytest.raises(ValidationError) as caught:
        run_strategy("sma_cross", bars)
    assert caught.value.issues[0].field == "bars[BBB]"


def test_unknown_result_column_is_refused() -> None:
    with pytest.raises(ValidationError):
        hand_run(signal(1)).result("nope")


# -- properties --------------------------------------------------------------------------------


@st.composite
def markets(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """SYNTHETIC OHLC random walks with random long/short signals (bars x 2 columns)."""
    n = draw(st.integers(5, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.03, (n, 2)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.01, (n, 2)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, (n, 2)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, (n, 2)))
    signals = [rng.random((n, 2)) < 0.2 for _ in range(4)]
    return (open_, high, low, close, *signals)


@settings(max_examples=40, deadline=None)
@given(markets(), st.floats(0.1, 1.5), st.booleans())
def test_cash_is_what_the_fills_paid_and_equity_is_cash_plus_position(
    market: tuple[np.ndarray, ...], size: float, same_close: bool
) -> None:
    open_, high, low, close, entries, exits, short_entries, short_exits = market
    execution = ExecutionConfig(
        PercentFee(0.002, minimum=1.0),
        FixedBpsSlippage(7),
        MarketFill.SAME_CLOSE_OPTIMISTIC if same_close else MarketFill.NEXT_OPEN,
    )
    result = run_signals(
        close,
        entries,
        exits,
        open=open_,
        high=high,
        low=low,
        short_entries=short_entries,
        short_exits=short_exits,
        size=size,
        execution=execution,
        account=AccountConfig(10_000.0, max_leverage=2.0),
    )
    records = result.fill_records
    n, m = close.shape
    for c in range(m):
        mine = records[records["column"] == c]
        signed = mine["side"] * mine["quantity"]
        flows = np.zeros(n)
        np.add.at(flows, mine["bar"], -(signed * mine["price"]) - mine["fee"])
        held = np.zeros(n)
        np.add.at(held, mine["bar"], signed)
        cash = 10_000.0 + np.cumsum(flows)
        position = np.cumsum(held)
        expected = cash + position * close[:, c]
        np.testing.assert_allclose(result.equity.iloc[:, c], expected, rtol=1e-9, atol=1e-6)
        # a fill that grows the position leaves gross exposure <= 2x equity at its price
        after = position[mine["bar"]]
        grows = np.abs(after) > np.abs(after - signed)
        gross = np.abs(after * mine["price"])[grows]
        equity_at_fill = (cash[mine["bar"]] + after * mine["price"])[grows]
        assert (gross <= 2.0 * equity_at_fill * (1 + 1e-9) + 1e-6).all()


@settings(max_examples=30, deadline=None)
@given(markets(), st.floats(100.0, 1e7))
def test_no_signal_means_flat_equity(market: tuple[np.ndarray, ...], cash: float) -> None:
    open_, high, low, close = market[:4]
    none = np.zeros(close.shape, dtype=bool)
    result = run_signals(close, none, none, open=open_, high=high, low=low, cash=cash)
    assert (result.equity.to_numpy() == cash).all()
    assert len(result.fill_records) == 0


@settings(max_examples=30, deadline=None)
@given(markets(), st.floats(0.1, 1.0))
def test_columns_are_independent_and_cash_accounts_never_borrow(
    market: tuple[np.ndarray, ...], size: float
) -> None:
    open_, high, low, close, entries, exits = market[:6]
    index = pd.date_range("2000-01-03", periods=close.shape[0], freq="D", tz="UTC")
    both = run_signals(
        close, entries, exits, open=open_, high=high, low=low, size=size, index=index
    )
    for c in range(2):
        alone = run_signals(
            close[:, c],
            entries[:, c],
            exits[:, c],
            open=open_[:, c],
            high=high[:, c],
            low=low[:, c],
            size=size,
            index=index,
        )
        np.testing.assert_array_equal(alone.equity.iloc[:, 0], both.equity.iloc[:, c])
        assert (both.result(c).cash >= 0).all()


@settings(max_examples=30, deadline=None)
@given(markets(), st.integers(1, 4))
def test_no_lookahead_prices_after_a_bar_do_not_change_the_past(
    market: tuple[np.ndarray, ...], cut_back: int
) -> None:
    open_, high, low, close, entries, exits = market[:6]
    n = close.shape[0]
    cut = max(1, n - cut_back)
    base = run_signals(close, entries, exits, open=open_, high=high, low=low)
    shocked = [array.copy() for array in (open_, high, low, close)]
    for array in shocked:
        array[cut:] *= 1.7
    moved = run_signals(
        shocked[3], entries, exits, open=shocked[0], high=shocked[1], low=shocked[2]
    )
    np.testing.assert_array_equal(base.equity.to_numpy()[:cut], moved.equity.to_numpy()[:cut])
