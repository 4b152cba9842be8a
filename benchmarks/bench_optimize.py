"""Max-Sharpe speed: ``quantdesk.portfolio.optimize`` against PyPortfolioOpt on the same inputs.

Runs on SYNTHETIC daily returns (not market data) from a five-factor model: 100 assets,
1,260 days (five years), Student-t idiosyncratic noise. Both libraries get the same annualised
sample mean and sample covariance (``mean * 252``, ``cov(ddof=1) * 252``) and solve the
long-only, fully invested maximum Sharpe ratio problem (risk-free rate 2%):

- PyPortfolioOpt: ``EfficientFrontier(mu, cov).max_sharpe(risk_free_rate)``;
- quantdesk (mu/cov): ``optimize_portfolio(expected_returns=mu, covariance=cov,
  method="max_sharpe")``, skfolio ``MeanRisk`` on Clarabel behind a precomputed prior;
- quantdesk (returns): the same from the returns frame, estimating mu/cov inside (timed
  against PyPortfolioOpt with its own ``mean_historical_return`` + ``sample_cov``);
- skfolio default path, for the record: ``MeanRisk(MAXIMIZE_RATIO, STANDARD_DEVIATION)``
  fitted on the returns frame with its default ``EmpiricalPrior`` and default bounds (daily
  units, so the risk-free rate is 2% / 252). quantdesk instead hands skfolio a precomputed
  prior, passes plain arrays and drops the weight cap that long-only + budget 1 make redundant.

Runs interleave so machine noise hits every case alike; the table shows the median of
``--repeat`` runs, the ratio to PyPortfolioOpt, the tracemalloc peak of one run and the
largest absolute weight difference between the two solutions.

BLAS runs single-threaded by default (``--blas-threads 1``, via threadpoolctl, for both
libraries): on a small, shared machine OpenBLAS worker threads left spinning after each call
steal the core the solver needs and make every timing noisy. ``--blas-threads 0`` keeps the
library default.

Usage: ``python benchmarks/bench_optimize.py [--assets 100] [--days 1260] [--repeat 15]
[--blas-threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

RISK_FREE = 0.02


def synthetic_factor_returns(assets: int, days: int, seed: int = 7) -> pd.DataFrame:
    """Return SYNTHETIC daily returns from a five-factor model with fat-tailed noise."""
    rng = np.random.default_rng(seed)
    factors = 5
    loadings = rng.normal(0.0, 0.6, size=(assets, factors))
    loadings[:, 0] = rng.uniform(0.6, 1.4, size=assets)  # market beta
    factor_returns = rng.normal(0.0003, 0.009, size=(days, factors))
    noise = rng.standard_t(df=5, size=(days, assets)) * rng.uniform(0.008, 0.02, size=assets)
    alpha = rng.normal(0.0002, 0.0003, size=assets)
    values = factor_returns @ loadings.T + noise + alpha
    columns = [f"SYN{i:03d}" for i in range(assets)]
    index = pd.bdate_range("2019-01-01", periods=days, name="date")
    return pd.DataFrame(values, index=index, columns=columns)


def _median_ms(repeat: int, *functions: Callable[[], object]) -> list[float]:
    for function in functions:
        function()
    samples: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            samples[index].append(time.perf_counter() - started)
    return [statistics.median(values) * 1e3 for values in samples]


def _peak_kib(function: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024


def main() -> None:
    """Print the max-Sharpe timing table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--days", type=int, default=1260)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    if args.blas_threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads, user_api="blas")

    from pypfopt import EfficientFrontier, expected_returns, risk_models

    from quantdesk.portfolio.optimize import optimize_portfolio

    returns = synthetic_factor_returns(args.assets, args.days)
    # Prices with a base row so pct_change() gives back exactly the same 1,260 returns.
    base = pd.DataFrame(1.0, index=[returns.index[0] - pd.offsets.BDay()], columns=returns.columns)
    prices = 100.0 * pd.concat([base, 1.0 + returns]).cumprod()
    mu = returns.mean() * 252
    cov = returns.cov() * 252

    def reference() -> pd.Series:
        frontier = EfficientFrontier(mu, cov)
        frontier.max_sharpe(risk_free_rate=RISK_FREE)
        return pd.Series(frontier.weights, index=mu.index)

    def reference_from_prices() -> pd.Series:
        sample_mu = expected_returns.mean_historical_return(prices, compounding=False)
        sample_cov = risk_models.sample_cov(prices)
        frontier = EfficientFrontier(sample_mu, sample_cov)
        frontier.max_sharpe(risk_free_rate=RISK_FREE)
        return pd.Series(frontier.weights, index=mu.index)

    def quantdesk_moments() -> pd.Series:
        return optimize_portfolio(
            expected_returns=mu, covariance=cov, method="max_sharpe", risk_free_rate=RISK_FREE
        ).weights

    def quantdesk_returns() -> pd.Series:
        return optimize_portfolio(returns, method="max_sharpe", risk_free_rate=RISK_FREE).weights

    def skfolio_default() -> pd.Series:
        from skfolio.measures import RiskMeasure
        from skfolio.optimization import MeanRisk, ObjectiveFunction

        model = MeanRisk(
            objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
            risk_measure=RiskMeasure.STANDARD_DEVIATION,
            risk_free_rate=RISK_FREE / 252,
        )
        model.fit(returns)
        return pd.Series(model.weights_, index=mu.index)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = (
            reference,
            quantdesk_moments,
            reference_from_prices,
            quantdesk_returns,
            skfolio_default,
        )
        times = _median_ms(args.repeat, *cases)
        peaks = [_peak_kib(fn) for fn in cases]
        gap_moments = float((quantdesk_moments() - reference()).abs().max())
        gap_returns = float((quantdesk_returns() - reference_from_prices()).abs().max())
        gap_default = float((skfolio_default() - reference_from_prices()).abs().max())

    print(
        f"SYNTHETIC factor-model returns: {args.assets} assets x {args.days} days, "
        f"max Sharpe (rf {RISK_FREE:.0%}), median of {args.repeat} interleaved runs, "
        f"BLAS threads: {args.blas_threads or 'default'}"
    )
    print()
    print("| case | median ms | ratio to PyPortfolioOpt | peak KiB | max abs weight diff |")
    print("|---|---:|---:|---:|---:|")
    rows = [
        ("PyPortfolioOpt EfficientFrontier.max_sharpe (mu/cov)", times[0], times[0], peaks[0], 0.0),
        ("quantdesk optimize_portfolio (mu/cov)", times[1], times[0], peaks[1], gap_moments),
        ("PyPortfolioOpt incl. mean/sample_cov from prices", times[2], times[2], peaks[2], 0.0),
        ("quantdesk optimize_portfolio (returns frame)", times[3], times[2], peaks[3], gap_returns),
        (
            "skfolio MeanRisk default path (returns frame)",
            times[4],
            times[2],
            peaks[4],
            gap_default,
        ),
    ]
    for label, elapsed, base, peak, gap in rows:
        print(f"| {label} | {elapsed:.1f} | {elapsed / base:.2f}x | {peak:,.0f} | {gap:.1e} |")


if __name__ == "__main__":
    main()
