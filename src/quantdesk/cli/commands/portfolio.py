"""``quantdesk portfolio``: portfolios, transactions, imports, holdings, performance,
optimisation and rebalancing from the terminal.

Every command acts as a user through the portfolio service, with that user's permissions and
ownership rules: ``--user EMAIL``, or by default the first administrator (the earliest
created active admin, e.g. the one ``quantdesk demo`` creates). A portfolio is named by its
id or by its name among the user's own portfolios. Bad input exits with code 2 and a table
of the rows and fields at fault.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.table import Table

from quantdesk.auth.models import AuditContext, Principal
from quantdesk.cli.console import EXIT_BAD_INPUT, console, handle_errors, print_issues
from quantdesk.cli.context import open_runtime
from quantdesk.core.errors import Issue, NotFound, PermissionDenied, ValidationError
from quantdesk.domain.portfolio import LotMethod, Transaction, TransactionType, quantize_money
from quantdesk.portfolio import ImportPreset, PortfolioConstraints, RebalanceOptions
from quantdesk.portfolio.optimize import OptimizationMethod
from quantdesk.portfolio.ports import FxRate, Portfolio
from quantdesk.portfolio.service import OptimizationSpec
from quantdesk.runtime import Runtime
from quantdesk.runtime.demo import first_admin

app = typer.Typer(
    help="Manage portfolios (acting as --user EMAIL, default: the first administrator).",
    no_args_is_help=True,
)

_CLI = AuditContext(user_agent="quantdesk cli")
_METHODS = get_args(OptimizationMethod)

UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Act as this user (email); default: the first administrator"),
]
PortfolioArg = Annotated[str, typer.Argument(help="Portfolio id, or the name of one of yours")]


def _principal(runtime: Runtime, email: str | None) -> Principal:
    if email is None:
        user = first_admin(runtime)
        if user is None:
            raise NotFound(
                "no administrator exists; create one with `quantdesk users create-admin` "
                "or pass --user EMAIL"
            )
    else:
        wanted = email.strip().lower()
        found = [u for u in runtime.auth.list_users(limit=10_000) if u.email == wanted]
        if not found:
            raise NotFound(f"no user {email}")
        user = found[0]
        if not user.is_active:
            raise PermissionDenied(f"{user.email} is deactivated")
    return Principal.of(user, via="token")


def _find(runtime: Runtime, principal: Principal, ref: str) -> Portfolio:
    service = runtime.portfolios
    try:
        return service.get_portfolio(principal, ref)
    except NotFound:
        pass
    page, _ = service.list_portfolios(principal, limit=1000)
    for portfolio in page:
        if portfolio.name == ref.strip():
            return portfolio
    raise NotFound(f"no portfolio {ref!r} (give its id, or the name of one of your portfolios)")


def _money(value: Decimal | None, currency: str) -> str:
    if value is None:
        return ""
    try:
        return f"{quantize_money(value, currency):,}"
    except (InvalidOperation, ValueError):
        return format(value, "f")


def _pct(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.2%}"


def _decimal(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError(
            f"invalid --{name}", [Issue(f"--{name}", f"{text!r} is not a decimal number", name)]
        ) from None
    return value


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Portfolio name (unique per user)")],
    base_currency: Annotated[str, typer.Option(help="Reporting currency")] = "USD",
    benchmark: Annotated[str | None, typer.Option(help="Benchmark symbol, e.g. SPX")] = None,
    lot_method: Annotated[LotMethod, typer.Option(help="Tax-lot relief")] = LotMethod.FIFO,
    allow_short: Annotated[bool, typer.Option(help="Allow short sales")] = False,
    user: UserOption = None,
) -> None:
    """Create a portfolio."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        portfolio = runtime.portfolios.create_portfolio(
            principal,
            name=name,
            base_currency=base_currency,
            benchmark_symbol=benchmark,
            lot_method=lot_method,
            allow_short=allow_short,
            context=_CLI,
        )
        console.print(
            f"created portfolio {portfolio.name!r} ({portfolio.id}) for {principal.email}"
        )


@app.command("list")
def list_portfolios(
    all_users: Annotated[bool, typer.Option("--all", help="Admins: every user's")] = False,
    user: UserOption = None,
) -> None:
    """List portfolios."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        page, count = runtime.portfolios.list_portfolios(principal, all_users=all_users, limit=1000)
        table = Table(
            "id",
            "name",
            "owner",
            "base",
            "benchmark",
            "lots",
            "short",
            title=f"{count} portfolio(s)",
            title_justify="left",
        )
        for p in page:
            table.add_row(
                p.id,
                p.name,
                p.owner_id,
                p.base_currency,
                p.benchmark_symbol or "",
                p.lot_method.value,
                "yes" if p.allow_short else "no",
            )
        console.print(table)


@app.command("add")
def add(
    portfolio: PortfolioArg,
    kind: Annotated[
        TransactionType, typer.Argument(metavar="TYPE", help="buy, sell, deposit, ...")
    ],
    trade_date: Annotated[str, typer.Argument(metavar="DATE", help="Trade date, YYYY-MM-DD")],
    symbol: Annotated[str | None, typer.Option(help="Instrument (trades, dividends)")] = None,
    quantity: Annotated[str | None, typer.Option(help="Units (a split: the ratio)")] = None,
    price: Annotated[str | None, typer.Option(help="Unit price")] = None,
    amount: Annotated[
        str | None, typer.Option(help="For payments: the amount (quantity 1, price = amount)")
    ] = None,
    fees: Annotated[str, typer.Option(help="Fees (or tax withheld on income)")] = "0",
    currency: Annotated[str | None, typer.Option(help="Default: the base currency")] = None,
    note: Annotated[str, typer.Option(help="Free text")] = "",
    user: UserOption = None,
) -> None:
    """Record one transaction (checked against the ledger before it is stored)."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        target = _find(runtime, principal, portfolio)
        try:
            day = date.fromisoformat(trade_date.strip())
        except ValueError:
            raise ValidationError(
                "invalid date", [Issue("DATE", f"{trade_date!r} is not YYYY-MM-DD", "trade_date")]
            ) from None
        issues = []
        units = _decimal(quantity, "quantity")
        unit_price = _decimal(price, "price")
        if amount is not None:
            units, unit_price = Decimal(1), _decimal(amount, "amount")
        if units is None:
            issues.append(
                Issue("--quantity", "give --quantity (or --amount for payments)", "quantity")
            )
        if unit_price is None:
            unit_price = Decimal(0) if kind is TransactionType.SPLIT else None
        if unit_price is None:
            issues.append(Issue("--price", "give --price (or --amount for payments)", "price"))
        if issues:
            raise ValidationError("incomplete transaction", issues)
        assert units is not None
        assert unit_price is not None
        fee = _decimal(fees, "fees") or Decimal(0)
        stored = runtime.portfolios.add_transaction(
            principal,
            target.id,
            Transaction(
                kind, day, symbol, units, unit_price, fee, currency or target.base_currency, note
            ),
            context=_CLI,
        )
        console.print(
            f"recorded {stored.type.value} {stored.symbol or ''} {format(stored.quantity, 'f')} "
            f"x {format(stored.price, 'f')} {stored.currency} on {stored.trade_date} ({stored.id})"
        )


@app.command("import")
def import_file(
    portfolio: PortfolioArg,
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8)")],
    preset: Annotated[ImportPreset, typer.Option(help="generic or schwab")] = ImportPreset.GENERIC,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; store nothing")] = False,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Store the good rows, skip the bad ones")
    ] = False,
    currency: Annotated[str | None, typer.Option(help="Default/account currency")] = None,
    user: UserOption = None,
) -> None:
    """Import transactions from a CSV; with any bad row nothing is stored (exit 2) unless
    --skip-bad-rows. --dry-run shows what would happen."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        target = _find(runtime, principal, portfolio)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ValidationError(
                "cannot read the file", [Issue(str(file), exc.strerror or str(exc), "file")]
            ) from None
        outcome = runtime.portfolios.import_csv(
            principal,
            target.id,
            data,
            preset=preset,
            dry_run=dry_run,
            skip_bad_rows=skip_bad_rows,
            currency=currency,
            context=_CLI,
        )
        if outcome.issues:
            print_issues(outcome.issues, title="Rows with problems")
        verb = "would import" if dry_run else "imported"
        console.print(
            f"{verb} {len(outcome.transactions)} of {outcome.rows_read} rows into "
            f"{target.name!r}"
            + (f"; {outcome.rows_bad} bad row(s) skipped" if outcome.issues else "")
        )
        if dry_run and not outcome.committable:
            console.print("a commit would store nothing: fix the rows or use --skip-bad-rows")
            raise typer.Exit(EXIT_BAD_INPUT)


@app.command("show")
def show(
    portfolio: PortfolioArg,
    closed: Annotated[bool, typer.Option("--closed", help="Also list closed positions")] = False,
    user: UserOption = None,
) -> None:
    """Show holdings, cash and P&L at the latest prices."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        target = _find(runtime, principal, portfolio)
        held = runtime.portfolios.holdings(principal, target.id, include_closed=closed)
        report = held.report
        base = report.base_currency
        table = Table(title=f"{target.name} ({base})", title_justify="left")
        for column in (
            "symbol",
            "quantity",
            "avg cost",
            "price",
            "price date",
            "value",
            "unrealized",
            "return",
            "weight",
        ):
            table.add_column(
                column, justify="left" if column in ("symbol", "price date") else "right"
            )
        for line in report.lines:
            quote = held.prices.get(line.symbol)
            label = line.symbol + (" (synthetic)" if quote and quote.instrument.synthetic else "")
            table.add_row(
                label,
                format(line.quantity, "f"),
                _money(line.average_cost, line.currency),
                format(line.price, "f") if line.price is not None else "",
                quote.ts.date().isoformat() if quote else "",
                _money(line.market_value_base, base),
                _money(line.unrealized_pnl_base, base),
                _pct(line.unrealized_return),
                _pct(line.weight),
            )
        for cash in report.cash:
            table.add_row(
                f"cash {cash.currency}",
                "",
                "",
                "",
                "",
                _money(cash.value_base, base),
                "",
                "",
                _pct(cash.weight),
            )
        console.print(table)
        totals = report.totals
        console.print(
            f"total {_money(totals.total_value, base)} {base} = securities "
            f"{_money(totals.market_value, base)} + cash {_money(totals.cash, base)}; "
            f"unrealized {_money(totals.unrealized_pnl, base)}, realized "
            f"{_money(totals.realized_pnl, base)}, income {_money(totals.income, base)}"
        )


@app.command("performance")
def performance(portfolio: PortfolioArg, user: UserOption = None) -> None:
    """Show returns since inception, by period, against the benchmark, and the allocation."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        target = _find(runtime, principal, portfolio)
        result = runtime.portfolios.performance(principal, target.id)
        console.print(
            f"{target.name}: {result.start} to {result.end}; time-weighted "
            f"{_pct(result.time_weighted_return)}, money-weighted (XIRR, annual) "
            f"{_pct(result.money_weighted_return) or result.money_weighted_note}"
            + (f"; synthetic prices: {', '.join(result.synthetic)}" if result.synthetic else "")
        )
        bench = result.benchmark
        table = Table(title="period returns", title_justify="left")
        table.add_column("period")
        table.add_column("return", justify="right")
        table.add_column("annualized", justify="right")
        if bench is not None and bench.comparisons:
            table.add_column(f"{bench.symbol} (as of {bench.as_of})", justify="right")
            table.add_column("excess", justify="right")
        for period, value in result.periods.items():
            row = [period.value, _pct(value.total_return) or "n/a", _pct(value.annualized_return)]
            if bench is not None and bench.comparisons:
                comparison = bench.comparisons[period]
                row += [
                    _pct(comparison.benchmark.total_return) or "n/a",
                    _pct(comparison.excess_return),
                ]
            table.add_row(*row)
        console.print(table)
        if bench is not None and bench.note:
            console.print(f"benchmark: {bench.note}")
        sectors = Table(
            "sector", "value", "weight", title="allocation by sector", title_justify="left"
        )
        base = target.base_currency
        for piece in result.allocation.by_sector:
            sectors.add_row(piece.name, _money(piece.value, base), _pct(piece.weight))
        console.print(sectors)


def _spec(
    method: str, symbols: str | None, lookback: int, max_weight: float | None,
    risk_free_rate: float, target_return: float | None, target_volatility: float | None,
) -> OptimizationSpec:  # fmt: skip
    if method not in _METHODS:
        raise ValidationError(
            "unknown method",
            [Issue("--method", f"{method!r}; use one of {', '.join(_METHODS)}", "method")],
        )
    constraints = None
    if max_weight is not None:
        constraints = PortfolioConstraints(weight_bounds=(0.0, max_weight))
    return OptimizationSpec(
        method=method,  # type: ignore[arg-type]
        symbols=tuple(s.strip() for s in symbols.split(",") if s.strip()) if symbols else None,
        lookback=lookback,
        constraints=constraints,
        risk_free_rate=risk_free_rate,
        target_return=target_return,
        target_volatility=target_volatility,
    )


MethodOption = Annotated[str, typer.Option(help=" ".join(_METHODS))]
SymbolsOption = Annotated[str | None, typer.Option(help="Comma-separated; default the holdings")]
LookbackOption = Annotated[int, typer.Option(help="Daily returns to use", min=30)]
MaxWeightOption = Annotated[float | None, typer.Option(help="Cap on each weight, e.g. 0.4")]


@app.command("optimize")
def optimize(
    portfolio: PortfolioArg,
    method: MethodOption = "min_variance",
    symbols: SymbolsOption = None,
    lookback: LookbackOption = 756,
    max_weight: MaxWeightOption = None,
    risk_free_rate: Annotated[float, typer.Option(help="Annual")] = 0.0,
    target_return: Annotated[float | None, typer.Option(help="Annual, for target_return")] = None,
    target_volatility: Annotated[float | None, typer.Option(help="Annual, for target_risk")] = None,
    user: UserOption = None,
) -> None:
    """Recommend weights for the holdings (nothing is traded)."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        target = _find(runtime, principal, portfolio)
        spec = _spec(
            method, symbols, lookback, max_weight, risk_free_rate, target_return, target_volatility
        )
        result = runtime.portfolios.optimize(principal, target.id, spec)
        optimum = result.result
        console.print(
            f"{optimum.method} on {result.observations} daily returns "
            f"{result.start} to {result.end} (current weights are of the total value)"
        )
        table = Table("symbol", "weight", "current")
        for symbol, weight in optimum.weights.items():
            label = str(symbol) + (" (synthetic)" if symbol in result.synthetic else "")
            table.add_row(label, _pct(float(weight)), _pct(result.current_weights.get(str(symbol))))
        console.print(table)
        sharpe = f"{optimum.sharpe_ratio:.2f}" if math.isfinite(optimum.sharpe_ratio) else "n/a"
        console.print(
            f"expected return {_pct(optimum.expected_return)}, volatility "
            f"{_pct(optimum.volatility)}, Sharpe {sharpe} (annualised)"
        )


@app.command("rebalance")
def rebalance(
    portfolio: PortfolioArg,
    target: Annotated[
        list[str] | None, typer.Option("--target", help="SYMBOL=WEIGHT, repeatable")
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="Take the targets from this optimisation instead")
    ] = None,
    symbols: SymbolsOption = None,
    lookback: LookbackOption = 756,
    max_weight: MaxWeightOption = None,
    band: Annotated[float | None, typer.Option(help="Absolute drift band, e.g. 0.05")] = None,
    min_trade: Annotated[str, typer.Option(help="Skip smaller trades (base currency)")] = "0",
    fractional: Annotated[bool, typer.Option(help="Trade fractional shares")] = False,
    user: UserOption = None,
) -> None:
    """Propose the trades to reach target weights (nothing is traded)."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        found = _find(runtime, principal, portfolio)
        weights: dict[str, float] | None = None
        if target:
            weights = {}
            issues = []
            for item in target:
                symbol, _, value = item.partition("=")
                try:
                    weights[symbol.strip()] = float(value)
                except ValueError:
                    issues.append(Issue("--target", f"{item!r} is not SYMBOL=WEIGHT", "target"))
            if issues:
                raise ValidationError("invalid targets", issues)
        spec = (
            _spec(method, symbols, lookback, max_weight, 0.0, None, None)
            if method is not None
            else None
        )
        options = RebalanceOptions(
            absolute_band=band,
            min_trade_value=_decimal(min_trade, "min-trade") or Decimal(0),
            whole_shares=not fractional,
        )
        result = runtime.portfolios.rebalance(
            principal, found.id, target_weights=weights, optimization=spec, options=options
        )
        plan = result.plan
        base = found.base_currency
        table = Table(
            title=f"trades for {found.name} ({base}, as of {result.as_of})", title_justify="left"
        )
        for column in (
            "side",
            "symbol",
            "quantity",
            "price",
            "notional",
            "realized gain",
            "short-term",
        ):
            table.add_column(column, justify="left" if column in ("side", "symbol") else "right")
        for trade in plan.trades:
            table.add_row(
                trade.side,
                trade.symbol,
                format(trade.quantity, "f"),
                _money(trade.estimated_price, base),
                _money(trade.notional, base),
                _money(trade.realized_gain, base),
                "yes" if trade.short_term else "",
            )
        console.print(table)
        for skipped in plan.skipped:
            console.print(f"skipped {skipped.symbol}: {skipped.detail}")
        console.print(
            f"total value {_money(plan.total_value, base)}; cash after trades "
            f"{_money(plan.residual_cash, base)}; estimated costs "
            f"{_money(plan.total_estimated_cost, base)}"
        )


@app.command("fx-rate")
def fx_rate(
    currency: Annotated[str, typer.Argument(help="Currency being priced, e.g. EUR")],
    quote_currency: Annotated[str, typer.Argument(help="Currency of the price, e.g. USD")],
    day: Annotated[str, typer.Argument(help="Date, YYYY-MM-DD")],
    rate: Annotated[str, typer.Argument(help="1 CURRENCY = RATE QUOTE_CURRENCY")],
    user: UserOption = None,
) -> None:
    """Store a daily FX rate (administrators); the same pair and day is replaced."""
    with handle_errors(), open_runtime() as runtime:
        principal = _principal(runtime, user)
        try:
            on = date.fromisoformat(day.strip())
        except ValueError:
            raise ValidationError(
                "invalid date", [Issue("DAY", f"{day!r} is not YYYY-MM-DD", "day")]
            ) from None
        value = _decimal(rate, "rate")
        assert value is not None
        stored = runtime.portfolios.add_fx_rates(
            principal,
            [FxRate(currency=currency, quote_currency=quote_currency, day=on, rate=value)],
            context=_CLI,
        )
        console.print(
            f"stored {stored} rate: 1 {currency.upper()} = {value} {quote_currency.upper()}"
        )
