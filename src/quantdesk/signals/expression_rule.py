"""User-defined signal rules written in the screener language."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from quantdesk.indicators.registry import IndicatorRegistry
from quantdesk.signals.events import SignalEvent
from quantdesk.signals.expressions import Expression, compile_expression
from quantdesk.signals.rules import Rule, resolve_data


class ExpressionRule(Rule):
    """A rule that fires when a condition becomes true (its value turns from false to true).

    ``ExpressionRule("oversold_uptrend", "rsi(14) < 30 and close > sma(200)", "bullish")``
    emits one event on each bar where the condition starts holding, with the values of every
    numeric sub-expression at that bar. Strength is 1: a condition either holds or not.
    """

    def __init__(
        self,
        name: str,
        condition: str,
        direction: Literal["bullish", "bearish"],
        *,
        description: str = "",
        registry: IndicatorRegistry | None = None,
    ) -> None:
        super().__init__(name, description or condition)
        if direction not in ("bullish", "bearish"):
            raise ValueError(f"direction must be 'bullish' or 'bearish', got {direction!r}")
        self.expression: Expression = compile_expression(condition, registry)
        self.direction: Literal[1, -1] = 1 if direction == "bullish" else -1

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return one event per bar where the condition turns true."""
        bars, name = resolve_data(data, symbol)
        columns = {key: bars[key] for key in self.expression.required_inputs}
        holds = self.expression.evaluate(columns)
        starts = np.flatnonzero(holds & ~np.concatenate(([False], holds[:-1])))
        events = []
        for t in starts.tolist():
            values = {
                text: value
                for text, value in self.expression.values_at(columns, t).items()
                if math.isfinite(value)
            }
            events.append(
                SignalEvent(
                    ts=bars.timestamp(t),
                    symbol=name,
                    rule=self.name,
                    direction=self.direction,
                    strength=1.0,
                    values=values,
                    explanation=f"{self.expression.text} became true",
                )
            )
        return events
