"""Portfolio performance: daily valuation, time- and money-weighted returns, periods, allocation.

Definitions used throughout:

- **Valuation** (:func:`valuation_series`): on every price date from the first transaction on,
  the portfolio is valued at that day's close (last known close carried forward) converted at
  that day's FX rate. Transactions dated on a non-price day count on the next price day.
- **External flows** are deposits, withdrawals and transfers (cash at its amount, securities at
  the day's close, or at the transaction price when no close is known yet). Dividends,
  interest and fees are not flows: they are part of the return.
- **Flow timing: start of day.** A flow on day ``t`` is invested for the whole day, so the
  daily return is ``r_t = V_t / (V_{t-1} + F_t) - 1`` (``V_{-1} = 0``). The first day's return
  is measured against the opening deposit. A day with no capital (``V_{t-1} + F_t = 0``) and no
  value has return 0; a day with no or negative capital but a non-zero value cannot be measured
  and raises :class:`~quantdesk.core.errors.ValidationError`.
- **Time-weighted return** (TWR) links the daily returns: ``prod(1 + r_t) - 1``.
- **Money-weighted return** is the XIRR of the investor's flows (money in negative, money out
  and the ending value positive), with actual/365 day counts, solved with
  :func:`scipy.optimize.brentq`.
- **Periods** (:func:`period_returns`) end at the last return on or before ``as_of``. 1D is the
  last day's return; WTD, MTD and YTD start at the close before the week (Monday), month or year
  of ``as_of`` and fall back to since-inception when the history starts inside the period; 1Y,
  3Y and 5Y start at the close on or before the same calendar date 1, 3 or 5 years before
  ``as_of`` and are unavailable (with a note) when the history starts later; max is since
  inception (the close before the first day). Periods longer than one year are annualised:
  3Y and 5Y over their nominal length, ``(1 + R) ** (1 / years) - 1``, and max with actual/365,
  ``(1 + R) ** (365 / days) - 1`` when it spans more than 365 days.

Analytics are float64; the ledger underneath stays Decimal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq  # type: ignore[import-untyped, unused-ignore]

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import Instrument
from quantdesk.domain.portfolio import (
    MONEY_CONTEXT,
    ZERO,
    LotMethod,
    Transaction,
    TransactionType,
    transaction_issues,
)
from quantdesk.portfolio.holdings import HoldingsReport
from quantdesk.portfolio.ledger import Ledger, chronological_order

FloatArray = npt.NDArray[np.float64]
#: Instrument metadata for allocation: ``(asset_class, sector, currency)`` or an Instrument.
InstrumentInfo: TypeAlias = "tuple[str, str | None, str] | Instrument"
#: Columns of :func:`valuation_series`.
VALUATION_COLUMNS = ("market_value", "cash", "total_value", "net_flow")


class Period(StrEnum):
    """Reporting periods of :func:`period_returns`."""

    DAY = "1D"
    WEEK_TO_DATE = "WTD"
    MONTH_TO_DATE = "MTD"
    YEAR_TO_DATE = "YTD"
    ONE_YEAR = "1Y"
    THREE_YEARS = "3Y"
    FIVE_YEARS = "5Y"
    MAX = "max"


_TRAILING_YEARS = {Period.ONE_YEAR: 1, Period.THREE_YEARS: 3, Period.FIVE_YEARS: 5}


# --------------------------------------------------------------------------- valuation


def valuation_series(
    transactions: Iterable[Transaction],
    prices: pd.DataFrame,
    *,
    base_currency: str = "USD",
    fx: pd.DataFrame | None = None,
    lot_method: LotMethod = LotMethod.FIFO,
    allow_short: bool = False,
    include_cash: bool = True,
    end: date | None = None,
) -> pd.DataFrame:
    """Return the daily valuation of the portfolio and its external flows in the base currency.

    Parameters
    ----------
    transactions
        The ledger, any order (replayed by trade date).
    prices
        Daily closes: a DatetimeIndex and one column per symbol, in the symbol's currency. Its
        dates are the valuation calendar. Gaps are filled with the last close; before a
        symbol's first close its last transaction price is used.
    base_currency
        Currency of the result.
    fx
        Daily rates, one column per other currency: base-currency units per unit (filled
        forward). Needed when any transaction is in another currency.
    lot_method, allow_short
        Passed to the :class:`~quantdesk.portfolio.ledger.Ledger`.
    include_cash
        ``True`` (default) values cash too, and only deposits, withdrawals and transfers are
        flows. ``False`` values securities only, for ledgers that do not record cash: every
        cash movement then crosses the boundary (a buy is an inflow of its cost, a sale or a
        dividend an outflow of what it paid) and deposits/withdrawals are ignored.
    end
        Last valuation date; transactions after it are left out.

    Returns
    -------
    pandas.DataFrame
        Index ``date``; float columns ``market_value``, ``cash``, ``total_value`` and
        ``net_flow`` (external flows of the day, start-of-day, positive = money in).

    Raises
    ------
    ValidationError
        For invalid transactions, symbols without a price column, currencies without FX,
        transactions after the last price date, or held symbols with no price at all.
    """
    items = list(transactions)
    issues = [
        issue
        for i, tx in enumerate(items)
        for issue in transaction_issues(tx, location=f"transactions[{i}]", row=i)
    ]
    if issues:
        raise ValidationError("invalid transactions", issues)
    order = [i for i in chronological_order(items) if end is None or items[i].trade_date <= end]
    if not order:
        raise ValidationError(
            "nothing to value", [Issue("transactions", "no transactions on or before the end date")]
        )
    base = base_currency.strip().upper()
    close = _daily_frame(prices, "prices")
    first = pd.Timestamp(items[order[0]].trade_date)
    stop = pd.Timestamp(end) if end is not None else close.index.max()
    calendar = pd.DatetimeIndex(close.index[(close.index >= first) & (close.index <= stop)])
    if len(calendar) == 0:
        raise ValidationError(
            "no price dates to value on",
            [Issue("prices", f"no dates from {first.date()} to {stop.date()}; extend the history")],
        )
    last_day = calendar[-1].date()
    late = [i for i in order if items[i].trade_date > last_day]
    if late:
        raise ValidationError(
            "transactions after the last price date",
            [
                Issue(
                    f"transactions[{i}]",
                    f"dated {items[i].trade_date}, after the last price date {last_day}; "
                    "extend the price history or pass an earlier end",
                    field="trade_date",
                    row=i,
                )
                for i in late
            ],
        )
    used = [items[i] for i in order]
    symbols = sorted({tx.symbol for tx in used if tx.moves_securities and tx.symbol is not None})
    missing = [symbol for symbol in symbols if symbol not in close.columns]
    if missing:
        raise ValidationError(
            "prices missing",
            [Issue("prices", f"no price column for {s}; add its closes", field=s) for s in missing],
        )
    closes = close[symbols].ffill().reindex(calendar).to_numpy(dtype=np.float64)
    currencies = sorted({tx.currency for tx in used} | {base})
    rates = _fx_matrix(fx, currencies, base, calendar)

    ledger = Ledger(base_currency=base, lot_method=lot_method, allow_short=allow_short)
    column = {symbol: j for j, symbol in enumerate(symbols)}
    cash_column = {currency: j for j, currency in enumerate(currencies)}
    n = len(calendar)
    quantity = np.zeros((n, len(symbols)))
    fallback = np.full((n, len(symbols)), np.nan)
    cash = np.zeros((n, len(currencies)))
    flows = np.zeros(n)
    pointer = 0
    for day_index, day in enumerate(calendar.date):
        if day_index > 0 and (pointer == len(order) or used[pointer].trade_date > day):
            # nothing happened today: carry yesterday's holdings
            quantity[day_index] = quantity[day_index - 1]
            fallback[day_index] = fallback[day_index - 1]
            cash[day_index] = cash[day_index - 1]
            continue
        while pointer < len(order) and used[pointer].trade_date <= day:
            tx = used[pointer]
            row = order[pointer]
            ledger.apply(tx, location=f"transactions[{row}]", row=row)
            rate = rates[day_index, cash_column[tx.currency]]
            unit = _unit_value(tx, ledger, closes, column, day_index)
            flows[day_index] += _flow(tx, unit, include_cash) * rate
            pointer += 1
        for symbol, held in ledger.quantities().items():
            quantity[day_index, column[symbol]] = float(held)
        for symbol in symbols:
            last = ledger.last_trade_price(symbol)
            if last is not None:
                fallback[day_index, column[symbol]] = float(last)
        for currency, balance in ledger.cash_balances().items():
            cash[day_index, cash_column[currency]] = float(balance)

    price = np.where(np.isnan(closes), fallback, closes)
    unpriced = (quantity != 0) & np.isnan(price)
    if unpriced.any():
        day_index, j = np.argwhere(unpriced)[0]
        raise ValidationError(
            "holding without a price",
            [
                Issue(
                    "prices",
                    f"{symbols[j]} is held on {calendar[day_index].date()} but has no close or "
                    "trade price by then; add its closes",
                    field=symbols[j],
                )
            ],
        )
    symbol_rates = (
        np.column_stack([rates[:, cash_column[ledger.currency_of(s) or base]] for s in symbols])
        if symbols
        else np.zeros((n, 0))
    )
    values = np.where(quantity == 0, 0.0, quantity * np.nan_to_num(price) * symbol_rates)
    market_value = values.sum(axis=1)
    cash_value = (cash * rates).sum(axis=1) if include_cash else np.zeros(n)
    frame = pd.DataFrame(
        {
            "market_value": market_value,
            "cash": cash_value,
            "total_value": market_value + cash_value,
            "net_flow": flows,
        },
        index=pd.DatetimeIndex(calendar, name="date"),
    )
    return frame


def _unit_value(
    tx: Transaction,
    ledger: Ledger,
    closes: FloatArray,
    column: Mapping[str, int],
    day_index: int,
) -> float:
    """Value of one unit of a transferred security on the day (close, else a trade price)."""
    if tx.symbol is None or tx.type not in (
        TransactionType.TRANSFER_IN,
        TransactionType.TRANSFER_OUT,
    ):
        return 0.0
    quote = closes[day_index, column[tx.symbol]]
    if not math.isnan(quote):
        return float(quote)
    last = ledger.last_trade_price(tx.symbol)
    if tx.type is TransactionType.TRANSFER_IN or last is None:
        return float(tx.price)
    return float(last)


def _flow(tx: Transaction, unit_value: float, include_cash: bool) -> float:
    """External flow of ``tx`` in its currency (positive = into the portfolio)."""
    kind = tx.type
    securities = tx.symbol is not None and kind in (
        TransactionType.TRANSFER_IN,
        TransactionType.TRANSFER_OUT,
    )
    sign = 1.0 if kind in (TransactionType.DEPOSIT, TransactionType.TRANSFER_IN) else -1.0
    if securities:
        moved = sign * float(tx.quantity) * unit_value
        return moved if include_cash else moved - float(tx.cash_effect)
    if include_cash:
        return sign * float(tx.amount) if tx.is_external_flow else 0.0
    return 0.0 if tx.is_external_flow else -float(tx.cash_effect)


def _daily_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise ValidationError(
            f"{name} must be a DataFrame with a DatetimeIndex",
            [Issue(name, "pass daily closes indexed by date, one column per symbol")],
        )
    index = frame.index
    if index.tz is not None:
        index = index.tz_localize(None)
    out = frame.copy()
    out.index = index.normalize()
    out.columns = [str(c).strip().upper() for c in out.columns]
    out = out.sort_index()
    if out.index.has_duplicates:
        day = out.index[out.index.duplicated()][0].date()
        raise ValidationError(
            f"{name} has duplicate dates",
            [Issue(name, f"{day} appears more than once; keep one row per date")],
        )
    return out.astype(np.float64)


def _fx_matrix(
    fx: pd.DataFrame | None, currencies: Sequence[str], base: str, calendar: pd.DatetimeIndex
) -> FloatArray:
    out = np.ones((len(calendar), len(currencies)))
    others = [c for c in currencies if c != base]
    if not others:
        return out
    if fx is None:
        raise ValidationError(
            "FX rates needed",
            [Issue("fx", f"pass daily {base} per 1 {c} rates", field=c) for c in others],
        )
    rates = _daily_frame(fx, "fx")
    issues: list[Issue] = []
    for j, currency in enumerate(currencies):
        if currency == base:
            continue
        if currency not in rates.columns:
            issues.append(
                Issue(
                    "fx", f"no column for {currency}; add {base} per 1 {currency}", field=currency
                )
            )
            continue
        column = rates[currency]
        series = (column.reindex(column.index.union(calendar)).ffill().reindex(calendar)).to_numpy(
            dtype=np.float64
        )
        if np.isnan(series).any():
            day = calendar[int(np.argmax(np.isnan(series)))].date()
            issues.append(
                Issue(
                    "fx",
                    f"no {currency} rate on or before {day}; extend the FX history",
                    field=currency,
                )
            )
            continue
        out[:, j] = series
    if issues:
        raise ValidationError("FX rates missing", issues)
    return out


# --------------------------------------------------------------------------- returns


def daily_returns(valuation: pd.DataFrame) -> pd.Series[float]:
    """Return the daily time-weighted returns ``V_t / (V_{t-1} + F_t) - 1`` (start-of-day flows).

    Parameters
    ----------
    valuation
        The output of :func:`valuation_series` (``total_value`` and ``net_flow``).

    Raises
    ------
    ValidationError
        On the first day whose start-of-day capital is zero or negative while it ends with a
        value (the return of that day is undefined).
    """
    for name in ("total_value", "net_flow"):
        if name not in valuation.columns:
            raise ValidationError("not a valuation", [Issue("valuation", f"no column {name!r}")])
    value = valuation["total_value"].to_numpy(dtype=np.float64)
    flow = valuation["net_flow"].to_numpy(dtype=np.float64)
    previous = np.concatenate([[0.0], value[:-1]])
    capital = previous + flow
    scale = max(float(np.abs(value).max(initial=0.0)), 1.0)
    idle = (np.abs(capital) <= 1e-9 * scale) & (np.abs(value) <= 1e-9 * scale)
    bad = (capital <= 1e-9 * scale) & ~idle
    if bad.any():
        day = valuation.index[int(np.argmax(bad))]
        raise ValidationError(
            "time-weighted return undefined",
            [
                Issue(
                    "valuation",
                    f"on {pd.Timestamp(day).date()} the start-of-day capital (previous value "
                    f"plus flows) is {capital[int(np.argmax(bad))]:.2f} while the day ends at "
                    f"{value[int(np.argmax(bad))]:.2f}; record the deposit that funded it",
                )
            ],
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(idle, 0.0, value / capital - 1.0)
    return pd.Series(returns, index=valuation.index, name="return")


def time_weighted_return(
    returns: pd.Series[float], *, start: date | None = None, end: date | None = None
) -> float:
    """Return ``prod(1 + r) - 1`` over the daily returns dated after ``start`` up to ``end``.

    ``start`` is the close the period is measured from (excluded); ``None`` means inception.
    """
    selected = _select(returns, start, end)
    return float(np.prod(1.0 + selected) - 1.0)


def _select(returns: pd.Series[float], start: date | None, end: date | None) -> FloatArray:
    index = _date_index(returns)
    mask = np.ones(len(index), dtype=bool)
    if start is not None:
        mask &= index > pd.Timestamp(start)
    if end is not None:
        mask &= index <= pd.Timestamp(end)
    values = np.asarray(returns.to_numpy(dtype=np.float64), dtype=np.float64)[mask]
    if np.isnan(values).any():
        raise ValidationError("returns contain NaN", [Issue("returns", "fill or drop NaN days")])
    return values


def _date_index(series: pd.Series[Any] | pd.DataFrame) -> pd.DatetimeIndex:
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValidationError(
            "a DatetimeIndex is needed", [Issue("returns", "index the series by date")]
        )
    if index.tz is not None:
        index = index.tz_localize(None)
    return index.normalize()


def xnpv(rate: float, flows: Sequence[tuple[date, float]]) -> float:
    """Return the net present value at ``rate`` with actual/365 times from the earliest date."""
    origin = min(day for day, _ in flows)
    years = np.array([(day - origin).days / 365.0 for day, _ in flows])
    amounts = np.array([amount for _, amount in flows], dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return float(np.sum(amounts / np.power(1.0 + rate, years)))


_RATE_GRID = (
    -0.999999, -0.9999, -0.999, -0.99, -0.95, -0.9, -0.75, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25,
    0.5, 1.0, 2.0, 5.0, 10.0, 100.0, 1e3, 1e4, 1e6,
)  # fmt: skip


def xirr(flows: Iterable[tuple[date, float | Decimal]]) -> float:
    """Return the annual rate at which the flows' net present value is zero (XIRR).

    Parameters
    ----------
    flows
        ``(date, amount)`` pairs from the investor's side: money invested negative, money
        received (and the ending value) positive. Times are actual/365 from the earliest date.

    Returns
    -------
    float
        The rate ``r`` with ``sum(amount / (1 + r) ** years) = 0``; among several roots, the one
        closest to 0.

    Raises
    ------
    ValidationError
        When the flows do not include both signs, or the net present value does not change
        sign for rates between -99.9999% and 100,000,000%.
    """
    pairs = [(day, float(amount)) for day, amount in flows]
    if not any(amount < 0 for _, amount in pairs) or not any(amount > 0 for _, amount in pairs):
        raise ValidationError(
            "XIRR needs money in and money out",
            [
                Issue(
                    "flows",
                    "the flows need at least one negative (invested) and one positive "
                    "(received or ending value) amount",
                )
            ],
        )
    npv = [xnpv(rate, pairs) for rate in _RATE_GRID]
    brackets = [
        (low, high)
        for (low, f_low), (high, f_high) in zip(
            zip(_RATE_GRID, npv, strict=True),
            zip(_RATE_GRID[1:], npv[1:], strict=True),
            strict=False,
        )
        if math.isfinite(f_low) and math.isfinite(f_high) and f_low * f_high <= 0
    ]
    if not brackets:
        raise ValidationError(
            "XIRR has no solution",
            [
                Issue(
                    "flows",
                    "the net present value does not change sign for rates between -99.9999% "
                    "and 100,000,000%; check the signs and dates of the flows",
                )
            ],
        )
    low, high = min(brackets, key=lambda pair: min(abs(pair[0]), abs(pair[1])))
    if xnpv(low, pairs) == 0.0:
        return low
    if xnpv(high, pairs) == 0.0:
        return high
    root = brentq(xnpv, low, high, args=(pairs,), xtol=1e-14, rtol=1e-14, maxiter=500)
    return float(root)


def money_weighted_return(
    valuation: pd.DataFrame, *, start: date | None = None, end: date | None = None
) -> float:
    """Return the money-weighted return (XIRR) of a valuation series over a window.

    The value at the close on or before ``start`` counts as invested on ``start`` (nothing when
    ``start`` is ``None``: the history begins with its first flow); each day's ``net_flow`` after
    ``start`` is invested on its date; the value at ``end`` (last date when ``None``) is received
    on that date.
    """
    index = _date_index(valuation)
    value = valuation["total_value"].to_numpy(dtype=np.float64)
    flow = valuation["net_flow"].to_numpy(dtype=np.float64)
    stop = len(index) if end is None else int(index.searchsorted(pd.Timestamp(end), side="right"))
    begin = 0
    pairs: list[tuple[date, float]] = []
    if start is not None:
        begin = int(index.searchsorted(pd.Timestamp(start), side="right"))
        if begin > 0:
            pairs.append((start, -value[begin - 1]))
    if stop <= begin:
        raise ValidationError(
            "empty window", [Issue("valuation", "no dates between start and end")]
        )
    for k in range(begin, stop):
        if flow[k] != 0:
            pairs.append((index[k].date(), -flow[k]))
    pairs.append((index[stop - 1].date(), value[stop - 1]))
    return xirr(pairs)


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True, slots=True)
class PeriodReturn:
    """The return over one reporting period.

    ``start`` is the close the period is measured from and ``end`` the last return date
    included. ``total_return`` is the linked return; ``annualized_return`` is set for periods
    longer than one year. ``since_inception`` marks a calendar period (1D, WTD, MTD, YTD) that
    began before the history did. When the history is too short, ``available`` is ``False``,
    both returns are ``None`` and ``note`` says why.
    """

    period: Period
    start: date | None
    end: date | None
    total_return: float | None
    annualized_return: float | None
    since_inception: bool = False
    available: bool = True
    note: str | None = None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def period_returns(returns: pd.Series[float], as_of: date) -> dict[Period, PeriodReturn]:
    """Return 1D, WTD, MTD, YTD, 1Y, 3Y, 5Y and max returns as of ``as_of``.

    Parameters
    ----------
    returns
        Daily time-weighted returns indexed by date (:func:`daily_returns`).
    as_of
        The reporting date; returns after it are ignored.

    Returns
    -------
    dict
        One :class:`PeriodReturn` per :class:`Period`; see the module docstring for the
        definitions and the annualisation.
    """
    index = _date_index(returns)
    values = returns.to_numpy(dtype=np.float64)
    keep = index <= pd.Timestamp(as_of)
    dates = [stamp.date() for stamp in index[keep]]
    values = values[keep]
    if np.isnan(values).any():
        raise ValidationError("returns contain NaN", [Issue("returns", "fill or drop NaN days")])
    out: dict[Period, PeriodReturn] = {}
    if not dates:
        for period in Period:
            out[period] = PeriodReturn(
                period, None, None, None, None, available=False,
                note=f"no returns on or before {as_of}",
            )  # fmt: skip
        return out
    end = dates[-1]
    inception = dates[0] - timedelta(days=1)
    monday = as_of - timedelta(days=as_of.weekday())
    calendar_starts = {
        Period.DAY: dates[-2] if len(dates) > 1 else inception,
        Period.WEEK_TO_DATE: monday - timedelta(days=1),
        Period.MONTH_TO_DATE: as_of.replace(day=1) - timedelta(days=1),
        Period.YEAR_TO_DATE: date(as_of.year - 1, 12, 31),
    }
    for period in Period:
        since_inception = False
        if period is Period.MAX:
            start = inception
        elif period in _TRAILING_YEARS:
            start = _years_before(as_of, _TRAILING_YEARS[period])
            if dates[0] > start:
                out[period] = PeriodReturn(
                    period, start, end, None, None, available=False,
                    note=f"history starts {dates[0]}, after the period start {start}",
                )  # fmt: skip
                continue
        else:
            start = calendar_starts[period]
            if dates[0] > start:
                start, since_inception = inception, True
        window = np.array([d > start for d in dates])
        total = float(np.prod(1.0 + values[window]) - 1.0)
        out[period] = PeriodReturn(
            period, start, end, total, _annualize(period, total, start, end), since_inception
        )
    return out


def _annualize(period: Period, total: float, start: date, end: date) -> float | None:
    if period in (Period.THREE_YEARS, Period.FIVE_YEARS):
        return float((1.0 + total) ** (1.0 / _TRAILING_YEARS[period]) - 1.0)
    days = (end - start).days
    if period is Period.MAX and days > 365:
        return float((1.0 + total) ** (365.0 / days) - 1.0)
    return None


@dataclass(frozen=True, slots=True)
class BenchmarkComparison:
    """Portfolio and benchmark returns over one period, and the excess (portfolio − benchmark).

    ``excess_return`` compares total returns; ``excess_annualized`` annualised ones (when both
    are annualised). Either is ``None`` when a side is unavailable.
    """

    period: Period
    portfolio: PeriodReturn
    benchmark: PeriodReturn
    excess_return: float | None
    excess_annualized: float | None


def benchmark_returns(prices: pd.Series[float], index: pd.DatetimeIndex) -> pd.Series[float]:
    """Return the benchmark's daily returns on the portfolio's dates.

    Closes are carried forward onto ``index``; each return runs from the previous portfolio
    date's close (for the first date, the last benchmark close before it). Leading dates
    without a benchmark close are dropped.
    """
    closes = prices.dropna()
    closes.index = _date_index(closes)
    closes = closes.sort_index()
    target = pd.DatetimeIndex(index)
    if target.tz is not None:
        target = target.tz_localize(None)
    target = target.normalize()
    aligned = closes.reindex(closes.index.union(target)).ffill().reindex(target)
    before = closes[closes.index < target[0]] if len(target) else closes.iloc[:0]
    previous = aligned.shift(1)
    if len(before):
        previous.iloc[0] = before.iloc[-1]
    result = (aligned / previous - 1.0).astype(np.float64)
    first_valid = result.first_valid_index()
    result = result.loc[first_valid:] if first_valid is not None else result.iloc[:0]
    result.name = "benchmark_return"
    return result


def compare_to_benchmark(
    returns: pd.Series[float], benchmark_prices: pd.Series[float], *, as_of: date
) -> dict[Period, BenchmarkComparison]:
    """Return portfolio vs benchmark returns and the excess for every period.

    Parameters
    ----------
    returns
        The portfolio's daily time-weighted returns.
    benchmark_prices
        The benchmark's closes (any dates; aligned with :func:`benchmark_returns`).
    as_of
        The reporting date.
    """
    portfolio = period_returns(returns, as_of)
    bench = period_returns(benchmark_returns(benchmark_prices, _date_index(returns)), as_of)
    out: dict[Period, BenchmarkComparison] = {}
    for period in Period:
        mine, theirs = portfolio[period], bench[period]
        excess = (
            mine.total_return - theirs.total_return
            if mine.total_return is not None and theirs.total_return is not None
            else None
        )
        excess_annual = (
            mine.annualized_return - theirs.annualized_return
            if mine.annualized_return is not None and theirs.annualized_return is not None
            else None
        )
        out[period] = BenchmarkComparison(period, mine, theirs, excess, excess_annual)
    return out


# --------------------------------------------------------------------------- allocation


@dataclass(frozen=True, slots=True)
class AllocationSlice:
    """One bucket of an allocation: its base-currency value and weight of the total."""

    name: str
    value: Decimal
    weight: float


@dataclass(frozen=True, slots=True)
class Allocation:
    """Holdings grouped by asset class, sector and currency (cash is its own class/sector)."""

    total_value: Decimal
    by_asset_class: tuple[AllocationSlice, ...]
    by_sector: tuple[AllocationSlice, ...]
    by_currency: tuple[AllocationSlice, ...]


UNCLASSIFIED = "unclassified"
CASH = "cash"


def allocation(report: HoldingsReport, metadata: Mapping[str, InstrumentInfo]) -> Allocation:
    """Group a holdings report by asset class, sector and currency.

    Parameters
    ----------
    report
        The output of :func:`~quantdesk.portfolio.holdings.holdings`.
    metadata
        Per symbol ``(asset_class, sector, currency)`` or an
        :class:`~quantdesk.domain.instruments.Instrument`. A missing sector is grouped as
        ``"unclassified"``; cash lines count as asset class and sector ``"cash"`` in their
        currency.

    Returns
    -------
    Allocation
        Slices sorted by value, largest first; weights are of the total value.

    Raises
    ------
    ValidationError
        Naming every held symbol without metadata.
    """
    info = {symbol.strip().upper(): value for symbol, value in metadata.items()}
    missing = [line.symbol for line in report.lines if line.symbol not in info]
    if missing:
        raise ValidationError(
            "instrument metadata missing",
            [
                Issue("metadata", f"no (asset_class, sector, currency) for {s}", field=s)
                for s in missing
            ],
        )
    groups: dict[str, dict[str, Decimal]] = {"asset": {}, "sector": {}, "currency": {}}

    def add(kind: str, name: str, value: Decimal) -> None:
        groups[kind][name] = groups[kind].get(name, ZERO) + value

    with localcontext(MONEY_CONTEXT):
        for line in report.lines:
            asset_class, sector, currency = _unpack(info[line.symbol])
            add("asset", asset_class, line.market_value_base)
            add("sector", sector or UNCLASSIFIED, line.market_value_base)
            add("currency", currency, line.market_value_base)
        for cash in report.cash:
            add("asset", CASH, cash.value_base)
            add("sector", CASH, cash.value_base)
            add("currency", cash.currency, cash.value_base)
        total = report.totals.total_value

        def slices(kind: str) -> tuple[AllocationSlice, ...]:
            items = sorted(groups[kind].items(), key=lambda item: (-item[1], item[0]))
            return tuple(
                AllocationSlice(name, value, float(value / total) if total else 0.0)
                for name, value in items
            )

        return Allocation(total, slices("asset"), slices("sector"), slices("currency"))


def _unpack(value: InstrumentInfo) -> tuple[str, str | None, str]:
    if isinstance(value, Instrument):
        return str(value.asset_class), value.sector, value.currency
    asset_class, sector, currency = value
    return str(asset_class), sector, currency.strip().upper()
