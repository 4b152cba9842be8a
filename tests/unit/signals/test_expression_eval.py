"""Evaluation of compiled expressions against independent TA-Lib / numpy / pandas results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
import pytest
import talib
from expression_fixtures import REGISTRY, build_test_registry, spx_bars

from quantdesk.core.errors import ValidationError
from quantdesk.indicators.registry import IndicatorRegistry, ParamValue
from quantdesk.signals.expressions import compile_expression, compile_numeric

Bars = Mapping[str, npt.NDArray[np.generic]]


@pytest.fixture(scope="module")
def bars() -> Bars:
    return spx_bars()


def col(bars: Bars, name: str) -> npt.NDArray[np.float64]:
    return np.asarray(bars[name], dtype=np.float64)


def lagged(values: npt.NDArray[np.float64], bars: int) -> npt.NDArray[np.float64]:
    return np.concatenate([np.full(bars, np.nan), values[:-bars]])


def condition(text: str, bars: Bars) -> npt.NDArray[np.bool_]:
    result = compile_expression(text, REGISTRY).evaluate(bars)
    assert result.dtype == np.bool_
    return result


def series(text: str, bars: Bars) -> npt.NDArray[np.float64]:
    result = compile_numeric(text, REGISTRY).evaluate(bars)
    assert result.dtype == np.float64
    return result


# -- against TA-Lib on the S&P 500 ---------------------------------------------------------------


def test_rsi_threshold_matches_talib(bars: Bars) -> None:
    expected = talib.RSI(col(bars, "close"), 14) < 30
    result = condition("rsi(14) < 30", bars)
    np.testing.assert_array_equal(result, expected)
    assert 20 < result.sum() < 500


def test_macd_cross_matches_an_independent_cross(bars: Bars) -> None:
    macd, signal, _ = talib.MACD(col(bars, "close"), 12, 26, 9)
    above = np.zeros(macd.shape, dtype=bool)
    below = np.zeros(macd.shape, dtype=bool)
    for t in range(1, macd.shape[0]):
        values = (macd[t - 1], signal[t - 1], macd[t], signal[t])
        if np.isnan(values).any():
            continue
        above[t] = macd[t - 1] <= signal[t - 1] and macd[t] > signal[t]
        below[t] = macd[t - 1] >= signal[t - 1] and macd[t] < signal[t]
    np.testing.assert_array_equal(condition("crosses_above(macd.macd, macd.signal)", bars), above)
    np.testing.assert_array_equal(condition("crosses_below(macd().macd, macd.signal)", bars), below)
    assert above.sum() > 50
    assert below.sum() > 50


def test_outputs_sources_and_defaults_match_talib(bars: Bars) -> None:
    close, volume = col(bars, "close"), col(bars, "volume")
    upper, middle, lower = talib.BBANDS(close, 20, 2.0, 2.0, 0)
    np.testing.assert_allclose(series("bbands(20, 2, 2).upper", bars), upper, equal_nan=True)
    np.testing.assert_allclose(series("bbands(20).lower", bars), lower, equal_nan=True)
    np.testing.assert_allclose(series("bbands(20).middle", bars), middle, equal_nan=True)
    np.testing.assert_allclose(series("macd.hist", bars), talib.MACD(close)[2], equal_nan=True)
    np.testing.assert_allclose(series("sma", bars), talib.SMA(close, 30), equal_nan=True)
    np.testing.assert_allclose(series("obv", bars), talib.OBV(close, volume), equal_nan=True)
    np.testing.assert_allclose(
        series("sma(20, source=volume)", bars), talib.SMA(volume, 20), equal_nan=True
    )
    np.testing.assert_allclose(
        series("ema(timeperiod=10)", bars), talib.EMA(close, 10), equal_nan=True
    )


def test_lags(bars: Bars) -> None:
    close = col(bars, "close")
    np.testing.assert_array_equal(series("close[1]", bars), lagged(close, 1))
    np.testing.assert_array_equal(series("close[0]", bars), close)
    np.testing.assert_array_equal(condition("close > close[1]", bars)[1:], close[1:] > close[:-1])
    assert not condition("close > close[1]", bars)[0]
    rsi = talib.RSI(close, 14)
    np.testing.assert_array_equal(series("rsi(14)[3]", bars), lagged(rsi, 3))
    signal = talib.MACD(close)[1]
    # Lagging before selecting the output is the same as after.
    np.testing.assert_array_equal(series("macd[2].signal", bars), lagged(signal, 2))


def test_windows_match_pandas_rolling(bars: Bars) -> None:
    frame = pd.DataFrame({name: col(bars, name) for name in ("high", "low", "close", "volume")})
    np.testing.assert_allclose(
        series("highest(high, 20)", bars), frame["high"].rolling(20).max(), equal_nan=True
    )
    np.testing.assert_allclose(
        series("lowest(low, 5)", bars), frame["low"].rolling(5).min(), equal_nan=True
    )
    np.testing.assert_allclose(
        series("avg_volume(50)", bars), talib.SMA(col(bars, "volume"), 50), equal_nan=True
    )
    np.testing.assert_allclose(
        series("change(close, 5)", bars), frame["close"].diff(5), equal_nan=True
    )
    np.testing.assert_allclose(
        series("pct_change(close, 5)", bars), frame["close"].pct_change(5), equal_nan=True
    )
    breakout = frame["close"] >= frame["high"].rolling(20).max()
    np.testing.assert_array_equal(condition("close >= highest(high, 20)", bars), breakout)


def test_arithmetic_and_elementwise(bars: Bars) -> None:
    open_, high, low, close = (col(bars, name) for name in ("open", "high", "low", "close"))
    expected = (close - talib.SMA(close, 20)) / talib.ATR(high, low, close, 14)
    np.testing.assert_allclose(
        series("(close - sma(20)) / atr(14)", bars), expected, equal_nan=True
    )
    np.testing.assert_allclose(series("close * 2 + 1 - open / 4", bars), close * 2 + 1 - open_ / 4)
    np.testing.assert_allclose(series("-close + -(-3)", bars), -close + 3)
    np.testing.assert_allclose(series("2 - 3 - 4 * 2", bars), np.full(close.shape, -9.0))
    np.testing.assert_allclose(series("abs(close - open)", bars), np.abs(close - open_))
    np.testing.assert_allclose(series("min(open, close)", bars), np.minimum(open_, close))
    np.testing.assert_allclose(series("max(open, close)", bars), np.maximum(open_, close))
    wide = (high - low) / close > 0.03
    np.testing.assert_array_equal(condition("(high - low) / close > 0.03", bars), wide)


def test_boolean_combinations(bars: Bars) -> None:
    close = col(bars, "close")
    rsi, sma = talib.RSI(close, 14), talib.SMA(close, 200)
    expected = (rsi < 30) & (close > sma)
    np.testing.assert_array_equal(condition("rsi(14) < 30 and close > sma(200)", bars), expected)
    either = (rsi < 30) | (close > sma)
    np.testing.assert_array_equal(condition("rsi(14) < 30 or close > sma(200)", bars), either)
    assert condition("true", bars).all()
    assert not condition("false or 1 > 2", bars).any()


# -- NaN handling --------------------------------------------------------------------------------


def nan_bars() -> dict[str, npt.NDArray[np.float64]]:
    close = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 3.0, 6.0])
    return {"close": close, "open": np.array([2.0, 2.0, 2.0, 2.0, 2.0, 4.0, 5.0])}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("close > 1", [False, True, False, True, True, True, True]),
        ("close != 5", [True, True, False, True, False, True, True]),
        # Unknown stays unknown under 'not' (three-valued logic), then reads as False.
        ("not (close > 1)", [True, False, False, False, False, False, False]),
        ("close > 1 or true", [True] * 7),
        ("close > 1 and false", [False] * 7),
        ("close > 1 or false", [False, True, False, True, True, True, True]),
        # 2 -> NaN -> 4 is never a cross; 3 -> 6 crosses open (4 -> 5) from below.
        ("crosses_above(close, open)", [False, False, False, False, False, False, True]),
        ("crosses_below(close, open)", [False, False, False, False, False, True, False]),
        ("close[1] < close", [False, True, False, False, True, False, True]),
    ],
)
def test_nan_never_satisfies_a_comparison(text: str, expected: list[bool]) -> None:
    np.testing.assert_array_equal(condition(text, nan_bars()), np.array(expected))


def test_nan_propagates_through_numbers() -> None:
    data = nan_bars()
    np.testing.assert_array_equal(
        series("highest(close, 2)", data), [np.nan, 2.0, np.nan, np.nan, 5.0, 5.0, 6.0]
    )
    # Division by zero has no value (NaN), so it cannot pass a comparison.
    assert np.isnan(series("close / (open - open)", data)).all()
    assert not condition("close / (open - 2) > 0", data)[:5].any()
    np.testing.assert_array_equal(
        series("pct_change(open - 2, 1)", data)[1:], [np.nan, np.nan, np.nan, np.nan, np.nan, 0.5]
    )


# -- lookback, inputs, caching -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lookback"),
    [
        ("close > 1", 0),
        ("close > sma(200)", 199),  # SMA(200) is first defined at index 199
        ("close > sma(200)[5]", 204),
        ("close[5] > sma(200)", 199),
        ("rsi(14) < 30", 14),  # Wilder's RSI needs 14 changes, i.e. 15 bars
        ("macd.macd > 0", 33),  # EMA(26) from index 25, signal EMA(9) of it 8 bars later
        ("crosses_above(macd.macd, macd.signal)", 34),  # plus the previous bar
        ("highest(high, 20) > close", 19),
        ("change(close, 5) > 0", 5),
        ("highest(sma(10), 5) > 0", 13),
        ("avg_volume(50) > 1", 49),
        ("atr(14) > 1 or obv > 0", 14),
    ],
)
def test_lookback_hand_checked(text: str, lookback: int) -> None:
    assert compile_expression(text, REGISTRY).lookback == lookback


@pytest.mark.parametrize(
    "text",
    [
        "sma(200)",
        "sma(200)[5] - close",
        "rsi(14)",
        "macd.signal",
        "highest(sma(10), 5)",
        "change(rsi(14), 3)",
        "avg_volume(50)",
        "bbands(20).upper[2]",
    ],
)
def test_lookback_is_the_first_defined_bar(text: str, bars: Bars) -> None:
    expression = compile_numeric(text, REGISTRY)
    values = expression.evaluate(bars)
    assert np.isnan(values[: expression.lookback]).all()
    assert not np.isnan(values[expression.lookback])


def test_required_inputs() -> None:
    expression = compile_expression(
        "close > sma(20, source=volume) and atr(14) > 1 and highest(open, 3) > 0", REGISTRY
    )
    assert expression.required_inputs == ("open", "high", "low", "close", "volume")
    assert compile_expression("rsi(14) < 30", REGISTRY).required_inputs == ("close",)
    assert compile_expression("avg_volume(5) > 1", REGISTRY).required_inputs == ("volume",)


def counting_registry(
    calls: list[tuple[str, tuple[tuple[str, ParamValue], ...]]],
) -> IndicatorRegistry:
    registry = IndicatorRegistry()
    for spec in build_test_registry().specs():
        compute = spec.compute

        def counted(inputs, params, compute=compute, name=spec.name):  # type: ignore[no-untyped-def]
            calls.append((name, tuple(params.items())))
            return compute(inputs, params)

        registry.register(replace(spec, compute=counted))
    return registry


def test_each_distinct_indicator_call_is_computed_once(bars: Bars) -> None:
    calls: list[tuple[str, tuple[tuple[str, ParamValue], ...]]] = []
    text = (
        "crosses_above(macd.macd, macd.signal) and macd(12, 26, 9).hist > 0 "
        "and macd(fastperiod=12).signal[1] < 5 and sma(20) > sma(timeperiod=20, source=close) "
        "and sma(20, source=volume) > 0 and rsi(14) < 30 or rsi(14)[1] > 70"
    )
    compile_expression(text, counting_registry(calls)).evaluate(bars)
    assert sorted(name for name, _ in calls) == ["macd", "rsi", "sma", "sma"]


def test_values_at_reports_numeric_sub_expressions(bars: Bars) -> None:
    close = col(bars, "close")
    expression = compile_expression("rsi(14) < 30 and close > sma(200) * 1.05", REGISTRY)
    assert expression.sub_expressions == ("rsi(14)", "close", "sma(200) * 1.05", "sma(200)")
    values = expression.values_at(bars, index=-2)
    assert values["rsi(14)"] == pytest.approx(talib.RSI(close, 14)[-2])
    assert values["close"] == close[-2]
    assert values["sma(200)"] == pytest.approx(talib.SMA(close, 200)[-2])
    assert values["sma(200) * 1.05"] == pytest.approx(talib.SMA(close, 200)[-2] * 1.05)


# -- data forms and data errors ------------------------------------------------------------------


def test_polars_frame_equals_mapping(bars: Bars) -> None:
    frame = pl.DataFrame({name: np.asarray(values) for name, values in bars.items()}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    text = "crosses_above(close, sma(50)) or rsi(14) < 30 and volume > avg_volume(20)"
    expression = compile_expression(text, REGISTRY)
    np.testing.assert_array_equal(expression.evaluate(frame), expression.evaluate(bars))


def test_constant_and_empty_data() -> None:
    assert (
        compile_expression("1 < 2", REGISTRY).evaluate({"close": np.ones(4)}).tolist() == [True] * 4
    )
    empty = compile_expression("close > sma(3)", REGISTRY).evaluate({"close": np.array([])})
    assert empty.shape == (0,)


def test_missing_and_ragged_columns_are_validation_errors() -> None:
    expression = compile_expression("atr(14) > 1", REGISTRY)
    with pytest.raises(ValidationError) as info:
        expression.evaluate({"close": np.ones(20), "high": np.ones(20)})
    assert [(issue.location, issue.field) for issue in info.value.issues] == [("data", "low")]
    with pytest.raises(ValidationError, match="equally long"):
        expression.evaluate({"close": np.ones(20), "high": np.ones(20), "low": np.ones(19)})
    with pytest.raises(TypeError):
        expression.evaluate([1.0, 2.0])  # type: ignore[arg-type]
