"""Compute any registered indicator over a whole series, in the caller's own data kind.

:func:`compute` accepts bars as a mapping of numpy arrays, a numpy structured array, a polars
or a pandas DataFrame (columns ``open/high/low/close/volume``, any case), or one 1-D array or
Series taken as ``close`` for single-input indicators. Results come back in the same kind:

- numpy: one ``ndarray`` for a single output, else ``dict[output, ndarray]``;
- polars: a DataFrame with a column per output, named ``<name>`` for a single output and
  ``<name>_<output>`` otherwise (a polars Series with a single output gives a Series);
- pandas: a Series (single output) or DataFrame carrying the input's index.

Every output has the input's length and is NaN through the indicator's lookback. Input
shorter than ``lookback + 1`` rows gives all-NaN output rather than an error; call
``REGISTRY.get(name).lookback(params)`` to check beforehand. Session ``vwap`` also needs bar
times: a ``ts``/``date`` column (datetimes, or int64 epoch microseconds UTC) or a pandas
DatetimeIndex; naive datetimes are read as UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.indicators.catalog import REGISTRY
from quantdesk.indicators.registry import FloatArray, IndicatorSpec, ParamValue

#: Bars in any supported kind, or one close series.
Data: TypeAlias = (
    "Mapping[str, npt.ArrayLike] | npt.NDArray[Any] | pl.DataFrame | pl.Series "
    "| pd.DataFrame | pd.Series[Any]"
)
#: What a single-output indicator returns.
SingleOutput: TypeAlias = "FloatArray | pl.DataFrame | pl.Series | pd.Series[float]"
#: What a multi-output indicator returns.
MultiOutput: TypeAlias = "dict[str, FloatArray] | pl.DataFrame | pd.DataFrame"
Output: TypeAlias = "SingleOutput | MultiOutput"

_TIME_COLUMNS = ("ts", "date")


def compute(name: str, data: Data, /, *positional: ParamValue, **params: ParamValue) -> Output:
    """Compute indicator ``name`` over ``data`` and return it in ``data``'s kind.

    Parameters
    ----------
    name
        Registered indicator name, any case (``"rsi"``, ``"macd"``, ``"supertrend"``).
    data
        Bars as a mapping of arrays, a numpy structured array, a polars or pandas DataFrame,
        or a single 1-D array/Series read as ``close`` (single-input indicators only).
    *positional
        Parameter values in the indicator's declaration order.
    **params
        Parameter values by name; defaults fill the rest.

    Returns
    -------
    Output
        See the module docstring; NaN through the lookback, all-NaN if the input is shorter
        than ``lookback + 1`` rows.

    Raises
    ------
    NotFound
        If no indicator is called ``name`` (with close matches as suggestions).
    ValidationError
        If a parameter is unknown or out of bounds, or an input column is missing.
    """
    spec = REGISTRY.get(name)
    resolved = spec.resolve(params, *positional)
    outputs = spec.compute(_inputs(spec, data), resolved)
    return _wrap(spec, outputs, data)


def _single(name: str, data: Data, /, **params: ParamValue) -> SingleOutput:
    return cast("SingleOutput", compute(name, data, **params))


def _multi(name: str, data: Data, /, **params: ParamValue) -> MultiOutput:
    return cast("MultiOutput", compute(name, data, **params))


# --- inputs -------------------------------------------------------------------------------


def _missing(spec: IndicatorSpec, missing: Sequence[str], hint: str = "") -> ValidationError:
    needed = ", ".join(spec.inputs)
    issues = [
        Issue(spec.name, f"missing input column '{column}' (needs {needed}){hint}", field=column)
        for column in missing
    ]
    return ValidationError(f"{spec.name} needs input column(s) {', '.join(missing)}", issues)


def _inputs(spec: IndicatorSpec, data: Data) -> dict[str, npt.NDArray[np.generic]]:
    keys: Collection[Any]
    get: Callable[[Any], Any]
    if isinstance(data, pl.DataFrame):
        keys, get = data.columns, data.get_column
    elif isinstance(data, pd.DataFrame):
        keys, get = data.columns, data.__getitem__
    elif isinstance(data, np.ndarray) and data.dtype.names is not None:
        keys, get = data.dtype.names, data.__getitem__
    elif isinstance(data, Mapping):
        keys, get = data.keys(), data.__getitem__
    elif isinstance(data, pl.Series | pd.Series | np.ndarray):
        return _single_series(spec, data)
    else:
        raise TypeError(f"unsupported data for {spec.name}: {type(data).__name__}")
    arrays: dict[str, npt.NDArray[np.generic]] = {}
    missing: list[str] = []
    for needed in spec.inputs:
        if needed == "ts":
            ts = _timestamps(data, keys, get)
            if ts is None:
                missing.append("ts")
            else:
                arrays["ts"] = ts
        elif (key := _find(keys, needed)) is not None:
            arrays[needed] = _float_column(spec, needed, get(key))
        else:
            missing.append(needed)
    if missing:
        hint = "; give a ts/date column or a DatetimeIndex" if "ts" in missing else ""
        raise _missing(spec, missing, hint)
    lengths = {name: array.shape[0] for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValidationError(
            f"{spec.name} inputs differ in length",
            [Issue(spec.name, f"input lengths differ: {lengths}")],
        )
    return arrays


def _find(keys: Collection[Any], wanted: str) -> Any:
    if wanted in keys:
        return wanted
    return next((key for key in keys if str(key).lower() == wanted), None)


def _single_series(
    spec: IndicatorSpec, data: pl.Series | pd.Series[Any] | npt.NDArray[Any]
) -> dict[str, npt.NDArray[np.generic]]:
    if spec.inputs != ("close",):
        missing = [name for name in spec.inputs if name != "close"]
        raise _missing(spec, missing, "; a single series only supplies close")
    return {"close": _float_column(spec, "close", data)}


def _float_column(spec: IndicatorSpec, name: str, column: Any) -> FloatArray:
    if isinstance(column, pl.Series | pd.Series):
        column = column.to_numpy()
    array = np.ascontiguousarray(column, dtype=np.float64)
    if array.ndim != 1:
        raise ValidationError(
            f"{spec.name} input {name} must be one-dimensional",
            [Issue(spec.name, f"input '{name}' has shape {array.shape}", field=name)],
        )
    return array


def _timestamps(
    data: Data, keys: Collection[Any], get: Callable[[Any], Any]
) -> npt.NDArray[np.int64] | None:
    key = next((k for k in (_find(keys, name) for name in _TIME_COLUMNS) if k is not None), None)
    column = None if key is None else get(key)
    if column is None:
        if isinstance(data, pd.DataFrame) and isinstance(data.index, pd.DatetimeIndex):
            return _pandas_microseconds(data.index)
        return None
    if isinstance(column, pl.Series):
        if column.dtype.is_temporal():
            return column.dt.epoch("us").to_numpy().astype(np.int64)
        return column.to_numpy().astype(np.int64)
    if isinstance(column, pd.Series):
        if pd.api.types.is_integer_dtype(column.dtype):
            return column.to_numpy(dtype=np.int64)
        return _pandas_microseconds(pd.DatetimeIndex(column))
    array = np.asarray(column)
    if np.issubdtype(array.dtype, np.datetime64):
        return array.astype("datetime64[us]").astype(np.int64)
    return array.astype(np.int64)


def _pandas_microseconds(index: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.as_unit("us").asi8


# --- outputs ------------------------------------------------------------------------------


def _column_names(spec: IndicatorSpec) -> list[str]:
    if len(spec.outputs) == 1:
        return [spec.name]
    return [f"{spec.name}_{output}" for output in spec.outputs]


def _wrap(spec: IndicatorSpec, outputs: dict[str, FloatArray], data: Data) -> Output:
    single = len(spec.outputs) == 1
    names = _column_names(spec)
    if isinstance(data, pl.DataFrame | pl.Series):
        if single and isinstance(data, pl.Series):
            return pl.Series(names[0], outputs[spec.outputs[0]])
        return pl.DataFrame({n: outputs[o] for n, o in zip(names, spec.outputs, strict=True)})
    if isinstance(data, pd.DataFrame | pd.Series):
        if single:
            return pd.Series(outputs[spec.outputs[0]], index=data.index, name=names[0])
        return pd.DataFrame(
            {n: outputs[o] for n, o in zip(names, spec.outputs, strict=True)}, index=data.index
        )
    if single:
        return outputs[spec.outputs[0]]
    return outputs


# --- convenience functions ----------------------------------------------------------------
# Thin calls into ``compute``; defaults are TA-Lib's (and the plan's), pinned by a test.


def sma(data: Data, timeperiod: int = 30) -> SingleOutput:
    """Return the simple moving average of the close (TA-Lib ``SMA``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) or a 1-D close series.
    timeperiod
        Window length in bars, 1..100000.

    Returns
    -------
    SingleOutput
        The average, NaN for the first ``timeperiod - 1`` bars.
    """
    return _single("sma", data, timeperiod=timeperiod)


def ema(data: Data, timeperiod: int = 30) -> SingleOutput:
    """Return the exponential moving average of the close (TA-Lib ``EMA``, SMA seed).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) or a 1-D close series.
    timeperiod
        Period in bars (smoothing 2 / (timeperiod + 1)), 1..100000.

    Returns
    -------
    SingleOutput
        The average, NaN for the first ``timeperiod - 1`` bars.
    """
    return _single("ema", data, timeperiod=timeperiod)


def wma(data: Data, timeperiod: int = 30) -> SingleOutput:
    """Return the linearly weighted moving average of the close (TA-Lib ``WMA``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) or a 1-D close series.
    timeperiod
        Window length in bars, 1..100000.

    Returns
    -------
    SingleOutput
        The average, NaN for the first ``timeperiod - 1`` bars.
    """
    return _single("wma", data, timeperiod=timeperiod)


def rsi(data: Data, timeperiod: int = 14) -> SingleOutput:
    """Return Wilder's relative strength index of the close (TA-Lib ``RSI``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) or a 1-D close series.
    timeperiod
        Smoothing period, 2..100000.

    Returns
    -------
    SingleOutput
        RSI in [0, 100], NaN for the first ``timeperiod`` bars.
    """
    return _single("rsi", data, timeperiod=timeperiod)


def macd(
    data: Data, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> MultiOutput:
    """Return MACD, its signal line and histogram (TA-Lib ``MACD``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) or a 1-D close series.
    fastperiod, slowperiod
        EMA periods of the fast and slow averages, 2..100000.
    signalperiod
        EMA period of the signal line, 1..100000.

    Returns
    -------
    MultiOutput
        Outputs ``macd``, ``signal`` and ``hist`` (polars/pandas columns ``macd_<output>``).
    """
    return _multi(
        "macd", data, fastperiod=fastperiod, slowperiod=slowperiod, signalperiod=signalperiod
    )


def bbands(
    data: Data, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, matype: int = 0
) -> MultiOutput:
    """Return Bollinger Bands around a moving average of the close (TA-Lib ``BBANDS``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) or a 1-D close series.
    timeperiod
        Window length, 2..100000.
    nbdevup, nbdevdn
        Band distances in population standard deviations above and below.
    matype
        TA-Lib moving-average type of the middle band (0 = SMA), 0..13.

    Returns
    -------
    MultiOutput
        Outputs ``upper``, ``middle`` and ``lower``.
    """
    return _multi(
        "bbands", data, timeperiod=timeperiod, nbdevup=nbdevup, nbdevdn=nbdevdn, matype=matype
    )


def atr(data: Data, timeperiod: int = 14) -> SingleOutput:
    """Return Wilder's average true range (TA-Lib ``ATR``; needs high, low, close).

    Parameters
    ----------
    data
        Bars (see :func:`compute`).
    timeperiod
        Smoothing period, 1..100000.

    Returns
    -------
    SingleOutput
        ATR in price units, NaN for the first ``timeperiod`` bars.
    """
    return _single("atr", data, timeperiod=timeperiod)


def natr(data: Data, timeperiod: int = 14) -> SingleOutput:
    """Return the ATR as a percentage of the close (TA-Lib ``NATR``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    timeperiod
        Smoothing period, 1..100000.

    Returns
    -------
    SingleOutput
        100 · ATR / close, NaN for the first ``timeperiod`` bars.
    """
    return _single("natr", data, timeperiod=timeperiod)


def stoch(
    data: Data,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowk_matype: int = 0,
    slowd_period: int = 3,
    slowd_matype: int = 0,
) -> MultiOutput:
    """Return the slow stochastic oscillator (TA-Lib ``STOCH``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    fastk_period
        Look-back window of the raw %K, 1..100000.
    slowk_period, slowk_matype
        Smoothing period and TA-Lib MA type turning fast %K into slow %K.
    slowd_period, slowd_matype
        Smoothing period and TA-Lib MA type of %D.

    Returns
    -------
    MultiOutput
        Outputs ``k`` and ``d`` in [0, 100].
    """
    return _multi(
        "stoch",
        data,
        fastk_period=fastk_period,
        slowk_period=slowk_period,
        slowk_matype=slowk_matype,
        slowd_period=slowd_period,
        slowd_matype=slowd_matype,
    )


def adx(data: Data, timeperiod: int = 14) -> SingleOutput:
    """Return Wilder's average directional index (TA-Lib ``ADX``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    timeperiod
        Smoothing period, 2..100000.

    Returns
    -------
    SingleOutput
        ADX in [0, 100], NaN for the first ``2 · timeperiod - 1`` bars.
    """
    return _single("adx", data, timeperiod=timeperiod)


def cci(data: Data, timeperiod: int = 14) -> SingleOutput:
    """Return Lambert's commodity channel index (TA-Lib ``CCI``).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    timeperiod
        Window length, 2..100000.

    Returns
    -------
    SingleOutput
        CCI, NaN for the first ``timeperiod - 1`` bars.
    """
    return _single("cci", data, timeperiod=timeperiod)


def mfi(data: Data, timeperiod: int = 14) -> SingleOutput:
    """Return the money flow index (TA-Lib ``MFI``; needs high, low, close, volume).

    Parameters
    ----------
    data
        Bars (see :func:`compute`).
    timeperiod
        Window length, 2..100000.

    Returns
    -------
    SingleOutput
        MFI in [0, 100], NaN for the first ``timeperiod`` bars.
    """
    return _single("mfi", data, timeperiod=timeperiod)


def obv(data: Data) -> SingleOutput:
    """Return on-balance volume (TA-Lib ``OBV``; needs close and volume).

    Parameters
    ----------
    data
        Bars (see :func:`compute`).

    Returns
    -------
    SingleOutput
        Running volume signed by the close's direction; defined from the first bar.
    """
    return _single("obv", data)


def vwap(data: Data) -> SingleOutput:
    """Return the session VWAP, restarting at each UTC calendar date.

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low, close, volume and bar times (a ``ts`` or
        ``date`` column, or a pandas DatetimeIndex).

    Returns
    -------
    SingleOutput
        Volume-weighted typical price since the session start; NaN while its volume is 0.
    """
    return _single("vwap", data)


def supertrend(data: Data, timeperiod: int = 10, multiplier: float = 3.0) -> MultiOutput:
    """Return SuperTrend: an ATR trailing band that flips with the trend.

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    timeperiod
        ATR period, 1..100000.
    multiplier
        Band distance in ATRs from the bar midpoint, 0.01..100.

    Returns
    -------
    MultiOutput
        Outputs ``supertrend``, ``direction`` (+1 up, -1 down), ``upper`` and ``lower``.
    """
    return _multi("supertrend", data, timeperiod=timeperiod, multiplier=multiplier)


def keltner(
    data: Data, timeperiod: int = 20, multiplier: float = 2.0, atr_period: int = 10
) -> MultiOutput:
    """Return Keltner channels: an EMA of the close ± a multiple of the ATR.

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    timeperiod
        EMA period of the middle line, 2..100000.
    multiplier
        Band distance in ATRs, 0.01..100.
    atr_period
        ATR period, 1..100000.

    Returns
    -------
    MultiOutput
        Outputs ``upper``, ``middle`` and ``lower``.
    """
    return _multi(
        "keltner", data, timeperiod=timeperiod, multiplier=multiplier, atr_period=atr_period
    )


def donchian(data: Data, timeperiod: int = 20) -> MultiOutput:
    """Return Donchian channels: the highest high and lowest low over a window.

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high and low.
    timeperiod
        Window length, 1..100000.

    Returns
    -------
    MultiOutput
        Outputs ``upper``, ``middle`` and ``lower``.
    """
    return _multi("donchian", data, timeperiod=timeperiod)


def ichimoku(
    data: Data, tenkan: int = 9, kijun: int = 26, senkou_b: int = 52, displacement: int = 26
) -> MultiOutput:
    """Return the Ichimoku lines and cloud (no chikou span: it would use future data).

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    tenkan, kijun, senkou_b
        Windows of the conversion line, base line and leading span B, 1..100000.
    displacement
        Bars the cloud is shifted forward, 1..100000.

    Returns
    -------
    MultiOutput
        Outputs ``tenkan``, ``kijun``, ``senkou_a`` and ``senkou_b``; all NaN for the first
        ``max(tenkan, kijun, senkou_b) - 1 + displacement`` bars.
    """
    return _multi(
        "ichimoku", data, tenkan=tenkan, kijun=kijun, senkou_b=senkou_b, displacement=displacement
    )


def heikin_ashi(data: Data) -> MultiOutput:
    """Return Heikin-Ashi candles.

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with open, high, low and close.

    Returns
    -------
    MultiOutput
        Outputs ``open``, ``high``, ``low`` and ``close``.
    """
    return _multi("heikin_ashi", data)


def pivots(
    data: Data, method: Literal["classic", "fibonacci", "camarilla"] = "classic"
) -> MultiOutput:
    """Return pivot levels for each bar from the previous bar's high, low and close.

    Parameters
    ----------
    data
        Bars (see :func:`compute`) with high, low and close.
    method
        ``classic`` or ``fibonacci`` (outputs p, r1-r3, s1-s3) or ``camarilla`` (p, r1-r4,
        s1-s4).

    Returns
    -------
    MultiOutput
        One output per level, NaN on the first bar.

    Raises
    ------
    ValidationError
        If ``method`` is not one of the three.
    """
    if method not in ("classic", "fibonacci", "camarilla"):
        raise ValidationError(
            "unknown pivot method",
            [Issue("pivots.method", f"use classic, fibonacci or camarilla, not {method!r}")],
        )
    return _multi(f"pivot_{method}", data)
