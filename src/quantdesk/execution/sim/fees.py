"""Commission models: none, per share, percent of notional and progressive tiers.

Each model is a frozen value with a numba ``kind`` code and a float64 ``params`` array; its
:meth:`FeeModel.fee` calls the kernel :func:`~quantdesk.execution.sim._costs_nb.fee_nb`, the
same function the numba simulators call with ``(model.kind, model.params)``.

Formula (per order): ``fee = min(max(raw, minimum), maximum_rate * notional)``, the cap only when
``maximum_rate`` is set. Partial fills of one order are charged ``fee(cumulative) -
fee(previous cumulative)``, so the minimum and the tiers apply to the whole order. Tiers are
per order and progressive (each rate applies to the slice of the order inside its tier);
volume tiers that depend on a month's cumulative trading are not modelled.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.execution.sim._costs_nb import (
    FEE_NONE,
    FEE_PER_SHARE,
    FEE_PERCENT,
    FEE_TIERED,
    TIER_BASIS_NOTIONAL,
    TIER_BASIS_SHARES,
    fee_nb,
)

__all__ = ["FeeModel", "NoFee", "PerShareFee", "PercentFee", "TierBasis", "TieredFee"]

FloatArray = npt.NDArray[np.float64]


def frozen_array(values: Sequence[float]) -> FloatArray:
    """Return a read-only float64 array (model parameters never change once built)."""
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def check_rate(model: str, name: str, value: float | None, *, optional: bool = False) -> None:
    """Raise ``ValidationError`` unless ``value`` is a finite number >= 0 (or None if optional)."""
    if value is None and optional:
        return
    if value is None or not math.isfinite(value) or value < 0:
        raise ValidationError(
            f"invalid {model}", [Issue(model, f"must be a finite number >= 0, got {value!r}", name)]
        )


class FeeModel:
    """Base of the commission models; see the module docstring for the formula."""

    __slots__ = ()

    kind: ClassVar[int]
    params: FloatArray

    def fee(self, quantity: float, price: float) -> float:
        """Return the commission on an order of ``quantity`` units at ``price``.

        Parameters
        ----------
        quantity
            Units traded (positive).
        price
            Execution price; the notional is ``quantity * price``.

        Returns
        -------
        float
            The commission in currency, ``0`` for an empty order.
        """
        quantity = float(quantity)
        return float(fee_nb(self.kind, self.params, quantity, quantity * float(price)))


@dataclass(frozen=True, slots=True)
class NoFee(FeeModel):
    """No commission."""

    kind: ClassVar[int] = FEE_NONE
    params: FloatArray = field(
        init=False, repr=False, compare=False, default_factory=lambda: frozen_array([0.0, math.nan])
    )


@dataclass(frozen=True, slots=True)
class PerShareFee(FeeModel):
    """``rate`` per unit, at least ``minimum`` an order, at most ``maximum_rate`` of notional.

    ``PerShareFee(0.005, minimum=1.0, maximum_rate=0.01)`` is Interactive Brokers' fixed US
    stock pricing (USD 0.005 a share, USD 1 minimum, 1 % of trade value maximum).
    """

    rate: float
    minimum: float = 0.0
    maximum_rate: float | None = None
    kind: ClassVar[int] = FEE_PER_SHARE
    params: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rate("PerShareFee", "rate", self.rate)
        check_rate("PerShareFee", "minimum", self.minimum)
        check_rate("PerShareFee", "maximum_rate", self.maximum_rate, optional=True)
        cap = math.nan if self.maximum_rate is None else self.maximum_rate
        object.__setattr__(self, "params", frozen_array([self.minimum, cap, self.rate]))


@dataclass(frozen=True, slots=True)
class PercentFee(FeeModel):
    """``rate`` (a fraction: ``0.001`` = 0.1 %) of notional, at least ``minimum`` an order."""

    rate: float
    minimum: float = 0.0
    kind: ClassVar[int] = FEE_PERCENT
    params: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rate("PercentFee", "rate", self.rate)
        check_rate("PercentFee", "minimum", self.minimum)
        object.__setattr__(self, "params", frozen_array([self.minimum, math.nan, self.rate]))


class TierBasis(StrEnum):
    """What a tiered fee schedule measures: the order's notional or its number of units."""

    NOTIONAL = "notional"
    SHARES = "shares"


@dataclass(frozen=True, slots=True)
class TieredFee(FeeModel):
    """Progressive tiers over notional or units, with a per-order minimum (and optional cap).

    ``breakpoints`` are the tiers' lower bounds, starting at ``0`` and increasing; ``rates[i]``
    applies to the slice of the order between ``breakpoints[i]`` and ``breakpoints[i + 1]``
    (fractions of notional for ``basis="notional"``, currency per unit for ``"shares"``).
    ``TieredFee((0, 10_000), (0.001, 0.0005))`` charges 0.1 % on the first 10,000 of notional
    and 0.05 % on the rest.
    """

    breakpoints: tuple[float, ...]
    rates: tuple[float, ...]
    basis: TierBasis = TierBasis.NOTIONAL
    minimum: float = 0.0
    maximum_rate: float | None = None
    kind: ClassVar[int] = FEE_TIERED
    params: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        breakpoints = tuple(float(b) for b in self.breakpoints)
        rates = tuple(float(r) for r in self.rates)
        issues: list[Issue] = []
        if not breakpoints or len(breakpoints) != len(rates):
            issues.append(Issue("TieredFee", "give one rate per breakpoint", "rates"))
        elif breakpoints[0] != 0.0:
            issues.append(Issue("TieredFee", "the first breakpoint must be 0", "breakpoints"))
        if any(b >= c for b, c in itertools.pairwise(breakpoints)):
            issues.append(Issue("TieredFee", "breakpoints must increase", "breakpoints"))
        if any(not math.isfinite(v) or v < 0 for v in breakpoints + rates):
            issues.append(Issue("TieredFee", "breakpoints and rates must be finite, >= 0", "rates"))
        if issues:
            raise ValidationError("invalid TieredFee", issues)
        check_rate("TieredFee", "minimum", self.minimum)
        check_rate("TieredFee", "maximum_rate", self.maximum_rate, optional=True)
        basis = TierBasis(self.basis)
        code = TIER_BASIS_NOTIONAL if basis is TierBasis.NOTIONAL else TIER_BASIS_SHARES
        cap = math.nan if self.maximum_rate is None else self.maximum_rate
        head = [self.minimum, cap, float(code), float(len(rates))]
        object.__setattr__(self, "breakpoints", breakpoints)
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "basis", basis)
        object.__setattr__(self, "params", frozen_array([*head, *breakpoints, *rates]))
