"""The vectorised backtest engine: entry/exit signals for many columns simulated in one pass.

Each column is one symbol traded with its own cash by one parameter set. The simulation is a
numba loop over bars and columns that calls the execution core's kernels for every fill
(prices, gap rule, volume cap, slippage, fees, rejections, average-cost accounting, borrow),
so a column behaves exactly like the event-driven engine running a strategy that calls
:meth:`~quantdesk.backtest.strategy.Context.order_target_percent` on the same signals; the
parity suite checks identical fills and equity curves.

When things happen (bar ``t``):

- **Decision at the close of ``t``.** A long entry targets ``+size``, a short entry ``-size``,
  an exit ``0`` (see :class:`SizeType` for how ``size`` becomes shares). The order is a market
  order for ``target - position - working orders``; nothing is sent for less than 1e-9.
  Without ``retarget`` an entry acts only when the column is flat (position plus working
  orders is 0), a long exit only while long and a short exit only while short, and the first
  applicable of long entry, long exit, short entry, short exit wins; with ``retarget`` every
  signal re-targets (entries top the position up to the target), in the same precedence.
- **Checks.** When sent, the order is checked at the close ``t`` with its estimated fee
  (cash, leverage and shorting limits of :class:`~quantdesk.execution.sim.AccountConfig`);
  each fill is checked again at its slipped price. A refused order is ``rejected``.
- **Fill.** At the open of ``t + 1`` (:attr:`MarketFill.NEXT_OPEN`, the default), or at the
  close of ``t`` with :attr:`MarketFill.SAME_CLOSE_OPTIMISTIC` (optimistic: that close was
  known when deciding). Slippage moves the price against the trade, the fee model charges
  the order (minimums once per order). With ``participation`` set, fills are capped at that
  share of the bar's volume and the rest keeps working on later opens.
- **Stops.** ``sl_stop``/``tp_stop`` arm a stop-loss and a take-profit when a fill opens a
  position (from flat, or through zero): levels ``fill price * (1 -/+ sl_stop)`` and
  ``* (1 +/- tp_stop)`` for a long (mirrored for a short), for the whole position. They are
  matched from the bar of that fill (all of it, since a market order fills at the open; from
  the next bar when filled at a close) like a stop and a limit order, OCO with the gap-first,
  stop-before-limit rule of the simulated broker; their fill cancels working market orders.
  Any fill that leaves the column flat disarms them.
- **Accounting.** ``equity = cash + position * close`` after each bar; shorts pay the borrow
  fee per calendar day, valued at the previous close, on the first bar of each new date.

Supported configuration: every field of :class:`~quantdesk.execution.sim.ExecutionConfig`
and of :class:`~quantdesk.execution.sim.AccountConfig` (``borrow_rates`` apply by the column's
symbol), with two limits checked up front: slippage models need their defaults for spread,
volatility and ADV (there is no per-bar market context, as in the event-driven engine), and
stops cannot be combined with a volume cap. Each column is its own account: columns never
share cash, so a multi-symbol event run with one shared account is not a set of columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.backtest.vectorized._inputs import (
    Plan,
    asset_symbols,
    check_execution,
    check_ohlc,
    invalid,
    per_column,
    price_matrix,
    signal_matrix,
    simulate,
    timeline,
    volume_matrix,
)
from quantdesk.backtest.vectorized._simulate_nb import (
    SIZE_SHARES,
    SIZE_TARGET_PERCENT,
    SIZE_VALUE,
)
from quantdesk.backtest.vectorized.result import VectorizedResult
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.execution.sim import AccountConfig, ExecutionConfig

__all__ = ["SizeType", "run_signals"]

_LOCATION = "run_signals"


class SizeType(StrEnum):
    """How ``size`` turns into a target position (shares), decided at the close ``c``.

    - ``target_percent``: ``trunc(size * equity / c)`` shares, equity marked at ``c``:
      ``Context.order_target_percent(symbol, size)`` exactly.
    - ``shares``: ``size`` shares.
    - ``value``: ``trunc(size / c)`` shares, ``size`` being a cash amount.
    """

    TARGET_PERCENT = "target_percent"
    SHARES = "shares"
    VALUE = "value"


_SIZE_CODES = {
    SizeType.TARGET_PERCENT: SIZE_TARGET_PERCENT,
    SizeType.SHARES: SIZE_SHARES,
    SizeType.VALUE: SIZE_VALUE,
}


def _default_symbols(close: Any, assets: int) -> list[str]:
    if isinstance(close, pd.DataFrame):
        return [str(label) for label in close.columns]
    if isinstance(close, pd.Series) and isinstance(close.name, str):
        return [close.name]
    return ["ASSET"] if assets == 1 else [f"ASSET{i}" for i in range(assets)]


def _pandas_index(*values: Any) -> pd.Index | None:
    for value in values:
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.index
    return None


def _price_columns(
    price_columns: Sequence[int] | npt.NDArray[np.integer[Any]] | None, assets: int, columns: int
) -> npt.NDArray[np.int64]:
    if price_columns is None:
        if assets == columns:
            return np.arange(columns, dtype=np.int64)
        if assets == 1:
            return np.zeros(columns, dtype=np.int64)
        raise invalid(
            _LOCATION,
            "price_columns",
            f"{columns} signal columns and {assets} price columns: give price_columns, the price "
            "column each signal column trades",
        )
    mapping = np.asarray(price_columns)
    if mapping.shape != (columns,) or not np.issubdtype(mapping.dtype, np.integer):
        raise invalid(_LOCATION, "price_columns", f"needs {columns} integer positions")
    if ((mapping < 0) | (mapping >= assets)).any():
        raise invalid(_LOCATION, "price_columns", f"positions must be in [0, {assets})")
    return mapping.astype(np.int64)


def run_signals(
    close: Any,
    entries: Any,
    exits: Any = None,
    *,
    open: Any = None,
    high: Any = None,
    low: Any = None,
    volume: Any = None,
    short_entries: Any = None,
    short_exits: Any = None,
    size: float | Sequence[float] | npt.NDArray[Any] = 0.95,
    size_type: SizeType | str = SizeType.TARGET_PERCENT,
    retarget: bool = False,
    sl_stop: float | Sequence[float] | npt.NDArray[Any] | None = None,
    tp_stop: float | Sequence[float] | npt.NDArray[Any] | None = None,
    execution: ExecutionConfig | None = None,
    account: AccountConfig | None = None,
    cash: float = 100_000.0,
    index: Any = None,
    columns: Any = None,
    symbols: Sequence[str] | None = None,
    price_columns: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    strategy: str = "signals",
) -> VectorizedResult:
    """Backtest boolean signals on every column at once; see the module docstring for timing.

    Parameters
    ----------
    close
        Closes, bars x assets (1-D for one asset); numpy or pandas. Close-only data is fine:
        open, high and low then equal the close.
    entries, exits
        Long entry / exit signals, bars x columns booleans (1-D for one column), decided at
        each bar's close. ``exits`` may be ``None``.
    open, high, low
        Give all three or none; same shape as ``close``.
    volume
        Volumes (NaN: none), only used by ``execution.participation``.
    short_entries, short_exits
        Short entry / exit signals, like ``entries``.
    size, size_type
        Target per entry, one number or one per column (finite, > 0); see :class:`SizeType`.
    retarget
        Re-target on every signal instead of acting on flat/long/short states only.
    sl_stop, tp_stop
        Stop-loss in (0, 1) and take-profit > 0 as fractions of the entry fill price, one
        number or one per column (NaN: none for that column).
    execution
        Fee and slippage models, fill timing, volume cap (default: no costs, next open).
    account
        Cash, leverage, shorting and borrow of each column's account (default: ``cash``, no
        leverage, shorting allowed).
    cash
        Initial cash of every column (ignored when ``account`` is given).
    index
        Bar labels; default: the pandas index of ``close`` or ``entries``. Datetimes are taken
        as UTC (naive ones localised); they set the borrow days and allow
        :meth:`VectorizedResult.result`.
    columns
        Column labels; default: ``entries``' columns, else positions.
    symbols
        One symbol per price column (default: ``close``'s column names, else ``ASSET<i>``).
    price_columns
        The price column each signal column trades (default: the same position when the
        counts match, 0 for a single asset).
    periods_per_year, risk_free
        Annualisation and annual risk-free rate of the metrics.
    strategy
        Label of the run in results.

    Returns
    -------
    VectorizedResult

    Raises
    ------
    ValidationError
        Naming the parameter: empty or mismatched arrays, non-boolean signals, non-finite or
        non-positive prices, inconsistent OHLC, bad sizes or stops, unknown size type, a bad
        index, or an execution setting the engine cannot honour.
    """
    close_m = price_matrix(_LOCATION, "close", close)
    shape = close_m.shape
    given = [
        name for name, value in (("open", open), ("high", high), ("low", low)) if value is None
    ]
    if 0 < len(given) < 3:
        raise invalid(_LOCATION, given[0], "give open, high and low together, or none of them")
    if open is None:
        open_m = high_m = low_m = close_m
    else:
        open_m = price_matrix(_LOCATION, "open", open, shape)
        high_m = price_matrix(_LOCATION, "high", high, shape)
        low_m = price_matrix(_LOCATION, "low", low, shape)
        check_ohlc(_LOCATION, open_m, high_m, low_m, close_m)
    volume_m = (
        np.full(shape, np.nan, order="F")
        if volume is None
        else volume_matrix(_LOCATION, volume, shape)
    )
    entries_m = signal_matrix(_LOCATION, "entries", entries, None)
    if entries_m.shape[0] != shape[0]:
        raise invalid(
            _LOCATION, "entries", f"has {entries_m.shape[0]} bars; close has {shape[0]} bars"
        )
    signal_shape = entries_m.shape
    m = signal_shape[1]
    none = np.zeros((0, 0), dtype=np.bool_, order="F")
    others = {
        name: none if value is None else signal_matrix(_LOCATION, name, value, signal_shape)
        for name, value in (
            ("exits", exits),
            ("short_entries", short_entries),
            ("short_exits", short_exits),
        )
    }
    try:
        kind = SizeType(size_type)
    except ValueError:
        valid = ", ".join(item.value for item in SizeType)
        raise invalid(_LOCATION, "size_type", f"{size_type!r} is not one of {valid}") from None
    sizes = per_column(_LOCATION, "size", size, m, low=0.0)
    sl = per_column(_LOCATION, "sl_stop", sl_stop, m, low=0.0, high=1.0)
    tp = per_column(_LOCATION, "tp_stop", tp_stop, m, low=0.0)
    execution = execution or ExecutionConfig()
    account = account or AccountConfig(initial_cash=cash)
    check_execution(_LOCATION, execution, sl_stop is not None or tp_stop is not None)
    bar_index, days = timeline(
        _LOCATION, index if index is not None else _pandas_index(close, entries), shape[0]
    )
    mapping = _price_columns(price_columns, shape[1], m)
    names = asset_symbols(
        _LOCATION, symbols if symbols is not None else _default_symbols(close, shape[1]), shape[1]
    )
    labels = _column_labels(columns, entries, close, m)
    plan = Plan(
        open=open_m,
        high=high_m,
        low=low_m,
        close=close_m,
        volume=volume_m,
        index=bar_index,
        days=days,
        symbols=names,
        price_column=mapping,
        entries=entries_m,
        exits=others["exits"],
        short_entries=others["short_entries"],
        short_exits=others["short_exits"],
        size=sizes,
        size_type=_SIZE_CODES[kind],
        retarget=bool(retarget),
        sl_stop=sl,
        tp_stop=tp,
        account=account,
        execution=execution,
    )
    return VectorizedResult(
        strategy=strategy,
        plan=plan,
        outcome=simulate(plan),
        columns=labels,
        periods_per_year=periods_per_year,
        risk_free=risk_free,
    )


def _column_labels(columns: Any, entries: Any, close: Any, m: int) -> pd.Index:
    if columns is not None:
        labels = columns if isinstance(columns, pd.Index) else pd.Index(list(columns))
    elif isinstance(entries, pd.DataFrame):
        labels = entries.columns
    elif isinstance(close, pd.DataFrame) and close.shape[1] == m:
        labels = close.columns
    else:
        labels = pd.RangeIndex(m)
    if len(labels) != m:
        raise ValidationError(
            "invalid columns for run_signals",
            [Issue(_LOCATION, f"has {len(labels)} labels for {m} signal columns", "columns")],
        )
    return labels
