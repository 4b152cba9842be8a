"""Vectorised backtest speed and memory: quantdesk against vectorbt on an SMA-crossover grid.

Data: ``skfolio.datasets.load_sp500_dataset()`` (20 real S&P 500 stocks, daily adjusted
closes), the last 5,000 rows, closes only. Grid: 100 (fast, slow) SMA pairs (fast 5..50 step
5, slow 60..240 step 20), so 20 symbols x 100 pairs = 2,000 columns x 5,000 bars.

Both engines simulate the *same* trades: the signals are quantdesk's ``sma_cross`` signals
(:func:`quantdesk.backtest.vectorized.strategy_signals`); every entry buys 10 shares
(quantdesk ``size_type="shares"``, vectorbt ``size_type="amount"``) and every exit sells the
position, long only, 0.1 % fee and 5 bps slippage, 100,000 cash per column. quantdesk fills a
signal of bar ``t`` at the next bar's open, which for close-only data is the next close;
vectorbt gets the signals shifted by one bar and fills at that bar's close. The script asserts
identical order records (column, bar, side, size, price, fee) on all 2,000 columns and equal
final values, then times, as the median of ``--repeat`` interleaved warm runs:

- signals: quantdesk ``strategy_signals`` (TA-Lib SMAs once per symbol and distinct window,
  crossovers in numba); vectorbt ``MA.run`` + ``ma_crossed_above/below`` (its own path, timed
  for reference: its crossover rule differs at ties, so these signals are not the ones
  simulated);
- simulation: ``run_signals`` against ``Portfolio.from_signals`` on the identical signals;
- equity curves: ``VectorizedResult.equity`` (computed during the simulation) against
  ``Portfolio.value()``;
- metrics: ``VectorizedResult.metrics`` (returns, Sharpe, drawdown, trades, win rate, ...)
  against vectorbt's total return, Sharpe, max drawdown, trade count and win rate.

Cold: the first simulation call in a fresh process with an empty numba cache (compilation).
Memory: peak RSS growth during one simulation call, each engine in a fresh process warmed up
on a tiny slice first (numba allocates outside tracemalloc's view, so RSS is the fair gauge).

Usage: ``python benchmarks/bench_backtest_vectorized.py [--repeat 5] [--no-cold]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

BARS = 5_000
SHARES = 10.0
CASH = 100_000.0
FEE = 0.001
SLIPPAGE_BPS = 5.0
PAIRS = [(fast, slow) for fast in range(5, 55, 5) for slow in range(60, 260, 20)]


def load_closes() -> pd.DataFrame:
    """Return the last 5,000 daily closes of skfolio's 20 S&P 500 stocks (real data)."""
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset().iloc[-BARS:]
    if prices.isna().any().any():
        raise SystemExit("the dataset has gaps in the last 5,000 rows")
    return prices


class Inputs:
    """The signals and both engines' inputs, built once."""

    def __init__(self, closes: pd.DataFrame) -> None:
        from quantdesk.backtest.vectorized import strategy_signals

        self.closes = closes
        self.bars = {
            s: pd.DataFrame({"close": closes[s].to_numpy()}, index=closes.index) for s in closes
        }
        self.grid = [{"fast": fast, "slow": slow} for fast, slow in PAIRS]
        self.signals = strategy_signals("sma_cross", self.bars, self.grid)
        sig = self.signals
        columns = sig.columns
        self.vbt_close = pd.DataFrame(sig.close[:, sig.price_columns], closes.index, columns)
        shifted = np.zeros_like(sig.entries)
        shifted[1:] = sig.entries[:-1]
        self.vbt_entries = pd.DataFrame(shifted, closes.index, columns)
        shifted = np.zeros_like(sig.exits)
        shifted[1:] = sig.exits[:-1]
        self.vbt_exits = pd.DataFrame(shifted, closes.index, columns)


def run_ours(inputs: Inputs) -> Any:
    from quantdesk.backtest.vectorized import run_signals
    from quantdesk.execution.sim import ExecutionConfig, FixedBpsSlippage, PercentFee

    sig = inputs.signals
    return run_signals(
        sig.close,
        sig.entries,
        sig.exits,
        size=SHARES,
        size_type="shares",
        execution=ExecutionConfig(PercentFee(FEE), FixedBpsSlippage(SLIPPAGE_BPS)),
        cash=CASH,
        index=sig.index,
        columns=sig.columns,
        symbols=sig.symbols,
        price_columns=sig.price_columns,
    )


def run_vectorbt(inputs: Inputs) -> Any:
    import vectorbt as vbt

    return vbt.Portfolio.from_signals(
        inputs.vbt_close,
        inputs.vbt_entries,
        inputs.vbt_exits,
        size=SHARES,
        size_type="amount",
        fees=FEE,
        slippage=SLIPPAGE_BPS / 10_000,
        init_cash=CASH,
        direction="longonly",
        freq="1D",
    )


def vectorbt_signals(closes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    import vectorbt as vbt

    fast = vbt.MA.run(closes, [f for f, _ in PAIRS], short_name="fast")
    slow = vbt.MA.run(closes, [s for _, s in PAIRS], short_name="slow")
    return fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)


def vectorbt_metrics(portfolio: Any) -> list[Any]:
    return [
        portfolio.total_return(),
        portfolio.sharpe_ratio(),
        portfolio.max_drawdown(),
        portfolio.trades.count(),
        portfolio.trades.win_rate(),
    ]


def assert_same_trades(ours: Any, theirs: Any) -> int:
    """Assert identical orders on every column; return how many there are."""
    mine = ours.fill_records
    records = theirs.orders.values
    if len(mine) != len(records):
        raise SystemExit(f"quantdesk made {len(mine)} trades, vectorbt {len(records)}")
    pairs = [
        ("column", "col"),
        ("bar", "idx"),
        ("quantity", "size"),
        ("price", "price"),
    ]
    for ours_name, their_name in pairs:
        if not np.array_equal(mine[ours_name], records[their_name]):
            raise SystemExit(f"trades differ in {ours_name}")
    if not np.array_equal(mine["side"], np.where(records["side"] == 0, 1, -1)):
        raise SystemExit("trades differ in side")
    if not np.allclose(mine["fee"], records["fees"], rtol=1e-12, atol=0.0):
        raise SystemExit("trades differ in fees")
    final = theirs.final_value().to_numpy()
    if not np.allclose(ours.final_equity.to_numpy(), final, rtol=1e-12):
        raise SystemExit("final values differ")
    return len(mine)


def _median_interleaved(repeat: int, *functions: Callable[[], object]) -> list[float]:
    # Runs interleave so machine noise hits both engines alike.
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for index, fn in enumerate(functions):
            started = time.perf_counter()
            fn()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(values) for values in times]


def _median_interleaved_over(items: list[Any], *functions: Callable[[Any], object]) -> list[float]:
    times: list[list[float]] = [[] for _ in functions]
    for item in items:
        for index, fn in enumerate(functions):
            started = time.perf_counter()
            fn(item)
            times[index].append(time.perf_counter() - started)
    return [statistics.median(values) for values in times]


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_probe(engine: str) -> None:
    """Print (JSON) the peak RSS growth of one simulation call after a tiny warm-up call."""
    closes = load_closes()
    inputs = Inputs(closes)
    small = Inputs(closes.iloc[:300, :2])
    run = run_ours if engine == "ours" else run_vectorbt
    run(small)
    del small
    before = _rss_mib()
    result = run(inputs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del result
    print(json.dumps({"peak_growth_mib": peak - before}))


def cold_probe() -> None:
    """Print (JSON) the first simulation call of each engine (numba cache is empty)."""
    inputs = Inputs(load_closes())
    started = time.perf_counter()
    run_ours(inputs)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    run_vectorbt(inputs)
    theirs = time.perf_counter() - started
    print(json.dumps({"ours": ours, "vectorbt": theirs}))


def _subprocess(*args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    loaded: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def main() -> None:
    """Check identical trades, then print the timing and memory table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-cold", action="store_true", help="skip the compile measurement")
    parser.add_argument("--memory-probe", choices=["ours", "vectorbt"], help=argparse.SUPPRESS)
    parser.add_argument("--cold-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe)
        return
    if args.cold_probe:
        cold_probe()
        return

    # Probes first: a child's peak RSS counts from the parent's size when it was forked.
    memory = {engine: _subprocess("--memory-probe", engine) for engine in ("ours", "vectorbt")}
    cold: dict[str, float] | None = None
    if not args.no_cold:
        with tempfile.TemporaryDirectory() as cache:
            cold = _subprocess("--cold-probe", env={"NUMBA_CACHE_DIR": cache})

    import numba
    import vectorbt as vbt

    from quantdesk.backtest.vectorized import strategy_signals

    closes = load_closes()
    inputs = Inputs(closes)
    ours, theirs = run_ours(inputs), run_vectorbt(inputs)  # compile or load the caches
    trades = assert_same_trades(ours, theirs)
    vectorbt_signals(closes)
    _ = (ours.metrics, ours.equity, vectorbt_metrics(theirs))  # warm both paths

    signals = _median_interleaved(
        args.repeat,
        lambda: strategy_signals("sma_cross", inputs.bars, inputs.grid),
        lambda: vectorbt_signals(closes),
    )
    simulation = _median_interleaved(
        args.repeat, lambda: run_ours(inputs), lambda: run_vectorbt(inputs)
    )
    # vectorbt caches what a portfolio computed, so each timed call gets a fresh one
    fresh = iter([(run_ours(inputs), run_vectorbt(inputs)) for _ in range(2 * args.repeat)])
    pairs = [next(fresh) for _ in range(args.repeat)]
    equity = _median_interleaved_over(
        pairs, lambda pair: pair[0].equity, lambda pair: pair[1].value()
    )
    pairs = list(fresh)
    metrics = _median_interleaved_over(
        pairs, lambda pair: pair[0].metrics, lambda pair: vectorbt_metrics(pair[1])
    )
    rows = [
        ("signals (indicators + crossovers)", *signals),
        ("simulation (identical signals)", *simulation),
        ("equity curves", *equity),
        ("metrics", *metrics),
    ]
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows)))

    print(
        f"real data: skfolio S&P 500, {len(closes.columns)} symbols x {len(closes):,} bars "
        f"(closes), {len(PAIRS)} SMA pairs -> {len(inputs.signals.columns):,} columns; "
        f"identical trades on every column ({trades:,} orders); median of {args.repeat} "
        f"interleaved warm runs; numba {numba.__version__}, vectorbt {vbt.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    print("| step | quantdesk s | vectorbt s | quantdesk / vectorbt |")
    print("|---|---:|---:|---:|")
    for name, mine, other in rows:
        print(f"| {name} | {mine:.3f} | {other:.3f} | {mine / other:.2f}x |")
    if cold is not None:
        print(
            f"| first simulation, empty numba cache | {cold['ours']:.1f} | "
            f"{cold['vectorbt']:.1f} | {cold['ours'] / cold['vectorbt']:.2f}x |"
        )
    mine_mib, other_mib = (memory[e]["peak_growth_mib"] for e in ("ours", "vectorbt"))
    print(
        f"| peak RSS growth of one simulation (MiB) | {mine_mib:,.0f} | {other_mib:,.0f} | "
        f"{mine_mib / other_mib:.2f}x |"
    )


if __name__ == "__main__":
    main()
