"""Built-in strategies and the registry that builds any of them by name with typed params.

Every built-in trades each symbol on that symbol's own bars with
:meth:`~quantdesk.backtest.strategy.Context.order_target_percent`, long-only and all-in at
``weight`` of equity (default 0.95, leaving room for a gap between the deciding close and the
next open). Signals use the streaming indicators, so they match TA-Lib's batch values.

=====================  ==========================================================================
name                   rule
=====================  ==========================================================================
sma_cross              long when SMA(fast) crosses above SMA(slow), flat when it crosses below
ema_cross              the same with EMAs
rsi_reversion          long when RSI(period) < lower, flat when RSI > upper
bollinger_breakout     long when the close is above the upper band, flat below the middle band
donchian_trend         long on a close above the previous bar's ``period``-bar high, flat on a
                       close below the previous bar's low
fixed_weight_rebalance hold ``weights`` (per symbol), re-sized on the symbol's first bar and
                       every ``every`` bars after
expression             screener-language rules: long when ``entry`` fires while flat, flat when
                       ``exit`` fires while long (without ``exit``: as soon as ``entry`` stops
                       holding)
=====================  ==========================================================================

With bars of several intervals, the built-ins decide on each symbol's trading (finest) interval
only and ignore coarser bars.

``expression`` evaluates its conditions with
:class:`~quantdesk.signals.expressions.StreamingExpression`, one per symbol and rule, advanced
once per trading bar (nothing is recomputed over the history), so a condition's value at a bar
equals the screener's batch value at that bar. Only the rule of the current state is checked:
``entry`` while flat (no position and no working entry order), ``exit`` while long; a position
of the other sign (opened by hand) is left alone. Missing volume is fed as 0, as in
:meth:`~quantdesk.backtest.strategy.Context.indicator`. Both texts are compiled when the
strategy is built: a syntax error, an unknown function or an indicator without a streaming
version raises a ``ValidationError`` whose field is ``entry`` or ``exit`` and whose reason is
the parser's ``at column N: ...`` message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from quantdesk.backtest.strategy import Context, Strategy
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.indicators.streaming import StreamingIndicator
from quantdesk.signals.expressions import Expression, StreamingExpression, compile_expression

__all__ = [
    "BollingerBreakout",
    "BollingerBreakoutParams",
    "CrossParams",
    "DonchianTrend",
    "DonchianTrendParams",
    "EmaCross",
    "ExpressionParams",
    "ExpressionStrategy",
    "FixedWeightRebalance",
    "FixedWeightRebalanceParams",
    "RsiReversion",
    "RsiReversionParams",
    "SmaCross",
    "StrategySpec",
    "make_strategy",
    "strategy_names",
    "strategy_spec",
]

_Weight = Field(default=0.95, gt=0.0, le=10.0, description="target fraction of equity")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrossParams(_Params):
    """Moving-average crossover: ``fast`` < ``slow`` periods (bars)."""

    fast: int = Field(default=10, ge=1, le=10_000)
    slow: int = Field(default=30, ge=2, le=10_000)
    weight: float = _Weight

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


class RsiReversionParams(_Params):
    """RSI mean reversion: buy below ``lower``, exit above ``upper``."""

    period: int = Field(default=14, ge=2, le=1_000)
    lower: float = Field(default=30.0, gt=0.0, lt=100.0)
    upper: float = Field(default=70.0, gt=0.0, lt=100.0)
    weight: float = _Weight

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class BollingerBreakoutParams(_Params):
    """Bollinger breakout over ``period`` bars with bands ``nbdev`` deviations wide."""

    period: int = Field(default=20, ge=2, le=10_000)
    nbdev: float = Field(default=2.0, gt=0.0, le=10.0)
    weight: float = _Weight


class DonchianTrendParams(_Params):
    """Donchian channel breakout over ``period`` bars."""

    period: int = Field(default=20, ge=2, le=10_000)
    weight: float = _Weight


class FixedWeightRebalanceParams(_Params):
    """Constant weights per symbol, re-sized every ``every`` bars of the symbol."""

    weights: dict[str, float] = Field(min_length=1)
    every: int = Field(default=21, ge=1, le=100_000)

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        for symbol, weight in self.weights.items():
            if not (math.isfinite(weight) and -10.0 <= weight <= 10.0):
                raise ValueError(f"weight of {symbol!r} must be in [-10, 10], got {weight}")
        return self


class ExpressionParams(_Params):
    """Screener-language rules: ``entry`` opens a long position, ``exit`` closes it.

    Without ``exit`` the position is closed as soon as ``entry`` stops holding.
    """

    entry: str = Field(
        min_length=1,
        max_length=4_000,
        description="condition (screener language) that opens a long position when flat",
    )
    exit: str | None = Field(
        default=None,
        min_length=1,
        max_length=4_000,
        description="condition that closes the long position; default: entry no longer holds",
    )
    weight: float = _Weight

    @field_validator("entry", "exit")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                _compile_rule(value, info.field_name or "entry")
            except ValidationError as error:
                reason = "; ".join(issue.reason for issue in error.issues)
                raise PydanticCustomError("expression", "{reason}", {"reason": reason}) from None
        return value


def _compile_rule(text: str, field: str) -> Expression:
    """Return the compiled condition, checked to have a streaming version.

    Raises
    ------
    ValidationError
        Location ``strategy.expression``, field ``field``, the parser's reason.
    """
    try:
        compiled = compile_expression(text)
        StreamingExpression(compiled)
    except ValidationError as error:
        issues = [Issue("strategy.expression", issue.reason, field) for issue in error.issues]
        raise ValidationError(f"invalid {field} expression {text!r}", issues) from None
    return compiled


class _Indicators(Strategy):
    """A strategy that keeps, per symbol, the streaming indicators it reads on every bar.

    ``_indicators`` returns those ``_wanted`` names, asking the context for them once per
    symbol and run (``ctx.stream``) instead of looking them up on every bar; a new context
    (another run of the same strategy) starts afresh.
    """

    def __init__(self) -> None:
        self._context: Context | None = None
        self._handles: dict[str, tuple[StreamingIndicator, ...]] = {}

    def _wanted(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        # (indicator name, parameters) pairs the strategy reads, in order
        return ()

    def on_start(self, ctx: Context) -> None:
        self._context, self._handles = ctx, {}

    def on_stop(self, ctx: Context) -> None:
        self._context, self._handles = None, {}

    def _indicators(self, ctx: Context, symbol: str) -> tuple[StreamingIndicator, ...]:
        # the _wanted indicators on the symbol's trading interval
        if ctx is self._context:
            handles = self._handles.get(symbol)
            if handles is not None:
                return handles
        else:
            self._context, self._handles = ctx, {}
        handles = tuple(ctx.stream(name, symbol, **params) for name, params in self._wanted())
        self._handles[symbol] = handles
        return handles


class _Cross(_Indicators):
    kind = "sma"

    def __init__(self, params: CrossParams) -> None:
        super().__init__()
        self.params = params
        self._previous: dict[str, tuple[float, float]] = {}

    def _wanted(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        return (
            (self.kind, {"timeperiod": self.params.fast}),
            (self.kind, {"timeperiod": self.params.slow}),
        )

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self._previous.clear()

    def on_bar(self, ctx: Context) -> None:
        if not ctx.is_trading_bar:
            return
        symbol = ctx.bar.symbol
        handles = self._indicators(ctx, symbol)
        fast_value, slow_value = handles[0].value, handles[1].value
        fast = float(fast_value[0] if isinstance(fast_value, tuple) else fast_value)
        slow = float(slow_value[0] if isinstance(slow_value, tuple) else slow_value)
        previous = self._previous.get(symbol)
        self._previous[symbol] = (fast, slow)
        if previous is None or math.isnan(previous[1]) or math.isnan(slow):
            return
        if previous[0] <= previous[1] and fast > slow:
            ctx.order_target_percent(symbol, self.params.weight)
        elif previous[0] >= previous[1] and fast < slow:
            ctx.order_target_percent(symbol, 0.0)


class SmaCross(_Cross):
    """Long on an SMA(fast) cross above SMA(slow), flat on the cross below."""

    name = "sma_cross"
    kind = "sma"


class EmaCross(_Cross):
    """Long on an EMA(fast) cross above EMA(slow), flat on the cross below."""

    name = "ema_cross"
    kind = "ema"


class RsiReversion(_Indicators):
    """Long when RSI falls below ``lower``, flat once it rises above ``upper``."""

    name = "rsi_reversion"

    def __init__(self, params: RsiReversionParams) -> None:
        super().__init__()
        self.params = params

    def _wanted(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        return (("rsi", {"timeperiod": self.params.period}),)

    def on_bar(self, ctx: Context) -> None:
        if not ctx.is_trading_bar:
            return
        symbol = ctx.bar.symbol
        rsi = float(_scalar(self._indicators(ctx, symbol)[0].value))
        if math.isnan(rsi):
            return
        held = ctx.position(symbol) + ctx.pending_quantity(symbol)
        if rsi < self.params.lower and held == 0:
            ctx.order_target_percent(symbol, self.params.weight)
        elif rsi > self.params.upper and held > 0:
            ctx.order_target_percent(symbol, 0.0)


class BollingerBreakout(_Indicators):
    """Long on a close above the upper band, flat on a close below the middle band."""

    name = "bollinger_breakout"

    def __init__(self, params: BollingerBreakoutParams) -> None:
        super().__init__()
        self.params = params

    def _wanted(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        p = self.params
        return (("bbands", {"timeperiod": p.period, "nbdevup": p.nbdev, "nbdevdn": p.nbdev}),)

    def on_bar(self, ctx: Context) -> None:
        if not ctx.is_trading_bar:
            return
        p = self.params
        bar = ctx.bar
        symbol = bar.symbol
        bands = self._indicators(ctx, symbol)[0].value
        assert isinstance(bands, tuple)
        upper, middle = float(bands[0]), float(bands[1])
        if math.isnan(upper):
            return
        close = bar.close
        held = ctx.position(symbol) + ctx.pending_quantity(symbol)
        if close > upper and held == 0:
            ctx.order_target_percent(symbol, p.weight)
        elif close < middle and held > 0:
            ctx.order_target_percent(symbol, 0.0)


class DonchianTrend(_Indicators):
    """Long on a close above the previous ``period``-bar high, flat below the previous low."""

    name = "donchian_trend"

    def __init__(self, params: DonchianTrendParams) -> None:
        super().__init__()
        self.params = params
        self._previous: dict[str, tuple[float, float]] = {}

    def _wanted(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        return (("donchian", {"timeperiod": self.params.period}),)

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self._previous.clear()

    def on_bar(self, ctx: Context) -> None:
        if not ctx.is_trading_bar:
            return
        bar = ctx.bar
        symbol = bar.symbol
        channel = self._indicators(ctx, symbol)[0].value
        assert isinstance(channel, tuple)
        previous = self._previous.get(symbol)
        self._previous[symbol] = (float(channel[0]), float(channel[2]))
        if previous is None or math.isnan(previous[0]):
            return
        close = bar.close
        held = ctx.position(symbol) + ctx.pending_quantity(symbol)
        if close > previous[0] and held == 0:
            ctx.order_target_percent(symbol, self.params.weight)
        elif close < previous[1] and held > 0:
            ctx.order_target_percent(symbol, 0.0)


class FixedWeightRebalance(Strategy):
    """Hold fixed weights, re-sizing each symbol on its first bar and every ``every`` bars."""

    name = "fixed_weight_rebalance"

    def __init__(self, params: FixedWeightRebalanceParams) -> None:
        self.params = params
        self._weights = {normalize_symbol(s): w for s, w in params.weights.items()}

    def on_bar(self, ctx: Context) -> None:
        if not ctx.is_trading_bar:
            return
        weight = self._weights.get(ctx.symbol)
        if weight is None:
            return
        if (ctx.bars_seen(ctx.symbol) - 1) % self.params.every == 0:
            ctx.order_target_percent(ctx.symbol, weight)


class ExpressionStrategy(Strategy):
    """Long when the ``entry`` condition fires while flat, flat when ``exit`` fires while long.

    Conditions are in the screener language (``crosses_above(sma(20), sma(50))``,
    ``rsi(14) < 30 and close > sma(200)``); without ``exit`` the position is closed once
    ``entry`` stops holding. Sizing as the other built-ins: ``weight`` of equity, whole shares.

    Raises
    ------
    ValidationError
        When ``entry`` or ``exit`` does not compile or has no streaming version; the issue's
        field names the rule.
    """

    name = "expression"

    def __init__(self, params: ExpressionParams) -> None:
        self.params = params
        self._entry = _compile_rule(params.entry, "entry")
        self._exit = None if params.exit is None else _compile_rule(params.exit, "exit")
        self._streams: dict[str, tuple[StreamingExpression, StreamingExpression | None]] = {}

    def on_start(self, ctx: Context) -> None:
        self._streams.clear()

    def on_bar(self, ctx: Context) -> None:
        if not ctx.is_trading_bar:
            return
        bar = ctx.bar
        streams = self._streams.get(bar.symbol)
        if streams is None:
            exit_stream = None if self._exit is None else StreamingExpression(self._exit)
            streams = (StreamingExpression(self._entry), exit_stream)
            self._streams[bar.symbol] = streams
        close = float(bar.close)
        values = (
            close if bar.open is None else float(bar.open),
            close if bar.high is None else float(bar.high),
            close if bar.low is None else float(bar.low),
            close,
            0.0 if bar.volume is None else float(bar.volume),
            int(bar.ts.timestamp() * 1_000_000),
        )
        entry = streams[0].update(*values) is True
        leave = (not entry) if streams[1] is None else streams[1].update(*values) is True
        held = ctx.position(bar.symbol) + ctx.pending_quantity(bar.symbol)
        if abs(held) < 1e-9 and entry:
            ctx.order_target_percent(bar.symbol, self.params.weight)
        elif held > 1e-9 and leave:
            ctx.order_target_percent(bar.symbol, 0.0)


def _scalar(value: float | tuple[float, ...]) -> float:
    return value[0] if isinstance(value, tuple) else value


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A registered strategy: its name, parameter model and factory."""

    name: str
    params: type[BaseModel]
    factory: Callable[[Any], Strategy]
    description: str

    def schema(self) -> dict[str, Any]:
        """Return the JSON schema of the parameters (bounds included)."""
        return self.params.model_json_schema()


_REGISTRY: dict[str, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec("sma_cross", CrossParams, SmaCross, SmaCross.__doc__ or ""),
        StrategySpec("ema_cross", CrossParams, EmaCross, EmaCross.__doc__ or ""),
        StrategySpec("rsi_reversion", RsiReversionParams, RsiReversion, RsiReversion.__doc__ or ""),
        StrategySpec(
            "bollinger_breakout",
            BollingerBreakoutParams,
            BollingerBreakout,
            BollingerBreakout.__doc__ or "",
        ),
        StrategySpec(
            "donchian_trend", DonchianTrendParams, DonchianTrend, DonchianTrend.__doc__ or ""
        ),
        StrategySpec(
            "fixed_weight_rebalance",
            FixedWeightRebalanceParams,
            FixedWeightRebalance,
            FixedWeightRebalance.__doc__ or "",
        ),
        StrategySpec(
            "expression",
            ExpressionParams,
            ExpressionStrategy,
            "Long when the entry condition fires while flat, flat when exit fires while long.",
        ),
    )
}


def strategy_names() -> tuple[str, ...]:
    """Return the registered strategy names, sorted."""
    return tuple(sorted(_REGISTRY))


def strategy_spec(name: str) -> StrategySpec:
    """Return the registered strategy ``name``.

    Raises
    ------
    ValidationError
        For an unknown name; the issue lists the valid ones.
    """
    spec = _REGISTRY.get(str(name).strip().lower())
    if spec is None:
        valid = ", ".join(strategy_names())
        raise ValidationError(
            f"unknown strategy {name!r}",
            [Issue("strategy", f"unknown strategy {name!r}; choose one of {valid}", "name")],
        )
    return spec


def make_strategy(name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Strategy:
    """Return a fresh built-in strategy ``name`` with validated parameters.

    Parameters come from ``params`` and/or keyword arguments (keywords win); missing ones take
    their defaults.

    Raises
    ------
    ValidationError
        For an unknown strategy, an unknown parameter or a value out of bounds; each issue's
        location is ``strategy.<name>`` and its field the parameter.
    """
    spec = strategy_spec(name)
    given = {**(params or {}), **kwargs}
    try:
        model = spec.params.model_validate(given)
    except pydantic.ValidationError as error:
        issues = [
            Issue(
                f"strategy.{spec.name}",
                item["msg"],
                ".".join(str(part) for part in item["loc"]) or None,
            )
            for item in error.errors()
        ]
        raise ValidationError(f"invalid parameters for strategy {spec.name!r}", issues) from None
    return spec.factory(model)
