"""Risk wire models: metrics and VaR, stress tests, simulations and position sizing."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from quantdesk.risk.montecarlo import ValueSimulation
from quantdesk.risk.service import (
    CovarianceMethod,
    RiskReport,
    SizingMethod,
    SizingResult,
    StressReport,
    VaRMethod,
)
from quantdesk.risk.stress import StressResult
from quantdesk.risk.var import VaRResult

Weights = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=32)], Annotated[float, Field(ge=-10, le=10)]
    ],
    Field(
        min_length=1,
        max_length=500,
        description="Symbol → weight (fraction of portfolio value; the rest is cash)",
        examples=[{"AAPL": 0.4, "JPM": 0.3, "XOM": 0.3}],
    ),
]


def _finite(value: Any) -> Any:
    """Return ``value`` with NaN/inf floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_finite(v) for v in value.tolist()]
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskCalculateRequest(_Body):
    """Weights + stored history → metrics, VaR/CVaR by method, component VaR, covariance."""

    weights: Weights | None = None
    portfolio_id: Annotated[str | None, Field(max_length=32)] = Field(
        default=None, description="Use a portfolio's current weights instead of `weights`"
    )
    benchmark: Annotated[str | None, Field(max_length=32, examples=["SPX"])] = None
    start: date | None = None
    end: date | None = None
    lookback_days: Annotated[int | None, Field(ge=20, le=20_000)] = 756
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    horizon: Annotated[int, Field(ge=1, le=250)] = 1
    methods: Annotated[list[VaRMethod], Field(min_length=1, max_length=7)] = [
        "historical",
        "parametric",
        "cornish_fisher",
    ]
    portfolio_value: Annotated[float | None, Field(gt=0, le=1e15)] = None
    risk_free: Annotated[float, Field(ge=-0.5, le=1.0)] = 0.0
    covariance: CovarianceMethod = "ledoit_wolf"
    n_paths: Annotated[int, Field(ge=1_000, le=200_000)] = 20_000
    seed: Annotated[int | None, Field(ge=0, le=2**32 - 1)] = 7

    @model_validator(mode="after")
    def _one_source(self) -> RiskCalculateRequest:
        if (self.weights is None) == (self.portfolio_id is None):
            raise ValueError("give exactly one of 'weights' or 'portfolio_id'")
        return self


class VaRPublic(BaseModel):
    """VaR and CVaR (positive loss fractions, and amounts when a value was given)."""

    method: str
    confidence: float
    horizon: int
    var: float | None
    cvar: float | None
    var_amount: float | None
    cvar_amount: float | None
    scaling: str
    observations: int

    @classmethod
    def of(cls, result: VaRResult) -> VaRPublic:
        """Return the wire model of ``result``."""
        return cls(
            method=result.method,
            confidence=result.confidence,
            horizon=result.horizon,
            var=_finite(result.var),
            cvar=_finite(result.cvar),
            var_amount=_finite(result.var_amount),
            cvar_amount=_finite(result.cvar_amount),
            scaling=result.scaling,
            observations=result.observations,
        )


class ComponentPublic(BaseModel):
    """Per-position marginal and component VaR/CVaR (parametric Euler decomposition)."""

    symbol: str
    weight: float
    marginal_var: float | None
    component_var: float | None
    marginal_cvar: float | None
    component_cvar: float | None


class RiskReportPublic(BaseModel):
    """The risk of a set of weights over a window of stored history."""

    symbols: list[str]
    weights: dict[str, float]
    benchmark: str | None
    start: date
    end: date
    observations: int
    metrics: dict[str, Any]
    var: list[VaRPublic]
    components: list[ComponentPublic] | None
    covariance_method: str
    covariance: dict[str, dict[str, float | None]]
    correlation: dict[str, dict[str, float | None]]
    synthetic: list[str] = Field(description="Symbols whose history is SYNTHETIC")

    @classmethod
    def of(cls, report: RiskReport) -> RiskReportPublic:
        """Return the wire model of ``report``."""
        components = None
        if report.components is not None:
            c = report.components
            components = [
                ComponentPublic(
                    symbol=symbol,
                    weight=_finite(c.weights[i]),
                    marginal_var=_finite(c.marginal_var[i]),
                    component_var=_finite(c.component_var[i]),
                    marginal_cvar=_finite(c.marginal_cvar[i]),
                    component_cvar=_finite(c.component_cvar[i]),
                )
                for i, symbol in enumerate(c.symbols)
            ]
        return cls(
            symbols=list(report.symbols),
            weights=report.weights,
            benchmark=report.benchmark,
            start=report.start,
            end=report.end,
            observations=report.observations,
            metrics=_finite(report.metrics.to_dict()),
            var=[VaRPublic.of(v) for v in report.var],
            components=components,
            covariance_method=report.covariance_method,
            covariance=_finite(report.covariance.to_dict()),
            correlation=_finite(report.correlation.to_dict()),
            synthetic=list(report.synthetic),
        )


class StressRequest(_Body):
    """Historical crises replayed on current weights, and/or user-defined shocks."""

    weights: Weights | None = None
    portfolio_id: Annotated[str | None, Field(max_length=32)] = None
    scenarios: Annotated[
        list[Literal["gfc_2008", "covid_2020", "dotcom_2000"]] | None,
        Field(description="Default: all three"),
    ] = None
    shocks: Annotated[
        dict[Annotated[str, Field(max_length=80)], Annotated[float, Field(ge=-1, le=10)]] | None,
        Field(
            max_length=200,
            description=(
                "Keys `all`, `asset_class:<x>`, `sector:<x>`, `symbol:<x>`; the most specific wins"
            ),
            examples=[{"asset_class:equity": -0.2, "sector:Technology": -0.3}],
        ),
    ] = None
    proxies: Annotated[dict[str, str] | None, Field(max_length=500)] = None
    portfolio_value: Annotated[float | None, Field(gt=0, le=1e15)] = None

    @model_validator(mode="after")
    def _one_source(self) -> StressRequest:
        if (self.weights is None) == (self.portfolio_id is None):
            raise ValueError("give exactly one of 'weights' or 'portfolio_id'")
        return self


class StressPositionPublic(BaseModel):
    """One position's shock in a scenario."""

    symbol: str
    weight: float
    shock: float | None
    source: str
    pnl: float | None
    pnl_amount: float | None


class StressResultPublic(BaseModel):
    """One scenario's outcome."""

    scenario: str
    start: date | None
    end: date | None
    portfolio_return: float | None
    pnl_amount: float | None
    covered_weight: float | None
    not_covered: list[str]
    max_drawdown: float | None
    positions: list[StressPositionPublic]

    @classmethod
    def of(cls, result: StressResult) -> StressResultPublic:
        """Return the wire model of ``result``."""
        return cls(
            scenario=result.scenario,
            start=result.start,
            end=result.end,
            portfolio_return=_finite(result.portfolio_return),
            pnl_amount=_finite(result.pnl_amount),
            covered_weight=_finite(result.covered_weight),
            not_covered=list(result.not_covered),
            max_drawdown=_finite(result.max_drawdown),
            positions=[
                StressPositionPublic(
                    symbol=p.symbol,
                    weight=p.weight,
                    shock=_finite(p.shock),
                    source=p.source,
                    pnl=_finite(p.pnl),
                    pnl_amount=_finite(p.pnl_amount),
                )
                for p in result.positions
            ],
        )


class StressReportPublic(BaseModel):
    """Historical scenarios and the user shock."""

    weights: dict[str, float]
    proxies: dict[str, str]
    historical: list[StressResultPublic]
    shocks: StressResultPublic | None

    @classmethod
    def of(cls, report: StressReport) -> StressReportPublic:
        """Return the wire model of ``report``."""
        return cls(
            weights=report.weights,
            proxies=report.proxies,
            historical=[StressResultPublic.of(r) for r in report.historical],
            shocks=StressResultPublic.of(report.shocks) if report.shocks else None,
        )


class MonteCarloRequest(_Body):
    """Future portfolio value with contributions/withdrawals: GBM or bootstrapped history."""

    initial_value: Annotated[float, Field(ge=0, le=1e15)]
    periods: Annotated[int, Field(ge=1, le=5_000, description="Number of periods to simulate")]
    expected_return: Annotated[float | None, Field(gt=-1, le=10)] = Field(
        default=None, description="Expected simple return per period (GBM)"
    )
    volatility: Annotated[float | None, Field(ge=0, le=10)] = Field(
        default=None, description="Volatility per period (GBM)"
    )
    weights: Weights | None = Field(
        default=None, description="Bootstrap these weights' daily history instead of GBM"
    )
    contribution: Annotated[float, Field(ge=-1e12, le=1e12)] = 0.0
    contribution_every: Annotated[int, Field(ge=1, le=5_000)] = 1
    goal: Annotated[float | None, Field(gt=0, le=1e15)] = None
    floor: Annotated[float | None, Field(ge=0, le=1e15)] = None
    n_paths: Annotated[int, Field(ge=100, le=200_000)] = 10_000
    seed: Annotated[int | None, Field(ge=0, le=2**32 - 1)] = 7


class MonteCarloPublic(BaseModel):
    """Fan-chart bands per period and goal/floor probabilities."""

    method: str
    periods: int
    n_paths: int
    initial_value: float
    bands: dict[str, list[float | None]] = Field(description="Percentile → value per period 0..T")
    mean_path: list[float | None]
    terminal: dict[str, float | None]
    goal: float | None
    probability_goal_at_end: float | None
    probability_goal_any_time: float | None
    floor: float | None
    probability_below_floor_any_time: float | None
    probability_depleted: float | None

    @classmethod
    def of(cls, sim: ValueSimulation) -> MonteCarloPublic:
        """Return the wire model of ``sim``."""
        terminal = {
            name: _finite(getattr(sim.terminal, name))
            for name in ("mean", "median", "std", "minimum", "maximum", "probability_of_loss")
        }
        return cls(
            method=sim.method,
            periods=sim.periods,
            n_paths=sim.n_paths,
            initial_value=sim.initial_value,
            bands={str(c): _finite(sim.bands[c].to_numpy()) for c in sim.bands.columns},
            mean_path=_finite(sim.mean_path),
            terminal=terminal,
            goal=sim.goal,
            probability_goal_at_end=_finite(sim.probability_goal_at_end),
            probability_goal_any_time=_finite(sim.probability_goal_any_time),
            floor=sim.floor,
            probability_below_floor_any_time=_finite(sim.probability_below_floor_any_time),
            probability_depleted=_finite(sim.probability_depleted),
        )


class PositionSizeRequest(_Body):
    """Position sizing; which fields are needed depends on ``method``."""

    method: SizingMethod
    equity: Annotated[float | None, Field(gt=0, le=1e15)] = None
    entry_price: Annotated[float | None, Field(gt=0, le=1e9)] = None
    stop_price: Annotated[float | None, Field(gt=0, le=1e9)] = None
    risk_fraction: Annotated[float, Field(gt=0, le=1)] = 0.01
    side: Literal["long", "short"] = "long"
    whole_shares: bool = True
    symbol: Annotated[str | None, Field(max_length=32)] = None
    atr_period: Annotated[int, Field(ge=2, le=500)] = 14
    atr_multiple: Annotated[float, Field(gt=0, le=50)] = 2.0
    win_probability: Annotated[float | None, Field(gt=0, lt=1)] = None
    win_loss_ratio: Annotated[float | None, Field(gt=0, le=1000)] = None
    kelly_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5
    target_volatility: Annotated[float, Field(gt=0, le=5)] = 0.10
    lookback_days: Annotated[int, Field(ge=5, le=20_000)] = 63
    symbols: Annotated[list[Annotated[str, Field(max_length=32)]] | None, Field(max_length=500)] = (
        None
    )


class PositionSizePublic(BaseModel):
    """The sizing result; only the fields of the chosen method are set."""

    method: str
    quantity: float | None = None
    notional: float | None = None
    risk_amount: float | None = None
    stop_price: float | None = None
    fraction_of_equity: float | None = None
    kelly_fraction: float | None = None
    exposure_scale: float | None = None
    realised_volatility: float | None = None
    weights: dict[str, float] | None = None
    risk_contributions: dict[str, float] | None = None
    inputs: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, result: SizingResult) -> PositionSizePublic:
        """Return the wire model of ``result``."""
        out = cls(method=result.method, inputs=result.inputs)
        if result.position is not None:
            p = result.position
            out.quantity = _finite(p.quantity)
            out.notional = _finite(p.notional)
            out.risk_amount = _finite(p.risk_amount)
            out.stop_price = _finite(p.stop_price)
            out.fraction_of_equity = _finite(p.fraction_of_equity)
        if result.fraction is not None:
            out.kelly_fraction = _finite(result.fraction)
        if result.volatility_target is not None:
            out.exposure_scale = _finite(result.volatility_target.scale)
            out.realised_volatility = _finite(result.volatility_target.realised_volatility)
        if result.risk_parity is not None:
            rp = result.risk_parity
            out.weights = dict(zip(result.symbols, _finite(rp.weights), strict=True))
            out.risk_contributions = dict(
                zip(result.symbols, _finite(rp.risk_contributions), strict=True)
            )
        return out
