"""Portfolio optimisation against PyPortfolioOpt, scipy and hand-worked cases.

Reference data: ``skfolio.datasets.load_sp500_dataset()`` (20 S&P 500 stocks, daily adjusted
closes 1990-2022). PyPortfolioOpt gets the mean and covariance from its own estimators
(``mean_historical_return(compounding=False)`` and ``sample_cov``, both x252), quantdesk the
returns frame, so the annualisation is checked too.

Weight tolerance 1e-4 absolute: quantdesk solves second-order cone programmes with Clarabel
(interior point, duality gap 1e-9) while PyPortfolioOpt solves quadratic programmes with
OSQP (first-order ADMM, default eps 1e-5 with polishing); the observed gaps are <= 5e-5.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models
from scipy.optimize import linprog
from skfolio.datasets import load_sp500_dataset

from quantdesk.core.errors import ValidationError
from quantdesk.portfolio.optimize import (
    OptimizationResult,
    PortfolioConstraints,
    optimize_portfolio,
)

WEIGHT_TOL = 1e-4
SECTORS = {
    "AAPL": "Technology",
    "AMD": "Technology",
    "MSFT": "Technology",
    "BAC": "Financials",
    "JPM": "Financials",
    "CVX": "Energy",
    "XOM": "Energy",
    "RRC": "Energy",
    "JNJ": "Health",
    "LLY": "Health",
    "MRK": "Health",
    "PFE": "Health",
    "UNH": "Health",
}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sp500_dataset()


@pytest.fixture(scope="module")
def returns(prices: pd.DataFrame) -> pd.DataFrame:
    return prices.pct_change().dropna()


@pytest.fixture(scope="module")
def moments(prices: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    mu = expected_returns.mean_historical_return(prices, compounding=False, frequency=252)
    cov = risk_models.sample_cov(prices, frequency=252)
    return mu, cov


def _frontier(
    moments: tuple[pd.Series, pd.DataFrame], bounds: tuple[float, float] = (0.0, 1.0)
) -> EfficientFrontier:
    mu, cov = moments
    return EfficientFrontier(mu, cov, weight_bounds=bounds)


def _weights(frontier: EfficientFrontier, index: pd.Index) -> pd.Series:
    return pd.Series(frontier.weights, index=index)


def _check_against(result: OptimizationResult, frontier: EfficientFrontier, rf: float) -> None:
    expected = _weights(frontier, result.weights.index)
    assert np.abs(result.weights - expected).max() <= WEIGHT_TOL
    ret, vol, sharpe = frontier.portfolio_performance(risk_free_rate=rf)
    assert result.expected_return == pytest.approx(ret, abs=1e-4)
    assert result.volatility == pytest.approx(vol, abs=1e-4)
    assert result.sharpe_ratio == pytest.approx(sharpe, abs=1e-3)
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-8)


# --------------------------------------------------------------------------- PyPortfolioOpt


CASES: list[tuple[str, dict[str, float], Callable[[EfficientFrontier], Any]]] = [
    ("min_variance", {}, lambda ef: ef.min_volatility()),
    ("max_sharpe", {"risk_free_rate": 0.02}, lambda ef: ef.max_sharpe(risk_free_rate=0.02)),
    ("target_return", {"target_return": 0.2}, lambda ef: ef.efficient_return(0.2)),
    ("target_risk", {"target_volatility": 0.22}, lambda ef: ef.efficient_risk(0.22)),
]


@pytest.mark.parametrize("bounds", [(0.0, 1.0), (0.02, 0.15)], ids=["long-only", "bounded"])
@pytest.mark.parametrize(("method", "kwargs", "solve"), CASES, ids=[c[0] for c in CASES])
def test_matches_pypfopt(
    returns: pd.DataFrame,
    moments: tuple[pd.Series, pd.DataFrame],
    method: str,
    kwargs: dict[str, float],
    solve: Callable[[EfficientFrontier], Any],
    bounds: tuple[float, float],
) -> None:
    frontier = _frontier(moments, bounds)
    solve(frontier)
    result = optimize_portfolio(
        returns,
        method=method,  # type: ignore[arg-type]
        constraints=PortfolioConstraints(weight_bounds=bounds),
        **kwargs,
    )
    assert result.solver_status == "optimal"
    assert result.method == method
    assert result.periods_per_year == 252
    assert (result.weights >= bounds[0]).all()
    assert (result.weights <= bounds[1]).all()
    _check_against(result, frontier, kwargs.get("risk_free_rate", 0.0))


def test_targets_bind(returns: pd.DataFrame) -> None:
    on_return = optimize_portfolio(returns, method="target_return", target_return=0.2)
    on_risk = optimize_portfolio(returns, method="target_risk", target_volatility=0.22)
    assert on_return.expected_return == pytest.approx(0.2, abs=1e-7)
    assert on_risk.volatility == pytest.approx(0.22, abs=1e-7)


def test_expected_returns_and_covariance_input(moments: tuple[pd.Series, pd.DataFrame]) -> None:
    mu, cov = moments
    frontier = _frontier(moments)
    frontier.max_sharpe(risk_free_rate=0.03)
    # Shuffled symbol order on input: results come back in expected_returns' order.
    shuffled = list(reversed(cov.columns))
    result = optimize_portfolio(
        expected_returns=mu,
        covariance=cov.loc[shuffled, shuffled],
        method="max_sharpe",
        risk_free_rate=0.03,
    )
    assert list(result.weights.index) == list(mu.index)
    _check_against(result, frontier, 0.03)


def test_long_short_min_variance_matches_pypfopt(
    returns: pd.DataFrame, moments: tuple[pd.Series, pd.DataFrame]
) -> None:
    frontier = _frontier(moments, (-1.0, 1.0))
    frontier.min_volatility()
    result = optimize_portfolio(
        returns, method="min_variance", constraints=PortfolioConstraints(long_only=False)
    )
    assert (result.weights < -0.01).any()  # shorts are used
    _check_against(result, frontier, 0.0)


def test_gross_exposure_matches_pypfopt_custom_constraint(
    returns: pd.DataFrame, moments: tuple[pd.Series, pd.DataFrame]
) -> None:
    frontier = _frontier(moments, (-1.0, 1.0))
    frontier.add_constraint(lambda w: cp.norm1(w) <= 1.1)
    frontier.min_volatility()
    result = optimize_portfolio(
        returns,
        method="min_variance",
        constraints=PortfolioConstraints(long_only=False, max_gross_exposure=1.1),
    )
    assert result.weights.abs().sum() == pytest.approx(1.1, abs=1e-6)
    _check_against(result, frontier, 0.0)


def test_gross_exposure_max_sharpe_130_30(returns: pd.DataFrame) -> None:
    constraints = PortfolioConstraints(long_only=False, max_gross_exposure=1.6)
    result = optimize_portfolio(returns, method="max_sharpe", constraints=constraints)
    # 130/30: longs sum to at most 1.3, shorts to at most 0.3, net 1.0.
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-7)
    assert result.weights.abs().sum() <= 1.6 + 1e-6
    assert -result.weights[result.weights < 0].sum() <= 0.3 + 1e-6
    long_only = optimize_portfolio(returns, method="max_sharpe")
    assert result.sharpe_ratio >= long_only.sharpe_ratio - 1e-9


def test_sector_limits_match_pypfopt(
    returns: pd.DataFrame, moments: tuple[pd.Series, pd.DataFrame]
) -> None:
    limits = {"Technology": (None, 0.05), "Health": (0.3, 0.4), "Energy": (0.1, None)}
    frontier = _frontier(moments)
    frontier.add_sector_constraints(
        SECTORS,
        sector_lower={"Health": 0.3, "Energy": 0.1},
        sector_upper={"Technology": 0.05, "Health": 0.4},
    )
    frontier.min_volatility()
    result = optimize_portfolio(
        returns,
        method="min_variance",
        constraints=PortfolioConstraints(sectors=SECTORS, sector_limits=limits),
    )
    _check_against(result, frontier, 0.0)
    by_sector = result.weights.groupby(pd.Series(SECTORS)).sum()
    assert by_sector["Technology"] <= 0.05 + 1e-7
    assert 0.3 - 1e-7 <= by_sector["Health"] <= 0.4 + 1e-7
    assert by_sector["Energy"] >= 0.1 - 1e-7
    unconstrained = optimize_portfolio(returns, method="min_variance")
    # The limits bind: without them Health holds less than 30%.
    assert unconstrained.weights[[s for s, v in SECTORS.items() if v == "Health"]].sum() < 0.3


def test_sector_limits_hold_for_max_sharpe(returns: pd.DataFrame) -> None:
    limits = {"Technology": (0.1, 0.2), "Energy": (None, 0.05)}
    result = optimize_portfolio(
        returns,
        method="max_sharpe",
        constraints=PortfolioConstraints(sectors=SECTORS, sector_limits=limits),
    )
    by_sector = result.weights.groupby(pd.Series(SECTORS)).sum()
    assert 0.1 - 1e-7 <= by_sector["Technology"] <= 0.2 + 1e-7
    assert by_sector["Energy"] <= 0.05 + 1e-7


def test_turnover_limit_matches_pypfopt_custom_constraint(
    returns: pd.DataFrame, moments: tuple[pd.Series, pd.DataFrame]
) -> None:
    current = pd.Series(1 / 20, index=returns.columns)
    frontier = _frontier(moments)
    frontier.add_constraint(lambda w: cp.norm1(w - current.to_numpy()) <= 0.4)
    frontier.min_volatility()
    result = optimize_portfolio(
        returns,
        method="min_variance",
        constraints=PortfolioConstraints(current_weights=current.to_dict(), max_turnover=0.4),
    )
    _check_against(result, frontier, 0.0)
    assert result.turnover == pytest.approx(np.abs(result.weights - current).sum())
    assert result.turnover == pytest.approx(0.4, abs=1e-6)  # binding


@pytest.mark.parametrize("method", ["max_sharpe", "risk_parity", "min_cvar"])
def test_turnover_limit_holds(returns: pd.DataFrame, method: str) -> None:
    recent = returns.iloc[-750:]
    current = {"AAPL": 0.5, "XOM": 0.3, "KO": 0.2}
    result = optimize_portfolio(
        recent,
        method=method,  # type: ignore[arg-type]
        constraints=PortfolioConstraints(current_weights=current, max_turnover=0.5),
    )
    moved = np.abs(result.weights - pd.Series(current).reindex(recent.columns, fill_value=0.0))
    assert moved.sum() <= 0.5 + 1e-6
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-7)


# --------------------------------------------------------------------------- risk parity / HRP


def _risk_contributions(weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    marginal = cov @ weights
    return weights * marginal / (weights @ marginal)


def test_risk_parity_equal_contributions(returns: pd.DataFrame) -> None:
    result = optimize_portfolio(returns, method="risk_parity")
    contributions = _risk_contributions(result.weights.to_numpy(), returns.cov().to_numpy())
    assert np.abs(contributions - 1 / 20).max() <= 1e-6
    assert (result.weights > 0).all()


def test_risk_parity_budgets(returns: pd.DataFrame) -> None:
    budgets = dict.fromkeys(returns.columns, 1.0) | {"AAPL": 3.0, "KO": 2.0}
    result = optimize_portfolio(returns, method="risk_parity", risk_budgets=budgets)
    contributions = _risk_contributions(result.weights.to_numpy(), returns.cov().to_numpy())
    target = np.array([budgets[s] for s in returns.columns]) / sum(budgets.values())
    assert np.abs(contributions - target).max() <= 1e-6


def test_hrp_matches_pypfopt_hrpopt(returns: pd.DataFrame) -> None:
    # Same definitions on both sides: distance sqrt((1 - corr) / 2), single linkage,
    # dendrogram leaf order, halving bisection, inverse-variance cluster variance.
    expected = pd.Series(HRPOpt(returns).optimize(linkage_method="single"))
    result = optimize_portfolio(returns, method="hrp")
    assert np.abs(result.weights - expected[result.weights.index]).max() <= 1e-10
    assert result.weights.sum() == pytest.approx(1.0)
    assert (result.weights > 0).all()
    assert result.solver_status == "closed_form"


def _exact_moments(cov: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """SYNTHETIC returns whose sample covariance (ddof=1) is exactly ``cov``."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(rows, cov.shape[0]))
    raw -= raw.mean(axis=0)
    whitened = raw @ np.linalg.inv(np.linalg.cholesky(np.cov(raw, rowvar=False)).T)
    return whitened @ np.linalg.cholesky(cov).T


def test_hrp_two_assets_is_inverse_variance() -> None:
    # Synthetic: a = ±1%, b = ±2% on alternating patterns, both with zero mean.
    # var(a) = 4 * 0.01^2 / 3, var(b) = 4 * 0.02^2 / 3 = 4 var(a):
    # w_a = var(b) / (var(a) + var(b)) = 4 / 5 = 0.8, w_b = 0.2.
    frame = pd.DataFrame({"A": [0.01, -0.01, 0.01, -0.01], "B": [0.02, 0.02, -0.02, -0.02]})
    result = optimize_portfolio(frame, method="hrp")
    assert result.weights["A"] == pytest.approx(0.8, abs=1e-12)
    assert result.weights["B"] == pytest.approx(0.2, abs=1e-12)


def test_hrp_block_diagonal() -> None:
    # Synthetic: two uncorrelated blocks, unit variances; corr 0.8 inside A, 0.2 inside B.
    # Distances sqrt((1-0.8)/2)=0.32 (A) < sqrt((1-0.2)/2)=0.63 (B) < sqrt(1/2)=0.71 (across),
    # so the tree keeps each block whole and the first split is A | B.
    # Inside each block the inverse-variance weights are (1/2, 1/2), so
    # var(A) = (1 + 0.8) / 2 = 0.9 and var(B) = (1 + 0.2) / 2 = 0.6;
    # alpha_A = 1 - 0.9 / 1.5 = 0.4 -> 0.2 per A asset, 0.6 / 2 = 0.3 per B asset.
    # Columns interleave the blocks (A1, B1, A2, B2) so the clustering has to regroup them.
    cov = (
        np.array(
            [
                [1.0, 0.0, 0.8, 0.0],
                [0.0, 1.0, 0.0, 0.2],
                [0.8, 0.0, 1.0, 0.0],
                [0.0, 0.2, 0.0, 1.0],
            ]
        )
        * 1e-4
    )
    frame = pd.DataFrame(_exact_moments(cov, 400, seed=3), columns=["A1", "B1", "A2", "B2"])
    result = optimize_portfolio(frame, method="hrp")
    expected = pd.Series({"A1": 0.2, "A2": 0.2, "B1": 0.3, "B2": 0.3})
    assert np.abs(result.weights - expected[result.weights.index]).max() <= 1e-10


def test_hrp_respects_weight_bounds(returns: pd.DataFrame) -> None:
    result = optimize_portfolio(
        returns, method="hrp", constraints=PortfolioConstraints(weight_bounds=(0.02, 0.08))
    )
    assert result.weights.min() >= 0.02 - 1e-12
    assert result.weights.max() <= 0.08 + 1e-12
    assert result.weights.sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- CVaR


def test_min_cvar_matches_rockafellar_uryasev_lp(returns: pd.DataFrame) -> None:
    recent = returns.iloc[-500:]
    scenarios = recent.to_numpy()
    periods, assets = scenarios.shape
    beta = 0.95
    # Independent LP (scipy/HiGHS): min a + sum(u) / ((1 - beta) T)
    # s.t. u_t >= -r_t.w - a, u >= 0, sum(w) = 1, 0 <= w <= 1.
    cost = np.concatenate([np.zeros(assets), [1.0], np.full(periods, 1 / ((1 - beta) * periods))])
    upper = np.hstack([-scenarios, -np.ones((periods, 1)), -np.eye(periods)])
    budget = np.concatenate([np.ones(assets), [0.0], np.zeros(periods)])[None, :]
    bounds = [(0.0, 1.0)] * assets + [(None, None)] + [(0.0, None)] * periods
    reference = linprog(
        cost, A_ub=upper, b_ub=np.zeros(periods), A_eq=budget, b_eq=[1.0], bounds=bounds
    )
    assert reference.status == 0
    result = optimize_portfolio(recent, method="min_cvar", cvar_confidence=beta)
    assert result.cvar == pytest.approx(reference.fun, abs=1e-8)
    # The LP's objective at quantdesk's weights (optimal a is the beta-quantile of losses).
    losses = -scenarios @ result.weights.to_numpy()
    var = np.quantile(losses, beta, method="inverted_cdf")
    cvar = var + np.maximum(losses - var, 0).sum() / ((1 - beta) * periods)
    assert cvar == pytest.approx(reference.fun, abs=1e-8)
    assert np.abs(result.weights.to_numpy() - reference.x[:assets]).max() <= WEIGHT_TOL


def test_min_cvar_beats_min_variance_on_cvar(returns: pd.DataFrame) -> None:
    recent = returns.iloc[-500:]
    cvar = optimize_portfolio(recent, method="min_cvar")
    variance = optimize_portfolio(recent, method="min_variance")
    losses = -recent.to_numpy() @ variance.weights.to_numpy()
    tail = np.sort(losses)[-25:].mean()  # 5% of 500 = 25 worst periods
    assert cvar.cvar is not None
    assert cvar.cvar <= tail + 1e-9
    assert variance.cvar is None


# --------------------------------------------------------------------------- infeasibility


def _error(returns: pd.DataFrame | None, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        optimize_portfolio(returns, **kwargs)
    return caught.value


def test_sector_minimums_exceed_budget(returns: pd.DataFrame) -> None:
    error = _error(
        returns,
        constraints=PortfolioConstraints(
            sectors=SECTORS, sector_limits={"Technology": (0.6, None), "Energy": (0.5, None)}
        ),
    )
    assert "Technology min 0.6 + Energy min 0.5 exceed the budget 1.0" in str(error)
    assert error.issues[0].location == "constraints.sector_limits"


def test_sector_minimum_above_member_capacity(returns: pd.DataFrame) -> None:
    # Three technology stocks capped at 0.1 each can hold at most 0.3.
    error = _error(
        returns,
        constraints=PortfolioConstraints(
            weight_bounds=(0.0, 0.1),
            sectors=SECTORS,
            sector_limits={"Technology": (0.4, None)},
        ),
    )
    assert "Technology min 0.4 is above the 0.3 its members can hold" in str(error)


def test_target_return_unreachable(returns: pd.DataFrame) -> None:
    mu = returns.mean() * 252
    # With weights capped at 0.1 the best portfolio holds the ten highest-mu stocks at 0.1.
    best = float(mu.nlargest(10).sum() * 0.1)
    error = _error(
        returns,
        method="target_return",
        target_return=0.9,
        constraints=PortfolioConstraints(weight_bounds=(0.0, 0.1)),
    )
    assert (
        f"target return 0.9 exceeds the highest achievable {round(best, 4)} under the weight bounds"
        in str(error)
    )
    assert error.issues[0].location == "target_return"


def test_target_volatility_unreachable(
    returns: pd.DataFrame, moments: tuple[pd.Series, pd.DataFrame]
) -> None:
    frontier = _frontier(moments)
    frontier.min_volatility()
    floor = frontier.portfolio_performance()[1]
    error = _error(returns, method="target_risk", target_volatility=0.05)
    assert error.issues[0].location == "target_volatility"
    assert "target volatility 0.05 is below the lowest achievable" in str(error)
    reported = float(str(error).split("lowest achievable ")[1].split()[0])
    assert reported == pytest.approx(floor, abs=1e-4)


def test_turnover_cannot_reach_bounds(returns: pd.DataFrame) -> None:
    # All in AAPL, cap 0.2: sell at least 0.8 AAPL and buy 0.8 elsewhere -> 1.6 two-way.
    error = _error(
        returns,
        constraints=PortfolioConstraints(
            weight_bounds=(0.0, 0.2), current_weights={"AAPL": 1.0}, max_turnover=0.01
        ),
    )
    assert "turnover limit 0.01 cannot reach the weight bounds from current weights" in str(error)
    assert "at least 1.6 is needed" in str(error)
    assert error.issues[0].location == "constraints.max_turnover"


def test_turnover_cannot_reach_sector_limits(returns: pd.DataFrame) -> None:
    # Equal weights hold 3/20 = 0.15 in Technology; reaching 0.5 needs 0.35 bought and
    # 0.35 sold elsewhere: 0.7 two-way.
    error = _error(
        returns,
        constraints=PortfolioConstraints(
            current_weights=dict.fromkeys(returns.columns, 0.05),
            max_turnover=0.01,
            sectors=SECTORS,
            sector_limits={"Technology": (0.5, None)},
        ),
    )
    assert "turnover limit 0.01 cannot reach the weight bounds and sector limits" in str(error)
    assert "at least 0.7 is needed" in str(error)


def test_gross_exposure_conflicts_with_sector_short(returns: pd.DataFrame) -> None:
    # Net -0.2 in Technology needs shorts, so gross > net 1.0; a 1.0 gross cap forbids it.
    error = _error(
        returns,
        constraints=PortfolioConstraints(
            long_only=False,
            max_gross_exposure=1.0,
            sectors=SECTORS,
            sector_limits={"Technology": (None, -0.2)},
        ),
    )
    assert error.issues[0].location == "constraints.max_gross_exposure"
    assert "gross exposure cannot hold together with the weight bounds and sector limits" in str(
        error
    )


@pytest.mark.parametrize(
    ("constraints", "location"),
    [
        (
            PortfolioConstraints(sectors=SECTORS, sector_limits={"Energy": (None, 0.0)}),
            "constraints.sector_limits",
        ),
        (PortfolioConstraints(symbol_bounds={"AAPL": (0.0, 0.0)}), "constraints.weight_bounds"),
    ],
    ids=["sector", "bounds"],
)
def test_risk_parity_zero_weight_found_by_relaxation(
    returns: pd.DataFrame, constraints: PortfolioConstraints, location: str
) -> None:
    # Linear feasibility holds (a zero weight is allowed), but the risk-budgeting log
    # barrier needs every weight > 0: the solver fails and re-solving without each
    # constraint group in turn names the one that blocks it.
    error = _error(returns.iloc[-500:], method="risk_parity", constraints=constraints)
    assert error.issues[0].location == location
    assert "risk parity needs every weight above zero" in str(error)


def test_max_sharpe_below_risk_free(returns: pd.DataFrame) -> None:
    error = _error(returns, method="max_sharpe", risk_free_rate=0.5)
    best = float((returns.mean() * 252).max())  # long-only: all in the best stock
    assert error.issues[0].location == "risk_free_rate"
    assert f"highest achievable expected return {round(best, 4)}" in str(error)


def test_bounds_too_tight_for_budget(returns: pd.DataFrame) -> None:
    error = _error(returns, constraints=PortfolioConstraints(weight_bounds=(0.0, 0.04)))
    assert "the maximum weights sum to 0.8, below the budget 1.0" in str(error)  # 20 x 0.04
    error = _error(returns, constraints=PortfolioConstraints(symbol_bounds={"AAPL": (0.3, 0.2)}))
    assert error.issues[0].field == "AAPL"
    assert "min 0.3 is above max 0.2" in str(error)


@pytest.mark.parametrize(
    ("kwargs", "location"),
    [
        ({"constraints": PortfolioConstraints(weight_bounds=(-0.1, 1.0))}, "weight_bounds"),
        ({"constraints": PortfolioConstraints(symbol_bounds={"ZZZ": (0, 1)})}, "symbol_bounds"),
        ({"constraints": PortfolioConstraints(max_turnover=0.1)}, "current_weights"),
        ({"method": "target_return"}, "target_return"),
        ({"method": "max_sharpe", "target_volatility": 0.1}, "target_volatility"),
        ({"method": "hrp", "constraints": PortfolioConstraints(long_only=False)}, "long_only"),
        ({"method": "bogus"}, "method"),
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"cvar_confidence": 1.0}, "cvar_confidence"),
    ],
)
def test_bad_arguments(returns: pd.DataFrame, kwargs: dict[str, Any], location: str) -> None:
    error = _error(returns.iloc[-100:], **kwargs)
    assert location in error.issues[0].location


def test_bad_inputs(returns: pd.DataFrame, moments: tuple[pd.Series, pd.DataFrame]) -> None:
    holed = returns.iloc[:50].copy()
    holed.iloc[7, 3] = np.nan
    error = _error(holed)
    assert error.issues[0].row == 7
    assert error.issues[0].field == returns.columns[3]
    mu, cov = moments
    assert _error(None, expected_returns=mu, covariance=cov, method="hrp").issues[0].location == (
        "returns"
    )
    assert _error(None, expected_returns=mu).issues[0].location == "returns"
    broken = cov.copy()
    broken.iloc[0, 0] = -1.0
    assert "positive semi-definite" in str(_error(None, expected_returns=mu, covariance=broken))
    assert "symbols" in str(_error(None, expected_returns=mu.iloc[:5], covariance=cov))
