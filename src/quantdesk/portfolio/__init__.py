"""Portfolio management: the ledger, tax lots, holdings, performance and CSV imports.

Money is exact: ledger amounts are :class:`decimal.Decimal` and are rounded to a currency's
minor unit only when shown (:func:`quantize_money`); analytics (returns, weights) are floats.
A service validates a new transaction with :func:`validate`, replays stored ones with
:func:`replay`, values them with :func:`holdings` and builds a daily series with
:func:`valuation_series`.
"""

from __future__ import annotations

from quantdesk.domain.portfolio import (
    CURRENCY_MINOR_UNITS,
    LotMethod,
    Transaction,
    TransactionType,
    minor_units,
    quantize_money,
    transaction_issues,
)
from quantdesk.portfolio.holdings import (
    CashLine,
    HoldingLine,
    HoldingsReport,
    HoldingsTotals,
    holdings,
)
from quantdesk.portfolio.imports import ImportPreset, ImportPreview, parse_transactions_csv
from quantdesk.portfolio.ledger import (
    KnownSymbols,
    Ledger,
    LedgerState,
    Position,
    check_transaction,
    chronological_order,
    replay,
    validate,
)
from quantdesk.portfolio.lots import (
    HoldingTerm,
    Lot,
    LotBook,
    RealizedLot,
    Side,
    holding_term,
)
from quantdesk.portfolio.optimize import (
    OptimizationMethod,
    OptimizationResult,
    PortfolioConstraints,
    optimize_portfolio,
)
from quantdesk.portfolio.performance import (
    Allocation,
    AllocationSlice,
    BenchmarkComparison,
    Period,
    PeriodReturn,
    allocation,
    benchmark_returns,
    compare_to_benchmark,
    daily_returns,
    money_weighted_return,
    period_returns,
    time_weighted_return,
    valuation_series,
    xirr,
    xnpv,
)
from quantdesk.portfolio.rebalance import (
    LotView,
    RebalanceOptions,
    RebalancePlan,
    SkippedSymbol,
    Trade,
    plan_rebalance,
)

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "Allocation",
    "AllocationSlice",
    "BenchmarkComparison",
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
    # --- optimisation and rebalancing names are added below this line ---
]
