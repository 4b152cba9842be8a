"""Portfolio analytics on stored ledgers: holdings, performance, optimisation, rebalancing.

:class:`PortfolioAnalytics` is the read side of
:class:`~quantdesk.portfolio.service.PortfolioService`, which extends it with settings,
transactions, CSV imports and FX rates; callers use the service. Access is the service's:
every method takes the caller's :class:`~quantdesk.auth.models.Principal`, needs
``portfolio:read`` and reports another user's portfolio as
:class:`~quantdesk.core.errors.NotFound`. Nothing here writes: optimisation and rebalancing
only recommend.

Prices and FX
    Holdings use the latest stored price of each open symbol (``MarketDataService.quote``),
    read exactly as ``Decimal(str(price))``. Other currencies convert to the base currency at
    the latest ``fx_rates`` row dated on or before today (1 ``currency`` = ``rate`` base units;
    the base currency is 1); a missing rate is an error naming the currency. Performance values
    the ledger on the daily closes of every symbol it ever held, from the first trade date to
    today (their dates form the calendar), with daily FX carried forward, and reports periods
    as of the last valuation date (the latest close), so stale data never reads as flat days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext

import pandas as pd

from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission
from quantdesk.core.clock import Clock
from quantdesk.core.errors import Issue, NotFound, PermissionDenied, ValidationError
from quantdesk.data.service import MarketDataService
from quantdesk.domain import Instrument, normalize_symbol
from quantdesk.domain.portfolio import MONEY_CONTEXT, Transaction
from quantdesk.portfolio.holdings import HoldingsReport, holdings
from quantdesk.portfolio.ledger import LedgerState, replay
from quantdesk.portfolio.optimize import (
    OptimizationMethod,
    OptimizationResult,
    PortfolioConstraints,
    optimize_portfolio,
)
from quantdesk.portfolio.performance import (
    Allocation,
    BenchmarkComparison,
    Period,
    PeriodReturn,
    allocation,
    compare_to_benchmark,
    daily_returns,
    money_weighted_return,
    period_returns,
    time_weighted_return,
    valuation_series,
)
from quantdesk.portfolio.ports import FxRate, Portfolio, PortfolioStore, PortfolioUnitOfWork
from quantdesk.portfolio.rebalance import LotView, RebalanceOptions, RebalancePlan, plan_rebalance

MIN_OBSERVATIONS = 30


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The latest stored price of a symbol, exactly as a Decimal, and when it was set."""

    symbol: str
    price: Decimal
    ts: datetime
    instrument: Instrument


@dataclass(frozen=True, slots=True)
class PortfolioHoldings:
    """Holdings valued at the latest prices, with the prices and FX rates used."""

    portfolio: Portfolio
    as_of: date
    report: HoldingsReport
    prices: Mapping[str, PriceQuote]
    fx_rates: Mapping[str, FxRate]
    state: LedgerState

    @property
    def instruments(self) -> dict[str, Instrument]:
        """Return the instrument of every priced symbol."""
        return {symbol: quote.instrument for symbol, quote in self.prices.items()}


@dataclass(frozen=True, slots=True)
class BenchmarkReport:
    """Portfolio vs benchmark per period, as of ``as_of`` (``None`` when nothing overlaps)."""

    symbol: str
    as_of: date | None
    comparisons: Mapping[Period, BenchmarkComparison]
    synthetic: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PortfolioPerformance:
    """Valuation, returns, periods, benchmark comparison and allocation of a portfolio.

    ``valuation`` is :func:`~quantdesk.portfolio.performance.valuation_series`'s frame and
    ``returns`` its daily time-weighted returns. ``money_weighted_return`` is the annual XIRR,
    ``None`` with ``money_weighted_note`` when it has no solution. ``synthetic`` names the
    symbols whose prices come from the synthetic market.
    """

    portfolio: Portfolio
    start: date
    end: date
    valuation: pd.DataFrame
    returns: pd.Series[float]
    time_weighted_return: float
    money_weighted_return: float | None
    money_weighted_note: str | None
    periods: Mapping[Period, PeriodReturn]
    benchmark: BenchmarkReport | None
    allocation: Allocation
    synthetic: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OptimizationSpec:
    """What to optimise: the objective, the universe, the lookback and the constraints.

    ``symbols`` defaults to the current long holdings; ``lookback`` is the number of daily
    returns (on the dates every symbol has a close) ending at the latest common close.
    Without ``constraints.current_weights`` the holdings' weights are used; sector limits
    use the instruments' sectors unless ``constraints.sectors`` is given.
    """

    method: OptimizationMethod = "min_variance"
    symbols: tuple[str, ...] | None = None
    lookback: int = 756
    constraints: PortfolioConstraints | None = None
    risk_free_rate: float = 0.0
    target_return: float | None = None
    target_volatility: float | None = None
    cvar_confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class PortfolioOptimization:
    """Optimised weights next to the current ones, and the return window they came from."""

    portfolio: Portfolio
    spec: OptimizationSpec
    result: OptimizationResult
    current_weights: Mapping[str, float]
    start: date
    end: date
    observations: int
    synthetic: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PortfolioRebalance:
    """A rebalance plan in the base currency; prices are the latest closes converted."""

    portfolio: Portfolio
    as_of: date
    plan: RebalancePlan
    target_weights: Mapping[str, float | Decimal]
    current_weights: Mapping[str, float]
    prices: Mapping[str, Decimal]
    optimization: PortfolioOptimization | None = None
    synthetic: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- helpers


def _at_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _symbols(symbols: Iterable[str]) -> list[str]:
    out: list[str] = []
    issues: list[Issue] = []
    for raw in symbols:
        try:
            out.append(normalize_symbol(raw))
        except ValueError as exc:
            issues.append(Issue("symbols", str(exc), field=raw))
    if issues:
        raise ValidationError("invalid symbols", issues)
    return out


def _replay(transactions: Sequence[Transaction], portfolio: Portfolio) -> LedgerState:
    return replay(
        transactions,
        base_currency=portfolio.base_currency,
        lot_method=portfolio.lot_method,
        allow_short=portfolio.allow_short,
    )


# --------------------------------------------------------------------------- analytics


class PortfolioAnalytics:
    """Holdings, performance, optimisation and rebalancing of stored portfolios.

    Parameters
    ----------
    store
        Where portfolios, transactions and FX rates live.
    market
        Instruments, latest prices and daily history.
    clock
        Today's date for valuation.
    """

    def __init__(self, store: PortfolioStore, market: MarketDataService, clock: Clock) -> None:
        self._store = store
        self._market = market
        self._clock = clock

    def today(self) -> date:
        """Return today's date (UTC) from the clock."""
        return self._clock.now().date()

    # -- access ------------------------------------------------------------------------------

    @staticmethod
    def _require(principal: Principal, permission: Permission) -> None:
        if not principal.can(permission):
            raise PermissionDenied(
                f"your role ({principal.role.value}) does not allow '{permission.value}'"
            )

    @staticmethod
    def _load(
        uow: PortfolioUnitOfWork, principal: Principal, portfolio_id: str, *, lock: bool = False
    ) -> Portfolio:
        portfolio = uow.portfolio_by_id(portfolio_id, for_update=lock)
        if portfolio is None or not principal.owns(portfolio.owner_id):
            raise NotFound(f"no portfolio {portfolio_id}")
        return portfolio

    # -- prices and FX -----------------------------------------------------------------------

    def _latest_rates(
        self, currencies: Iterable[str], base: str, today: date
    ) -> tuple[dict[str, FxRate], list[Issue]]:
        rates: dict[str, FxRate] = {}
        issues: list[Issue] = []
        with self._store.transaction() as uow:
            for currency in sorted(set(currencies) - {base}):
                found = uow.latest_fx_rate(currency, base, today)
                if found is None:
                    issues.append(
                        Issue(
                            "fx_rates",
                            f"no {currency}/{base} rate on or before {today}; add the {base} "
                            f"value of 1 {currency} to fx_rates",
                            field=currency,
                        )
                    )
                else:
                    rates[currency] = found
        return rates, issues

    # -- analytics ---------------------------------------------------------------------------

    def _ledger(
        self, principal: Principal, portfolio_id: str
    ) -> tuple[Portfolio, list[Transaction]]:
        self._require(principal, Permission.PORTFOLIO_READ)
        with self._store.transaction() as uow:
            portfolio = self._load(uow, principal, portfolio_id)
            return portfolio, uow.list_transactions(portfolio_id)

    def _quotes(self, symbols: Iterable[str]) -> tuple[dict[str, PriceQuote], list[Issue]]:
        quotes: dict[str, PriceQuote] = {}
        issues: list[Issue] = []
        for symbol in sorted(set(symbols)):
            try:
                quote = self._market.quote(symbol)
            except NotFound as exc:
                issues.append(Issue("prices", f"no price for {symbol}: {exc.message}", symbol))
                continue
            quotes[symbol] = PriceQuote(
                symbol, Decimal(str(quote.price)), quote.ts, quote.instrument
            )
        return quotes, issues

    def _value(
        self, portfolio: Portfolio, state: LedgerState, today: date, *, include_closed: bool = False
    ) -> PortfolioHoldings:
        quotes, issues = self._quotes(state.open_positions)
        rates, fx_issues = self._latest_rates(state.currencies, portfolio.base_currency, today)
        issues.extend(fx_issues)
        if issues:
            missing = ", ".join(sorted(issue.field or "" for issue in issues))
            raise ValidationError(f"cannot value the holdings (missing: {missing})", issues)
        report = holdings(
            state,
            {symbol: quote.price for symbol, quote in quotes.items()},
            fx_rates={currency: rate.rate for currency, rate in rates.items()},
            base_currency=portfolio.base_currency,
            include_closed=include_closed,
        )
        return PortfolioHoldings(portfolio, today, report, quotes, rates, state)

    def holdings(
        self, principal: Principal, portfolio_id: str, *, include_closed: bool = False
    ) -> PortfolioHoldings:
        """Return positions, cash and P&L at the latest prices, in the base currency.

        Raises
        ------
        ValidationError
            An open symbol without any stored price, or a currency without an FX rate on or
            before today (the issue names it).
        """
        portfolio, transactions = self._ledger(principal, portfolio_id)
        state = _replay(transactions, portfolio)
        return self._value(portfolio, state, self.today(), include_closed=include_closed)

    def current_weights(self, principal: Principal, portfolio_id: str) -> dict[str, float]:
        """Return each open position's share of the total value (cash included), by symbol.

        The weights sum to the invested fraction (1 minus the cash weight); values are at the
        latest prices in the base currency, as in :meth:`holdings`.
        """
        report = self.holdings(principal, portfolio_id).report
        return {line.symbol: line.weight for line in report.lines}

    def _daily_closes(self, symbol: str, start: date | None, end: date) -> pd.Series[float]:
        frame = self._market.closes(
            [symbol],
            _at_midnight(start) if start is not None else None,
            _at_midnight(end + timedelta(days=1)),
        )
        days = pd.DatetimeIndex(frame.get_column("date").to_list())
        values = frame.drop("date").to_series(0).to_numpy().astype("float64")
        series = pd.Series(values, index=days, dtype="float64").dropna()
        series.name = symbol
        return series

    def performance(self, principal: Principal, portfolio_id: str) -> PortfolioPerformance:
        """Return valuation, TWR, XIRR, period returns, benchmark comparison and allocation.

        Raises
        ------
        ValidationError
            No transactions yet, a held symbol without daily closes up to its last
            transaction, or a currency without FX rates (see the module docstring).
        """
        portfolio, transactions = self._ledger(principal, portfolio_id)
        if not transactions:
            raise ValidationError(
                "no transactions yet",
                [Issue("transactions", "record a deposit and some trades first")],
            )
        today = self.today()
        base = portfolio.base_currency
        first = min(tx.trade_date for tx in transactions)
        symbols = sorted(
            {tx.symbol for tx in transactions if tx.moves_securities and tx.symbol is not None}
        )
        columns = {symbol: self._daily_closes(symbol, first, today) for symbol in symbols}
        empty = [symbol for symbol, closes in columns.items() if closes.empty]
        if empty:
            raise ValidationError("no prices for the period", self._stale(empty, first))
        if columns:
            prices = pd.concat(columns.values(), axis=1, join="outer").sort_index()
        else:
            prices = pd.DataFrame(index=pd.bdate_range(first, max(first, today)))
        fx = self._fx_frame({tx.currency for tx in transactions}, base, today)
        valuation = valuation_series(
            transactions,
            prices,
            base_currency=base,
            fx=fx,
            lot_method=portfolio.lot_method,
            allow_short=portfolio.allow_short,
        )
        returns = daily_returns(valuation)
        as_of = pd.Timestamp(valuation.index[-1]).date()
        mwr: float | None = None
        mwr_note: str | None = None
        try:
            mwr = money_weighted_return(valuation)
        except ValidationError as exc:
            mwr_note = exc.message
        state = _replay(transactions, portfolio)
        valued = self._value(portfolio, state, today)
        benchmark = (
            self._benchmark(portfolio.benchmark_symbol, returns, first, as_of)
            if portfolio.benchmark_symbol
            else None
        )
        synthetic = tuple(s for s, q in valued.prices.items() if q.instrument.synthetic)
        return PortfolioPerformance(
            portfolio=portfolio,
            start=pd.Timestamp(valuation.index[0]).date(),
            end=as_of,
            valuation=valuation,
            returns=returns,
            time_weighted_return=time_weighted_return(returns),
            money_weighted_return=mwr,
            money_weighted_note=mwr_note,
            periods=period_returns(returns, as_of),
            benchmark=benchmark,
            allocation=allocation(valued.report, valued.instruments),
            synthetic=synthetic,
        )

    def _stale(self, symbols: Sequence[str], first: date) -> list[Issue]:
        issues = []
        for symbol in symbols:
            try:
                ends = f"its prices end on {self._market.quote(symbol).ts.date()}"
            except NotFound:
                ends = "no prices are stored for it"
            issues.append(
                Issue(
                    "prices",
                    f"{symbol} has no daily closes from {first} on ({ends}); performance needs "
                    "closes from the first transaction to the last",
                    field=symbol,
                )
            )
        return issues

    def _fx_frame(self, currencies: set[str], base: str, today: date) -> pd.DataFrame | None:
        others = sorted(currencies - {base})
        if not others:
            return None
        columns: dict[str, pd.Series[float]] = {}
        issues: list[Issue] = []
        with self._store.transaction() as uow:
            for currency in others:
                history = uow.fx_history(currency, base, end=today)
                if not history:
                    issues.append(
                        Issue(
                            "fx_rates",
                            f"no {currency}/{base} rates; add daily {base} values of 1 "
                            f"{currency} to fx_rates",
                            field=currency,
                        )
                    )
                    continue
                columns[currency] = pd.Series(
                    [float(r.rate) for r in history],
                    index=pd.DatetimeIndex([pd.Timestamp(r.day) for r in history]),
                    dtype="float64",
                )
        if issues:
            raise ValidationError("FX rates missing", issues)
        return pd.DataFrame(columns).sort_index()

    def _benchmark(
        self, symbol: str, returns: pd.Series[float], first: date, as_of: date
    ) -> BenchmarkReport:
        try:
            closes = self._daily_closes(symbol, first - timedelta(days=14), as_of)
            synthetic = self._market.resolve(symbol).synthetic
        except NotFound as exc:
            return BenchmarkReport(symbol, None, {}, note=exc.message)
        if closes.empty or closes.index[-1] < returns.index[0]:
            return BenchmarkReport(
                symbol, None, {}, synthetic, note=f"{symbol} has no daily closes in the period"
            )
        last = pd.Timestamp(closes.index[-1]).date()
        note = None
        if last < as_of:
            note = f"{symbol} closes end on {last}; the comparison is as of that date"
            as_of = last
        comparisons = compare_to_benchmark(returns, closes, as_of=as_of)
        return BenchmarkReport(symbol, as_of, comparisons, synthetic, note)

    def _returns(
        self, symbols: Sequence[str], lookback: int, today: date
    ) -> tuple[pd.DataFrame, dict[str, Instrument]]:
        issues: list[Issue] = []
        closes: dict[str, pd.Series[float]] = {}
        instruments: dict[str, Instrument] = {}
        for symbol in symbols:
            try:
                instruments[symbol] = self._market.resolve(symbol)
                closes[symbol] = self._daily_closes(symbol, None, today)
            except NotFound as exc:
                issues.append(Issue("symbols", exc.message, field=symbol))
        if issues:
            raise ValidationError("unknown symbols", issues)
        frame = pd.concat(closes.values(), axis=1, join="inner").sort_index().tail(lookback + 1)
        returns = frame.pct_change().iloc[1:]
        if len(returns) < MIN_OBSERVATIONS:
            raise ValidationError(
                "not enough history",
                [
                    Issue(
                        "lookback",
                        f"{', '.join(symbols)} share only {len(returns)} daily returns; "
                        f"at least {MIN_OBSERVATIONS} are needed, choose symbols with "
                        "overlapping history",
                    )
                ],
            )
        return returns, instruments

    def optimize(
        self, principal: Principal, portfolio_id: str, spec: OptimizationSpec | None = None
    ) -> PortfolioOptimization:
        """Optimise weights over the holdings' symbols (or ``spec.symbols``) on daily returns.

        It recommends only; nothing is traded or stored.

        Raises
        ------
        ValidationError
            Fewer than two symbols, too little common history, bad constraints or an
            infeasible problem (the issue names the constraint).
        """
        spec = spec or OptimizationSpec()
        if spec.lookback < MIN_OBSERVATIONS:
            raise ValidationError(
                "lookback too short",
                [Issue("lookback", f"use at least {MIN_OBSERVATIONS} daily returns", "lookback")],
            )
        portfolio, transactions = self._ledger(principal, portfolio_id)
        today = self.today()
        state = _replay(transactions, portfolio)
        valued = self._value(portfolio, state, today)
        current = {line.symbol: line.weight for line in valued.report.lines}
        if spec.symbols:
            universe = _symbols(spec.symbols)
        else:
            universe = sorted(s for s, p in state.open_positions.items() if p.quantity > 0)
        if len(universe) < 2:
            raise ValidationError(
                "too few symbols",
                [
                    Issue(
                        "symbols",
                        f"optimisation needs at least two symbols, got {len(universe)}; hold "
                        "two or more or list the symbols to consider",
                        field="symbols",
                    )
                ],
            )
        returns, instruments = self._returns(universe, spec.lookback, today)
        constraints = spec.constraints or PortfolioConstraints()
        if constraints.current_weights is None:
            constraints = replace(
                constraints, current_weights={s: current.get(s, 0.0) for s in universe}
            )
        if constraints.sector_limits and constraints.sectors is None:
            sectors = {s: i.sector for s, i in instruments.items() if i.sector is not None}
            constraints = replace(constraints, sectors=sectors)
        result = optimize_portfolio(
            returns,
            method=spec.method,
            constraints=constraints,
            risk_free_rate=spec.risk_free_rate,
            target_return=spec.target_return,
            target_volatility=spec.target_volatility,
            cvar_confidence=spec.cvar_confidence,
        )
        return PortfolioOptimization(
            portfolio=portfolio,
            spec=spec,
            result=result,
            current_weights={s: current.get(s, 0.0) for s in universe},
            start=pd.Timestamp(returns.index[0]).date(),
            end=pd.Timestamp(returns.index[-1]).date(),
            observations=len(returns),
            synthetic=tuple(s for s, i in instruments.items() if i.synthetic),
        )

    def rebalance(
        self,
        principal: Principal,
        portfolio_id: str,
        *,
        target_weights: Mapping[str, float | Decimal] | None = None,
        optimization: OptimizationSpec | None = None,
        options: RebalanceOptions | None = None,
    ) -> PortfolioRebalance:
        """Plan the trades from the holdings to target weights (given, or optimised now).

        Quantities, lots, latest prices and cash are taken from the ledger and converted to
        the base currency at the latest FX rates (lot costs too), so the plan is in one
        currency. It recommends only; nothing is traded or stored.

        Raises
        ------
        ValidationError
            Neither or both of ``target_weights`` and ``optimization``, unknown symbols,
            missing prices or FX, negative cash or short positions, or bad options.
        """
        if (target_weights is None) == (optimization is None):
            raise ValidationError(
                "choose the targets",
                [
                    Issue(
                        "target_weights",
                        "give either target weights or an optimisation to derive them from",
                        field="target_weights",
                    )
                ],
            )
        optimized = None
        if optimization is not None:
            optimized = self.optimize(principal, portfolio_id, optimization)
            targets: dict[str, float | Decimal] = {
                str(symbol): float(weight) for symbol, weight in optimized.result.weights.items()
            }
        else:
            assert target_weights is not None
            targets = dict(zip(_symbols(target_weights), target_weights.values(), strict=True))
        portfolio, transactions = self._ledger(principal, portfolio_id)
        today = self.today()
        state = _replay(transactions, portfolio)
        valued = self._value(portfolio, state, today)
        extra = [symbol for symbol in targets if symbol not in valued.prices]
        quotes, issues = self._quotes(extra)
        quotes = {**valued.prices, **quotes}
        currency_of = {s: p.currency for s, p in state.positions.items()}
        for symbol in extra:
            if symbol in quotes:
                currency_of.setdefault(symbol, quotes[symbol].instrument.currency)
        rates, fx_issues = self._latest_rates(
            {currency_of[s] for s in quotes}, portfolio.base_currency, today
        )
        issues.extend(fx_issues)
        if issues:
            raise ValidationError("cannot price the targets", issues)
        factor = {c: r.rate for c, r in rates.items()}
        with localcontext(MONEY_CONTEXT):
            prices = {
                s: q.price * factor.get(currency_of[s], Decimal(1)) for s, q in quotes.items()
            }
            lots = {
                symbol: [
                    LotView(
                        lot.quantity,
                        lot.unit_cost * factor.get(position.currency, Decimal(1)),
                        lot.opened,
                    )
                    for lot in position.lots
                ]
                for symbol, position in state.open_positions.items()
            }
        plan = plan_rebalance(
            {s: p.quantity for s, p in state.open_positions.items()},
            prices,
            valued.report.totals.cash,
            targets,
            as_of=today,
            lots=lots,
            options=options,
        )
        return PortfolioRebalance(
            portfolio=portfolio,
            as_of=today,
            plan=plan,
            target_weights=targets,
            current_weights={line.symbol: line.weight for line in valued.report.lines},
            prices=prices,
            optimization=optimized,
            synthetic=tuple(s for s, q in quotes.items() if q.instrument.synthetic),
        )
