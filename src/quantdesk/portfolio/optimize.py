"""Portfolio optimisation on skfolio (cvxpy/Clarabel): objectives, constraints and diagnostics.

:func:`optimize_portfolio` builds one skfolio estimator per call from a returns frame or from
expected returns and a covariance matrix, solves it and returns an
:class:`OptimizationResult`.

Units
    Every return, volatility and rate in and out is **annualised**. From a returns frame of
    per-period simple returns, ``mu = mean * periods_per_year`` and
    ``covariance = sample covariance (ddof=1) * periods_per_year`` (arithmetic scaling, the
    convention PyPortfolioOpt uses with ``compounding=False``). Expected returns and a
    covariance passed in directly are taken as annualised already. CVaR is the exception: it
    is a per-period loss over the historical scenarios (see :attr:`OptimizationResult.cvar`).

Objectives (``method``)
    ``min_variance``, ``max_sharpe`` (``risk_free_rate``), ``target_return`` (minimum variance
    with ``mu @ w >= target_return``), ``target_risk`` (maximum return with
    ``volatility <= target_volatility``), ``min_cvar`` (Rockafellar-Uryasev CVaR at
    ``cvar_confidence`` over the historical scenarios), ``risk_parity`` (variance risk
    budgeting, equal budgets unless ``risk_budgets``) and ``hrp`` (hierarchical risk parity).

Constraints (:class:`PortfolioConstraints`)
    Per-asset bounds (global and per symbol), a budget (sum of weights), a gross exposure cap
    for long/short books, sector minimums and maximums and a turnover limit relative to the
    current weights. Turnover is ``sum(|w - current|)`` (two-way: moving 10% from one asset to
    another is 0.2).

Infeasible problems raise :class:`~quantdesk.core.errors.ValidationError` naming the
constraint responsible (:mod:`quantdesk.portfolio._optimize_diagnostics`). Cheap closed-form
checks run first; when the solver still fails, the linear constraint groups are relaxed one at
a time (a small linear programme each) to find the culprit, then the target itself is compared
with what the constraints allow, and as a last resort the full problem is re-solved with each
group removed in turn.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.portfolio._optimize_diagnostics import (
    BOUNDS,
    GROSS,
    LOCATIONS,
    SECTORS,
    TURNOVER,
    diagnose,
    fail,
    fmt,
    infeasible,
    precheck,
)

FloatArray = npt.NDArray[np.float64]
OptimizationMethod = Literal[
    "min_variance",
    "max_sharpe",
    "target_return",
    "target_risk",
    "min_cvar",
    "risk_parity",
    "hrp",
]
HrpLinkage = Literal["single", "complete", "average", "ward"]

__all__ = [
    "HrpLinkage",
    "OptimizationMethod",
    "OptimizationResult",
    "PortfolioConstraints",
    "optimize_portfolio",
]

_METHODS: tuple[str, ...] = get_args(OptimizationMethod)
_LINKAGES: tuple[str, ...] = get_args(HrpLinkage)
_SCENARIO_METHODS = frozenset({"min_cvar", "hrp"})
_ACCEPTED_STATUSES = frozenset({"optimal", "optimal_inaccurate", "closed_form"})


@dataclass(frozen=True, slots=True)
class PortfolioConstraints:
    """Constraints on the optimised weights.

    Parameters
    ----------
    long_only
        Forbid negative weights (the default). With ``False`` the default bounds become
        ``(-1, 1)`` and ``max_gross_exposure`` caps ``sum(|w|)``.
    weight_bounds
        ``(min, max)`` for every symbol; defaults to ``(0, 1)`` long-only, ``(-1, 1)``
        otherwise.
    symbol_bounds
        ``{symbol: (min, max)}`` overriding ``weight_bounds`` for the named symbols.
    budget
        Sum of the weights (1.0 fully invested, 0.0 market neutral). Risk parity and HRP
        need 1.0.
    max_gross_exposure
        Upper bound on ``sum(|w|)``, e.g. 1.6 for a 130/30 book.
    sectors
        ``{symbol: sector}``; symbols absent from it belong to no sector. Extra symbols
        (not in the universe) are ignored.
    sector_limits
        ``{sector: (min, max)}`` on the summed weight of each sector; ``None`` leaves that
        side open.
    current_weights
        Current portfolio weights (symbols absent count as 0). Needed by ``max_turnover``
        and ``transaction_cost``.
    max_turnover
        Upper bound on ``sum(|w - current_weights|)``.
    """

    long_only: bool = True
    weight_bounds: tuple[float, float] | None = None
    symbol_bounds: Mapping[str, tuple[float, float]] | None = None
    budget: float = 1.0
    max_gross_exposure: float | None = None
    sectors: Mapping[str, str] | None = None
    sector_limits: Mapping[str, tuple[float | None, float | None]] | None = None
    current_weights: Mapping[str, float] | None = None
    max_turnover: float | None = None


@dataclass(frozen=True, slots=True)
class OptimizationResult:
    """Optimised weights and their annualised statistics.

    Attributes
    ----------
    weights
        Weight per symbol, in the order of the input columns.
    expected_return
        ``mu @ weights``, annualised, before transaction costs.
    volatility
        ``sqrt(weights @ covariance @ weights)``, annualised.
    sharpe_ratio
        ``(expected_return - risk_free_rate) / volatility``; NaN only when the volatility
        is exactly zero.
    method
        The objective that was solved.
    solver_status
        The solver's status (``"optimal"``, ``"optimal_inaccurate"``), or ``"closed_form"``
        for HRP, which needs no solver.
    risk_free_rate
        Annual risk-free rate used in the Sharpe ratio.
    periods_per_year
        Annualisation factor applied to per-period inputs.
    cvar
        For ``min_cvar`` only: the per-period CVaR (a positive loss) of the weights over
        the historical scenarios at ``cvar_confidence``; otherwise ``None``.
    turnover
        ``sum(|weights - current_weights|)`` when current weights were given, else ``None``.
    """

    weights: pd.Series
    expected_return: float
    volatility: float
    sharpe_ratio: float
    method: str
    solver_status: str
    risk_free_rate: float
    periods_per_year: int
    cvar: float | None = None
    turnover: float | None = None


@dataclass(frozen=True, slots=True)
class _Problem:
    symbols: tuple[str, ...]
    method: str
    mu: FloatArray
    covariance: FloatArray
    scenarios: FloatArray | None
    lower: FloatArray
    upper: FloatArray
    long_only: bool
    budget: float
    gross: float | None
    sector_names: tuple[str, ...]
    sector_matrix: FloatArray
    sector_min: FloatArray
    sector_max: FloatArray
    current: FloatArray | None
    turnover: float | None
    risk_free_rate: float
    target_return: float | None
    target_volatility: float | None
    cvar_confidence: float
    risk_budgets: FloatArray | None
    hrp_linkage: str
    transaction_cost: float

    @property
    def groups(self) -> tuple[str, ...]:
        present = [BOUNDS]
        if self.sector_names:
            present.append(SECTORS)
        if self.gross is not None:
            present.append(GROSS)
        if self.turnover is not None:
            present.append(TURNOVER)
        return tuple(present)


def _finite(name: str, value: float, *, positive: bool = False) -> float:
    number = float(value)
    if not math.isfinite(number) or (positive and number <= 0):
        rule = "a positive finite number" if positive else "a finite number"
        raise fail(f"invalid {name}", name, f"must be {rule}, got {value!r}")
    return number


# --------------------------------------------------------------------------- inputs


def _labels(index: pd.Index, location: str) -> tuple[str, ...]:
    labels = tuple(map(str, index.tolist()))
    if len(set(labels)) != len(labels):
        raise fail(f"invalid {location}", location, "symbols must be unique")
    return labels


def _order(labels: tuple[str, ...], symbols: tuple[str, ...], location: str) -> list[int]:
    if labels == symbols:
        return list(range(len(symbols)))
    if set(labels) != set(symbols):
        raise fail(
            "inconsistent inputs", location, "must be labelled by exactly the portfolio symbols"
        )
    position = {label: index for index, label in enumerate(labels)}
    return [position[symbol] for symbol in symbols]


def _numeric(data: pd.Series | pd.DataFrame, location: str) -> FloatArray:
    try:
        return np.asarray(data.to_numpy(dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise fail(f"invalid {location}", location, "every value must be numeric") from err


def _scenarios(returns: pd.DataFrame) -> tuple[tuple[str, ...], FloatArray]:
    if not isinstance(returns, pd.DataFrame):
        raise fail("invalid returns", "returns", "must be a pandas DataFrame")
    symbols = _labels(returns.columns, "returns")
    values = _numeric(returns, "returns")
    if values.shape[0] < 2:
        raise fail("invalid returns", "returns", "need at least two rows of returns")
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        reason = (
            f"{int(bad.sum())} missing or infinite value(s), first at row {row}; "
            "drop or fill them before optimising"
        )
        raise ValidationError(
            "invalid returns",
            [Issue(location="returns", field=symbols[column], row=row, reason=reason)],
        )
    return symbols, values


def _moments(
    returns: pd.DataFrame | None,
    expected_returns: pd.Series | None,
    covariance: pd.DataFrame | None,
    method: str,
    periods_per_year: int,
) -> tuple[tuple[str, ...], FloatArray, FloatArray, FloatArray | None]:
    if returns is None:
        if method in _SCENARIO_METHODS:
            raise fail(
                f"method '{method}' needs historical returns",
                "returns",
                "pass a returns frame; expected returns and a covariance are not enough",
            )
        if expected_returns is None or covariance is None:
            raise fail(
                "missing inputs",
                "returns",
                "pass a returns frame, or both expected_returns and covariance",
            )
    scenarios: FloatArray | None = None
    if returns is not None:
        symbols, scenarios = _scenarios(returns)
    else:
        assert expected_returns is not None
        symbols = _labels(expected_returns.index, "expected_returns")
    if len(symbols) < 2:
        raise fail("too few symbols", "returns", "need at least two symbols to optimise")

    if expected_returns is not None:
        order = _order(
            _labels(expected_returns.index, "expected_returns"), symbols, "expected_returns"
        )
        mu = _numeric(expected_returns, "expected_returns")[order]
    else:
        assert scenarios is not None
        mu = scenarios.mean(axis=0) * periods_per_year
    if covariance is not None:
        rows = _order(_labels(covariance.index, "covariance"), symbols, "covariance")
        columns = _order(_labels(covariance.columns, "covariance"), symbols, "covariance")
        cov = _numeric(covariance, "covariance")[np.ix_(rows, columns)]
    else:
        assert scenarios is not None
        cov = np.cov(scenarios, rowvar=False, ddof=1) * periods_per_year

    if not np.isfinite(mu).all():
        raise fail("invalid expected_returns", "expected_returns", "values must be finite")
    if not np.isfinite(cov).all() or not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12):
        raise fail("invalid covariance", "covariance", "must be finite and symmetric")
    cov = (cov + cov.T) / 2
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        # Not positive definite: still fine when merely semi-definite.
        smallest = float(np.linalg.eigvalsh(cov)[0])
        if smallest < -1e-10 * max(1.0, float(np.abs(np.diag(cov)).max())):
            raise fail(
                "invalid covariance",
                "covariance",
                f"the matrix is not positive semi-definite (smallest eigenvalue {smallest:.3g})",
            ) from None
    return symbols, mu, cov, scenarios


def _per_symbol(
    symbols: Sequence[str], mapping: Mapping[str, Any] | None, location: str
) -> Mapping[str, Any]:
    if mapping is None:
        return {}
    unknown = sorted(set(mapping) - set(symbols))
    if unknown:
        raise fail(
            f"unknown symbols in {location}",
            location,
            f"{', '.join(unknown)} not in the portfolio universe; drop them or add their returns",
        )
    return mapping


def _bounds(
    symbols: Sequence[str], constraints: PortfolioConstraints
) -> tuple[FloatArray, FloatArray]:
    default = constraints.weight_bounds
    if default is None:
        default = (0.0, 1.0) if constraints.long_only else (-1.0, 1.0)
    low = _finite("constraints.weight_bounds", default[0])
    high = _finite("constraints.weight_bounds", default[1])
    lower = np.full(len(symbols), low)
    upper = np.full(len(symbols), high)
    overrides = _per_symbol(symbols, constraints.symbol_bounds, "constraints.symbol_bounds")
    index = {symbol: position for position, symbol in enumerate(symbols)}
    for symbol, (symbol_low, symbol_high) in overrides.items():
        lower[index[symbol]] = _finite("constraints.symbol_bounds", symbol_low)
        upper[index[symbol]] = _finite("constraints.symbol_bounds", symbol_high)
    issues = [
        Issue(
            location="constraints.symbol_bounds" if symbol in overrides else LOCATIONS[BOUNDS],
            field=symbol,
            reason=f"min {fmt(lower[i])} is above max {fmt(upper[i])}",
        )
        for i, symbol in enumerate(symbols)
        if lower[i] > upper[i]
    ]
    if issues:
        raise ValidationError(f"the portfolio is infeasible under the {BOUNDS}", issues)
    if constraints.long_only and (lower < 0).any():
        symbol = symbols[int(np.argmax(lower < 0))]
        raise fail(
            "negative weights in a long-only portfolio",
            LOCATIONS[BOUNDS],
            f"{symbol} may go down to {fmt(float(lower.min()))}; "
            "set long_only=False to allow short positions",
            field=symbol,
        )
    return lower, upper


def _sector_rows(
    symbols: Sequence[str], constraints: PortfolioConstraints
) -> tuple[tuple[str, ...], FloatArray, FloatArray, FloatArray]:
    limits = constraints.sector_limits or {}
    if limits and constraints.sectors is None:
        raise fail(
            "sector limits without sectors",
            "constraints.sectors",
            "pass a {symbol: sector} mapping to use sector_limits",
        )
    sectors = constraints.sectors or {}
    names = tuple(str(name) for name in limits)
    matrix = np.zeros((len(names), len(symbols)))
    minimum = np.full(len(names), -np.inf)
    maximum = np.full(len(names), np.inf)
    for row, name in enumerate(names):
        low, high = limits[name]
        if low is not None:
            minimum[row] = _finite("constraints.sector_limits", low)
        if high is not None:
            maximum[row] = _finite("constraints.sector_limits", high)
        for column, symbol in enumerate(symbols):
            if str(sectors.get(symbol, "")) == name:
                matrix[row, column] = 1.0
        if minimum[row] > maximum[row]:
            raise infeasible(
                SECTORS, f"{name} min {fmt(minimum[row])} is above its max {fmt(maximum[row])}"
            )
    return names, matrix, minimum, maximum


def _build_problem(
    returns: pd.DataFrame | None,
    *,
    method: str,
    expected_returns: pd.Series | None,
    covariance: pd.DataFrame | None,
    constraints: PortfolioConstraints,
    risk_free_rate: float,
    target_return: float | None,
    target_volatility: float | None,
    cvar_confidence: float,
    risk_budgets: Mapping[str, float] | None,
    hrp_linkage: str,
    transaction_cost: float,
    periods_per_year: int,
) -> _Problem:
    bad_period = isinstance(periods_per_year, bool) or not isinstance(periods_per_year, int)
    argument_rules = [
        (method not in _METHODS, "method", f"'{method}' is not one of {', '.join(_METHODS)}"),
        (bad_period or periods_per_year <= 0, "periods_per_year", "must be a positive integer"),
        (hrp_linkage not in _LINKAGES, "hrp_linkage", f"'{hrp_linkage}' is not in {_LINKAGES}"),
        (not 0.0 < cvar_confidence < 1.0, "cvar_confidence", "must lie strictly in (0, 1)"),
        (
            not (math.isfinite(transaction_cost) and transaction_cost >= 0),
            "transaction_cost",
            "must be finite and >= 0",
        ),
        (
            (method == "target_return") != (target_return is not None),
            "target_return",
            "pass target_return exactly when method='target_return'",
        ),
        (
            (method == "target_risk") != (target_volatility is not None),
            "target_volatility",
            "pass target_volatility exactly when method='target_risk'",
        ),
        (
            risk_budgets is not None and method != "risk_parity",
            "risk_budgets",
            "only used by method='risk_parity'",
        ),
    ]
    for failed, location, reason in argument_rules:
        if failed:
            raise fail(f"invalid {location}", location, reason)
    risk_free_rate = _finite("risk_free_rate", risk_free_rate)
    if target_return is not None:
        target_return = _finite("target_return", target_return)
    if target_volatility is not None:
        target_volatility = _finite("target_volatility", target_volatility, positive=True)

    symbols, mu, cov, scenarios = _moments(
        returns, expected_returns, covariance, method, periods_per_year
    )
    lower, upper = _bounds(symbols, constraints)
    budget = _finite("constraints.budget", constraints.budget)
    gross = constraints.max_gross_exposure
    if gross is not None:
        gross = _finite("constraints.max_gross_exposure", gross, positive=True)
    names, matrix, sector_min, sector_max = _sector_rows(symbols, constraints)

    current: FloatArray | None = None
    if constraints.current_weights is not None:
        given = _per_symbol(symbols, constraints.current_weights, "constraints.current_weights")
        current = np.array([float(given.get(symbol, 0.0)) for symbol in symbols])
        if not np.isfinite(current).all():
            raise fail("invalid current weights", "constraints.current_weights", "not finite")
    turnover = constraints.max_turnover
    if turnover is not None:
        turnover = _finite("constraints.max_turnover", turnover)
        if turnover < 0:
            raise fail("invalid turnover limit", "constraints.max_turnover", "must be >= 0")
        if current is None:
            raise fail(
                "turnover limit without current weights",
                "constraints.current_weights",
                "pass the current weights to limit turnover",
            )

    budgets_array: FloatArray | None = None
    if risk_budgets is not None:
        given_budgets = _per_symbol(symbols, risk_budgets, "risk_budgets")
        budgets_array = np.array([float(given_budgets.get(s, 0.0)) for s in symbols])
        if (budgets_array <= 0).any() or not np.isfinite(budgets_array).all():
            raise fail("invalid risk budgets", "risk_budgets", "give every symbol a budget > 0")

    scheme_rules = [
        (
            method in {"risk_parity", "hrp"}
            and (not constraints.long_only or budget != 1.0 or gross is not None),
            "constraints.long_only",
            "risk parity and HRP need long_only=True, budget=1 and no gross exposure cap",
        ),
        (
            method == "hrp" and bool(names or turnover is not None or transaction_cost > 0),
            "constraints",
            "HRP supports weight bounds only; use risk_parity or min_variance for sector "
            "limits, turnover limits or transaction costs",
        ),
        (
            method == "hrp" and bool(lower.min() < 0 or upper.max() > 1),
            LOCATIONS[BOUNDS],
            "HRP bounds must lie in [0, 1]",
        ),
        (
            method == "max_sharpe" and turnover is not None and budget == 0,
            "constraints.max_turnover",
            "max_sharpe with a turnover limit needs a non-zero budget",
        ),
    ]
    for failed, location, reason in scheme_rules:
        if failed:
            raise fail(f"unsupported constraints for method '{method}'", location, reason)

    return _Problem(
        symbols=symbols,
        method=method,
        mu=mu,
        covariance=cov,
        scenarios=scenarios,
        lower=lower,
        upper=upper,
        long_only=constraints.long_only,
        budget=budget,
        gross=gross,
        sector_names=names,
        sector_matrix=matrix,
        sector_min=sector_min,
        sector_max=sector_max,
        current=current,
        turnover=turnover,
        risk_free_rate=risk_free_rate,
        target_return=target_return,
        target_volatility=target_volatility,
        cvar_confidence=cvar_confidence,
        risk_budgets=budgets_array,
        hrp_linkage=hrp_linkage,
        transaction_cost=transaction_cost,
    )


# --------------------------------------------------------------------------- skfolio


@cache
def _prior_class() -> Any:
    from skfolio.prior import BasePrior, ReturnDistribution

    class PrecomputedPrior(BasePrior):  # type: ignore[misc]
        """Hand skfolio the moments computed here instead of re-estimating them."""

        def __init__(
            self,
            mu: FloatArray | None = None,
            covariance: FloatArray | None = None,
            returns: FloatArray | None = None,
        ) -> None:
            self.mu = mu
            self.covariance = covariance
            self.returns = returns

        def fit(self, x: Any, y: Any = None, **fit_params: Any) -> PrecomputedPrior:
            self.return_distribution_ = ReturnDistribution(
                mu=self.mu, covariance=self.covariance, returns=self.returns
            )
            return self

    return PrecomputedPrior


def _scenario_matrix(problem: _Problem) -> FloatArray:
    if problem.method in _SCENARIO_METHODS and problem.scenarios is not None:
        return problem.scenarios
    # Variance-based objectives never read the scenarios; one row keeps skfolio happy.
    return np.zeros((1, len(problem.symbols)))


def _turnover_constraint(problem: _Problem, homogenised: bool) -> Callable[[Any], Any]:
    import cvxpy

    cp: Any = cvxpy  # skfolio builds on cvxpy; its atoms are untyped here
    current = problem.current
    limit = problem.turnover
    budget = problem.budget
    assert current is not None
    assert limit is not None

    def constraint(w: Any) -> Any:
        # Under the ratio and risk-budgeting transforms skfolio solves for w * k with
        # sum(w) == budget * k, so k is recovered from the budget constraint.
        scale = cp.sum(w) / budget if homogenised else 1.0
        return cp.norm1(w - current * scale) <= limit * scale

    return constraint


def _estimator(problem: _Problem, relax: frozenset[str] = frozenset()) -> Any:
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import (
        HierarchicalRiskParity,
        MeanRisk,
        ObjectiveFunction,
        RiskBudgeting,
    )
    from skfolio.seriation import HierarchicalSeriation

    lower: FloatArray | None = problem.lower
    upper: FloatArray | None = problem.upper
    if BOUNDS in relax:
        lower = np.zeros(len(problem.symbols)) if problem.long_only else None
        upper = None
    elif problem.lower.min() >= 0 and problem.upper.min() >= problem.budget > 0:
        # Long-only with a positive budget already caps every weight at the budget.
        upper = None
    prior = _prior_class()(
        mu=problem.mu, covariance=problem.covariance, returns=_scenario_matrix(problem)
    )

    if problem.method == "hrp":
        clustering = HierarchicalClustering(linkage_method=LinkageMethod(problem.hrp_linkage))
        return HierarchicalRiskParity(
            risk_measure=RiskMeasure.VARIANCE,
            prior_estimator=prior,
            seriation_estimator=HierarchicalSeriation(
                hierarchical_clustering_estimator=clustering, optimal_ordering=False
            ),
            min_weights=problem.lower,
            max_weights=problem.upper,
        )

    common: dict[str, Any] = {
        "prior_estimator": prior,
        "min_weights": lower,
        "max_weights": upper,
        "save_problem": True,
    }
    if problem.sector_names and SECTORS not in relax:
        rows = []
        bounds = []
        for row in range(len(problem.sector_names)):
            if np.isfinite(problem.sector_max[row]):
                rows.append(problem.sector_matrix[row])
                bounds.append(problem.sector_max[row])
            if np.isfinite(problem.sector_min[row]):
                rows.append(-problem.sector_matrix[row])
                bounds.append(-problem.sector_min[row])
        if rows:
            common["left_inequality"] = np.vstack(rows)
            common["right_inequality"] = np.array(bounds)
    if problem.transaction_cost > 0:
        common["transaction_costs"] = problem.transaction_cost
        common["previous_weights"] = (
            problem.current if problem.current is not None else np.zeros(len(problem.symbols))
        )
    homogenised = problem.method in {"max_sharpe", "risk_parity"}
    if problem.turnover is not None and TURNOVER not in relax:
        common["add_constraints"] = _turnover_constraint(problem, homogenised)

    if problem.method == "risk_parity":
        # A tighter duality gap than skfolio's 1e-9 default equalises the risk
        # contributions to ~1e-10 instead of ~1e-6.
        return RiskBudgeting(
            risk_measure=RiskMeasure.VARIANCE,
            risk_budget=problem.risk_budgets,
            solver_params={"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12},
            **common,
        )

    common["budget"] = problem.budget
    if problem.gross is not None and GROSS not in relax:
        short = (problem.gross - problem.budget) / 2
        common["max_long"] = (problem.gross + problem.budget) / 2
        if short > 1e-12:
            common["max_short"] = short
        elif lower is not None:
            common["min_weights"] = np.maximum(lower, 0.0)
        else:
            common["min_weights"] = 0.0

    match problem.method:
        case "min_variance":
            return MeanRisk(risk_measure=RiskMeasure.VARIANCE, **common)
        case "max_sharpe":
            return MeanRisk(
                objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
                risk_measure=RiskMeasure.STANDARD_DEVIATION,
                risk_free_rate=problem.risk_free_rate,
                **common,
            )
        case "target_return":
            return MeanRisk(
                risk_measure=RiskMeasure.VARIANCE, min_return=problem.target_return, **common
            )
        case "target_risk":
            return MeanRisk(
                objective_function=ObjectiveFunction.MAXIMIZE_RETURN,
                risk_measure=RiskMeasure.VARIANCE,
                max_standard_deviation=problem.target_volatility,
                **common,
            )
        case _:
            return MeanRisk(
                risk_measure=RiskMeasure.CVAR, cvar_beta=problem.cvar_confidence, **common
            )


def _fit(problem: _Problem, relax: frozenset[str] = frozenset()) -> tuple[FloatArray, str, Any]:
    estimator = _estimator(problem, relax)
    # Bounds and constraints are positional arrays, so skfolio needs no column names.
    scenarios = _scenario_matrix(problem)
    with warnings.catch_warnings():
        # Inaccurate solves still return weights; the status below reports them.
        warnings.simplefilter("ignore")
        estimator.fit(scenarios)
    weights = np.asarray(estimator.weights_, dtype=np.float64)
    saved = getattr(estimator, "problem_", None)
    status = "closed_form" if saved is None else str(saved.status)
    if status not in _ACCEPTED_STATUSES:
        # skfolio keeps any iterate the solver returns; an unconverged one is not an answer.
        raise RuntimeError(f"solver stopped with status '{status}'")
    return weights, status, estimator


# --------------------------------------------------------------------------- public API


def optimize_portfolio(
    returns: pd.DataFrame | None = None,
    *,
    method: OptimizationMethod = "min_variance",
    expected_returns: pd.Series | None = None,
    covariance: pd.DataFrame | None = None,
    constraints: PortfolioConstraints | None = None,
    risk_free_rate: float = 0.0,
    target_return: float | None = None,
    target_volatility: float | None = None,
    cvar_confidence: float = 0.95,
    risk_budgets: Mapping[str, float] | None = None,
    hrp_linkage: HrpLinkage = "single",
    transaction_cost: float = 0.0,
    periods_per_year: int = 252,
) -> OptimizationResult:
    """Return optimal portfolio weights for one objective under the given constraints.

    Parameters
    ----------
    returns
        Per-period simple returns, one column per symbol, no missing values. Required by
        ``min_cvar`` and ``hrp``; optional when ``expected_returns`` and ``covariance``
        are given (they then replace the sample estimates).
    method
        ``"min_variance"``, ``"max_sharpe"``, ``"target_return"``, ``"target_risk"``,
        ``"min_cvar"``, ``"risk_parity"`` or ``"hrp"``.
    expected_returns
        Annualised expected return per symbol.
    covariance
        Annualised covariance matrix, indexed by symbol on both axes.
    constraints
        Bounds, budget, gross exposure, sector and turnover limits; default long-only,
        fully invested, each weight in ``[0, 1]``.
    risk_free_rate
        Annual risk-free rate for ``max_sharpe`` and the reported Sharpe ratio.
    target_return
        Annual expected return floor for ``method="target_return"``.
    target_volatility
        Annual volatility cap for ``method="target_risk"``.
    cvar_confidence
        CVaR confidence level for ``min_cvar`` (0.95 averages the worst 5% of periods).
    risk_budgets
        Relative variance risk budget per symbol for ``risk_parity`` (default equal).
    hrp_linkage
        Linkage of the HRP tree over the distance ``sqrt((1 - correlation) / 2)``; the
        default ``"single"`` with dendrogram leaf order and halving bisection is the
        original López de Prado (2016) algorithm.
    transaction_cost
        Linear cost per unit of weight traded away from ``current_weights``, in annual
        return units (amortise a one-off cost over the holding period); it lowers the
        objective's expected return but not the reported ``expected_return``.
    periods_per_year
        Periods per year of ``returns`` (252 for daily bars) used to annualise them.

    Returns
    -------
    OptimizationResult
        Weights and their annualised expected return, volatility and Sharpe ratio.

    Raises
    ------
    ValidationError
        Bad inputs, or an infeasible problem; the issue names the constraint responsible
        (``constraints.sector_limits``, ``constraints.max_turnover``, ``target_return``, ...).
    """
    problem = _build_problem(
        returns,
        method=method,
        expected_returns=expected_returns,
        covariance=covariance,
        constraints=constraints or PortfolioConstraints(),
        risk_free_rate=risk_free_rate,
        target_return=target_return,
        target_volatility=target_volatility,
        cvar_confidence=cvar_confidence,
        risk_budgets=risk_budgets,
        hrp_linkage=hrp_linkage,
        transaction_cost=transaction_cost,
        periods_per_year=periods_per_year,
    )
    precheck(problem)
    try:
        weights, status, estimator = _fit(problem)
    except Exception as error:  # skfolio/cvxpy signal infeasibility with several types
        raise diagnose(problem, error, _fit) from error

    # Solver round-off can step a hair outside a bound; report weights inside them.
    weights = np.clip(weights, problem.lower, problem.upper)
    expected = float(weights @ problem.mu)
    volatility = float(np.sqrt(max(float(weights @ problem.covariance @ weights), 0.0)))
    sharpe = (expected - problem.risk_free_rate) / volatility if volatility > 0 else math.nan
    cvar = None
    if problem.method == "min_cvar":
        cvar = float(estimator.problem_values_["risk"])
    turnover = None
    if problem.current is not None:
        turnover = float(np.abs(weights - problem.current).sum())
    return OptimizationResult(
        weights=pd.Series(weights, index=list(problem.symbols), name="weight", dtype=np.float64),
        expected_return=expected,
        volatility=volatility,
        sharpe_ratio=sharpe,
        method=problem.method,
        solver_status=status,
        risk_free_rate=problem.risk_free_rate,
        periods_per_year=periods_per_year,
        cvar=cvar,
        turnover=turnover,
    )
