"""Portfolios: settings, the transaction ledger, CSV imports, holdings, performance,
optimisation and rebalancing.

Callers see their own portfolios; administrators see everyone's. Someone else's portfolio
answers 404, exactly like one that does not exist. Optimisation and rebalancing only
recommend: they need read access and change nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile, status

from quantdesk.api.deps import AuditContextDep, RuntimeDep, requires
from quantdesk.api.schemas.portfolio import (
    HoldingsPublic,
    ImportPublic,
    OptimizePublic,
    OptimizeRequest,
    PerformancePublic,
    PortfolioCreate,
    PortfolioPublic,
    PortfoliosPublic,
    PortfolioUpdate,
    RebalancePublic,
    RebalanceRequest,
    TransactionCreate,
    TransactionPublic,
    TransactionsPublic,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission
from quantdesk.portfolio import ImportPreset
from quantdesk.portfolio.service import PortfolioService

router = APIRouter(prefix="/portfolio", tags=["portfolio"])

ReadDep = Annotated[Principal, requires(Permission.PORTFOLIO_READ)]
WriteDep = Annotated[Principal, requires(Permission.PORTFOLIO_WRITE)]
PortfolioId = Annotated[str, Path(min_length=1, max_length=64, description="Portfolio id")]


def get_portfolio_service(runtime: RuntimeDep) -> PortfolioService:
    """Return the portfolio service."""
    return runtime.portfolios


ServiceDep = Annotated[PortfolioService, Depends(get_portfolio_service)]


@router.post("", response_model=PortfolioPublic, status_code=status.HTTP_201_CREATED)
def create_portfolio(
    body: PortfolioCreate, principal: WriteDep, service: ServiceDep, context: AuditContextDep
) -> PortfolioPublic:
    """Create a portfolio (names are unique per owner)."""
    portfolio = service.create_portfolio(
        principal,
        name=body.name,
        base_currency=body.base_currency,
        benchmark_symbol=body.benchmark_symbol,
        lot_method=body.lot_method,
        allow_short=body.allow_short,
        context=context,
    )
    return PortfolioPublic.of(portfolio)


@router.get("", response_model=PortfoliosPublic)
def list_portfolios(
    principal: ReadDep,
    service: ServiceDep,
    all_users: Annotated[bool, Query(description="Admins: every user's portfolios")] = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PortfoliosPublic:
    """List your portfolios by name."""
    page, count = service.list_portfolios(
        principal, all_users=all_users, offset=offset, limit=limit
    )
    return PortfoliosPublic(data=[PortfolioPublic.of(p) for p in page], count=count)


@router.get("/{portfolio_id}", response_model=PortfolioPublic)
def read_portfolio(
    portfolio_id: PortfolioId, principal: ReadDep, service: ServiceDep
) -> PortfolioPublic:
    """Return a portfolio's settings."""
    return PortfolioPublic.of(service.get_portfolio(principal, portfolio_id))


@router.patch("/{portfolio_id}", response_model=PortfolioPublic)
def update_portfolio(
    portfolio_id: PortfolioId,
    body: PortfolioUpdate,
    principal: WriteDep,
    service: ServiceDep,
    context: AuditContextDep,
) -> PortfolioPublic:
    """Change a portfolio's name, currency, benchmark (null removes it) or lot settings."""
    portfolio = service.update_portfolio(
        principal,
        portfolio_id,
        name=body.name,
        base_currency=body.base_currency,
        benchmark_symbol=body.benchmark_symbol,
        clear_benchmark="benchmark_symbol" in body.model_fields_set
        and body.benchmark_symbol is None,
        lot_method=body.lot_method,
        allow_short=body.allow_short,
        context=context,
    )
    return PortfolioPublic.of(portfolio)


@router.delete("/{portfolio_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_portfolio(
    portfolio_id: PortfolioId, principal: WriteDep, service: ServiceDep, context: AuditContextDep
) -> Response:
    """Delete a portfolio and its transactions."""
    service.delete_portfolio(principal, portfolio_id, context=context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{portfolio_id}/transaction",
    response_model=TransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_transaction(
    portfolio_id: PortfolioId,
    body: TransactionCreate,
    principal: WriteDep,
    service: ServiceDep,
    context: AuditContextDep,
) -> TransactionPublic:
    """Record a transaction; it is checked against the ledger (holdings, dates, symbols)."""
    currency = body.currency or service.get_portfolio(principal, portfolio_id).base_currency
    stored = service.add_transaction(
        principal, portfolio_id, body.to_transaction(currency), context=context
    )
    return TransactionPublic.of(stored)


@router.get("/{portfolio_id}/transactions", response_model=TransactionsPublic)
def list_transactions(
    portfolio_id: PortfolioId,
    principal: ReadDep,
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TransactionsPublic:
    """List transactions in the order they were entered."""
    page, count = service.list_transactions(principal, portfolio_id, offset=offset, limit=limit)
    return TransactionsPublic(
        data=[TransactionPublic.of(tx) for tx in page], count=count, offset=offset, limit=limit
    )


@router.post("/{portfolio_id}/import", response_model=ImportPublic)
def import_transactions(
    portfolio_id: PortfolioId,
    file: Annotated[UploadFile, File(description="The CSV file (UTF-8)")],
    principal: WriteDep,
    service: ServiceDep,
    context: AuditContextDep,
    preset: Annotated[ImportPreset, Query(description="generic or schwab")] = ImportPreset.GENERIC,
    dry_run: Annotated[bool, Query(description="Check and preview; write nothing")] = False,
    skip_bad_rows: Annotated[
        bool, Query(description="Store the good rows and skip the bad ones")
    ] = False,
    currency: Annotated[
        str | None,
        Query(min_length=3, max_length=3, description="Default/account currency (base)"),
    ] = None,
) -> ImportPublic:
    """Import transactions from a CSV upload. With any bad row nothing is stored (422 with
    every row's problems) unless `skip_bad_rows`; `dry_run` previews without storing."""
    outcome = service.import_csv(
        principal,
        portfolio_id,
        file.file.read(),
        preset=preset,
        dry_run=dry_run,
        skip_bad_rows=skip_bad_rows,
        currency=currency,
        context=context,
    )
    return ImportPublic.of(outcome)


@router.get("/{portfolio_id}/holdings", response_model=HoldingsPublic)
def read_holdings(
    portfolio_id: PortfolioId,
    principal: ReadDep,
    service: ServiceDep,
    include_closed: Annotated[bool, Query(description="Also list closed positions")] = False,
) -> HoldingsPublic:
    """Return positions, cash and P&L at the latest prices, in the base currency."""
    return HoldingsPublic.of(
        service.holdings(principal, portfolio_id, include_closed=include_closed)
    )


@router.get("/{portfolio_id}/performance", response_model=PerformancePublic)
def read_performance(
    portfolio_id: PortfolioId,
    principal: ReadDep,
    service: ServiceDep,
    series: Annotated[bool, Query(description="Include the daily valuation series")] = True,
) -> PerformancePublic:
    """Return time- and money-weighted returns, period returns, the benchmark comparison and
    the allocation."""
    return PerformancePublic.of(service.performance(principal, portfolio_id), series=series)


@router.post("/{portfolio_id}/optimize", response_model=OptimizePublic)
def optimize_portfolio(
    portfolio_id: PortfolioId, body: OptimizeRequest, principal: ReadDep, service: ServiceDep
) -> OptimizePublic:
    """Recommend weights for the holdings (or the given symbols); nothing is traded."""
    return OptimizePublic.of(service.optimize(principal, portfolio_id, body.to_spec()))


@router.post("/{portfolio_id}/rebalance", response_model=RebalancePublic)
def rebalance_portfolio(
    portfolio_id: PortfolioId, body: RebalanceRequest, principal: ReadDep, service: ServiceDep
) -> RebalancePublic:
    """Propose the trades that bring the holdings to target weights; nothing is traded."""
    result = service.rebalance(
        principal,
        portfolio_id,
        target_weights=body.target_weights,
        optimization=body.optimize.to_spec() if body.optimize else None,
        options=body.options.to_options() if body.options else None,
    )
    return RebalancePublic.of(result)
