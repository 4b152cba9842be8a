"""Technical indicators: every TA-Lib function plus quantdesk's own, behind one registry.

``compute("rsi", bars, timeperiod=14)`` runs any registered indicator over numpy, polars or
pandas data and answers in the same kind; the convenience functions (``rsi``, ``macd``,
``supertrend``, ...) are thin typed calls into it. :data:`REGISTRY` lists every indicator with
its inputs, parameters (defaults and bounds), outputs and lookback.
"""

from __future__ import annotations

from quantdesk.indicators.batch import (
    adx,
    atr,
    bbands,
    cci,
    compute,
    donchian,
    ema,
    heikin_ashi,
    ichimoku,
    keltner,
    macd,
    mfi,
    natr,
    obv,
    pivots,
    rsi,
    sma,
    stoch,
    supertrend,
    vwap,
    wma,
)
from quantdesk.indicators.catalog import REGISTRY
from quantdesk.indicators.registry import IndicatorRegistry, IndicatorSpec, Param

__all__ = [
    "REGISTRY",
    "IndicatorRegistry",
    "IndicatorSpec",
    "Param",
    "adx",
    "atr",
    "bbands",
    "cci",
    "compute",
    "donchian",
    "ema",
    "heikin_ashi",
    "ichimoku",
    "keltner",
    "macd",
    "mfi",
    "natr",
    "obv",
    "pivots",
    "rsi",
    "sma",
    "stoch",
    "supertrend",
    "vwap",
    "wma",
]
