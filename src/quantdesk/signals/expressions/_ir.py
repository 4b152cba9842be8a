"""The checked, resolved form of an expression that the evaluator runs.

The type checker turns the syntax tree into these nodes: names are resolved to price fields or
registry indicators with fully resolved parameters, every node knows whether it yields a number
or a condition, its lookback, whether it is a constant, and a canonical ``key`` used to compute
each distinct sub-expression once per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from quantdesk.indicators.registry import IndicatorSpec, ParamValue
from quantdesk.signals.expressions._ast import (
    ArithmeticOperator,
    ComparisonOperator,
    LogicalOperator,
    Span,
)

ValueKind = Literal["number", "boolean"]
PriceField = Literal["open", "high", "low", "close", "volume"]
PRICE_FIELDS: tuple[PriceField, ...] = ("open", "high", "low", "close", "volume")
WindowFunction = Literal["highest", "lowest", "change", "pct_change", "mean"]
ElementwiseFunction = Literal["abs", "min", "max"]
CrossDirection = Literal["above", "below"]


@dataclass(frozen=True, slots=True)
class Bound:
    """Fields every checked node has."""

    kind: ValueKind
    key: str
    span: Span
    lookback: int
    constant: bool


@dataclass(frozen=True, slots=True)
class PriceValue(Bound):
    """A bar field (``close``)."""

    field: PriceField


@dataclass(frozen=True, slots=True)
class ConstantValue(Bound):
    """A number, or ``true``/``false`` stored as 1.0/0.0."""

    value: float


@dataclass(frozen=True, slots=True)
class IndicatorValue(Bound):
    """One output of a registry indicator with resolved parameters."""

    spec: IndicatorSpec
    params: tuple[tuple[str, ParamValue], ...]
    source: PriceField | None
    output: str

    @property
    def compute_key(self) -> tuple[str, tuple[tuple[str, ParamValue], ...], str | None]:
        """Return what identifies one computation (all outputs share it)."""
        return (self.spec.name, self.params, self.source)


@dataclass(frozen=True, slots=True)
class LagValue(Bound):
    """``operand`` shifted ``bars`` bars into the future (its value ``bars`` bars ago)."""

    operand: Bound
    bars: int


@dataclass(frozen=True, slots=True)
class NegateValue(Bound):
    """Unary minus."""

    operand: Bound


@dataclass(frozen=True, slots=True)
class ArithmeticValue(Bound):
    """``left op right`` on numbers; division by zero gives NaN."""

    op: ArithmeticOperator
    left: Bound
    right: Bound


@dataclass(frozen=True, slots=True)
class ComparisonValue(Bound):
    """A comparison of two numbers; unknown when either side is NaN."""

    op: ComparisonOperator
    left: Bound
    right: Bound


@dataclass(frozen=True, slots=True)
class LogicalValue(Bound):
    """``and`` / ``or`` of two conditions (three-valued: unknown stays unknown)."""

    op: LogicalOperator
    left: Bound
    right: Bound


@dataclass(frozen=True, slots=True)
class NotValue(Bound):
    """``not`` of a condition."""

    operand: Bound


@dataclass(frozen=True, slots=True)
class CrossValue(Bound):
    """``crosses_above`` / ``crosses_below`` of two numbers."""

    direction: CrossDirection
    left: Bound
    right: Bound


@dataclass(frozen=True, slots=True)
class WindowValue(Bound):
    """A function of the last ``bars`` bars: rolling highest/lowest/mean, change, pct_change."""

    function: WindowFunction
    operand: Bound
    bars: int


@dataclass(frozen=True, slots=True)
class ElementwiseValue(Bound):
    """``abs(x)``, ``min(a, b)`` or ``max(a, b)`` bar by bar."""

    function: ElementwiseFunction
    args: tuple[Bound, ...]


def children(node: Bound) -> tuple[Bound, ...]:
    """Return the direct sub-expressions of ``node`` in source order."""
    if isinstance(node, LagValue | NegateValue | NotValue | WindowValue):
        return (node.operand,)
    if isinstance(node, ArithmeticValue | ComparisonValue | LogicalValue | CrossValue):
        return (node.left, node.right)
    if isinstance(node, ElementwiseValue):
        return node.args
    return ()


def walk(node: Bound) -> list[Bound]:
    """Return ``node`` and all its sub-expressions, parents before children, in source order."""
    nodes = [node]
    for child in children(node):
        nodes.extend(walk(child))
    return nodes
