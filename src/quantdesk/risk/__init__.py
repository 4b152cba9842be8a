"""Risk: return metrics (full-sample and rolling) and covariance estimators.

:func:`metrics_frame` computes every metric of many return series at once, :func:`summary`
returns them for one series, :func:`rolling` (:mod:`~quantdesk.risk.rolling`) over a sliding
window; the single-metric functions (:func:`sharpe`, :func:`max_drawdown`, ...) accept one
series or many. Covariance estimators (sample, EWMA, Ledoit-Wolf) live in
:mod:`quantdesk.risk.covariance`; VaR/CVaR in :mod:`~quantdesk.risk.var` and
:mod:`~quantdesk.risk.montecarlo` (which also simulates future portfolio value), stress tests in
:mod:`~quantdesk.risk.stress` and position sizing in :mod:`~quantdesk.risk.sizing`.
:mod:`quantdesk.risk.service` runs them on stored history.
"""

from __future__ import annotations

# --- metrics and covariance ---------------------------------------------------------------
from quantdesk.risk.covariance import (
    correlation_from_covariance,
    ewma_covariance,
    ledoit_wolf,
    ledoit_wolf_shrinkage,
    sample_covariance,
)
from quantdesk.risk.metrics import (
    BENCHMARK_METRICS,
    METRICS,
    DrawdownSpell,
    RiskMetrics,
    alpha,
    annual_return,
    beta,
    cagr,
    calmar,
    downside_deviation,
    information_ratio,
    kurtosis,
    longest_drawdown,
    max_drawdown,
    max_drawdown_duration,
    metrics_frame,
    omega,
    sharpe,
    skew,
    sortino,
    summary,
    tail_ratio,
    tracking_error,
    ulcer_index,
    volatility,
)

# --- VaR, Monte Carlo, stress tests and position sizing ----------------------------------
from quantdesk.risk.montecarlo import (
    Scenarios,
    TerminalStats,
    ValueSimulation,
    fit_student_t_df,
    monte_carlo_var,
    scenario_var,
    simulate_portfolio_value,
    simulate_scenarios,
    simulated_component_var,
)
from quantdesk.risk.rolling import ROLLING_METRICS, rolling
from quantdesk.risk.sizing import (
    PositionSize,
    RiskParityResult,
    VolatilityTarget,
    atr_stop_size,
    fixed_fractional_size,
    kelly_fraction,
    kelly_from_moments,
    kelly_from_returns,
    risk_contributions,
    risk_parity_weights,
    volatility_target,
)
from quantdesk.risk.stress import (
    HISTORICAL_SCENARIOS,
    HistoricalScenario,
    Position,
    PositionStress,
    StressResult,
    historical_stress,
    run_historical_stress,
    shock_stress,
)
from quantdesk.risk.var import (
    ComponentVaR,
    VaRResult,
    component_var,
    cornish_fisher_var,
    historical_var,
    parametric_var,
    value_at_risk,
)

__all__ = [
    "BENCHMARK_METRICS",
    "HISTORICAL_SCENARIOS",
    "METRICS",
    "ROLLING_METRICS",
    "ComponentVaR",
    "DrawdownSpell",
    "HistoricalScenario",
    "Position",
    "PositionSize",
    "PositionStress",
    "RiskMetrics",
    "RiskParityResult",
    "Scenarios",
    "StressResult",
    "TerminalStats",
    "VaRResult",
    "ValueSimulation",
    "VolatilityTarget",
    "alpha",
    "annual_return",
    "atr_stop_size",
    "beta",
    "cagr",
    "calmar",
    "component_var",
    "cornish_fisher_var",
    "correlation_from_covariance",
    "downside_deviation",
    "ewma_covariance",
    "fit_student_t_df",
    "fixed_fractional_size",
    "historical_stress",
    "historical_var",
    "information_ratio",
    "kelly_fraction",
    "kelly_from_moments",
    "kelly_from_returns",
    "kurtosis",
    "ledoit_wolf",
    "ledoit_wolf_shrinkage",
    "longest_drawdown",
    "max_drawdown",
    "max_drawdown_duration",
    "metrics_frame",
    "monte_carlo_var",
    "omega",
    "parametric_var",
    "risk_contributions",
    "risk_parity_weights",
    "rolling",
    "run_historical_stress",
    "sample_covariance",
    "scenario_var",
    "sharpe",
    "shock_stress",
    "simulate_portfolio_value",
    "simulate_scenarios",
    "simulated_component_var",
    "skew",
    "sortino",
    "summary",
    "tail_ratio",
    "tracking_error",
    "ulcer_index",
    "value_at_risk",
    "volatility",
    "volatility_target",
]
