"""Built-in rule strategies as signal matrices, so a strategy name and a grid run vectorised.

:func:`strategy_signals` computes, for every symbol and parameter set, the entries and exits
the event-driven strategy of :mod:`quantdesk.backtest.strategies` would act on, bar by bar:

=====================  ====================================================================
name                   entry / exit at the close of bar ``t`` (indicators: TA-Lib batch via
                       :mod:`quantdesk.indicators`, bit-identical to the streaming values the
                       event strategies read)
=====================  ====================================================================
sma_cross, ema_cross   SMA/EMA(fast) crosses above / below SMA/EMA(slow) between ``t - 1``
                       and ``t``; every cross re-targets (``retarget``)
rsi_reversion          RSI(period) < lower while flat / RSI > upper while long
bollinger_breakout     close > upper band while flat / close < middle band while long
donchian_trend         close > the previous bar's ``period`` high while flat / close < the
                       previous bar's low while long
=====================  ====================================================================

Sizing is the strategies': ``order_target_percent(weight)`` on entries, ``0`` on exits.
Indicators are computed once per symbol and distinct window, whatever the grid size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pydantic
from pydantic import BaseModel

from quantdesk.backtest.strategies import strategy_spec
from quantdesk.backtest.vectorized._inputs import (
    BoolArray,
    FloatArray,
    IntArray,
    check_ohlc,
    invalid,
    kernel_array,
    price_matrix,
    series_rows,
    volume_matrix,
)
from quantdesk.backtest.vectorized._signals_nb import (
    band_signals_nb,
    cross_signals_nb,
    threshold_signals_nb,
)
from quantdesk.backtest.vectorized.engine import run_signals
from quantdesk.backtest.vectorized.result import VectorizedResult
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Bar
from quantdesk.execution.sim import AccountConfig, ExecutionConfig
from quantdesk.indicators import bbands, donchian, ema, rsi, sma

__all__ = ["VECTORIZED_STRATEGIES", "StrategySignals", "run_strategy", "strategy_signals"]

_LOCATION = "run_strategy"
_TS_COLUMNS = ("ts", "timestamp", "date", "datetime", "time")

#: Built-in strategies that run vectorised.
VECTORIZED_STRATEGIES: tuple[str, ...] = (
    "bollinger_breakout",
    "donchian_trend",
    "ema_cross",
    "rsi_reversion",
    "sma_cross",
)

ParamsGrid = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]] | None


@dataclass(frozen=True, eq=False)
class StrategySignals:
    """Signals of a built-in strategy over symbols x parameter sets, ready to simulate.

    Columns run symbol-major: column ``c`` trades ``symbols[price_columns[c]]`` with
    ``params[c % len(params)]``. Price matrices are bars x symbols; ``entries``/``exits`` are
    bars x columns; ``size`` holds each column's target weight; ``retarget`` says whether
    every signal re-targets (crossovers) or the flat/long guards apply.
    """

    strategy: str
    index: pd.DatetimeIndex
    columns: pd.MultiIndex
    symbols: tuple[str, ...]
    params: tuple[BaseModel, ...]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    price_columns: IntArray
    entries: BoolArray
    exits: BoolArray
    size: FloatArray
    retarget: bool


def _params(name: str, grid: ParamsGrid) -> tuple[BaseModel, ...]:
    spec = strategy_spec(name)
    if spec.name not in VECTORIZED_STRATEGIES:
        raise ValidationError(
            f"strategy {spec.name!r} does not run vectorised",
            [
                Issue(
                    _LOCATION,
                    f"choose one of {', '.join(VECTORIZED_STRATEGIES)} (or use run_backtest)",
                    "name",
                )
            ],
        )
    if grid is None:
        sets: list[Mapping[str, Any]] = [{}]
    elif isinstance(grid, Mapping):
        keys = list(grid)
        values = []
        for key in keys:
            options = grid[key]
            if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
                raise invalid(_LOCATION, "params_grid", f"{key!r} needs a non-empty list of values")
            values.append(list(options))
        sets = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    else:
        sets = list(grid)
        if not sets:
            raise invalid(_LOCATION, "params_grid", "is empty; give at least one parameter set")
    models: list[BaseModel] = []
    for i, given in enumerate(sets):
        if not isinstance(given, Mapping):
            raise invalid(_LOCATION, "params_grid", f"entry {i} is not a mapping", row=i)
        try:
            models.append(spec.params.model_validate(dict(given)))
        except pydantic.ValidationError as error:
            issues = [
                Issue(
                    f"strategy.{spec.name}",
                    f"params_grid[{i}]: {item['msg']}",
                    ".".join(str(part) for part in item["loc"]) or None,
                    row=i,
                )
                for item in error.errors()
            ]
            raise ValidationError(
                f"invalid parameters for strategy {spec.name!r}", issues
            ) from None
    return tuple(models)


def _frame(symbol: str, data: Any) -> pd.DataFrame:
    location = f"bars[{symbol}]"
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        bars = list(data)
        if not bars or not all(isinstance(bar, Bar) for bar in bars):
            raise invalid(_LOCATION, location, "expected a frame or a non-empty list of Bar")
        bar_list = cast(list[Bar], bars)
        rows = {
            "ts": [bar.ts for bar in bar_list],
            "close": [bar.close for bar in bar_list],
            "volume": [np.nan if bar.volume is None else bar.volume for bar in bar_list],
        }
        if all(bar.open is not None for bar in bar_list):
            rows |= {
                "open": [bar.open for bar in bar_list],
                "high": [bar.high for bar in bar_list],
                "low": [bar.low for bar in bar_list],
            }
        return pd.DataFrame(rows)
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)
    frame = to_pandas() if callable(to_pandas) else None
    if isinstance(frame, pd.DataFrame):
        return frame
    raise invalid(
        _LOCATION, location, f"expected a pandas/polars frame or Bars, got {type(data).__name__}"
    )


def _columns(symbol: str, frame: pd.DataFrame) -> tuple[pd.DatetimeIndex, dict[str, FloatArray]]:
    location = f"bars[{symbol}]"
    if frame.empty:
        raise invalid(_LOCATION, location, "no bars were given")
    lower = {str(c).lower(): c for c in frame.columns}
    if "close" not in lower:
        raise invalid(_LOCATION, location, "needs a close column")
    ts_col = next((lower[name] for name in _TS_COLUMNS if name in lower), None)
    raw = frame[ts_col] if ts_col is not None else frame.index
    if ts_col is None and not isinstance(raw, pd.DatetimeIndex):
        raise invalid(_LOCATION, location, "needs a DatetimeIndex or a ts/timestamp/date column")
    stamps = pd.DatetimeIndex(pd.to_datetime(raw))
    stamps = stamps.tz_localize(UTC) if stamps.tz is None else stamps.tz_convert(UTC)
    order = np.argsort(stamps.asi8, kind="stable")
    stamps = stamps[order]
    duplicate = np.flatnonzero(stamps[1:] == stamps[:-1])
    if duplicate.size:
        row = int(duplicate[0]) + 1
        raise invalid(_LOCATION, location, f"duplicate bar time {stamps[row].isoformat()}", row=row)
    arrays: dict[str, FloatArray] = {
        name: frame[lower[name]].to_numpy(dtype=np.float64)[order]
        for name in ("open", "high", "low", "close", "volume")
        if name in lower
    }
    if not all(name in arrays for name in ("open", "high", "low")):
        for name in ("open", "high", "low"):
            arrays[name] = arrays["close"]
    arrays.setdefault("volume", np.full(len(stamps), np.nan))
    return pd.DatetimeIndex(stamps, name="ts"), arrays


def _market(
    bars: Mapping[str, Any],
) -> tuple[pd.DatetimeIndex, tuple[str, ...], dict[str, FloatArray]]:
    if not isinstance(bars, Mapping) or not bars:
        raise invalid(_LOCATION, "bars", "give a mapping of symbol -> bars with at least one entry")
    symbols: list[str] = []
    series: list[dict[str, FloatArray]] = []
    index: pd.DatetimeIndex | None = None
    for key, data in bars.items():
        try:
            symbol = normalize_symbol(str(key))
        except ValueError as error:
            raise invalid(_LOCATION, "bars", str(error)) from None
        if symbol in symbols:
            raise invalid(_LOCATION, "bars", f"{symbol!r} given twice")
        stamps, arrays = _columns(symbol, _frame(symbol, data))
        _check_bars(symbol, arrays)
        if index is None:
            index = stamps
        elif not index.equals(stamps):
            raise invalid(
                _LOCATION,
                f"bars[{symbol}]",
                f"timestamps differ from bars[{symbols[0]}]; run symbols with different "
                "calendars in separate calls",
            )
        symbols.append(symbol)
        series.append(arrays)
    assert index is not None
    stacked = {
        name: np.asfortranarray(np.column_stack([arrays[name] for arrays in series]))
        for name in ("open", "high", "low", "close", "volume")
    }
    return index, tuple(symbols), stacked


def _check_bars(symbol: str, arrays: dict[str, FloatArray]) -> None:
    location = f"bars[{symbol}]"
    checked = {
        name: price_matrix(_LOCATION, f"{location}.{name}", arrays[name])
        for name in ("close", "open", "high", "low")
    }
    check_ohlc(
        _LOCATION, checked["open"], checked["high"], checked["low"], checked["close"], location
    )
    volume_matrix(_LOCATION, arrays["volume"], checked["close"].shape, f"{location}.volume")


def _unique(values: Sequence[Any]) -> tuple[list[Any], IntArray]:
    distinct = list(dict.fromkeys(values))
    lookup = {value: i for i, value in enumerate(distinct)}
    return distinct, np.array([lookup[value] for value in values], dtype=np.int64)


def _indicator_matrix(
    assets: int, distinct: Sequence[Any], compute: Callable[[int, Any], FloatArray]
) -> FloatArray:
    bars = None
    columns: list[FloatArray] = []
    for a in range(assets):
        for option in distinct:
            values = np.asarray(compute(a, option), dtype=np.float64)
            bars = values.shape[0]
            columns.append(values)
    assert bars is not None
    return kernel_array(np.vstack(columns))


def _signals(
    name: str, params: tuple[BaseModel, ...], prices: dict[str, FloatArray]
) -> tuple[BoolArray, BoolArray]:
    close, high, low = prices["close"], prices["high"], prices["low"]
    assets, per_asset = close.shape[1], len(params)
    asset = np.repeat(np.arange(assets, dtype=np.int64), per_asset)

    def spread(index: IntArray, width: int) -> IntArray:
        return np.asarray(asset * width + np.tile(index, assets), dtype=np.int64)

    values: dict[str, Any] = {key: [getattr(p, key) for p in params] for key in _fields(params)}
    if name in ("sma_cross", "ema_cross"):
        average = sma if name == "sma_cross" else ema
        windows, index = _unique(values["fast"] + values["slow"])
        matrix = _indicator_matrix(
            assets, windows, lambda a, w: cast(FloatArray, average(close[:, a], timeperiod=w))
        )
        fast, slow = index[:per_asset], index[per_asset:]
        return _bars_first(
            cross_signals_nb(matrix, spread(fast, len(windows)), spread(slow, len(windows)))
        )
    if name == "rsi_reversion":
        periods, index = _unique(values["period"])
        matrix = _indicator_matrix(
            assets, periods, lambda a, p: cast(FloatArray, rsi(close[:, a], timeperiod=p))
        )
        lower = np.tile(np.asarray(values["lower"], dtype=np.float64), assets)
        upper = np.tile(np.asarray(values["upper"], dtype=np.float64), assets)
        return _bars_first(threshold_signals_nb(matrix, spread(index, len(periods)), lower, upper))
    if name == "bollinger_breakout":
        options, index = _unique(list(zip(values["period"], values["nbdev"], strict=True)))
        bands: dict[tuple[int, int], dict[str, FloatArray]] = {}

        def band(a: int, option: tuple[int, float], output: str) -> FloatArray:
            key = (a, options.index(option))
            if key not in bands:
                period, nbdev = option
                bands[key] = cast(
                    dict[str, FloatArray],
                    bbands(close[:, a], timeperiod=period, nbdevup=nbdev, nbdevdn=nbdev),
                )
            return bands[key][output]

        upper = _indicator_matrix(assets, options, lambda a, o: band(a, o, "upper"))
        middle = _indicator_matrix(assets, options, lambda a, o: band(a, o, "middle"))
        rows = series_rows(close)
        return _bars_first(
            band_signals_nb(rows, asset, upper, middle, spread(index, len(options)), 0)
        )
    periods, index = _unique(values["period"])
    channels: dict[tuple[int, int], dict[str, FloatArray]] = {}

    def channel(a: int, period: int, output: str) -> FloatArray:
        key = (a, period)
        if key not in channels:
            data = {"high": high[:, a], "low": low[:, a]}
            channels[key] = cast(dict[str, FloatArray], donchian(data, timeperiod=period))
        return channels[key][output]

    upper = _indicator_matrix(assets, periods, lambda a, p: channel(a, p, "upper"))
    lower_band = _indicator_matrix(assets, periods, lambda a, p: channel(a, p, "lower"))
    rows = series_rows(close)
    return _bars_first(
        band_signals_nb(rows, asset, upper, lower_band, spread(index, len(periods)), 1)
    )


def _bars_first(signals: tuple[BoolArray, BoolArray]) -> tuple[BoolArray, BoolArray]:
    return signals[0].T, signals[1].T


def _fields(params: tuple[BaseModel, ...]) -> list[str]:
    return list(type(params[0]).model_fields)


def strategy_signals(
    name: str, bars: Mapping[str, Any], params_grid: ParamsGrid = None
) -> StrategySignals:
    """Return the signals of built-in strategy ``name`` for every symbol and parameter set.

    Parameters
    ----------
    name
        One of :data:`VECTORIZED_STRATEGIES`.
    bars
        Bars per symbol, all on the same timestamps: pandas/polars frames with a ``close``
        column (``open``/``high``/``low``/``volume`` optional; time from a
        ``ts``/``timestamp``/``date`` column or the DatetimeIndex, naive = UTC) or lists of
        :class:`~quantdesk.domain.market_data.Bar`.
    params_grid
        ``None`` (the defaults), a list of parameter mappings, or a mapping of parameter name
        to values (their Cartesian product, in key order). Every set is validated by the
        strategy's parameter model (bounds, ``fast < slow``, ``lower < upper``).

    Returns
    -------
    StrategySignals

    Raises
    ------
    ValidationError
        For an unknown or non-vectorised strategy, an unknown or out-of-bounds parameter (the
        issue names it and the grid row), bad bars or symbols on different timestamps.
    """
    params = _params(name, params_grid)
    spec_name = strategy_spec(name).name
    index, symbols, prices = _market(bars)
    entries, exits = _signals(spec_name, params, prices)
    fields = _fields(params)
    rows = [(symbol, *(getattr(p, f) for f in fields)) for symbol in symbols for p in params]
    columns = pd.MultiIndex.from_tuples(rows, names=["symbol", *fields])
    weights = np.tile(np.array([float(p.model_dump()["weight"]) for p in params]), len(symbols))
    return StrategySignals(
        strategy=spec_name,
        index=index,
        columns=columns,
        symbols=symbols,
        params=params,
        open=prices["open"],
        high=prices["high"],
        low=prices["low"],
        close=prices["close"],
        volume=prices["volume"],
        price_columns=np.repeat(np.arange(len(symbols), dtype=np.int64), len(params)),
        entries=entries,
        exits=exits,
        size=weights,
        retarget=spec_name in ("sma_cross", "ema_cross"),
    )


def run_strategy(
    name: str,
    bars: Mapping[str, Any],
    params_grid: ParamsGrid = None,
    *,
    cash: float = 100_000.0,
    execution: ExecutionConfig | None = None,
    account: AccountConfig | None = None,
    sl_stop: float | Sequence[float] | npt.NDArray[Any] | None = None,
    tp_stop: float | Sequence[float] | npt.NDArray[Any] | None = None,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
) -> VectorizedResult:
    """Backtest built-in strategy ``name`` on every symbol x parameter set in one pass.

    Each column equals ``run_backtest(make_strategy(name, **params), {symbol: frame}, ...)``
    with the same cash, execution and account: same fills (time, price, quantity, fee) and
    the same equity at every bar. Columns are labelled ``(symbol, *params)`` (a MultiIndex
    with the parameter names), symbol-major.

    Parameters
    ----------
    name, bars, params_grid
        As in :func:`strategy_signals`.
    cash, execution, account
        As in :func:`~quantdesk.backtest.vectorized.engine.run_signals`.
    sl_stop, tp_stop
        Optional stop-loss / take-profit fractions (not part of the event strategies).
    periods_per_year, risk_free
        Annualisation and annual risk-free rate of the metrics.

    Returns
    -------
    VectorizedResult

    Raises
    ------
    ValidationError
        As :func:`strategy_signals` and :func:`~.engine.run_signals` raise.
    """
    signals = strategy_signals(name, bars, params_grid)
    return run_signals(
        signals.close,
        signals.entries,
        signals.exits,
        open=signals.open,
        high=signals.high,
        low=signals.low,
        volume=signals.volume,
        size=signals.size,
        size_type="target_percent",
        retarget=signals.retarget,
        sl_stop=sl_stop,
        tp_stop=tp_stop,
        execution=execution,
        account=account,
        cash=cash,
        index=signals.index,
        columns=signals.columns,
        symbols=signals.symbols,
        price_columns=signals.price_columns,
        periods_per_year=periods_per_year,
        risk_free=risk_free,
        strategy=signals.strategy,
    )
