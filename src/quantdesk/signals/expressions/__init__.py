"""The screener expression language: parse, type-check and evaluate conditions over bars.

Users write conditions such as ``rsi(14) < 30 and close > sma(200)`` or
``crosses_above(macd.macd, macd.signal)``. Text is parsed by a hand-written lexer and
recursive-descent parser (never ``eval``), checked against the indicator registry with errors
that point at the offending column, and evaluated over numpy arrays. :func:`screen` applies a
condition to a whole universe at the latest bar, in parallel processes.
"""

from __future__ import annotations

from quantdesk.signals.expressions._errors import ExpressionError
from quantdesk.signals.expressions._expression import (
    Expression,
    compile_expression,
    compile_numeric,
)
from quantdesk.signals.expressions._screen import ScreenMatch, ScreenResult, screen
from quantdesk.signals.expressions._stream import StreamingExpression

__all__ = [
    "Expression",
    "ExpressionError",
    "ScreenMatch",
    "ScreenResult",
    "StreamingExpression",
    "compile_expression",
    "compile_numeric",
    "screen",
]
