"""The public surfaces of ``quantdesk.portfolio`` and ``quantdesk.portfolio.service``."""

from __future__ import annotations

import subprocess
import sys

import quantdesk.portfolio as portfolio
from quantdesk.portfolio import analytics, service

EXPECTED = [
    "Allocation",
    "AllocationSlice",
    "BenchmarkComparison",
    "CURRENCY_MINOR_UNITS",
    "CashLine",
    "HoldingLine",
    "HoldingTerm",
    "HoldingsReport",
    "HoldingsTotals",
    "ImportPreset",
    "ImportPreview",
    "KnownSymbols",
    "Ledger",
    "LedgerState",
    "Lot",
    "LotBook",
    "LotMethod",
    "LotView",
    "OptimizationMethod",
    "OptimizationResult",
    "Period",
    "PeriodReturn",
    "PortfolioConstraints",
    "Position",
    "RealizedLot",
    "RebalanceOptions",
    "RebalancePlan",
    "Side",
    "SkippedSymbol",
    "Trade",
    "Transaction",
    "TransactionType",
    "allocation",
    "benchmark_returns",
    "check_transaction",
    "chronological_order",
    "compare_to_benchmark",
    "daily_returns",
    "holding_term",
    "holdings",
    "minor_units",
    "money_weighted_return",
    "optimize_portfolio",
    "parse_transactions_csv",
    "period_returns",
    "plan_rebalance",
    "quantize_money",
    "replay",
    "time_weighted_return",
    "transaction_issues",
    "validate",
    "valuation_series",
    "xirr",
    "xnpv",
]

# What callers (API schemas and routes, the CLI, the runtime) import from the service module.
SERVICE_EXPECTED = [
    "AuditRecorder",
    "BenchmarkReport",
    "ImportOutcome",
    "MAX_PAGE",
    "MIN_OBSERVATIONS",
    "NAME_MAX",
    "NOTE_MAX",
    "OptimizationSpec",
    "PortfolioHoldings",
    "PortfolioOptimization",
    "PortfolioPerformance",
    "PortfolioRebalance",
    "PortfolioService",
    "PriceQuote",
    "portfolio_summary",
    "transaction_summary",
]


def test_public_surface_is_pinned() -> None:
    assert sorted(portfolio.__all__) == EXPECTED
    assert len(set(portfolio.__all__)) == len(portfolio.__all__)
    for name in portfolio.__all__:
        assert getattr(portfolio, name) is not None, name


def test_service_surface_is_pinned() -> None:
    assert sorted(service.__all__) == SERVICE_EXPECTED
    for name in service.__all__:
        assert getattr(service, name) is not None, name


def test_service_result_types_are_the_analytics_ones() -> None:
    for name in (
        "BenchmarkReport",
        "MIN_OBSERVATIONS",
        "OptimizationSpec",
        "PortfolioHoldings",
        "PortfolioOptimization",
        "PortfolioPerformance",
        "PortfolioRebalance",
        "PriceQuote",
    ):
        assert getattr(service, name) is getattr(analytics, name), name
    assert issubclass(service.PortfolioService, analytics.PortfolioAnalytics)


def test_importing_the_package_stays_pure() -> None:
    # The package is the pure (L2) part: no service, no data layer, no database.
    code = (
        "import sys, quantdesk.portfolio\n"
        "bad = ('quantdesk.portfolio.service', 'quantdesk.portfolio.analytics',"
        " 'quantdesk.data', 'quantdesk.db')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(bad))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""
