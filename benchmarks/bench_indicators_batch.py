"""Batch indicator speed: ``quantdesk.indicators.compute`` against calling TA-Lib directly.

Runs on 1,000,000 SYNTHETIC random-walk bars (not market data). For RSI, EMA, MACD, BBANDS
and ATR it times, best of ``--repeat`` runs:

- talib: the TA-Lib function called directly on float64 numpy arrays;
- compute(numpy): ``compute(name, {column: array})``, the registry path (target <= 1.1x);
- compute(polars): ``compute(name, polars_frame)``, including the frame conversion both ways.

It also times quantdesk's own numba kernels (SuperTrend, Donchian, Ichimoku, session VWAP,
Keltner, Heikin-Ashi, classic pivots) through ``compute`` for the record, after a warm-up call
that loads (or compiles) them.

Usage: ``python benchmarks/bench_indicators_batch.py [--rows 1000000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def _best(repeat: int, *functions: Callable[[], object]) -> list[float]:
    # Runs interleave so machine noise hits every function alike.
    for fn in functions:
        fn()
    best = [float("inf")] * len(functions)
    for _ in range(repeat):
        for index, fn in enumerate(functions):
            started = time.perf_counter()
            fn()
            best[index] = min(best[index], time.perf_counter() - started)
    return [seconds * 1e3 for seconds in best]


def main() -> None:
    """Print the TA-Lib comparison table and the quantdesk kernel timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import talib
    from _data import random_walk_bars

    started = time.perf_counter()
    from quantdesk.indicators import REGISTRY, compute

    import_seconds = time.perf_counter() - started

    frame = random_walk_bars(args.rows, 1).drop("symbol", "interval")
    bars = {c: frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")}
    high, low, close = bars["high"], bars["low"], bars["close"]
    cases: list[tuple[str, Callable[[], object], dict[str, float]]] = [
        ("rsi", lambda: talib.RSI(close, 14), {"timeperiod": 14}),
        ("ema", lambda: talib.EMA(close, 30), {"timeperiod": 30}),
        ("macd", lambda: talib.MACD(close, 12, 26, 9), {}),
        ("bbands", lambda: talib.BBANDS(close, 20, 2.0, 2.0), {"timeperiod": 20}),
        ("atr", lambda: talib.ATR(high, low, close, 14), {"timeperiod": 14}),
    ]

    print(f"SYNTHETIC random-walk bars: {args.rows:,} rows, best of {args.repeat}")
    print(f"import quantdesk.indicators (registry of {len(REGISTRY.names())}): "
          f"{import_seconds * 1e3:.0f} ms")  # fmt: skip
    print()
    header = f"{'indicator':<10} {'talib ms':>9} {'compute ms':>11} {'ratio':>6} "
    print(header + f"{'polars ms':>10} {'ratio':>6}")
    for name, direct, params in cases:
        reference, registry, polars = _best(
            args.repeat,
            direct,
            lambda n=name, p=params: compute(n, bars, **p),
            lambda n=name, p=params: compute(n, frame, **p),
        )
        print(
            f"{name:<10} {reference:>9.2f} {registry:>11.2f} {registry / reference:>5.2f}x "
            f"{polars:>10.2f} {polars / reference:>5.2f}x"
        )

    print()
    print(f"{'quantdesk kernel':<18} {'ms':>9}  (via compute, numpy in)")
    with_ts = {**bars, "ts": frame["ts"].dt.epoch("us").to_numpy()}
    for name in ("supertrend", "donchian", "ichimoku", "vwap", "keltner", "heikin_ashi",
                 "pivot_classic"):  # fmt: skip
        (elapsed,) = _best(args.repeat, lambda n=name: compute(n, with_ts))
        print(f"{name:<18} {elapsed:>9.2f}")
    assert np.isfinite(np.asarray(compute("rsi", close))[-1])


if __name__ == "__main__":
    main()
