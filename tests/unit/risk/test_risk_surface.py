"""The public surface of ``quantdesk.risk``, and ``rolling`` where it has always been."""

from __future__ import annotations

import quantdesk.risk as risk
from quantdesk.risk import metrics
from quantdesk.risk.rolling import ROLLING_METRICS, rolling

EXPECTED = [
    "BENCHMARK_METRICS",
    "ComponentVaR",
    "DrawdownSpell",
    "HISTORICAL_SCENARIOS",
    "HistoricalScenario",
    "METRICS",
    "Position",
    "PositionSize",
    "PositionStress",
    "ROLLING_METRICS",
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


def test_public_surface_is_pinned() -> None:
    assert sorted(risk.__all__) == EXPECTED
    assert len(set(risk.__all__)) == len(risk.__all__)
    for name in risk.__all__:
        assert getattr(risk, name) is not None, name


def test_rolling_is_one_function_wherever_it_is_imported_from() -> None:
    assert risk.rolling is rolling
    assert metrics.rolling is rolling
    assert metrics.ROLLING_METRICS is ROLLING_METRICS is risk.ROLLING_METRICS
    assert "rolling" in metrics.__all__
    for name in metrics.__all__:
        assert getattr(metrics, name) is not None, name
