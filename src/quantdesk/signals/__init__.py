"""Signals: rules, chart patterns and the built-in signal library.

Every signal is a :class:`SignalEvent` stamped at the bar it became knowable (no lookahead).
Start with :func:`evaluate_rules` over one symbol's bars; add rules in Python with
:class:`ThresholdRule`, :class:`CrossRule` or a :class:`Rule` subclass.
"""

from __future__ import annotations

from quantdesk.signals.events import BarArrays, Direction, SignalEvent, clip01, to_epoch_us
from quantdesk.signals.expression_rule import ExpressionRule
from quantdesk.signals.library import (
    CandlestickRule,
    builtin_rule,
    builtin_rules,
    evaluate_rules,
)
from quantdesk.signals.patterns import (
    Level,
    detect_breakouts,
    detect_double_tops,
    detect_head_and_shoulders,
    detect_trendline_breaks,
    support_resistance_levels,
)
from quantdesk.signals.rules import (
    CrossRule,
    DetectorRule,
    Divergence,
    DivergenceRule,
    Pivot,
    Rule,
    SeriesFn,
    SwingPivots,
    ThresholdRule,
    crosses_above,
    crosses_below,
    divergence,
    swing_pivots,
    threshold_cross,
)

# One sorted list (ruff RUF022): new submodules insert their public names in order.
__all__ = [
    "BarArrays",
    "CandlestickRule",
    "CrossRule",
    "DetectorRule",
    "Direction",
    "Divergence",
    "DivergenceRule",
    "ExpressionRule",
    "Level",
    "Pivot",
    "Rule",
    "SeriesFn",
    "SignalEvent",
    "SwingPivots",
    "ThresholdRule",
    "builtin_rule",
    "builtin_rules",
    "clip01",
    "crosses_above",
    "crosses_below",
    "detect_breakouts",
    "detect_double_tops",
    "detect_head_and_shoulders",
    "detect_trendline_breaks",
    "divergence",
    "evaluate_rules",
    "support_resistance_levels",
    "swing_pivots",
    "threshold_cross",
    "to_epoch_us",
]
