"""A small indicator registry wrapping TA-Lib directly, and real market data, for the
expression-language tests (independent of ``quantdesk.indicators.catalog``).

Compute and lookback callables are module-level class instances so the registry pickles into
spawned screen workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import talib

from quantdesk.indicators.registry import IndicatorRegistry, IndicatorSpec, Param, ParamValue

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TalibCompute:
    """Call ``talib.<function>`` with the named inputs and parameters; name its outputs."""

    function: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __call__(
        self, inputs: Mapping[str, npt.NDArray[np.generic]], params: Mapping[str, ParamValue]
    ) -> dict[str, FloatArray]:
        arrays = [np.asarray(inputs[name], dtype=np.float64) for name in self.inputs]
        result = getattr(talib, self.function)(*arrays, **params)
        results = result if isinstance(result, tuple) else (result,)
        return {
            name: np.asarray(array, dtype=np.float64)
            for name, array in zip(self.outputs, results, strict=True)
        }


@dataclass(frozen=True)
class Lookback:
    """TA-Lib's lookback: ``sum(params[name] + offset for name, offset in terms) + constant``."""

    terms: tuple[tuple[str, int], ...] = ()
    constant: int = 0

    def __call__(self, params: Mapping[str, ParamValue]) -> int:
        return sum(int(params[name]) + offset for name, offset in self.terms) + self.constant


def _period(name: str, default: int, minimum: int = 2) -> Param:
    return Param(name, default, "int", minimum, 100000)


def build_test_registry() -> IndicatorRegistry:
    """Return sma, ema, rsi, macd, bbands, atr and obv registered as the plan names them."""
    registry = IndicatorRegistry()
    specs = [
        IndicatorSpec(
            "sma",
            "overlap",
            "Simple Moving Average",
            ("close",),
            (_period("timeperiod", 30),),
            ("value",),
            TalibCompute("SMA", ("close",), ("value",)),
            Lookback((("timeperiod", -1),)),
        ),
        IndicatorSpec(
            "ema",
            "overlap",
            "Exponential Moving Average",
            ("close",),
            (_period("timeperiod", 30),),
            ("value",),
            TalibCompute("EMA", ("close",), ("value",)),
            Lookback((("timeperiod", -1),)),
        ),
        IndicatorSpec(
            "rsi",
            "momentum",
            "Relative Strength Index",
            ("close",),
            (_period("timeperiod", 14),),
            ("value",),
            TalibCompute("RSI", ("close",), ("value",)),
            Lookback((("timeperiod", 0),)),
        ),
        IndicatorSpec(
            "macd",
            "momentum",
            "MACD",
            ("close",),
            (
                _period("fastperiod", 12),
                _period("slowperiod", 26),
                _period("signalperiod", 9, minimum=1),
            ),
            ("macd", "signal", "hist"),
            TalibCompute("MACD", ("close",), ("macd", "signal", "hist")),
            Lookback((("slowperiod", -1), ("signalperiod", -1))),
        ),
        IndicatorSpec(
            "bbands",
            "overlap",
            "Bollinger Bands",
            ("close",),
            (
                _period("timeperiod", 5),
                Param("nbdevup", 2.0, "float", -3.0e37, 3.0e37),
                Param("nbdevdn", 2.0, "float", -3.0e37, 3.0e37),
                Param("matype", 0, "int", 0, 8),
            ),
            ("upper", "middle", "lower"),
            TalibCompute("BBANDS", ("close",), ("upper", "middle", "lower")),
            Lookback((("timeperiod", -1),)),
        ),
        IndicatorSpec(
            "atr",
            "volatility",
            "Average True Range",
            ("high", "low", "close"),
            (_period("timeperiod", 14, minimum=1),),
            ("value",),
            TalibCompute("ATR", ("high", "low", "close"), ("value",)),
            Lookback((("timeperiod", 0),)),
        ),
        IndicatorSpec(
            "obv",
            "volume",
            "On Balance Volume",
            ("close", "volume"),
            (),
            ("value",),
            TalibCompute("OBV", ("close", "volume"), ("value",)),
            Lookback(),
        ),
    ]
    for spec in specs:
        registry.register(spec)
    return registry


REGISTRY = build_test_registry()


# arch and pandas are imported on use: spawned screen workers unpickle this module's compute
# classes and should not pay for them.


def _bars(frame: object) -> dict[str, FloatArray | npt.NDArray[np.int64]]:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    bars: dict[str, FloatArray | npt.NDArray[np.int64]] = {
        name.lower(): frame[name].to_numpy(float)
        for name in ("Open", "High", "Low", "Close", "Volume")
    }
    index = pd.DatetimeIndex(frame.index)
    bars["ts"] = index.to_numpy().astype("datetime64[us]").astype(np.int64)
    return bars


@cache
def spx_bars() -> dict[str, FloatArray | npt.NDArray[np.int64]]:
    """Return the S&P 500 daily bars 1999-2018 (arch.data) as lower-case numpy columns."""
    from arch.data import sp500

    return _bars(sp500.load())


@cache
def ixic_bars() -> dict[str, FloatArray | npt.NDArray[np.int64]]:
    """Return the NASDAQ Composite daily bars (arch.data) as lower-case numpy columns."""
    from arch.data import nasdaq

    return _bars(nasdaq.load())
