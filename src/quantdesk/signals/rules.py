"""Rule building blocks: crossings, swing pivots, divergences and the :class:`Rule` abstraction.

Everything here is point in time: a value reported at bar ``t`` uses bars ``<= t`` only.
Crossings follow one definition everywhere: ``a`` crosses above ``b`` at ``t`` when
``a[t-1] <= b[t-1]`` and ``a[t] > b[t]`` (below mirrors it); a NaN on either bar never
crosses. Users add rules in Python by subclassing :class:`Rule` or by building a
:class:`ThresholdRule` or :class:`CrossRule` from callables over the bar data.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from quantdesk.signals._patterns_nb import swing_pivots_nb
from quantdesk.signals.events import (
    BarArrays,
    Direction,
    SignalEvent,
    check_int,
    check_positive,
    clip01,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
CrossDirection = Literal["above", "below"]
DivergenceKind = Literal["bullish", "bearish"]
PivotKind = Literal["high", "low"]

_RULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _float_array(name: str, values: npt.ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _pair(a: npt.ArrayLike, b: npt.ArrayLike | float) -> tuple[FloatArray, FloatArray]:
    first = _float_array("a", a)
    second = np.asarray(b, dtype=np.float64)
    if second.ndim == 0:
        second = np.full(first.shape, float(second))
    elif second.shape != first.shape:
        raise ValueError(f"b has shape {second.shape}; expected a number or {first.shape}")
    return first, second


def crosses_above(a: npt.ArrayLike, b: npt.ArrayLike | float) -> BoolArray:
    """Return where ``a`` crosses above ``b``.

    Parameters
    ----------
    a
        1-D float series.
    b
        A series of the same length, or a number.

    Returns
    -------
    numpy.ndarray
        Boolean array, ``True`` at ``t`` when ``a[t-1] <= b[t-1]`` and ``a[t] > b[t]``.
        Index 0 and any bar with a NaN on ``t-1`` or ``t`` are ``False``; a touch
        (``a == b``) is not a cross.
    """
    first, second = _pair(a, b)
    out = np.zeros(first.shape[0], dtype=np.bool_)
    if first.shape[0] > 1:
        out[1:] = (first[:-1] <= second[:-1]) & (first[1:] > second[1:])
    return out


def crosses_below(a: npt.ArrayLike, b: npt.ArrayLike | float) -> BoolArray:
    """Return where ``a`` crosses below ``b``.

    Parameters
    ----------
    a
        1-D float series.
    b
        A series of the same length, or a number.

    Returns
    -------
    numpy.ndarray
        Boolean array, ``True`` at ``t`` when ``a[t-1] >= b[t-1]`` and ``a[t] < b[t]``.
        NaN never crosses.
    """
    first, second = _pair(a, b)
    out = np.zeros(first.shape[0], dtype=np.bool_)
    if first.shape[0] > 1:
        out[1:] = (first[:-1] >= second[:-1]) & (first[1:] < second[1:])
    return out


def threshold_cross(x: npt.ArrayLike, level: float, direction: CrossDirection) -> BoolArray:
    """Return where ``x`` crosses the constant ``level`` in ``direction``.

    Parameters
    ----------
    x
        1-D float series.
    level
        The threshold.
    direction
        ``"above"`` (``x[t-1] <= level < x[t]``) or ``"below"`` (``x[t-1] >= level > x[t]``).

    Returns
    -------
    numpy.ndarray
        Boolean array of crossing bars.

    Raises
    ------
    ValueError
        When ``direction`` is neither ``"above"`` nor ``"below"``.
    """
    if direction == "above":
        return crosses_above(x, level)
    if direction == "below":
        return crosses_below(x, level)
    raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")


@dataclass(frozen=True, slots=True)
class Pivot:
    """A swing high or low at bar ``index``, known from bar ``confirmed_at`` (index + right)."""

    kind: PivotKind
    index: int
    confirmed_at: int
    price: float


@dataclass(frozen=True, slots=True)
class SwingPivots:
    """Swing highs and lows, each tuple ordered by bar index (and so by confirmation)."""

    highs: tuple[Pivot, ...]
    lows: tuple[Pivot, ...]

    def known_at(self, index: int) -> SwingPivots:
        """Return the pivots already confirmed at bar ``index``."""
        return SwingPivots(
            tuple(p for p in self.highs if p.confirmed_at <= index),
            tuple(p for p in self.lows if p.confirmed_at <= index),
        )


def swing_pivots(
    high: npt.ArrayLike, low: npt.ArrayLike, *, left: int = 5, right: int = 5
) -> SwingPivots:
    """Find swing highs and lows.

    Bar ``p`` is a swing high when ``high[p]`` is strictly above the ``left`` highs before it
    and at least the ``right`` highs after it (a flat top counts once, at its first bar); lows
    mirror this. The pivot is known at ``p + right``.

    Parameters
    ----------
    high, low
        1-D float arrays of equal length (pass the same series twice for a single line).
    left
        Bars before the pivot it must beat (>= 1).
    right
        Confirmation bars after the pivot (>= 1).

    Returns
    -------
    SwingPivots
        Highs and lows with index, confirmation bar and price.

    Raises
    ------
    ValueError
        When ``left`` or ``right`` is below 1 or the arrays differ in shape.
    """
    check_int("left", left, 1)
    check_int("right", right, 1)
    highs = np.asarray(high, dtype=np.float64)
    lows = np.asarray(low, dtype=np.float64)
    if highs.ndim != 1 or highs.shape != lows.shape:
        raise ValueError(
            f"high and low must be 1-D of equal length, got {highs.shape}, {lows.shape}"
        )
    is_high, is_low = swing_pivots_nb(highs, lows, left, right)
    return SwingPivots(
        tuple(
            Pivot("high", p, p + right, float(highs[p])) for p in np.flatnonzero(is_high).tolist()
        ),
        tuple(Pivot("low", p, p + right, float(lows[p])) for p in np.flatnonzero(is_low).tolist()),
    )


@dataclass(frozen=True, slots=True)
class Divergence:
    """Price and oscillator disagreeing at two consecutive swing pivots of the price.

    ``first``/``second`` are the pivot bars; ``confirmed_at`` is ``second + right``, the bar
    at which the second pivot (and so the divergence) became known.
    """

    kind: DivergenceKind
    first: int
    second: int
    confirmed_at: int
    price_first: float
    price_second: float
    oscillator_first: float
    oscillator_second: float


def divergence(
    price: npt.ArrayLike,
    oscillator: npt.ArrayLike,
    *,
    kind: DivergenceKind,
    left: int = 5,
    right: int = 5,
    max_distance: int | None = None,
) -> list[Divergence]:
    """Find divergences between ``price`` and ``oscillator`` at the swing pivots of ``price``.

    Bullish: two consecutive swing lows where price makes a lower low while the oscillator
    (read at the same bars) makes a higher low. Bearish: two consecutive swing highs with a
    higher high in price and a lower high in the oscillator. Each divergence is reported at
    the second pivot's confirmation bar (``second + right``), so it uses no later data.

    Parameters
    ----------
    price
        1-D price series (its swing pivots are used).
    oscillator
        1-D oscillator of the same length (RSI, MACD histogram, ...); NaN pivots are skipped.
    kind
        ``"bullish"`` or ``"bearish"``.
    left, right
        Swing pivot window: bars before (>= 1) and confirmation bars after (>= 1).
    max_distance
        Largest allowed gap in bars between the two pivots; ``None`` for no limit.

    Returns
    -------
    list[Divergence]
        In order of confirmation.

    Raises
    ------
    ValueError
        For an unknown ``kind``, windows < 1, or mismatched lengths.
    """
    if kind not in ("bullish", "bearish"):
        raise ValueError(f"kind must be 'bullish' or 'bearish', got {kind!r}")
    check_int("left", left, 1)
    check_int("right", right, 1)
    if max_distance is not None:
        check_int("max_distance", max_distance, 1)
    prices = _float_array("price", price)
    osc = _float_array("oscillator", oscillator)
    if osc.shape != prices.shape:
        raise ValueError(f"oscillator has shape {osc.shape}; expected {prices.shape} like price")
    pivots = swing_pivots(prices, prices, left=left, right=right)
    indices = [p.index for p in (pivots.lows if kind == "bullish" else pivots.highs)]
    found: list[Divergence] = []
    for first, second in pairwise(indices):
        if max_distance is not None and second - first > max_distance:
            continue
        p1, p2, o1, o2 = prices[first], prices[second], osc[first], osc[second]
        if np.isnan(o1) or np.isnan(o2):
            continue
        bullish = kind == "bullish" and p2 < p1 and o2 > o1
        bearish = kind == "bearish" and p2 > p1 and o2 < o1
        if bullish or bearish:
            found.append(
                Divergence(
                    kind, first, second, second + right, float(p1), float(p2), float(o1), float(o2)
                )
            )
    return found


#: A series computed from the bar data (an indicator, a price column, a constant array).
SeriesFn = Callable[[BarArrays], npt.ArrayLike]


class Rule(ABC):
    """A named signal rule: ``evaluate`` turns one symbol's bar data into signal events.

    Subclasses implement :meth:`evaluate`; every event they return must be point in time
    (computed from bars up to its ``ts``). ``name`` is lower_snake_case and becomes
    :attr:`SignalEvent.rule`.
    """

    def __init__(self, name: str, description: str = "") -> None:
        if not _RULE_NAME.match(name):
            raise ValueError(f"name must be lower_snake_case (e.g. 'rsi_oversold'), got {name!r}")
        self.name = name
        self.description = description or name.replace("_", " ")

    @abstractmethod
    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return the events this rule fires on ``data``.

        Parameters
        ----------
        data
            Bar columns (``ts`` plus ``open``/``high``/``low``/``close``/``volume`` as needed),
            a :class:`BarArrays` or any mapping it accepts.
        symbol
            The symbol; when ``None`` it is taken from ``data["symbol"]``.

        Returns
        -------
        list[SignalEvent]
            Events in time order.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def resolve_data(data: Mapping[str, Any], symbol: str | None) -> tuple[BarArrays, str]:
    """Return the bar data as :class:`BarArrays` and the symbol to stamp on events.

    Raises
    ------
    ValueError
        When neither ``symbol`` nor ``data["symbol"]`` names the symbol.
    """
    bars = BarArrays.coerce(data)
    name = symbol if symbol is not None else bars.symbol
    if not name:
        raise ValueError("symbol is missing: pass symbol= or put 'symbol' in the data")
    return bars, name


def _series(bars: BarArrays, function: SeriesFn, what: str) -> FloatArray:
    values = np.asarray(function(bars), dtype=np.float64)
    if values.ndim == 0:
        return np.full(bars.bar_count, float(values))
    if values.shape != (bars.bar_count,):
        raise ValueError(f"{what} returned shape {values.shape}; expected ({bars.bar_count},)")
    return values


def _decisiveness(after: float, before: float) -> float:
    return clip01(abs(after) / (abs(after) + abs(before)))


class ThresholdRule(Rule):
    """Fire when a series crosses a constant level.

    ``direction`` is the crossing (``"above"`` or ``"below"``); ``signal`` is the event
    direction (default: ``1`` for above, ``-1`` for below; an oversold rule crossing below
    sets ``signal=1``). Strength: with ``scale`` set, ``min(1, |x[t] - level| / scale)`` (how
    far beyond the level the series closed); otherwise the crossing's decisiveness
    ``|x[t] - level| / (|x[t] - level| + |x[t-1] - level|)``.
    """

    def __init__(
        self,
        name: str,
        series_fn: SeriesFn,
        level: float,
        direction: CrossDirection,
        *,
        signal: Direction | None = None,
        label: str = "value",
        scale: float | None = None,
        description: str = "",
    ) -> None:
        super().__init__(name, description)
        if direction not in ("above", "below"):
            raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
        if not np.isfinite(level):
            raise ValueError(f"level must be finite, got {level!r}")
        if signal is not None and signal not in (1, -1):
            raise ValueError(f"signal must be 1 or -1, got {signal!r}")
        self.series_fn = series_fn
        self.level = float(level)
        self.direction: CrossDirection = direction
        self.signal: Direction = (
            signal if signal is not None else (1 if direction == "above" else -1)
        )
        self.label = label
        self.scale = None if scale is None else check_positive("scale", scale)

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return one event per crossing bar (see :meth:`Rule.evaluate`)."""
        bars, name = resolve_data(data, symbol)
        x = _series(bars, self.series_fn, f"rule {self.name!r} series_fn")
        events = []
        for t in np.flatnonzero(threshold_cross(x, self.level, self.direction)).tolist():
            gap = x[t] - self.level
            strength = (
                clip01(abs(gap) / self.scale)
                if self.scale is not None
                else _decisiveness(gap, x[t - 1] - self.level)
            )
            events.append(
                SignalEvent(
                    ts=bars.timestamp(t),
                    symbol=name,
                    rule=self.name,
                    direction=self.signal,
                    strength=strength,
                    values={self.label: float(x[t]), "level": self.level},
                    explanation=(
                        f"{self.label} crossed {self.direction} {self.level:g} at {x[t]:.2f}"
                    ),
                )
            )
        return events


class CrossRule(Rule):
    """Fire when series ``a`` crosses series ``b``.

    ``cross="above"`` fires on ``a`` crossing above ``b`` (event direction ``1`` unless
    ``signal`` says otherwise), ``"below"`` on crossing below (``-1``). Strength is the
    crossing's decisiveness ``|d[t]| / (|d[t]| + |d[t-1]|)`` with ``d = a - b``: near 0 when
    ``a`` barely got past ``b``, 1 when it jumped from touching to far beyond.
    """

    def __init__(
        self,
        name: str,
        a_fn: SeriesFn,
        b_fn: SeriesFn,
        *,
        cross: CrossDirection = "above",
        signal: Direction | None = None,
        labels: tuple[str, str] = ("a", "b"),
        description: str = "",
    ) -> None:
        super().__init__(name, description)
        if cross not in ("above", "below"):
            raise ValueError(f"cross must be 'above' or 'below', got {cross!r}")
        if signal is not None and signal not in (1, -1):
            raise ValueError(f"signal must be 1 or -1, got {signal!r}")
        if labels[0] == labels[1]:
            raise ValueError(f"labels must differ, got {labels!r}")
        self.a_fn = a_fn
        self.b_fn = b_fn
        self.cross: CrossDirection = cross
        self.signal: Direction = signal if signal is not None else (1 if cross == "above" else -1)
        self.labels = labels

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return one event per crossing bar (see :meth:`Rule.evaluate`)."""
        bars, name = resolve_data(data, symbol)
        a = _series(bars, self.a_fn, f"rule {self.name!r} a_fn")
        b = _series(bars, self.b_fn, f"rule {self.name!r} b_fn")
        mask = crosses_above(a, b) if self.cross == "above" else crosses_below(a, b)
        a_label, b_label = self.labels
        events = []
        for t in np.flatnonzero(mask).tolist():
            events.append(
                SignalEvent(
                    ts=bars.timestamp(t),
                    symbol=name,
                    rule=self.name,
                    direction=self.signal,
                    strength=_decisiveness(a[t] - b[t], a[t - 1] - b[t - 1]),
                    values={a_label: float(a[t]), b_label: float(b[t])},
                    explanation=(
                        f"{a_label} crossed {self.cross} {b_label} ({a[t]:.2f} vs {b[t]:.2f})"
                    ),
                )
            )
        return events


class DivergenceRule(Rule):
    """Fire on a price/oscillator divergence (see :func:`divergence`), at confirmation.

    Strength: with ``scale`` set, ``min(1, |osc2 - osc1| / scale)``; otherwise the relative
    oscillator disagreement ``|osc2 - osc1| / (|osc1| + |osc2|)``.
    """

    def __init__(
        self,
        name: str,
        oscillator_fn: SeriesFn,
        kind: DivergenceKind,
        *,
        price: str = "close",
        left: int = 5,
        right: int = 5,
        max_distance: int | None = 60,
        label: str = "oscillator",
        scale: float | None = None,
        description: str = "",
    ) -> None:
        super().__init__(name, description)
        if kind not in ("bullish", "bearish"):
            raise ValueError(f"kind must be 'bullish' or 'bearish', got {kind!r}")
        self.oscillator_fn = oscillator_fn
        self.kind: DivergenceKind = kind
        self.price = price
        self.left = check_int("left", left, 1)
        self.right = check_int("right", right, 1)
        self.max_distance = (
            None if max_distance is None else check_int("max_distance", max_distance, 1)
        )
        self.label = label
        self.scale = None if scale is None else check_positive("scale", scale)

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return one event per confirmed divergence (see :meth:`Rule.evaluate`)."""
        bars, name = resolve_data(data, symbol)
        prices = bars.column(self.price, f"rule {self.name!r}")
        osc = _series(bars, self.oscillator_fn, f"rule {self.name!r} oscillator_fn")
        found = divergence(
            prices,
            osc,
            kind=self.kind,
            left=self.left,
            right=self.right,
            max_distance=self.max_distance,
        )
        pivot = "low" if self.kind == "bullish" else "high"
        price_move, osc_move = (
            ("lower", "higher") if self.kind == "bullish" else ("higher", "lower")
        )
        events = []
        for item in found:
            change = abs(item.oscillator_second - item.oscillator_first)
            strength = (
                clip01(change / self.scale)
                if self.scale is not None
                else clip01(change / (abs(item.oscillator_first) + abs(item.oscillator_second)))
            )
            first_day = bars.timestamp(item.first).date().isoformat()
            second_day = bars.timestamp(item.second).date().isoformat()
            events.append(
                SignalEvent(
                    ts=bars.timestamp(item.confirmed_at),
                    symbol=name,
                    rule=self.name,
                    direction=1 if self.kind == "bullish" else -1,
                    strength=strength,
                    values={
                        "price_first": item.price_first,
                        "price_second": item.price_second,
                        "oscillator_first": item.oscillator_first,
                        "oscillator_second": item.oscillator_second,
                    },
                    explanation=(
                        f"{self.kind.capitalize()} {self.label} divergence: {self.price} made a "
                        f"{price_move} swing {pivot} ({item.price_first:.2f} on {first_day} to "
                        f"{item.price_second:.2f} on {second_day}, swing window {self.left}/"
                        f"{self.right}) while {self.label} made a {osc_move} {pivot} "
                        f"({item.oscillator_first:.2f} to {item.oscillator_second:.2f})"
                    ),
                )
            )
        return events


class DetectorRule(Rule):
    """Wrap a detector ``(bars, symbol) -> events``, keeping the events named like the rule.

    Chart-pattern detectors report both sides of a pattern (``breakout`` and ``breakdown``);
    one :class:`DetectorRule` per side exposes each as its own rule.
    """

    def __init__(
        self,
        name: str,
        detector: Callable[[BarArrays, str], Sequence[SignalEvent]],
        description: str = "",
    ) -> None:
        super().__init__(name, description)
        self.detector = detector

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return the detector's events named ``self.name`` (see :meth:`Rule.evaluate`)."""
        bars, name = resolve_data(data, symbol)
        return [event for event in self.detector(bars, name) if event.rule == self.name]
