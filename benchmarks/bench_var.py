"""Monte Carlo VaR speed and memory: ``quantdesk.risk.montecarlo.monte_carlo_var``.

Runs on SYNTHETIC data (not market data): 2,000 days of returns for 50 assets drawn from a
3-factor model with idiosyncratic noise, an equally weighted portfolio, 99 % VaR over
10 days with 100,000 paths, so 50 million simulated asset-days per method.

- quantdesk (normal, student_t with df=5, bootstrap): ``monte_carlo_var`` end to end,
  calibration included. Paths run in blocks of 8,192, one day at a time, keeping only each
  block's running compounded growth per asset (8,192 × 50); blocks run on every core.
- naive reference: ``rng.multivariate_normal(mean, cov, size=(paths, days))``, which
  materialises the whole paths × days × assets array, then compounds it the same way.

Wall and CPU (all threads) times are the best of ``--repeat`` runs without tracing; memory is
the ``tracemalloc`` peak of one further run. On a shared machine the CPU column is the steadier
of the two; wall time is what a user waits.

Usage: ``python benchmarks/bench_var.py [--paths 100000] [--days 10] [--assets 50]``
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable

import numpy as np


def _synthetic_history(days: int, assets: int, seed: int = 7) -> np.ndarray:
    """Return SYNTHETIC daily returns from a 3-factor model (not market data)."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, 0.008, size=(assets, 3))
    idiosyncratic = rng.uniform(0.006, 0.02, size=assets)
    covariance = loadings @ loadings.T + np.diag(idiosyncratic**2)
    return rng.multivariate_normal(np.full(assets, 3e-4), covariance, size=days)


def _naive_var(history: np.ndarray, paths: int, days: int, weights: np.ndarray) -> float:
    rng = np.random.default_rng(1)
    mean, covariance = history.mean(axis=0), np.cov(history, rowvar=False)
    simulated = rng.multivariate_normal(mean, covariance, size=(paths, days))
    growth = np.prod(1.0 + simulated, axis=1) - 1.0
    return float(-np.percentile(growth @ weights, 1.0))


def _measure(repeat: int, function: Callable[[], float]) -> tuple[float, float, float, float]:
    function()  # warm-up: imports, BLAS initialisation
    best, best_cpu = float("inf"), float("inf")
    value = 0.0
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        value = function()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, best_cpu, peak / 2**20, value


def main() -> None:
    """Print the Monte Carlo VaR table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from quantdesk.risk.montecarlo import monte_carlo_var

    history = _synthetic_history(2_000, args.assets)
    weights = np.full(args.assets, 1.0 / args.assets)

    def run(method: str) -> Callable[[], float]:
        def call() -> float:
            result = monte_carlo_var(
                history, 0.99, args.days, weights=weights, method=method,  # type: ignore[arg-type]
                n_paths=args.paths, df=5.0, seed=1,
            )  # fmt: skip
            return result.var

        return call

    naive_seconds, naive_cpu, naive_mib, naive_var = _measure(
        args.repeat, lambda: _naive_var(history, args.paths, args.days, weights)
    )
    print(
        f"SYNTHETIC 3-factor returns: {args.paths:,} paths x {args.days} days x "
        f"{args.assets} assets, 99 % VaR; {os.cpu_count()} CPUs; best of {args.repeat}"
    )
    print()
    print(
        "| method | wall s | CPU s | peak MiB (tracemalloc) | 99 % VaR | wall vs naive "
        "| memory vs naive |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| naive numpy multivariate_normal (reference) | {naive_seconds:.2f} | {naive_cpu:.2f} "
        f"| {naive_mib:,.0f} | {naive_var:.4f} | 1.00x | 1.00x |"
    )
    for method in ("normal", "student_t", "bootstrap"):
        seconds, cpu, mib, var = _measure(args.repeat, run(method))
        print(
            f"| quantdesk mc_{method} | {seconds:.2f} | {cpu:.2f} | {mib:,.1f} | {var:.4f} | "
            f"{seconds / naive_seconds:.2f}x | {mib / naive_mib:.3f}x |"
        )


if __name__ == "__main__":
    main()
