"""Compile expression text into an :class:`Expression` and evaluate it over bar data."""

from __future__ import annotations

import importlib

import numpy as np
import numpy.typing as npt

from quantdesk.indicators.registry import IndicatorRegistry
from quantdesk.signals.expressions._ast import Node, to_source
from quantdesk.signals.expressions._check import check
from quantdesk.signals.expressions._data import BarData, ColumnArrays, to_columns
from quantdesk.signals.expressions._errors import ExpressionError
from quantdesk.signals.expressions._evaluate import Evaluator, FloatArray, tail_needed
from quantdesk.signals.expressions._ir import (
    PRICE_FIELDS,
    Bound,
    IndicatorValue,
    PriceValue,
    ValueKind,
    walk,
)
from quantdesk.signals.expressions._parser import parse

#: Longest expression accepted; screener conditions are a line or two.
MAX_LENGTH = 4_000
_INPUT_ORDER = (*PRICE_FIELDS, "ts")


class Expression:
    """A compiled, type-checked expression; pure and reusable across symbols.

    Build it with :func:`compile_expression` (conditions) or :func:`compile_numeric` (series).
    """

    def __init__(self, text: str, tree: Node, root: Bound, registry: IndicatorRegistry) -> None:
        self.text = text
        self.tree = tree
        self.root = root
        self._tail = tail_needed(root)
        self.registry = registry
        nodes = walk(root)
        used: set[str] = set()
        for node in nodes:
            if isinstance(node, PriceValue):
                used.add(node.field)
            elif isinstance(node, IndicatorValue):
                used.update(
                    node.source if node.source is not None else name for name in node.spec.inputs
                )
        self._inputs = tuple(name for name in _INPUT_ORDER if name in used)
        reported: dict[str, Bound] = {}
        for node in nodes:
            if node.kind == "number" and not node.constant:
                reported.setdefault(text[node.span.start : node.span.end], node)
        self._reported = reported

    @property
    def kind(self) -> ValueKind:
        """Return ``"boolean"`` for a condition, ``"number"`` for a numeric series."""
        return self.root.kind

    @property
    def tail(self) -> int:
        """Return how many trailing bars above the indicators the latest value needs."""
        return self._tail

    @property
    def lookback(self) -> int:
        """Return how many leading bars have no meaningful value (the first is at this index)."""
        return self.root.lookback

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """Return the bar columns the expression reads, in ``open high low close volume ts``
        order."""
        return self._inputs

    @property
    def sub_expressions(self) -> tuple[str, ...]:
        """Return the source text of every non-constant numeric sub-expression, in order."""
        return tuple(self._reported)

    @property
    def canonical(self) -> str:
        """Return the expression re-printed in canonical form (lower case, minimal brackets)."""
        return to_source(self.tree)

    def evaluate(self, data: BarData) -> npt.NDArray[np.bool_] | FloatArray:
        """Return the expression at every bar of ``data``.

        Parameters
        ----------
        data
            A mapping of equal-length arrays (``open high low close volume``, optional ``ts``
            as int64 epoch microseconds) or a polars ``DataFrame`` with those columns.

        Returns
        -------
        numpy.ndarray
            For a condition, a bool array, ``False`` wherever it is unknown (a NaN input);
            for a numeric expression, a float64 array with NaN where undefined.

        Raises
        ------
        ValidationError
            When ``data`` lacks a needed column or its columns differ in length.
        """
        columns, length = to_columns(data, self._inputs)
        values = Evaluator(columns, length).value(self.root)
        return values == 1.0 if self.kind == "boolean" else values

    def values_at(self, data: BarData, index: int = -1) -> dict[str, float]:
        """Return every non-constant numeric sub-expression's value at bar ``index``.

        Parameters
        ----------
        data
            Bar data as for :meth:`evaluate`.
        index
            The bar (negative counts from the end; ``-1`` is the latest).

        Returns
        -------
        dict[str, float]
            Values keyed by their source text, e.g. ``{"rsi(14)": 28.3, "close": 101.2}``.
        """
        columns, length = to_columns(data, self._inputs)
        return self.snapshot(columns, length, index)[1]

    def snapshot(
        self, columns: ColumnArrays, length: int, index: int = -1
    ) -> tuple[float, dict[str, float]]:
        """Return the raw value at ``index`` (1.0/0.0/NaN for conditions) and the reported values.

        Parameters
        ----------
        columns
            Arrays as returned by the data normaliser (every required input present).
        length
            The number of bars.
        index
            The bar to read.

        Returns
        -------
        tuple[float, dict[str, float]]
            The expression's value and the sub-expression values at that bar.
        """
        # The latest bar only needs the tail of everything above the indicators.
        tail = self._tail if index == -1 else None
        evaluator = Evaluator(columns, length, tail)
        value = float(evaluator.value(self.root)[index])
        values = {
            text: float(evaluator.value(node)[index]) for text, node in self._reported.items()
        }
        return value, values

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, kind={self.kind!r}, lookback={self.lookback})"


def compile_expression(text: str, registry: IndicatorRegistry | None = None) -> Expression:
    """Compile a screening condition such as ``rsi(14) < 30 and close > sma(200)``.

    Parameters
    ----------
    text
        The condition; it must evaluate to true/false.
    registry
        Where indicator names resolve; the default catalogue when omitted.

    Returns
    -------
    Expression
        The compiled condition.

    Raises
    ------
    ExpressionError
        On a syntax, name, parameter or type error; ``position``/``length`` locate it.
    """
    return _compile(text, registry, "boolean")


def compile_numeric(text: str, registry: IndicatorRegistry | None = None) -> Expression:
    """Compile a numeric expression for charting, such as ``(close - sma(20)) / atr(14)``.

    Parameters
    ----------
    text
        The expression; it must evaluate to a number.
    registry
        Where indicator names resolve; the default catalogue when omitted.

    Returns
    -------
    Expression
        The compiled series.

    Raises
    ------
    ExpressionError
        On a syntax, name, parameter or type error; ``position``/``length`` locate it.
    """
    return _compile(text, registry, "number")


def default_registry() -> IndicatorRegistry:
    """Return the catalogue of every indicator, imported on first use."""
    # Imported here, not at module level: building the catalogue registers every indicator,
    # and callers that pass their own registry should not pay for (or depend on) it.
    registry = importlib.import_module("quantdesk.indicators.catalog").REGISTRY
    if not isinstance(registry, IndicatorRegistry):
        raise TypeError("quantdesk.indicators.catalog.REGISTRY is not an IndicatorRegistry")
    return registry


def _compile(text: str, registry: IndicatorRegistry | None, expected: ValueKind) -> Expression:
    if not isinstance(text, str):
        raise TypeError(f"expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is longer than {MAX_LENGTH} characters", text=text, position=MAX_LENGTH
        )
    resolved = registry if registry is not None else default_registry()
    try:
        tree = parse(text)
        root = check(tree, text, resolved, expected)
    except RecursionError:
        raise ExpressionError(
            "the expression is nested too deeply", text=text, position=0, length=len(text)
        ) from None
    return Expression(text, tree, root, resolved)
