"""How :func:`~quantdesk.portfolio.optimize.optimize_portfolio` explains an infeasible problem.

The constraint groups and the errors that name them, the closed-form pre-checks that run
before the solver (:func:`precheck`) and the diagnosis of a failed solve (:func:`diagnose`):
the linear constraint groups are relaxed one at a time (a small linear programme each) to
find the culprit, then the target itself is compared with what the constraints allow, and as
a last resort the full problem is re-solved with each group removed in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog  # type: ignore[import-untyped, unused-ignore]

from quantdesk.core.errors import Issue, ValidationError

if TYPE_CHECKING:
    from quantdesk.portfolio.optimize import _Problem

FloatArray = npt.NDArray[np.float64]
#: Solves a problem with the named constraint groups left out: ``(weights, status, estimator)``.
Fit = Callable[["_Problem", frozenset[str]], tuple[FloatArray, str, Any]]

# Constraint groups as errors name them, and the parameter each one comes from.
BOUNDS = "weight bounds"
SECTORS = "sector limits"
GROSS = "gross exposure"
TURNOVER = "turnover limit"
LOCATIONS = {
    BOUNDS: "constraints.weight_bounds",
    SECTORS: "constraints.sector_limits",
    GROSS: "constraints.max_gross_exposure",
    TURNOVER: "constraints.max_turnover",
}


def fmt(value: float) -> str:
    """Return ``value`` rounded for a message (3 significant digits when tiny)."""
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.3g}"
    return repr(round(float(value), 4))


def fail(message: str, location: str, reason: str, field: str | None = None) -> ValidationError:
    """Return a ValidationError with one issue."""
    return ValidationError(message, [Issue(location=location, reason=reason, field=field)])


def infeasible(group: str, reason: str) -> ValidationError:
    """Return the error that blames the constraint ``group``."""
    return fail(f"the portfolio is infeasible under the {group}", LOCATIONS[group], reason)


# --------------------------------------------------------------------------- pre-checks


def precheck(problem: _Problem) -> None:
    """Raise on infeasibility that closed-form arithmetic can prove."""
    budget = problem.budget
    low_total = float(problem.lower.sum())
    high_total = float(problem.upper.sum())
    if low_total > budget + 1e-12:
        raise infeasible(
            BOUNDS,
            f"the minimum weights sum to {fmt(low_total)}, above the budget {fmt(budget)}",
        )
    if high_total < budget - 1e-12:
        raise infeasible(
            BOUNDS,
            f"the maximum weights sum to {fmt(high_total)}, below the budget {fmt(budget)}",
        )
    if problem.gross is not None and problem.gross < abs(budget) - 1e-12:
        raise infeasible(
            GROSS, f"{fmt(problem.gross)} is below the absolute budget {fmt(abs(budget))}"
        )

    member_low = problem.sector_matrix @ problem.lower
    member_high = problem.sector_matrix @ problem.upper
    for row, name in enumerate(problem.sector_names):
        if problem.sector_min[row] > member_high[row] + 1e-12:
            raise infeasible(
                SECTORS,
                f"{name} min {fmt(problem.sector_min[row])} is above the "
                f"{fmt(member_high[row])} its members can hold under the weight bounds",
            )
        if problem.sector_max[row] < member_low[row] - 1e-12:
            raise infeasible(
                SECTORS,
                f"{name} max {fmt(problem.sector_max[row])} is below the "
                f"{fmt(member_low[row])} its members must hold under the weight bounds",
            )
    if problem.sector_names:
        _precheck_sector_totals(problem, member_low, member_high)

    if problem.turnover is not None and problem.current is not None:
        # Least two-way turnover that reaches the box and the budget: buys must cover the
        # raised floors, sells the lowered caps, and buys - sells must equal the cash gap.
        raise_to_floor = float(np.maximum(problem.lower - problem.current, 0).sum())
        cut_to_cap = float(np.maximum(problem.current - problem.upper, 0).sum())
        gap = budget - float(problem.current.sum())
        needed = 2 * max(raise_to_floor, cut_to_cap + gap) - gap
        if needed > problem.turnover + 1e-9:
            raise infeasible(
                TURNOVER,
                f"turnover limit {fmt(problem.turnover)} cannot reach the weight bounds from "
                f"current weights (at least {fmt(needed)} is needed)",
            )


def _precheck_sector_totals(
    problem: _Problem, member_low: FloatArray, member_high: FloatArray
) -> None:
    # A symbol in several limited sectors would be double counted; skip the check then.
    if (problem.sector_matrix.sum(axis=0) > 1).any():
        return
    free = problem.sector_matrix.sum(axis=0) == 0
    floors = np.maximum(problem.sector_min, member_low)
    ceilings = np.minimum(problem.sector_max, member_high)
    free_low = float(problem.lower[free].sum())
    free_high = float(problem.upper[free].sum())
    budget = problem.budget
    if float(floors.sum()) + free_low > budget + 1e-12:
        parts = [
            f"{name} min {fmt(problem.sector_min[row])}"
            for row, name in enumerate(problem.sector_names)
            if problem.sector_min[row] > 0
        ]
        if free_low > 0:
            parts.append(f"other symbols' minimums {fmt(free_low)}")
        raise infeasible(SECTORS, f"{' + '.join(parts)} exceed the budget {fmt(budget)}")
    if float(ceilings.sum()) + free_high < budget - 1e-12:
        parts = [
            f"{name} max {fmt(ceilings[row])}" for row, name in enumerate(problem.sector_names)
        ]
        if free.any():
            parts.append(f"other symbols' maximums {fmt(free_high)}")
        raise infeasible(SECTORS, f"{' + '.join(parts)} fall short of the budget {fmt(budget)}")


# --------------------------------------------------------------------------- diagnosis


def _linprog(
    problem: _Problem, groups: Sequence[str], objective: FloatArray | None, minimise_turnover: bool
) -> Any:
    """Solve a small LP over ``w`` (+ ``|w|`` and ``|w - current|`` auxiliaries)."""
    n = len(problem.symbols)
    use_gross = GROSS in groups and problem.gross is not None
    use_turnover = (TURNOVER in groups or minimise_turnover) and problem.current is not None
    blocks = 1 + int(use_gross) + int(use_turnover)
    size = blocks * n
    cost = np.zeros(size)
    if objective is not None:
        cost[:n] = objective
    rows: list[FloatArray] = []
    rhs: list[float] = []
    eye = np.eye(n)
    zero = np.zeros((n, n))

    def block_row(parts: dict[int, FloatArray]) -> FloatArray:
        return np.hstack([parts.get(block, zero) for block in range(blocks)])

    def block_sum(block: int) -> FloatArray:
        selector = np.zeros((1, size))
        selector[0, n * block : n * (block + 1)] = 1.0
        return selector

    index = 1
    if use_gross:
        assert problem.gross is not None
        rows += [block_row({0: eye, index: -eye}), block_row({0: -eye, index: -eye})]
        rhs += [0.0] * (2 * n)
        rows.append(block_sum(index))
        rhs.append(problem.gross)
        index += 1
    if use_turnover:
        assert problem.current is not None
        rows += [block_row({0: eye, index: -eye}), block_row({0: -eye, index: -eye})]
        rhs += list(problem.current) + list(-problem.current)
        if minimise_turnover:
            cost += block_sum(index)[0]
        else:
            assert problem.turnover is not None
            rows.append(block_sum(index))
            rhs.append(problem.turnover)
    if SECTORS in groups:
        for row in range(len(problem.sector_names)):
            padded = np.concatenate([problem.sector_matrix[row], np.zeros(size - n)])
            if np.isfinite(problem.sector_max[row]):
                rows.append(padded[None, :])
                rhs.append(float(problem.sector_max[row]))
            if np.isfinite(problem.sector_min[row]):
                rows.append(-padded[None, :])
                rhs.append(-float(problem.sector_min[row]))
    if BOUNDS in groups:
        weight_bounds = list(zip(problem.lower, problem.upper, strict=True))
    elif problem.long_only:
        weight_bounds = [(0.0, None)] * n
    else:
        weight_bounds = [(None, None)] * n
    bounds: list[tuple[float | None, float | None]] = list(weight_bounds)
    bounds += [(0.0, None)] * (size - n)
    equality = np.concatenate([np.ones(n), np.zeros(size - n)])[None, :]
    return linprog(
        cost,
        A_ub=np.vstack(rows) if rows else None,
        b_ub=np.array(rhs) if rhs else None,
        A_eq=equality,
        b_eq=np.array([problem.budget]),
        bounds=bounds,
        method="highs",
    )


def _phrase(groups: Sequence[str]) -> str:
    items = list(groups)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def diagnose(problem: _Problem, error: Exception, fit: Fit) -> ValidationError:
    """Return the error naming why the solver failed on ``problem`` (``fit`` re-solves it)."""
    groups = problem.groups
    if _linprog(problem, groups, None, False).status == 2:
        for culprit in (TURNOVER, GROSS, SECTORS, BOUNDS):
            if culprit not in groups:
                continue
            others = [group for group in groups if group != culprit]
            if _linprog(problem, others, None, False).status == 2:
                continue
            if culprit == TURNOVER:
                needed = _linprog(problem, others, None, True).fun
                return infeasible(
                    TURNOVER,
                    f"turnover limit {fmt(problem.turnover or 0.0)} cannot reach the "
                    f"{_phrase(others)} from "
                    f"current weights (at least {fmt(needed)} is needed)",
                )
            return infeasible(
                culprit, f"the {culprit} cannot hold together with the {_phrase(others)} and budget"
            )
        return fail(
            "the portfolio is infeasible",
            "constraints",
            f"the {_phrase(groups)} cannot all hold together with the budget",
        )

    if problem.method in {"target_return", "max_sharpe"}:
        best = _linprog(problem, groups, -problem.mu, False)
        highest = -float(best.fun)
        if problem.method == "target_return" and problem.target_return is not None:
            if highest < problem.target_return:
                return fail(
                    "the target return is unreachable",
                    "target_return",
                    f"target return {fmt(problem.target_return)} exceeds the highest "
                    f"achievable {fmt(highest)} under the {_phrase(groups)}",
                )
        elif highest <= problem.risk_free_rate:
            return fail(
                "no portfolio beats the risk-free rate",
                "risk_free_rate",
                f"the highest achievable expected return {fmt(highest)} under the "
                f"{_phrase(groups)} does not exceed the risk-free rate "
                f"{fmt(problem.risk_free_rate)}; max_sharpe is undefined",
            )

    if problem.method == "target_risk" and problem.target_volatility is not None:
        floor = _lowest_volatility(problem, fit)
        if floor is not None and floor > problem.target_volatility:
            return fail(
                "the target volatility is unreachable",
                "target_volatility",
                f"target volatility {fmt(problem.target_volatility)} is below the lowest "
                f"achievable {fmt(floor)} under the {_phrase(groups)}",
            )

    for culprit in reversed(groups):
        try:
            fit(problem, frozenset({culprit}))
        except Exception:
            continue
        hint = (
            " (risk parity needs every weight above zero)"
            if problem.method == "risk_parity"
            else ""
        )
        return infeasible(
            culprit,
            f"the {problem.method} problem has no solution with the {culprit}; it solves "
            f"without them{hint}",
        )
    return fail(
        "the optimisation failed",
        "method",
        f"{problem.method} could not be solved ({error}); loosen the constraints",
    )


def _lowest_volatility(problem: _Problem, fit: Fit) -> float | None:
    relaxed = replace(problem, method="min_variance", target_volatility=None)
    try:
        weights, _, _ = fit(relaxed, frozenset())
    except Exception:
        return None
    return float(np.sqrt(weights @ problem.covariance @ weights))
