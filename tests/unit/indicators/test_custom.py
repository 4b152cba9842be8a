"""quantdesk's own indicators against hand-worked examples, properties and TA-Lib >= 0.6."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import talib
from arch.data import sp500
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.indicators import REGISTRY, compute
from quantdesk.indicators._custom_nb import rolling_max_nb, rolling_min_nb

FloatArray = npt.NDArray[np.float64]
NAN = np.nan


def _run(
    name: str, bars: dict[str, npt.NDArray[np.generic]], **params: float
) -> dict[str, FloatArray]:
    spec = REGISTRY.get(name)
    return spec.compute(bars, spec.resolve(params))


def _arrays(**columns: list[float]) -> dict[str, npt.NDArray[np.generic]]:
    return {name: np.array(values, dtype=np.float64) for name, values in columns.items()}


def _us(*stamps: str) -> npt.NDArray[np.int64]:
    return np.array(
        [
            int(datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp() * 1_000_000)
            for s in stamps
        ],
        dtype=np.int64,
    )


# --- vwap / avwap ---------------------------------------------------------------------------


def test_vwap_hand_worked_and_resets_at_a_new_utc_date() -> None:
    bars = _arrays(
        high=[12, 14, 21, 22], low=[8, 10, 15, 18], close=[10, 12, 18, 20], volume=[100, 300, 0, 50]
    )
    bars["ts"] = _us("2024-01-02T14:30", "2024-01-02T23:59", "2024-01-03T00:00", "2024-01-03T01:00")
    value = _run("vwap", bars)["value"]
    # tp = (h+l+c)/3: 10, 12, 18, 20
    # bar 0: 10*100/100 = 10; bar 1: (1000 + 12*300)/(100+300) = 4600/400 = 11.5
    # bar 2: new UTC date, volume 0 -> NaN; bar 3: 20*50/50 = 20
    np.testing.assert_allclose(value, [10.0, 11.5, NAN, 20.0], rtol=0, atol=1e-12)


def test_vwap_session_is_the_utc_date_not_the_local_date() -> None:
    # 18:00 and 20:00 in New York on 2 Jan are 23:00 on 2 Jan and 01:00 on 3 Jan in UTC.
    index = pd.DatetimeIndex(["2024-01-02 18:00", "2024-01-02 20:00"]).tz_localize(
        "America/New_York"
    )
    frame = pd.DataFrame(
        {"high": [11.0, 31.0], "low": [9.0, 29.0], "close": [10.0, 30.0], "volume": [5.0, 5.0]},
        index=index,
    )
    value = compute("vwap", frame)
    # without the reset bar 1 would be (10*5 + 30*5)/10 = 20; with it, 30
    np.testing.assert_allclose(np.asarray(value), [10.0, 30.0])


def test_avwap_hand_worked_nan_before_anchor() -> None:
    # typical prices (h+l+c)/3 = 10, 20, 30, 40
    bars = _arrays(
        high=[11, 21, 31, 41], low=[9, 19, 29, 39], close=[10, 20, 30, 40], volume=[7, 2, 3, 0]
    )
    value = _run("avwap", bars, anchor=1)["value"]
    # bar 1: 20*2/2 = 20; bar 2: (40 + 30*3)/(2+3) = 130/5 = 26; bar 3: volume 0 -> still 26
    np.testing.assert_allclose(value, [NAN, 20.0, 26.0, 26.0], rtol=0, atol=1e-12)
    assert np.isnan(_run("avwap", bars, anchor=4)["value"]).all()


# --- supertrend ----------------------------------------------------------------------------


def test_supertrend_hand_worked_with_flips() -> None:
    bars = _arrays(
        high=[11, 11, 12, 10, 7, 10],
        low=[9, 9, 10, 6, 5, 8],
        close=[10, 10.5, 11.5, 6.5, 5.5, 9.5],
    )
    out = _run("supertrend", bars, timeperiod=1, multiplier=1.0)
    # ATR(1) is the true range TR_t = max(h-l, |h-c[t-1]|, |l-c[t-1]|), defined from bar 1:
    #   TR = -, 2, 2, 5.5 (|6-11.5|), 2, 4.5 (|10-5.5|); hl2 = -, 10, 11, 8, 6, 9
    # basic upper/lower = hl2 ± TR: (12, 8), (13, 9), (13.5, 2.5), (8, 4), (13.5, 4.5)
    # bar 1: upper 12, lower 8, close 10.5 >= hl2 10 -> +1
    # bar 2: 13 !< 12 and close1 10.5 !> 12 -> upper 12; 9 > 8 -> lower 9; close 11.5 inside -> +1
    # bar 3: upper stays 12, 2.5 !> 9 and close2 11.5 !< 9 -> lower 9; close 6.5 < 9 -> -1
    # bar 4: 8 < 12 -> upper 8; close3 6.5 < 9 -> lower 4; close 5.5 < lower3 9 -> -1
    # bar 5: 13.5 !< 8, close4 5.5 !> 8 -> upper 8; 4.5 > 4 -> lower 4.5; 9.5 > upper4 8 -> +1
    np.testing.assert_allclose(out["upper"], [NAN, 12, 12, 12, 8, 8])
    np.testing.assert_allclose(out["lower"], [NAN, 8, 9, 9, 4, 4.5])
    np.testing.assert_allclose(out["direction"], [NAN, 1, 1, -1, -1, 1])
    np.testing.assert_allclose(out["supertrend"], [NAN, 8, 9, 12, 8, 4.5])


def test_supertrend_direction_follows_a_constructed_trend() -> None:
    up = np.linspace(100.0, 160.0, 40)
    close = np.concatenate([up, up[::-1] - 5.0])
    bars = {"high": close + 1.0, "low": close - 1.0, "close": close}
    direction = _run("supertrend", bars, timeperiod=3, multiplier=2.0)["direction"]
    assert (direction[3:40] == 1).all()
    assert direction[-1] == -1
    flips = np.flatnonzero(np.diff(direction[3:]) != 0)
    assert len(flips) == 1


# --- keltner / donchian --------------------------------------------------------------------


def test_keltner_hand_worked() -> None:
    bars = _arrays(high=[11, 12, 13], low=[9, 10, 11], close=[10, 11, 12.5])
    out = _run("keltner", bars, timeperiod=2, multiplier=2.0, atr_period=1)
    # EMA(2): seed = mean(10, 11) = 10.5 at bar 1; bar 2: 10.5 + 2/3*(12.5 - 10.5) = 71/6
    # ATR(1) = true range: bar 1 max(2, |12-10|, |10-10|) = 2; bar 2 max(2, |13-11|, 0) = 2
    middle = [NAN, 10.5, 71 / 6]
    np.testing.assert_allclose(out["middle"], middle)
    np.testing.assert_allclose(out["upper"], [NAN, 10.5 + 4, 71 / 6 + 4])
    np.testing.assert_allclose(out["lower"], [NAN, 10.5 - 4, 71 / 6 - 4])


def test_keltner_masks_every_output_through_the_longer_lookback() -> None:
    bars = _arrays(high=[11, 12, 13, 14, 15], low=[9, 10, 11, 12, 13], close=[10, 11, 12, 13, 14])
    out = _run("keltner", bars, timeperiod=2, atr_period=3)
    # lookback = max(2 - 1, 3) = 3 although the EMA is defined from bar 1
    for values in out.values():
        assert np.isnan(values[:3]).all()
        assert not np.isnan(values[3:]).any()


def test_donchian_hand_worked() -> None:
    bars = _arrays(high=[1, 3, 2, 5, 4], low=[0, 1, 1, 2, 3])
    out = _run("donchian", bars, timeperiod=3)
    # upper: max(1,3,2)=3, max(3,2,5)=5, max(2,5,4)=5; lower: min(0,1,1)=0, min(1,1,2)=1,
    # min(1,2,3)=1; middle: 1.5, 3, 3
    np.testing.assert_allclose(out["upper"], [NAN, NAN, 3, 5, 5])
    np.testing.assert_allclose(out["lower"], [NAN, NAN, 0, 1, 1])
    np.testing.assert_allclose(out["middle"], [NAN, NAN, 1.5, 3, 3])


prices = st.lists(
    st.floats(min_value=1.0, max_value=1000.0, allow_nan=False), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(values=prices, window=st.integers(min_value=1, max_value=12))
def test_rolling_extremes_bound_the_window(values: list[float], window: int) -> None:
    array = np.array(values)
    highest = rolling_max_nb(array, window)
    lowest = rolling_min_nb(array, window)
    for t in range(len(values)):
        if t < window - 1:
            assert np.isnan(highest[t])
            assert np.isnan(lowest[t])
            continue
        window_values = values[t - window + 1 : t + 1]
        assert all(highest[t] >= v for v in window_values)
        assert all(lowest[t] <= v for v in window_values)
        assert highest[t] in window_values
        assert lowest[t] in window_values


@settings(max_examples=40, deadline=None)
@given(values=prices, spread=st.floats(min_value=0.0, max_value=5.0), window=st.integers(1, 8))
def test_donchian_upper_covers_every_high_in_the_window(
    values: list[float], spread: float, window: int
) -> None:
    close = np.array(values)
    out = _run("donchian", {"high": close + spread, "low": close - spread}, timeperiod=window)
    for t in range(window - 1, len(values)):
        highs = close[t - window + 1 : t + 1] + spread
        lows = close[t - window + 1 : t + 1] - spread
        assert (out["upper"][t] >= highs).all()
        assert (out["lower"][t] <= lows).all()
        assert out["lower"][t] <= out["middle"][t] <= out["upper"][t]


# --- ichimoku ------------------------------------------------------------------------------


def test_ichimoku_hand_worked() -> None:
    high = [10.0 + t for t in range(8)]
    bars = _arrays(high=high, low=[h - 2 for h in high], close=high)
    out = _run("ichimoku", bars, tenkan=2, kijun=3, senkou_b=4, displacement=2)
    # Rising bars: highest high = h_t = 10 + t, lowest low = l_{t-n+1} = 8 + t - n + 1.
    # tenkan(2) = (10+t + 7+t)/2 = 8.5 + t; kijun(3) = (10+t + 6+t)/2 = 8 + t
    # span b(4) = (10+t + 5+t)/2 = 7.5 + t
    # senkou_a_t = (tenkan + kijun)/2 at t-2 = (6.5+t + 6+t)/2 = 6.25 + t
    # senkou_b_t = span b at t-2 = 5.5 + t
    # lookback = max(2, 3, 4) - 1 + 2 = 5
    t = np.arange(8.0)
    lead = t < 5
    np.testing.assert_allclose(out["tenkan"], np.where(lead, NAN, 8.5 + t))
    np.testing.assert_allclose(out["kijun"], np.where(lead, NAN, 8.0 + t))
    np.testing.assert_allclose(out["senkou_a"], np.where(lead, NAN, 6.25 + t))
    np.testing.assert_allclose(out["senkou_b"], np.where(lead, NAN, 5.5 + t))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    t=st.integers(min_value=60, max_value=119),
    displacement=st.integers(min_value=1, max_value=30),
)
def test_ichimoku_cloud_uses_only_data_up_to_t_minus_displacement(
    seed: int, t: int, displacement: int
) -> None:
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(size=120))
    bars = {"high": close + 1.0, "low": close - 1.0, "close": close}
    params = {"tenkan": 5, "kijun": 10, "senkou_b": 20, "displacement": displacement}
    before = _run("ichimoku", bars, **params)
    perturbed = {name: values.copy() for name, values in bars.items()}
    later = slice(t - displacement + 1, None)
    noise = rng.normal(scale=10.0, size=120 - (t - displacement + 1))
    for values in perturbed.values():
        values[later] += noise
    after = _run("ichimoku", perturbed, **params)
    assert after["senkou_a"][t] == before["senkou_a"][t]
    assert after["senkou_b"][t] == before["senkou_b"][t]


# --- heikin-ashi / pivots -------------------------------------------------------------------


def test_heikin_ashi_hand_worked() -> None:
    bars = _arrays(open=[10, 11, 8], high=[12, 13, 8.5], low=[9, 10, 6], close=[11, 12, 7])
    out = _run("heikin_ashi", bars)
    # close = (o+h+l+c)/4: 42/4 = 10.5, 46/4 = 11.5, 29.5/4 = 7.375
    # open: (10+11)/2 = 10.5, (10.5+10.5)/2 = 10.5, (10.5+11.5)/2 = 11
    # high: max(12, 10.5, 10.5) = 12, max(13, 10.5, 11.5) = 13, max(8.5, 11, 7.375) = 11
    # low: min(9, ..) = 9, min(10, 10.5, 11.5) = 10, min(6, 11, 7.375) = 6
    np.testing.assert_allclose(out["close"], [10.5, 11.5, 7.375])
    np.testing.assert_allclose(out["open"], [10.5, 10.5, 11.0])
    np.testing.assert_allclose(out["high"], [12.0, 13.0, 11.0])
    np.testing.assert_allclose(out["low"], [9.0, 10.0, 6.0])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(*(st.floats(min_value=1.0, max_value=100.0) for _ in range(4))),
        min_size=1,
        max_size=40,
    )
)
def test_heikin_ashi_candles_contain_their_body(rows: list[tuple[float, ...]]) -> None:
    raw = np.array(rows)
    # Make each row a valid bar: high is the largest value, low the smallest.
    bars = {
        "open": raw[:, 0],
        "high": raw.max(axis=1),
        "low": raw.min(axis=1),
        "close": raw[:, 3],
    }
    out = _run("heikin_ashi", bars)
    assert (out["high"] >= np.maximum(out["open"], out["close"])).all()
    assert (out["low"] <= np.minimum(out["open"], out["close"])).all()
    assert (out["high"] >= bars["high"]).all()
    assert (out["low"] <= bars["low"]).all()


PIVOT_BARS = {"high": [110.0, 0.0], "low": [90.0, 0.0], "close": [105.0, 0.0]}


def test_pivot_classic_hand_worked() -> None:
    out = _run("pivot_classic", _arrays(**PIVOT_BARS))
    # H=110, L=90, C=105: p = 305/3; r1 = 2p - 90 = 340/3; s1 = 2p - 110 = 280/3
    # r2 = p + 20 = 365/3; s2 = p - 20 = 245/3; r3 = 110 + 2(p - 90) = 400/3
    # s3 = 90 - 2(110 - p) = 220/3
    expected = {"p": 305, "r1": 340, "r2": 365, "r3": 400, "s1": 280, "s2": 245, "s3": 220}
    for name, thirds in expected.items():
        assert np.isnan(out[name][0])
        assert out[name][1] == pytest.approx(thirds / 3, abs=1e-12)


def test_pivot_fibonacci_hand_worked() -> None:
    out = _run("pivot_fibonacci", _arrays(**PIVOT_BARS))
    # p = 305/3; H - L = 20 -> 0.382*20 = 7.64, 0.618*20 = 12.36, 1.0*20 = 20
    p = 305 / 3
    expected = {
        "p": p, "r1": p + 7.64, "r2": p + 12.36, "r3": p + 20,
        "s1": p - 7.64, "s2": p - 12.36, "s3": p - 20,
    }  # fmt: skip
    for name, value in expected.items():
        assert out[name][1] == pytest.approx(value, abs=1e-12)


def test_pivot_camarilla_hand_worked() -> None:
    out = _run("pivot_camarilla", _arrays(**PIVOT_BARS))
    # C = 105, 1.1*(H-L) = 22: /12 = 11/6, /6 = 11/3, /4 = 5.5, /2 = 11
    expected = {
        "p": 305 / 3, "r1": 105 + 11 / 6, "r2": 105 + 11 / 3, "r3": 110.5, "r4": 116.0,
        "s1": 105 - 11 / 6, "s2": 105 - 11 / 3, "s3": 99.5, "s4": 94.0,
    }  # fmt: skip
    for name, value in expected.items():
        assert np.isnan(out[name][0])
        assert out[name][1] == pytest.approx(value, abs=1e-12)


# --- parity with the TA-Lib (>= 0.6) versions that share the plan's definition ---------------


@pytest.fixture(scope="module")
def sp500_bars() -> dict[str, FloatArray]:
    frame = sp500.load()
    return {c.lower(): frame[c].to_numpy(float) for c in ("Open", "High", "Low", "Close", "Volume")}


def test_donchian_matches_talib(sp500_bars: dict[str, FloatArray]) -> None:
    out = _run("donchian", sp500_bars, timeperiod=20)
    upper, middle, lower = talib.DONCHIAN(sp500_bars["high"], sp500_bars["low"], 20)
    np.testing.assert_array_equal(out["upper"], upper)
    np.testing.assert_array_equal(out["lower"], lower)
    np.testing.assert_allclose(out["middle"], middle, rtol=1e-15, equal_nan=True)


def test_supertrend_matches_talib(sp500_bars: dict[str, FloatArray]) -> None:
    b = sp500_bars
    out = _run("supertrend", b, timeperiod=10, multiplier=3.0)
    line, trend = talib.SUPERTREND(b["high"], b["low"], b["close"], 10, 3.0)
    np.testing.assert_allclose(out["supertrend"], line, rtol=1e-15, equal_nan=True)
    np.testing.assert_array_equal(out["direction"][10:], trend[10:].astype(float))


def test_heikin_ashi_matches_talib(sp500_bars: dict[str, FloatArray]) -> None:
    b = sp500_bars
    out = _run("heikin_ashi", b)
    expected = talib.HA(b["open"], b["high"], b["low"], b["close"])
    for name, values in zip(("open", "high", "low", "close"), expected, strict=True):
        np.testing.assert_allclose(out[name], values, rtol=1e-15)


def test_anchored_vwap_from_bar_zero_matches_talib_cumulative_vwap(
    sp500_bars: dict[str, FloatArray],
) -> None:
    b = sp500_bars
    out = _run("avwap", b, anchor=0)["value"]
    np.testing.assert_allclose(
        out, talib.VWAP(b["high"], b["low"], b["close"], b["volume"]), rtol=1e-12
    )
