"""Slippage models: none, fixed basis points, half the spread and square-root market impact.

Each model is a frozen value with a numba ``kind`` code and a float64 ``params`` array; its
:meth:`SlippageModel.price` calls
:func:`~quantdesk.execution.sim._costs_nb.slipped_price_nb`, the same kernel the numba
simulators call. Slippage always moves the price against the trader (buys pay more, sells
receive less); ``side`` is ``+1`` for a buy and ``-1`` for a sell:

- :class:`FixedBpsSlippage`: ``price * (1 + side * bps / 10_000)``.
- :class:`SpreadSlippage`: cross half the quoted spread, ``price + side * spread / 2``, or
  without a quote ``price * (1 + side * spread_bps / 2 / 10_000)``.
- :class:`SquareRootImpact`: ``price * (1 + side * k * sigma * sqrt(Q / ADV))``, the
  square-root law of market impact (Almgren, Thum, Hauptmann and Li, "Direct estimation of
  equity market impact", Risk 18(7), 2005; Torre, "BARRA Market Impact Model Handbook", 1997;
  Tóth et al., "Anomalous price impact and the critical nature of liquidity in financial
  markets", PRX 2011). ``sigma`` is the daily return volatility (a fraction), ``Q`` the
  quantity and ``ADV`` the average daily volume in units; ``k`` is of order one.

Limit orders are never filled worse than their limit (the slipped price is capped at it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.orders import OrderSide
from quantdesk.execution.sim._costs_nb import (
    SLIPPAGE_FIXED_BPS,
    SLIPPAGE_NONE,
    SLIPPAGE_SPREAD,
    SLIPPAGE_SQRT_IMPACT,
    slipped_price_nb,
)
from quantdesk.execution.sim.fees import check_rate, frozen_array

__all__ = [
    "FixedBpsSlippage",
    "NoSlippage",
    "SlippageModel",
    "SpreadSlippage",
    "SquareRootImpact",
    "side_code",
]

FloatArray = npt.NDArray[np.float64]


def side_code(side: OrderSide | str | int) -> int:
    """Return ``+1`` for a buy and ``-1`` for a sell (accepts ``OrderSide``, its value or ±1)."""
    if isinstance(side, int) and not isinstance(side, bool):
        if side not in (1, -1):
            raise ValueError(f"side must be +1 or -1, got {side}")
        return side
    return OrderSide(str(side)).sign


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


class SlippageModel:
    """Base of the slippage models; see the module docstring for the formulas."""

    __slots__ = ()

    kind: ClassVar[int]
    params: FloatArray

    def price(
        self,
        side: OrderSide | str | int,
        price: float,
        quantity: float,
        *,
        spread: float | None = None,
        volatility: float | None = None,
        adv: float | None = None,
    ) -> float:
        """Return ``price`` after slippage for a trade of ``quantity`` units.

        Parameters
        ----------
        side
            ``buy``/``sell`` (or ``+1``/``-1``).
        price
            Reference price before slippage.
        quantity
            Units traded.
        spread
            Quoted spread (ask - bid) in price units, when known.
        volatility, adv
            Daily volatility and average daily volume, for :class:`SquareRootImpact`.

        Raises
        ------
        ValidationError
            When the model needs an input that is missing (impact without volatility or ADV).
        """
        result = float(
            slipped_price_nb(
                self.kind,
                self.params,
                side_code(side),
                float(price),
                float(quantity),
                _nan(spread),
                _nan(volatility),
                _nan(adv),
            )
        )
        if math.isnan(result):
            raise ValidationError(
                "slippage cannot be computed",
                [Issue(type(self).__name__, "needs volatility and adv (per bar or as defaults)")],
            )
        return result


@dataclass(frozen=True, slots=True)
class NoSlippage(SlippageModel):
    """Fill at the reference price."""

    kind: ClassVar[int] = SLIPPAGE_NONE
    params: FloatArray = field(
        init=False, repr=False, compare=False, default_factory=lambda: frozen_array([0.0])
    )


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage(SlippageModel):
    """Move every fill ``bps`` basis points against the trader."""

    bps: float
    kind: ClassVar[int] = SLIPPAGE_FIXED_BPS
    params: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rate("FixedBpsSlippage", "bps", self.bps)
        object.__setattr__(self, "params", frozen_array([self.bps]))


@dataclass(frozen=True, slots=True)
class SpreadSlippage(SlippageModel):
    """Pay half the quoted spread; ``spread_bps`` is the full spread used when no quote exists.

    Without ``spread_bps`` a quoted spread must be supplied with every bar.
    """

    spread_bps: float | None = None
    kind: ClassVar[int] = SLIPPAGE_SPREAD
    params: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rate("SpreadSlippage", "spread_bps", self.spread_bps, optional=True)
        object.__setattr__(self, "params", frozen_array([_nan(self.spread_bps)]))

    def price(
        self,
        side: OrderSide | str | int,
        price: float,
        quantity: float,
        *,
        spread: float | None = None,
        volatility: float | None = None,
        adv: float | None = None,
    ) -> float:
        """Return ``price`` after crossing half the spread (see :meth:`SlippageModel.price`)."""
        if spread is None and self.spread_bps is None:
            raise ValidationError(
                "slippage cannot be computed",
                [Issue("SpreadSlippage", "needs a quoted spread or spread_bps", "spread")],
            )
        return SlippageModel.price(self, side, price, quantity, spread=spread)


@dataclass(frozen=True, slots=True)
class SquareRootImpact(SlippageModel):
    """Square-root market impact ``k * sigma * sqrt(Q / ADV)`` as a fraction of price.

    ``volatility`` (daily, a fraction) and ``adv`` (units per day) are defaults used when a bar
    does not supply its own estimate.
    """

    coefficient: float = 1.0
    volatility: float | None = None
    adv: float | None = None
    kind: ClassVar[int] = SLIPPAGE_SQRT_IMPACT
    params: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rate("SquareRootImpact", "coefficient", self.coefficient)
        check_rate("SquareRootImpact", "volatility", self.volatility, optional=True)
        check_rate("SquareRootImpact", "adv", self.adv, optional=True)
        if self.adv is not None and self.adv <= 0:
            raise ValidationError(
                "invalid SquareRootImpact", [Issue("SquareRootImpact", "must be positive", "adv")]
            )
        values = [self.coefficient, _nan(self.volatility), _nan(self.adv)]
        object.__setattr__(self, "params", frozen_array(values))
