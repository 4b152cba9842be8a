"""Chart patterns on OHLCV arrays: support/resistance, breakouts and reversal patterns.

Swing pivots (:func:`~quantdesk.signals.rules.swing_pivots`, re-exported here) are the building
block. Every result is point in time: a swing pivot at bar ``p`` needs ``right`` later bars to
be confirmed, so it is known at ``p + right`` and only used from there on; a pattern event at
bar ``t`` depends on bars ``<= t`` alone, so running a detector on ``data[: t + 1]`` yields
exactly the events of the full run stamped ``<= t``.

Detectors take the bar data (a :class:`~quantdesk.signals.events.BarArrays` or a mapping of
arrays with ``ts``, ``high``, ``low``, ``close`` and, for breakouts, ``volume``) and the
symbol, and return :class:`~quantdesk.signals.events.SignalEvent` lists in time order.
Double tops/bottoms and (inverse) head-and-shoulders share one strength mapping,
``0.5 + 0.5 * min(1, penetration / height)``: penetration is how far the close went past the
neckline and height the pattern's height, so a completed pattern starts at 0.5 and reaches 1
when the close has already travelled the classic measured-move target. Breakouts and
trend-line breaks document their own mappings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from quantdesk.signals._patterns_nb import trailing_mean_nb
from quantdesk.signals.events import (
    BarArrays,
    Direction,
    SignalEvent,
    check_int,
    check_positive,
    clip01,
)
from quantdesk.signals.rules import Pivot, SwingPivots, swing_pivots

__all__ = [
    "Level",
    "Pivot",
    "SwingPivots",
    "detect_breakouts",
    "detect_double_tops",
    "detect_head_and_shoulders",
    "detect_trendline_breaks",
    "support_resistance_levels",
    "swing_pivots",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Level:
    """A support/resistance level: a cluster of confirmed swing-pivot prices.

    ``price`` is the mean of the clustered pivot prices; ``first_touch``/``last_touch`` are
    pivot bars and ``confirmed_at`` the bar the last touch was confirmed. ``strength`` is
    ``1 - 0.5 ** (touches - 1)`` (0 for one touch, 0.5 for two, 0.75 for three, ...).
    ``kind`` compares the level with the close of the bar it was computed at.
    """

    price: float
    touches: int
    first_touch: int
    last_touch: int
    confirmed_at: int
    strength: float
    kind: Literal["support", "resistance"]


def _relative(difference: float, base: float) -> float:
    return abs(difference) / abs(base) if base != 0 else np.inf


def _share(part: float, whole: float) -> float:
    if np.isnan(whole) or np.isnan(part):
        return 0.0
    if whole <= 0:
        return float(part > 0)
    return clip01(part / whole)


def _event(
    bars: BarArrays,
    symbol: str,
    t: int,
    rule: str,
    bearish: bool,
    strength: float,
    values: Mapping[str, float],
    explanation: str,
) -> SignalEvent:
    direction: Direction = -1 if bearish else 1
    ts = bars.timestamp(t)
    return SignalEvent(ts, symbol, rule, direction, strength, values, explanation)


class _Cluster:
    __slots__ = ("confirmed_at", "first_touch", "last_touch", "price", "touches")

    def __init__(self, pivot: Pivot) -> None:
        self.price = pivot.price
        self.touches = 1
        self.first_touch = pivot.index
        self.last_touch = pivot.index
        self.confirmed_at = pivot.confirmed_at

    def add(self, pivot: Pivot) -> None:
        self.price = (self.price * self.touches + pivot.price) / (self.touches + 1)
        self.touches += 1
        self.first_touch = min(self.first_touch, pivot.index)
        self.last_touch = max(self.last_touch, pivot.index)
        self.confirmed_at = pivot.confirmed_at


def _confirmation_order(pivots: SwingPivots) -> list[Pivot]:
    return sorted((*pivots.highs, *pivots.lows), key=lambda p: (p.confirmed_at, p.kind != "high"))


def _add_to_clusters(clusters: list[_Cluster], pivot: Pivot, tolerance: float) -> None:
    best: _Cluster | None = None
    best_distance = tolerance
    for cluster in clusters:
        distance = _relative(pivot.price - cluster.price, cluster.price)
        if distance <= best_distance:
            best, best_distance = cluster, distance
    if best is None:
        clusters.append(_Cluster(pivot))
    else:
        best.add(pivot)


def _level_strength(touches: int) -> float:
    return 1.0 - 0.5 ** (touches - 1)


def support_resistance_levels(
    data: Mapping[str, Any],
    *,
    left: int = 5,
    right: int = 5,
    tolerance: float = 0.015,
    min_touches: int = 1,
    as_of: int | None = None,
) -> list[Level]:
    """Return the support/resistance levels known at bar ``as_of``.

    Confirmed swing-pivot prices (highs and lows alike, in order of confirmation) are
    clustered incrementally: a pivot joins the level whose mean price is nearest, when within
    ``tolerance`` (relative); otherwise it starts a new level.

    Parameters
    ----------
    data
        Bar data with ``high``, ``low`` and ``close`` (and ``ts``).
    left, right
        Swing pivot window (see :func:`swing_pivots`).
    tolerance
        Relative distance within which a pivot price joins a level (0 < tolerance <= 1).
    min_touches
        Keep levels with at least this many touches (>= 1).
    as_of
        Bar index the levels are known at; ``None`` for the last bar.

    Returns
    -------
    list[Level]
        Levels sorted by price.

    Raises
    ------
    ValueError
        For invalid parameters or ``as_of`` outside the data.
    """
    bars = BarArrays.coerce(data)
    check_positive("tolerance", tolerance, maximum=1.0)
    check_int("min_touches", min_touches, 1)
    last = bars.bar_count - 1 if as_of is None else check_int("as_of", as_of, 0)
    if last >= bars.bar_count or last < 0:
        raise ValueError(f"as_of must be a bar index below {bars.bar_count}, got {as_of!r}")
    pivots = swing_pivots(
        bars.column("high", "support_resistance_levels"),
        bars.column("low", "support_resistance_levels"),
        left=left,
        right=right,
    )
    clusters: list[_Cluster] = []
    for pivot in _confirmation_order(pivots.known_at(last)):
        _add_to_clusters(clusters, pivot, tolerance)
    close = float(bars.close[last])
    return sorted(
        (
            Level(
                c.price,
                c.touches,
                c.first_touch,
                c.last_touch,
                c.confirmed_at,
                _level_strength(c.touches),
                "support" if c.price < close else "resistance",
            )
            for c in clusters
            if c.touches >= min_touches
        ),
        key=lambda level: level.price,
    )


def _day(bars: BarArrays, index: int) -> str:
    return bars.timestamp(index).date().isoformat()


def detect_breakouts(
    data: Mapping[str, Any],
    symbol: str,
    *,
    left: int = 5,
    right: int = 5,
    tolerance: float = 0.015,
    min_touches: int = 2,
    volume_factor: float = 1.5,
    volume_window: int = 20,
) -> list[SignalEvent]:
    """Detect closes through support/resistance levels confirmed by volume.

    A ``breakout`` at bar ``t``: ``close[t-1] <= level < close[t]`` for a level (with at least
    ``min_touches`` touches) known at ``t - 1``, and ``volume[t] >= volume_factor`` times the
    mean volume of the ``volume_window`` bars before ``t``. A ``breakdown`` mirrors it through
    a level from above. When several levels are crossed at once, the one with the most touches
    is reported (then the farthest one). Strength: ``0.5 * level strength + 0.5 *
    min(1, (ratio - volume_factor) / volume_factor)`` with ``ratio`` the volume ratio.

    Parameters
    ----------
    data
        Bar data with ``ts``, ``high``, ``low``, ``close`` and ``volume``.
    symbol
        Symbol stamped on the events.
    left, right, tolerance, min_touches
        Level construction (see :func:`support_resistance_levels`); ``min_touches`` >= 1.
    volume_factor
        Required volume ratio (> 0).
    volume_window
        Bars in the trailing volume mean (>= 1).

    Returns
    -------
    list[SignalEvent]
        ``breakout`` (bullish) and ``breakdown`` (bearish) events in time order.

    Raises
    ------
    ValueError
        For invalid parameters or missing columns.
    """
    bars = BarArrays.coerce(data)
    check_positive("tolerance", tolerance, maximum=1.0)
    check_int("min_touches", min_touches, 1)
    check_positive("volume_factor", volume_factor)
    check_int("volume_window", volume_window, 1)
    close = bars.close
    volume = bars.column("volume", "detect_breakouts")
    pivots = swing_pivots(
        bars.column("high", "detect_breakouts"),
        bars.column("low", "detect_breakouts"),
        left=left,
        right=right,
    )
    order = _confirmation_order(pivots)
    mean_volume = trailing_mean_nb(volume, volume_window)
    clusters: list[_Cluster] = []
    prices = np.empty(0)
    touches = np.empty(0, dtype=np.int64)
    events: list[SignalEvent] = []
    j = 0
    for t in range(1, bars.bar_count):
        if j < len(order) and order[j].confirmed_at <= t - 1:
            while j < len(order) and order[j].confirmed_at <= t - 1:
                _add_to_clusters(clusters, order[j], tolerance)
                j += 1
            prices = np.array([c.price for c in clusters])
            touches = np.array([c.touches for c in clusters], dtype=np.int64)
        before, now = close[t - 1], close[t]
        eligible = touches >= min_touches
        up = eligible & (before <= prices) & (now > prices)
        down = eligible & (before >= prices) & (now < prices)
        if not (up.any() or down.any()):
            continue
        ratio = volume[t] / mean_volume[t] if mean_volume[t] > 0 else np.nan
        if not ratio >= volume_factor:
            continue
        bullish = bool(up.any())
        crossed = np.flatnonzero(up if bullish else down)
        pick = max(
            crossed.tolist(), key=lambda k: (touches[k], prices[k] if bullish else -prices[k])
        )
        level, count, now = float(prices[pick]), int(touches[pick]), float(now)
        strength = 0.5 * _level_strength(count) + 0.5 * clip01(
            (ratio - volume_factor) / volume_factor
        )
        word, side = ("breakout", "above resistance") if bullish else ("breakdown", "below support")
        values = {"level": level, "touches": count, "close": now, "volume_ratio": ratio}
        text = (
            f"Close {now:.2f} broke {side} at {level:.2f} ({count} swing-pivot touches, "
            f"tolerance {tolerance:.1%}) on volume {ratio:.2f}x its {volume_window}-bar "
            f"mean (needs {volume_factor:g}x)"
        )
        events.append(_event(bars, symbol, t, word, not bullish, strength, values, text))
    return events


def _trough_between(values: FloatArray, start: int, stop: int, lowest: bool) -> int | None:
    window = values[start + 1 : stop]
    if window.size == 0 or bool(np.all(np.isnan(window))):
        return None
    offset = np.nanargmin(window) if lowest else np.nanargmax(window)
    return start + 1 + int(offset)


def _flat(level: float) -> Callable[[int], float]:
    return lambda _t: level


def _completion(
    close: FloatArray,
    extreme: FloatArray,
    start: int,
    max_wait: int,
    neckline: Callable[[int], float],
    invalid_beyond: float,
    bearish: bool,
) -> int | None:
    """Return the first bar from ``start`` whose close breaks the neckline, if any."""
    for t in range(start, min(close.shape[0], start + max_wait + 1)):
        line = neckline(t)
        if (close[t] < line) if bearish else (close[t] > line):
            return t
        if (extreme[t] > invalid_beyond) if bearish else (extreme[t] < invalid_beyond):
            return None
    return None


def detect_double_tops(
    data: Mapping[str, Any],
    symbol: str,
    *,
    left: int = 5,
    right: int = 5,
    tolerance: float = 0.015,
    min_distance: int = 10,
    max_distance: int = 120,
    depth: float = 0.03,
    max_wait: int = 60,
) -> list[SignalEvent]:
    """Detect double tops and double bottoms confirmed by a neckline break.

    Double top: two consecutive swing highs ``min_distance..max_distance`` bars apart whose
    prices differ by at most ``tolerance`` (relative to the first), with a trough between them
    (the lowest low) at least ``depth`` (relative) below the lower top. The trough is the
    neckline; the pattern completes at the first bar from the second top's confirmation (at
    most ``max_wait`` bars later) whose close is below it, and is abandoned if a high exceeds
    the higher top first. Double bottoms mirror this on swing lows.

    Parameters
    ----------
    data
        Bar data with ``ts``, ``high``, ``low`` and ``close``.
    symbol
        Symbol stamped on the events.
    left, right
        Swing pivot window (>= 1 each).
    tolerance
        Largest relative difference between the two tops (0 < tolerance <= 1).
    min_distance, max_distance
        Bars between the two tops (2 <= min_distance <= max_distance).
    depth
        Smallest relative depth of the trough below the lower top (0 < depth <= 1).
    max_wait
        Bars after the second top's confirmation to wait for the break (>= 0).

    Returns
    -------
    list[SignalEvent]
        ``double_top`` (bearish) and ``double_bottom`` (bullish) events in time order.

    Raises
    ------
    ValueError
        For invalid parameters or missing columns.
    """
    bars = BarArrays.coerce(data)
    check_positive("tolerance", tolerance, maximum=1.0)
    check_int("min_distance", min_distance, 2)
    check_int("max_distance", max_distance, min_distance)
    check_positive("depth", depth, maximum=1.0)
    check_int("max_wait", max_wait, 0)
    high = bars.column("high", "detect_double_tops")
    low = bars.column("low", "detect_double_tops")
    close = bars.close
    pivots = swing_pivots(high, low, left=left, right=right)
    events: list[SignalEvent] = []
    for bearish, series in ((True, pivots.highs), (False, pivots.lows)):
        for first, second in pairwise(series):
            gap = second.index - first.index
            if not min_distance <= gap <= max_distance:
                continue
            if _relative(second.price - first.price, first.price) > tolerance:
                continue
            between = _trough_between(low if bearish else high, first.index, second.index, bearish)
            if between is None:
                continue
            neck = float(low[between] if bearish else high[between])
            inner = min(first.price, second.price) if bearish else max(first.price, second.price)
            if (inner - neck if bearish else neck - inner) < depth * abs(inner):
                continue
            outer = max(first.price, second.price) if bearish else min(first.price, second.price)
            done = _completion(
                close,
                high if bearish else low,
                second.confirmed_at,
                max_wait,
                _flat(neck),
                outer,
                bearish,
            )
            if done is None:
                continue
            height = abs((first.price + second.price) / 2 - neck)
            penetration = float(abs(neck - close[done]))
            name, what = ("double_top", "tops") if bearish else ("double_bottom", "bottoms")
            values = {"first": first.price, "second": second.price, "neckline": neck}
            values |= {"close": close[done], "height": height}
            text = (
                f"Double {what[:-1]}: {what} at {first.price:.2f} ({_day(bars, first.index)}) "
                f"and {second.price:.2f} ({_day(bars, second.index)}), within {tolerance:.1%}; "
                f"close {close[done]:.2f} broke the {neck:.2f} neckline (swing window "
                f"{left}/{right})"
            )
            strength = 0.5 + 0.5 * _share(penetration, height)
            events.append(_event(bars, symbol, done, name, bearish, strength, values, text))
    events.sort(key=lambda event: event.ts)
    return events


def detect_head_and_shoulders(
    data: Mapping[str, Any],
    symbol: str,
    *,
    left: int = 5,
    right: int = 5,
    tolerance: float = 0.03,
    max_wait: int = 60,
) -> list[SignalEvent]:
    """Detect head-and-shoulders tops and inverse head-and-shoulders bottoms.

    Three consecutive swing highs with the middle (head) strictly the highest and the outer
    two (shoulders) within ``tolerance`` of each other (relative to the left shoulder). The
    neckline runs through the lowest lows between left shoulder and head and between head and
    right shoulder, extended forward; both shoulders must lie above it. The pattern completes
    at the first bar from the right shoulder's confirmation (at most ``max_wait`` bars later)
    whose close is below the neckline, and is abandoned if a high exceeds the head first.
    The inverse pattern mirrors this on swing lows.

    Parameters
    ----------
    data
        Bar data with ``ts``, ``high``, ``low`` and ``close``.
    symbol
        Symbol stamped on the events.
    left, right
        Swing pivot window (>= 1 each).
    tolerance
        Largest relative difference between the shoulders (0 < tolerance <= 1).
    max_wait
        Bars after the right shoulder's confirmation to wait for the break (>= 0).

    Returns
    -------
    list[SignalEvent]
        ``head_and_shoulders`` (bearish) and ``inverse_head_and_shoulders`` (bullish) events.

    Raises
    ------
    ValueError
        For invalid parameters or missing columns.
    """
    bars = BarArrays.coerce(data)
    check_positive("tolerance", tolerance, maximum=1.0)
    check_int("max_wait", max_wait, 0)
    high = bars.column("high", "detect_head_and_shoulders")
    low = bars.column("low", "detect_head_and_shoulders")
    close = bars.close
    pivots = swing_pivots(high, low, left=left, right=right)
    events: list[SignalEvent] = []
    for bearish, series in ((True, pivots.highs), (False, pivots.lows)):
        valleys = low if bearish else high
        sign = 1.0 if bearish else -1.0
        for shoulder_l, head, shoulder_r in zip(series[:-2], series[1:-1], series[2:], strict=True):
            if not (
                sign * head.price > sign * shoulder_l.price
                and sign * head.price > sign * shoulder_r.price
            ):
                continue
            if _relative(shoulder_r.price - shoulder_l.price, shoulder_l.price) > tolerance:
                continue
            t1 = _trough_between(valleys, shoulder_l.index, head.index, bearish)
            t2 = _trough_between(valleys, head.index, shoulder_r.index, bearish)
            if t1 is None or t2 is None:
                continue
            v1, v2 = float(valleys[t1]), float(valleys[t2])
            slope = (v2 - v1) / (t2 - t1)

            def neckline(t: int, v1: float = v1, t1: int = t1, slope: float = slope) -> float:
                return v1 + slope * (t - t1)

            if not (
                sign * shoulder_l.price > sign * neckline(shoulder_l.index)
                and sign * shoulder_r.price > sign * neckline(shoulder_r.index)
            ):
                continue
            done = _completion(
                close,
                high if bearish else low,
                shoulder_r.confirmed_at,
                max_wait,
                neckline,
                head.price,
                bearish,
            )
            if done is None:
                continue
            line = neckline(done)
            height = abs(head.price - neckline(head.index))
            penetration = float(abs(line - close[done]))
            name = "head_and_shoulders" if bearish else "inverse_head_and_shoulders"
            label = "Head and shoulders" if bearish else "Inverse head and shoulders"
            side = "below" if bearish else "above"
            values = {"left_shoulder": shoulder_l.price, "head": head.price}
            values |= {"right_shoulder": shoulder_r.price, "neckline": line, "slope": slope}
            values |= {"close": close[done], "height": height}
            text = (
                f"{label}: shoulders {shoulder_l.price:.2f} ({_day(bars, shoulder_l.index)}) "
                f"and {shoulder_r.price:.2f} ({_day(bars, shoulder_r.index)}) within "
                f"{tolerance:.1%}, head {head.price:.2f} ({_day(bars, head.index)}); close "
                f"{close[done]:.2f} broke {side} the neckline at {line:.2f} (swing window "
                f"{left}/{right})"
            )
            strength = 0.5 + 0.5 * _share(penetration, height)
            events.append(_event(bars, symbol, done, name, bearish, strength, values, text))
    events.sort(key=lambda event: event.ts)
    return events


def detect_trendline_breaks(
    data: Mapping[str, Any],
    symbol: str,
    *,
    left: int = 5,
    right: int = 5,
    range_window: int = 14,
) -> list[SignalEvent]:
    """Detect closes through the trend line of the last two confirmed swing lows (highs).

    The support line runs through the two most recent confirmed swing lows, extended forward;
    it is current from the later low's confirmation until the next swing low is confirmed.
    A ``trendline_break_down`` at ``t``: the line was current at ``t - 1`` and ``t``,
    ``close[t-1] >= line(t-1)`` and ``close[t] < line(t)``; each line breaks at most once.
    ``trendline_break_up`` mirrors it through the line of the last two swing highs. Strength:
    ``0.5 + 0.5 * min(1, penetration / mean range)``, the mean high-low range taken over the
    ``range_window`` bars before ``t`` (one average bar range beyond the line is full strength).

    Parameters
    ----------
    data
        Bar data with ``ts``, ``high``, ``low`` and ``close``.
    symbol
        Symbol stamped on the events.
    left, right
        Swing pivot window (>= 1 each).
    range_window
        Bars in the mean range used for strength (>= 1).

    Returns
    -------
    list[SignalEvent]
        ``trendline_break_down`` (bearish) and ``trendline_break_up`` (bullish) events.

    Raises
    ------
    ValueError
        For invalid parameters or missing columns.
    """
    bars = BarArrays.coerce(data)
    check_int("range_window", range_window, 1)
    high = bars.column("high", "detect_trendline_breaks")
    low = bars.column("low", "detect_trendline_breaks")
    close = bars.close
    n = bars.bar_count
    pivots = swing_pivots(high, low, left=left, right=right)
    mean_range = trailing_mean_nb(high - low, range_window)
    events: list[SignalEvent] = []
    for bearish, series in ((True, pivots.lows), (False, pivots.highs)):
        for k in range(1, len(series)):
            first, second = series[k - 1], series[k]
            slope = (second.price - first.price) / (second.index - first.index)
            end = series[k + 1].confirmed_at - 1 if k + 1 < len(series) else n - 1
            for t in range(second.confirmed_at + 1, end + 1):
                was = first.price + slope * (t - 1 - first.index)
                line = first.price + slope * (t - first.index)
                crossed = (
                    close[t - 1] >= was and close[t] < line
                    if bearish
                    else close[t - 1] <= was and close[t] > line
                )
                if not crossed:
                    continue
                penetration = float(abs(line - close[t]))
                strength = 0.5 + 0.5 * _share(penetration, float(mean_range[t]))
                kind = "lows" if bearish else "highs"
                rule = "trendline_break_down" if bearish else "trendline_break_up"
                values = {"line": line, "slope": slope, "first_pivot": first.price}
                values |= {"second_pivot": second.price, "close": close[t]}
                text = (
                    f"Close {close[t]:.2f} broke {'below' if bearish else 'above'} the trend "
                    f"line through the swing {kind} of {_day(bars, first.index)} "
                    f"({first.price:.2f}) and {_day(bars, second.index)} ({second.price:.2f}), "
                    f"at {line:.2f} (swing window {left}/{right})"
                )
                events.append(_event(bars, symbol, t, rule, bearish, strength, values, text))
                break
    events.sort(key=lambda event: event.ts)
    return events
