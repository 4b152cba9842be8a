"""Universe scan: 20 indicators × N symbols × 2,520 daily bars, evaluated at the latest bar.

Compares, in the same run, on SYNTHETIC random-walk bars:

- reference: a plain Python loop calling TA-Lib directly for the 20 indicators on every
  symbol and testing the condition on the last values;
- ``screen`` with one worker (inline) and with two worker processes (both cores).

Usage: ``python benchmarks/bench_screen.py [--symbols 3000] [--bars 2520]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import talib

# 20 indicator calls; the condition is deliberately loose so that the work is the same for
# every symbol (no short-circuit) and many symbols match.
EXPRESSION = (
    "(rsi(14) < 101 and sma(20) > 0 and ema(50) > 0 and wma(30) > 0 and dema(20) > 0 "
    "and tema(20) > 0 and kama(30) > 0 and bbands(20, 2, 2).upper > 0 "
    "and macd.hist > -1000000 and atr(14) > 0 and natr(14) > 0 and adx(14) >= 0 "
    "and cci(20) > -1000000 and mfi(14) >= 0 and willr(14) <= 0 and roc(10) > -100 "
    "and mom(10) > -1000000 and obv > -1000000000000 and stoch.k >= 0 and aroon(14).up >= 0)"
)


def reference_loop(universe: dict[str, dict[str, np.ndarray]]) -> list[str]:
    """Return the matching symbols, computing every indicator with TA-Lib in a plain loop."""
    matches = []
    for symbol, bars in universe.items():
        o, h, low, c, v = (bars[k] for k in ("open", "high", "low", "close", "volume"))
        upper, _, _ = talib.BBANDS(c, 20, 2, 2)
        _, _, hist = talib.MACD(c)
        k, _ = talib.STOCH(h, low, c)
        _, up = talib.AROON(h, low, 14)
        ok = (
            talib.RSI(c, 14)[-1] < 101
            and talib.SMA(c, 20)[-1] > 0
            and talib.EMA(c, 50)[-1] > 0
            and talib.WMA(c, 30)[-1] > 0
            and talib.DEMA(c, 20)[-1] > 0
            and talib.TEMA(c, 20)[-1] > 0
            and talib.KAMA(c, 30)[-1] > 0
            and upper[-1] > 0
            and hist[-1] > -1e6
            and talib.ATR(h, low, c, 14)[-1] > 0
            and talib.NATR(h, low, c, 14)[-1] > 0
            and talib.ADX(h, low, c, 14)[-1] >= 0
            and talib.CCI(h, low, c, 20)[-1] > -1e6
            and talib.MFI(h, low, c, v, 14)[-1] >= 0
            and talib.WILLR(h, low, c, 14)[-1] <= 0
            and talib.ROC(c, 10)[-1] > -100
            and talib.MOM(c, 10)[-1] > -1e6
            and talib.OBV(c, v)[-1] > -1e12
            and k[-1] >= 0
            and up[-1] >= 0
        )
        if ok:
            matches.append(symbol)
        del o
    return matches


def make_universe(symbols: int, bars: int, seed: int = 3) -> dict[str, dict[str, np.ndarray]]:
    """Return SYNTHETIC OHLCV random walks, one dict of arrays per symbol."""
    rng = np.random.default_rng(seed)
    universe = {}
    for index in range(symbols):
        close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.015, bars)))
        open_ = close * np.exp(rng.normal(0, 0.004, bars))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, bars))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, bars))
        volume = rng.uniform(1e5, 1e6, bars)
        universe[f"S{index:05d}"] = {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    return universe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=3000)
    parser.add_argument("--bars", type=int, default=2520)
    args = parser.parse_args()

    from quantdesk.indicators.catalog import REGISTRY
    from quantdesk.signals.expressions import compile_expression, screen

    universe = make_universe(args.symbols, args.bars)
    compiled = compile_expression(EXPRESSION, REGISTRY)
    print(f"{args.symbols:,} SYNTHETIC symbols × {args.bars:,} daily bars, 20 indicators each\n")

    timings: dict[str, float] = {}
    started = time.perf_counter()
    expected = reference_loop(universe)
    timings["plain Python loop over TA-Lib (reference)"] = time.perf_counter() - started
    for workers in (1, 2):
        started = time.perf_counter()
        result = screen(compiled, universe, workers=workers)
        timings[f"screen, {workers} worker(s)"] = time.perf_counter() - started
        assert result.symbols == sorted(expected), "screen and reference disagree"
    reference = timings["plain Python loop over TA-Lib (reference)"]
    print(f"{'variant':<44} {'seconds':>8} {'vs loop':>8}")
    for name, seconds in timings.items():
        print(f"{name:<44} {seconds:>8.2f} {seconds / reference:>7.2f}x")
    print(f"\n{len(expected):,} symbols matched; both give the same matches.")


if __name__ == "__main__":
    main()
