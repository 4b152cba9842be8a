"""Chart patterns on hand-built piecewise-linear price paths with explicit pivots.

Every path is ``close = np.interp(bar, xs, ys)`` with ``high = close + 0.2`` and
``low = close - 0.2``, so swing pivots sit exactly at the path's vertices and every expected
index and level below is worked out by hand from the vertices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.signals import (
    BarArrays,
    Level,
    SignalEvent,
    detect_breakouts,
    detect_double_tops,
    detect_head_and_shoulders,
    detect_trendline_breaks,
    support_resistance_levels,
    swing_pivots,
)

DAY0 = datetime(2020, 1, 1, tzinfo=UTC)
SWING = {"left": 3, "right": 3}


def path(points: Sequence[tuple[int, float]], volume: dict[int, float] | None = None) -> BarArrays:
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    n = xs[-1] + 1
    close = np.interp(np.arange(n), xs, ys)
    vol = np.full(n, 1000.0)
    for index, value in (volume or {}).items():
        vol[index] = value
    return BarArrays(
        {
            "ts": np.datetime64("2020-01-01") + np.arange(n),
            "open": close,
            "high": close + 0.2,
            "low": close - 0.2,
            "close": close,
            "volume": vol,
            "symbol": "TEST",
        }
    )


def day(index: int) -> datetime:
    return DAY0 + timedelta(days=index)


def only(events: list[SignalEvent], rule: str) -> list[SignalEvent]:
    return [event for event in events if event.rule == rule]


# --- swing pivots ------------------------------------------------------------------------


def test_pivots_sit_at_vertices_and_are_known_right_bars_later() -> None:
    bars = path([(0, 100), (10, 110), (20, 102), (30, 110), (40, 103), (50, 116)])
    pivots = swing_pivots(bars["high"], bars["low"], left=3, right=3)
    assert [(p.index, p.confirmed_at) for p in pivots.highs] == [(10, 13), (30, 33)]
    assert [p.price for p in pivots.highs] == pytest.approx([110.2, 110.2])
    assert [(p.index, p.confirmed_at) for p in pivots.lows] == [(20, 23), (40, 43)]
    assert all(p.kind == "high" for p in pivots.highs)
    known = pivots.known_at(32)
    assert [p.index for p in known.highs] == [10]
    assert [p.index for p in known.lows] == [20]


def test_flat_top_counts_once_at_its_first_bar() -> None:
    high = np.array([1, 2, 5, 5, 5, 2, 1], dtype=float)
    pivots = swing_pivots(high, high, left=2, right=2)
    assert [p.index for p in pivots.highs] == [2]


def _brute_force_pivots(
    high: np.ndarray, low: np.ndarray, left: int, right: int
) -> tuple[list[int], list[int]]:
    highs, lows = [], []
    for p in range(left, len(high) - right):
        before_h, after_h = high[p - left : p], high[p + 1 : p + right + 1]
        if all(high[p] > v for v in before_h) and all(high[p] >= v for v in after_h):
            highs.append(p)
        before_l, after_l = low[p - left : p], low[p + 1 : p + right + 1]
        if all(low[p] < v for v in before_l) and all(low[p] <= v for v in after_l):
            lows.append(p)
    return highs, lows


@pytest.mark.parametrize(("left", "right"), [(1, 1), (2, 3), (5, 2)])
def test_pivot_kernel_matches_brute_force_window_scan(left: int, right: int) -> None:
    rng = np.random.default_rng(7)
    close = np.round(100 + np.cumsum(rng.normal(0, 1, 400)), 0)  # rounding makes ties
    high, low = close + np.round(rng.uniform(0, 2, 400)), close - np.round(rng.uniform(0, 2, 400))
    pivots = swing_pivots(high, low, left=left, right=right)
    expected_highs, expected_lows = _brute_force_pivots(high, low, left, right)
    assert [p.index for p in pivots.highs] == expected_highs
    assert [p.index for p in pivots.lows] == expected_lows


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: swing_pivots([1.0, 2.0], [1.0, 2.0], right=0), "right"),
        (lambda: swing_pivots([1.0, 2.0], [1.0, 2.0], left=0), "left"),
        (lambda: support_resistance_levels(path([(0, 1), (9, 2)]), tolerance=0), "tolerance"),
        (lambda: support_resistance_levels(path([(0, 1), (9, 2)]), tolerance=-0.1), "tolerance"),
        (lambda: support_resistance_levels(path([(0, 1), (9, 2)]), as_of=10), "as_of"),
        (lambda: detect_breakouts(path([(0, 1), (9, 2)]), "X", volume_factor=0), "volume_factor"),
        (lambda: detect_breakouts(path([(0, 1), (9, 2)]), "X", volume_window=0), "volume_window"),
        (lambda: detect_breakouts(path([(0, 1), (9, 2)]), "X", min_touches=0), "min_touches"),
        (lambda: detect_double_tops(path([(0, 1), (9, 2)]), "X", min_distance=1), "min_distance"),
        (lambda: detect_double_tops(path([(0, 1), (9, 2)]), "X", depth=0), "depth"),
        (lambda: detect_double_tops(path([(0, 1), (9, 2)]), "X", max_wait=-1), "max_wait"),
        (lambda: detect_head_and_shoulders(path([(0, 1), (9, 2)]), "X", tolerance=2), "tolerance"),
        (lambda: detect_trendline_breaks(path([(0, 1), (9, 2)]), "X", right=0), "right"),
        (
            lambda: detect_trendline_breaks(path([(0, 1), (9, 2)]), "X", range_window=0),
            "range_window",
        ),
    ],
)
def test_nonsense_parameters_are_rejected_by_name(call: Callable[[], Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_breakouts_need_a_volume_column() -> None:
    bars = path([(0, 1), (9, 2)])
    data = {key: bars[key] for key in ("ts", "high", "low", "close")}
    with pytest.raises(ValueError, match="'volume'"):
        detect_breakouts(data, "X")


# --- support and resistance ---------------------------------------------------------------

RANGE_THEN_UP = [(0, 100), (10, 110), (20, 102), (30, 110), (40, 103), (50, 116)]


def test_levels_cluster_pivot_prices_point_in_time() -> None:
    bars = path(RANGE_THEN_UP)
    # Highs 110.2 at bars 10 and 30 (confirmed 13, 33) form one level; lows 101.8 (bar 20) and
    # 102.8 (bar 40) are 0.98% apart, inside 1.5%, so they average to 102.3.
    levels = support_resistance_levels(bars, left=3, right=3, tolerance=0.015)
    assert levels == [
        Level(pytest.approx(102.3), 2, 20, 40, 43, 0.5, "support"),  # type: ignore[arg-type]
        Level(pytest.approx(110.2), 2, 10, 30, 33, 0.5, "support"),  # type: ignore[arg-type]
    ]
    # At bar 45 (close 109.5) the 110.2 level is overhead.
    assert [lv.kind for lv in support_resistance_levels(bars, **SWING, as_of=45)] == [
        "support",
        "resistance",
    ]
    # At bar 32 the second high is not confirmed yet: two single-touch levels.
    early = support_resistance_levels(bars, **SWING, as_of=32)
    assert [lv.price for lv in early] == pytest.approx([101.8, 110.2])
    assert [lv.touches for lv in early] == [1, 1]
    assert support_resistance_levels(bars, **SWING, as_of=32, min_touches=2) == []
    # A tighter tolerance keeps the two lows apart.
    tight = support_resistance_levels(bars, **SWING, tolerance=0.005)
    assert [lv.touches for lv in tight] == [1, 1, 2]


# --- breakouts ------------------------------------------------------------------------------


def test_breakout_above_two_touch_resistance_on_volume() -> None:
    # Close rises 1.3 a bar from 103 at bar 40: 109.5 at 45 (<= 110.2), 110.8 at 46 (> 110.2).
    bars = path(RANGE_THEN_UP, volume={46: 3000.0})
    events = detect_breakouts(bars, "TEST", **SWING)
    assert len(events) == 1
    event = events[0]
    assert (event.rule, event.ts, event.direction, event.symbol) == ("breakout", day(46), 1, "TEST")
    assert event.values["level"] == pytest.approx(110.2)
    assert event.values["touches"] == 2
    assert event.values["close"] == pytest.approx(110.8)
    assert event.values["volume_ratio"] == pytest.approx(3.0)
    # 0.5 * level strength (2 touches: 0.5) + 0.5 * min(1, (3 - 1.5) / 1.5)
    assert event.strength == pytest.approx(0.75)
    assert "110.20" in event.explanation
    assert "3.00x" in event.explanation
    assert "20-bar" in event.explanation


def test_breakout_without_volume_does_not_fire() -> None:
    assert detect_breakouts(path(RANGE_THEN_UP), "TEST", **SWING) == []
    weak = path(RANGE_THEN_UP, volume={46: 1400.0})  # ratio 1.4 < 1.5
    assert detect_breakouts(weak, "TEST", **SWING) == []


def test_breakdown_below_two_touch_support_on_volume() -> None:
    # Lows 99.8 at bars 10 and 30; close falls 1.3 a bar from 107 at 40: 100.5 at 45, 99.2 at 46.
    points = [(0, 110), (10, 100), (20, 108), (30, 100), (40, 107), (50, 94)]
    events = detect_breakouts(path(points, volume={46: 2000.0}), "TEST", **SWING)
    assert [(e.rule, e.ts, e.direction) for e in events] == [("breakdown", day(46), -1)]
    assert events[0].values["level"] == pytest.approx(99.8)
    # volume part: (2 - 1.5) / 1.5 = 1/3
    assert events[0].strength == pytest.approx(0.25 + 0.5 / 3)


# --- double tops and bottoms ----------------------------------------------------------------

DOUBLE_TOP = [(0, 100), (10, 110), (20, 100), (30, 110.5), (40, 95)]


def test_double_top_confirmed_by_neckline_break() -> None:
    # Tops 110.2 (bar 10) and 110.7 (bar 30), 0.45% apart; trough low 99.8 at bar 20 is the
    # neckline. Close falls 1.55 a bar from 110.5: 101.2 at 36, 99.65 at 37 (< 99.8).
    events = detect_double_tops(path(DOUBLE_TOP), "TEST", **SWING)
    assert [(e.rule, e.ts, e.direction) for e in events] == [("double_top", day(37), -1)]
    values = events[0].values
    assert values["first"] == pytest.approx(110.2)
    assert values["second"] == pytest.approx(110.7)
    assert values["neckline"] == pytest.approx(99.8)
    height = (110.2 + 110.7) / 2 - 99.8
    assert values["height"] == pytest.approx(height)
    assert events[0].strength == pytest.approx(0.5 + 0.5 * (99.8 - 99.65) / height)
    assert "neckline" in events[0].explanation


def test_double_top_with_second_top_beyond_tolerance_does_not_fire() -> None:
    near_miss = [(0, 100), (10, 110), (20, 100), (30, 110 * 1.065), (40, 95)]  # 6.5% higher
    assert detect_double_tops(path(near_miss), "TEST", **SWING) == []


def test_double_top_with_shallow_trough_does_not_fire() -> None:
    shallow = [(0, 100), (10, 110), (20, 108), (30, 110.5), (40, 95)]  # 2% deep, needs 3%
    assert detect_double_tops(path(shallow), "TEST", **SWING) == []
    assert len(detect_double_tops(path(shallow), "TEST", **SWING, depth=0.01)) == 1


def test_double_top_abandoned_when_price_clears_the_tops() -> None:
    rally = [(0, 100), (10, 110), (20, 100), (30, 110.5), (34, 108), (40, 118), (60, 90)]
    assert only(detect_double_tops(path(rally), "TEST", **SWING), "double_top") == []


def test_double_bottom_confirmed_by_neckline_break() -> None:
    # Bottoms 99.8 (bar 10) and 99.4 (bar 30); peak high 110.2 at bar 20. Close rises 1.54 a
    # bar from 99.6: 108.84 at 36, 110.38 at 37 (> 110.2).
    points = [(0, 110), (10, 100), (20, 110), (30, 99.6), (40, 115)]
    events = detect_double_tops(path(points), "TEST", **SWING)
    assert [(e.rule, e.ts, e.direction) for e in events] == [("double_bottom", day(37), 1)]
    assert events[0].values["neckline"] == pytest.approx(110.2)


# --- head and shoulders -------------------------------------------------------------------

HEAD_AND_SHOULDERS = [(0, 100), (10, 110), (18, 102), (26, 120), (34, 103), (42, 110.5), (55, 90)]


def test_head_and_shoulders_confirmed_below_sloping_neckline() -> None:
    # Neckline through lows 101.8 (bar 18) and 102.8 (bar 34): 101.8 + (t - 18) / 16.
    # Close falls 20.5/13 a bar from 110.5 at 42: 104.19 at 46 (neckline 103.55),
    # 102.62 at 47 (neckline 103.61) -> confirmed at 47.
    events = detect_head_and_shoulders(path(HEAD_AND_SHOULDERS), "TEST", **SWING, tolerance=0.015)
    assert [(e.rule, e.ts, e.direction) for e in events] == [("head_and_shoulders", day(47), -1)]
    values = events[0].values
    assert values["head"] == pytest.approx(120.2)
    assert values["left_shoulder"] == pytest.approx(110.2)
    assert values["right_shoulder"] == pytest.approx(110.7)
    assert values["neckline"] == pytest.approx(101.8 + 29 / 16)
    assert values["slope"] == pytest.approx(1 / 16)
    assert values["height"] == pytest.approx(120.2 - (101.8 + 8 / 16))
    assert 0.5 <= events[0].strength <= 1.0


def test_head_that_is_not_the_highest_does_not_fire() -> None:
    low_head = [(0, 100), (10, 110), (18, 102), (26, 108), (34, 103), (42, 110.5), (55, 90)]
    assert detect_head_and_shoulders(path(low_head), "TEST", **SWING, tolerance=0.015) == []


def test_uneven_shoulders_do_not_fire() -> None:
    uneven = [(0, 100), (10, 110), (18, 102), (26, 120), (34, 103), (42, 114), (55, 90)]  # 3.6%
    assert detect_head_and_shoulders(path(uneven), "TEST", **SWING, tolerance=0.015) == []


def test_inverse_head_and_shoulders_confirmed_above_neckline() -> None:
    # Neckline through highs 118.2 (bar 18) and 117.2 (bar 34): 118.2 - (t - 18) / 16.
    # Close rises 20.5/13 a bar from 109.5 at 42: 115.81 at 46 (neckline 116.45),
    # 117.38 at 47 (neckline 116.39) -> confirmed at 47.
    points = [(0, 120), (10, 110), (18, 118), (26, 100), (34, 117), (42, 109.5), (55, 130)]
    events = detect_head_and_shoulders(path(points), "TEST", **SWING, tolerance=0.015)
    assert [(e.rule, e.ts, e.direction) for e in events] == [
        ("inverse_head_and_shoulders", day(47), 1)
    ]
    assert events[0].values["neckline"] == pytest.approx(118.2 - 29 / 16)


# --- trend lines --------------------------------------------------------------------------


def test_trendline_break_below_rising_lows() -> None:
    # Lows 99.8 (bar 5) and 104.8 (bar 25): line 99.8 + 0.25 (t - 5), known from bar 28.
    # Close falls 1.5 a bar from 115 at 35: 109 at 39 (line 108.3), 107.5 at 40 (line 108.55).
    events = detect_trendline_breaks(
        path([(0, 105), (5, 100), (15, 110), (25, 105), (35, 115), (45, 100)]), "TEST", **SWING
    )
    assert [(e.rule, e.ts, e.direction) for e in events] == [("trendline_break_down", day(40), -1)]
    assert events[0].values["line"] == pytest.approx(108.55)
    assert events[0].values["slope"] == pytest.approx(0.25)
    # penetration 1.05 over the 0.4 mean bar range: full strength
    assert events[0].strength == pytest.approx(1.0)


def test_price_that_stays_above_the_line_does_not_break_it() -> None:
    # Close 115 - 0.5 (t - 35) stays 0.2 above the line at bar 45.
    points = [(0, 105), (5, 100), (15, 110), (25, 105), (35, 115), (45, 110)]
    assert detect_trendline_breaks(path(points), "TEST", **SWING) == []


def test_trendline_break_above_falling_highs() -> None:
    # Highs 110.2 (bar 5) and 105.2 (bar 25): line 110.2 - 0.25 (t - 5), known from bar 28.
    # Close rises 1.5 a bar from 95 at 35: 101 at 39 (line 101.7), 102.5 at 40 (line 101.45).
    points = [(0, 105), (5, 110), (15, 100), (25, 105), (35, 95), (45, 110)]
    events = detect_trendline_breaks(path(points), "TEST", **SWING)
    assert [(e.rule, e.ts, e.direction) for e in events] == [("trendline_break_up", day(40), 1)]
    assert events[0].values["line"] == pytest.approx(101.45)


# --- no lookahead ---------------------------------------------------------------------------


def random_walk(seed: int, n: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    spread = close * rng.uniform(0.002, 0.02, n)
    return BarArrays(
        {
            "ts": np.datetime64("2021-01-01") + np.arange(n),
            "open": close,
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.lognormal(10, 0.5, n),
        }
    )


LOOSE = {"left": 2, "right": 2}
DETECTORS: list[Callable[[BarArrays], list[SignalEvent]]] = [
    lambda b: detect_breakouts(b, "RW", **LOOSE, tolerance=0.03, volume_factor=1.1),
    lambda b: detect_double_tops(b, "RW", **LOOSE, tolerance=0.03, min_distance=3, depth=0.01),
    lambda b: detect_head_and_shoulders(b, "RW", **LOOSE, tolerance=0.05),
    lambda b: detect_trendline_breaks(b, "RW", **LOOSE),
]


def test_random_walks_do_produce_pattern_events() -> None:
    bars = random_walk(1, 300)
    rules = {event.rule for detector in DETECTORS for event in detector(bars)}
    assert {"breakout", "breakdown", "trendline_break_down", "trendline_break_up"} <= rules
    assert rules & {"double_top", "double_bottom"}
    assert rules & {"head_and_shoulders", "inverse_head_and_shoulders"}


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_lookahead_events_on_a_prefix_equal_the_full_run_up_to_it(seed: int) -> None:
    n = 90
    bars = random_walk(seed, n)
    full = [detector(bars) for detector in DETECTORS]
    full_pivots = swing_pivots(bars["high"], bars["low"], **LOOSE)
    for t in range(n):
        prefix = bars.head(t + 1)
        cutoff = bars.timestamp(t)
        for detector, events in zip(DETECTORS, full, strict=True):
            assert detector(prefix) == [e for e in events if e.ts <= cutoff]
        assert swing_pivots(prefix["high"], prefix["low"], **LOOSE) == full_pivots.known_at(t)
        assert support_resistance_levels(prefix, **LOOSE) == support_resistance_levels(
            bars, **LOOSE, as_of=t
        )
