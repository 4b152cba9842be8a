"""The built-in signal library: indicator, candlestick and chart-pattern rules.

Indicators come straight from TA-Lib (``talib``), which is causal: a value at bar ``t`` uses
bars ``<= t`` only, so every rule here is point in time. Strength mappings, each clipped to
[0, 1] and monotone in how strongly the condition holds:

- moving-average, MACD and Bollinger crossings: the crossing's decisiveness
  ``|d[t]| / (|d[t]| + |d[t-1]|)`` with ``d`` the gap between the two series;
- RSI thresholds: RSI points beyond the level over 10 (``RSI 25`` below 30 gives 0.5);
- RSI divergences: RSI change between the two pivots over 10 points; MACD-histogram
  divergences: ``|h2 - h1| / (|h1| + |h2|)``;
- candlesticks: TA-Lib's output over 100 (100 a full pattern, 80 its weaker variant);
- chart patterns: see :mod:`quantdesk.signals.patterns`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import talib

from quantdesk.core.errors import NotFound
from quantdesk.signals.events import BarArrays, Direction, SignalEvent, check_int, clip01
from quantdesk.signals.patterns import (
    detect_breakouts,
    detect_double_tops,
    detect_head_and_shoulders,
    detect_trendline_breaks,
)
from quantdesk.signals.rules import (
    CrossRule,
    DetectorRule,
    DivergenceRule,
    Rule,
    ThresholdRule,
    resolve_data,
)

FloatArray = npt.NDArray[np.float64]


class CandlestickRule(Rule):
    """Fire on a TA-Lib candlestick pattern, with the direction from the sign of its output.

    TA-Lib returns +100/-100 (80 for weaker variants, 200 for confirmed ones) on pattern bars.
    Patterns without a direction of their own (TA-Lib reports the doji as +100) set
    ``trend_window``: the event then points against the close change over that many bars (a
    doji after a rise warns of a top), and is skipped when that change is zero. Strength is
    ``min(1, |output| / 100)``.
    """

    def __init__(
        self,
        name: str,
        function: str,
        label: str,
        *,
        params: Mapping[str, float] | None = None,
        trend_window: int | None = None,
        description: str = "",
    ) -> None:
        super().__init__(name, description)
        if not function.startswith("CDL") or not hasattr(talib, function):
            raise ValueError(f"function must name a TA-Lib candlestick function, got {function!r}")
        self.function = function
        self.label = label
        self.params = dict(params or {})
        self.trend_window = (
            None if trend_window is None else check_int("trend_window", trend_window, 1)
        )

    def evaluate(self, data: Mapping[str, Any], symbol: str | None = None) -> list[SignalEvent]:
        """Return one event per pattern bar (see :meth:`Rule.evaluate`)."""
        bars, name = resolve_data(data, symbol)
        needed = f"rule {self.name!r}"
        open_, high, low = (bars.column(c, needed) for c in ("open", "high", "low"))
        close = bars.close
        output = np.asarray(getattr(talib, self.function)(open_, high, low, close, **self.params))
        settings = "".join(f", {key} {value:g}" for key, value in self.params.items())
        events = []
        for t in np.flatnonzero(output != 0).tolist():
            value = int(output[t])
            direction: Direction = 1 if value > 0 else -1
            reading = f"{self.label} candlestick (TA-Lib {self.function}{settings}: {value:+d})"
            if self.trend_window is not None:
                if t < self.trend_window:
                    continue
                change = close[t] - close[t - self.trend_window]
                if change == 0:
                    continue
                direction = -1 if change > 0 else 1
                move = "rise" if change > 0 else "fall"
                reading += f" after a {self.trend_window}-bar {move} of {change:+.2f}"
            events.append(
                SignalEvent(
                    ts=bars.timestamp(t),
                    symbol=name,
                    rule=self.name,
                    direction=direction,
                    strength=clip01(abs(value) / 100.0),
                    values={
                        "pattern": float(value),
                        "open": float(open_[t]),
                        "high": float(high[t]),
                        "low": float(low[t]),
                        "close": float(close[t]),
                    },
                    explanation=f"{reading}, close {close[t]:.2f}",
                )
            )
        return events


def _close(bars: BarArrays) -> FloatArray:
    return bars.close


def _sma(period: int) -> Callable[[BarArrays], FloatArray]:
    def compute(bars: BarArrays) -> FloatArray:
        return np.asarray(talib.SMA(bars.close, timeperiod=period), dtype=np.float64)

    return compute


def _rsi(bars: BarArrays) -> FloatArray:
    return np.asarray(talib.RSI(bars.close, timeperiod=14), dtype=np.float64)


def _macd(output: int) -> Callable[[BarArrays], FloatArray]:
    def compute(bars: BarArrays) -> FloatArray:
        lines = talib.MACD(bars.close, fastperiod=12, slowperiod=26, signalperiod=9)
        return np.asarray(lines[output], dtype=np.float64)

    return compute


def _bollinger(output: int) -> Callable[[BarArrays], FloatArray]:
    def compute(bars: BarArrays) -> FloatArray:
        # matype defaults to 0, the simple moving average of classic Bollinger bands.
        bands = talib.BBANDS(bars.close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
        return np.asarray(bands[output], dtype=np.float64)

    return compute


_SMA_50, _SMA_200 = "SMA(50)", "SMA(200)"
_MACD, _MACD_SIGNAL = "MACD(12, 26, 9)", "MACD signal(9)"
_BB_UPPER, _BB_LOWER = "upper Bollinger band(20, 2)", "lower Bollinger band(20, 2)"

#: (rule name, TA-Lib function, label, TA-Lib parameters, trend window for neutral patterns)
_CANDLESTICKS: tuple[tuple[str, str, str, Mapping[str, float], int | None], ...] = (
    ("engulfing", "CDLENGULFING", "Engulfing", {}, None),
    ("hammer", "CDLHAMMER", "Hammer", {}, None),
    ("inverted_hammer", "CDLINVERTEDHAMMER", "Inverted hammer", {}, None),
    ("hanging_man", "CDLHANGINGMAN", "Hanging man", {}, None),
    ("shooting_star", "CDLSHOOTINGSTAR", "Shooting star", {}, None),
    ("morning_star", "CDLMORNINGSTAR", "Morning star", {"penetration": 0.3}, None),
    ("evening_star", "CDLEVENINGSTAR", "Evening star", {"penetration": 0.3}, None),
    ("harami", "CDLHARAMI", "Harami", {}, None),
    ("piercing", "CDLPIERCING", "Piercing line", {}, None),
    ("dark_cloud_cover", "CDLDARKCLOUDCOVER", "Dark cloud cover", {"penetration": 0.5}, None),
    ("three_white_soldiers", "CDL3WHITESOLDIERS", "Three white soldiers", {}, None),
    ("three_black_crows", "CDL3BLACKCROWS", "Three black crows", {}, None),
    ("doji", "CDLDOJI", "Doji", {}, 10),
)


def _indicator_rules() -> list[Rule]:
    return [
        CrossRule(
            "golden_cross",
            _sma(50),
            _sma(200),
            cross="above",
            labels=(_SMA_50, _SMA_200),
            description="SMA(50) of the close crosses above SMA(200)",
        ),
        CrossRule(
            "death_cross",
            _sma(50),
            _sma(200),
            cross="below",
            labels=(_SMA_50, _SMA_200),
            description="SMA(50) of the close crosses below SMA(200)",
        ),
        ThresholdRule(
            "rsi_oversold",
            _rsi,
            30.0,
            "below",
            signal=1,
            label="RSI(14)",
            scale=10.0,
            description="RSI(14) crosses below 30 (oversold, bullish)",
        ),
        ThresholdRule(
            "rsi_overbought",
            _rsi,
            70.0,
            "above",
            signal=-1,
            label="RSI(14)",
            scale=10.0,
            description="RSI(14) crosses above 70 (overbought, bearish)",
        ),
        CrossRule(
            "macd_cross_up",
            _macd(0),
            _macd(1),
            cross="above",
            labels=(_MACD, _MACD_SIGNAL),
            description="MACD(12, 26, 9) line crosses above its signal line",
        ),
        CrossRule(
            "macd_cross_down",
            _macd(0),
            _macd(1),
            cross="below",
            labels=(_MACD, _MACD_SIGNAL),
            description="MACD(12, 26, 9) line crosses below its signal line",
        ),
        CrossRule(
            "bollinger_breakout_up",
            _close,
            _bollinger(0),
            cross="above",
            labels=("close", _BB_UPPER),
            description="close crosses above the upper Bollinger band (20, 2)",
        ),
        CrossRule(
            "bollinger_breakout_down",
            _close,
            _bollinger(2),
            cross="below",
            labels=("close", _BB_LOWER),
            description="close crosses below the lower Bollinger band (20, 2)",
        ),
        DivergenceRule(
            "bullish_rsi_divergence",
            _rsi,
            "bullish",
            label="RSI(14)",
            scale=10.0,
            description="close makes a lower swing low, RSI(14) a higher low",
        ),
        DivergenceRule(
            "bearish_rsi_divergence",
            _rsi,
            "bearish",
            label="RSI(14)",
            scale=10.0,
            description="close makes a higher swing high, RSI(14) a lower high",
        ),
        DivergenceRule(
            "bullish_macd_divergence",
            _macd(2),
            "bullish",
            label="MACD(12, 26, 9) histogram",
            description="close makes a lower swing low, the MACD histogram a higher low",
        ),
        DivergenceRule(
            "bearish_macd_divergence",
            _macd(2),
            "bearish",
            label="MACD(12, 26, 9) histogram",
            description="close makes a higher swing high, the MACD histogram a lower high",
        ),
    ]


def _pattern_rules() -> list[Rule]:
    return [
        DetectorRule(
            "breakout",
            detect_breakouts,
            "close breaks above a multi-touch resistance on 1.5x volume",
        ),
        DetectorRule(
            "breakdown", detect_breakouts, "close breaks below a multi-touch support on 1.5x volume"
        ),
        DetectorRule(
            "double_top",
            detect_double_tops,
            "two equal swing highs, confirmed by a close below the neckline",
        ),
        DetectorRule(
            "double_bottom",
            detect_double_tops,
            "two equal swing lows, confirmed by a close above the neckline",
        ),
        DetectorRule(
            "head_and_shoulders",
            detect_head_and_shoulders,
            "head-and-shoulders top, confirmed by a close below the neckline",
        ),
        DetectorRule(
            "inverse_head_and_shoulders",
            detect_head_and_shoulders,
            "inverse head-and-shoulders, confirmed by a close above the neckline",
        ),
        DetectorRule(
            "trendline_break_down",
            detect_trendline_breaks,
            "close breaks below the line through the last two swing lows",
        ),
        DetectorRule(
            "trendline_break_up",
            detect_trendline_breaks,
            "close breaks above the line through the last two swing highs",
        ),
    ]


def builtin_rules() -> list[Rule]:
    """Return fresh instances of every built-in rule.

    Returns
    -------
    list[Rule]
        Indicator rules (crosses, thresholds, divergences), candlestick rules and chart
        pattern rules, each with a unique name.
    """
    candlesticks: list[Rule] = [
        CandlestickRule(
            name,
            function,
            label,
            params=params,
            trend_window=window,
            description=f"TA-Lib {function} candlestick pattern",
        )
        for name, function, label, params, window in _CANDLESTICKS
    ]
    return [*_indicator_rules(), *candlesticks, *_pattern_rules()]


def builtin_rule(name: str) -> Rule:
    """Return the built-in rule called ``name``.

    Parameters
    ----------
    name
        A rule name such as ``"golden_cross"``.

    Returns
    -------
    Rule
        A fresh instance.

    Raises
    ------
    NotFound
        When no built-in rule has that name (with close matches as suggestions).
    """
    rules = {rule.name: rule for rule in builtin_rules()}
    if name in rules:
        return rules[name]
    raise NotFound(
        f"unknown signal rule {name!r}", difflib.get_close_matches(name, list(rules), n=3)
    )


def evaluate_rules(
    symbol: str,
    data: Mapping[str, Any],
    rules: Iterable[Rule] | None = None,
    since: datetime | None = None,
) -> list[SignalEvent]:
    """Evaluate rules on one symbol's bars and return their events in time order.

    Parameters
    ----------
    symbol
        Symbol stamped on the events.
    data
        Bar columns (``ts``, ``open``, ``high``, ``low``, ``close``, ``volume``) as a mapping
        of arrays or a :class:`~quantdesk.signals.events.BarArrays`.
    rules
        The rules to run; ``None`` runs :func:`builtin_rules`.
    since
        Keep events stamped at or after this aware datetime. Indicators still warm up on the
        full history, so filtering never changes an event.

    Returns
    -------
    list[SignalEvent]
        Sorted by ``ts``, then rule name.

    Raises
    ------
    ValueError
        For a naive ``since``, invalid data or data lacking a column a rule needs.
    """
    if since is not None and (since.tzinfo is None or since.utcoffset() is None):
        raise ValueError("since must be timezone-aware (UTC)")
    bars = BarArrays.coerce(data)
    chosen = builtin_rules() if rules is None else list(rules)
    events = [event for rule in chosen for event in rule.evaluate(bars, symbol)]
    if since is not None:
        events = [event for event in events if event.ts >= since]
    events.sort(key=lambda event: (event.ts, event.rule))
    return events
