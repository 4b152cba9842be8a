from __future__ import annotations

import numpy as np
import pytest
import talib
from arch.data import sp500

from quantdesk.indicators.catalog import REGISTRY
from quantdesk.signals import ExpressionRule, evaluate_rules


def _spx() -> dict[str, np.ndarray]:
    frame = sp500.load()
    data = {c.lower(): frame[c].to_numpy(float) for c in ("Open", "High", "Low", "Close", "Volume")}
    data["ts"] = frame.index.to_numpy().astype("datetime64[us]")
    return data


def test_fires_when_the_condition_turns_true() -> None:
    data = _spx()
    rule = ExpressionRule("deep_oversold", "rsi(14) < 25", "bullish", registry=REGISTRY)
    events = rule.evaluate(data, "SPX")
    # Independent: bars where TA-Lib's RSI(14) drops below 25 after being at or above it (or
    # undefined) on the previous bar.
    rsi = talib.RSI(data["close"], 14)
    below = np.nan_to_num(rsi, nan=100.0) < 25
    starts = [t for t in range(len(rsi)) if below[t] and (t == 0 or not below[t - 1])]
    assert [e.ts.date() for e in events] == [
        data["ts"][t].astype("datetime64[D]").item() for t in starts
    ]
    assert starts
    first = events[0]
    assert first.direction == 1
    assert first.values["rsi(14)"] == pytest.approx(rsi[starts[0]], rel=1e-12)
    assert first.explanation == "rsi(14) < 25 became true"


def test_runs_with_the_builtin_library() -> None:
    rule = ExpressionRule(
        "breakout_20", "close > highest(high, 20)[1]", "bullish", registry=REGISTRY
    )
    events = evaluate_rules("SPX", _spx(), [rule])
    assert events
    assert {e.rule for e in events} == {"breakout_20"}


def test_bad_rule_definitions() -> None:
    with pytest.raises(ValueError, match="direction"):
        ExpressionRule("x", "close > 1", "up", registry=REGISTRY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower_snake_case"):
        ExpressionRule("Bad Name", "close > 1", "bullish", registry=REGISTRY)
