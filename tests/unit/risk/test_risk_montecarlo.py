"""Monte Carlo VaR engines and portfolio value simulation against closed forms and arch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantdesk.core.errors import ValidationError
from quantdesk.risk.montecarlo import (
    fit_student_t_df,
    monte_carlo_var,
    simulate_portfolio_value,
    simulate_scenarios,
    simulated_component_var,
)
from quantdesk.risk.var import component_var, historical_var, parametric_var


@pytest.fixture(scope="module")
def index_returns() -> pd.Series:
    """Daily returns of the real S&P 500 index, 1999-2018 (arch's bundled data)."""
    import arch.data.sp500

    return arch.data.sp500.load()["Adj Close"].pct_change().dropna()


@pytest.fixture(scope="module")
def stock_returns() -> pd.DataFrame:
    """Daily returns of 6 real S&P 500 stocks, 2010-2022 (skfolio's bundled prices)."""
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset().loc["2010":, ["AAPL", "JPM", "KO", "XOM", "PFE", "HD"]]
    return prices.pct_change().iloc[1:]


def _quantile_error(alpha: float, paths: int, density: float) -> float:
    # Standard error of an empirical quantile: sqrt(alpha (1 - alpha) / n) / f(q).
    return math.sqrt(alpha * (1 - alpha) / paths) / density


# --- Monte Carlo VaR ------------------------------------------------------------------------


def test_normal_mc_converges_to_parametric(index_returns: pd.Series) -> None:
    paths = 400_000
    reference = parametric_var(index_returns, 0.99)
    result = monte_carlo_var(index_returns, 0.99, n_paths=paths, method="normal", seed=7)
    sd = index_returns.std()
    error = _quantile_error(0.01, paths, stats.norm.pdf(stats.norm.ppf(0.01)) / sd)
    assert abs(result.var - reference.var) < 4 * error
    assert result.cvar == pytest.approx(reference.cvar, rel=0.02)
    assert (result.method, result.scaling, result.details["seed"]) == ("mc_normal", "simulated", 7)


def test_normal_mc_portfolio_converges_to_parametric(stock_returns: pd.DataFrame) -> None:
    weights = {"AAPL": 0.3, "JPM": 0.2, "KO": 0.2, "XOM": 0.1, "PFE": 0.1, "HD": 0.1}
    reference = parametric_var(stock_returns, 0.95, weights=weights)
    result = monte_carlo_var(stock_returns, 0.95, weights=weights, n_paths=200_000, seed=3)
    sd = reference.details["volatility"]
    assert isinstance(sd, float)
    error = _quantile_error(0.05, 200_000, stats.norm.pdf(stats.norm.ppf(0.05)) / sd)
    assert abs(result.var - reference.var) < 4 * error


def test_normal_mc_over_ten_days_matches_a_naive_simulation(index_returns: pd.Series) -> None:
    # A direct numpy simulation of 10 compounded normal days (independent draws).
    mu, sd = index_returns.mean(), index_returns.std()
    naive = np.prod(1 + np.random.default_rng(99).normal(mu, sd, (200_000, 10)), axis=1) - 1
    expected = -np.percentile(naive, 1)
    result = monte_carlo_var(index_returns, 0.99, 10, n_paths=200_000, seed=2)
    assert result.var == pytest.approx(expected, rel=0.015)
    # Compounding thins the left tail a little against the i.i.d. sum's sqrt(10) scaling.
    assert result.var < parametric_var(index_returns, 0.99, 10).var


def test_student_t_with_given_df_matches_scipy_t(index_returns: pd.Series) -> None:
    # One period: mu + sd * sqrt((df - 2) / df) * t_df^-1(alpha), the covariance-matched t.
    df, paths = 4.0, 400_000
    mu, sd = index_returns.mean(), index_returns.std()
    scale = sd * math.sqrt((df - 2) / df)
    expected = -(mu + scale * stats.t.ppf(0.01, df))
    result = monte_carlo_var(index_returns, 0.99, method="student_t", df=df, n_paths=paths, seed=11)
    density = stats.t.pdf(stats.t.ppf(0.01, df), df) / scale
    assert abs(result.var - expected) < 4 * _quantile_error(0.01, paths, density)
    assert result.details["df_source"] == "given"


def test_fitted_df_recovers_synthetic_t() -> None:
    # SYNTHETIC: 8,000 days of a 2-asset Student-t with 5 degrees of freedom.
    rng = np.random.default_rng(21)
    shape = np.array([[1.0, 0.4], [0.4, 2.0]]) * 1e-4
    sample = stats.multivariate_t(loc=[0.0, 0.0], shape=shape, df=5).rvs(8_000, random_state=rng)
    fitted = fit_student_t_df(sample)
    assert 4.0 < fitted < 6.5
    # It maximises scipy's multivariate-t likelihood with the covariance held fixed.
    cov, mean = np.cov(sample, rowvar=False), sample.mean(axis=0)

    def loglik(df: float) -> float:
        return float(
            stats.multivariate_t(loc=mean, shape=cov * (df - 2) / df, df=df).logpdf(sample).sum()
        )

    assert loglik(fitted) >= max(loglik(fitted - 0.3), loglik(fitted + 0.3))


def test_bootstrap_converges_to_historical(index_returns: pd.Series) -> None:
    reference = historical_var(index_returns, 0.95)
    result = monte_carlo_var(index_returns, 0.95, method="bootstrap", n_paths=200_000, seed=5)
    assert result.var == pytest.approx(reference.var, rel=0.02)
    assert result.cvar == pytest.approx(reference.cvar, rel=0.02)


def test_filtered_garch_matches_arch_forecast(index_returns: pd.Series) -> None:
    from arch import arch_model

    history = index_returns.iloc[-1500:]
    fit = arch_model(100 * history, mean="Constant", vol="GARCH", p=1, q=1).fit(disp="off")
    sigma = math.sqrt(fit.forecast(horizon=1).variance.iloc[-1, 0]) / 100
    mu = fit.params["mu"] / 100
    # One day of FHS: mu + next-day vol x an empirical quantile of the standardised residuals.
    expected = -(mu + sigma * np.percentile(fit.std_resid.dropna(), 1))
    result = monte_carlo_var(history, 0.99, method="filtered", n_paths=200_000, seed=4)
    assert result.var == pytest.approx(expected, rel=0.03)
    assert result.details["vol_filter"] == "garch"


def test_filtered_ewma_rescales_by_the_forecast() -> None:
    # SYNTHETIC: calm returns, then a volatile last month; EWMA (lambda 0.94) remembers it.
    rng = np.random.default_rng(8)
    returns = np.concatenate([rng.normal(0, 0.005, 1_000), rng.normal(0, 0.03, 20)])
    errors = returns - returns.mean()
    variance = np.empty_like(errors)
    variance[0] = (errors**2).mean()
    for t in range(1, errors.size):
        variance[t] = 0.94 * variance[t - 1] + 0.06 * errors[t - 1] ** 2
    forecast = 0.94 * variance[-1] + 0.06 * errors[-1] ** 2
    standardised = errors / np.sqrt(variance)
    expected = -(returns.mean() + math.sqrt(forecast) * np.percentile(standardised, 1))
    result = monte_carlo_var(
        returns, 0.99, method="filtered", vol_filter="ewma", n_paths=200_000, seed=9
    )
    assert result.var == pytest.approx(expected, rel=0.03)
    # Far above an unfiltered bootstrap, which mostly replays the calm days.
    calm = monte_carlo_var(returns, 0.99, method="bootstrap", n_paths=20_000, seed=9)
    assert result.var > 2 * calm.var


def test_seeded_runs_are_reproducible(stock_returns: pd.DataFrame) -> None:
    weights = np.full(6, 1 / 6)
    first = simulate_scenarios(stock_returns, 5, weights=weights, n_paths=20_000, seed=42)
    again = simulate_scenarios(
        stock_returns, 5, weights=weights, n_paths=20_000, seed=42, workers=1
    )
    np.testing.assert_array_equal(first.portfolio_returns, again.portfolio_returns)
    from_generator = simulate_scenarios(
        stock_returns, 5, weights=weights, n_paths=1_000, seed=np.random.default_rng(1)
    )
    same_generator = simulate_scenarios(
        stock_returns, 5, weights=weights, n_paths=1_000, seed=np.random.default_rng(1)
    )
    np.testing.assert_array_equal(
        from_generator.portfolio_returns, same_generator.portfolio_returns
    )
    other = simulate_scenarios(stock_returns, 5, weights=weights, n_paths=20_000, seed=43)
    assert not np.array_equal(first.portfolio_returns, other.portfolio_returns)


def test_scenarios_compound_each_asset(stock_returns: pd.DataFrame) -> None:
    weights = np.array([0.5, 0.5, 0, 0, 0, 0])
    scenarios = simulate_scenarios(
        stock_returns, 3, weights=weights, method="bootstrap", n_paths=500, seed=1,
        keep_assets=True,
    )  # fmt: skip
    assert scenarios.asset_returns is not None
    np.testing.assert_allclose(
        scenarios.portfolio_returns, scenarios.asset_returns @ weights, atol=1e-15
    )
    # A 3-day bootstrap path is the product of three historical days, never below -100 %.
    assert scenarios.asset_returns.min() > -1


# --- simulated component VaR ----------------------------------------------------------------


def test_simulated_components_add_up_and_track_euler(stock_returns: pd.DataFrame) -> None:
    weights = {"AAPL": 0.3, "JPM": 0.2, "KO": 0.2, "XOM": 0.1, "PFE": 0.1, "HD": 0.1}
    scenarios = simulate_scenarios(
        stock_returns, weights=weights, n_paths=200_000, seed=12, keep_assets=True
    )
    parts = simulated_component_var(scenarios, 0.95, portfolio_value=1e6)
    assert parts.component_cvar.sum() == pytest.approx(parts.cvar, abs=1e-12)
    assert parts.component_var.sum() == pytest.approx(parts.var, abs=1e-12)
    euler = component_var(stock_returns, weights, 0.95)
    np.testing.assert_allclose(parts.component_var, euler.component_var, atol=1.5e-3)
    np.testing.assert_allclose(parts.component_cvar, euler.component_cvar, atol=1.5e-3)
    assert parts.to_frame()["component_cvar_amount"].sum() == pytest.approx(parts.cvar * 1e6)


def test_simulated_components_need_asset_paths(index_returns: pd.Series) -> None:
    scenarios = simulate_scenarios(index_returns, n_paths=1_000, seed=1)
    with pytest.raises(ValidationError, match="keep_assets"):
        simulated_component_var(scenarios)


@pytest.mark.parametrize(
    ("options", "location"),
    [
        ({"method": "garch"}, "method"),
        ({"method": "student_t", "df": 2.0}, "df"),
        ({"method": "filtered", "vol_filter": "ewma", "ewma_lambda": 1.5}, "ewma_lambda"),
        ({"method": "filtered", "vol_filter": "har"}, "vol_filter"),
        ({"n_paths": 10}, "n_paths"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_simulation_options(
    index_returns: pd.Series, options: dict[str, object], location: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        simulate_scenarios(index_returns.iloc[:300], **options)  # type: ignore[arg-type]
    assert caught.value.issues[0].location == location


# --- portfolio value paths ------------------------------------------------------------------


def test_gbm_terminal_quantiles_match_lognormal() -> None:
    initial, m, s, periods, paths = 100_000.0, 0.006, 0.045, 24, 200_000
    result = simulate_portfolio_value(
        initial, periods, expected_return=m, volatility=s, n_paths=paths, seed=3,
        percentiles=(5, 25, 50, 75, 95), goal=120_000,
    )  # fmt: skip
    drift = periods * (math.log(1 + m) - s**2 / 2)
    spread = s * math.sqrt(periods)
    for level in (5, 25, 50, 75, 95):
        z = stats.norm.ppf(level / 100)
        expected = initial * math.exp(drift + spread * z)
        assert result.bands.loc[periods, f"p{level}"] == pytest.approx(expected, rel=0.01)
    assert result.terminal.mean == pytest.approx(initial * (1 + m) ** periods, rel=0.005)
    reach = 1 - stats.norm.cdf((math.log(120_000 / initial) - drift) / spread)
    assert result.probability_goal_at_end == pytest.approx(reach, abs=0.005)
    assert result.probability_goal_any_time is not None
    assert result.probability_goal_any_time >= result.probability_goal_at_end
    assert list(result.bands.index) == list(range(periods + 1))
    assert (result.bands.loc[0] == initial).all()


def test_zero_volatility_with_monthly_contributions_is_hand_computed() -> None:
    # 1 % a month, +1,000 at each month end:
    # 10,000 * 1.01 + 1,000 = 11,100; 11,100 * 1.01 + 1,000 = 12,211;
    # 12,211 * 1.01 + 1,000 = 13,333.11
    result = simulate_portfolio_value(
        10_000, 3, expected_return=0.01, volatility=0.0, contribution=1_000, n_paths=100,
        seed=1, goal=13_000, floor=9_000,
    )  # fmt: skip
    np.testing.assert_allclose(result.bands["p50"], [10_000, 11_100, 12_211, 13_333.11])
    assert result.terminal.median == pytest.approx(13_333.11)
    assert result.terminal.probability_of_loss == 0.0  # 13,333.11 >= 10,000 + 3,000 put in
    assert result.probability_goal_at_end == 1.0
    assert result.probability_below_floor_any_time == 0.0
    assert result.details["net_invested"] == 13_000


def test_schedule_withdrawals_and_goal_any_time() -> None:
    # No growth. Flows: +50 at period 1, -60 at period 2: 100 -> 150 -> 90.
    # Goal 120 is reached at period 1 but not at the end; floor 95 is breached at period 2.
    result = simulate_portfolio_value(
        100, 2, expected_return=0.0, volatility=0.0, cash_flows={1: 50, 2: -60}, n_paths=100,
        goal=120, floor=95,
    )  # fmt: skip
    np.testing.assert_allclose(result.mean_path, [100, 150, 90])
    assert result.probability_goal_any_time == 1.0
    assert result.probability_goal_at_end == 0.0
    assert result.probability_below_floor_any_time == 1.0
    assert result.probability_depleted == 0.0


def test_withdrawals_deplete_and_hold_at_zero() -> None:
    # 1,000 with -400 every period and no growth: 600, 200, then -200 -> held at 0.
    result = simulate_portfolio_value(
        1_000, 4, expected_return=0.0, volatility=0.0, contribution=-400, n_paths=100
    )
    np.testing.assert_allclose(result.mean_path, [1_000, 600, 200, 0, 0])
    assert result.probability_depleted == 1.0


def test_contribution_every_second_period_and_array_schedule() -> None:
    # +100 at the end of periods 2 and 4, plus an array flow of +1 each period, no growth.
    result = simulate_portfolio_value(
        0, 4, expected_return=0.0, volatility=0.0, contribution=100, contribution_every=2,
        cash_flows=[1, 1, 1, 1], n_paths=100,
    )  # fmt: skip
    np.testing.assert_allclose(result.mean_path, [0, 1, 102, 103, 204])
    np.testing.assert_allclose(result.cash_flows, [1, 101, 1, 101])


def test_bootstrap_value_paths(index_returns: pd.Series) -> None:
    # A constant 1 % history grows deterministically: 1,000 * 1.01^3 = 1,030.301.
    flat = simulate_portfolio_value(1_000, 3, historical_returns=[0.01] * 10, n_paths=100)
    assert flat.terminal.minimum == pytest.approx(1_030.301)
    assert flat.method == "bootstrap"
    # Real daily returns over 21 days: the mean grows like (1 + mean daily return)^21.
    real = simulate_portfolio_value(
        1_000, 21, historical_returns=index_returns, n_paths=100_000, seed=6
    )
    assert real.terminal.mean == pytest.approx(1_000 * (1 + index_returns.mean()) ** 21, rel=0.003)


@pytest.mark.parametrize(
    ("options", "location"),
    [
        ({}, "growth model"),
        (
            {"expected_return": 0.01, "volatility": 0.1, "historical_returns": [0.01]},
            "growth model",
        ),
        ({"expected_return": 0.01}, "growth model"),
        ({"expected_return": 0.01, "volatility": -0.1}, "volatility"),
        ({"expected_return": 0.01, "volatility": 0.1, "cash_flows": {13: 5.0}}, "cash_flows"),
        ({"expected_return": 0.01, "volatility": 0.1, "cash_flows": [1.0]}, "cash_flows"),
        ({"expected_return": 0.01, "volatility": 0.1, "percentiles": (5, 150)}, "percentiles"),
        ({"historical_returns": [0.01, -1.2]}, "historical_returns"),
    ],
)
def test_bad_value_simulation_input(options: dict[str, object], location: str) -> None:
    with pytest.raises(ValidationError) as caught:
        simulate_portfolio_value(1_000, 12, **options)  # type: ignore[arg-type]
    assert caught.value.issues[0].location == location
