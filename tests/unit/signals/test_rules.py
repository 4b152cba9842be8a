from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from quantdesk.signals import (
    BarArrays,
    CrossRule,
    DetectorRule,
    DivergenceRule,
    Rule,
    SignalEvent,
    ThresholdRule,
    crosses_above,
    crosses_below,
    divergence,
    evaluate_rules,
    threshold_cross,
)

NAN = float("nan")
DAY0 = datetime(2022, 1, 3, tzinfo=UTC)


def bars_of(close: list[float], **extra: Any) -> BarArrays:
    n = len(close)
    return BarArrays({"ts": np.datetime64("2022-01-03") + np.arange(n), "close": close, **extra})


# --- crossings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1, 2, 3, 2, 1, 2], 2.0, [0, 0, 1, 0, 0, 0]),  # 2 -> 3 crosses; 1 -> 2 only touches
        ([1, 2, 2, 1], 2.0, [0, 0, 0, 0]),  # touching and leaving is no cross
        ([1, 3, 2, 4], [2, 2, 3, 3], [0, 1, 0, 1]),  # two series
        ([1, NAN, 3, 1, 3], 2.0, [0, 0, 0, 0, 1]),  # NaN on either side never crosses
        ([1, 3], [NAN, 2], [0, 0]),
        ([5], 2.0, [0]),
        ([], 2.0, []),
    ],
)
def test_crosses_above_hand_worked(a: list[float], b: Any, expected: list[int]) -> None:
    assert crosses_above(a, b).tolist() == [bool(v) for v in expected]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([3, 2, 1, 2, 3], 2.0, [0, 0, 1, 0, 0]),  # 3 -> 2 touches; 2 -> 1 crosses
        ([3, 1, 2, 0], [2, 2, 1, 1], [0, 1, 0, 1]),
        ([3, NAN, 1, 3, 1], 2.0, [0, 0, 0, 0, 1]),
    ],
)
def test_crosses_below_hand_worked(a: list[float], b: Any, expected: list[int]) -> None:
    assert crosses_below(a, b).tolist() == [bool(v) for v in expected]


def test_threshold_cross_picks_the_direction() -> None:
    x = [25.0, 35.0, 28.0, 30.0, 29.0]
    assert threshold_cross(x, 30, "above").tolist() == [False, True, False, False, False]
    assert threshold_cross(x, 30, "below").tolist() == [False, False, True, False, True]
    with pytest.raises(ValueError, match="direction"):
        threshold_cross(x, 30, "sideways")  # type: ignore[arg-type]


def test_crossing_inputs_must_line_up() -> None:
    with pytest.raises(ValueError, match="shape"):
        crosses_above([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        crosses_below([[1.0, 2.0]], 1.0)


# --- divergence ---------------------------------------------------------------------------

# Swing lows at bar 10 (100) and bar 30 (95, a lower low); confirmed 3 bars later.
LOWER_LOW = np.interp(np.arange(41), [0, 10, 20, 30, 40], [110, 100, 108, 95, 105])
HIGHER_HIGH = np.interp(np.arange(41), [0, 10, 20, 30, 40], [90, 100, 92, 105, 95])


def oscillator(at_10: float, at_30: float) -> np.ndarray:
    values = np.full(41, 50.0)
    values[:5] = NAN  # warm-up
    values[10], values[30] = at_10, at_30
    return values


def test_bullish_divergence_reported_at_second_pivot_confirmation() -> None:
    found = divergence(LOWER_LOW, oscillator(20, 30), kind="bullish", left=3, right=3)
    assert len(found) == 1
    item = found[0]
    assert (item.first, item.second, item.confirmed_at) == (10, 30, 33)
    assert (item.price_first, item.price_second) == (100.0, 95.0)
    assert (item.oscillator_first, item.oscillator_second) == (20.0, 30.0)


def test_no_bullish_divergence_when_the_oscillator_confirms_the_low() -> None:
    assert divergence(LOWER_LOW, oscillator(20, 15), kind="bullish", left=3, right=3) == []
    assert divergence(LOWER_LOW, oscillator(20, 20), kind="bullish", left=3, right=3) == []


def test_bearish_divergence_and_its_near_miss() -> None:
    found = divergence(HIGHER_HIGH, oscillator(80, 70), kind="bearish", left=3, right=3)
    assert [(d.first, d.second, d.confirmed_at) for d in found] == [(10, 30, 33)]
    assert divergence(HIGHER_HIGH, oscillator(80, 85), kind="bearish", left=3, right=3) == []
    assert divergence(LOWER_LOW, oscillator(20, 30), kind="bearish", left=3, right=3) == []


def test_divergence_respects_max_distance_and_is_point_in_time() -> None:
    osc = oscillator(20, 30)
    assert divergence(LOWER_LOW, osc, kind="bullish", left=3, right=3, max_distance=19) == []
    assert divergence(LOWER_LOW[:33], osc[:33], kind="bullish", left=3, right=3) == []
    assert len(divergence(LOWER_LOW[:34], osc[:34], kind="bullish", left=3, right=3)) == 1


def test_divergence_validates_parameters() -> None:
    with pytest.raises(ValueError, match="right"):
        divergence(LOWER_LOW, LOWER_LOW, kind="bullish", right=0)
    with pytest.raises(ValueError, match="kind"):
        divergence(LOWER_LOW, LOWER_LOW, kind="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="oscillator"):
        divergence(LOWER_LOW, LOWER_LOW[:-1], kind="bullish")


# --- rules --------------------------------------------------------------------------------


def test_threshold_rule_from_a_callable() -> None:
    rule = ThresholdRule(
        "custom_oversold", lambda d: d["osc"], 30, "below", signal=1, label="OSC(3)", scale=10
    )
    data = bars_of([1, 2, 3, 4], osc=[35.0, 31.0, 28.0, 33.0])
    events = rule.evaluate(data, "ABC")
    assert events == [
        SignalEvent(
            ts=DAY0 + timedelta(days=2),
            symbol="ABC",
            rule="custom_oversold",
            direction=1,
            strength=0.2,  # |28 - 30| / 10
            values={"OSC(3)": 28.0, "level": 30.0},
            explanation="OSC(3) crossed below 30 at 28.00",
        )
    ]
    # Without a scale the strength is the decisiveness |28 - 30| / (|28 - 30| + |31 - 30|).
    plain = ThresholdRule("dip", lambda d: d["osc"], 30, "below")
    (event,) = plain.evaluate(data, "ABC")
    assert event.direction == -1
    assert event.strength == pytest.approx(2 / 3)


def test_cross_rule_from_callables() -> None:
    data = bars_of([1.0, 2.0, 4.0, 1.0], slow=[2.0, 2.0, 2.0, 2.0])
    up = CrossRule(
        "fast_over_slow", lambda d: d["close"], lambda d: d["slow"], labels=("close", "slow")
    )
    (event,) = up.evaluate(data, "ABC")
    # close 2 -> 4 against 2: a touch at bar 1, cross at bar 2; decisiveness 2 / (2 + 0) = 1.
    assert (event.ts, event.direction, event.strength) == (DAY0 + timedelta(days=2), 1, 1.0)
    assert event.values == {"close": 4.0, "slow": 2.0}
    assert event.explanation == "close crossed above slow (4.00 vs 2.00)"
    down = CrossRule("fast_under_slow", lambda d: d["close"], lambda d: 2.0, cross="below")
    (event,) = down.evaluate(data, "ABC")
    assert (event.ts, event.direction) == (DAY0 + timedelta(days=3), -1)
    assert event.strength == pytest.approx(1 / 3)


def test_rule_takes_the_symbol_from_the_data_when_not_given() -> None:
    rule = ThresholdRule("up", lambda d: d["close"], 1.5, "above")
    data = {"ts": np.array([1, 2, 3]), "close": [1.0, 2.0, 3.0], "symbol": "XYZ"}
    assert [e.symbol for e in rule.evaluate(data)] == ["XYZ"]
    with pytest.raises(ValueError, match="symbol"):
        rule.evaluate({"ts": np.array([1, 2]), "close": [1.0, 2.0]})


def test_rule_validation() -> None:
    with pytest.raises(ValueError, match="name"):
        ThresholdRule("Not A Name", lambda d: d["close"], 1, "above")
    with pytest.raises(ValueError, match="direction"):
        ThresholdRule("x", lambda d: d["close"], 1, "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scale"):
        ThresholdRule("x", lambda d: d["close"], 1, "above", scale=0)
    with pytest.raises(ValueError, match="labels"):
        CrossRule("x", lambda d: d["close"], lambda d: d["close"], labels=("a", "a"))
    with pytest.raises(TypeError):
        Rule("abstract")  # type: ignore[abstract]
    bad = ThresholdRule("bad", lambda d: d["close"][:-1], 1, "above")
    with pytest.raises(ValueError, match="series_fn"):
        bad.evaluate(bars_of([1.0, 2.0, 3.0]), "X")


class GapUp(Rule):
    """A user rule written as a subclass: open above the previous high."""

    def __init__(self) -> None:
        super().__init__("gap_up", "open above the previous bar's high")

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        bars = BarArrays.coerce(data)
        opens, highs = bars["open"], bars["high"]
        return [
            SignalEvent(
                ts=bars.timestamp(t),
                symbol=symbol or "?",
                rule=self.name,
                direction=1,
                strength=0.5,
                values={"open": float(opens[t]), "previous_high": float(highs[t - 1])},
                explanation=f"Opened at {opens[t]:.2f} above the previous high {highs[t - 1]:.2f}",
            )
            for t in range(1, bars.bar_count)
            if opens[t] > highs[t - 1]
        ]


def test_user_rules_run_through_evaluate_rules_in_time_order() -> None:
    data = bars_of(
        [10.0, 12.0, 11.0, 14.0],
        open=[10.0, 12.0, 11.0, 14.0],
        high=[10.5, 12.5, 11.5, 14.5],
    )
    above = ThresholdRule("above_eleven", lambda d: d["close"], 11.5, "above")
    events = evaluate_rules("ABC", data, rules=[GapUp(), above])
    assert [(e.rule, e.ts.day) for e in events] == [
        ("above_eleven", 4),
        ("gap_up", 4),
        ("above_eleven", 6),
        ("gap_up", 6),
    ]
    later = evaluate_rules("ABC", data, rules=[GapUp(), above], since=DAY0 + timedelta(days=2))
    assert [e.ts.day for e in later] == [6, 6]
    with pytest.raises(ValueError, match="since"):
        evaluate_rules("ABC", data, rules=[above], since=datetime(2022, 1, 1))


def test_divergence_and_detector_rules_wrap_the_building_blocks() -> None:
    data = bars_of(list(LOWER_LOW), osc=list(oscillator(20, 30)))
    rule = DivergenceRule(
        "osc_divergence", lambda d: d["osc"], "bullish", left=3, right=3, label="OSC", scale=20
    )
    (event,) = rule.evaluate(data, "ABC")
    assert event.ts == DAY0 + timedelta(days=33)
    assert event.strength == pytest.approx(0.5)  # |30 - 20| / 20
    assert "OSC" in event.explanation
    assert "3/3" in event.explanation

    def detector(bars: BarArrays, symbol: str) -> list[SignalEvent]:
        return [
            SignalEvent(bars.timestamp(0), symbol, name, 1, 0.5, {}, f"{name} fired")
            for name in ("kept", "dropped")
        ]

    assert [e.rule for e in DetectorRule("kept", detector).evaluate(data, "ABC")] == ["kept"]
