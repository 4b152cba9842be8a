"""Streaming indicators against batch references, at every bar of real S&P 500 history.

The TA-Lib indicators are compared with ``talib.<NAME>`` run on the whole series; the quantdesk
ones (vwap, supertrend, keltner, donchian) with straightforward batch computations written here
from the plan's definitions. Warm-up NaNs must coincide exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import talib
from arch.data import sp500

from quantdesk.indicators.streaming import AdxStream, make_stream

FloatArray = npt.NDArray[np.float64]
US_PER_DAY = 86_400_000_000


@cache
def _bars() -> dict[str, np.ndarray]:
    frame = sp500.load()
    bars: dict[str, np.ndarray] = {
        name.lower(): frame[name].to_numpy(float)
        for name in ("Open", "High", "Low", "Close", "Volume")
    }
    days = frame.index.values.astype("datetime64[us]").astype(np.int64)
    bars["ts"] = days
    return bars


# (registry name, params); every indicator with parameters has a non-default set too.
TALIB_CASES: list[tuple[str, dict[str, Any]]] = [
    ("sma", {}),
    ("sma", {"timeperiod": 7}),
    ("sma", {"timeperiod": 1}),
    ("ema", {}),
    ("ema", {"timeperiod": 5}),
    ("wma", {}),
    ("wma", {"timeperiod": 9}),
    ("dema", {}),
    ("dema", {"timeperiod": 7}),
    ("tema", {}),
    ("tema", {"timeperiod": 5}),
    ("kama", {}),
    ("kama", {"timeperiod": 10}),
    ("rsi", {}),
    ("rsi", {"timeperiod": 2}),
    ("macd", {}),
    ("macd", {"fastperiod": 5, "slowperiod": 35, "signalperiod": 5}),
    ("macd", {"fastperiod": 26, "slowperiod": 12, "signalperiod": 1}),
    ("bbands", {}),
    ("bbands", {"timeperiod": 5, "nbdevup": 1.5, "nbdevdn": 2.5}),
    ("bbands", {"timeperiod": 10, "matype": 3}),
    ("stoch", {}),
    (
        "stoch",
        {
            "fastk_period": 14,
            "slowk_period": 3,
            "slowk_matype": 1,
            "slowd_period": 4,
            "slowd_matype": 2,
        },
    ),
    ("atr", {}),
    ("atr", {"timeperiod": 1}),
    ("atr", {"timeperiod": 5}),
    ("natr", {}),
    ("natr", {"timeperiod": 30}),
    ("adx", {}),
    ("adx", {"timeperiod": 5}),
    ("plus_di", {}),
    ("plus_di", {"timeperiod": 1}),
    ("minus_di", {}),
    ("minus_di", {"timeperiod": 30}),
    ("dx", {}),
    ("dx", {"timeperiod": 3}),
    ("cci", {}),
    ("cci", {"timeperiod": 20}),
    ("mfi", {}),
    ("mfi", {"timeperiod": 3}),
    ("willr", {}),
    ("willr", {"timeperiod": 50}),
    ("roc", {}),
    ("roc", {"timeperiod": 1}),
    ("mom", {}),
    ("mom", {"timeperiod": 20}),
    ("obv", {}),
    ("ad", {}),
    ("adosc", {}),
    ("adosc", {"fastperiod": 10, "slowperiod": 3}),
    ("sar", {}),
    ("sar", {"acceleration": 0.05, "maximum": 0.3}),
    ("trange", {}),
    ("stddev", {}),
    ("stddev", {"timeperiod": 50, "nbdev": 1.5}),
    ("aroon", {}),
    ("aroon", {"timeperiod": 25}),
    ("aroonosc", {}),
    ("aroonosc", {"timeperiod": 5}),
]

_TALIB_INPUTS = {
    "stoch": ("high", "low", "close"),
    "atr": ("high", "low", "close"),
    "natr": ("high", "low", "close"),
    "adx": ("high", "low", "close"),
    "plus_di": ("high", "low", "close"),
    "minus_di": ("high", "low", "close"),
    "dx": ("high", "low", "close"),
    "cci": ("high", "low", "close"),
    "willr": ("high", "low", "close"),
    "trange": ("high", "low", "close"),
    "mfi": ("high", "low", "close", "volume"),
    "ad": ("high", "low", "close", "volume"),
    "adosc": ("high", "low", "close", "volume"),
    "obv": ("close", "volume"),
    "sar": ("high", "low"),
    "aroon": ("high", "low"),
    "aroonosc": ("high", "low"),
}


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, params = case
    return name + "".join(f"-{key}={value}" for key, value in params.items())


def _talib_batch(name: str, params: Mapping[str, Any]) -> FloatArray:
    bars = _bars()
    inputs = [bars[column] for column in _TALIB_INPUTS.get(name, ("close",))]
    out = getattr(talib, name.upper())(*inputs, **params)
    columns = out if isinstance(out, tuple | list) else (out,)
    return np.column_stack(columns).astype(np.float64)


@cache
def _streamed(name: str, frozen: tuple[tuple[str, Any], ...]) -> FloatArray:
    bars = _bars()
    stream = make_stream(name, **dict(frozen))
    update = stream.update
    rows = [
        update(o, h, low, c, v, int(t))
        for o, h, low, c, v, t in zip(
            bars["open"].tolist(),
            bars["high"].tolist(),
            bars["low"].tolist(),
            bars["close"].tolist(),
            bars["volume"].tolist(),
            bars["ts"].tolist(),
            strict=True,
        )
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)


def _stream(name: str, params: Mapping[str, Any]) -> FloatArray:
    return _streamed(name, tuple(sorted(params.items())))


def test_real_history_is_the_expected_sample() -> None:
    assert len(_bars()["close"]) == 5031


@pytest.mark.parametrize("case", TALIB_CASES, ids=_case_id)
def test_streamed_value_equals_talib_batch_at_every_bar(case: tuple[str, dict[str, Any]]) -> None:
    name, params = case
    batch = _talib_batch(name, params)
    streamed = _stream(name, params)
    assert streamed.shape == batch.shape
    np.testing.assert_allclose(streamed, batch, rtol=1e-9, atol=0, equal_nan=True)


@pytest.mark.skipif(
    not talib.__ta_version__.startswith(b"0.8"), reason="the arithmetic mirrored is TA-Lib 0.8's"
)
@pytest.mark.parametrize("case", TALIB_CASES, ids=_case_id)
def test_streamed_value_is_bit_identical_to_talib_0_8(case: tuple[str, dict[str, Any]]) -> None:
    name, params = case
    np.testing.assert_array_equal(_stream(name, params), _talib_batch(name, params))


@pytest.mark.parametrize("timeperiod", [14, 3])
def test_adx_exposes_plus_and_minus_di_of_talib(timeperiod: int) -> None:
    bars = _bars()
    high, low, close = bars["high"], bars["low"], bars["close"]
    stream = AdxStream(timeperiod=timeperiod)
    plus, minus = [], []
    for h, lo, c in zip(high.tolist(), low.tolist(), close.tolist(), strict=True):
        stream.update(0.0, h, lo, c, 0.0)
        plus.append(stream.plus_di)
        minus.append(stream.minus_di)
    expected_plus = talib.PLUS_DI(high, low, close, timeperiod)
    expected_minus = talib.MINUS_DI(high, low, close, timeperiod)
    np.testing.assert_allclose(plus, expected_plus, rtol=1e-9, atol=0, equal_nan=True)
    np.testing.assert_allclose(minus, expected_minus, rtol=1e-9, atol=0, equal_nan=True)


# --------------------------------------------------------------------------------- quantdesk


def _reference_vwap(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, ts: np.ndarray
) -> FloatArray:
    typical = (high + low + close) / 3.0
    day = ts // US_PER_DAY
    out = np.full(len(close), np.nan)
    for session in np.unique(day):
        rows = np.flatnonzero(day == session)
        turnover = np.cumsum(typical[rows] * volume[rows])
        shares = np.cumsum(volume[rows])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = np.where(shares != 0.0, turnover / shares, np.nan)
    return out


def _reference_supertrend(
    high: FloatArray, low: FloatArray, close: FloatArray, timeperiod: int, multiplier: float
) -> FloatArray:
    atr = talib.ATR(high, low, close, timeperiod)
    hl2 = (high + low) / 2
    band_upper = hl2 + multiplier * atr
    band_lower = hl2 - multiplier * atr
    out = np.full((len(close), 4), np.nan)
    start = timeperiod
    upper, lower = band_upper[start], band_lower[start]
    direction = 1.0 if close[start] >= hl2[start] else -1.0
    out[start] = (lower if direction == 1 else upper, direction, upper, lower)
    for t in range(start + 1, len(close)):
        prev_upper, prev_lower = upper, lower
        if band_upper[t] < prev_upper or close[t - 1] > prev_upper:
            upper = band_upper[t]
        if band_lower[t] > prev_lower or close[t - 1] < prev_lower:
            lower = band_lower[t]
        if close[t] > prev_upper:
            direction = 1.0
        elif close[t] < prev_lower:
            direction = -1.0
        out[t] = (lower if direction == 1 else upper, direction, upper, lower)
    return out


def _reference_keltner(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    multiplier: float,
    atr_period: int,
) -> FloatArray:
    middle = talib.EMA(close, timeperiod)
    width = multiplier * talib.ATR(high, low, close, atr_period)
    out = np.column_stack([middle + width, middle, middle - width])
    out[: max(timeperiod - 1, atr_period)] = np.nan
    return out


def _reference_donchian(high: FloatArray, low: FloatArray, timeperiod: int) -> FloatArray:
    out = np.full((len(high), 3), np.nan)
    windows_high = np.lib.stride_tricks.sliding_window_view(high, timeperiod).max(axis=1)
    windows_low = np.lib.stride_tricks.sliding_window_view(low, timeperiod).min(axis=1)
    out[timeperiod - 1 :, 0] = windows_high
    out[timeperiod - 1 :, 2] = windows_low
    out[timeperiod - 1 :, 1] = (windows_high + windows_low) / 2
    return out


@pytest.mark.parametrize(
    "params", [{}, {"timeperiod": 7, "multiplier": 2.0}, {"timeperiod": 1, "multiplier": 0.5}]
)
def test_supertrend_follows_the_plan_definition(params: dict[str, Any]) -> None:
    bars = _bars()
    expected = _reference_supertrend(
        bars["high"],
        bars["low"],
        bars["close"],
        params.get("timeperiod", 10),
        params.get("multiplier", 3.0),
    )
    streamed = _stream("supertrend", params)
    np.testing.assert_allclose(streamed, expected, rtol=1e-9, atol=0, equal_nan=True)
    assert set(np.unique(streamed[~np.isnan(streamed[:, 1]), 1])) == {-1.0, 1.0}


@pytest.mark.parametrize(
    "params", [{}, {"timeperiod": 5, "multiplier": 1.5, "atr_period": 20}, {"atr_period": 1}]
)
def test_keltner_follows_the_plan_definition(params: dict[str, Any]) -> None:
    bars = _bars()
    expected = _reference_keltner(
        bars["high"],
        bars["low"],
        bars["close"],
        params.get("timeperiod", 20),
        params.get("multiplier", 2.0),
        params.get("atr_period", 10),
    )
    np.testing.assert_allclose(
        _stream("keltner", params), expected, rtol=1e-9, atol=0, equal_nan=True
    )


@pytest.mark.parametrize("timeperiod", [20, 1, 55])
def test_donchian_follows_the_plan_definition(timeperiod: int) -> None:
    bars = _bars()
    expected = _reference_donchian(bars["high"], bars["low"], timeperiod)
    streamed = _stream("donchian", {"timeperiod": timeperiod})
    np.testing.assert_allclose(streamed, expected, rtol=1e-9, atol=0, equal_nan=True)


def test_session_vwap_on_daily_bars_is_each_bars_typical_price() -> None:
    bars = _bars()
    expected = _reference_vwap(bars["high"], bars["low"], bars["close"], bars["volume"], bars["ts"])
    streamed = _stream("vwap", {})
    np.testing.assert_allclose(streamed[:, 0], expected, rtol=1e-9, atol=0, equal_nan=True)


def test_session_vwap_resets_at_each_utc_day_on_intraday_bars() -> None:
    # SYNTHETIC minute bars: 5 sessions of 390 bars, some sessions opening with zero volume.
    rng = np.random.default_rng(11)
    minutes = 390
    start = np.datetime64("2024-03-04T14:30", "us").astype(np.int64)
    ts = np.concatenate(
        [start + day * US_PER_DAY + np.arange(minutes) * 60_000_000 for day in range(5)]
    )
    close = 100 + np.cumsum(rng.normal(0, 0.05, len(ts)))
    high = close + rng.uniform(0, 0.05, len(ts))
    low = close - rng.uniform(0, 0.05, len(ts))
    volume = rng.integers(0, 5_000, len(ts)).astype(np.float64)
    volume[minutes : minutes + 3] = 0.0  # a session that opens without trades: NaN until volume
    stream = make_stream("vwap")
    streamed = np.array(
        [
            stream.update(c, h, lo, c, v, int(t))
            for h, lo, c, v, t in zip(high, low, close, volume, ts, strict=True)
        ]
    )
    expected = _reference_vwap(high, low, close, volume, ts)
    assert np.isnan(streamed[minutes : minutes + 3]).all()
    np.testing.assert_allclose(streamed, expected, rtol=1e-9, atol=0, equal_nan=True)


@cache
def _adversarial_bars() -> dict[str, np.ndarray]:
    # SYNTHETIC: flat runs, zero-range bars and zero volume, to reach TA-Lib's edge branches
    # (unchanged-price resets in MFI/KAMA, zero ranges in STOCH/WILLR/ADX, variance re-centring).
    rng = np.random.default_rng(7)
    size = 2_000
    close = 100 + np.cumsum(rng.normal(0, 1, size)).round(2)
    for start in rng.integers(0, size - 60, 20):
        close[start : start + rng.integers(3, 50)] = close[start]
    high = close + rng.uniform(0, 1, size).round(2)
    low = close - rng.uniform(0, 1, size).round(2)
    flat = rng.random(size) < 0.15
    high[flat] = close[flat]
    low[flat] = close[flat]
    for start in rng.integers(0, size - 60, 8):
        stop = start + rng.integers(3, 40)
        high[start:stop] = close[start:stop]
        low[start:stop] = close[start:stop]
    volume = rng.integers(0, 1_000, size).astype(np.float64)
    volume[rng.random(size) < 0.1] = 0.0
    return {"open": close.copy(), "high": high, "low": low, "close": close, "volume": volume}


EDGE_CASES: list[tuple[str, dict[str, Any]]] = [
    (name, params)
    for name in ("mfi", "kama", "willr", "stoch", "adx", "dx", "plus_di", "cci", "stddev", "rsi")
    for params in ({}, {"timeperiod": 3} if name != "stoch" else {"fastk_period": 3})
] + [("bbands", {"timeperiod": 5}), ("sar", {}), ("natr", {}), ("aroon", {}), ("wma", {})]


@pytest.mark.parametrize("case", EDGE_CASES, ids=_case_id)
def test_streamed_value_equals_talib_on_flat_and_zero_range_bars(
    case: tuple[str, dict[str, Any]],
) -> None:
    name, params = case
    bars = _adversarial_bars()
    inputs = [bars[column] for column in _TALIB_INPUTS.get(name, ("close",))]
    out = getattr(talib, name.upper())(*inputs, **params)
    batch = np.column_stack(out if isinstance(out, tuple | list) else (out,))
    stream = make_stream(name, **params)
    rows = [
        stream.update(o, h, lo, c, v)
        for o, h, lo, c, v in zip(
            *(bars[key].tolist() for key in ("open", "high", "low", "close", "volume")),
            strict=True,
        )
    ]
    streamed = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    np.testing.assert_allclose(streamed, batch, rtol=1e-9, atol=0, equal_nan=True)
