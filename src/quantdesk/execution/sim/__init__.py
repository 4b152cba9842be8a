"""The execution core: one fill, fee, slippage and accounting model behind every simulator.

The event-driven backtest engine and the paper broker drive :class:`SimulatedBroker` bar by
bar; the vectorised engine calls the same numba kernels (``_fills_nb``, ``_costs_nb``,
``_accounting_nb``) from inside its loops, passing each model's ``kind`` and ``params``. The
Python classes here call exactly those kernels, so both paths price, charge and book a fill
identically.
"""

from __future__ import annotations

from quantdesk.execution.sim.accounting import (
    Account,
    AccountConfig,
    AccountPosition,
    AccountSnapshot,
)
from quantdesk.execution.sim.fees import (
    FeeModel,
    NoFee,
    PercentFee,
    PerShareFee,
    TierBasis,
    TieredFee,
)
from quantdesk.execution.sim.fills import (
    ORDER_TYPE_CODES,
    MarketFill,
    capped_quantity,
    execution_costs,
    fill_price,
    ratchet_extreme,
    trailing_stop_price,
)
from quantdesk.execution.sim.matching import (
    ExecutionConfig,
    ExecutionReport,
    MarketContext,
    SimulatedBroker,
)
from quantdesk.execution.sim.slippage import (
    FixedBpsSlippage,
    NoSlippage,
    SlippageModel,
    SpreadSlippage,
    SquareRootImpact,
)

__all__ = [
    "ORDER_TYPE_CODES",
    "Account",
    "AccountConfig",
    "AccountPosition",
    "AccountSnapshot",
    "ExecutionConfig",
    "ExecutionReport",
    "FeeModel",
    "FixedBpsSlippage",
    "MarketContext",
    "MarketFill",
    "NoFee",
    "NoSlippage",
    "PerShareFee",
    "PercentFee",
    "SimulatedBroker",
    "SlippageModel",
    "SpreadSlippage",
    "SquareRootImpact",
    "TierBasis",
    "TieredFee",
    "capped_quantity",
    "execution_costs",
    "fill_price",
    "ratchet_extreme",
    "trailing_stop_price",
]
