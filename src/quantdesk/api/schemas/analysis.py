"""Technical-analysis wire models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from quantdesk.indicators.registry import IndicatorSpec
from quantdesk.signals.events import SignalEvent
from quantdesk.signals.patterns import Level


class ParamPublic(BaseModel):
    """A parameter of an indicator."""

    name: str
    kind: Literal["int", "float"]
    default: float
    minimum: float | None
    maximum: float | None
    description: str


class IndicatorPublic(BaseModel):
    """A registry entry."""

    name: str
    group: str
    display_name: str
    source: str
    inputs: list[str]
    params: list[ParamPublic]
    outputs: list[str]

    @classmethod
    def of(cls, spec: IndicatorSpec) -> IndicatorPublic:
        """Return the wire model of ``spec``."""
        return cls(
            name=spec.name,
            group=spec.group,
            display_name=spec.display_name,
            source=spec.source,
            inputs=list(spec.inputs),
            params=[
                ParamPublic(
                    name=p.name,
                    kind=p.kind,
                    default=float(p.default),
                    minimum=p.minimum,
                    maximum=p.maximum,
                    description=p.description,
                )
                for p in spec.params
            ],
            outputs=list(spec.outputs),
        )


class IndicatorsPublic(BaseModel):
    """The indicator registry."""

    data: list[IndicatorPublic]
    count: int


class IndicatorCall(BaseModel):
    """One indicator to compute."""

    name: Annotated[str, Field(min_length=1, max_length=64, examples=["rsi"])]
    params: dict[str, float] = Field(default_factory=dict, examples=[{"timeperiod": 14}])


class TechnicalRequest(BaseModel):
    """Indicators to compute on one symbol over a range."""

    symbol: Annotated[str, Field(min_length=1, max_length=32)]
    indicators: Annotated[list[IndicatorCall], Field(min_length=1, max_length=50)]
    start: str | None = Field(default=None, description="YYYY-MM-DD or ISO 8601")
    end: str | None = Field(default=None, description="Last date (inclusive)")
    interval: str = "1d"


class SeriesPublic(BaseModel):
    """One output series."""

    indicator: str
    output: str
    values: list[float | None]


class TechnicalPublic(BaseModel):
    """Indicator series aligned on ``ts`` (null through each indicator's warm-up)."""

    symbol: str
    interval: str
    synthetic: bool
    ts: list[datetime]
    series: dict[str, SeriesPublic]


class SignalEventPublic(BaseModel):
    """A signal event with the values behind it."""

    ts: datetime
    rule: str
    direction: Literal["bullish", "bearish"]
    strength: float
    values: dict[str, Any]
    explanation: str

    @classmethod
    def of(cls, event: SignalEvent) -> SignalEventPublic:
        """Return the wire model of ``event``."""
        return cls(
            ts=event.ts,
            rule=event.rule,
            direction="bullish" if event.direction > 0 else "bearish",
            strength=event.strength,
            values=dict(event.values),
            explanation=event.explanation,
        )


class SignalsPublic(BaseModel):
    """Recent signal events of a symbol, newest first."""

    symbol: str
    synthetic: bool
    data: list[SignalEventPublic]
    count: int


class LevelPublic(BaseModel):
    """A support or resistance level."""

    price: float
    kind: str
    touches: int
    strength: float

    @classmethod
    def of(cls, level: Level) -> LevelPublic:
        """Return the wire model of ``level``."""
        return cls(
            price=level.price,
            kind=str(level.kind),
            touches=level.touches,
            strength=level.strength,
        )


class PatternsPublic(BaseModel):
    """Support/resistance levels at the latest bar and chart-pattern events."""

    symbol: str
    synthetic: bool
    last_close: float
    levels: list[LevelPublic]
    events: list[SignalEventPublic]


class ScreenRequest(BaseModel):
    """A condition to evaluate at the latest bar of every symbol of a universe."""

    expression: Annotated[
        str,
        Field(min_length=1, max_length=4000, examples=["rsi(14) < 30 and close > sma(200)"]),
    ]
    universe: list[str] | None = Field(
        default=None, max_length=5000, description="Symbols; all stored ones when omitted"
    )
    interval: str = "1d"


class ScreenMatchPublic(BaseModel):
    """A symbol that matched, with the values behind the match."""

    symbol: str
    ts: datetime | None
    values: dict[str, float | None]


class ScreenSkipPublic(BaseModel):
    """A symbol that could not be evaluated, and why."""

    symbol: str
    reason: str


class ScreenPublic(BaseModel):
    """Result of a screen."""

    expression: str
    scanned: int
    count: int
    matches: list[ScreenMatchPublic]
    skipped: list[ScreenSkipPublic]
