"""The event-driven backtest engine: bars in time order through one simulated broker.

Inputs
------
Each symbol comes with one frame (or list of :class:`Bar`) of the run's ``interval``, or with
a mapping interval -> frame (``{"1d": daily, "5m": intraday}``). A symbol's finest interval is
its *trading* interval: only those bars go to the broker. Frames may carry optional columns:

- ``spread``: the quoted spread (ask - bid, price units) during the bar, for
  :class:`~quantdesk.execution.sim.SpreadSlippage`; NaN when unknown.
- ``split``: split ratio (shares after / before, ``2`` for 2-for-1) effective on the row's
  UTC date (the ex-date); ``1`` or NaN for none.
- ``dividend``: cash per share going ex on the row's UTC date; ``0`` or NaN for none.

Order of events
---------------
Bars of every symbol and interval are merged by the time they become known: a trading bar at
its start ``ts`` (bars are stamped at their start and the broker reasons in those stamps), a
coarser bar at its end (``ts`` + its length; calendar months for ``1mo``). Ties go to coarser
bars first, then by interval length (finer first), then by symbol. When all symbols share one
finest interval this is the order of bar *end* times with the finer interval first on ties, so
a daily bar of date ``D`` (ending at ``D + 1`` 00:00 UTC) is seen after every intraday bar of
``D`` and never during them. With one interval it is simply time, then symbol.

For every trading bar:

1. the corporate actions due (ex-date on or before the bar's date, not yet applied) are
   booked: :meth:`SimulatedBroker.apply_split` (position x ratio, average cost / ratio,
   working orders rescaled), then :meth:`SimulatedBroker.apply_dividend` on the post-split
   position (longs receive, shorts pay); each is written to the result's log;
2. the broker matches the working orders against the bar (orders placed on earlier bars fill
   at this bar's open, limits and stops inside its range, with the shared fee and slippage
   models) and marks the account at the close. With a slippage model that reads them
   (:class:`~quantdesk.execution.sim.SpreadSlippage`,
   :class:`~quantdesk.execution.sim.SquareRootImpact`) it gets a point-in-time
   :class:`~quantdesk.execution.sim.MarketContext`: the bar's ``spread``; ``volatility``, the
   sample standard deviation (``ddof=1``) of the last ``impact_window`` close-to-close simple
   returns; ``adv``, the mean volume of the last ``impact_window`` bars. Both use only bars
   *before* the current one (of the trading interval: per-bar figures, daily on daily bars),
   are ``None`` until enough history exists (or a volume in the window is missing), and are
   adjusted for the splits applied so far (returns across an ex-date use the split-adjusted
   previous close; past volumes are scaled to current shares);
3. the bar enters the context's history and the symbol's streaming indicators advance;
4. :meth:`Strategy.on_fill` runs for each fill of step 2, then :meth:`Strategy.on_bar`.

A coarser bar only enters its history and indicators, then :meth:`Strategy.on_bar` runs.
After every bar of one engine time went through ``on_bar``, :meth:`Strategy.on_timestamp` runs
once; then, if any trading bar was at that time, the account's equity and positions are
recorded. Orders placed in a hook are stamped with the engine clock (``ctx.ts``: a trading
bar's start, a coarser bar's end) and the broker fills an order only on trading bars that start
strictly after that stamp, so a decision made at ``t`` trades at ``t + 1`` at the earliest. A
decision on a coarser bar ending at ``E`` trades on the first trading bar starting after ``E``
(the next session's first bar for a market that opens later; in a round-the-clock market the
bar starting exactly at ``E`` is skipped, the conservative choice). The context's history is
written one bar at a time, so nothing after the current bar is reachable from a strategy:
there is no lookahead by construction. The equity curve has one point per engine time with a
trading bar; coarser bars add none.

Corporate actions change the account and the working orders only: the context's history and
indicators keep the prices as given. Feed *unadjusted* prices together with ``split`` and
``dividend`` columns, or *adjusted* prices without them, never adjusted prices with actions
(that would count a split twice). Actions are read from frames only (a list of Bar has no such
columns), from every interval of a symbol (the same ex-date given in several frames or rows must
carry the same value and is booked once), and those dated after a symbol's last trading bar are
not booked. The result's ``positions``, ``cash`` and equity include them, and a round trip that
spans a split stays one trade with its share counts scaled by the ratio (see
:func:`~quantdesk.backtest.results.round_trips`).
"""

from __future__ import annotations

import calendar
import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.backtest.results import BacktestResult, build_result
from quantdesk.backtest.strategy import Context, Strategy, _Args, _Feed, _History
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Bar, Interval
from quantdesk.domain.orders import Fill
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    MarketContext,
    SimulatedBroker,
    SpreadSlippage,
    SquareRootImpact,
)

__all__ = ["BarsInput", "ProgressCallback", "bars_from_frame", "run_backtest"]

BarsInput = Any
"""A pandas or polars frame of OHLCV bars, or a sequence of :class:`Bar`."""

ProgressCallback = Callable[[int, int], None]
"""Called with (bars processed, total bars)."""

_TS_COLUMNS = ("ts", "timestamp", "date", "datetime", "time")
_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Integers up to 2**53 convert to floats exactly; see _indicator_stamps.
_EXACT_FLOAT_INT = 2**53
# The unit pandas gives an index of Python datetimes (what the results are stamped in).
_DATETIME_UNIT = pd.DatetimeIndex([_EPOCH]).unit


@dataclass(slots=True)
class _Loaded:
    """One symbol's bars of one interval plus the optional per-bar columns (NaN = none).

    A frame also leaves ``prices`` (rows open, high, low, close, volume as the context's history
    stores them: a close-only bar repeats its close, a missing volume is NaN), ``values`` (the
    same as Python floats, shared with the bars) and ``micros`` (each bar's start in exact epoch
    microseconds), so the engine need not read them back from the bars one at a time.
    """

    bars: list[Bar]
    spread: _FloatArray | None = None
    split: _FloatArray | None = None
    dividend: _FloatArray | None = None
    prices: _FloatArray | None = None
    values: tuple[list[float], ...] | None = None
    micros: _IntArray | None = None


@dataclass(slots=True)
class _Action:
    """Corporate actions of one symbol on one ex-date."""

    day: date
    split: float | None = None
    dividend: float | None = None


@dataclass(slots=True)
class _Stream:
    """The bars of one symbol and interval as the merge sees them.

    ``feed`` holds the bars as the context's history takes them, ``micros`` their start times in
    exact epoch microseconds (a trading bar's is the stamp its engine time is recorded with);
    ``spread``, ``volatility`` and ``adv`` are per-bar slippage inputs (``None`` entries:
    unknown), ``actions`` the symbol's corporate actions (trading streams) with ``due`` the next
    one to book, and ``history`` the context's history the bars go to (bound at the first bar).
    """

    symbol: str
    interval: Interval
    trading: bool
    bars: list[Bar]
    clocks: list[datetime]
    feed: _Feed
    micros: list[int]
    spread: list[float | None] | None = None
    volatility: list[float | None] | None = None
    adv: list[float | None] | None = None
    actions: list[_Action] = field(default_factory=list)
    due: int = 0
    history: _History | None = None
    rank: int = field(init=False)
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.rank = 1 if self.trading else 0
        self.length = 0 if self.trading else int(self.interval.nominal.total_seconds())

    def market(self, i: int) -> MarketContext:
        if self.volatility is None and self.spread is None:
            return _NO_MARKET
        return MarketContext(
            spread=None if self.spread is None else self.spread[i],
            volatility=None if self.volatility is None else self.volatility[i],
            adv=None if self.adv is None else self.adv[i],
        )


_NO_MARKET = MarketContext()


def _optional(values: _FloatArray | None) -> list[float | None] | None:
    """Return ``values`` as Python floats with NaN as ``None`` (no array when none)."""
    if values is None:
        return None
    return [None if math.isnan(value) else value for value in values.tolist()]


def _exact_micros(stamps: pd.DatetimeIndex) -> _IntArray:
    """Return the epoch microseconds of the datetimes ``stamps.to_pydatetime()`` gives (which
    floors nanoseconds)."""
    if stamps.unit == "ns":
        return stamps.asi8 // 1000
    return stamps.as_unit("us").asi8


def _indicator_stamps(micros: Sequence[int] | _IntArray) -> list[int]:
    """Return ``_micros(ts)`` for the datetimes with these exact epoch microseconds.

    ``ts.timestamp()`` is the exact microseconds divided by 10**6 (correctly rounded), so
    ``int(micros / 1e6 * 1e6)`` repeats :func:`_micros` bit for bit; numpy does the same
    operations in float64 when every integer converts exactly (below 2**53, the years
    1685 to 2255), Python otherwise.
    """
    values = np.asarray(micros, dtype=np.int64)
    if values.size and int(np.abs(values).max()) < _EXACT_FLOAT_INT:
        stamps: list[int] = (values / 1e6 * 1e6).astype(np.int64).tolist()
        return stamps
    return [int(value / 1_000_000 * 1_000_000) for value in values.tolist()]


def _stream_data(loaded: _Loaded, times: list[datetime]) -> tuple[_Feed, list[int]]:
    """Return the history feed and the exact start microseconds of ``loaded``'s bars, whose
    start times are ``times``."""
    if loaded.prices is None or loaded.values is None or loaded.micros is None:
        micros = [(bar.ts - _EPOCH) // _MICROSECOND for bar in loaded.bars]
        return _Feed.from_bars(loaded.bars), micros
    exact: list[int] = loaded.micros.tolist()
    stamps = _indicator_stamps(loaded.micros)
    # usually the same numbers (whole seconds convert exactly): keep one list of them
    feed = _Feed.from_arrays(
        loaded.prices, loaded.values, exact if stamps == exact else stamps, times
    )
    return feed, exact


def bars_from_frame(symbol: str, data: BarsInput, interval: Interval | str = "1d") -> list[Bar]:
    """Return the bars of one symbol from a frame or a sequence of bars, sorted by time.

    Frames need a ``close`` column (any case); ``open``/``high``/``low``/``volume`` are
    optional. Time comes from a ``ts``/``timestamp``/``date``/``datetime`` column or the pandas
    index; naive times are taken as UTC. The optional ``spread``/``split``/``dividend``
    columns are checked but not part of the bars (see :func:`run_backtest`).

    Raises
    ------
    ValidationError
        For a missing close or time column, an empty frame, a bad row, a bad ``spread``,
        ``split`` or ``dividend`` value, or duplicate times.
    """
    return _load(symbol, data, interval).bars


def _load(symbol: str, data: BarsInput, interval: Interval | str) -> _Loaded:
    sym = normalize_symbol(symbol)
    location = f"bars[{sym}]"
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        loaded = _Loaded(list(data))
        for i, bar in enumerate(loaded.bars):
            if not isinstance(bar, Bar):
                raise ValidationError(
                    "invalid bars", [Issue(location, "expected Bar objects", row=i)]
                )
            if bar.symbol != sym:
                raise ValidationError(
                    "invalid bars",
                    [Issue(location, f"bar symbol {bar.symbol!r} differs", "symbol", row=i)],
                )
    else:
        try:
            parsed = Interval.parse(interval)
        except ValueError as error:
            raise ValidationError(
                "invalid interval", [Issue(location, str(error), "interval")]
            ) from None
        loaded = _frame_bars(sym, _to_pandas(data, location), parsed, location)
    bars = loaded.bars
    if not bars:
        raise ValidationError("invalid bars", [Issue(location, "no bars were given")])
    if loaded.micros is not None and bool((loaded.micros[1:] > loaded.micros[:-1]).all()):
        return loaded  # strictly increasing times: in order, none repeated
    order = sorted(range(len(bars)), key=lambda i: bars[i].ts)
    if order != list(range(len(bars))):
        loaded.bars = bars = [bars[i] for i in order]
        for name in ("spread", "split", "dividend", "micros"):
            column = getattr(loaded, name)
            if column is not None:
                setattr(loaded, name, column[order])
        if loaded.prices is not None:
            loaded.prices = loaded.prices[:, order]
        if loaded.values is not None:
            loaded.values = tuple([row[i] for i in order] for row in loaded.values)
    for i in range(1, len(bars)):
        if bars[i].ts == bars[i - 1].ts:
            raise ValidationError(
                "invalid bars",
                [Issue(location, f"duplicate bar time {bars[i].ts.isoformat()}", "ts", row=i)],
            )
    return loaded


def _to_pandas(data: Any, location: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)
    if callable(to_pandas):
        frame = to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise ValidationError(
        "invalid bars",
        [Issue(location, f"expected a pandas/polars frame or Bars, got {type(data).__name__}")],
    )


def _frame_bars(symbol: str, frame: pd.DataFrame, interval: Interval, location: str) -> _Loaded:
    lower = {str(c).lower(): c for c in frame.columns}
    if "close" not in lower:
        raise ValidationError("invalid bars", [Issue(location, "needs a close column", "close")])
    ts_col = next((lower[name] for name in _TS_COLUMNS if name in lower), None)
    raw_ts = frame[ts_col] if ts_col is not None else frame.index
    if not (isinstance(raw_ts, pd.DatetimeIndex) or ts_col is not None):
        raise ValidationError(
            "invalid bars",
            [Issue(location, "needs a DatetimeIndex or a ts/timestamp/date column", "ts")],
        )
    stamps = pd.DatetimeIndex(pd.to_datetime(raw_ts))
    stamps = stamps.tz_localize(UTC) if stamps.tz is None else stamps.tz_convert(UTC)

    def column(name: str) -> _FloatArray | None:
        key = lower.get(name)
        if key is None:
            return None
        try:
            return frame[key].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(
                "invalid bars", [Issue(location, "must hold numbers", name)]
            ) from None

    close = column("close")
    assert close is not None
    opens, highs, lows, volumes = column("open"), column("high"), column("low"), column("volume")
    # Whole columns become Python floats at once, shared by the bars and the history rows
    # (a close-only bar's history repeats its close; a NaN volume is a missing one: None in
    # the bar, NaN in the history).
    closes: list[float] = close.tolist()
    none: list[float | None] = [None] * len(closes)
    if opens is not None and highs is not None and lows is not None:
        prices = np.stack((opens, highs, lows, close, close))
        columns = (opens.tolist(), highs.tolist(), lows.tolist(), closes)
        bar_opens: Sequence[float | None] = columns[0]
        bar_highs: Sequence[float | None] = columns[1]
        bar_lows: Sequence[float | None] = columns[2]
    else:
        prices = np.stack((close, close, close, close, close))
        columns = (closes, closes, closes, closes)
        bar_opens = bar_highs = bar_lows = none
    if volumes is None:
        prices[4] = math.nan
        history_volumes: list[float] = [math.nan] * len(closes)
        bar_volumes: Sequence[float | None] = none
    else:
        # any NaN is stored as the one NaN the history writes for a missing volume
        prices[4] = np.where(np.isnan(volumes), math.nan, volumes)
        history_volumes = prices[4].tolist()
        bar_volumes = [value if value == value else None for value in history_volumes]
    bars: list[Bar] = []
    rows = zip(
        stamps.to_pydatetime(), bar_opens, bar_highs, bar_lows, closes, bar_volumes, strict=True
    )
    try:
        for ts, open_, high, low, close_, volume in rows:
            bars.append(Bar(symbol, interval, ts, open_, high, low, close_, volume))
    except (ValueError, ValidationError) as error:
        # the row that failed is the next one
        issue = Issue(location, str(error), row=len(bars))
        raise ValidationError("invalid bars", [issue]) from None
    spread, split, dividend = column("spread"), column("split"), column("dividend")
    _check_column(spread, location, "spread", "a quoted spread must be >= 0 (NaN: unknown)", 0.0)
    _check_column(split, location, "split", "a split ratio must be > 0 (1 or NaN: none)", None)
    _check_column(dividend, location, "dividend", "a dividend must be >= 0 (0 or NaN: none)", 0.0)
    if split is not None:
        split = np.where(split == 1.0, np.nan, split)
    if dividend is not None:
        dividend = np.where(dividend == 0.0, np.nan, dividend)
    values = (*columns, history_volumes)
    return _Loaded(bars, spread, split, dividend, prices, values, _exact_micros(stamps))


def _check_column(
    values: _FloatArray | None, location: str, name: str, reason: str, floor: float | None
) -> None:
    if values is None:
        return
    bad = np.isinf(values) | (values < floor if floor is not None else values <= 0)
    rows = np.flatnonzero(bad)
    if rows.size:
        issues = [Issue(location, f"{reason}, got {values[i]!r}", name, row=int(i)) for i in rows]
        raise ValidationError(f"invalid {name} values", issues)


def _bar_end(ts: datetime, interval: Interval) -> datetime:
    if interval is not Interval.MO1:
        return ts + interval.nominal
    year, month = (ts.year + 1, 1) if ts.month == 12 else (ts.year, ts.month + 1)
    return ts.replace(year=year, month=month, day=min(ts.day, calendar.monthrange(year, month)[1]))


def _symbol_inputs(
    sym: str, data: BarsInput, interval: Interval | str
) -> tuple[dict[Interval, _Loaded], Interval, bool]:
    """Return a symbol's bars per interval, its trading (finest) interval and whether it was
    given as an interval mapping."""
    location = f"bars[{sym}]"
    if not isinstance(data, Mapping):
        loaded = _load(sym, data, interval)
        own = loaded.bars[0].interval
        return {own: loaded}, own, False
    if not data:
        raise ValidationError("invalid bars", [Issue(location, "no intervals were given")])
    per: dict[Interval, _Loaded] = {}
    for key, frame in data.items():
        try:
            parsed = Interval.parse(key)
        except (ValueError, AttributeError) as error:
            raise ValidationError(
                "invalid bars", [Issue(location, str(error), "interval")]
            ) from None
        if parsed in per:
            raise ValidationError(
                "invalid bars",
                [Issue(location, f"interval {parsed.value} given twice", "interval")],
            )
        loaded = _load(sym, frame, parsed)
        for i, bar in enumerate(loaded.bars):
            if bar.interval is not parsed:
                reason = f"bar interval {bar.interval.value} differs from its key {parsed.value}"
                raise ValidationError("invalid bars", [Issue(location, reason, "interval", row=i)])
        per[parsed] = loaded
    return per, min(per, key=lambda item: item.nominal), True


def _actions(sym: str, per: Mapping[Interval, _Loaded]) -> list[_Action]:
    """Return the symbol's corporate actions by ex-date; repeats must agree and count once."""
    found: dict[date, _Action] = {}
    for loaded in per.values():
        for kind in ("split", "dividend"):
            values = getattr(loaded, kind)
            if values is None:
                continue
            for i in np.flatnonzero(~np.isnan(values)):
                day = loaded.bars[int(i)].ts.date()
                action = found.setdefault(day, _Action(day))
                value = float(values[i])
                known = getattr(action, kind)
                if known is not None and known != value:
                    reason = (
                        f"two different {kind} values on {day.isoformat()}: {known} and {value}"
                    )
                    raise ValidationError(
                        f"invalid {kind} values", [Issue(f"bars[{sym}]", reason, kind, row=int(i))]
                    )
                setattr(action, kind, value)
    return [found[day] for day in sorted(found)]


def _trading_stream(
    sym: str,
    loaded: _Loaded,
    interval: Interval,
    actions: Sequence[_Action],
    window: int | None,
) -> _Stream:
    """Return a trading stream; ``window=None`` when the slippage model needs no inputs."""
    bars = loaded.bars
    clocks = [bar.ts for bar in bars]
    feed, micros = _stream_data(loaded, clocks)
    if window is None:
        return _Stream(sym, interval, True, bars, clocks, feed, micros, actions=list(actions))
    closes = np.fromiter((b.close for b in bars), dtype=np.float64, count=len(bars))
    volumes = np.fromiter(
        (math.nan if b.volume is None else b.volume for b in bars), np.float64, len(bars)
    )
    # Cumulative split factor applied before each bar: prices and share counts are in the
    # units of that bar, so returns and past volumes are converted with it.
    factor = np.ones(len(bars))
    cumulative, pointer = 1.0, 0
    for i, bar in enumerate(bars):
        day = bar.ts.date()
        while pointer < len(actions) and actions[pointer].day <= day:
            cumulative *= actions[pointer].split or 1.0
            pointer += 1
        factor[i] = cumulative
    returns = np.full(len(bars), math.nan)
    returns[1:] = (closes[1:] * factor[1:]) / (closes[:-1] * factor[:-1]) - 1.0
    volatility = pd.Series(returns).rolling(window).std(ddof=1).shift(1).to_numpy()
    adv = pd.Series(volumes / factor).rolling(window).mean().shift(1).to_numpy() * factor
    return _Stream(
        sym,
        interval,
        True,
        bars,
        clocks,
        feed,
        micros,
        _optional(loaded.spread),
        _optional(volatility),
        _optional(adv),
        list(actions),
    )


def run_backtest(
    strategy: Strategy,
    bars: Mapping[str, BarsInput],
    *,
    cash: float = 100_000.0,
    execution: ExecutionConfig | None = None,
    account: AccountConfig | None = None,
    benchmark: pd.Series | None = None,
    interval: Interval | str = "1d",
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    impact_window: int = 20,
    progress: ProgressCallback | None = None,
) -> BacktestResult:
    """Run ``strategy`` over ``bars`` through the simulated broker and return the result.

    Parameters
    ----------
    strategy
        The strategy (see :class:`Strategy`); its hooks run in the order described in the
        module docstring.
    bars
        Per symbol: a pandas/polars frame (see :func:`bars_from_frame`) or a list of Bar, or a
        mapping interval -> frame/bars for several intervals (the finest is traded). Frames
        may carry ``spread``, ``split`` and ``dividend`` columns (module docstring).
    cash
        Initial cash (ignored when ``account`` is given).
    execution
        Fee, slippage and fill-timing models (default: no costs, market orders at next open).
    account
        Full account configuration (leverage, shorting, borrow); default: ``cash``, no leverage.
    benchmark
        Benchmark closes indexed by time; adds alpha, beta, tracking error and information
        ratio on daily returns.
    interval
        Interval label of frame rows given without an interval mapping.
    periods_per_year, risk_free
        Annualisation of the daily metrics and the annual risk-free rate (Sharpe, alpha).
    impact_window
        Bars (>= 2) behind the per-bar volatility and average volume handed to the slippage
        model.
    progress
        Called with (bars processed, total bars) about every 1 % of the bars and once more
        with (total, total) after the last bar; bars of every interval count.

    Returns
    -------
    BacktestResult
        Splits and dividends booked are listed in its ``log``
        (``<ts> split <symbol> ratio ...`` / ``<ts> dividend <symbol> ...``).

    Raises
    ------
    ValidationError
        For empty or invalid bars or columns, a bad interval, cash amount, impact window,
        progress callback or benchmark.
    """
    if not bars:
        raise ValidationError("no bars", [Issue("bars", "give at least one symbol's bars")])
    if isinstance(impact_window, bool) or not isinstance(impact_window, int) or impact_window < 2:
        raise ValidationError(
            "invalid impact window",
            [
                Issue(
                    "run_backtest",
                    f"must be an integer >= 2, got {impact_window!r}",
                    "impact_window",
                )
            ],
        )
    if progress is not None and not callable(progress):
        raise ValidationError(
            "invalid progress callback",
            [Issue("run_backtest", "must be callable as progress(done, total)", "progress")],
        )
    config = account or AccountConfig(initial_cash=cash)
    execution = execution or ExecutionConfig()
    # Only these models read the per-bar inputs; the others ignore them, so skip the work.
    uses_market = isinstance(execution.slippage_model, SpreadSlippage | SquareRootImpact)
    window = impact_window if uses_market else None
    streams: list[_Stream] = []
    actions: dict[str, list[_Action]] = {}
    lengths: dict[str, int | Mapping[Interval | str, int]] = {}
    symbols: set[str] = set()
    inputs: dict[str, tuple[dict[Interval, _Loaded], Interval, bool]] = {}
    for symbol, data in bars.items():
        sym = normalize_symbol(symbol)
        if sym in symbols:
            raise ValidationError("invalid bars", [Issue("bars", f"{sym!r} given twice")])
        symbols.add(sym)
        inputs[sym] = _symbol_inputs(sym, data, interval)
    for sym in sorted(inputs):
        per, trading, several = inputs[sym]
        actions[sym] = _actions(sym, per)
        counts: dict[Interval | str, int] = {key: len(loaded.bars) for key, loaded in per.items()}
        lengths[sym] = counts if several else len(per[trading].bars)
        for key in sorted(per, key=lambda item: item.nominal):
            loaded = per[key]
            if key is trading:
                streams.append(_trading_stream(sym, loaded, key, actions[sym], window))
            else:
                clocks = [_bar_end(bar.ts, key) for bar in loaded.bars]
                feed, micros = _stream_data(loaded, [bar.ts for bar in loaded.bars])
                streams.append(_Stream(sym, key, False, loaded.bars, clocks, feed, micros))
    broker = SimulatedBroker(config, execution)
    ctx = Context(broker, lengths)
    symbols_sorted = tuple(sorted(inputs))
    fills: list[Fill] = []
    recorder = _Recorder(broker, symbols_sorted, fills)
    splits = recorder.splits
    total = sum(len(stream.bars) for stream in streams)
    step = max(1, total // 100)

    def collect() -> None:
        for report in ctx._take_reports():
            fills.extend(report.fills)

    strategy.on_start(ctx)
    collect()
    # The base class's hook does nothing: skip calling it once per engine time.
    hooked = getattr(strategy.on_timestamp, "__func__", None) is not Strategy.on_timestamp
    pending: datetime | None = None
    traded = False
    stamp = 0
    # A last event without a clock closes the last engine time (its other fields are never
    # read, nor is the bar count it adds reported).
    first = streams[0]
    end = (None, first, 0, first.bars[0], first.feed.args[0])
    events: Iterable[tuple[datetime | None, _Stream, int, Bar, _Args]]
    events = itertools.chain(_merged(streams), (end,))
    for done, (clock, stream, i, bar, args) in enumerate(events, start=1):
        if clock != pending:
            if pending is not None:
                if hooked:
                    strategy.on_timestamp(ctx)
                    if ctx._reports:
                        collect()
                if traded:
                    recorder.record(stamp)
                    traded = False
            if clock is None:
                break
            pending = clock
        history = stream.history
        if history is None:
            history = stream.history = ctx._history_for(bar)
            history.bind(stream.feed)
            if stream.trading and not uses_market:
                ctx._set_market(stream.symbol, _NO_MARKET)
        if stream.trading:
            traded = True
            stamp = stream.micros[i]
            if stream.due < len(stream.actions):
                stream.due = _book_actions(broker, ctx, bar, stream.actions, stream.due, splits)
            if uses_market:
                market = stream.market(i)
                ctx._set_market(stream.symbol, market)
            else:
                market = _NO_MARKET
            report = broker.process_bar(bar, market)
            new = report.fills
            if new:
                fills.extend(new)
            history.push(args)
            ctx._bar = bar
            ctx._clock = clock
            ctx._trading_bar = True
            for fill in new:
                strategy.on_fill(ctx, fill)
                if ctx._reports:
                    collect()
        else:
            history.push(args)
            ctx._bar = bar
            ctx._clock = clock
            ctx._trading_bar = False
        strategy.on_bar(ctx)
        if ctx._reports:
            collect()
        if progress is not None and done % step == 0 and done < total:
            progress(done, total)
    if progress is not None:
        progress(total, total)
    strategy.on_stop(ctx)
    collect()
    return build_result(
        strategy=strategy.label,
        initial_cash=config.initial_cash,
        symbols=symbols_sorted,
        stamps=recorder.index(),
        equity=recorder.equity,
        cash=recorder.cash,
        positions=recorder.positions(),
        gross=recorder.gross,
        fills=fills,
        orders=list(ctx.orders),
        order_times=list(ctx._order_ts),
        final_states=[broker.order_state(order.id) for order in ctx.orders],
        log=list(ctx.log),
        benchmark=benchmark,
        periods_per_year=periods_per_year,
        risk_free=risk_free,
        splits=splits,
    )


class _Recorder:
    """The account's equity, cash, gross exposure and positions after each engine time.

    Positions are kept as changes only: quantities move with fills and splits alone, so they
    are read again only after one of those (both lists are the engine's own).
    """

    def __init__(
        self, broker: SimulatedBroker, symbols: tuple[str, ...], fills: list[Fill]
    ) -> None:
        self.account = broker.account
        self.symbols = symbols
        self.fills = fills
        self.splits: list[tuple[datetime, str, float]] = []
        self.stamps: list[int] = []
        self.equity: list[float] = []
        self.cash: list[float] = []
        self.gross: list[float] = []
        self.changes: list[tuple[int, dict[str, float]]] = []
        self._current: dict[str, float] = {}
        self._fills_seen = 0
        self._splits_seen = 0

    def record(self, stamp: int) -> None:
        """Record the account at the engine time starting at ``stamp`` (epoch microseconds)."""
        account = self.account
        self.stamps.append(stamp)
        self.equity.append(account.equity())
        self.cash.append(account.cash)
        self.gross.append(account.gross_exposure())
        if len(self.fills) != self._fills_seen or len(self.splits) != self._splits_seen:
            self._fills_seen, self._splits_seen = len(self.fills), len(self.splits)
            quantities = account.quantities()
            if quantities != self._current:
                self._current = quantities
                self.changes.append((len(self.stamps) - 1, quantities))

    def index(self) -> pd.DatetimeIndex:
        """Return the recorded times (UTC, the unit of an index of Python datetimes)."""
        values = np.asarray(self.stamps, dtype=np.int64).view("datetime64[us]")
        return pd.DatetimeIndex(values).as_unit(_DATETIME_UNIT).tz_localize(UTC)

    def positions(self) -> _FloatArray:
        """Return the quantities per recorded time (rows) and symbol (columns, 0 when flat)."""
        matrix = np.zeros((len(self.stamps), len(self.symbols)))
        column = {symbol: j for j, symbol in enumerate(self.symbols)}
        for k, (start, quantities) in enumerate(self.changes):
            end = self.changes[k + 1][0] if k + 1 < len(self.changes) else len(self.stamps)
            for symbol, quantity in quantities.items():
                j = column.get(symbol)
                if j is not None:
                    matrix[start:end, j] = quantity
        return matrix


def _merged(
    streams: Sequence[_Stream],
) -> Iterable[tuple[datetime, _Stream, int, Bar, _Args]]:
    """Return (clock, stream, bar index, bar, indicator inputs) in engine order (module
    docstring)."""
    if len(streams) == 1:
        stream = streams[0]
        count = len(stream.clocks)
        return zip(
            stream.clocks, itertools.repeat(stream), range(count), stream.bars, stream.feed.args
        )

    def keyed(sid: int, stream: _Stream) -> Iterator[tuple[datetime, int, int, str, int, int]]:
        rank, length, symbol = stream.rank, stream.length, stream.symbol
        for i, clock in enumerate(stream.clocks):
            yield clock, rank, length, symbol, sid, i

    # streams are listed by symbol, so equal keys keep the symbol order
    merged = heapq.merge(*(keyed(s, x) for s, x in enumerate(streams)))
    return (
        (clock, streams[sid], i, streams[sid].bars[i], streams[sid].feed.args[i])
        for clock, _, _, _, sid, i in merged
    )


def _book_actions(
    broker: SimulatedBroker,
    ctx: Context,
    bar: Bar,
    actions: Sequence[_Action],
    pointer: int,
    splits: list[tuple[datetime, str, float]],
) -> int:
    """Book the actions from ``pointer`` with an ex-date up to the bar's date; return the next.

    Splits are also appended to ``splits`` as ``(bar time, symbol, ratio)`` for the trades.
    """
    symbol, ts, day = bar.symbol, bar.ts, bar.ts.date()
    while pointer < len(actions) and actions[pointer].day <= day:
        action = actions[pointer]
        if action.split is not None:
            before = broker.account.position(symbol)
            broker.apply_split(symbol, action.split, ts)
            splits.append((ts, symbol, action.split))
            after = broker.account.position(symbol)
            ctx._note(
                ts,
                f"split {symbol} ratio {_num(action.split)} ex {action.day.isoformat()}: "
                f"position {_num(before.quantity)} -> {_num(after.quantity)}, average cost "
                f"{_num(before.average_cost)} -> {_num(after.average_cost)}",
            )
        if action.dividend is not None:
            held = broker.account.position(symbol).quantity
            paid = broker.apply_dividend(symbol, action.dividend)
            ctx._note(
                ts,
                f"dividend {symbol} {_num(action.dividend)} per share ex "
                f"{action.day.isoformat()} on {_num(held)} shares: cash {paid:+.10g}",
            )
        pointer += 1
    return pointer


def _num(value: float) -> str:
    return f"{value:.10g}"
