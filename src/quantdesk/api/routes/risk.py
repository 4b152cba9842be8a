"""Risk analytics: metrics and VaR, stress tests, Monte Carlo value paths, position sizing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from quantdesk.api.deps import RuntimeDep, requires
from quantdesk.api.schemas.risk import (
    MonteCarloPublic,
    MonteCarloRequest,
    PositionSizePublic,
    PositionSizeRequest,
    RiskCalculateRequest,
    RiskReportPublic,
    StressReportPublic,
    StressRequest,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission
from quantdesk.runtime import Runtime

router = APIRouter(prefix="/risk", tags=["risk"])

RiskDep = Annotated[Principal, requires(Permission.RISK_RUN)]


def _weights(
    runtime: Runtime, principal: Principal, weights: dict[str, float] | None, portfolio: str | None
) -> dict[str, float]:
    if weights is not None:
        return weights
    assert portfolio is not None
    return runtime.portfolios.current_weights(principal, portfolio)


@router.post("/calculate", response_model=RiskReportPublic)
def calculate_risk(
    body: RiskCalculateRequest, principal: RiskDep, runtime: RuntimeDep
) -> RiskReportPublic:
    """Metrics (volatility, Sharpe, Sortino, drawdown, ...), VaR/CVaR by each method,
    component VaR per position and the covariance of weights over stored daily history."""
    report = runtime.risk.calculate(
        _weights(runtime, principal, body.weights, body.portfolio_id),
        benchmark=body.benchmark,
        start=body.start,
        end=body.end,
        lookback_days=body.lookback_days,
        confidence=body.confidence,
        horizon=body.horizon,
        methods=body.methods,
        portfolio_value=body.portfolio_value,
        risk_free=body.risk_free,
        covariance_method=body.covariance,
        n_paths=body.n_paths,
        seed=body.seed,
    )
    return RiskReportPublic.of(report)


@router.post("/stress-test", response_model=StressReportPublic)
def stress_test(body: StressRequest, principal: RiskDep, runtime: RuntimeDep) -> StressReportPublic:
    """Replay 2000–02, 2008 and 2020 on current weights (real index and stock history) and
    apply user-defined shocks."""
    report = runtime.risk.stress(
        _weights(runtime, principal, body.weights, body.portfolio_id),
        scenarios=body.scenarios,
        shocks=body.shocks,
        proxies=body.proxies,
        portfolio_value=body.portfolio_value,
    )
    return StressReportPublic.of(report)


@router.post("/monte-carlo", response_model=MonteCarloPublic)
def monte_carlo(
    body: MonteCarloRequest, principal: RiskDep, runtime: RuntimeDep
) -> MonteCarloPublic:
    """Simulate future value with contributions: percentile bands per period and the
    probability of reaching a goal or falling below a floor."""
    simulation = runtime.risk.simulate(
        initial_value=body.initial_value,
        periods=body.periods,
        expected_return=body.expected_return,
        volatility=body.volatility,
        weights=body.weights,
        contribution=body.contribution,
        contribution_every=body.contribution_every,
        goal=body.goal,
        floor=body.floor,
        n_paths=body.n_paths,
        seed=body.seed,
    )
    return MonteCarloPublic.of(simulation)


@router.post("/position-size", response_model=PositionSizePublic)
def position_size(
    body: PositionSizeRequest, principal: RiskDep, runtime: RuntimeDep
) -> PositionSizePublic:
    """Fixed-fractional, ATR-stop, Kelly, volatility-target or risk-parity sizing."""
    result = runtime.risk.position_size(
        body.method,
        equity=body.equity,
        entry_price=body.entry_price,
        stop_price=body.stop_price,
        risk_fraction=body.risk_fraction,
        side=body.side,
        whole_shares=body.whole_shares,
        symbol=body.symbol,
        atr_period=body.atr_period,
        atr_multiple=body.atr_multiple,
        win_probability=body.win_probability,
        win_loss_ratio=body.win_loss_ratio,
        kelly_fraction_of=body.kelly_fraction,
        target_volatility=body.target_volatility,
        lookback_days=body.lookback_days,
        symbols=body.symbols,
    )
    return PositionSizePublic.of(result)
