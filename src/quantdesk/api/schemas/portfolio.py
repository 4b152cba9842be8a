"""Portfolio wire models.

Money and quantities travel as **decimal strings** in both directions (``"123.456789"``), so
they stay exact: responses never use exponent notation, and requests accept strings or
integers but refuse JSON floats, which cannot hold every decimal. Returns, weights and other
analytics are plain JSON numbers (``null`` when undefined).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    PlainSerializer,
    WithJsonSchema,
)

from quantdesk.core.errors import Issue
from quantdesk.domain.portfolio import LotMethod, Transaction, TransactionType
from quantdesk.portfolio import (
    Allocation,
    AllocationSlice,
    BenchmarkComparison,
    ImportPreset,
    PeriodReturn,
    PortfolioConstraints,
    RebalanceOptions,
)
from quantdesk.portfolio.ports import FxRate, Portfolio
from quantdesk.portfolio.service import (
    BenchmarkReport,
    ImportOutcome,
    OptimizationSpec,
    PortfolioHoldings,
    PortfolioOptimization,
    PortfolioPerformance,
    PortfolioRebalance,
)

_WIDE = Context(prec=80)
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


def plain(value: Decimal) -> str:
    """Return ``value`` as a plain decimal string without trailing zeros or an exponent."""
    return format(value.normalize(_WIDE), "f")


def _exact(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError('expected a decimal number as a string, e.g. "123.45"')
    if isinstance(value, float):
        raise ValueError(
            'send decimal amounts as strings, e.g. "123.456789", so they stay exact '
            "(JSON numbers with a fraction are binary floats)"
        )
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 64 or not _PLAIN.match(text):
            raise ValueError(f'{value[:64]!r} is not a plain decimal number such as "123.45"')
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    return value


DecimalOut = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
"""An exact decimal, sent as a string."""

DecimalIn = Annotated[
    Decimal,
    BeforeValidator(_exact),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _DECIMAL_PATTERN, "maxLength": 64},
                {"type": "integer"},
            ],
            "examples": ["123.456789"],
        }
    ),
]
"""An exact decimal in a request: a string (or an integer); JSON floats are refused."""

Symbol = Annotated[str, Field(min_length=1, max_length=32, examples=["AAPL"])]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])]
Weight = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- portfolios


class PortfolioCreate(_Body):
    """A new portfolio."""

    name: Annotated[str, Field(min_length=1, max_length=100, examples=["Core equities"])]
    base_currency: Currency = "USD"
    benchmark_symbol: Annotated[str | None, Field(max_length=32, examples=["SPX"])] = None
    lot_method: LotMethod = LotMethod.FIFO
    allow_short: bool = False


class PortfolioUpdate(_Body):
    """Settings to change; omitted fields stay, ``benchmark_symbol: null`` removes it."""

    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    base_currency: Currency | None = None
    benchmark_symbol: Annotated[str | None, Field(max_length=32)] = None
    lot_method: LotMethod | None = None
    allow_short: bool | None = None


class PortfolioPublic(BaseModel):
    """A portfolio's settings."""

    id: str
    owner_id: str
    name: str
    base_currency: str
    benchmark_symbol: str | None
    lot_method: LotMethod
    allow_short: bool
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, portfolio: Portfolio) -> PortfolioPublic:
        """Return the wire model of ``portfolio``."""
        return cls(
            id=portfolio.id,
            owner_id=portfolio.owner_id,
            name=portfolio.name,
            base_currency=portfolio.base_currency,
            benchmark_symbol=portfolio.benchmark_symbol,
            lot_method=portfolio.lot_method,
            allow_short=portfolio.allow_short,
            created_at=portfolio.created_at,
            updated_at=portfolio.updated_at,
        )


class PortfoliosPublic(BaseModel):
    """A page of portfolios and how many there are in all."""

    data: list[PortfolioPublic]
    count: int


# --------------------------------------------------------------------------- transactions


class TransactionCreate(_Body):
    """One ledger entry. Amounts are decimal strings; every number is entered positive.

    Payments (deposit, withdrawal, dividend, interest, fee) use ``quantity: "1"`` and the
    amount as ``price`` (or shares and the per-share amount). A split puts the ratio
    (shares after / shares before) in ``quantity`` and ``price: "0"``. ``currency`` defaults
    to the portfolio's base currency.
    """

    type: TransactionType
    trade_date: date
    symbol: Annotated[str | None, Field(max_length=32, examples=["AAPL"])] = None
    quantity: DecimalIn
    price: DecimalIn
    fees: DecimalIn = Decimal(0)
    currency: Currency | None = None
    note: Annotated[str, Field(max_length=500)] = ""
    id: Annotated[
        str | None, Field(min_length=1, max_length=64, description="Your own id (optional)")
    ] = None

    def to_transaction(self, default_currency: str) -> Transaction:
        """Return the domain transaction."""
        return Transaction(
            type=self.type,
            trade_date=self.trade_date,
            symbol=self.symbol,
            quantity=self.quantity,
            price=self.price,
            fees=self.fees,
            currency=self.currency or default_currency,
            note=self.note,
            id=self.id,
        )


class TransactionPublic(BaseModel):
    """A stored transaction; ``amount`` is quantity × price, ``cash_effect`` the signed change
    of the currency's cash."""

    id: str | None
    type: TransactionType
    trade_date: date
    symbol: str | None
    quantity: DecimalOut
    price: DecimalOut
    fees: DecimalOut
    currency: str
    note: str
    amount: DecimalOut
    cash_effect: DecimalOut

    @classmethod
    def of(cls, tx: Transaction) -> TransactionPublic:
        """Return the wire model of ``tx``."""
        return cls(
            id=tx.id,
            type=tx.type,
            trade_date=tx.trade_date,
            symbol=tx.symbol,
            quantity=tx.quantity,
            price=tx.price,
            fees=tx.fees,
            currency=tx.currency,
            note=tx.note,
            amount=tx.amount,
            cash_effect=tx.cash_effect,
        )


class TransactionsPublic(BaseModel):
    """A page of transactions in entry order and how many there are in all."""

    data: list[TransactionPublic]
    count: int
    offset: int
    limit: int


class IssuePublic(BaseModel):
    """One problem with an input row."""

    location: str
    row: int | None
    field: str | None
    reason: str

    @classmethod
    def of(cls, issue: Issue) -> IssuePublic:
        """Return the wire model of ``issue``."""
        return cls(location=issue.location, row=issue.row, field=issue.field, reason=issue.reason)


class ImportedRowPublic(BaseModel):
    """A file row and the transaction it became."""

    row: int
    transaction: TransactionPublic


class ImportPublic(BaseModel):
    """What an import stored (or would store, for a dry run) and every row problem."""

    preset: ImportPreset
    dry_run: bool
    skip_bad_rows: bool
    committable: bool
    rows_read: int
    rows_ignored: int
    rows_ok: int
    rows_bad: int
    written: int
    issues: list[IssuePublic]
    transactions: list[ImportedRowPublic]

    @classmethod
    def of(cls, outcome: ImportOutcome) -> ImportPublic:
        """Return the wire model of ``outcome``."""
        return cls(
            preset=outcome.preset,
            dry_run=outcome.dry_run,
            skip_bad_rows=outcome.skip_bad_rows,
            committable=outcome.committable,
            rows_read=outcome.rows_read,
            rows_ignored=outcome.rows_ignored,
            rows_ok=len(outcome.transactions),
            rows_bad=outcome.rows_bad,
            written=outcome.written,
            issues=[IssuePublic.of(i) for i in outcome.issues],
            transactions=[
                ImportedRowPublic(row=row, transaction=TransactionPublic.of(tx))
                for row, tx in zip(outcome.row_numbers, outcome.transactions, strict=True)
            ],
        )


# --------------------------------------------------------------------------- holdings


class HoldingLinePublic(BaseModel):
    """One open position: local-currency figures, then ``*_base`` in the base currency."""

    symbol: str
    name: str | None
    asset_class: str | None
    sector: str | None
    synthetic: bool
    currency: str
    quantity: DecimalOut
    average_cost: DecimalOut | None
    cost_basis: DecimalOut
    price: DecimalOut | None
    price_time: datetime | None
    market_value: DecimalOut
    unrealized_pnl: DecimalOut
    fx_rate: DecimalOut
    market_value_base: DecimalOut
    cost_basis_base: DecimalOut
    unrealized_pnl_base: DecimalOut
    realized_pnl_base: DecimalOut
    income_base: DecimalOut
    weight: float | None
    unrealized_return: float | None


class CashLinePublic(BaseModel):
    """Cash in one currency."""

    currency: str
    balance: DecimalOut
    fx_rate: DecimalOut
    value_base: DecimalOut
    weight: float | None


class HoldingsTotalsPublic(BaseModel):
    """Totals in the base currency (realised P&L, income and fees over the whole history)."""

    market_value: DecimalOut
    cash: DecimalOut
    total_value: DecimalOut
    cost_basis: DecimalOut
    unrealized_pnl: DecimalOut
    realized_pnl: DecimalOut
    income: DecimalOut
    taxes_withheld: DecimalOut
    fees_paid: DecimalOut
    contributions: DecimalOut


class FxRatePublic(BaseModel):
    """The rate used: 1 ``currency`` = ``rate`` ``quote_currency``, dated ``day``."""

    currency: str
    quote_currency: str
    day: date
    rate: DecimalOut

    @classmethod
    def of(cls, rate: FxRate) -> FxRatePublic:
        """Return the wire model of ``rate``."""
        return cls(
            currency=rate.currency,
            quote_currency=rate.quote_currency,
            day=rate.day,
            rate=rate.rate,
        )


class HoldingsPublic(BaseModel):
    """Positions and cash at the latest prices; ``synthetic`` is true when any price comes
    from the synthetic market."""

    portfolio_id: str
    base_currency: str
    as_of: date
    lines: list[HoldingLinePublic]
    cash: list[CashLinePublic]
    totals: HoldingsTotalsPublic
    fx_rates: list[FxRatePublic]
    synthetic: bool

    @classmethod
    def of(cls, held: PortfolioHoldings) -> HoldingsPublic:
        """Return the wire model of ``held``."""
        report = held.report
        lines = []
        for line in report.lines:
            quote = held.prices.get(line.symbol)
            instrument = quote.instrument if quote is not None else None
            lines.append(
                HoldingLinePublic(
                    symbol=line.symbol,
                    name=instrument.name if instrument else None,
                    asset_class=str(instrument.asset_class) if instrument else None,
                    sector=instrument.sector if instrument else None,
                    synthetic=bool(instrument and instrument.synthetic),
                    currency=line.currency,
                    quantity=line.quantity,
                    average_cost=line.average_cost,
                    cost_basis=line.cost_basis,
                    price=line.price,
                    price_time=quote.ts if quote is not None else None,
                    market_value=line.market_value,
                    unrealized_pnl=line.unrealized_pnl,
                    fx_rate=line.fx_rate,
                    market_value_base=line.market_value_base,
                    cost_basis_base=line.cost_basis_base,
                    unrealized_pnl_base=line.unrealized_pnl_base,
                    realized_pnl_base=line.realized_pnl_base,
                    income_base=line.income_base,
                    weight=_finite(line.weight),
                    unrealized_return=_finite(line.unrealized_return),
                )
            )
        totals = report.totals
        return cls(
            portfolio_id=held.portfolio.id,
            base_currency=report.base_currency,
            as_of=held.as_of,
            lines=lines,
            cash=[
                CashLinePublic(
                    currency=c.currency,
                    balance=c.balance,
                    fx_rate=c.fx_rate,
                    value_base=c.value_base,
                    weight=_finite(c.weight),
                )
                for c in report.cash
            ],
            totals=HoldingsTotalsPublic(
                market_value=totals.market_value,
                cash=totals.cash,
                total_value=totals.total_value,
                cost_basis=totals.cost_basis,
                unrealized_pnl=totals.unrealized_pnl,
                realized_pnl=totals.realized_pnl,
                income=totals.income,
                taxes_withheld=totals.taxes_withheld,
                fees_paid=totals.fees_paid,
                contributions=totals.contributions,
            ),
            fx_rates=[FxRatePublic.of(r) for r in held.fx_rates.values()],
            synthetic=any(line.synthetic for line in lines),
        )


# --------------------------------------------------------------------------- performance


class PeriodReturnPublic(BaseModel):
    """The return over one period (``available: false`` with a ``note`` when too short)."""

    period: str
    start: date | None
    end: date | None
    total_return: float | None
    annualized_return: float | None
    since_inception: bool
    available: bool
    note: str | None

    @classmethod
    def of(cls, value: PeriodReturn) -> PeriodReturnPublic:
        """Return the wire model of ``value``."""
        return cls(
            period=value.period.value,
            start=value.start,
            end=value.end,
            total_return=_finite(value.total_return),
            annualized_return=_finite(value.annualized_return),
            since_inception=value.since_inception,
            available=value.available,
            note=value.note,
        )


class BenchmarkComparisonPublic(BaseModel):
    """Portfolio and benchmark over one period and the excess (portfolio − benchmark)."""

    period: str
    portfolio: PeriodReturnPublic
    benchmark: PeriodReturnPublic
    excess_return: float | None
    excess_annualized: float | None

    @classmethod
    def of(cls, value: BenchmarkComparison) -> BenchmarkComparisonPublic:
        """Return the wire model of ``value``."""
        return cls(
            period=value.period.value,
            portfolio=PeriodReturnPublic.of(value.portfolio),
            benchmark=PeriodReturnPublic.of(value.benchmark),
            excess_return=_finite(value.excess_return),
            excess_annualized=_finite(value.excess_annualized),
        )


class BenchmarkPublic(BaseModel):
    """The benchmark comparison, as of ``as_of`` (the last date both have)."""

    symbol: str
    as_of: date | None
    synthetic: bool
    note: str | None
    comparisons: list[BenchmarkComparisonPublic]

    @classmethod
    def of(cls, report: BenchmarkReport) -> BenchmarkPublic:
        """Return the wire model of ``report``."""
        return cls(
            symbol=report.symbol,
            as_of=report.as_of,
            synthetic=report.synthetic,
            note=report.note,
            comparisons=[BenchmarkComparisonPublic.of(c) for c in report.comparisons.values()],
        )


class AllocationSlicePublic(BaseModel):
    """One bucket: its base-currency value and weight of the total."""

    name: str
    value: DecimalOut
    weight: float | None


def _slices(slices: tuple[AllocationSlice, ...]) -> list[AllocationSlicePublic]:
    return [
        AllocationSlicePublic(name=s.name, value=s.value, weight=_finite(s.weight)) for s in slices
    ]


class AllocationPublic(BaseModel):
    """Holdings by asset class, sector and currency (cash is its own class and sector)."""

    total_value: DecimalOut
    by_asset_class: list[AllocationSlicePublic]
    by_sector: list[AllocationSlicePublic]
    by_currency: list[AllocationSlicePublic]

    @classmethod
    def of(cls, value: Allocation) -> AllocationPublic:
        """Return the wire model of ``value``."""
        return cls(
            total_value=value.total_value,
            by_asset_class=_slices(value.by_asset_class),
            by_sector=_slices(value.by_sector),
            by_currency=_slices(value.by_currency),
        )


class ValuationPointPublic(BaseModel):
    """One day of the valuation in the base currency (analytics floats)."""

    date: date
    market_value: float | None
    cash: float | None
    total_value: float | None
    net_flow: float | None
    daily_return: float | None


class PerformancePublic(BaseModel):
    """Returns of a portfolio: TWR and XIRR since inception, periods, benchmark, allocation.

    Returns are fractions (0.05 = 5%); ``money_weighted_return`` is annual.
    """

    portfolio_id: str
    base_currency: str
    start: date
    end: date
    time_weighted_return: float | None
    money_weighted_return: float | None
    money_weighted_note: str | None
    periods: list[PeriodReturnPublic]
    benchmark: BenchmarkPublic | None
    allocation: AllocationPublic
    series: list[ValuationPointPublic] | None
    synthetic: list[str]

    @classmethod
    def of(cls, result: PortfolioPerformance, *, series: bool) -> PerformancePublic:
        """Return the wire model of ``result`` (with the daily series when ``series``)."""
        points = None
        if series:
            frame = result.valuation
            daily = result.returns.to_numpy()
            points = [
                ValuationPointPublic(
                    date=stamp.date(),
                    market_value=_finite(float(row[0])),
                    cash=_finite(float(row[1])),
                    total_value=_finite(float(row[2])),
                    net_flow=_finite(float(row[3])),
                    daily_return=_finite(float(daily[i])),
                )
                for i, (stamp, row) in enumerate(
                    zip(
                        frame.index,
                        frame[["market_value", "cash", "total_value", "net_flow"]].to_numpy(),
                        strict=True,
                    )
                )
            ]
        return cls(
            portfolio_id=result.portfolio.id,
            base_currency=result.portfolio.base_currency,
            start=result.start,
            end=result.end,
            time_weighted_return=_finite(result.time_weighted_return),
            money_weighted_return=_finite(result.money_weighted_return),
            money_weighted_note=result.money_weighted_note,
            periods=[PeriodReturnPublic.of(p) for p in result.periods.values()],
            benchmark=BenchmarkPublic.of(result.benchmark) if result.benchmark else None,
            allocation=AllocationPublic.of(result.allocation),
            series=points,
            synthetic=list(result.synthetic),
        )


# --------------------------------------------------------------------------- optimisation

Bound = tuple[FiniteFloat, FiniteFloat]


class ConstraintsIn(_Body):
    """Constraints on the optimised weights (see ``quantdesk.portfolio.PortfolioConstraints``).

    Sector limits use the instruments' sectors. Turnover is measured from the current weights.
    """

    long_only: bool = True
    weight_bounds: Bound | None = Field(default=None, examples=[[0.0, 0.4]])
    symbol_bounds: Annotated[dict[Symbol, Bound] | None, Field(max_length=200)] = None
    budget: FiniteFloat = 1.0
    max_gross_exposure: FiniteFloat | None = None
    sector_limits: Annotated[
        dict[
            Annotated[str, Field(min_length=1, max_length=64)],
            tuple[FiniteFloat | None, FiniteFloat | None],
        ]
        | None,
        Field(max_length=50),
    ] = None
    max_turnover: FiniteFloat | None = None

    def to_constraints(self) -> PortfolioConstraints:
        """Return the library constraints."""
        return PortfolioConstraints(
            long_only=self.long_only,
            weight_bounds=self.weight_bounds,
            symbol_bounds=self.symbol_bounds,
            budget=self.budget,
            max_gross_exposure=self.max_gross_exposure,
            sector_limits=self.sector_limits,
            max_turnover=self.max_turnover,
        )


OptimizeMethod = Literal[
    "min_variance", "max_sharpe", "target_return", "target_risk", "min_cvar", "risk_parity", "hrp"
]


class OptimizeRequest(_Body):
    """An optimisation over daily returns of the holdings (or ``symbols``).

    Returns, volatilities and rates are annual fractions.
    """

    method: OptimizeMethod = "min_variance"
    symbols: Annotated[list[Symbol] | None, Field(min_length=2, max_length=100)] = None
    lookback: Annotated[int, Field(ge=30, le=10_000, description="Daily returns to use")] = 756
    risk_free_rate: FiniteFloat = 0.0
    target_return: FiniteFloat | None = None
    target_volatility: FiniteFloat | None = None
    cvar_confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    constraints: ConstraintsIn | None = None

    def to_spec(self) -> OptimizationSpec:
        """Return the service's specification."""
        return OptimizationSpec(
            method=self.method,
            symbols=tuple(self.symbols) if self.symbols else None,
            lookback=self.lookback,
            constraints=self.constraints.to_constraints() if self.constraints else None,
            risk_free_rate=self.risk_free_rate,
            target_return=self.target_return,
            target_volatility=self.target_volatility,
            cvar_confidence=self.cvar_confidence,
        )


class WeightPublic(BaseModel):
    """An optimised weight next to the current one (of total value, cash included)."""

    symbol: str
    weight: float | None
    current_weight: float | None


class OptimizePublic(BaseModel):
    """Optimised weights and their annualised statistics over the return window used."""

    method: str
    solver_status: str
    weights: list[WeightPublic]
    expected_return: float | None
    volatility: float | None
    sharpe_ratio: float | None
    risk_free_rate: float | None
    cvar: float | None
    turnover: float | None
    start: date
    end: date
    observations: int
    synthetic: list[str]

    @classmethod
    def of(cls, result: PortfolioOptimization) -> OptimizePublic:
        """Return the wire model of ``result``."""
        optimum = result.result
        return cls(
            method=optimum.method,
            solver_status=optimum.solver_status,
            weights=[
                WeightPublic(
                    symbol=str(symbol),
                    weight=_finite(float(weight)),
                    current_weight=_finite(result.current_weights.get(str(symbol), 0.0)),
                )
                for symbol, weight in optimum.weights.items()
            ],
            expected_return=_finite(optimum.expected_return),
            volatility=_finite(optimum.volatility),
            sharpe_ratio=_finite(optimum.sharpe_ratio),
            risk_free_rate=_finite(optimum.risk_free_rate),
            cvar=_finite(optimum.cvar),
            turnover=_finite(optimum.turnover),
            start=result.start,
            end=result.end,
            observations=result.observations,
            synthetic=list(result.synthetic),
        )


# --------------------------------------------------------------------------- rebalancing


class RebalanceOptionsIn(_Body):
    """How drift becomes trades (see ``quantdesk.portfolio.RebalanceOptions``); money in the
    base currency as decimal strings."""

    absolute_band: Annotated[float | None, Field(ge=0, le=1, allow_inf_nan=False)] = None
    relative_band: Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)] = None
    min_trade_value: DecimalIn = Decimal(0)
    whole_shares: bool = True
    fractional_places: Annotated[int, Field(ge=0, le=12)] = 6
    cash_buffer: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    cost_bps: DecimalIn = Decimal(0)
    cost_per_trade: DecimalIn = Decimal(0)
    tax_lot_aware: bool = True

    def to_options(self) -> RebalanceOptions:
        """Return the library options."""
        return RebalanceOptions(
            absolute_band=self.absolute_band,
            relative_band=self.relative_band,
            min_trade_value=self.min_trade_value,
            whole_shares=self.whole_shares,
            fractional_places=self.fractional_places,
            cash_buffer=self.cash_buffer,
            cost_bps=self.cost_bps,
            cost_per_trade=self.cost_per_trade,
            tax_lot_aware=self.tax_lot_aware,
        )


class RebalanceRequest(_Body):
    """Target weights (fractions of the total value; the rest stays cash), or an
    optimisation to take them from."""

    target_weights: Annotated[
        dict[Symbol, Weight] | None,
        Field(max_length=500, examples=[{"AAPL": 0.5, "MSFT": 0.4}]),
    ] = None
    optimize: OptimizeRequest | None = None
    options: RebalanceOptionsIn | None = None


class LotUsePublic(BaseModel):
    """The part of a tax lot a sell consumes."""

    acquired: date
    quantity: DecimalOut
    unit_cost: DecimalOut
    gain: DecimalOut
    holding_days: int
    short_term: bool


class TradePublic(BaseModel):
    """One proposed order (nothing is sent anywhere)."""

    symbol: str
    side: str
    quantity: DecimalOut
    estimated_price: DecimalOut
    notional: DecimalOut
    estimated_cost: DecimalOut
    realized_gain: DecimalOut | None
    short_term_gain: DecimalOut | None
    short_term: bool
    lots_used: list[LotUsePublic]


class SkippedPublic(BaseModel):
    """An off-target symbol left alone, and why."""

    symbol: str
    reason: str
    detail: str


def _weights(values: Mapping[str, float | Decimal]) -> dict[str, float | None]:
    return {symbol: _finite(float(value)) for symbol, value in values.items()}


class RebalancePublic(BaseModel):
    """The trade list in the base currency and the portfolio it leaves behind."""

    portfolio_id: str
    base_currency: str
    as_of: date
    total_value: DecimalOut
    residual_cash: DecimalOut
    total_estimated_cost: DecimalOut
    trades: list[TradePublic]
    current_weights: dict[str, float | None]
    target_weights: dict[str, float | None]
    post_trade_weights: dict[str, float | None]
    skipped: list[SkippedPublic]
    prices: dict[str, DecimalOut]
    optimization: OptimizePublic | None
    synthetic: list[str]

    @classmethod
    def of(cls, result: PortfolioRebalance) -> RebalancePublic:
        """Return the wire model of ``result``."""
        plan = result.plan
        return cls(
            portfolio_id=result.portfolio.id,
            base_currency=result.portfolio.base_currency,
            as_of=result.as_of,
            total_value=plan.total_value,
            residual_cash=plan.residual_cash,
            total_estimated_cost=plan.total_estimated_cost,
            trades=[
                TradePublic(
                    symbol=t.symbol,
                    side=t.side,
                    quantity=t.quantity,
                    estimated_price=t.estimated_price,
                    notional=t.notional,
                    estimated_cost=t.estimated_cost,
                    realized_gain=t.realized_gain,
                    short_term_gain=t.short_term_gain,
                    short_term=t.short_term,
                    lots_used=[
                        LotUsePublic(
                            acquired=u.acquired,
                            quantity=u.quantity,
                            unit_cost=u.unit_cost,
                            gain=u.gain,
                            holding_days=u.holding_days,
                            short_term=u.short_term,
                        )
                        for u in t.lots_used
                    ],
                )
                for t in plan.trades
            ],
            current_weights=_weights(result.current_weights),
            target_weights=_weights(result.target_weights),
            post_trade_weights=_weights(plan.post_trade_weights),
            skipped=[
                SkippedPublic(symbol=s.symbol, reason=s.reason, detail=s.detail)
                for s in plan.skipped
            ],
            prices=dict(result.prices),
            optimization=OptimizePublic.of(result.optimization) if result.optimization else None,
            synthetic=list(result.synthetic),
        )


class FxRateIn(BaseModel):
    """One daily rate: 1 ``currency`` = ``rate`` ``quote_currency`` on ``day``."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency
    quote_currency: Currency
    day: date
    rate: DecimalIn

    def to_domain(self) -> FxRate:
        """Return the domain rate."""
        return FxRate(
            currency=self.currency, quote_currency=self.quote_currency, day=self.day, rate=self.rate
        )


class FxRatesPut(BaseModel):
    """Daily FX rates to store; a rate for the same pair and day is replaced."""

    model_config = ConfigDict(extra="forbid")

    rates: Annotated[list[FxRateIn], Field(min_length=1, max_length=100_000)]


class FxRatesStored(BaseModel):
    """How many rates were stored."""

    stored: int
