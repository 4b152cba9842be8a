"""The batch API: numpy, polars and pandas in, the same kind out, with names and index."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
import pytest
import talib
from arch.data import sp500

import quantdesk.indicators as indicators
from quantdesk.core.errors import ValidationError
from quantdesk.indicators import REGISTRY, compute

FloatArray = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return sp500.load().iloc[:400]


@pytest.fixture(scope="module")
def bars(frame: pd.DataFrame) -> dict[str, FloatArray]:
    return {c.lower(): frame[c].to_numpy(float) for c in ("Open", "High", "Low", "Close", "Volume")}


def test_public_surface_is_pinned() -> None:
    assert sorted(indicators.__all__) == sorted(
        [
            "REGISTRY", "IndicatorRegistry", "IndicatorSpec", "Param", "compute",
            "sma", "ema", "wma", "rsi", "macd", "bbands", "atr", "natr", "stoch", "adx", "cci",
            "mfi", "obv", "vwap", "supertrend", "keltner", "donchian", "ichimoku",
            "heikin_ashi", "pivots",
        ]
    )  # fmt: skip


def test_numpy_mapping_in_gives_array_or_dict(bars: dict[str, FloatArray]) -> None:
    rsi = compute("rsi", bars)
    assert isinstance(rsi, np.ndarray)
    np.testing.assert_array_equal(rsi, talib.RSI(bars["close"], 14))
    macd = compute("macd", bars)
    assert isinstance(macd, dict)
    assert list(macd) == ["macd", "signal", "hist"]
    for got, want in zip(macd.values(), talib.MACD(bars["close"], 12, 26, 9), strict=True):
        np.testing.assert_array_equal(got, want)


def test_one_dimensional_array_is_the_close(bars: dict[str, FloatArray]) -> None:
    got = compute("ema", bars["close"], 10)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, talib.EMA(bars["close"], 10))
    as_list_of_ints = np.arange(1, 50)  # integer input is converted to float64
    np.testing.assert_array_equal(
        np.asarray(compute("sma", as_list_of_ints, 3)), talib.SMA(as_list_of_ints.astype(float), 3)
    )


def test_one_dimensional_input_for_multi_input_indicator_is_rejected(
    bars: dict[str, FloatArray],
) -> None:
    with pytest.raises(ValidationError, match=r"atr needs input column\(s\) high, low"):
        compute("atr", bars["close"])


def test_structured_array_in(bars: dict[str, FloatArray]) -> None:
    table = np.zeros(len(bars["close"]), dtype=[(name.upper(), "f8") for name in bars])
    for name, values in bars.items():
        table[name.upper()] = values
    got = compute("atr", table, timeperiod=5)
    np.testing.assert_array_equal(
        np.asarray(got), talib.ATR(bars["high"], bars["low"], bars["close"], 5)
    )


def test_polars_frame_in_gives_frame_with_named_columns(bars: dict[str, FloatArray]) -> None:
    data = pl.DataFrame({name.capitalize(): values for name, values in bars.items()})
    single = compute("rsi", data)
    assert isinstance(single, pl.DataFrame)
    assert single.columns == ["rsi"]
    np.testing.assert_array_equal(single["rsi"].to_numpy(), talib.RSI(bars["close"], 14))
    multi = compute("bbands", data, timeperiod=10)
    assert isinstance(multi, pl.DataFrame)
    assert multi.columns == ["bbands_upper", "bbands_middle", "bbands_lower"]
    assert multi.height == data.height
    upper, _, _ = talib.BBANDS(bars["close"], 10, 2.0, 2.0, 0)
    np.testing.assert_array_equal(multi["bbands_upper"].to_numpy(), upper)


def test_polars_series_in_gives_series(bars: dict[str, FloatArray]) -> None:
    got = compute("sma", pl.Series("close", bars["close"]), timeperiod=4)
    assert isinstance(got, pl.Series)
    assert got.name == "sma"
    np.testing.assert_array_equal(got.to_numpy(), talib.SMA(bars["close"], 4))


def test_pandas_frame_in_keeps_the_index(frame: pd.DataFrame) -> None:
    single = compute("cci", frame)  # columns are Open, High, ... (case-insensitive)
    assert isinstance(single, pd.Series)
    assert single.name == "cci"
    assert single.index.equals(frame.index)
    multi = compute("stoch", frame)
    assert isinstance(multi, pd.DataFrame)
    assert list(multi.columns) == ["stoch_k", "stoch_d"]
    assert multi.index.equals(frame.index)
    k, _ = talib.STOCH(
        frame["High"].to_numpy(float), frame["Low"].to_numpy(float), frame["Close"].to_numpy(float)
    )
    np.testing.assert_array_equal(multi["stoch_k"].to_numpy(), k)


def test_pandas_series_in_keeps_the_index(frame: pd.DataFrame) -> None:
    got = compute("wma", frame["Close"], timeperiod=6)
    assert isinstance(got, pd.Series)
    assert got.index.equals(frame.index)
    assert got.name == "wma"


def test_nan_through_the_lookback(bars: dict[str, FloatArray]) -> None:
    got = np.asarray(compute("rsi", bars["close"], 14))
    assert np.isnan(got[:14]).all()
    assert np.isfinite(got[14:]).all()


def test_too_short_input_is_all_nan(bars: dict[str, FloatArray]) -> None:
    short = {name: values[:20] for name, values in bars.items()}
    spec = REGISTRY.get("macd")
    assert spec.lookback(spec.resolve()) + 1 > 20
    result = compute("macd", short)
    assert isinstance(result, dict)
    for values in result.values():
        assert values.shape == (20,)
        assert np.isnan(values).all()


def test_empty_input_gives_empty_output() -> None:
    empty = np.array([], dtype=np.float64)
    assert np.asarray(compute("rsi", empty)).shape == (0,)
    result = compute("donchian", {"high": empty, "low": empty})
    assert isinstance(result, dict)
    assert all(values.shape == (0,) for values in result.values())


def test_missing_column_names_the_column_and_indicator(frame: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match=r"mfi.*volume") as caught:
        compute("mfi", frame.drop(columns=["Volume"]))
    assert [issue.field for issue in caught.value.issues] == ["volume"]


def test_inputs_of_different_length_are_rejected(bars: dict[str, FloatArray]) -> None:
    with pytest.raises(ValidationError, match="differ in length"):
        compute("beta", {"high": bars["high"], "low": bars["low"][:-1]})


def test_unsupported_data_kind_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unsupported data"):
        compute("rsi", "close")  # type: ignore[arg-type]


# --- session vwap needs bar times ----------------------------------------------------------


def _vwap_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex(["2024-01-02 15:00", "2024-01-02 16:00", "2024-01-03 15:00"])
    return pd.DataFrame(
        {"high": [11.0, 13.0, 21.0], "low": [9.0, 11.0, 19.0], "close": [10.0, 12.0, 20.0],
         "volume": [1.0, 3.0, 2.0]},
        index=index,
    )  # fmt: skip


# typical prices 10, 12, 20: (10*1 + 12*3)/4 = 11.5 on the first day; a new session on the second
VWAP_EXPECTED = [10.0, 11.5, 20.0]


def test_vwap_from_pandas_datetime_index() -> None:
    got = compute("vwap", _vwap_frame())
    assert isinstance(got, pd.Series)
    np.testing.assert_allclose(got.to_numpy(), VWAP_EXPECTED)


def test_vwap_from_polars_ts_column() -> None:
    data = pl.from_pandas(_vwap_frame().reset_index(names="ts"))
    got = compute("vwap", data)
    assert isinstance(got, pl.DataFrame)
    np.testing.assert_allclose(got["vwap"].to_numpy(), VWAP_EXPECTED)


def test_vwap_from_numpy_datetime64_date_column() -> None:
    frame = _vwap_frame()
    data: dict[str, Any] = {c: frame[c].to_numpy() for c in frame.columns}
    data["Date"] = frame.index.to_numpy()
    np.testing.assert_allclose(np.asarray(compute("vwap", data)), VWAP_EXPECTED)


def test_vwap_without_times_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"vwap.*ts"):
        compute("vwap", _vwap_frame().reset_index(drop=True))


# --- convenience functions ------------------------------------------------------------------


CONVENIENCE: dict[str, Callable[..., Any]] = {
    "sma": indicators.sma, "ema": indicators.ema, "wma": indicators.wma,
    "rsi": indicators.rsi, "macd": indicators.macd, "bbands": indicators.bbands,
    "atr": indicators.atr, "natr": indicators.natr, "stoch": indicators.stoch,
    "adx": indicators.adx, "cci": indicators.cci, "mfi": indicators.mfi, "obv": indicators.obv,
    "vwap": indicators.vwap, "supertrend": indicators.supertrend,
    "keltner": indicators.keltner, "donchian": indicators.donchian,
    "ichimoku": indicators.ichimoku, "heikin_ashi": indicators.heikin_ashi,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONVENIENCE))
def test_convenience_defaults_match_the_registry(name: str) -> None:
    signature = inspect.signature(CONVENIENCE[name])
    defaults = {p.name: p.default for p in signature.parameters.values() if p.name != "data"}
    assert defaults == {p.name: p.default for p in REGISTRY.get(name).params}
    assert CONVENIENCE[name].__doc__


def test_convenience_functions_call_compute(frame: pd.DataFrame) -> None:
    close = frame["Close"].to_numpy(float)
    np.testing.assert_array_equal(np.asarray(indicators.rsi(close, 9)), talib.RSI(close, 9))
    bands = indicators.bbands(frame, timeperiod=10, nbdevup=1.0)
    assert isinstance(bands, pd.DataFrame)
    assert list(bands.columns) == ["bbands_upper", "bbands_middle", "bbands_lower"]
    trend = indicators.supertrend(frame, multiplier=2.5)
    assert isinstance(trend, pd.DataFrame)
    assert list(trend.columns) == [
        "supertrend_supertrend", "supertrend_direction", "supertrend_upper", "supertrend_lower"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "levels"),
    [("classic", 7), ("fibonacci", 7), ("camarilla", 9)],
)
def test_pivots_method(frame: pd.DataFrame, method: Any, levels: int) -> None:
    got = indicators.pivots(frame, method=method)
    assert isinstance(got, pd.DataFrame)
    assert got.shape == (len(frame), levels)
    assert got.columns[0] == f"pivot_{method}_p"


def test_pivots_rejects_unknown_method(frame: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match=r"pivots\.method"):
        indicators.pivots(frame, method="woodie")  # type: ignore[arg-type]
