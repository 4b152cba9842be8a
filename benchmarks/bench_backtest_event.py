"""Event-driven backtest throughput: quantdesk's ``run_backtest`` against backtrader.

Runs on REAL market data: the S&P 500 daily OHLCV shipped with ``arch``
(``arch.data.sp500.load()``, 1999-2018, about 5,000 bars). Both engines run the same strategy,
an SMA crossover long-only (fast 20, slow 50 on the close): on a cross above, buy
``trunc(0.95 * equity / close)`` whole shares with equity and close taken at the deciding bar;
on a cross below, sell the whole position. Market orders fill at the next bar's open. Two
configurations: no costs, and a 0.1 % commission on notional.

backtrader is configured to the same semantics: market orders fill at the next open (its
default; ``cheat-on-close`` off), the crossover is the same comparison of the previous and the
current SMA values (not ``bt.ind.CrossOver``, which skips over equal values), the size is
computed from ``broker.getvalue()`` at the deciding close, the commission is
``COMM_PERC`` with ``percabs=True``, and it runs in its fastest mode (``stdstats=False``: no
observers; data preloaded, vectorised indicators). quantdesk's timing covers the whole
``run_backtest`` call (frame to bars, simulation, equity curve, fills, metrics); backtrader's
covers ``Cerebro`` set-up, the pandas feed and ``run``.

The script first ASSERTS that both engines make the same fills (dates, prices, signed sizes,
commissions) and end on the same equity (within 1e-6 relative), then times each (median of
``--repeat`` rounds after a warm-up, in one process, the two engines alternating so that load
on the machine hits both alike) and measures tracemalloc peaks in separate runs. The ratio is
backtrader time / quantdesk time.

Usage: ``python benchmarks/bench_backtest_event.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
from arch.data import sp500

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from quantdesk.backtest.event.engine import run_backtest
from quantdesk.backtest.strategies import make_strategy
from quantdesk.execution.sim import ExecutionConfig, NoFee, PercentFee

FAST = 20
SLOW = 50
WEIGHT = 0.95
CASH = 100_000.0
COMMISSION = 0.001
EQUITY_TOLERANCE = 1e-6
PRICE_TOLERANCE = 1e-12
TARGET_SPEEDUP = 30.0


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill as both engines report it."""

    day: date
    price: float
    size: float
    fee: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run produced: its fills and the final equity."""

    fills: tuple[Execution, ...]
    final_equity: float


def load_frame() -> pd.DataFrame:
    """Return the S&P 500 daily OHLCV frame (REAL data shipped with ``arch``)."""
    frame = sp500.load()
    return frame[["Open", "High", "Low", "Close", "Volume"]]


# -- quantdesk ---------------------------------------------------------------------------------


def run_quantdesk(frame: pd.DataFrame, commission: float) -> Outcome:
    """Run the crossover through ``run_backtest`` and return its fills and final equity."""
    fee = PercentFee(commission) if commission > 0 else NoFee()
    result = run_backtest(
        make_strategy("sma_cross", fast=FAST, slow=SLOW, weight=WEIGHT),
        {"SPX": frame},
        cash=CASH,
        execution=ExecutionConfig(fee_model=fee),
    )
    table = result.fills
    signs = np.where(table["side"].to_numpy() == "buy", 1.0, -1.0)
    fills = tuple(
        Execution(pd.Timestamp(ts).date(), price, size, fee)
        for ts, price, size, fee in zip(
            table["ts"].tolist(),
            table["price"].to_numpy(np.float64).tolist(),
            (table["quantity"].to_numpy(np.float64) * signs).tolist(),
            table["fee"].to_numpy(np.float64).tolist(),
            strict=True,
        )
    )
    return Outcome(fills, result.final_equity)


# -- backtrader --------------------------------------------------------------------------------


class BacktraderSmaCross(bt.Strategy):  # type: ignore[misc]
    """The same crossover rule and sizing as quantdesk's ``sma_cross``."""

    params = (("fast", FAST), ("slow", SLOW), ("weight", WEIGHT))

    def __init__(self) -> None:
        self.fast = bt.indicators.SimpleMovingAverage(self.data.close, period=self.p.fast)
        self.slow = bt.indicators.SimpleMovingAverage(self.data.close, period=self.p.slow)
        self.previous: tuple[float, float] | None = None
        self.executions: list[Execution] = []

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            self.executions.append(
                Execution(
                    bt.num2date(order.executed.dt).date(),
                    float(order.executed.price),
                    float(order.executed.size),
                    float(order.executed.comm),
                )
            )
        elif order.status in (order.Margin, order.Rejected, order.Canceled):
            raise RuntimeError(f"backtrader order {order.ref} ended {order.getstatusname()}")

    def next(self) -> None:
        fast, slow = float(self.fast[0]), float(self.slow[0])
        previous, self.previous = self.previous, (fast, slow)
        if previous is None:
            return
        if previous[0] <= previous[1] and fast > slow:
            target = math.trunc(self.p.weight * self.broker.getvalue() / self.data.close[0])
        elif previous[0] >= previous[1] and fast < slow:
            target = 0
        else:
            return
        delta = target - self.position.size
        if delta > 0:
            self.buy(size=delta, exectype=bt.Order.Market)
        elif delta < 0:
            self.sell(size=-delta, exectype=bt.Order.Market)


def run_backtrader(frame: pd.DataFrame, commission: float) -> Outcome:
    """Run the crossover through backtrader (fastest mode) and return fills and final equity."""
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, cheat_on_open=False)
    cerebro.adddata(
        bt.feeds.PandasData(
            dataname=frame,
            open="Open",
            high="High",
            low="Low",
            close="Close",
            volume="Volume",
            openinterest=None,
        )
    )
    cerebro.addstrategy(BacktraderSmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.set_coc(False)
    cerebro.broker.set_coo(False)
    if commission > 0:
        cerebro.broker.setcommission(
            commission=commission,
            commtype=bt.CommInfoBase.COMM_PERC,
            percabs=True,
            stocklike=True,
        )
    strategy = cerebro.run()[0]
    return Outcome(tuple(strategy.executions), float(cerebro.broker.getvalue()))


# -- comparison and timing ---------------------------------------------------------------------


def check_same(label: str, ours: Outcome, theirs: Outcome) -> None:
    """Raise ``SystemExit`` unless both runs made the same fills and ended on the same equity."""
    if len(ours.fills) != len(theirs.fills):
        raise SystemExit(
            f"{label}: quantdesk made {len(ours.fills)} fills, backtrader {len(theirs.fills)}"
        )
    if not ours.fills:
        raise SystemExit(f"{label}: no fills, nothing was compared")
    for i, (a, b) in enumerate(zip(ours.fills, theirs.fills, strict=True)):
        same = (
            a.day == b.day
            and a.size == b.size
            and math.isclose(a.price, b.price, rel_tol=PRICE_TOLERANCE)
            and math.isclose(a.fee, b.fee, rel_tol=1e-9, abs_tol=1e-9)
        )
        if not same:
            raise SystemExit(f"{label}: fill {i} differs: quantdesk {a}, backtrader {b}")
    if not math.isclose(ours.final_equity, theirs.final_equity, rel_tol=EQUITY_TOLERANCE):
        raise SystemExit(
            f"{label}: final equity quantdesk {ours.final_equity!r} "
            f"!= backtrader {theirs.final_equity!r}"
        )


def paired_medians(
    repeat: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[float, float]:
    """Return the median wall times of ``first`` and ``second`` over ``repeat`` rounds.

    Each round runs both, alternating which goes first, so a change in machine load affects
    both engines alike; one warm-up call of each comes before.
    """
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for round_ in range(repeat):
        order = ((0, first), (1, second)) if round_ % 2 == 0 else ((1, second), (0, first))
        for slot, fn in order:
            start = time.perf_counter()
            fn()
            times[slot].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def peak_mib(fn: Callable[[], object]) -> float:
    """Return the tracemalloc peak of one call, in MiB."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame = load_frame()
    bars = len(frame)

    rows: list[tuple[str, float, float, float, float, int]] = []
    for label, commission in (("no costs", 0.0), (f"{COMMISSION:.1%} commission", COMMISSION)):
        ours = run_quantdesk(frame, commission)
        theirs = run_backtrader(frame, commission)
        check_same(label, ours, theirs)
        ours_run = functools.partial(run_quantdesk, frame, commission)
        theirs_run = functools.partial(run_backtrader, frame, commission)
        qd_time, bt_time = paired_medians(args.repeat, ours_run, theirs_run)
        qd_peak = peak_mib(ours_run)
        bt_peak = peak_mib(theirs_run)
        rows.append((label, qd_time, bt_time, qd_peak, bt_peak, len(ours.fills)))
        print(
            f"{label}: {len(ours.fills)} fills identical (dates, prices, sizes, fees); final "
            f"equity {ours.final_equity:,.6f} vs {theirs.final_equity:,.6f}"
        )

    print()
    print(
        f"REAL data: S&P 500 daily OHLCV (arch.data.sp500), {bars:,} bars "
        f"{frame.index[0].date()} to {frame.index[-1].date()}; SMA({FAST})/SMA({SLOW}) cross, "
        f"median of {args.repeat} rounds"
    )
    print()
    print(
        "| configuration | fills | quantdesk s | quantdesk bars/s | backtrader s "
        "| backtrader bars/s | speed-up | quantdesk peak MiB | backtrader peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, qd_time, bt_time, qd_peak, bt_peak, count in rows:
        print(
            f"| {label} | {count} | {qd_time:.4f} | {bars / qd_time:,.0f} | {bt_time:.4f} | "
            f"{bars / bt_time:,.0f} | {bt_time / qd_time:.1f}x | {qd_peak:.2f} | {bt_peak:.2f} |"
        )
    slowest = min(bt_time / qd_time for _, qd_time, bt_time, _, _, _ in rows)
    verdict = "met" if slowest >= TARGET_SPEEDUP else "NOT met"
    print()
    print(f"target: quantdesk >= {TARGET_SPEEDUP:g}x faster than backtrader: {verdict}")


if __name__ == "__main__":
    main()
