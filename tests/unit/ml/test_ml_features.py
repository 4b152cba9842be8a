"""Point-in-time features: no value at or before t moves when the future changes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ml_fixtures import garbage_bars, synthetic_bars

from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.ml.features import FeatureSpec, IndicatorFeature, build_features, read_bars

SMALL_INDICATORS = (
    IndicatorFeature("rsi_14", "rsi", {"timeperiod": 14}),
    IndicatorFeature("macd_hist", "macd", {}, output="hist", transform="ratio_to_close"),
    IndicatorFeature("atr_14_close", "atr", {"timeperiod": 14}, transform="ratio_to_close"),
    IndicatorFeature("adx_14", "adx", {"timeperiod": 14}),
    IndicatorFeature("bb_percent_b_20", "bbands", {"timeperiod": 20}, transform="percent_b"),
    IndicatorFeature("sma_distance_30", "sma", {"timeperiod": 30}, transform="distance_to_close"),
)
SMALL_SPEC = FeatureSpec(
    return_horizons=(1, 5, 21),
    volatility_windows=(5, 21),
    range_window=10,
    indicators=SMALL_INDICATORS,
    volume_window=10,
    beta_window=30,
    market_volatility_window=10,
    sentiment_window=3,
)
N_BARS = 160
BARS = synthetic_bars(N_BARS, seed=3)
MARKET = synthetic_bars(N_BARS, seed=4)["close"]
SENTIMENT_DATES = pd.date_range(BARS.index[0], BARS.index[-1], freq="D")  # weekends too
SENTIMENT = pd.DataFrame(
    {
        "mean": np.sin(np.arange(len(SENTIMENT_DATES))),
        "count": (np.arange(len(SENTIMENT_DATES)) % 4).astype(float),
        "dispersion": np.full(len(SENTIMENT_DATES), 0.3),
    },
    index=SENTIMENT_DATES.tz_localize(None).date,
)


def _features(bars: pd.DataFrame, market: pd.Series, sentiment: pd.DataFrame, spec: FeatureSpec):
    return build_features(bars, spec, market=market, sentiment=sentiment)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=1, max_value=N_BARS - 2),
    seed=st.integers(min_value=0, max_value=10_000),
    drop=st.booleans(),
    warmup=st.sampled_from(["keep", "drop"]),
)
def test_features_at_or_before_t_ignore_everything_after_t(
    cut: int, seed: int, drop: bool, warmup: str
) -> None:
    spec = FeatureSpec(**{**SMALL_SPEC.__dict__, "warmup": warmup})
    t = BARS.index[cut]
    reference = _features(BARS, MARKET, SENTIMENT, spec).frame
    if drop:
        bars = BARS.loc[:t]
        market = MARKET.loc[:t]
        sentiment = SENTIMENT.loc[[d <= t.date() for d in SENTIMENT.index]]
    else:
        bars = pd.concat([BARS.loc[:t], garbage_bars(BARS.index[cut + 1 :], seed)])
        market = MARKET.copy()
        market.iloc[cut + 1 :] = np.random.default_rng(seed).uniform(1.0, 1e5, N_BARS - cut - 1)
        sentiment = SENTIMENT.copy()
        future = [d > t.date() for d in sentiment.index]
        sentiment.loc[future, "mean"] = 1e9
        sentiment.loc[future, "count"] = 1e6
    corrupted = _features(bars, market, sentiment, spec).frame
    past = reference.loc[:t]
    assert list(corrupted.columns) == list(past.columns)
    np.testing.assert_allclose(
        corrupted.loc[:t].to_numpy(), past.to_numpy(), rtol=0, atol=1e-12, equal_nan=True
    )
    assert corrupted.loc[:t].index.equals(past.index)


def test_parkinson_and_garman_klass_on_three_hand_worked_bars() -> None:
    index = pd.date_range("2024-01-02", periods=3, freq="D", tz="UTC")
    bars = pd.DataFrame(
        {
            "open": [100.0, 102.0, 107.0],
            "high": [105.0, 108.0, 110.0],
            "low": [95.0, 100.0, 104.0],
            "close": [102.0, 107.0, 105.0],
        },
        index=index,
    )
    spec = FeatureSpec(
        return_horizons=(1,),
        volatility_windows=(2,),
        range_window=3,
        indicators=(),
        calendar=False,
        warmup="keep",
    )
    frame = build_features(bars, spec).frame
    # (ln H/L)^2 = 0.0100166987, 0.0059230019, 0.0031460283; (ln C/O)^2 = 0.0003921440,
    # 0.0022901988, 0.0003560197. Parkinson: sqrt(sum / 3 / (4 ln 2)); Garman-Klass:
    # sqrt(mean(0.5 (ln H/L)^2 - (2 ln 2 - 1)(ln C/O)^2)).
    assert frame["parkinson_vol_3"].iloc[2] == pytest.approx(0.04790171038144246, rel=1e-12)
    assert frame["garman_klass_vol_3"].iloc[2] == pytest.approx(0.05281780663882238, rel=1e-12)
    assert frame["parkinson_vol_3"].iloc[:2].isna().all()
    assert frame["garman_klass_vol_3"].iloc[:2].isna().all()


def test_returns_and_realised_volatility_match_pandas() -> None:
    frame = build_features(BARS, FeatureSpec(**{**SMALL_SPEC.__dict__, "warmup": "keep"}))
    close = BARS["close"]
    for horizon in (1, 5, 21):
        expected = np.log1p(close.pct_change(horizon))
        np.testing.assert_allclose(frame.frame[f"ret_{horizon}"], expected, rtol=0, atol=1e-14)
    daily = np.log1p(close.pct_change())
    for window in (5, 21):
        expected = daily.rolling(window).std()
        np.testing.assert_allclose(frame.frame[f"vol_{window}"], expected, rtol=1e-9)


def test_indicator_features_match_talib() -> None:
    frame = build_features(BARS, FeatureSpec(**{**SMALL_SPEC.__dict__, "warmup": "keep"})).frame
    close, high, low = (BARS[c].to_numpy() for c in ("close", "high", "low"))
    np.testing.assert_allclose(frame["rsi_14"], talib.RSI(close, 14), equal_nan=True)
    upper, _, lower = talib.BBANDS(close, 20, 2.0, 2.0)
    np.testing.assert_allclose(
        frame["bb_percent_b_20"], (close - lower) / (upper - lower), equal_nan=True
    )
    np.testing.assert_allclose(
        frame["sma_distance_30"], close / talib.SMA(close, 30) - 1, equal_nan=True
    )
    np.testing.assert_allclose(
        frame["atr_14_close"], talib.ATR(high, low, close, 14) / close, equal_nan=True
    )
    np.testing.assert_allclose(frame["adx_14"], talib.ADX(high, low, close, 14), equal_nan=True)
    np.testing.assert_allclose(frame["macd_hist"], talib.MACD(close)[2] / close, equal_nan=True)


def test_market_context_beta_and_correlation_match_a_window_regression() -> None:
    frame = build_features(BARS, SMALL_SPEC, market=MARKET).frame
    t = BARS.index[120]
    stock = np.diff(np.log(BARS["close"].loc[:t].to_numpy()))[-30:]
    market = np.diff(np.log(MARKET.loc[:t].to_numpy()))[-30:]
    slope = np.polyfit(market, stock, 1)[0]
    assert frame.loc[t, "beta_30"] == pytest.approx(slope, rel=1e-9)
    assert frame.loc[t, "corr_30"] == pytest.approx(np.corrcoef(stock, market)[0, 1], rel=1e-9)
    market_log = np.log(MARKET)
    assert frame.loc[t, "mkt_ret_5"] == pytest.approx(market_log.loc[t] - market_log.shift(5)[t])


def test_market_missing_a_day_uses_its_last_close_before_it() -> None:
    spec = FeatureSpec(
        return_horizons=(1,),
        volatility_windows=(2,),
        range_window=0,
        indicators=(),
        volume_window=0,
        calendar=False,
        market_return_horizons=(1,),
        market_volatility_window=0,
        beta_window=0,
        warmup="keep",
    )
    market = MARKET.drop(MARKET.index[50])
    frame = build_features(BARS, spec, market=market).frame
    assert frame["mkt_ret_1"].iloc[50] == 0.0  # no market move seen on the missing day
    expected = math.log(MARKET.iloc[51] / MARKET.iloc[49])
    assert frame["mkt_ret_1"].iloc[51] == pytest.approx(expected, rel=1e-12)


def test_sentiment_dated_d_reaches_the_first_bar_dated_d_or_later() -> None:
    index = pd.DatetimeIndex(
        ["2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12"], tz="UTC"
    )  # Thu, Fri, Mon, Tue
    bars = pd.Series([100.0, 101.0, 102.0, 101.5], index=index)
    sentiment = pd.DataFrame(
        {
            "date": ["2024-03-06", "2024-03-08", "2024-03-09", "2024-03-10", "2024-03-20"],
            "mean": [0.9, 0.5, 0.2, -0.4, 0.7],
            "count": [1.0, 2.0, 1.0, 3.0, 5.0],
            "dispersion": [0.0, 0.1, 0.0, 0.2, 0.0],
        }
    )
    spec = FeatureSpec(
        return_horizons=(1,),
        volatility_windows=(2,),
        indicators=(),
        calendar=False,
        sentiment_window=2,
        warmup="keep",
    )
    frame = build_features(bars, spec, sentiment=pl.from_pandas(sentiment)).frame
    # Thu 7th gets the 6th's news (first bar on/after it); Fri 8th its own day.
    assert frame["sent_count"].tolist() == [1.0, 2.0, 4.0, 0.0]
    assert frame["sent_mean"].iloc[0] == pytest.approx(0.9)
    assert frame["sent_mean"].iloc[1] == pytest.approx(0.5)
    # Monday pools Saturday (1 x 0.2) and Sunday (3 x -0.4): mean (0.2 - 1.2) / 4 = -0.25;
    # pooled variance = within (3 x 0.2^2) / 4 = 0.03 plus between
    # (1 x 0.45^2 + 3 x 0.15^2) / 4 = 0.0675, so 0.0975.
    assert frame["sent_mean"].iloc[2] == pytest.approx(-0.25)
    assert frame["sent_dispersion"].iloc[2] == pytest.approx(math.sqrt(0.0975))
    assert math.isnan(frame["sent_mean"].iloc[3])  # no news on Tuesday; the 20th is future
    # Two-bar count-weighted mean on Monday: (2 x 0.5 + 4 x -0.25) / 6 = 0.
    assert frame["sent_mean_2"].iloc[2] == pytest.approx(0.0, abs=1e-15)
    assert frame["sent_mean_2"].iloc[3] == pytest.approx(-0.25)


def test_calendar_features() -> None:
    index = pd.DatetimeIndex(
        [
            "2024-01-29",
            "2024-01-30",
            "2024-01-31",
            "2024-02-01",
            "2024-02-02",
            "2024-02-05",
            "2024-02-06",
            "2024-02-07",
        ],
        tz="UTC",
    )
    bars = pd.Series(np.linspace(100, 101, len(index)), index=index)
    spec = FeatureSpec(return_horizons=(1,), volatility_windows=(2,), indicators=(), warmup="keep")
    frame = build_features(bars, spec).frame
    assert frame["day_of_week"].tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert frame["month"].tolist() == [1, 1, 1, 2, 2, 2, 2, 2]
    # Jan 29-31 are the month's last three calendar days; Feb 1, 2, 5 its first three bars.
    assert frame["turn_of_month"].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]


def test_close_only_input_drops_range_and_volume_features_and_says_so() -> None:
    result = build_features(BARS["close"], SMALL_SPEC)
    dropped = dict(result.dropped)
    for name in (
        "parkinson_vol_10",
        "garman_klass_vol_10",
        "atr_14_close",
        "adx_14",
        "log_volume_z_10",
        "volume_adv_10",
    ):
        assert name in dropped
        assert name not in result.names
    assert "rsi_14" in result.names
    assert "high" in dropped["adx_14"]


def test_default_spec_on_full_bars_and_warmup_drop() -> None:
    bars = synthetic_bars(320, seed=9)
    kept = build_features(bars, FeatureSpec(warmup="keep"))
    dropped = build_features(bars)
    assert len(kept.frame) == 320
    assert dropped.warmup_rows == 320 - len(dropped.frame)
    assert np.isfinite(dropped.frame.to_numpy()).all()
    assert not np.isfinite(kept.frame.iloc[dropped.warmup_rows - 1].to_numpy()).all()
    assert dropped.warmup_rows == 199  # SMA(200) is the longest look-back: first at row 199
    assert dropped.frame.index.name == "ts"
    assert str(dropped.frame.index.tz) == "UTC"
    assert dropped.dropped == ()
    assert set(FeatureSpec().to_dict()) >= {"return_horizons", "indicators", "warmup"}


def test_polars_input_gives_the_same_features_as_pandas() -> None:
    columns = {name: BARS[name].to_numpy() for name in BARS.columns}
    frame = pl.DataFrame({"ts": BARS.index.tz_localize(None).to_numpy(), **columns})
    frame = frame.with_columns(pl.col("ts").dt.replace_time_zone("UTC"), symbol=pl.lit("SYN"))
    from_polars = build_features(frame, SMALL_SPEC).frame
    from_pandas = build_features(BARS, SMALL_SPEC).frame
    pd.testing.assert_frame_equal(from_polars, from_pandas)


def test_volume_zero_everywhere_counts_as_absent() -> None:
    bars = BARS.assign(volume=0.0)
    assert "volume" not in read_bars(bars).columns
    assert "log_volume_z_10" in dict(build_features(bars, SMALL_SPEC).dropped)


def test_bad_bars_are_rejected_with_the_row() -> None:
    swapped = BARS.iloc[[0, 2, 1, 3]]
    with pytest.raises(ValidationError) as error:
        read_bars(swapped)
    assert error.value.issues[0].row == 2
    broken = BARS.copy()
    broken.iloc[7, broken.columns.get_loc("close")] = -1.0
    with pytest.raises(ValidationError) as error:
        read_bars(broken)
    assert error.value.issues[0].field == "close"
    assert error.value.issues[0].row == 7
    with pytest.raises(ValidationError, match="close"):
        read_bars(BARS.drop(columns="close"))


def test_bad_specs_are_rejected() -> None:
    with pytest.raises(NotFound):
        build_features(BARS, FeatureSpec(indicators=(IndicatorFeature("x", "no_such_thing"),)))
    with pytest.raises(ValidationError) as error:
        build_features(BARS, FeatureSpec(indicators=(IndicatorFeature("m", "macd", {}),)))
    assert "output" in str(error.value)
    with pytest.raises(ValidationError) as error:
        build_features(BARS, FeatureSpec(volatility_windows=(1,)))
    assert error.value.issues[0].location == "spec.volatility_windows"
    clash = FeatureSpec(indicators=(IndicatorFeature("ret_1", "rsi"),))
    with pytest.raises(ValidationError, match="ret_1"):
        build_features(BARS, clash)
