"""Evaluate a checked expression over whole arrays of bars.

Conditions are carried as float arrays holding 1.0 (true), 0.0 (false) or NaN (unknown: some
input was NaN, e.g. during an indicator's warm-up). ``and``/``or``/``not`` follow three-valued
(Kleene) logic, so ``not (rsi(14) < 30)`` is unknown, not true, while RSI is undefined; the
caller turns unknown into ``False`` at the end. Every distinct sub-expression (by canonical key)
is computed once per evaluation, and each distinct indicator call once for all its outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from quantdesk.indicators.registry import ParamValue
from quantdesk.signals.expressions._ir import (
    ArithmeticValue,
    Bound,
    ComparisonValue,
    ConstantValue,
    CrossValue,
    ElementwiseValue,
    IndicatorValue,
    LagValue,
    LogicalValue,
    NegateValue,
    NotValue,
    PriceValue,
    WindowValue,
)

FloatArray = npt.NDArray[np.float64]
Columns = Mapping[str, npt.NDArray[np.generic]]
_IndicatorKey = tuple[str, tuple[tuple[str, ParamValue], ...], str | None]


class Evaluator:
    """Evaluate checked nodes over one symbol's columns, caching every sub-expression.

    With ``tail`` set, indicators still run on the full history (their values depend on all
    of it) but everything above them is evaluated on the last ``tail`` bars only: enough for
    the latest value when ``tail`` is at least :func:`tail_needed` of the root.
    """

    def __init__(self, columns: Columns, length: int, tail: int | None = None) -> None:
        self.columns = columns
        self.length = length
        self.tail = tail if tail is not None and tail < length else None
        self.width = self.tail if self.tail is not None else length
        self._values: dict[str, FloatArray] = {}
        self._indicators: dict[_IndicatorKey, dict[str, FloatArray]] = {}

    def value(self, node: Bound) -> FloatArray:
        """Return ``node`` over every bar (conditions as 1.0 / 0.0 / NaN)."""
        cached = self._values.get(node.key)
        if cached is not None:
            return cached
        with np.errstate(all="ignore"):
            return self._value(node)

    def _value(self, node: Bound) -> FloatArray:
        cached = self._values.get(node.key)
        if cached is None:
            cached = _DISPATCH[type(node)](self, node)
            self._values[node.key] = cached
        return cached

    def _constant(self, node: ConstantValue) -> FloatArray:
        return np.full(self.width, node.value, dtype=np.float64)

    def _price(self, node: PriceValue) -> FloatArray:
        return self._trim(np.asarray(self.columns[node.field], dtype=np.float64))

    def _indicator_value(self, node: IndicatorValue) -> FloatArray:
        return self._trim(self._indicator(node))

    def _lag(self, node: LagValue) -> FloatArray:
        return shift(self._value(node.operand), node.bars)

    def _negate(self, node: NegateValue) -> FloatArray:
        return -self._value(node.operand)

    def _arithmetic(self, node: ArithmeticValue) -> FloatArray:
        return _arithmetic(node.op, self._value(node.left), self._value(node.right))

    def _comparison(self, node: ComparisonValue) -> FloatArray:
        return _compare(node.op, self._value(node.left), self._value(node.right))

    def _logical(self, node: LogicalValue) -> FloatArray:
        return _logical(node.op, self._value(node.left), self._value(node.right))

    def _not(self, node: NotValue) -> FloatArray:
        return 1.0 - self._value(node.operand)

    def _cross(self, node: CrossValue) -> FloatArray:
        return _cross(node.direction, self._value(node.left), self._value(node.right))

    def _window(self, node: WindowValue) -> FloatArray:
        return _window(node.function, self._value(node.operand), node.bars)

    def _elementwise(self, node: ElementwiseValue) -> FloatArray:
        args = [self._value(arg) for arg in node.args]
        if node.function == "abs":
            return np.abs(args[0])
        combine = np.minimum if node.function == "min" else np.maximum
        return np.asarray(combine(args[0], args[1]), dtype=np.float64)

    def preload(self, key: _IndicatorKey, outputs: dict[str, FloatArray]) -> None:
        """Use ``outputs`` for the indicator call ``key`` instead of computing it."""
        self._indicators[key] = outputs

    def _indicator(self, node: IndicatorValue) -> FloatArray:
        key = node.compute_key
        outputs = self._indicators.get(key)
        if outputs is None:
            spec = node.spec
            inputs: dict[str, npt.NDArray[np.generic]] = {}
            for name in spec.inputs:
                column = node.source if node.source is not None else name
                inputs[name] = self.columns[column]
            outputs = {
                name: np.asarray(array, dtype=np.float64)
                for name, array in spec.compute(inputs, dict(node.params)).items()
            }
            self._indicators[key] = outputs
        result = outputs[node.output]
        if result.shape != (self.length,):
            raise ValueError(
                f"indicator {node.spec.name} returned {result.shape[0]} values "
                f"for {self.length} bars"
            )
        return result

    def _trim(self, values: FloatArray) -> FloatArray:
        return values if self.tail is None else values[-self.tail :]


_DISPATCH: dict[type, Callable[[Evaluator, Any], FloatArray]] = {
    ConstantValue: Evaluator._constant,
    PriceValue: Evaluator._price,
    IndicatorValue: Evaluator._indicator_value,
    LagValue: Evaluator._lag,
    NegateValue: Evaluator._negate,
    ArithmeticValue: Evaluator._arithmetic,
    ComparisonValue: Evaluator._comparison,
    LogicalValue: Evaluator._logical,
    NotValue: Evaluator._not,
    CrossValue: Evaluator._cross,
    WindowValue: Evaluator._window,
    ElementwiseValue: Evaluator._elementwise,
}


def tail_needed(node: Bound) -> int:
    """Return how many trailing bars of its leaves ``node`` needs for its latest value."""
    return 1 + _extra_bars(node)


def _extra_bars(node: Bound) -> int:
    if isinstance(node, LagValue):
        return node.bars + _extra_bars(node.operand)
    if isinstance(node, WindowValue):
        return node.bars + _extra_bars(node.operand)
    if isinstance(node, CrossValue):
        return 1 + max(_extra_bars(node.left), _extra_bars(node.right))
    if isinstance(node, NegateValue | NotValue):
        return _extra_bars(node.operand)
    if isinstance(node, ArithmeticValue | ComparisonValue | LogicalValue):
        return max(_extra_bars(node.left), _extra_bars(node.right))
    if isinstance(node, ElementwiseValue):
        return max(_extra_bars(arg) for arg in node.args)
    return 0


def shift(values: FloatArray, bars: int) -> FloatArray:
    """Return ``values`` delayed by ``bars`` bars, NaN where no earlier value exists."""
    if bars == 0:
        return values
    result = np.full(values.shape, np.nan)
    if bars < values.shape[0]:
        result[bars:] = values[:-bars]
    return result


def _arithmetic(op: str, left: FloatArray, right: FloatArray) -> FloatArray:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    # A zero divisor gives NaN (no value), not ±inf that would pass comparisons.
    return np.where(right == 0.0, np.nan, left / np.where(right == 0.0, 1.0, right))


_SCALAR_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": float.__lt__,
    "<=": float.__le__,
    ">": float.__gt__,
    ">=": float.__ge__,
    "==": float.__eq__,
    "!=": float.__ne__,
}


def _compare(op: str, left: FloatArray, right: FloatArray) -> FloatArray:
    if left.shape[0] == 1 and right.shape[0] == 1:
        # The latest-bar screen evaluates single values: plain floats beat numpy here.
        a, b = float(left[0]), float(right[0])
        if a != a or b != b:
            return np.array([np.nan])
        return np.array([1.0 if _SCALAR_COMPARE[op](a, b) else 0.0])
    if op == "<":
        outcome = left < right
    elif op == "<=":
        outcome = left <= right
    elif op == ">":
        outcome = left > right
    elif op == ">=":
        outcome = left >= right
    elif op == "==":
        outcome = left == right
    else:
        outcome = left != right
    result = outcome.astype(np.float64)
    result[np.isnan(left) | np.isnan(right)] = np.nan
    return result


def _logical(op: str, left: FloatArray, right: FloatArray) -> FloatArray:
    if left.shape[0] == 1 and right.shape[0] == 1:
        return np.array([_scalar_logical(op, float(left[0]), float(right[0]))])
    result = np.full(left.shape, np.nan)
    if op == "and":
        result[(left == 1.0) & (right == 1.0)] = 1.0
        result[(left == 0.0) | (right == 0.0)] = 0.0
    else:
        result[(left == 0.0) & (right == 0.0)] = 0.0
        result[(left == 1.0) | (right == 1.0)] = 1.0
    return result


def _scalar_logical(op: str, a: float, b: float) -> float:
    if op == "and":
        if a == 0.0 or b == 0.0:
            return 0.0
        return 1.0 if a == 1.0 and b == 1.0 else np.nan
    if a == 1.0 or b == 1.0:
        return 1.0
    return 0.0 if a == 0.0 and b == 0.0 else np.nan


def _cross(direction: str, left: FloatArray, right: FloatArray) -> FloatArray:
    result = np.full(left.shape, np.nan)
    if left.shape[0] < 2:
        return result
    before_left, before_right = left[:-1], right[:-1]
    now_left, now_right = left[1:], right[1:]
    if direction == "above":
        crossed = (before_left <= before_right) & (now_left > now_right)
    else:
        crossed = (before_left >= before_right) & (now_left < now_right)
    unknown = (
        np.isnan(before_left) | np.isnan(before_right) | np.isnan(now_left) | np.isnan(now_right)
    )
    result[1:] = np.where(unknown, np.nan, crossed.astype(np.float64))
    return result


def _window(function: str, values: FloatArray, bars: int) -> FloatArray:
    if function in {"change", "pct_change"}:
        before = shift(values, bars)
        if function == "change":
            return values - before
        return np.where(
            before == 0.0, np.nan, (values - before) / np.where(before == 0.0, 1.0, before)
        )
    result = np.full(values.shape, np.nan)
    if bars > values.shape[0]:
        return result
    windows = sliding_window_view(values, bars)
    if function == "highest":
        result[bars - 1 :] = windows.max(axis=1)
    elif function == "lowest":
        result[bars - 1 :] = windows.min(axis=1)
    else:
        result[bars - 1 :] = windows.mean(axis=1)
    return result
