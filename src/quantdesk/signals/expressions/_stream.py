"""Run a compiled expression on live bars, one bar at a time.

Every indicator in the expression becomes a streaming indicator (O(1) per bar, TA-Lib-exact),
and only the last few values of each leaf are kept: as many as the expression needs above its
indicators (lags, rolling windows, the previous bar of a cross). Each update evaluates the
expression on those short buffers with the same evaluator the batch path uses, so a streamed
value equals the batch value at that bar.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.indicators.streaming import StreamingIndicator, make_stream, restore_stream
from quantdesk.signals.expressions._evaluate import Evaluator, FloatArray
from quantdesk.signals.expressions._expression import Expression
from quantdesk.signals.expressions._ir import Bound, IndicatorValue, PriceValue

_PRICE_FIELDS = ("open", "high", "low", "close", "volume")
_Key = tuple[str, tuple[tuple[str, float | int], ...], str | None]


def _walk(node: Bound) -> list[Bound]:
    found: list[Bound] = [node]
    for attribute in ("left", "right", "operand"):
        child = getattr(node, attribute, None)
        if isinstance(child, Bound):
            found.extend(_walk(child))
    for child in getattr(node, "args", ()):
        if isinstance(child, Bound):
            found.extend(_walk(child))
    return found


class StreamingExpression:
    """An expression evaluated incrementally: :meth:`update` once per closed bar."""

    def __init__(self, expression: Expression) -> None:
        self.expression = expression
        nodes = _walk(expression.root)
        self._tail = max(expression.tail, 1)
        self._streams: dict[_Key, StreamingIndicator] = {}
        self._sources: dict[_Key, str | None] = {}
        for node in nodes:
            if isinstance(node, IndicatorValue) and node.compute_key not in self._streams:
                try:
                    stream = make_stream(node.spec.name, **dict(node.params))
                except NotFound:
                    raise ValidationError(
                        "indicator not available for streaming",
                        [
                            Issue(
                                "expression",
                                f"{node.spec.name} has no streaming version; use "
                                "it in batch screens, or pick a streamed indicator",
                            )
                        ],
                    ) from None
                self._streams[node.compute_key] = stream
                self._sources[node.compute_key] = node.source
        self._prices = sorted({n.field for n in nodes if isinstance(n, PriceValue)})
        self._price_buffers: dict[str, deque[float]] = {
            field: deque(maxlen=self._tail) for field in self._prices
        }
        self._outputs: dict[_Key, dict[str, deque[float]]] = {
            key: {name: deque(maxlen=self._tail) for name in stream.outputs}
            for key, stream in self._streams.items()
        }
        self.bars = 0

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> bool | float:
        """Feed one bar; return the condition (``False`` while unknown) or the numeric value."""
        bar = {"open": open, "high": high, "low": low, "close": close, "volume": volume}
        for key, stream in self._streams.items():
            source = self._sources[key]
            fields = dict(bar)
            if source is not None:
                fields["close"] = bar[source]
            result = stream.update(
                fields["open"],
                fields["high"],
                fields["low"],
                fields["close"],
                fields["volume"],
                ts,
            )
            values = result if isinstance(result, tuple) else (result,)
            for name, value in zip(stream.outputs, values, strict=True):
                self._outputs[key][name].append(float(value))
        for field in self._prices:
            self._price_buffers[field].append(float(bar[field]))
        self.bars += 1
        value = self._evaluate()
        if self.expression.kind == "boolean":
            return value == 1.0
        return value

    def _evaluate(self) -> float:
        length = min(self.bars, self._tail)
        columns = {
            field: np.fromiter(buffer, dtype=np.float64, count=length)
            for field, buffer in self._price_buffers.items()
        }
        evaluator = Evaluator(columns, length)
        for key, outputs in self._outputs.items():
            arrays: dict[str, FloatArray] = {
                name: np.fromiter(buffer, dtype=np.float64, count=length)
                for name, buffer in outputs.items()
            }
            evaluator.preload(key, arrays)
        return float(evaluator.value(self.expression.root)[-1])

    def snapshot(self) -> dict[str, Any]:
        """Return the full state as JSON-able data (streams and value buffers)."""
        return {
            "kind": "expression",
            "version": 1,
            "text": self.expression.text,
            "bars": self.bars,
            "streams": [
                {
                    "key": [key[0], [list(p) for p in key[1]], key[2]],
                    "state": stream.snapshot(),
                    "outputs": {n: [_enc(v) for v in b] for n, b in self._outputs[key].items()},
                }
                for key, stream in self._streams.items()
            ],
            "prices": {f: list(b) for f, b in self._price_buffers.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a :meth:`snapshot` taken from a streaming expression with the same text."""
        if state.get("kind") != "expression" or state.get("text") != self.expression.text:
            raise ValueError("snapshot is not from a streaming expression with this text")
        self.bars = int(state["bars"])
        saved = {
            (item["key"][0], tuple(tuple(p) for p in item["key"][1]), item["key"][2]): item
            for item in state["streams"]
        }
        for key in self._streams:
            item = saved[key]
            self._streams[key] = restore_stream(item["state"])
            for name, values in item["outputs"].items():
                self._outputs[key][name] = deque((_dec(v) for v in values), maxlen=self._tail)
        for field, values in state["prices"].items():
            self._price_buffers[field] = deque(values, maxlen=self._tail)


def _enc(value: float) -> float | str:
    return value if np.isfinite(value) else str(value)


def _dec(value: float | str) -> float:
    return float(value)
