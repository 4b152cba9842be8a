"""Monte Carlo simulation: return scenarios for VaR, and future portfolio value paths.

**Return scenarios** (:func:`simulate_scenarios`, :func:`monte_carlo_var`) take the same
inputs as :mod:`quantdesk.risk.var` (simple returns; a portfolio is asset returns plus
weights held buy-and-hold over the horizon) and simulate every period of every path:

- ``"normal"``: each period's asset returns ~ multivariate normal with the sample mean and
  covariance (Cholesky factor; a clipped eigen factor when the covariance is singular).
- ``"student_t"``: multivariate Student-t with ``df`` degrees of freedom, scaled so its
  covariance equals the sample covariance (``df > 2``); each period of each path has its own
  mixing variable. Without ``df``, :func:`fit_student_t_df` fits it by maximum likelihood with
  the mean and covariance held at their sample values.
- ``"bootstrap"``: each period draws one whole historical day (the full cross-section, so
  cross-asset dependence is kept) uniformly with replacement.
- ``"filtered"``: filtered historical simulation. Each asset is filtered by a GARCH(1,1) with
  constant mean (``arch``, normal likelihood) or by an EWMA variance
  ``s²_{t+1} = lambda s²_t + (1 - lambda) e²_t`` (RiskMetrics, ``e`` the demeaned return, seeded
  with the sample variance of ``e``). Standardised residuals ``z_t = e_t / s_t`` are resampled
  by whole days and rescaled by each path's own variance, which the filter's recursion then
  updates with the simulated shock, so volatility clusters along each path and starts from
  the filter's forecast for the period after the sample.

Each asset's path is compounded, ``R_i = prod_t (1 + r_it) - 1``, and the portfolio's return
is ``sum_i w_i R_i``. The normal and Student-t engines draw simple returns, so a draw below
-100 % is possible in a heavy tail; it is floored at -100 % (a price cannot go below zero).

Paths are simulated in blocks of ``chunk_size`` paths, one period at a time, so memory grows
with ``chunk_size × assets``, never with ``paths × periods × assets``; only the portfolio
return per path (and, on request, the compounded return per asset) is kept. This is still a
genuine path simulation: every period of every path gets its own cross-section of draws (its
own chi-square mixing for Student-t, its own historical day for the bootstraps, its own
GARCH/EWMA variance for filtered simulation), which matters whenever periods are not i.i.d.
normal.
Each block draws from its own generator spawned from ``seed``, so blocks run on several
threads (numpy releases the GIL while drawing; BLAS is held to one thread meanwhile when
``threadpoolctl`` is available) and the numbers do not depend on how many threads ran.

**Portfolio value paths** (:func:`simulate_portfolio_value`) grow a value period by period,
by geometric Brownian motion or by bootstrapped historical portfolio returns, adding
contributions and subtracting withdrawals at the end of each period, and summarise the paths
as percentile bands per period (fan-chart data), goal and floor probabilities and terminal
statistics.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special  # type: ignore[import-untyped, unused-ignore]

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.risk.var import (
    ComponentVaR,
    Details,
    FloatArray,
    ReturnsLike,
    SeedLike,
    SimulationMethod,
    VaRResult,
    VolatilityFilter,
    WeightsLike,
    check_confidence,
    check_positive,
    check_positive_int,
    prepare_returns,
    tail_measures,
)

_SIMULATION_METHODS: tuple[str, ...] = ("normal", "student_t", "bootstrap", "filtered")
_DF_BOUNDS = (2.05, 500.0)


def _invalid(location: str, reason: str) -> ValidationError:
    return ValidationError(f"invalid {location}", [Issue(location, reason)])


@dataclass(frozen=True, slots=True)
class Scenarios:
    """Simulated h-period returns: one portfolio return per path, optionally per asset.

    ``asset_returns`` (paths × assets, compounded over the horizon) is kept only when asked
    for; ``portfolio_returns`` equals ``asset_returns @ weights``.
    """

    method: str
    horizon: int
    symbols: tuple[str, ...]
    weights: FloatArray
    portfolio_returns: FloatArray
    asset_returns: FloatArray | None
    observations: int
    details: Details = field(default_factory=dict)


def spawn_generators(seed: SeedLike, count: int) -> list[np.random.Generator]:
    """Return ``count`` independent generators derived reproducibly from ``seed``."""
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(count))
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(count)]


# --- calibration ----------------------------------------------------------------------------


def _covariance_factor(covariance: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.cholesky(covariance), dtype=np.float64)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)), dtype=np.float64)


def _student_t_loglik(df: float, distances: FloatArray, log_det: float, dimension: int) -> float:
    # Multivariate t with shape Sigma * (df - 2) / df, so that its covariance is Sigma.
    count = distances.shape[0]
    constant = (
        special.gammaln((df + dimension) / 2.0)
        - special.gammaln(df / 2.0)
        - dimension / 2.0 * math.log((df - 2.0) * math.pi)
        - log_det / 2.0
    )
    return float(count * constant - (df + dimension) / 2.0 * np.log1p(distances / (df - 2.0)).sum())


def fit_student_t_df(returns: ReturnsLike) -> float:
    """Return the degrees of freedom that maximise the multivariate-t likelihood of ``returns``.

    Location and covariance are held at the sample mean and covariance (``ddof=1``), the
    t's shape being ``covariance * (df - 2) / df``; only ``df`` is searched, in
    ``[2.05, 500]``. Every column of a 2-D input is one asset.

    Raises
    ------
    ValidationError
        On bad returns or a singular sample covariance.
    """
    shape = np.shape(returns)
    columns = 1 if len(shape) < 2 else int(shape[1])
    return _fit_df(prepare_returns(returns, np.ones(columns), minimum_rows=3).matrix)


def _fit_df(matrix: FloatArray) -> float:
    centred = matrix - matrix.mean(axis=0)
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False))
    sign, log_det = np.linalg.slogdet(covariance)
    if sign <= 0:
        raise _invalid("returns", "the sample covariance is singular; give df explicitly")
    solved = np.linalg.solve(covariance, centred.T)
    distances = np.einsum("ij,ji->i", centred, solved)
    dimension = matrix.shape[1]
    fit = optimize.minimize_scalar(
        lambda df: -_student_t_loglik(df, distances, float(log_det), dimension),
        bounds=_DF_BOUNDS,
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(fit.x)


@dataclass(frozen=True, slots=True)
class _Filter:
    mean: FloatArray
    omega: FloatArray
    alpha: FloatArray
    beta: FloatArray
    next_variance: FloatArray
    residuals: FloatArray  # standardised, periods × assets


def _garch_filter(matrix: FloatArray, symbols: tuple[str, ...]) -> _Filter:
    from arch import arch_model

    columns = matrix.shape[1]
    mean, omega, alpha, beta, nxt = (np.empty(columns) for _ in range(5))
    residuals = np.empty_like(matrix)
    for index in range(columns):
        # arch fits best on returns in per cent; parameters are scaled back below.
        model = arch_model(
            100.0 * matrix[:, index], mean="Constant", vol="GARCH", p=1, q=1, rescale=False
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(disp="off")
        if fit.convergence_flag != 0:
            raise _invalid(
                "vol_filter",
                f"GARCH(1,1) did not converge for '{symbols[index]}'; use vol_filter='ewma'",
            )
        params = fit.params
        mean[index] = params["mu"] / 100.0
        omega[index] = params["omega"] / 1e4
        alpha[index] = params["alpha[1]"]
        beta[index] = params["beta[1]"]
        residuals[:, index] = np.asarray(fit.std_resid, dtype=np.float64)
        forecast = fit.forecast(horizon=1, reindex=False).variance
        nxt[index] = float(np.asarray(forecast)[-1, 0]) / 1e4
    return _Filter(mean, omega, alpha, beta, nxt, residuals)


def _ewma_filter(matrix: FloatArray, decay: float) -> _Filter:
    mean = matrix.mean(axis=0)
    errors = matrix - mean
    variance = np.empty_like(matrix)
    variance[0] = (errors**2).mean(axis=0)
    for row in range(1, matrix.shape[0]):
        variance[row] = decay * variance[row - 1] + (1.0 - decay) * errors[row - 1] ** 2
    if (variance <= 0).any():
        raise _invalid("returns", "an asset's returns are constant; EWMA volatility is zero")
    nxt = decay * variance[-1] + (1.0 - decay) * errors[-1] ** 2
    columns = matrix.shape[1]
    return _Filter(
        mean,
        np.zeros(columns),
        np.full(columns, 1.0 - decay),
        np.full(columns, decay),
        nxt,
        errors / np.sqrt(variance),
    )


# --- scenario engines -----------------------------------------------------------------------

# A draw fills and returns the block's "step" buffer with one period's simple returns.
_Draw = Callable[[np.random.Generator, dict[str, Any]], FloatArray]


def _engine(
    matrix: FloatArray,
    symbols: tuple[str, ...],
    method: str,
    df: float | None,
    vol_filter: str,
    ewma_lambda: float,
    details: dict[str, float | int | str],
) -> tuple[_Draw, dict[str, FloatArray]]:
    # Returns the draw and the per-asset state each block starts from. Draws write into
    # preallocated block buffers: fresh multi-megabyte arrays every period would cost page
    # faults comparable to drawing the numbers.
    rows = matrix.shape[0]
    if method == "bootstrap":

        def draw_day(rng: np.random.Generator, block: dict[str, Any]) -> FloatArray:
            step: FloatArray = block["step"]
            np.take(matrix, rng.integers(0, rows, step.shape[0]), axis=0, out=step)
            return step

        return draw_day, {}
    if method == "filtered":
        if vol_filter == "ewma":
            if not 0.0 < ewma_lambda < 1.0:
                raise _invalid("ewma_lambda", f"got {ewma_lambda!r}; give a decay in (0, 1)")
            filt = _ewma_filter(matrix, ewma_lambda)
            details["ewma_lambda"] = ewma_lambda
        elif vol_filter == "garch":
            filt = _garch_filter(matrix, symbols)
        else:
            raise _invalid("vol_filter", f"got {vol_filter!r}; use 'garch' or 'ewma'")
        details["vol_filter"] = vol_filter

        def draw_filtered(rng: np.random.Generator, block: dict[str, Any]) -> FloatArray:
            step: FloatArray = block["step"]
            scratch: FloatArray = block["scratch"]
            variance: FloatArray = block["variance"]
            np.take(filt.residuals, rng.integers(0, rows, step.shape[0]), axis=0, out=step)
            step *= np.sqrt(variance, out=scratch)  # the shock e = s * z
            variance *= filt.beta  # s² <- omega + alpha e² + beta s²
            variance += filt.omega
            np.square(step, out=scratch)
            scratch *= filt.alpha
            variance += scratch
            step += filt.mean
            return step

        return draw_filtered, {"variance": filt.next_variance}
    mean = matrix.mean(axis=0)
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False))
    factor_t = np.ascontiguousarray(_covariance_factor(covariance).T)
    if method == "normal":

        def draw_normal(rng: np.random.Generator, block: dict[str, Any]) -> FloatArray:
            step: FloatArray = block["step"]
            np.matmul(rng.standard_normal(out=block["scratch"]), factor_t, out=step)
            step += mean
            return step

        return draw_normal, {}
    if df is None:
        nu = _fit_df(matrix)
        details["df_source"] = "fitted"
    else:
        nu = float(df)
        if not math.isfinite(nu) or nu <= 2.0:
            raise _invalid("df", f"got {df!r}; Student-t needs df > 2 for a finite covariance")
        details["df_source"] = "given"
    details["df"] = nu
    scale = math.sqrt((nu - 2.0) / nu)

    def draw_t(rng: np.random.Generator, block: dict[str, Any]) -> FloatArray:
        step: FloatArray = block["step"]
        np.matmul(rng.standard_normal(out=block["scratch"]), factor_t, out=step)
        # Each path-period has its own chi-square mixing: a multivariate t draw.
        step *= (scale / np.sqrt(rng.chisquare(nu, step.shape[0]) / nu))[:, None]
        step += mean
        return step

    return draw_t, {}


def _blas_single_thread() -> contextlib.AbstractContextManager[object]:
    # Blocks already run in parallel; idle BLAS threads spinning next to them only slow it.
    try:
        from threadpoolctl import (  # type: ignore[import-untyped, unused-ignore]
            threadpool_limits,
        )
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits


def simulate_scenarios(
    returns: ReturnsLike,
    horizon: int = 1,
    *,
    weights: WeightsLike | None = None,
    method: SimulationMethod = "normal",
    n_paths: int = 10_000,
    df: float | None = None,
    vol_filter: VolatilityFilter = "garch",
    ewma_lambda: float = 0.94,
    seed: SeedLike = None,
    keep_assets: bool = False,
    chunk_size: int = 8_192,
    workers: int | None = None,
) -> Scenarios:
    """Simulate ``n_paths`` paths of ``horizon`` periods and return their compounded returns.

    Parameters
    ----------
    returns, weights
        History to calibrate on, as for :func:`quantdesk.risk.var.historical_var`.
    horizon
        Periods per path; every period is drawn and compounded.
    method
        ``"normal"``, ``"student_t"``, ``"bootstrap"`` or ``"filtered"`` (module docstring).
    n_paths
        Number of paths (at least 100).
    df
        Student-t degrees of freedom (> 2); fitted from the history when ``None``.
    vol_filter, ewma_lambda
        Volatility filter for ``"filtered"``: ``"garch"`` (GARCH(1,1) via ``arch``) or
        ``"ewma"`` with decay ``ewma_lambda``.
    seed
        Seed or generator for reproducible draws.
    keep_assets
        Keep the paths × assets matrix of compounded asset returns (needed by
        :func:`simulated_component_var`).
    chunk_size
        Paths simulated together; bounds memory. Results depend on it (each block has its
        own generator), so keep it fixed to reproduce a run; they do not depend on
        ``workers``.
    workers
        Threads simulating blocks concurrently; ``None`` uses every CPU.

    Returns
    -------
    Scenarios

    Raises
    ------
    ValidationError
        On a bad method, ``df <= 2``, ``ewma_lambda`` outside (0, 1), a GARCH fit that does
        not converge, or bad returns.
    """
    horizon = check_positive_int("horizon", horizon)
    n_paths = check_positive_int("n_paths", n_paths, minimum=100)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    if workers is not None:
        workers = check_positive_int("workers", workers)
    if method not in _SIMULATION_METHODS:
        raise _invalid("method", f"got {method!r}; use one of {', '.join(_SIMULATION_METHODS)}")
    inputs = prepare_returns(returns, weights, minimum_rows=3)
    matrix = inputs.matrix
    details: dict[str, float | int | str] = {"paths": n_paths, "dropped_rows": inputs.dropped_rows}
    if isinstance(seed, int | np.integer):
        details["seed"] = int(seed)
    draw, initial = _engine(matrix, inputs.symbols, method, df, vol_filter, ewma_lambda, details)
    columns = matrix.shape[1]
    portfolio = np.empty(n_paths)
    assets = np.empty((n_paths, columns)) if keep_assets else None
    starts = list(range(0, n_paths, chunk_size))
    generators = spawn_generators(seed, len(starts))

    def run_block(index: int) -> None:
        start = starts[index]
        size = min(chunk_size, n_paths - start)
        block: dict[str, Any] = {key: np.tile(value, (size, 1)) for key, value in initial.items()}
        block["step"] = np.empty((size, columns))
        block["scratch"] = np.empty((size, columns))
        growth = np.ones((size, columns))
        for _ in range(horizon):
            step = draw(generators[index], block)
            step += 1.0
            np.maximum(step, 0.0, out=step)  # a price cannot fall below zero
            growth *= step
        growth -= 1.0
        portfolio[start : start + size] = growth @ inputs.weights
        if assets is not None:
            assets[start : start + size] = growth

    threads = min(len(starts), workers if workers is not None else os.cpu_count() or 1)
    if threads > 1:
        with _blas_single_thread(), ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run_block, range(len(starts))))
    else:
        for index in range(len(starts)):
            run_block(index)
    return Scenarios(
        method=method,
        horizon=horizon,
        symbols=inputs.symbols,
        weights=inputs.weights,
        portfolio_returns=portfolio,
        asset_returns=assets,
        observations=matrix.shape[0],
        details=details,
    )


def scenario_var(
    scenarios: Scenarios, confidence: float = 0.95, *, portfolio_value: float | None = None
) -> VaRResult:
    """Return VaR and CVaR of simulated ``scenarios`` (historical definitions on the paths)."""
    confidence = check_confidence(confidence)
    value = check_positive("portfolio_value", portfolio_value)
    var, cvar = tail_measures(scenarios.portfolio_returns, confidence)
    return VaRResult(
        method=f"mc_{scenarios.method}",
        confidence=confidence,
        horizon=scenarios.horizon,
        var=var,
        cvar=cvar,
        scaling="simulated",
        observations=scenarios.observations,
        var_amount=None if value is None else var * value,
        cvar_amount=None if value is None else cvar * value,
        details=dict(scenarios.details),
    )


def monte_carlo_var(
    returns: ReturnsLike,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    weights: WeightsLike | None = None,
    method: SimulationMethod = "normal",
    n_paths: int = 100_000,
    df: float | None = None,
    vol_filter: VolatilityFilter = "garch",
    ewma_lambda: float = 0.94,
    seed: SeedLike = None,
    portfolio_value: float | None = None,
) -> VaRResult:
    """Return Monte Carlo VaR and CVaR: :func:`simulate_scenarios` then :func:`scenario_var`.

    ``method`` in the result is ``"mc_<method>"``; ``details`` records the paths, the seed
    (when an int), ``df`` and whether it was fitted, or the volatility filter.

    Raises
    ------
    ValidationError
        As for :func:`simulate_scenarios`, or on a bad confidence or portfolio value.
    """
    confidence = check_confidence(confidence)
    check_positive("portfolio_value", portfolio_value)
    scenarios = simulate_scenarios(
        returns,
        horizon,
        weights=weights,
        method=method,
        n_paths=n_paths,
        df=df,
        vol_filter=vol_filter,
        ewma_lambda=ewma_lambda,
        seed=seed,
    )
    return scenario_var(scenarios, confidence, portfolio_value=portfolio_value)


def simulated_component_var(
    scenarios: Scenarios,
    confidence: float = 0.95,
    *,
    window: int | None = None,
    portfolio_value: float | None = None,
) -> ComponentVaR:
    """Return component VaR and CVaR estimated from Monte Carlo ``scenarios``.

    Component CVaR ``i`` is ``-w_i`` times the mean of asset ``i``'s return over the tail
    scenarios that define the CVaR, so the components add up to it exactly. Component VaR
    ``i`` is ``-w_i`` times the mean of asset ``i``'s return over the ``2 * window + 1``
    scenarios ranked around the VaR scenario, rescaled so that the components add up to the
    VaR (``window`` defaults to 0.1 % of the paths, at least 1). Marginals are the same
    averages before multiplying by the weight.

    Raises
    ------
    ValidationError
        If the scenarios were simulated without ``keep_assets=True``.
    """
    confidence = check_confidence(confidence)
    value = check_positive("portfolio_value", portfolio_value)
    if scenarios.asset_returns is None:
        raise _invalid(
            "scenarios", "no per-asset returns; simulate with keep_assets=True to decompose"
        )
    outcomes = scenarios.portfolio_returns
    count = outcomes.shape[0]
    var, cvar = tail_measures(outcomes, confidence)
    cutoff = int((count - 1) * (1.0 - confidence))
    order = np.argsort(outcomes, kind="stable")
    marginal_cvar = -scenarios.asset_returns[order[: cutoff + 1]].mean(axis=0)
    half = max(1, round(0.001 * count)) if window is None else check_positive_int("window", window)
    around = order[max(0, cutoff - half) : min(count, cutoff + half + 1)]
    local = -scenarios.asset_returns[around].mean(axis=0)
    local_total = float(scenarios.weights @ local)
    marginal_var = local * (var / local_total) if local_total != 0.0 else local
    return ComponentVaR(
        method=f"mc_{scenarios.method}",
        confidence=confidence,
        horizon=scenarios.horizon,
        symbols=scenarios.symbols,
        weights=scenarios.weights,
        var=var,
        cvar=cvar,
        marginal_var=marginal_var,
        component_var=scenarios.weights * marginal_var,
        marginal_cvar=marginal_cvar,
        component_cvar=scenarios.weights * marginal_cvar,
        portfolio_value=value,
        details={**scenarios.details, "window": int(half), "tail_scenarios": int(cutoff + 1)},
    )


# --- portfolio value paths ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TerminalStats:
    """Distribution of the value at the end of the horizon across paths."""

    mean: float
    median: float
    std: float
    minimum: float
    maximum: float
    probability_of_loss: float
    """Share of paths ending below the initial value plus all net cash flows."""


@dataclass(frozen=True, slots=True)
class ValueSimulation:
    """Summary of simulated portfolio value paths (steps ``0..periods``; step 0 = today).

    ``bands`` has one row per step and a column per percentile (``"p5"``, ``"p50"``, ...):
    fan-chart data. ``mean_path`` is the mean value per step. "Any time" probabilities check
    the value at every future period end ``1..periods`` (after that period's cash flow; not
    today's value, and not within a period): the goal is reached when a value is ``>= goal``,
    the floor is breached when a value is ``< floor``.
    """

    method: str
    periods: int
    n_paths: int
    initial_value: float
    cash_flows: FloatArray
    bands: pd.DataFrame
    mean_path: FloatArray
    terminal: TerminalStats
    goal: float | None
    probability_goal_at_end: float | None
    probability_goal_any_time: float | None
    floor: float | None
    probability_below_floor_any_time: float | None
    probability_depleted: float
    """Share of paths where a withdrawal exceeded the value (the value is then held at 0)."""
    details: Details = field(default_factory=dict)


def _cash_flow_schedule(
    periods: int,
    contribution: float,
    contribution_every: int,
    cash_flows: Mapping[int, float] | npt.ArrayLike | None,
) -> FloatArray:
    flows = np.zeros(periods)
    if not math.isfinite(contribution):
        raise _invalid("contribution", f"got {contribution!r}; give a finite amount")
    every = check_positive_int("contribution_every", contribution_every)
    flows[every - 1 :: every] += contribution
    if cash_flows is None:
        return flows
    if isinstance(cash_flows, Mapping):
        for period, amount in cash_flows.items():
            if not isinstance(period, int | np.integer) or not 1 <= period <= periods:
                raise _invalid("cash_flows", f"period {period!r} is not in 1..{periods}")
            if not math.isfinite(float(amount)):
                raise _invalid("cash_flows", f"period {period}: amount {amount!r} is not finite")
            flows[int(period) - 1] += float(amount)
        return flows
    schedule = np.asarray(cash_flows, dtype=np.float64).reshape(-1)
    if schedule.shape[0] != periods or not np.all(np.isfinite(schedule)):
        raise _invalid(
            "cash_flows", f"give {periods} finite amounts, one per period (got {schedule.shape})"
        )
    return flows + schedule


def simulate_portfolio_value(
    initial_value: float,
    periods: int,
    *,
    expected_return: float | None = None,
    volatility: float | None = None,
    historical_returns: npt.ArrayLike | pd.Series[float] | None = None,
    contribution: float = 0.0,
    contribution_every: int = 1,
    cash_flows: Mapping[int, float] | npt.ArrayLike | None = None,
    n_paths: int = 10_000,
    percentiles: Sequence[float] = (5, 25, 50, 75, 95),
    goal: float | None = None,
    floor: float | None = None,
    seed: SeedLike = None,
) -> ValueSimulation:
    """Simulate the value of a portfolio over ``periods`` periods with cash flows.

    Each period ``t = 1..periods`` the value grows by a random factor ``G_t`` and then the
    period's cash flow is added: ``V_t = max(V_{t-1} G_t + F_t, 0)``.

    - GBM (give ``expected_return`` and ``volatility``, both per period):
      ``G_t = exp(ln(1 + expected_return) - volatility²/2 + volatility Z_t)``, so
      ``E[G_t] = 1 + expected_return`` and without cash flows ``V_T`` is lognormal with
      quantiles ``V_0 exp(T (ln(1 + m) - s²/2) + s sqrt(T) Phi^-1(p))``.
    - Bootstrap (give ``historical_returns``, simple returns per period):
      ``G_t = 1 + r`` with ``r`` drawn uniformly with replacement from the history.

    Parameters
    ----------
    initial_value
        Value today (>= 0).
    periods
        Number of periods to simulate (the unit is the caller's: days, months, years).
    expected_return, volatility
        GBM parameters per period (expected simple return, volatility of log growth).
    historical_returns
        Portfolio returns per period to bootstrap instead of GBM (missing values dropped).
    contribution, contribution_every
        Amount added (negative: withdrawn) at the end of every ``contribution_every``-th
        period, e.g. ``+1000`` every period for monthly periods.
    cash_flows
        Extra scheduled flows: ``{period: amount}`` with periods in ``1..periods``, or one
        amount per period.
    n_paths
        Number of simulated paths (at least 100).
    percentiles
        Percentiles (0-100) of the fan-chart bands (linear interpolation).
    goal, floor
        Optional target and floor values for the goal/floor probabilities.
    seed
        Seed or generator for reproducible draws.

    Returns
    -------
    ValueSimulation

    Raises
    ------
    ValidationError
        On a missing or doubled growth model, a negative value, bad flows or percentiles.
    """
    if not math.isfinite(initial_value) or initial_value < 0:
        raise _invalid("initial_value", f"got {initial_value!r}; give a finite value >= 0")
    periods = check_positive_int("periods", periods)
    n_paths = check_positive_int("n_paths", n_paths, minimum=100)
    levels = np.asarray(percentiles, dtype=np.float64).reshape(-1)
    if levels.size == 0 or not np.all((levels >= 0) & (levels <= 100)):
        raise _invalid("percentiles", "give one or more percentiles between 0 and 100")
    for name, level in (("goal", goal), ("floor", floor)):
        if level is not None and not math.isfinite(level):
            raise _invalid(name, f"got {level!r}; give a finite value")
    flows = _cash_flow_schedule(periods, contribution, contribution_every, cash_flows)
    growth = _growth_model(expected_return, volatility, historical_returns)
    rng = np.random.default_rng(seed)
    values = np.full(n_paths, float(initial_value))
    bands = np.empty((periods + 1, levels.size))
    mean_path = np.empty(periods + 1)
    bands[0], mean_path[0] = float(initial_value), float(initial_value)
    highest = np.full(n_paths, -np.inf)
    lowest = np.full(n_paths, np.inf)
    depleted = np.zeros(n_paths, dtype=bool)
    for step in range(1, periods + 1):
        values *= growth(rng, n_paths)
        values += flows[step - 1]
        short = values < 0.0
        depleted |= short
        values[short] = 0.0
        bands[step] = np.percentile(values, levels)
        mean_path[step] = values.mean()
        np.maximum(highest, values, out=highest)
        np.minimum(lowest, values, out=lowest)
    net_invested = float(initial_value + flows.sum())
    terminal = TerminalStats(
        mean=float(values.mean()),
        median=float(np.median(values)),
        std=float(values.std(ddof=1)),
        minimum=float(values.min()),
        maximum=float(values.max()),
        probability_of_loss=float((values < net_invested).mean()),
    )
    frame = pd.DataFrame(
        bands,
        index=pd.RangeIndex(periods + 1, name="period"),
        columns=[f"p{level:g}" for level in levels],
    )
    details: dict[str, float | int | str] = {"net_invested": net_invested}
    if isinstance(seed, int | np.integer):
        details["seed"] = int(seed)
    return ValueSimulation(
        method="gbm" if historical_returns is None else "bootstrap",
        periods=periods,
        n_paths=n_paths,
        initial_value=float(initial_value),
        cash_flows=flows,
        bands=frame,
        mean_path=mean_path,
        terminal=terminal,
        goal=goal,
        probability_goal_at_end=None if goal is None else float((values >= goal).mean()),
        probability_goal_any_time=None if goal is None else float((highest >= goal).mean()),
        floor=floor,
        probability_below_floor_any_time=None if floor is None else float((lowest < floor).mean()),
        probability_depleted=float(depleted.mean()),
        details=details,
    )


def _growth_model(
    expected_return: float | None,
    volatility: float | None,
    historical_returns: npt.ArrayLike | pd.Series[float] | None,
) -> Callable[[np.random.Generator, int], FloatArray]:
    gbm = expected_return is not None or volatility is not None
    if gbm == (historical_returns is not None):
        raise _invalid(
            "growth model",
            "give either expected_return and volatility (GBM) or historical_returns "
            "(bootstrap), not both and not neither",
        )
    if historical_returns is not None:
        history = np.asarray(historical_returns, dtype=np.float64).reshape(-1)
        history = history[~np.isnan(history)]
        if history.size == 0 or not np.all(np.isfinite(history)) or (history <= -1).any():
            raise _invalid(
                "historical_returns", "give finite simple returns above -100 % (NaN dropped)"
            )
        factors = 1.0 + history

        def bootstrap(rng: np.random.Generator, size: int) -> FloatArray:
            return factors[rng.integers(0, factors.size, size)]

        return bootstrap
    if expected_return is None or volatility is None:
        raise _invalid("growth model", "GBM needs both expected_return and volatility")
    if not math.isfinite(expected_return) or expected_return <= -1:
        raise _invalid("expected_return", f"got {expected_return!r}; give a return above -1")
    if not math.isfinite(volatility) or volatility < 0:
        raise _invalid("volatility", f"got {volatility!r}; give a finite volatility >= 0")
    drift = math.log1p(expected_return) - volatility**2 / 2.0
    sigma = float(volatility)

    def lognormal(rng: np.random.Generator, size: int) -> FloatArray:
        shocks = rng.standard_normal(size)
        shocks *= sigma
        shocks += drift
        return np.exp(shocks, out=shocks)

    return lognormal
