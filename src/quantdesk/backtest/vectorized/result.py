"""The vectorised engine's result: equity per column, fill and order records, metrics.

Per-column metrics follow :mod:`quantdesk.backtest.results`: the equity curve is sampled at the
last bar of each UTC date, daily returns start from the initial cash, and return/risk metrics
are :func:`quantdesk.risk.metrics_frame` of those returns (one compiled pass over all columns);
trades are round trips exactly as :func:`~quantdesk.backtest.results.round_trips` counts them.
:meth:`VectorizedResult.result` turns one column into the same
:class:`~quantdesk.backtest.results.BacktestResult` the event-driven engine returns.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.backtest.results import BacktestResult, build_result
from quantdesk.backtest.vectorized._inputs import FloatArray, Outcome, Plan, simulate
from quantdesk.backtest.vectorized._simulate_nb import (
    KIND_MARKET,
    KIND_STOP_LOSS,
    REASON_BUYING_POWER,
    REASON_EXIT_FILLED,
    REASON_SHORT_NOT_ALLOWED,
    STATUS_REJECTED,
)
from quantdesk.backtest.vectorized._stats_nb import trade_stats_nb
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.orders import Fill, Order, OrderSide, OrderStatus, OrderType, OrderUpdate
from quantdesk.risk import metrics_frame

__all__ = ["METRIC_COLUMNS", "VectorizedResult"]

#: Columns of :attr:`VectorizedResult.metrics`, in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "total_return",
    "annual_return",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration",
    "trades",
    "win_rate",
    "profit_factor",
    "average_win",
    "average_loss",
    "fees",
    "final_equity",
    "orders",
    "rejected_orders",
)

_STATUS = (
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.REJECTED,
    OrderStatus.CANCELLED,
)
_TYPES = {0: "market", 1: "stop", 2: "limit"}
_SUFFIX = {0: "", 1: ".sl", 2: ".tp"}


class VectorizedResult:
    """Equity curves, fills, orders and metrics of a vectorised backtest, one column per run.

    Attributes
    ----------
    strategy
        Label of what ran (a built-in strategy name, or ``"signals"``).
    index
        Bar labels: UTC timestamps, or bar positions when no times were given.
    columns
        Column labels (for :func:`run_strategy`, a MultiIndex of symbol and parameters).
    symbols
        The symbol each column trades.
    initial_cash
        Starting cash of every column.
    fill_records, order_records
        Structured arrays (``FILL_DTYPE``/``ORDER_DTYPE`` of ``_inputs``): ``column`` is a
        column position, ``bar`` a bar position, a fill's ``order`` the row of its order in
        ``order_records``; sides are +1 (buy) / -1 (sell).
    """

    def __init__(
        self,
        *,
        strategy: str,
        plan: Plan,
        outcome: Outcome,
        columns: pd.Index,
        periods_per_year: float,
        risk_free: float,
    ) -> None:
        self.strategy = strategy
        self.index = plan.index
        self.columns = columns
        self.symbols = tuple(plan.symbols[int(a)] for a in plan.price_column)
        self.initial_cash = float(plan.account.initial_cash)
        self.fill_records = outcome.fills
        self.order_records = outcome.orders
        self.periods_per_year = periods_per_year
        self.risk_free = risk_free
        self._plan = plan
        self._equity = outcome.equity
        self._details = outcome.details

    def __repr__(self) -> str:
        return (
            f"VectorizedResult(strategy={self.strategy!r}, bars={len(self.index)}, "
            f"columns={len(self.columns)}, fills={len(self.fill_records)})"
        )

    # -- frames ------------------------------------------------------------------------------

    @property
    def equity(self) -> pd.DataFrame:
        """Return the equity after each bar (rows) of every column: ``cash + position * close``."""
        return pd.DataFrame(self._equity, index=self.index, columns=self.columns, copy=False)

    @property
    def final_equity(self) -> pd.Series:
        """Return each column's equity after the last bar."""
        return pd.Series(self._equity[-1], index=self.columns, name="final_equity")

    def _times(self, bars: npt.NDArray[np.int64]) -> pd.Index:
        return self.index.take(bars)

    @cached_property
    def fills(self) -> pd.DataFrame:
        """Return every fill: column label, ts, bar, order id, side, quantity, price, fee,
        slippage (``|price - reference| * quantity``)."""
        records = self.fill_records
        orders = self.order_records[records["order"]]
        return pd.DataFrame(
            {
                "column": self.columns.take(records["column"]),
                "ts": self._times(records["bar"]),
                "bar": records["bar"],
                "order_id": _order_ids(orders["order"], orders["kind"]),
                "side": np.where(records["side"] > 0, "buy", "sell"),
                "quantity": records["quantity"],
                "price": records["price"],
                "fee": records["fee"],
                "slippage": records["slippage"],
            }
        )

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Return every order: column label, order id, submitted ts and bar, side, type,
        quantity, level (stop or limit price), status, filled quantity, average price, fees,
        last update ts and the reason of a rejection or cancellation."""
        records = self.order_records
        reasons = [
            _reason(int(code), self._details[i], self.symbols[int(column)], self._leverage)
            for i, (code, column) in enumerate(
                zip(records["reason"], records["column"], strict=True)
            )
        ]
        return pd.DataFrame(
            {
                "column": self.columns.take(records["column"]),
                "order_id": _order_ids(records["order"], records["kind"]),
                "submitted": self._times(records["bar"]),
                "bar": records["bar"],
                "side": np.where(records["side"] > 0, "buy", "sell"),
                "type": [_TYPES[int(kind)] for kind in records["kind"]],
                "quantity": records["quantity"],
                "level": records["level"],
                "status": [_STATUS[int(status)].value for status in records["status"]],
                "filled_quantity": records["filled"],
                "average_price": records["average_price"],
                "fees": records["fees"],
                "updated": self._times(records["updated"]),
                "reason": reasons,
            }
        )

    @property
    def _leverage(self) -> float:
        return float(self._plan.account.max_leverage)

    # -- metrics -----------------------------------------------------------------------------

    def _daily(self) -> tuple[FloatArray, pd.Index]:
        if not isinstance(self.index, pd.DatetimeIndex):
            return self._equity, self.index
        dates = self.index.normalize()
        last = np.flatnonzero(np.r_[dates[1:] != dates[:-1], True])
        if len(last) == len(dates):
            return self._equity, dates
        return self._equity[last], dates[last]

    def daily_equity(self) -> pd.DataFrame:
        """Return the equity at the last bar of each UTC date (every bar without timestamps)."""
        values, dates = self._daily()
        frame = pd.DataFrame(values, index=dates, columns=self.columns)
        frame.index.name = "date" if isinstance(dates, pd.DatetimeIndex) else dates.name
        return frame

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Return the headline metrics of every column (rows) in :data:`METRIC_COLUMNS`.

        Definitions as in :mod:`quantdesk.backtest.results`. A column whose equity reaches
        zero or below has NaN return and risk metrics.

        Raises
        ------
        ValidationError
            When the bars cover fewer than two dates.
        """
        daily, _ = self._daily()
        if daily.shape[0] < 2:
            raise ValidationError(
                "backtest too short",
                [Issue("bars", "metrics need at least two dates of bars", "ts")],
            )
        m = len(self.columns)
        returns = np.empty_like(daily)
        with np.errstate(divide="ignore", invalid="ignore"):
            returns[0] = daily[0] / self.initial_cash - 1.0
            np.divide(daily[1:], daily[:-1], out=returns[1:])
            returns[1:] -= 1.0
        valid = (daily > 0).all(axis=0) & np.isfinite(returns).all(axis=0)
        valid &= self.initial_cash > 0
        risk = {name: np.full(m, np.nan) for name in ("cagr", *METRIC_COLUMNS[2:8])}
        if valid.any():
            table = metrics_frame(
                returns if valid.all() else returns[:, valid],
                periods_per_year=self.periods_per_year,
                risk_free=self.risk_free,
            )
            for name, values in risk.items():
                values[valid] = table[name].to_numpy(dtype=np.float64)
        records = self.fill_records
        trades, winners, win_sum, loss_sum = trade_stats_nb(
            np.ascontiguousarray(records["column"]),
            records["side"].astype(np.int64),
            np.ascontiguousarray(records["quantity"]),
            np.ascontiguousarray(records["price"]),
            np.ascontiguousarray(records["fee"]),
            m,
        )
        losers = trades - winners
        with np.errstate(divide="ignore", invalid="ignore"):
            win_rate = np.where(trades > 0, winners / trades, np.nan)
            profit_factor = np.where(
                trades == 0, np.nan, np.where(loss_sum == 0, np.inf, win_sum / -loss_sum)
            )
            average_win = np.where(winners > 0, win_sum / winners, np.nan)
            average_loss = np.where(losers > 0, loss_sum / losers, np.nan)
        orders = self.order_records
        frame = pd.DataFrame(
            {
                "total_return": self._equity[-1] / self.initial_cash - 1.0
                if self.initial_cash > 0
                else np.full(m, np.nan),
                "annual_return": risk["cagr"],
                **{name: risk[name] for name in METRIC_COLUMNS[2:8]},
                "trades": trades,
                "win_rate": win_rate,
                "profit_factor": profit_factor,
                "average_win": average_win,
                "average_loss": average_loss,
                "fees": np.bincount(records["column"], records["fee"], minlength=m),
                "final_equity": self._equity[-1],
                "orders": np.bincount(orders["column"], minlength=m),
                "rejected_orders": np.bincount(
                    orders["column"][orders["status"] == STATUS_REJECTED], minlength=m
                ),
            },
            index=self.columns,
        )
        return frame

    # -- one column as an event-engine result -----------------------------------------------

    def column_position(self, column: Hashable) -> int:
        """Return the position of ``column`` (a label, or a position when not a label).

        Raises
        ------
        ValidationError
            When ``column`` is neither a unique label nor a valid position.
        """
        try:
            location = self.columns.get_loc(column)
        except (KeyError, TypeError):
            location = None
        if isinstance(location, int | np.integer):
            return int(location)
        if (
            location is None
            and isinstance(column, int | np.integer)
            and 0 <= int(column) < len(self.columns)
        ):
            return int(column)
        raise ValidationError(
            "unknown column",
            [
                Issue(
                    "VectorizedResult", f"{column!r} is not one column label or position", "column"
                )
            ],
        )

    def result(
        self,
        column: Hashable,
        *,
        benchmark: pd.Series | None = None,
        periods_per_year: float | None = None,
        risk_free: float | None = None,
    ) -> BacktestResult:
        """Return one column as the :class:`BacktestResult` the event-driven engine builds.

        The column is simulated again with its cash and position recorded per bar, then
        assembled by :func:`quantdesk.backtest.results.build_result` (fills, orders with their
        final states, round-trip trades, daily returns and metrics).

        Parameters
        ----------
        column
            A column label, or a position.
        benchmark
            Benchmark closes indexed by time (adds alpha, beta, tracking error, information
            ratio).
        periods_per_year, risk_free
            Annualisation and annual risk-free rate (default: the run's).

        Raises
        ------
        ValidationError
            For an unknown column, bars without timestamps, or as ``build_result`` raises.
        """
        position = self.column_position(column)
        if not isinstance(self.index, pd.DatetimeIndex):
            raise ValidationError(
                "timestamps needed",
                [
                    Issue(
                        "VectorizedResult", "pass index= a DatetimeIndex to build results", "index"
                    )
                ],
            )
        outcome = simulate(self._plan, np.array([position], dtype=np.int64), record_state=True)
        symbol = self.symbols[position]
        stamps = list(self.index.to_pydatetime())
        quantity = outcome.position[:, 0]
        close = self._plan.close[:, int(self._plan.price_column[position])]
        order_ids = _order_ids(outcome.orders["order"], outcome.orders["kind"])
        fills = [
            Fill(
                order_ids[int(record["order"])],
                symbol,
                stamps[int(record["bar"])],
                OrderSide.BUY if record["side"] > 0 else OrderSide.SELL,
                float(record["quantity"]),
                float(record["price"]),
                float(record["fee"]),
                float(record["slippage"]),
            )
            for record in outcome.fills
        ]
        both = not (
            math.isnan(self._plan.sl_stop[position]) or math.isnan(self._plan.tp_stop[position])
        )
        orders: list[Order] = []
        states: list[OrderUpdate] = []
        for i, record in enumerate(outcome.orders):
            orders.append(_order(order_ids[i], symbol, record, both))
            states.append(
                _state(order_ids[i], symbol, record, stamps, _reason_of(outcome, i, symbol, self))
            )
        return build_result(
            strategy=self.strategy,
            initial_cash=self.initial_cash,
            symbols=(symbol,),
            stamps=stamps,
            equity=outcome.equity[:, 0].tolist(),
            cash=outcome.cash[:, 0].tolist(),
            positions=[{symbol: float(q)} if q != 0.0 else {} for q in quantity],
            gross=np.abs(quantity * close).tolist(),
            fills=fills,
            orders=orders,
            order_times=[stamps[int(bar)] for bar in outcome.orders["bar"]],
            final_states=states,
            log=[],
            benchmark=benchmark,
            periods_per_year=self.periods_per_year
            if periods_per_year is None
            else periods_per_year,
            risk_free=self.risk_free if risk_free is None else risk_free,
        )


def _order_ids(seq: npt.NDArray[np.int64], kind: npt.NDArray[np.int8]) -> list[str]:
    return [f"o{int(s)}{_SUFFIX[int(k)]}" for s, k in zip(seq, kind, strict=True)]


def _order(order_id: str, symbol: str, record: Any, both: bool) -> Order:
    side = OrderSide.BUY if record["side"] > 0 else OrderSide.SELL
    kind = int(record["kind"])
    if kind == KIND_MARKET:
        return Order(order_id, symbol, side, float(record["quantity"]))
    parent = order_id.rsplit(".", 1)[0]
    level = float(record["level"])
    return Order(
        order_id,
        symbol,
        side,
        float(record["quantity"]),
        OrderType.STOP if kind == KIND_STOP_LOSS else OrderType.LIMIT,
        limit_price=None if kind == KIND_STOP_LOSS else level,
        stop_price=level if kind == KIND_STOP_LOSS else None,
        parent_id=parent,
        oco_group=f"{parent}.oco" if both else None,
    )


def _state(
    order_id: str, symbol: str, record: Any, stamps: list[Any], reason: str | None
) -> OrderUpdate:
    status = _STATUS[int(record["status"])]
    filled = float(record["filled"])
    remaining = 0.0 if status.is_terminal else max(0.0, float(record["quantity"]) - filled - 0.0)
    average = float(record["average_price"]) if filled > 0 else None
    return OrderUpdate(
        order_id, symbol, stamps[int(record["updated"])], status, filled, remaining, average, reason
    )


def _reason_of(outcome: Outcome, row: int, symbol: str, result: VectorizedResult) -> str | None:
    return _reason(
        int(outcome.orders["reason"][row]), outcome.details[row], symbol, result._leverage
    )


def _reason(code: int, details: FloatArray, symbol: str, max_leverage: float) -> str | None:
    # the wording of Account.check_order's rejections, so a column reads like an event run
    held, needed, available, exposure, equity_after = (float(x) for x in details)
    if code == REASON_SHORT_NOT_ALLOWED:
        return (
            f"short selling is not allowed: the account holds {held:g} {symbol} and the order "
            f"sells {needed:g}"
        )
    if code == REASON_BUYING_POWER:
        return (
            f"insufficient buying power: the order needs {needed:,.2f} and "
            f"{available:,.2f} is available (max leverage {max_leverage:g}x, "
            f"gross exposure would be {exposure:,.2f} on equity {equity_after:,.2f})"
        )
    if code == REASON_EXIT_FILLED:
        return "cancelled: a stop-loss or take-profit exit closed the position first"
    return None
