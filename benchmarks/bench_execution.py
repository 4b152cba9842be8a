"""Per-bar matching throughput of the execution core.

Runs on SYNTHETIC random-walk daily bars (not market data), one symbol, ``--bars`` bars
(default 20,000). Each bar the strategy keeps ``--working`` resting limit orders far from the
market (they are evaluated every bar but rarely fill) and sends a market order every 5 bars,
alternating buy and sell, with a per-share fee and 5 bps slippage. Three ways to run the same
rules:

- broker: :class:`quantdesk.execution.sim.SimulatedBroker` (Python objects, what the
  event-driven engine and the paper broker drive): ``submit`` + ``process_bar`` per bar;
- numba loop: one ``@njit`` loop over arrays calling the same kernels (``fill_price_nb``,
  ``execute_fill_nb``, ``apply_fill_nb``), i.e. what the vectorised engine runs;
- python loop: the identical loop run as plain Python over the kernels' ``py_func`` (the
  uncompiled reference), to show what compilation buys.

The three must agree on the final cash; the script checks it. Speed-ups are broker time /
time. Memory: tracemalloc peak of the broker run (fills and order history kept).

Usage: ``python benchmarks/bench_execution.py [--bars 20000] [--working 10] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from quantdesk.domain.market_data import Bar
from quantdesk.domain.orders import Order, OrderSide, OrderType
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    FixedBpsSlippage,
    PerShareFee,
    SimulatedBroker,
    _accounting_nb,
    _costs_nb,
    _fills_nb,
)

FEE = PerShareFee(0.005, minimum=1.0)
SLIPPAGE = FixedBpsSlippage(5.0)
QUANTITY = 100.0
EVERY = 5


def synthetic_bars(rows: int, seed: int = 11) -> dict[str, np.ndarray]:
    """Return ``rows`` SYNTHETIC random-walk OHLCV bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, rows)))
    open_ = close * np.exp(rng.normal(0.0, 0.003, rows))
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, rows))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, rows))
    volume = rng.integers(100_000, 1_000_000, rows).astype(np.float64)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def run_broker(data: dict[str, np.ndarray], working: int) -> float:
    broker = SimulatedBroker(
        AccountConfig(1e7, max_leverage=2.0),
        ExecutionConfig(fee_model=FEE, slippage_model=SLIPPAGE),
    )
    start = datetime(1990, 1, 1, tzinfo=UTC)
    for k in range(working):  # resting buy limits far below the market: evaluated, never hit
        level = 1.0 + 0.001 * k
        order = Order(f"rest{k}", "SYN", OrderSide.BUY, 1, OrderType.LIMIT, limit_price=level)
        broker.submit(order, start - timedelta(days=1))
    rows = data["close"].shape[0]
    for t in range(rows):
        ts = start + timedelta(days=t)
        bar = Bar(
            "SYN",
            "1d",
            ts,
            float(data["open"][t]),
            float(data["high"][t]),
            float(data["low"][t]),
            float(data["close"][t]),
            float(data["volume"][t]),
        )
        broker.process_bar(bar)
        if t % EVERY == 0:
            side = OrderSide.BUY if (t // EVERY) % 2 == 0 else OrderSide.SELL
            broker.submit(Order(f"m{t}", "SYN", side, QUANTITY), ts)
    return broker.account.cash


def make_loop(fill_price: Any, execute_fill: Any, apply_fill: Any) -> Callable[..., float]:
    """Return the strategy loop over arrays, calling the given kernel implementations."""

    def loop(
        open_: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        working: int,
        fee_params: np.ndarray,
        slip_params: np.ndarray,
    ) -> float:
        cash, position, cost = 1e7, 0.0, 0.0
        pending = 0  # side of the market order waiting for the next open (0: none)
        touched = 0  # resting limits touched (none expected; keeps the evaluation alive)
        nan = math.nan
        for t in range(open_.shape[0]):
            for k in range(working):  # the resting limits are evaluated like the broker does
                level = 1.0 + 0.001 * k
                resting, _ = fill_price(1, 1, level, nan, False, open_[t], high[t], low[t])
                touched += 0 if math.isnan(resting) else 1
            if pending != 0:
                reference, _ = fill_price(0, pending, nan, nan, False, open_[t], high[t], low[t])
                price, fee, _ = execute_fill(
                    pending, 100.0, reference, nan, 1, slip_params, nan, nan, nan,
                    1, fee_params, 0.0, 0.0, 0.0,
                )  # fmt: skip
                position, cost, _ = apply_fill(position, cost, pending * 100.0, price)
                cash -= pending * 100.0 * price + fee
                pending = 0
            if t % 5 == 0:
                pending = 1 if (t // 5) % 2 == 0 else -1
        return cash + touched

    return loop


def _python_execute_fill(*args: Any) -> tuple[float, float, float]:
    # execute_fill_nb's body over the uncompiled inner kernels
    side, quantity, reference, _limit, slip_kind, slip_params = args[:6]
    spread, volatility, adv, fee_kind, fee_params, filled, notional, fees = args[6:]
    price = _costs_nb.slipped_price_nb.py_func(
        slip_kind, slip_params, side, reference, quantity, spread, volatility, adv
    )
    total = _costs_nb.fee_nb.py_func(
        fee_kind, fee_params, filled + quantity, notional + quantity * price
    )
    return price, total - fees, abs(price - reference) * quantity


NUMBA_LOOP = njit(
    make_loop(_fills_nb.fill_price_nb, _fills_nb.execute_fill_nb, _accounting_nb.apply_fill_nb)
)
PYTHON_LOOP = make_loop(
    _fills_nb.fill_price_nb.py_func, _python_execute_fill, _accounting_nb.apply_fill_nb.py_func
)


def run_loop(loop: Callable[..., float], data: dict[str, np.ndarray], working: int) -> float:
    return float(
        loop(data["open"], data["high"], data["low"], working, FEE.params, SLIPPAGE.params)
    )


def _best(repeat: int, fn: Callable[[], float]) -> tuple[float, float]:
    value = fn()
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--working", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = synthetic_bars(args.bars)

    broker_time, broker_cash = _best(args.repeat, lambda: run_broker(data, args.working))
    numba_time, numba_cash = _best(args.repeat, lambda: run_loop(NUMBA_LOOP, data, args.working))
    python_time, python_cash = _best(args.repeat, lambda: run_loop(PYTHON_LOOP, data, args.working))
    for name, cash in (("numba loop", numba_cash), ("python loop", python_cash)):
        if not math.isclose(broker_cash, cash, rel_tol=1e-12):
            raise SystemExit(f"broker cash {broker_cash} != {name} cash {cash}")

    tracemalloc.start()
    run_broker(data, args.working)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        f"SYNTHETIC bars: {args.bars:,}, resting orders: {args.working}, market order every "
        f"{EVERY} bars; best of {args.repeat}; final cash agrees ({broker_cash:,.2f})"
    )
    print()
    print("| path | seconds | bars / s | speed-up vs broker |")
    print("|---|---:|---:|---:|")
    for name, seconds in (
        ("SimulatedBroker (Python API)", broker_time),
        ("numba loop over the same kernels", numba_time),
        ("python loop over the kernels' py_func", python_time),
    ):
        print(
            f"| {name} | {seconds:.4f} | {args.bars / seconds:,.0f} | "
            f"{broker_time / seconds:,.1f}x |"
        )
    print()
    print(f"SimulatedBroker tracemalloc peak: {peak / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
