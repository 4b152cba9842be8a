"""The backtest specification: what to run, resolved to every default and hashed.

A :class:`BacktestSpec` names a registered strategy with its parameters, the symbols, the date
range, the capital, the costs and an optional benchmark. :meth:`BacktestSpec.resolved` fills in
every default (strategy parameters included) and sorts the symbols, so two specs that mean the
same run resolve to the same value; :meth:`BacktestSpec.spec_hash` is the SHA-256 of that
resolved value as canonical JSON. Results are stored under this hash: the same resolved spec
over the same stored bars reproduces the same result.

Costs map onto the execution core's models (:mod:`quantdesk.execution.sim`):

==================  ===========================================================================
``fee.kind``        meaning
==================  ===========================================================================
``none``            no commission
``per_share``       ``rate`` per share, at least ``minimum`` per order, at most
                    ``maximum_rate`` of the order's notional (when given)
``percent``         ``rate`` as a fraction of notional (``0.001`` = 0.1 %), at least ``minimum``
==================  ===========================================================================

==================  ===========================================================================
``slippage.kind``   meaning
==================  ===========================================================================
``none``            fills at the reference price
``fixed_bps``       ``bps`` basis points against the trader
``spread``          half of ``bps`` (a quoted spread in basis points) against the trader
``sqrt_impact``     ``coefficient * daily volatility * sqrt(quantity / ADV)``; volatility and
                    ADV come from the 20 bars before the fill, ``volatility``/``adv`` stand in
                    until there are enough
==================  ===========================================================================
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quantdesk.backtest.artifacts import spec_hash
from quantdesk.backtest.strategies import strategy_spec
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    FeeModel,
    FixedBpsSlippage,
    NoFee,
    NoSlippage,
    PercentFee,
    PerShareFee,
    SlippageModel,
    SpreadSlippage,
    SquareRootImpact,
)
from quantdesk.execution.sim.fills import MarketFill

__all__ = ["MAX_SYMBOLS", "BacktestSpec", "FeeSpec", "SlippageSpec"]

MAX_SYMBOLS = 50


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeeSpec(_Model):
    """Commission model of a backtest (see the module docstring)."""

    kind: Literal["none", "per_share", "percent"] = "none"
    rate: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    minimum: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    maximum_rate: Annotated[float | None, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = None

    def model(self) -> FeeModel:
        """Return the execution core's fee model."""
        if self.kind == "per_share":
            return PerShareFee(self.rate, self.minimum, self.maximum_rate)
        if self.kind == "percent":
            return PercentFee(self.rate, self.minimum)
        return NoFee()


class SlippageSpec(_Model):
    """Slippage model of a backtest (see the module docstring)."""

    kind: Literal["none", "fixed_bps", "spread", "sqrt_impact"] = "none"
    bps: Annotated[float, Field(ge=0.0, le=10_000.0, allow_inf_nan=False)] = 0.0
    coefficient: Annotated[float, Field(gt=0.0, le=100.0, allow_inf_nan=False)] = 1.0
    volatility: Annotated[float | None, Field(gt=0.0, le=5.0, allow_inf_nan=False)] = None
    adv: Annotated[float | None, Field(gt=0.0, allow_inf_nan=False)] = None

    def model(self) -> SlippageModel:
        """Return the execution core's slippage model."""
        if self.kind == "fixed_bps":
            return FixedBpsSlippage(self.bps)
        if self.kind == "spread":
            return SpreadSlippage(self.bps)
        if self.kind == "sqrt_impact":
            return SquareRootImpact(self.coefficient, self.volatility, self.adv)
        return NoSlippage()


class BacktestSpec(_Model):
    """Everything that defines one backtest run.

    ``start`` is inclusive and ``end`` exclusive (UTC dates); ``None`` means the first/last
    stored bar. ``params`` are the strategy's parameters by name (see
    :func:`~quantdesk.backtest.strategy_spec`); unknown names are refused.
    """

    strategy: Annotated[str, Field(min_length=1, max_length=64)]
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: Annotated[list[str], Field(min_length=1, max_length=MAX_SYMBOLS)]
    start: date | None = None
    end: date | None = None
    interval: Literal["1d"] = "1d"
    capital: Annotated[float, Field(gt=0.0, le=1e12, allow_inf_nan=False)] = 100_000.0
    fee: FeeSpec = Field(default_factory=FeeSpec)
    slippage: SlippageSpec = Field(default_factory=SlippageSpec)
    market_fill: MarketFill = MarketFill.NEXT_OPEN
    participation: Annotated[float | None, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = None
    max_leverage: Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)] = 1.0
    allow_short: bool = True
    borrow_rate: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    benchmark: Annotated[str | None, Field(min_length=1, max_length=32)] = None
    risk_free: Annotated[float, Field(ge=-0.5, le=1.0, allow_inf_nan=False)] = 0.0

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        symbols = sorted({normalize_symbol(s) for s in value})
        if len(symbols) != len(value):
            raise ValueError("symbols must be distinct")
        return symbols

    @field_validator("benchmark")
    @classmethod
    def _benchmark(cls, value: str | None) -> str | None:
        return None if value is None else normalize_symbol(value)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @classmethod
    def parse(cls, data: Any) -> BacktestSpec:
        """Validate ``data`` into a spec, raising :class:`ValidationError` naming each field."""
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            issues = [
                Issue(
                    "spec",
                    error["msg"],
                    ".".join(str(part) for part in error["loc"]) or None,
                )
                for error in exc.errors()
            ]
            raise ValidationError("invalid backtest spec", issues) from None

    def resolved(self) -> BacktestSpec:
        """Return the spec with every strategy parameter default filled in.

        Raises
        ------
        ValidationError
            For an unknown strategy or an invalid parameter, naming it.
        """
        described = strategy_spec(self.strategy)
        try:
            params = described.params.model_validate(self.params)
        except pydantic.ValidationError as exc:
            issues = [
                Issue(
                    "params",
                    error["msg"],
                    ".".join(str(part) for part in error["loc"]) or None,
                )
                for error in exc.errors()
            ]
            raise ValidationError(f"invalid parameters for {self.strategy!r}", issues) from None
        return self.model_copy(
            update={"strategy": described.name, "params": params.model_dump(mode="json")}
        )

    def spec_hash(self) -> str:
        """Return the SHA-256 of the resolved spec's canonical JSON (sorted keys, no spaces),
        as :func:`quantdesk.backtest.artifacts.spec_hash` computes it for stored results."""
        return spec_hash(self.resolved().model_dump(mode="json"))

    def execution_config(self) -> ExecutionConfig:
        """Return the execution core's fill, fee and slippage configuration."""
        return ExecutionConfig(
            fee_model=self.fee.model(),
            slippage_model=self.slippage.model(),
            market_fill=self.market_fill,
            participation=self.participation,
        )

    def account_config(self) -> AccountConfig:
        """Return the simulated account's configuration."""
        return AccountConfig(
            initial_cash=self.capital,
            max_leverage=self.max_leverage,
            allow_short=self.allow_short,
            borrow_rate=self.borrow_rate,
        )
