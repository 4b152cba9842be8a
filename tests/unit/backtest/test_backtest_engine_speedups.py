"""The event engine's fast paths: indicator handles, lazily written history, recorded positions
and timestamps, the columnar ``build_result`` inputs and the cheap order constructors.

Expected values come from TA-Lib (indicator values), the input frames themselves (history),
Python's own ``datetime.timestamp`` (indicator time stamps), the fills table (positions) and
hand-worked examples; the two input forms of ``build_result`` are checked against each other.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta, timezone

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.backtest import Context, Strategy, make_strategy, run_backtest
from quantdesk.backtest.event.engine import _exact_micros, _indicator_stamps
from quantdesk.backtest.results import build_result
from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.domain.orders import Fill, Order, OrderSide, OrderStatus, OrderType, OrderUpdate
from quantdesk.indicators.streaming import StreamingIndicator

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def spx() -> pd.DataFrame:
    frame = arch.data.sp500.load().iloc[:400]
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    return frame


def synthetic(days: int, start: datetime = START, seed: int = 1) -> pd.DataFrame:
    """Daily OHLCV bars of a random walk (open/high/low around the close)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, days)))
    open_ = close * np.exp(rng.normal(0, 0.003, days))
    index = pd.DatetimeIndex([start + timedelta(days=i) for i in range(days)])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.01,
            "low": np.minimum(open_, close) * 0.99,
            "close": close,
            "volume": rng.integers(1_000, 9_000, days).astype(float),
        },
        index=index,
    )


# -- ctx.stream ---------------------------------------------------------------------------


class Streams(Strategy):
    """Keep SMA handles from the first bar; one more from bar 100; record values per bar."""

    def __init__(self) -> None:
        self.fast: StreamingIndicator | None = None
        self.late: StreamingIndicator | None = None
        self.values: list[tuple[float, float, float]] = []
        self.late_values: list[float] = []
        self.same: list[bool] = []

    def on_bar(self, ctx: Context) -> None:
        if self.fast is None:
            self.fast = ctx.stream("sma", timeperiod=20)
        handle = ctx.stream("sma", "spx", timeperiod=20)
        self.same.append(handle is self.fast)
        value = self.fast.value
        assert isinstance(value, float)
        looked_up = ctx.indicator("sma", timeperiod=20)
        assert isinstance(looked_up, float)
        self.values.append((value, looked_up, ctx.bar.close))
        if ctx.bars_seen("SPX") == 100:
            self.late = ctx.stream("ema", "SPX", timeperiod=10)
        if self.late is not None:
            late = self.late.value
            assert isinstance(late, float)
            self.late_values.append(late)


def test_stream_handles_follow_talib_and_match_indicator(spx: pd.DataFrame) -> None:
    strategy = Streams()
    run_backtest(strategy, {"SPX": spx})
    closes = spx["Close"].to_numpy(dtype=np.float64)
    expected = talib.SMA(closes, timeperiod=20)
    values = np.array([v for v, _, _ in strategy.values])
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(np.array([v for _, v, _ in strategy.values]), expected)
    assert all(strategy.same)
    # created at bar 100, fed the history so far, then updated by the engine
    np.testing.assert_array_equal(
        np.array(strategy.late_values), talib.EMA(closes, timeperiod=10)[99:]
    )


def test_stream_errors_name_the_problem() -> None:
    seen: list[str] = []

    class Probe(Strategy):
        def on_start(self, ctx: Context) -> None:
            try:
                ctx.stream("sma", timeperiod=3)
            except RuntimeError as error:
                seen.append(f"start: {error}")

        def on_bar(self, ctx: Context) -> None:
            if ctx.bars_seen("X") == 2:
                for call in (
                    lambda: ctx.stream("sma", "QQQ", timeperiod=3),
                    lambda: ctx.stream("no_such_indicator"),
                    lambda: ctx.stream("sma", interval="1h"),
                ):
                    try:
                        call()
                    except (NotFound, ValidationError) as error:
                        seen.append(type(error).__name__)

    run_backtest(Probe(), {"X": synthetic(5)})
    assert seen[0].startswith("start: no bar yet")
    assert seen[1:] == ["NotFound", "NotFound", "NotFound"]


def test_reusing_a_built_in_strategy_gives_the_same_run(spx: pd.DataFrame) -> None:
    strategy = make_strategy("sma_cross", fast=10, slow=30)
    first = run_backtest(strategy, {"SPX": spx})
    other = run_backtest(strategy, {"SPX": synthetic(300), "ZZZ": synthetic(300, seed=2)})
    again = run_backtest(strategy, {"SPX": spx})
    fresh = run_backtest(make_strategy("sma_cross", fast=10, slow=30), {"SPX": spx})
    assert len(other.fills) > 0
    pd.testing.assert_frame_equal(again.fills, first.fills)
    pd.testing.assert_frame_equal(fresh.fills, first.fills)
    pd.testing.assert_series_equal(again.equity, fresh.equity)


def test_sma_cross_trades_on_talib_crosses(spx: pd.DataFrame) -> None:
    # long on SMA(10) crossing above SMA(30), flat on the cross below; fills at the next open
    result = run_backtest(make_strategy("sma_cross", fast=10, slow=30), {"SPX": spx})
    closes = spx["Close"].to_numpy(dtype=np.float64)
    fast, slow = talib.SMA(closes, 10), talib.SMA(closes, 30)
    expected: list[tuple[pd.Timestamp, str, float]] = []
    holding = False
    for i in range(30, len(closes) - 1):
        if fast[i - 1] <= slow[i - 1] and fast[i] > slow[i] and not holding:
            expected.append((spx.index[i + 1], "buy", float(spx["Open"].iloc[i + 1])))
            holding = True
        elif fast[i - 1] >= slow[i - 1] and fast[i] < slow[i] and holding:
            expected.append((spx.index[i + 1], "sell", float(spx["Open"].iloc[i + 1])))
            holding = False
    got = list(zip(result.fills["ts"], result.fills["side"], result.fills["price"], strict=True))
    assert got == expected


# -- history -------------------------------------------------------------------------------


class Reader(Strategy):
    """Read the history every ``every`` bars; check nothing ahead was ever written."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.ahead_written = False
        self.reads: list[tuple[int, list[float], list[float], list[datetime]]] = []

    def on_bar(self, ctx: Context) -> None:
        seen = ctx.bars_seen("X")
        if seen % self.every:
            return
        closes = ctx.history("X", "close")
        buffer = closes.base
        assert isinstance(buffer, np.ndarray)
        self.ahead_written |= not bool(np.isnan(np.asarray(buffer)[..., seen:]).all())
        volumes = ctx.history("X", "volume", 3)
        self.reads.append((seen, closes.tolist(), volumes.tolist(), ctx.history_ts("X", 2)))


@pytest.mark.parametrize("every", [1, 7, 50])
def test_history_holds_the_frame_up_to_the_current_bar_only(every: int) -> None:
    data = synthetic(120)
    data.iloc[[3, 60], 4] = math.nan  # missing volumes
    strategy = Reader(every)
    run_backtest(strategy, {"X": data})
    assert not strategy.ahead_written
    assert [seen for seen, _, _, _ in strategy.reads] == list(range(every, 121, every))
    for seen, closes, volumes, stamps in strategy.reads:
        assert closes == data["close"].iloc[:seen].tolist()
        np.testing.assert_array_equal(volumes, data["volume"].iloc[max(0, seen - 3) : seen])
        assert stamps == list(data.index[max(0, seen - 2) : seen].to_pydatetime())


def test_history_is_read_only() -> None:
    class Writer(Strategy):
        def __init__(self) -> None:
            self.refused = False

        def on_bar(self, ctx: Context) -> None:
            try:
                ctx.history("X")[0] = 1.0
            except ValueError:
                self.refused = True

    strategy = Writer()
    run_backtest(strategy, {"X": synthetic(5)})
    assert strategy.refused


# -- recorded positions and times ------------------------------------------------------------


class Churn(Strategy):
    """Trade both symbols on a fixed schedule (buys and sells of varying size)."""

    def on_bar(self, ctx: Context) -> None:
        n = ctx.bars_seen(ctx.symbol)
        if n % 9 == 0:
            ctx.buy(ctx.symbol, 5 + n % 4)
        elif n % 13 == 0 and ctx.position(ctx.symbol) > 3:
            ctx.sell(ctx.symbol, 3)


def test_positions_are_the_running_sum_of_fills() -> None:
    data = {"AAA": synthetic(200), "BBB": synthetic(150, START + timedelta(days=20), seed=3)}
    result = run_backtest(Churn(), data, cash=1_000_000.0)
    fills = result.fills
    signed = fills["quantity"].where(fills["side"] == "buy", -fills["quantity"])
    for symbol in ("AAA", "BBB"):
        mine = signed[fills["symbol"] == symbol]
        at = pd.Series(mine.to_numpy(), index=fills.loc[mine.index, "ts"])
        running = at.groupby(level=0).sum().cumsum().reindex(result.positions.index).ffill()
        np.testing.assert_array_equal(
            result.positions[symbol].to_numpy(), running.fillna(0.0).to_numpy()
        )
    assert list(result.positions.columns) == ["AAA", "BBB"]
    # one record per engine time: the union of both symbols' bar times
    expected_times = data["AAA"].index.union(data["BBB"].index)
    assert list(result.equity.index) == list(expected_times)
    assert result.equity.index.name == "ts"


def test_positions_follow_a_split_without_a_fill() -> None:
    # buy 10 on day 0 (fills day 1); 3-for-1 split ex day 4, no trade that day: 10 -> 30
    data = synthetic(8)
    data["split"] = [math.nan, math.nan, math.nan, math.nan, 3.0, math.nan, math.nan, math.nan]

    class Once(Strategy):
        def on_bar(self, ctx: Context) -> None:
            if ctx.bars_seen("X") == 1:
                ctx.buy("X", 10)

    result = run_backtest(Once(), {"X": data})
    assert result.positions["X"].tolist() == [0, 10, 10, 10, 30, 30, 30, 30]


def test_an_on_timestamp_hook_set_in_on_start_runs() -> None:
    times: list[datetime] = []

    class Late(Strategy):
        def on_start(self, ctx: Context) -> None:
            self.on_timestamp = lambda ctx: times.append(ctx.ts)  # type: ignore[method-assign]

    data = synthetic(6)
    run_backtest(Late(), {"X": data, "Y": data})
    assert times == list(data.index.to_pydatetime())


# -- build_result inputs ---------------------------------------------------------------------


def test_build_result_takes_a_position_matrix_and_an_index() -> None:
    stamps = [START + timedelta(hours=12 * i) for i in range(6)]
    rows: list[dict[str, float]] = [{}, {"A": 2.0}, {"A": 2.0, "B": -1.0}, {"B": -1.0}, {}, {}]
    matrix = np.array([[0, 0], [2, 0], [2, -1], [0, -1], [0, 0], [0, 0]], dtype=np.float64)
    common = {
        "strategy": "s",
        "initial_cash": 100.0,
        "symbols": ("A", "B"),
        "equity": [100.0, 101.0, 99.0, 102.0, 103.0, 104.0],
        "cash": [100.0] * 6,
        "gross": [0.0, 2.0, 3.0, 1.0, 0.0, 0.0],
        "fills": [],
        "orders": [],
        "order_times": [],
        "final_states": [],
        "log": [],
        "benchmark": None,
        "periods_per_year": 252.0,
        "risk_free": 0.0,
    }
    by_rows = build_result(stamps=stamps, positions=rows, **common)
    by_matrix = build_result(
        stamps=pd.DatetimeIndex(stamps, freq="12h"), positions=matrix, **common
    )
    pd.testing.assert_frame_equal(by_matrix.positions, by_rows.positions)
    pd.testing.assert_series_equal(by_matrix.equity, by_rows.equity)
    pd.testing.assert_series_equal(by_matrix.daily_equity, by_rows.daily_equity)
    assert by_matrix.equity.index.freq is None
    assert by_matrix.metrics.time_in_market == pytest.approx(3 / 6)
    # days: 1 Jan ends at 101, 2 Jan at 102, 3 Jan at 104
    assert by_matrix.daily_equity.tolist() == [101.0, 102.0, 104.0]
    assert by_matrix.returns.tolist() == [101 / 100 - 1, 102 / 101 - 1, 104 / 102 - 1]
    with pytest.raises(ValueError, match="shape"):
        build_result(stamps=stamps, positions=matrix[:, :1], **common)


# -- time stamps ------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_indicator_stamps_are_python_timestamps(stamps: list[datetime]) -> None:
    exact = [(ts - EPOCH) // MICRO for ts in stamps]
    assert _indicator_stamps(exact) == [int(ts.timestamp() * 1_000_000) for ts in stamps]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=20))
def test_exact_micros_match_the_datetimes_pandas_gives(nanoseconds: list[int]) -> None:
    # the datetimes of the bars: pandas drops the nanoseconds
    index = pd.DatetimeIndex(np.array(nanoseconds, dtype="datetime64[ns]")).tz_localize(UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [(ts - EPOCH) // MICRO for ts in index.to_pydatetime()]
    assert _exact_micros(index).tolist() == expected
    if all(n % 10**9 == 0 for n in nanoseconds):
        assert _exact_micros(index.as_unit("s")).tolist() == expected


def test_vwap_sessions_with_microsecond_bars() -> None:
    # bars 7 h 0.333333 s apart from 1969-12-31 21:00:00.123457: the session VWAP restarts at
    # every UTC midnight, with TA-free arithmetic: sum(typical * volume) / sum(volume)
    start = datetime(1969, 12, 31, 21, 0, 0, 123457, tzinfo=UTC)
    data = synthetic(30, start=start)
    data.index = pd.DatetimeIndex(
        [start + timedelta(hours=7, microseconds=333333) * i for i in range(30)]
    )
    seen: list[float] = []

    class Vwap(Strategy):
        def on_bar(self, ctx: Context) -> None:
            value = ctx.indicator("vwap")
            assert isinstance(value, float)
            seen.append(value)

    run_backtest(Vwap(), {"X": data}, interval="1h")
    typical = (data["high"] + data["low"] + data["close"]) / 3
    day = pd.DatetimeIndex(data.index).normalize()
    weighted = (typical * data["volume"]).groupby(day).cumsum()
    expected = weighted / data["volume"].groupby(day).cumsum()
    np.testing.assert_allclose(seen, expected.to_numpy(), rtol=1e-12)


# -- order value objects ---------------------------------------------------------------------


def test_normal_and_raw_order_arguments_build_equal_orders() -> None:
    normal = Order("o1", "SPX", OrderSide.BUY, 10.0, OrderType.LIMIT, limit_price=5.0)
    raw = Order("o1", " spx ", "buy", 10, "limit", limit_price=5)
    assert normal == raw
    assert type(raw.quantity) is float
    assert type(raw.limit_price) is float
    assert raw.side is OrderSide.BUY
    assert raw.type is OrderType.LIMIT
    stop_limit = Order("o2", "spx", OrderSide.SELL, 1.5, OrderType.STOP_LIMIT, 4.0, 4.5)
    assert (stop_limit.symbol, stop_limit.limit_price, stop_limit.stop_price) == ("SPX", 4.0, 4.5)


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"quantity": math.nan}, ["quantity"]),
        ({"quantity": -1.0}, ["quantity"]),
        ({"type": OrderType.LIMIT}, ["limit_price"]),
        ({"type": OrderType.MARKET, "stop_price": 3.0}, ["stop_price"]),
        ({"type": OrderType.LIMIT, "limit_price": math.inf}, ["limit_price"]),
        ({"parent_id": "o1"}, ["parent_id"]),
        ({"symbol": "!!"}, ["symbol"]),
        ({"id": "  "}, ["id"]),
        ({"symbol": "!!", "quantity": 0.0, "tif": "never"}, ["symbol", "tif", "quantity"]),
    ],
)
def test_bad_orders_name_every_bad_field(kwargs: dict[str, object], fields: list[str]) -> None:
    arguments: dict[str, object] = {
        "id": "o1",
        "symbol": "SPX",
        "side": OrderSide.BUY,
        "quantity": 10.0,
        **kwargs,
    }
    with pytest.raises(ValidationError) as error:
        Order(**arguments)  # type: ignore[arg-type]
    assert [issue.field for issue in error.value.issues] == fields


def test_fills_normalise_time_side_and_amounts() -> None:
    east = timezone(timedelta(hours=-5))
    fill = Fill("o1", "SPX", datetime(2024, 1, 2, 9, 30, tzinfo=east), "sell", 3, 10, 1)
    assert fill.ts == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert fill.ts.tzinfo is UTC
    assert fill.side is OrderSide.SELL
    assert (fill.quantity, fill.price, fill.fee, fill.slippage) == (3.0, 10.0, 1.0, 0.0)
    assert type(fill.quantity) is float
    assert type(fill.fee) is float
    stamp = Fill("o1", "SPX", pd.Timestamp("2024-01-02", tz="UTC"), OrderSide.BUY, 1.0, 2.0)
    assert stamp.ts == datetime(2024, 1, 2, tzinfo=UTC)
    assert fill == Fill("o1", "SPX", fill.ts, OrderSide.SELL, 3.0, 10.0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((datetime(2024, 1, 2), OrderSide.BUY, 1.0, 2.0, 0.0, 0.0), "timezone-aware"),
        ((START, OrderSide.BUY, 0.0, 2.0, 0.0, 0.0), "fill quantity"),
        ((START, OrderSide.BUY, 1.0, math.nan, 0.0, 0.0), "fill price"),
        ((START, OrderSide.BUY, 1.0, 2.0, math.inf, 0.0), "fill fee"),
        ((START, OrderSide.BUY, 1.0, 2.0, 0.0, -0.5), "fill slippage"),
        ((START, "hold", 1.0, 2.0, 0.0, 0.0), "hold"),
    ],
)
def test_bad_fills_raise(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fill("o1", "SPX", *args)  # type: ignore[arg-type]


def test_order_update_keeps_its_fields() -> None:
    update = OrderUpdate("o1", "SPX", START, OrderStatus.FILLED, 2.0, 0.0, 9.5)
    assert (update.filled_quantity, update.average_price, update.reason) == (2.0, 9.5, None)
    assert update == OrderUpdate("o1", "SPX", START, OrderStatus.FILLED, 2.0, 0.0, 9.5, None)
