"""quantdesk's own indicators: registry entries wrapping the numba kernels in ``_custom_nb``.

Session and anchored VWAP, SuperTrend, Keltner and Donchian channels, Ichimoku, Heikin-Ashi and
classic/Fibonacci/Camarilla pivots, as defined in the issue-3 plan. Every output is float64,
as long as the inputs and NaN through the entry's lookback (all outputs of an entry share one
lookback, as TA-Lib's multi-output functions do). The kernels are imported on first use so
that importing the catalogue does not import numba.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import talib

from quantdesk.indicators.registry import (
    FloatArray,
    IndicatorSpec,
    Param,
    ParamValue,
    PriceInput,
)

__all__ = ["custom_specs"]

Inputs = Mapping[str, npt.NDArray[np.generic]]
Params = Mapping[str, ParamValue]

_MAX_PERIOD = 100_000


def _float(inputs: Inputs, name: str) -> FloatArray:
    return np.ascontiguousarray(inputs[name], dtype=np.float64)


def _mask(outputs: dict[str, FloatArray], lookback: int) -> dict[str, FloatArray]:
    for values in outputs.values():
        values[: min(lookback, values.shape[0])] = np.nan
    return outputs


def _vwap(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import session_vwap_nb

    ts = np.ascontiguousarray(inputs["ts"], dtype=np.int64)
    value: FloatArray = session_vwap_nb(
        _float(inputs, "high"),
        _float(inputs, "low"),
        _float(inputs, "close"),
        _float(inputs, "volume"),
        ts,
    )
    return {"value": value}


def _avwap(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import anchored_vwap_nb

    value: FloatArray = anchored_vwap_nb(
        _float(inputs, "high"),
        _float(inputs, "low"),
        _float(inputs, "close"),
        _float(inputs, "volume"),
        int(params["anchor"]),
    )
    return {"value": value}


def _supertrend(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import supertrend_nb

    high, low, close = _float(inputs, "high"), _float(inputs, "low"), _float(inputs, "close")
    atr = talib.ATR(high, low, close, timeperiod=int(params["timeperiod"]))
    line, direction, upper, lower = supertrend_nb(
        high, low, close, atr, float(params["multiplier"])
    )
    outputs = {"supertrend": line, "direction": direction, "upper": upper, "lower": lower}
    return _mask(outputs, int(params["timeperiod"]))


def _keltner(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import envelope_nb

    high, low, close = _float(inputs, "high"), _float(inputs, "low"), _float(inputs, "close")
    middle: FloatArray = talib.EMA(close, timeperiod=int(params["timeperiod"]))
    atr = talib.ATR(high, low, close, timeperiod=int(params["atr_period"]))
    upper, lower = envelope_nb(middle, atr, float(params["multiplier"]))
    outputs = {"upper": upper, "middle": middle, "lower": lower}
    return _mask(outputs, _keltner_lookback(params))


def _keltner_lookback(params: Params) -> int:
    return max(int(params.get("timeperiod", 20)) - 1, int(params.get("atr_period", 10)))


def _donchian(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import donchian_nb

    upper, middle, lower = donchian_nb(
        _float(inputs, "high"), _float(inputs, "low"), int(params["timeperiod"])
    )
    return {"upper": upper, "middle": middle, "lower": lower}


def _ichimoku(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import ichimoku_nb

    tenkan, kijun, senkou_a, senkou_b = ichimoku_nb(
        _float(inputs, "high"),
        _float(inputs, "low"),
        int(params["tenkan"]),
        int(params["kijun"]),
        int(params["senkou_b"]),
        int(params["displacement"]),
    )
    return {"tenkan": tenkan, "kijun": kijun, "senkou_a": senkou_a, "senkou_b": senkou_b}


def _ichimoku_lookback(params: Params) -> int:
    tenkan = int(params.get("tenkan", 9))
    kijun = int(params.get("kijun", 26))
    senkou_b = int(params.get("senkou_b", 52))
    displacement = int(params.get("displacement", 26))
    return max(tenkan, kijun, senkou_b) - 1 + displacement


def _heikin_ashi(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
    from quantdesk.indicators._custom_nb import heikin_ashi_nb

    ha_open, ha_high, ha_low, ha_close = heikin_ashi_nb(
        _float(inputs, "open"),
        _float(inputs, "high"),
        _float(inputs, "low"),
        _float(inputs, "close"),
    )
    return {"open": ha_open, "high": ha_high, "low": ha_low, "close": ha_close}


_PIVOT_OUTPUTS = ("p", "r1", "r2", "r3", "s1", "s2", "s3")
_CAMARILLA_OUTPUTS = ("p", "r1", "r2", "r3", "r4", "s1", "s2", "s3", "s4")


def _pivots(
    method: str, outputs: tuple[str, ...]
) -> Callable[[Inputs, Params], dict[str, FloatArray]]:
    def compute(inputs: Inputs, params: Params) -> dict[str, FloatArray]:
        from quantdesk.indicators import _custom_nb

        kernel = getattr(_custom_nb, f"pivot_{method}_nb")
        levels: FloatArray = kernel(
            _float(inputs, "high"), _float(inputs, "low"), _float(inputs, "close")
        )
        return {name: levels[row] for row, name in enumerate(outputs)}

    return compute


def _constant(lookback: int) -> Callable[[Params], int]:
    def constant(params: Params) -> int:
        return lookback

    return constant


def _period(name: str, default: int, offset: int = 0) -> Callable[[Params], int]:
    def period(params: Params) -> int:
        return int(params.get(name, default)) + offset

    return period


def _int(name: str, default: int, minimum: int, description: str) -> Param:
    return Param(name, default, "int", minimum, _MAX_PERIOD, description)


_HLC: tuple[PriceInput, ...] = ("high", "low", "close")


def custom_specs() -> list[IndicatorSpec]:
    """Return the registry entries of quantdesk's own indicators.

    Returns
    -------
    list[IndicatorSpec]
        One entry per indicator, with ``source="quantdesk"``.
    """
    multiplier = "Band width in multiples of the ATR"
    return [
        IndicatorSpec(
            name="vwap",
            group="volume",
            display_name="Session VWAP",
            inputs=("high", "low", "close", "volume", "ts"),
            params=(),
            outputs=("value",),
            compute=_vwap,
            lookback=_constant(0),
            source="quantdesk",
            description="Volume-weighted typical price since the start of the bar's UTC date.",
        ),
        IndicatorSpec(
            name="avwap",
            group="volume",
            display_name="Anchored VWAP",
            inputs=("high", "low", "close", "volume"),
            params=(Param("anchor", 0, "int", 0, None, "Bar index (0-based) the VWAP starts at"),),
            outputs=("value",),
            compute=_avwap,
            lookback=_period("anchor", 0),
            source="quantdesk",
            description="Volume-weighted typical price from the anchor bar on; NaN before it.",
        ),
        IndicatorSpec(
            name="supertrend",
            group="overlap",
            display_name="SuperTrend",
            inputs=_HLC,
            params=(
                _int("timeperiod", 10, 1, "ATR period"),
                Param("multiplier", 3.0, "float", 0.01, 100.0, multiplier),
            ),
            outputs=("supertrend", "direction", "upper", "lower"),
            compute=_supertrend,
            lookback=_period("timeperiod", 10),
            source="quantdesk",
            description="ATR trailing band that flips with the trend; direction is +1 or -1.",
        ),
        IndicatorSpec(
            name="keltner",
            group="volatility",
            display_name="Keltner Channels",
            inputs=_HLC,
            params=(
                _int("timeperiod", 20, 2, "EMA period of the middle line"),
                Param("multiplier", 2.0, "float", 0.01, 100.0, multiplier),
                _int("atr_period", 10, 1, "ATR period of the band width"),
            ),
            outputs=("upper", "middle", "lower"),
            compute=_keltner,
            lookback=_keltner_lookback,
            source="quantdesk",
            description="EMA of the close with bands a multiple of the ATR above and below.",
        ),
        IndicatorSpec(
            name="donchian",
            group="volatility",
            display_name="Donchian Channels",
            inputs=("high", "low"),
            params=(_int("timeperiod", 20, 1, "Window length in bars"),),
            outputs=("upper", "middle", "lower"),
            compute=_donchian,
            lookback=_period("timeperiod", 20, -1),
            source="quantdesk",
            description="Highest high and lowest low over the window, and their midpoint.",
        ),
        IndicatorSpec(
            name="ichimoku",
            group="overlap",
            display_name="Ichimoku Kinko Hyo",
            inputs=_HLC,
            params=(
                _int("tenkan", 9, 1, "Conversion line window"),
                _int("kijun", 26, 1, "Base line window"),
                _int("senkou_b", 52, 1, "Leading span B window"),
                _int("displacement", 26, 1, "Bars the cloud is shifted forward"),
            ),
            outputs=("tenkan", "kijun", "senkou_a", "senkou_b"),
            compute=_ichimoku,
            lookback=_ichimoku_lookback,
            source="quantdesk",
            description="Conversion and base lines, and the cloud plotted at t from data up to "
            "t - displacement; no chikou span (as a series it would use future data).",
        ),
        IndicatorSpec(
            name="heikin_ashi",
            group="price",
            display_name="Heikin-Ashi",
            inputs=("open", "high", "low", "close"),
            params=(),
            outputs=("open", "high", "low", "close"),
            compute=_heikin_ashi,
            lookback=_constant(0),
            source="quantdesk",
            description="Smoothed candles: averaged open and close, extremes widened to fit them.",
        ),
        *(
            IndicatorSpec(
                name=f"pivot_{method}",
                group="overlap",
                display_name=f"{method.capitalize()} Pivot Points",
                inputs=_HLC,
                params=(),
                outputs=outputs,
                compute=_pivots(method, outputs),
                lookback=_constant(1),
                source="quantdesk",
                description=f"{method.capitalize()} pivot levels for each bar from the previous "
                "bar's high, low and close.",
            )
            for method, outputs in (
                ("classic", _PIVOT_OUTPUTS),
                ("fibonacci", _PIVOT_OUTPUTS),
                ("camarilla", _CAMARILLA_OUTPUTS),
            )
        ),
    ]
