"""Risk analytics over stored market data: metrics, VaR, stress tests and simulations.

The pure functions in :mod:`quantdesk.risk` take return arrays; this service fetches daily
closes from the market-data service, turns weights + history into portfolio returns and hands
them over. It never writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
import talib

from quantdesk.core.clock import Clock
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.data.service import MarketDataService
from quantdesk.domain import Interval
from quantdesk.risk.covariance import (
    correlation_from_covariance,
    ewma_covariance,
    ledoit_wolf,
    sample_covariance,
)
from quantdesk.risk.metrics import RiskMetrics, summary
from quantdesk.risk.montecarlo import ValueSimulation, simulate_portfolio_value
from quantdesk.risk.sizing import (
    PositionSize,
    RiskParityResult,
    VolatilityTarget,
    atr_stop_size,
    fixed_fractional_size,
    kelly_fraction,
    kelly_from_returns,
    risk_parity_weights,
    volatility_target,
)
from quantdesk.risk.stress import (
    HISTORICAL_SCENARIOS,
    Position,
    StressResult,
    run_historical_stress,
    shock_stress,
)
from quantdesk.risk.var import ComponentVaR, VaRResult, component_var, value_at_risk

VaRMethod = Literal[
    "historical",
    "parametric",
    "cornish_fisher",
    "mc_normal",
    "mc_student_t",
    "mc_bootstrap",
    "mc_filtered",
]
CovarianceMethod = Literal["sample", "ewma", "ledoit_wolf"]
DEFAULT_PROXY = "SPX"


@dataclass(frozen=True, slots=True)
class RiskReport:
    """What :meth:`RiskService.calculate` returns."""

    symbols: tuple[str, ...]
    weights: dict[str, float]
    start: date
    end: date
    observations: int
    metrics: RiskMetrics
    var: tuple[VaRResult, ...]
    components: ComponentVaR | None
    covariance_method: CovarianceMethod
    covariance: pd.DataFrame
    correlation: pd.DataFrame
    benchmark: str | None = None
    synthetic: tuple[str, ...] = ()


SizingMethod = Literal["fixed_fractional", "atr", "kelly", "volatility_target", "risk_parity"]


@dataclass(frozen=True, slots=True)
class SizingResult:
    """A position size, a Kelly fraction, an exposure scale or risk-parity weights."""

    method: SizingMethod
    position: PositionSize | None = None
    fraction: float | None = None
    volatility_target: VolatilityTarget | None = None
    risk_parity: RiskParityResult | None = None
    symbols: tuple[str, ...] = ()
    inputs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StressReport:
    """Historical scenarios and user shocks applied to one set of weights."""

    weights: dict[str, float]
    historical: tuple[StressResult, ...]
    shocks: StressResult | None
    proxies: dict[str, str] = field(default_factory=dict)


def _fail(location: str, reason: str, field_name: str | None = None) -> ValidationError:
    return ValidationError("risk request rejected", [Issue(location, reason, field=field_name)])


def _normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    if not weights:
        raise _fail("weights", "give at least one symbol with a weight", "weights")
    cleaned: dict[str, float] = {}
    for symbol, weight in weights.items():
        if not np.isfinite(weight):
            raise _fail(f"weights.{symbol}", "must be a finite number", "weights")
        cleaned[symbol.strip().upper()] = float(weight)
    return cleaned


class RiskService:
    """Risk analytics on stored daily closes."""

    def __init__(self, market: MarketDataService, clock: Clock) -> None:
        self._market = market
        self._clock = clock

    def closes(
        self,
        symbols: Sequence[str],
        *,
        start: date | None = None,
        end: date | None = None,
        lookback_days: int | None = None,
    ) -> pd.DataFrame:
        """Return aligned daily closes (dates where every symbol traded), oldest first."""
        begin = datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None
        finish = (
            datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1) if end else None
        )
        frame = self._market.closes(symbols, begin, finish).to_pandas()
        prices = frame.set_index(pd.DatetimeIndex(frame.pop("date"))).dropna(how="any")
        if lookback_days is not None:
            prices = prices.iloc[-(lookback_days + 1) :]
        if len(prices) < 3:
            raise _fail(
                "symbols",
                f"{', '.join(symbols)} share fewer than 3 trading days in the window; widen "
                "start/end or pick symbols whose histories overlap",
                "symbols",
            )
        return prices

    def returns(
        self,
        symbols: Sequence[str],
        *,
        start: date | None = None,
        end: date | None = None,
        lookback_days: int | None = None,
    ) -> pd.DataFrame:
        """Return aligned simple daily returns of ``symbols``."""
        prices = self.closes(symbols, start=start, end=end, lookback_days=lookback_days)
        return prices.pct_change().iloc[1:]

    def calculate(
        self,
        weights: Mapping[str, float],
        *,
        benchmark: str | None = None,
        start: date | None = None,
        end: date | None = None,
        lookback_days: int | None = 756,
        confidence: float = 0.95,
        horizon: int = 1,
        methods: Sequence[VaRMethod] = ("historical", "parametric", "cornish_fisher"),
        portfolio_value: float | None = None,
        risk_free: float = 0.0,
        covariance_method: CovarianceMethod = "ledoit_wolf",
        n_paths: int = 20_000,
        seed: int | None = 7,
    ) -> RiskReport:
        """Metrics, VaR/CVaR by each method, component VaR and covariance for ``weights``."""
        held = _normalise_weights(weights)
        symbols = list(held)
        wanted = [*symbols, *([benchmark.upper()] if benchmark else [])]
        asset_returns = self.returns(
            list(dict.fromkeys(wanted)), start=start, end=end, lookback_days=lookback_days
        )
        bench = asset_returns[benchmark.upper()] if benchmark else None
        panel = asset_returns[symbols]
        vector = np.array([held[s] for s in symbols])
        portfolio = pd.Series(panel.to_numpy() @ vector, index=panel.index, name="portfolio")
        metrics = summary(portfolio, bench, risk_free=risk_free)
        results = tuple(
            value_at_risk(
                panel,
                confidence,
                horizon,
                method=method,
                weights=vector,
                portfolio_value=portfolio_value,
                n_paths=n_paths,
                seed=seed,
            )
            for method in dict.fromkeys(methods)
        )
        components = (
            component_var(panel, vector, confidence, horizon, portfolio_value=portfolio_value)
            if len(symbols) > 1
            else None
        )
        estimators: dict[str, Any] = {
            "sample": sample_covariance,
            "ewma": ewma_covariance,
            "ledoit_wolf": ledoit_wolf,
        }
        covariance = pd.DataFrame(
            estimators[covariance_method](panel), index=symbols, columns=symbols
        )
        correlation = pd.DataFrame(
            correlation_from_covariance(covariance), index=symbols, columns=symbols
        )
        return RiskReport(
            symbols=tuple(symbols),
            weights=held,
            start=panel.index[0].date(),
            end=panel.index[-1].date(),
            observations=len(panel),
            metrics=metrics,
            var=results,
            components=components,
            covariance_method=covariance_method,
            covariance=covariance,
            correlation=correlation,
            benchmark=benchmark.upper() if benchmark else None,
            synthetic=tuple(s for s in wanted if self._market.resolve(s).synthetic),
        )

    def stress(
        self,
        weights: Mapping[str, float],
        *,
        scenarios: Sequence[str] | None = None,
        shocks: Mapping[str, float] | None = None,
        proxies: Mapping[str, str] | None = None,
        portfolio_value: float | None = None,
    ) -> StressReport:
        """Replay historical crises on ``weights`` and apply user-defined shocks.

        Symbols without history over a scenario fall back to their proxy (``SPX`` by default,
        when stored) and are otherwise reported as not covered.
        """
        held = _normalise_weights(weights)
        chosen = list(scenarios) if scenarios is not None else list(HISTORICAL_SCENARIOS)
        unknown = [name for name in chosen if name not in HISTORICAL_SCENARIOS]
        if unknown:
            raise _fail(
                "scenarios",
                f"unknown scenario(s) {', '.join(unknown)}; choose from "
                f"{', '.join(HISTORICAL_SCENARIOS)}",
                "scenarios",
            )
        mapping = {s: p.upper() for s, p in (proxies or {}).items()}
        if proxies is None and self._has(DEFAULT_PROXY):
            mapping = {s: DEFAULT_PROXY for s in held if s != DEFAULT_PROXY}
        historical: tuple[StressResult, ...] = ()
        if chosen:
            columns = list(dict.fromkeys([*held, *mapping.values()]))
            frame = self._market.closes(columns).to_pandas()
            prices = frame.set_index(pd.DatetimeIndex(frame.pop("date")))
            results = run_historical_stress(
                held, prices, chosen, proxies=mapping or None, portfolio_value=portfolio_value
            )
            historical = tuple(results.values())
        applied = None
        if shocks:
            positions = []
            for symbol, weight in held.items():
                instrument = self._market.resolve(symbol)
                positions.append(
                    Position(
                        symbol=symbol,
                        weight=weight,
                        asset_class=instrument.asset_class.value,
                        sector=instrument.sector,
                    )
                )
            applied = shock_stress(positions, shocks, portfolio_value=portfolio_value)
        return StressReport(weights=held, historical=historical, shocks=applied, proxies=mapping)

    def simulate(
        self,
        *,
        initial_value: float,
        periods: int,
        expected_return: float | None = None,
        volatility: float | None = None,
        weights: Mapping[str, float] | None = None,
        lookback_days: int | None = 2520,
        contribution: float = 0.0,
        contribution_every: int = 1,
        goal: float | None = None,
        floor: float | None = None,
        n_paths: int = 10_000,
        seed: int | None = 7,
    ) -> ValueSimulation:
        """Simulate future portfolio value: GBM from ``expected_return``/``volatility`` per
        period, or a bootstrap of the historical daily returns of ``weights``."""
        historical = None
        if weights:
            held = _normalise_weights(weights)
            panel = self.returns(list(held), lookback_days=lookback_days)
            vector = np.array([held[s] for s in held])
            historical = panel.to_numpy() @ vector
        elif expected_return is None or volatility is None:
            raise _fail(
                "expected_return",
                "give expected_return and volatility (per period), or weights to bootstrap "
                "their history",
                "expected_return",
            )
        return simulate_portfolio_value(
            initial_value,
            periods,
            expected_return=None if historical is not None else expected_return,
            volatility=None if historical is not None else volatility,
            historical_returns=historical,
            contribution=contribution,
            contribution_every=contribution_every,
            n_paths=n_paths,
            goal=goal,
            floor=floor,
            seed=seed,
        )

    def position_size(
        self,
        method: SizingMethod,
        *,
        equity: float | None = None,
        entry_price: float | None = None,
        stop_price: float | None = None,
        risk_fraction: float = 0.01,
        side: Literal["long", "short"] = "long",
        whole_shares: bool = True,
        symbol: str | None = None,
        atr_period: int = 14,
        atr_multiple: float = 2.0,
        win_probability: float | None = None,
        win_loss_ratio: float | None = None,
        kelly_fraction_of: float = 0.5,
        target_volatility: float = 0.10,
        lookback_days: int = 63,
        symbols: Sequence[str] | None = None,
    ) -> SizingResult:
        """Size a position (or weights) by ``method``; symbols' inputs come from stored bars.

        ``fixed_fractional``: risk ``risk_fraction`` of ``equity`` between entry and stop.
        ``atr``: stop ``atr_multiple`` x ATR(``atr_period``) of ``symbol`` away from entry.
        ``kelly``: from ``win_probability``/``win_loss_ratio``, or from ``symbol``'s daily
        returns, scaled by ``kelly_fraction_of``. ``volatility_target``: exposure scale for
        ``symbol``. ``risk_parity``: equal-risk weights of ``symbols``.
        """
        if method in ("fixed_fractional", "atr"):
            if equity is None or entry_price is None:
                raise _fail("equity", "give equity and entry_price", "equity")
            if method == "fixed_fractional":
                if stop_price is None:
                    raise _fail("stop_price", "give the stop price", "stop_price")
                size = fixed_fractional_size(
                    equity,
                    entry_price,
                    stop_price,
                    risk_fraction,
                    side=side,
                    whole_shares=whole_shares,
                )
                return SizingResult(method=method, position=size)
            atr = self._atr(self._need(symbol, "symbol"), atr_period)
            size = atr_stop_size(
                equity,
                entry_price,
                atr,
                multiple=atr_multiple,
                risk_fraction=risk_fraction,
                side=side,
                whole_shares=whole_shares,
            )
            return SizingResult(method=method, position=size, inputs={"atr": atr})
        if method == "kelly":
            if win_probability is not None and win_loss_ratio is not None:
                value = kelly_fraction(win_probability, win_loss_ratio, fraction=kelly_fraction_of)
            else:
                daily = self.returns([self._need(symbol, "symbol")], lookback_days=lookback_days)
                value = kelly_from_returns(daily.iloc[:, 0], fraction=kelly_fraction_of)
            return SizingResult(method=method, fraction=value)
        if method == "volatility_target":
            daily = self.returns(
                [self._need(symbol, "symbol")], lookback_days=max(lookback_days, 3)
            )
            target = volatility_target(
                daily.iloc[:, 0], target_volatility, lookback=min(lookback_days, len(daily))
            )
            return SizingResult(method=method, volatility_target=target)
        if not symbols or len(symbols) < 2:
            raise _fail("symbols", "risk parity needs at least two symbols", "symbols")
        panel = self.returns(list(symbols), lookback_days=lookback_days)
        parity = risk_parity_weights(pd.DataFrame(ledoit_wolf(panel), index=panel.columns))
        return SizingResult(method=method, risk_parity=parity, symbols=tuple(panel.columns))

    def _atr(self, symbol: str, period: int) -> float:
        page = self._market.history(symbol, Interval.D1, limit=None)
        bars = page.bars.tail(period * 10)
        if bars["high"].null_count() or len(bars) <= period:
            raise _fail(
                "symbol",
                f"{symbol} has no high/low history (close-only or too short) for ATR({period}); "
                "use fixed_fractional with an explicit stop",
                "symbol",
            )
        values = talib.ATR(
            bars["high"].to_numpy().astype(float),
            bars["low"].to_numpy().astype(float),
            bars["close"].to_numpy().astype(float),
            timeperiod=period,
        )
        return float(values[-1])

    @staticmethod
    def _need(value: str | None, name: str) -> str:
        if not value:
            raise _fail(name, f"this sizing method needs '{name}'", name)
        return value

    def _has(self, symbol: str) -> bool:
        return bool(self._market.series(symbol))
