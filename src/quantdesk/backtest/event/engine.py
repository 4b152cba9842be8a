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
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.backtest.results import BacktestResult, build_result
from quantdesk.backtest.strategy import Context, Strategy
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


@dataclass(slots=True)
class _Loaded:
    """One symbol's bars of one interval plus the optional per-bar columns (NaN = none)."""

    bars: list[Bar]
    spread: _FloatArray | None = None
    split: _FloatArray | None = None
    dividend: _FloatArray | None = None


@dataclass(slots=True)
class _Action:
    """Corporate actions of one symbol on one ex-date."""

    day: date
    split: float | None = None
    dividend: float | None = None


@dataclass(slots=True)
class _Stream:
    """The bars of one symbol and interval as the merge sees them."""

    symbol: str
    interval: Interval
    trading: bool
    bars: list[Bar]
    clocks: list[datetime]
    spread: _FloatArray | None = None
    volatility: _FloatArray | None = None
    adv: _FloatArray | None = None
    rank: int = field(init=False)
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.rank = 1 if self.trading else 0
        self.length = 0 if self.trading else int(self.interval.nominal.total_seconds())

    def market(self, i: int) -> MarketContext:
        if self.volatility is None and self.spread is None:
            return _NO_MARKET
        return MarketContext(
            spread=_value(self.spread, i),
            volatility=_value(self.volatility, i),
            adv=_value(self.adv, i),
        )


_NO_MARKET = MarketContext()


def _value(values: _FloatArray | None, i: int) -> float | None:
    if values is None:
        return None
    value = float(values[i])
    return None if math.isnan(value) else value


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
    order = sorted(range(len(bars)), key=lambda i: bars[i].ts)
    if order != list(range(len(bars))):
        loaded.bars = bars = [bars[i] for i in order]
        for name in ("spread", "split", "dividend"):
            column = getattr(loaded, name)
            if column is not None:
                setattr(loaded, name, column[order])
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
    has_ohl = opens is not None and highs is not None and lows is not None
    bars: list[Bar] = []
    for i, ts in enumerate(stamps.to_pydatetime()):
        try:
            bars.append(
                Bar(
                    symbol,
                    interval,
                    ts,
                    float(opens[i]) if has_ohl and opens is not None else None,
                    float(highs[i]) if has_ohl and highs is not None else None,
                    float(lows[i]) if has_ohl and lows is not None else None,
                    float(close[i]),
                    None if volumes is None or math.isnan(volumes[i]) else float(volumes[i]),
                )
            )
        except (ValueError, ValidationError) as error:
            raise ValidationError("invalid bars", [Issue(location, str(error), row=i)]) from None
    spread, split, dividend = column("spread"), column("split"), column("dividend")
    _check_column(spread, location, "spread", "a quoted spread must be >= 0 (NaN: unknown)", 0.0)
    _check_column(split, location, "split", "a split ratio must be > 0 (1 or NaN: none)", None)
    _check_column(dividend, location, "dividend", "a dividend must be >= 0 (0 or NaN: none)", 0.0)
    if split is not None:
        split = np.where(split == 1.0, np.nan, split)
    if dividend is not None:
        dividend = np.where(dividend == 0.0, np.nan, dividend)
    return _Loaded(bars, spread, split, dividend)


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
    if window is None:
        return _Stream(sym, interval, True, bars, clocks)
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
    return _Stream(sym, interval, True, bars, clocks, loaded.spread, volatility, adv)


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
                streams.append(_Stream(sym, key, False, loaded.bars, clocks))
    broker = SimulatedBroker(config, execution)
    ctx = Context(broker, lengths)
    fills: list[Fill] = []
    stamps: list[datetime] = []
    equity: list[float] = []
    cash_values: list[float] = []
    positions: list[dict[str, float]] = []
    gross: list[float] = []
    splits: list[tuple[datetime, str, float]] = []
    total = sum(len(stream.bars) for stream in streams)
    step = max(1, total // 100)
    due = dict.fromkeys(actions, 0)

    def collect() -> None:
        for report in ctx._take_reports():
            fills.extend(report.fills)

    def close_time(ts: datetime, traded: bool) -> None:
        strategy.on_timestamp(ctx)
        collect()
        if traded:
            _record(broker, ts, stamps, equity, cash_values, positions, gross)

    strategy.on_start(ctx)
    collect()
    pending: datetime | None = None
    traded = False
    for done, (clock, stream, i) in enumerate(_merged(streams), start=1):
        if pending is not None and clock != pending:
            close_time(pending, traded)
            traded = False
        pending = clock
        bar = stream.bars[i]
        if stream.trading:
            traded = True
            symbol_actions = actions[stream.symbol]
            if due[stream.symbol] < len(symbol_actions):
                due[stream.symbol] = _book_actions(
                    broker, ctx, bar, symbol_actions, due[stream.symbol], splits
                )
            market = stream.market(i)
            ctx._set_market(bar.symbol, market)
            report = broker.process_bar(bar, market)
            fills.extend(report.fills)
            ctx._advance(bar, clock)
            for fill in report.fills:
                strategy.on_fill(ctx, fill)
                collect()
        else:
            ctx._advance(bar, clock, trading=False)
        strategy.on_bar(ctx)
        collect()
        if progress is not None and done % step == 0 and done < total:
            progress(done, total)
    if pending is not None:
        close_time(pending, traded)
    if progress is not None:
        progress(total, total)
    strategy.on_stop(ctx)
    collect()
    return build_result(
        strategy=strategy.label,
        initial_cash=config.initial_cash,
        symbols=tuple(sorted(inputs)),
        stamps=stamps,
        equity=equity,
        cash=cash_values,
        positions=positions,
        gross=gross,
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


def _merged(streams: Sequence[_Stream]) -> Iterator[tuple[datetime, _Stream, int]]:
    """Yield (clock, stream, bar index) in engine order (module docstring)."""
    if len(streams) == 1:
        stream = streams[0]
        for i, clock in enumerate(stream.clocks):
            yield clock, stream, i
        return

    def keyed(sid: int, stream: _Stream) -> Iterator[tuple[datetime, int, int, str, int, int]]:
        rank, length, symbol = stream.rank, stream.length, stream.symbol
        for i, clock in enumerate(stream.clocks):
            yield clock, rank, length, symbol, sid, i

    # streams are listed by symbol, so equal keys keep the symbol order
    for clock, _, _, _, sid, i in heapq.merge(*(keyed(s, x) for s, x in enumerate(streams))):
        yield clock, streams[sid], i


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


def _record(
    broker: SimulatedBroker,
    ts: datetime,
    stamps: list[datetime],
    equity: list[float],
    cash: list[float],
    positions: list[dict[str, float]],
    gross: list[float],
) -> None:
    account = broker.account
    stamps.append(ts)
    equity.append(account.equity())
    cash.append(account.cash)
    gross.append(account.gross_exposure())
    positions.append({s: p.quantity for s, p in account.positions().items()})
