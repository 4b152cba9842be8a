"""Streaming indicators: API, snapshot/restore, the engine, parameter errors and properties."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from arch.data import sp500
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.indicators.streaming import (
    BbandsStream,
    DonchianStream,
    EmaStream,
    MacdStream,
    RsiStream,
    StreamingEngine,
    StreamingIndicator,
    make_stream,
    restore_stream,
    stream_names,
)
from quantdesk.indicators.streaming._cores import fma

FloatArray = npt.NDArray[np.float64]
Bar = tuple[float, float, float, float, float, int]

EXPECTED_NAMES = {
    "ad", "adosc", "adx", "aroon", "aroonosc", "atr", "bbands", "cci", "dema", "donchian", "dx",
    "ema", "kama", "keltner", "macd", "mfi", "minus_di", "mom", "natr", "obv", "plus_di", "roc",
    "rsi", "sar", "sma", "stddev", "stoch", "supertrend", "tema", "trange", "vwap", "willr", "wma",
}  # fmt: skip


@cache
def _bars() -> tuple[Bar, ...]:
    frame = sp500.load()
    ts = frame.index.values.astype("datetime64[us]").astype(np.int64).tolist()
    columns = [frame[name].to_numpy(float).tolist() for name in ("Open", "High", "Low", "Close")]
    volume = frame["Volume"].to_numpy(float).tolist()
    return tuple(zip(*columns, volume, ts, strict=True))


def _run(stream: StreamingIndicator, bars: tuple[Bar, ...]) -> FloatArray:
    rows = [stream.update(*bar) for bar in bars]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)


# ------------------------------------------------------------------------------------ the API


def test_every_planned_indicator_is_available() -> None:
    assert set(stream_names()) >= EXPECTED_NAMES


def test_make_stream_accepts_any_case_and_talib_parameter_names() -> None:
    stream = make_stream(" RSI ", timeperiod=9)
    assert isinstance(stream, RsiStream)
    assert stream.params == {"timeperiod": 9}
    assert make_stream("bbands").params == {
        "timeperiod": 20,
        "nbdevup": 2.0,
        "nbdevdn": 2.0,
        "matype": 0,
    }


def test_single_output_returns_floats_and_warms_up_for_the_lookback() -> None:
    stream = make_stream("sma", timeperiod=3)
    assert stream.outputs == ("value",)
    assert stream.lookback == 2
    assert math.isnan(stream.update(open=1.0, high=1.0, low=1.0, close=1.0, volume=0.0))
    assert not stream.ready
    assert math.isnan(stream.update(1.0, 2.0, 1.0, 2.0, 0.0))
    assert stream.update(1.0, 6.0, 1.0, 6.0, 0.0) == pytest.approx(3.0)
    assert stream.ready
    assert stream.value == pytest.approx(3.0)
    assert stream.bars == 3


def test_multi_output_returns_tuples_in_registry_order() -> None:
    macd = make_stream("macd", fastperiod=2, slowperiod=3, signalperiod=2)
    assert macd.outputs == ("macd", "signal", "hist")
    values = [macd.update(0.0, 0.0, 0.0, float(x), 0.0) for x in (1, 3, 2, 5, 4, 6)]
    assert all(isinstance(value, tuple) and len(value) == 3 for value in values)
    assert all(math.isnan(item) for item in values[2])  # lookback = 3 - 1 + 2 - 1 = 3
    line, signal, hist = values[-1]
    assert hist == pytest.approx(line - signal)
    assert make_stream("bbands").outputs == ("upper", "middle", "lower")
    assert make_stream("stoch").outputs == ("k", "d")
    assert make_stream("aroon").outputs == ("down", "up")
    assert make_stream("supertrend").outputs == ("supertrend", "direction", "upper", "lower")


def test_hand_worked_ema_seeds_with_the_sma_then_smooths() -> None:
    ema = EmaStream(timeperiod=3)
    outputs = [ema.update(0.0, 0.0, 0.0, x, 0.0) for x in (2.0, 4.0, 6.0, 8.0)]
    assert math.isnan(outputs[0])
    assert math.isnan(outputs[1])
    assert outputs[2] == 4.0  # (2 + 4 + 6) / 3
    assert outputs[3] == 6.0  # 4 + (8 - 4) * 2/4


def test_vwap_needs_the_bar_time() -> None:
    with pytest.raises(ValueError, match="ts"):
        make_stream("vwap").update(1.0, 1.0, 1.0, 1.0, 1.0)


def test_lookback_matches_the_number_of_leading_nans() -> None:
    bars = _bars()[:300]
    for name in sorted(EXPECTED_NAMES):
        stream = make_stream(name)
        values = _run(stream, bars)
        first_defined = int(np.argmax(~np.isnan(values).any(axis=1)))
        assert first_defined == stream.lookback, name


# ---------------------------------------------------------------------------- snapshot/restore

SNAPSHOT_CASES: list[tuple[str, dict[str, Any]]] = [(name, {}) for name in sorted(EXPECTED_NAMES)]
SNAPSHOT_CASES += [
    ("wma", {"timeperiod": 9}),
    ("kama", {"timeperiod": 5}),
    ("bbands", {"timeperiod": 10, "matype": 3, "nbdevup": 1.0, "nbdevdn": 3.0}),
    ("stoch", {"slowk_matype": 4, "slowd_matype": 6}),
    ("stddev", {"timeperiod": 3}),
    ("macd", {"signalperiod": 1}),
]


@pytest.mark.parametrize(
    ("name", "params"),
    SNAPSHOT_CASES,
    ids=[name + "".join(f"-{k}={v}" for k, v in p.items()) for name, p in SNAPSHOT_CASES],
)
@pytest.mark.parametrize("stop", [2000, 3])
def test_restored_snapshot_continues_bit_identically(
    name: str, params: dict[str, Any], stop: int
) -> None:
    bars = _bars()
    expected = _run(make_stream(name, **params), bars)

    first = make_stream(name, **params)
    head = _run(first, bars[:stop])
    text = json.dumps(first.snapshot(), allow_nan=False)
    snapshot = json.loads(text)
    assert snapshot["kind"] == name
    assert snapshot["version"] == 1
    restored = StreamingIndicator.restore(snapshot)
    assert type(restored) is type(first)
    assert restored.value == first.value or (
        np.isnan(np.asarray(restored.value)).all() and np.isnan(np.asarray(first.value)).all()
    )
    tail = _run(restored, bars[stop:])
    assert np.concatenate([head, tail]).tobytes() == expected.tobytes()


def test_restore_on_a_subclass_checks_the_kind() -> None:
    snapshot = json.loads(json.dumps(make_stream("ema").snapshot()))
    assert isinstance(EmaStream.restore(snapshot), EmaStream)
    assert isinstance(restore_stream(snapshot), EmaStream)
    with pytest.raises(ValidationError, match="not a RsiStream"):
        RsiStream.restore(snapshot)


def test_restore_rejects_broken_snapshots() -> None:
    snapshot = make_stream("rsi").snapshot()
    with pytest.raises(ValidationError, match="version"):
        restore_stream({**snapshot, "version": 99})
    with pytest.raises(NotFound) as caught:
        restore_stream({**snapshot, "kind": "rsx"})
    assert "rsi" in caught.value.suggestions
    state = dict(snapshot["state"])
    del state["_gain"]
    with pytest.raises(ValidationError, match="_gain"):
        restore_stream({**snapshot, "state": state})


def test_engine_runs_named_indicators_and_restores_bit_identically() -> None:
    bars = _bars()

    def build() -> StreamingEngine:
        engine = StreamingEngine()
        engine.add("rsi_14", "rsi", timeperiod=14)
        engine.add("macd", "macd")
        engine.add("bb", "bbands", timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
        engine.add("st", "supertrend", timeperiod=10, multiplier=3.0)
        engine.add("vwap", "vwap")
        return engine

    def run(engine: StreamingEngine, part: tuple[Bar, ...]) -> list[dict[str, Any]]:
        return [engine.update(*bar) for bar in part]

    expected = run(build(), bars)
    engine = build()
    assert list(engine) == ["rsi_14", "macd", "bb", "st", "vwap"]
    head = run(engine, bars[:2000])
    restored = StreamingEngine.restore(json.loads(json.dumps(engine.snapshot(), allow_nan=False)))
    assert restored.values().keys() == engine.values().keys()
    got = head + run(restored, bars[2000:])
    assert json.dumps(got) == json.dumps(expected)  # NaN-aware, exact repr of every float
    assert isinstance(got[-1]["macd"], tuple)
    assert isinstance(got[-1]["rsi_14"], float)
    assert "rsi_14" in restored
    assert len(restored) == 5
    assert isinstance(restored["bb"], BbandsStream)


def test_engine_rejects_duplicate_keys_and_unknown_names() -> None:
    engine = StreamingEngine()
    engine.add("fast", "ema", timeperiod=5)
    with pytest.raises(ValidationError, match="already in use"):
        engine.add("fast", "ema", timeperiod=8)
    with pytest.raises(NotFound):
        engine.add("slow", "emma")
    engine.remove("fast")
    assert len(engine) == 0
    with pytest.raises(NotFound):
        engine.remove("fast")
    with pytest.raises(ValidationError):
        StreamingEngine.restore({"kind": "rsi", "version": 1})


# ------------------------------------------------------------------------------------ errors


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(NotFound) as caught:
        make_stream("rsx")
    assert "rsi" in caught.value.suggestions
    with pytest.raises(NotFound) as caught:
        make_stream("bbnads")
    assert "bbands" in caught.value.suggestions


@pytest.mark.parametrize(
    ("name", "params", "location"),
    [
        ("rsi", {"timeperiod": 1}, "rsi.timeperiod"),
        ("adx", {"timeperiod": 1}, "adx.timeperiod"),
        ("sma", {"timeperiod": 0}, "sma.timeperiod"),
        ("ema", {"timeperiod": 100_001}, "ema.timeperiod"),
        ("atr", {"timeperiod": 0}, "atr.timeperiod"),
        ("macd", {"fastperiod": 1}, "macd.fastperiod"),
        ("macd", {"signalperiod": 0}, "macd.signalperiod"),
        ("rsi", {"timeperiod": 14.5}, "rsi.timeperiod"),
        ("rsi", {"timeperiod": True}, "rsi.timeperiod"),
        ("rsi", {"timeperiod": "14"}, "rsi.timeperiod"),
        ("bbands", {"nbdevup": float("nan")}, "bbands.nbdevup"),
        ("bbands", {"nbdevdn": float("inf")}, "bbands.nbdevdn"),
        ("bbands", {"matype": 5}, "bbands.matype"),
        ("bbands", {"matype": 9}, "bbands.matype"),
        ("stoch", {"slowd_matype": 7}, "stoch.slowd_matype"),
        ("sar", {"acceleration": -0.01}, "sar.acceleration"),
        ("supertrend", {"multiplier": float("nan")}, "supertrend.multiplier"),
        ("supertrend", {"multiplier": 0.0}, "supertrend.multiplier"),
        ("keltner", {"timeperiod": 1}, "keltner.timeperiod"),
        ("donchian", {"timeperiod": 0}, "donchian.timeperiod"),
        ("rsi", {"period": 14}, "rsi.period"),
    ],
)
def test_bad_parameters_name_the_indicator_and_parameter(
    name: str, params: dict[str, Any], location: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_stream(name, **params)
    assert [issue.location for issue in caught.value.issues] == [location]


def test_unknown_parameter_suggests_the_talib_name() -> None:
    with pytest.raises(ValidationError, match="did you mean timeperiod"):
        make_stream("rsi", time_period=14)


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ValidationError, match=r"macd\.slowperiod"):
        MacdStream(slowperiod=1)


# -------------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=120),
    window=st.integers(min_value=1, max_value=40),
)
def test_donchian_rolling_extremes_equal_numpy(values: list[int], window: int) -> None:
    high = np.asarray(values, dtype=np.float64)
    low = high - np.abs(high[::-1]) / 7.0
    stream = DonchianStream(timeperiod=window)
    got = np.array([stream.update(0.0, h, lo, 0.0, 0.0) for h, lo in zip(high, low, strict=True)])
    for t in range(len(high)):
        if t < window - 1:
            assert np.isnan(got[t]).all()
        else:
            upper, lower = high[t - window + 1 : t + 1].max(), low[t - window + 1 : t + 1].min()
            assert (got[t, 0], got[t, 2]) == (upper, lower)
            assert got[t, 1] == (upper + lower) / 2


def test_fma_rounds_once_like_c() -> None:
    rng = random.Random(5)
    for _ in range(20_000):
        a = rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 12)
        b = rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 4)
        c = rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 16)
        if rng.random() < 0.3:
            c = -a * b  # heavy cancellation: the case a separate multiply and add gets wrong
        exact = float(Fraction(a) * Fraction(b) + Fraction(c))
        assert fma(a, b, c) == exact
