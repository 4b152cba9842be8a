"""Input checks and the simulation plan shared by the vectorised engine's entry points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.backtest.vectorized._simulate_nb import (
    F_BAR,
    F_COLUMN,
    F_FEE,
    F_ORDER,
    F_PRICE,
    F_QUANTITY,
    F_SIDE,
    F_SLIPPAGE,
    O_AVAILABLE,
    O_BAR,
    O_COLUMN,
    O_EQUITY_AFTER,
    O_EXPOSURE,
    O_FEES,
    O_FILLED,
    O_HELD,
    O_KIND,
    O_LEVEL,
    O_NEEDED,
    O_NOTIONAL,
    O_QUANTITY,
    O_REASON,
    O_SEQ,
    O_SIDE,
    O_STATUS,
    O_UPDATED,
    simulate_nb,
)
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.execution.sim import AccountConfig, ExecutionConfig, MarketFill
from quantdesk.execution.sim._costs_nb import slipped_price_nb

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Fill records: one row per execution, grouped by column and in time order.
FILL_DTYPE = np.dtype(
    [
        ("column", np.int64),
        ("bar", np.int64),
        ("order", np.int64),
        ("side", np.int8),
        ("quantity", np.float64),
        ("price", np.float64),
        ("fee", np.float64),
        ("slippage", np.float64),
    ]
)

#: Order records: one row per order, grouped by column and in creation order.
ORDER_DTYPE = np.dtype(
    [
        ("column", np.int64),
        ("order", np.int64),
        ("kind", np.int8),
        ("bar", np.int64),
        ("side", np.int8),
        ("quantity", np.float64),
        ("level", np.float64),
        ("status", np.int8),
        ("filled", np.float64),
        ("average_price", np.float64),
        ("fees", np.float64),
        ("updated", np.int64),
        ("reason", np.int8),
    ]
)

_DETAILS = (O_HELD, O_NEEDED, O_AVAILABLE, O_EXPOSURE, O_EQUITY_AFTER)


def invalid(location: str, parameter: str, reason: str, row: int | None = None) -> ValidationError:
    """Return the ``ValidationError`` for one bad parameter."""
    return ValidationError(
        f"invalid {parameter} for {location}", [Issue(location, reason, parameter, row=row)]
    )


def _array(location: str, name: str, value: Any, dtype: Any) -> npt.NDArray[Any]:
    if isinstance(value, pd.DataFrame | pd.Series):
        value = value.to_numpy()
    try:
        array = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise invalid(location, name, f"cannot be read as an array: {error}") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise invalid(location, name, f"must be 1-D or 2-D (bars x columns), got {array.ndim}-D")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise invalid(location, name, f"is empty (shape {array.shape}); give at least one bar")
    return array


def price_matrix(
    location: str, name: str, value: Any, shape: tuple[int, int] | None = None
) -> FloatArray:
    """Return ``value`` as a bars x assets float64 matrix of finite positive prices."""
    array = np.asfortranarray(_array(location, name, value, np.float64))
    if shape is not None and array.shape != shape:
        raise invalid(location, name, f"has shape {array.shape}; close has shape {shape}")
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        reason = f"must be finite and positive; column {column} holds {array[row, column]!r}"
        raise invalid(location, name, reason, row=int(row))
    return array


def volume_matrix(
    location: str, value: Any, shape: tuple[int, int], name: str = "volume"
) -> FloatArray:
    """Return volumes as a float64 matrix (NaN: no volume), checked non-negative."""
    array = np.asfortranarray(_array(location, name, value, np.float64))
    if array.shape != shape:
        raise invalid(location, name, f"has shape {array.shape}; close has shape {shape}")
    bad = ~np.isnan(array) & ~(np.isfinite(array) & (array >= 0))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        reason = f"must be finite and >= 0 (NaN: none); column {column} holds {array[row, column]}"
        raise invalid(location, name, reason, row=int(row))
    return array


def check_ohlc(
    location: str,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    name: str = "high",
) -> None:
    """Raise unless ``low <= open, close <= high`` on every bar (the rule ``Bar`` enforces)."""
    bad = (high < np.maximum(open_, close)) | (high < low) | (low > np.minimum(open_, close))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        reason = (
            f"inconsistent bar in column {column}: open {open_[row, column]}, high "
            f"{high[row, column]}, low {low[row, column]}, close {close[row, column]}"
        )
        raise invalid(location, name, reason, row=int(row))


def signal_matrix(location: str, name: str, value: Any, shape: tuple[int, int] | None) -> BoolArray:
    """Return a bars x columns boolean signal matrix (Fortran order)."""
    array = _array(location, name, value, None)
    if array.dtype != np.bool_:
        raise invalid(location, name, f"must be boolean (True/False), got dtype {array.dtype}")
    if shape is not None and array.shape != shape:
        raise invalid(location, name, f"has shape {array.shape}, expected {shape}")
    return np.asfortranarray(array)


def per_column(
    location: str,
    name: str,
    value: float | Sequence[float] | npt.NDArray[Any] | None,
    columns: int,
    *,
    low: float,
    high: float = math.inf,
    closed_low: bool = False,
) -> FloatArray:
    """Return a float64 vector with one value per column, each in ``(low, high)``.

    ``None`` gives all NaN (the option is off); ``closed_low`` admits ``low`` itself.
    """
    if value is None:
        return np.full(columns, np.nan)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise invalid(
            location, name, f"must be a number or one per column, got {value!r}"
        ) from None
    if array.ndim == 0:
        array = np.full(columns, float(array))
    if array.shape != (columns,):
        raise invalid(location, name, f"needs one value per column ({columns}), got {array.shape}")
    above = array >= low if closed_low else array > low
    ok = np.isfinite(array) & above & (array < high)
    if not ok.all():
        where = int(np.flatnonzero(~ok)[0])
        bound = f"[{low:g}, {high:g})" if closed_low else f"({low:g}, {high:g})"
        reason = f"must be finite and in {bound}; column {where} holds {array[where]!r}"
        raise invalid(location, name, reason)
    return array


def timeline(location: str, index: Any, bars: int) -> tuple[pd.Index, FloatArray]:
    """Return the bar index (UTC for datetimes) and the calendar days since the previous bar.

    Without timestamps every bar counts as one day for the borrow fee.
    """
    if index is None:
        return pd.RangeIndex(bars, name="bar"), np.r_[0.0, np.ones(bars - 1)]
    labels = pd.Index(index)
    if len(labels) != bars:
        raise invalid(location, "index", f"has {len(labels)} labels for {bars} bars")
    if not isinstance(labels, pd.DatetimeIndex):
        if labels.is_monotonic_increasing and labels.is_unique:
            return labels, np.r_[0.0, np.ones(bars - 1)]
        raise invalid(location, "index", "must increase strictly")
    stamps = labels.tz_localize("UTC") if labels.tz is None else labels.tz_convert("UTC")
    if not (stamps.is_monotonic_increasing and stamps.is_unique):
        raise invalid(
            location, "index", "timestamps must increase strictly (sort, drop duplicates)"
        )
    dates = stamps.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    days = np.r_[0.0, np.diff(dates).astype(np.float64)]
    return stamps.rename("ts"), days


def asset_symbols(location: str, symbols: Sequence[str], assets: int) -> tuple[str, ...]:
    """Return normalised symbols, one per asset (price column)."""
    if len(symbols) != assets:
        raise invalid(location, "symbols", f"needs one symbol per price column ({assets})")
    out: list[str] = []
    for i, symbol in enumerate(symbols):
        try:
            out.append(normalize_symbol(str(symbol)))
        except ValueError as error:
            raise invalid(location, "symbols", str(error), row=i) from None
    return tuple(out)


def check_execution(location: str, execution: ExecutionConfig, stops: bool) -> None:
    """Raise for execution settings the vectorised engine cannot honour."""
    model = execution.slippage_model
    if math.isnan(slipped_price_nb(model.kind, model.params, 1, 1.0, 1.0, *(math.nan,) * 3)):
        raise invalid(
            location,
            "execution.slippage_model",
            f"{type(model).__name__} needs a per-bar spread, volatility or ADV; give it defaults "
            "(SpreadSlippage(spread_bps=...), SquareRootImpact(volatility=..., adv=...))",
        )
    if stops and execution.participation is not None:
        raise invalid(
            location,
            "execution.participation",
            "stop-loss/take-profit exits need uncapped fills; drop participation or the stops",
        )


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything one simulation needs; a result keeps it to re-run single columns."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    index: pd.Index
    days: FloatArray
    symbols: tuple[str, ...]
    price_column: IntArray
    entries: BoolArray
    exits: BoolArray
    short_entries: BoolArray
    short_exits: BoolArray
    size: FloatArray
    size_type: int
    retarget: bool
    sl_stop: FloatArray
    tp_stop: FloatArray
    account: AccountConfig
    execution: ExecutionConfig

    def borrow_rates(self) -> FloatArray:
        """Return each column's annual borrow rate (per-symbol overrides applied)."""
        rates = [self.account.borrow_rate_for(symbol) for symbol in self.symbols]
        return np.asarray(rates, dtype=np.float64)[self.price_column]


@dataclass(frozen=True, eq=False)
class Outcome:
    """What the kernel produced, as records (column numbers relative to the run)."""

    equity: FloatArray
    cash: FloatArray
    position: FloatArray
    fills: npt.NDArray[np.void]
    orders: npt.NDArray[np.void]
    details: FloatArray


def kernel_array(array: npt.NDArray[Any], dtype: Any = None) -> npt.NDArray[Any]:
    """Return ``array`` C-contiguous, aligned and writeable (one numba signature for all)."""
    return np.require(array, dtype=dtype, requirements=["C_CONTIGUOUS", "ALIGNED", "WRITEABLE"])


def series_rows(matrix: npt.NDArray[Any], subset: IntArray | None = None) -> npt.NDArray[Any]:
    """Return a bars x series matrix (or its ``subset`` of series) as series x bars rows."""
    if subset is not None and matrix.shape[0] > 0:
        matrix = matrix[:, subset]
    return kernel_array(matrix.T)


def simulate(plan: Plan, subset: IntArray | None = None, *, record_state: bool = False) -> Outcome:
    """Run the kernel over every column of ``plan`` (or the ``subset`` of columns)."""
    price_column = plan.price_column if subset is None else plan.price_column[subset]
    pick = slice(None) if subset is None else subset
    signals = [
        series_rows(matrix, subset)
        for matrix in (plan.entries, plan.exits, plan.short_entries, plan.short_exits)
    ]
    capacity = sum(int(np.count_nonzero(matrix)) for matrix in signals)
    fee, slippage = plan.execution.fee_model, plan.execution.slippage_model
    participation = plan.execution.participation
    equity, cash, position, fills, n_fills, orders, n_orders = simulate_nb(
        series_rows(plan.open),
        series_rows(plan.high),
        series_rows(plan.low),
        series_rows(plan.close),
        series_rows(plan.volume),
        kernel_array(price_column, np.int64),
        signals[0],
        signals[1],
        signals[2],
        signals[3],
        kernel_array(plan.size[pick], np.float64),
        plan.size_type,
        plan.retarget,
        np.full(price_column.shape[0], float(plan.account.initial_cash)),
        kernel_array(plan.sl_stop[pick], np.float64),
        kernel_array(plan.tp_stop[pick], np.float64),
        kernel_array(plan.days, np.float64),
        kernel_array(plan.borrow_rates()[pick], np.float64),
        float(plan.account.day_count),
        float(plan.account.max_leverage),
        bool(plan.account.allow_short),
        int(fee.kind),
        np.array(fee.params, dtype=np.float64),
        int(slippage.kind),
        np.array(slippage.params, dtype=np.float64),
        math.nan if participation is None else float(participation),
        float(plan.execution.lot_size),
        plan.execution.market_fill is MarketFill.SAME_CLOSE_OPTIMISTIC,
        record_state,
        capacity + 16,
    )
    return Outcome(
        equity.T,
        cash.T,
        position.T,
        _fill_records(fills[:n_fills]),
        *_order_records(orders[:n_orders]),
    )


def _fill_records(raw: FloatArray) -> npt.NDArray[np.void]:
    records = np.empty(raw.shape[0], dtype=FILL_DTYPE)
    records["column"] = raw[:, F_COLUMN]
    records["bar"] = raw[:, F_BAR]
    records["order"] = raw[:, F_ORDER]
    records["side"] = raw[:, F_SIDE]
    records["quantity"] = raw[:, F_QUANTITY]
    records["price"] = raw[:, F_PRICE]
    records["fee"] = raw[:, F_FEE]
    records["slippage"] = raw[:, F_SLIPPAGE]
    return records


def _order_records(raw: FloatArray) -> tuple[npt.NDArray[np.void], FloatArray]:
    records = np.empty(raw.shape[0], dtype=ORDER_DTYPE)
    records["column"] = raw[:, O_COLUMN]
    records["order"] = raw[:, O_SEQ]
    records["kind"] = raw[:, O_KIND]
    records["bar"] = raw[:, O_BAR]
    records["side"] = raw[:, O_SIDE]
    records["quantity"] = raw[:, O_QUANTITY]
    records["level"] = raw[:, O_LEVEL]
    records["status"] = raw[:, O_STATUS]
    filled = raw[:, O_FILLED]
    records["filled"] = filled
    with np.errstate(invalid="ignore", divide="ignore"):
        records["average_price"] = np.where(filled > 0, raw[:, O_NOTIONAL] / filled, np.nan)
    records["fees"] = raw[:, O_FEES]
    records["updated"] = raw[:, O_UPDATED]
    records["reason"] = raw[:, O_REASON]
    return records, np.ascontiguousarray(raw[:, list(_DETAILS)])
