"""The default catalogue: TA-Lib coverage, parity with TA-Lib itself, bounds and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import talib
from arch.data import sp500
from talib import abstract

from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.indicators import REGISTRY, IndicatorSpec, compute
from quantdesk.indicators.catalog import TALIB_EXCLUDED

FloatArray = npt.NDArray[np.float64]

ALL_TALIB = sorted(set(talib.get_functions()) - TALIB_EXCLUDED)
TAKEN_BY_QUANTDESK = {"VWAP", "SUPERTREND", "DONCHIAN"}
CANDLESTICKS = [name for name in ALL_TALIB if name.startswith("CDL")]
REQUIRED = (
    "SMA", "EMA", "WMA", "DEMA", "TEMA", "KAMA", "T3", "BBANDS", "SAR", "RSI", "MACD", "STOCH",
    "STOCHRSI", "ADX", "PLUS_DI", "MINUS_DI", "CCI", "MFI", "WILLR", "ROC", "MOM", "APO", "PPO",
    "AROON", "ULTOSC", "ATR", "NATR", "TRANGE", "OBV", "AD", "ADOSC", "LINEARREG", "STDDEV",
    "BETA", "CORREL",
)  # fmt: skip


def _registered_name(talib_name: str) -> str:
    lower = talib_name.lower()
    return f"talib_{lower}" if talib_name in TAKEN_BY_QUANTDESK else lower


@pytest.fixture(scope="module")
def bars() -> dict[str, FloatArray]:
    frame = sp500.load()
    return {
        column.lower(): frame[column].to_numpy(float)
        for column in ("Open", "High", "Low", "Close", "Volume")
    }


def test_registry_covers_the_required_functions_and_all_61_candlesticks() -> None:
    for name in REQUIRED:
        assert name.lower() in REGISTRY, name
    assert len(CANDLESTICKS) == 61
    assert REGISTRY.names("pattern") == sorted(name.lower() for name in CANDLESTICKS)


def test_every_talib_function_is_registered_once() -> None:
    talib_specs = {spec.name for spec in REGISTRY.specs() if spec.source == "talib"}
    assert talib_specs == {_registered_name(name) for name in ALL_TALIB}
    assert "mavp" not in REGISTRY
    quantdesk = {spec.name for spec in REGISTRY.specs() if spec.source == "quantdesk"}
    assert quantdesk == {
        "vwap", "avwap", "supertrend", "keltner", "donchian", "ichimoku", "heikin_ashi",
        "pivot_classic", "pivot_fibonacci", "pivot_camarilla",
    }  # fmt: skip


def test_groups_are_normalised() -> None:
    groups = {spec.group for spec in REGISTRY.specs()}
    assert groups == {
        "overlap", "momentum", "volatility", "volume", "price", "statistic", "cycle",
        "math_operator", "math_transform", "pattern",
    }  # fmt: skip
    assert REGISTRY.get("rsi").group == "momentum"
    assert REGISTRY.get("add").group == "math_operator"
    assert REGISTRY.get("sin").group == "math_transform"
    assert REGISTRY.get("avgprice").group == "price"


@pytest.mark.parametrize(
    ("name", "outputs"),
    [
        ("macd", ("macd", "signal", "hist")),
        ("macdext", ("macd", "signal", "hist")),
        ("macdfix", ("macd", "signal", "hist")),
        ("bbands", ("upper", "middle", "lower")),
        ("stoch", ("k", "d")),
        ("stochf", ("k", "d")),
        ("stochrsi", ("k", "d")),
        ("aroon", ("down", "up")),
        ("minmax", ("min", "max")),
        ("minmaxindex", ("minidx", "maxidx")),
        ("mama", ("mama", "fama")),
        ("ht_phasor", ("inphase", "quadrature")),
        ("ht_sine", ("sine", "leadsine")),
        ("accbands", ("upperband", "middleband", "lowerband")),
        ("rsi", ("value",)),
        ("cdlengulfing", ("value",)),
    ],
)
def test_output_names_follow_the_plan(name: str, outputs: tuple[str, ...]) -> None:
    assert REGISTRY.get(name).outputs == outputs


def test_inputs_use_talib_declared_defaults() -> None:
    assert REGISTRY.get("rsi").inputs == ("close",)
    assert REGISTRY.get("beta").inputs == ("high", "low")
    assert REGISTRY.get("correl").inputs == ("high", "low")
    assert REGISTRY.get("obv").inputs == ("close", "volume")
    assert REGISTRY.get("mfi").inputs == ("high", "low", "close", "volume")
    assert REGISTRY.get("cdldoji").inputs == ("open", "high", "low", "close")


def _talib_reference(talib_name: str, bars: dict[str, FloatArray]) -> list[npt.NDArray[Any]]:
    # TA-Lib's abstract API picks the default input series and default parameters itself.
    result = abstract.Function(talib_name)(bars)
    return list(result) if isinstance(result, list | tuple) else [result]


@pytest.mark.parametrize("talib_name", ALL_TALIB)
def test_compute_matches_talib(talib_name: str, bars: dict[str, FloatArray]) -> None:
    spec = REGISTRY.get(_registered_name(talib_name))
    result = compute(spec.name, bars)
    outputs = [result] if isinstance(result, np.ndarray) else [result[o] for o in spec.outputs]
    expected = _talib_reference(talib_name, bars)
    assert len(outputs) == len(expected)
    lookback = spec.lookback(spec.resolve())
    for got, want in zip(outputs, expected, strict=True):
        assert isinstance(got, np.ndarray)
        assert got.dtype == np.float64
        assert got.shape == want.shape
        if want.dtype.kind in "iu":
            # Integer outputs: TA-Lib writes 0 through the lookback, quantdesk NaN.
            assert np.isnan(got[:lookback]).all()
            assert (want[:lookback] == 0).all()
            np.testing.assert_array_equal(got[lookback:], want[lookback:].astype(np.float64))
        else:
            np.testing.assert_allclose(got, want, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize(
    ("name", "params", "call"),
    [
        ("rsi", {"timeperiod": 7}, lambda b: talib.RSI(b["close"], timeperiod=7)),
        (
            "bbands",
            {"timeperiod": 10, "nbdevup": 1.5, "nbdevdn": 2.5, "matype": 1},
            lambda b: talib.BBANDS(b["close"], 10, 1.5, 2.5, 1),
        ),
        ("macd", {"fastperiod": 5, "slowperiod": 35, "signalperiod": 5},
         lambda b: talib.MACD(b["close"], 5, 35, 5)),
        ("stoch", {"fastk_period": 14, "slowd_matype": 1},
         lambda b: talib.STOCH(b["high"], b["low"], b["close"], 14, 3, 0, 3, 1)),
        ("cdlmorningstar", {"penetration": 0.1},
         lambda b: talib.CDLMORNINGSTAR(b["open"], b["high"], b["low"], b["close"], 0.1)),
    ],
)  # fmt: skip
def test_compute_matches_talib_with_non_default_params(
    name: str, params: dict[str, float], call: Any, bars: dict[str, FloatArray]
) -> None:
    spec = REGISTRY.get(name)
    result = compute(name, bars, **params)
    got = [result] if isinstance(result, np.ndarray) else [result[o] for o in spec.outputs]
    want = call(bars)
    want = list(want) if isinstance(want, tuple) else [want]
    lookback = spec.lookback(spec.resolve(params))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g[lookback:], w[lookback:].astype(np.float64))
        assert np.isnan(g[:lookback]).all()


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("sma", {}, 29),  # timeperiod 30
        ("sma", {"timeperiod": 5}, 4),
        ("ema", {"timeperiod": 10}, 9),
        ("rsi", {}, 14),
        ("macd", {}, 33),  # slow 26 - 1 + signal 9 - 1
        ("bbands", {"timeperiod": 5}, 4),
        ("atr", {}, 14),
        ("adx", {}, 27),  # 2 * 14 - 1
        ("stoch", {}, 8),  # 5 - 1 + 3 - 1 + 3 - 1
        ("cdlengulfing", {}, 2),
        ("obv", {}, 0),
        ("supertrend", {}, 10),
        ("keltner", {}, 19),
        ("donchian", {"timeperiod": 5}, 4),
        ("ichimoku", {}, 77),  # 52 - 1 + 26
        ("avwap", {"anchor": 7}, 7),
        ("pivot_classic", {}, 1),
        ("heikin_ashi", {}, 0),
    ],
)
def test_lookback_equals_leading_nans(
    name: str, params: dict[str, int], expected: int, bars: dict[str, FloatArray]
) -> None:
    spec = REGISTRY.get(name)
    assert spec.lookback(spec.resolve(params)) == expected
    result = compute(name, bars, **params)
    arrays = [result] if isinstance(result, np.ndarray) else list(result.values())
    for array in arrays:
        assert isinstance(array, np.ndarray)
        assert np.isnan(array[:expected]).all()
        assert not np.isnan(array[expected])


def _talib_specs() -> list[IndicatorSpec]:
    return [spec for spec in REGISTRY.specs() if spec.source == "talib"]


def _accepted(spec: IndicatorSpec, param: str, value: float) -> bool:
    name = spec.name.removeprefix("talib_").upper()
    params = {**spec.resolve(), param: value}
    arrays = [np.linspace(1.0, 2.0, 8)] * len(spec.inputs)
    try:
        getattr(talib, name)(*arrays, **params)
    except Exception:
        return False
    return True


def test_probed_bounds_are_the_values_talib_accepts() -> None:
    for spec in _talib_specs():
        for param in spec.params:
            if param.kind == "int":
                assert param.minimum is not None
                assert param.maximum is not None
                step = 1.0
            else:
                step = 1e-6
            for bound, outside in ((param.minimum, -step), (param.maximum, step)):
                if bound is None:
                    continue
                assert _accepted(spec, param.name, bound), (spec.name, param.name, bound)
                assert not _accepted(spec, param.name, bound + outside), (spec.name, param.name)


def test_known_bounds() -> None:
    rsi = REGISTRY.get("rsi").params[0]
    assert (rsi.kind, rsi.minimum, rsi.maximum, rsi.default) == ("int", 2, 100000, 14)
    matype = REGISTRY.get("bbands").params[3]
    assert (matype.name, matype.kind, matype.minimum) == ("matype", "int", 0)
    assert matype.maximum is not None
    assert matype.maximum >= 8
    vfactor = REGISTRY.get("t3").params[1]
    assert (vfactor.kind, vfactor.minimum, vfactor.maximum) == ("float", 0.0, 1.0)
    fastlimit = REGISTRY.get("mama").params[0]
    assert (fastlimit.minimum, fastlimit.maximum) == (0.01, 0.99)
    nbdevup = REGISTRY.get("bbands").params[1]
    assert (nbdevup.kind, nbdevup.minimum, nbdevup.maximum) == ("float", None, None)


def test_unknown_param_suggests_the_right_one(bars: dict[str, FloatArray]) -> None:
    with pytest.raises(ValidationError, match=r"rsi\.timeperod") as caught:
        compute("rsi", bars, timeperod=5)
    assert "timeperiod" in str(caught.value)


def test_out_of_bounds_names_the_bound(bars: dict[str, FloatArray]) -> None:
    with pytest.raises(ValidationError, match=r"rsi\.timeperiod.*2\.\.100000"):
        compute("rsi", bars, timeperiod=1)
    with pytest.raises(ValidationError, match=r"mama\.fastlimit.*0\.01\.\.0\.99"):
        compute("mama", bars, fastlimit=1.5)
    with pytest.raises(ValidationError, match=r"supertrend\.multiplier.*0\.01\.\.100"):
        compute("supertrend", bars, multiplier=0)


def test_wrong_param_type_is_rejected(bars: dict[str, FloatArray]) -> None:
    with pytest.raises(ValidationError, match=r"sma\.timeperiod.*whole number"):
        compute("sma", bars, timeperiod=2.5)


def test_too_many_positional_params(bars: dict[str, FloatArray]) -> None:
    with pytest.raises(ValidationError, match=r"rsi.*at most 1"):
        compute("rsi", bars, 14, 3)


def test_positional_params_follow_declaration_order(bars: dict[str, FloatArray]) -> None:
    got = compute("macd", bars, 5, 35, 5)
    assert isinstance(got, dict)
    want = talib.MACD(bars["close"], 5, 35, 5)
    np.testing.assert_array_equal(got["hist"], want[2])


def test_unknown_indicator_suggests_close_names(bars: dict[str, FloatArray]) -> None:
    with pytest.raises(NotFound) as caught:
        compute("rsl", bars)
    assert "rsi" in caught.value.suggestions


def test_names_are_case_insensitive(bars: dict[str, FloatArray]) -> None:
    np.testing.assert_array_equal(
        np.asarray(compute(" RSI ", bars["close"])), talib.RSI(bars["close"], 14)
    )
