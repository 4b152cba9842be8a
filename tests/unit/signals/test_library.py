"""The built-in library on the real S&P 500 history (arch.data, 1999-2018)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
import talib
from arch.data import sp500
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import NotFound
from quantdesk.signals import (
    BarArrays,
    CandlestickRule,
    SignalEvent,
    ThresholdRule,
    builtin_rule,
    builtin_rules,
    evaluate_rules,
)


@pytest.fixture(scope="module")
def spx() -> dict[str, Any]:
    frame = sp500.load()
    return {
        "ts": frame.index.to_numpy(),
        "open": frame["Open"].to_numpy(float),
        "high": frame["High"].to_numpy(float),
        "low": frame["Low"].to_numpy(float),
        "close": frame["Close"].to_numpy(float),
        "volume": frame["Volume"].to_numpy(float),
    }


@pytest.fixture(scope="module")
def events(spx: dict[str, Any]) -> list[SignalEvent]:
    return evaluate_rules("^GSPC", spx)


def dates_of(events: list[SignalEvent], rule: str) -> list[date]:
    return [event.ts.date() for event in events if event.rule == rule]


def sign_changes(spx: dict[str, Any], series: np.ndarray, upward: bool) -> list[date]:
    """Dates where ``series`` moves from <= 0 to > 0 (upward) or from >= 0 to < 0."""
    days = spx["ts"].astype("datetime64[D]")
    before, after = series[:-1], series[1:]
    valid = ~np.isnan(before) & ~np.isnan(after)
    hit = valid & ((before <= 0) & (after > 0) if upward else (before >= 0) & (after < 0))
    return [days[i + 1].item() for i in np.nonzero(hit)[0]]


def test_golden_and_death_crosses_match_talib_sma(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    gap = talib.SMA(spx["close"], timeperiod=50) - talib.SMA(spx["close"], timeperiod=200)
    golden = sign_changes(spx, gap, upward=True)
    death = sign_changes(spx, gap, upward=False)
    assert len(golden) >= 5
    assert len(death) >= 5
    assert dates_of(events, "golden_cross") == golden
    assert dates_of(events, "death_cross") == death
    assert all(e.direction == 1 for e in events if e.rule == "golden_cross")
    assert all(e.direction == -1 for e in events if e.rule == "death_cross")


def test_the_2008_crisis_death_cross_is_reported(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    gap = talib.SMA(spx["close"], timeperiod=50) - talib.SMA(spx["close"], timeperiod=200)
    in_crisis = [
        d
        for d in sign_changes(spx, gap, upward=False)
        if date(2007, 7, 1) <= d <= date(2008, 12, 31)
    ]
    assert len(in_crisis) == 1
    crisis_cross = in_crisis[0]
    # The widely reported S&P 500 death cross of the crisis came around the turn of 2007/2008.
    assert date(2007, 11, 1) <= crisis_cross <= date(2008, 2, 29)
    (event,) = [e for e in events if e.rule == "death_cross" and e.ts.date() == crisis_cross]
    sma50 = talib.SMA(spx["close"], timeperiod=50)
    index = int(np.nonzero(spx["ts"].astype("datetime64[D]") == np.datetime64(crisis_cross))[0][0])
    assert event.values["SMA(50)"] == pytest.approx(sma50[index])
    assert "SMA(50) crossed below SMA(200)" in event.explanation


def test_rsi_threshold_events_match_talib_rsi(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    rsi = talib.RSI(spx["close"], timeperiod=14)
    oversold = sign_changes(spx, rsi - 30, upward=False)
    overbought = sign_changes(spx, rsi - 70, upward=True)
    assert dates_of(events, "rsi_oversold") == oversold
    assert dates_of(events, "rsi_overbought") == overbought
    first = next(e for e in events if e.rule == "rsi_oversold")
    assert first.direction == 1
    assert first.values["RSI(14)"] < 30
    assert first.strength == pytest.approx((30 - first.values["RSI(14)"]) / 10)
    assert first.explanation == f"RSI(14) crossed below 30 at {first.values['RSI(14)']:.2f}"


def test_macd_and_bollinger_crosses_match_talib(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    macd, signal, _ = talib.MACD(spx["close"], fastperiod=12, slowperiod=26, signalperiod=9)
    assert dates_of(events, "macd_cross_up") == sign_changes(spx, macd - signal, upward=True)
    assert dates_of(events, "macd_cross_down") == sign_changes(spx, macd - signal, upward=False)
    upper, _, lower = talib.BBANDS(spx["close"], timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    assert dates_of(events, "bollinger_breakout_up") == sign_changes(
        spx, spx["close"] - upper, upward=True
    )
    assert dates_of(events, "bollinger_breakout_down") == sign_changes(
        spx, spx["close"] - lower, upward=False
    )


def test_candlestick_events_follow_talib_output_signs(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    output = talib.CDLENGULFING(spx["open"], spx["high"], spx["low"], spx["close"])
    days = spx["ts"].astype("datetime64[D]")
    expected = [(days[i].item(), 1 if output[i] > 0 else -1) for i in np.nonzero(output)[0]]
    got = [(e.ts.date(), e.direction) for e in events if e.rule == "engulfing"]
    assert got == expected
    assert {e.strength for e in events if e.rule == "engulfing"} == {0.8, 1.0}


def test_doji_points_against_the_prior_trend(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    close = spx["close"]
    days = spx["ts"].astype("datetime64[D]")
    doji = talib.CDLDOJI(spx["open"], spx["high"], spx["low"], close)
    expected = [
        (days[i].item(), -1 if close[i] > close[i - 10] else 1)
        for i in np.nonzero(doji)[0]
        if i >= 10 and close[i] != close[i - 10]
    ]
    assert [(e.ts.date(), e.direction) for e in events if e.rule == "doji"] == expected


PARAMETERS_NAMED = {
    "golden_cross": ("SMA(50)", "SMA(200)"),
    "death_cross": ("SMA(50)", "SMA(200)"),
    "rsi_oversold": ("RSI(14)", "30"),
    "rsi_overbought": ("RSI(14)", "70"),
    "macd_cross_up": ("MACD(12, 26, 9)", "signal(9)"),
    "macd_cross_down": ("MACD(12, 26, 9)", "signal(9)"),
    "bollinger_breakout_up": ("(20, 2)",),
    "bollinger_breakout_down": ("(20, 2)",),
    "bullish_rsi_divergence": ("RSI(14)", "5/5"),
    "bearish_rsi_divergence": ("RSI(14)", "5/5"),
    "bullish_macd_divergence": ("MACD(12, 26, 9)", "5/5"),
    "bearish_macd_divergence": ("MACD(12, 26, 9)", "5/5"),
    "breakout": ("1.5x", "20-bar", "1.5%"),
    "breakdown": ("1.5x", "20-bar", "1.5%"),
    "double_top": ("5/5", "1.5%"),
    "double_bottom": ("5/5", "1.5%"),
    "head_and_shoulders": ("5/5", "3.0%"),
    "inverse_head_and_shoulders": ("5/5", "3.0%"),
    "trendline_break_down": ("5/5",),
    "trendline_break_up": ("5/5",),
}


def test_every_event_is_well_formed_and_names_its_parameters(events: list[SignalEvent]) -> None:
    assert events == sorted(events, key=lambda e: (e.ts, e.rule))
    fired = {e.rule for e in events}
    assert set(PARAMETERS_NAMED) <= fired  # every indicator and pattern rule fires on 20 years
    for event in events:
        assert 0.0 <= event.strength <= 1.0
        assert event.explanation.strip()
        assert event.symbol == "^GSPC"
        assert all(np.isfinite(v) for v in event.values.values())
        for text in PARAMETERS_NAMED.get(event.rule, ("TA-Lib CDL",)):
            assert text in event.explanation, (event.rule, event.explanation)


def test_builtin_rules_are_unique_and_looked_up_by_name() -> None:
    names = [rule.name for rule in builtin_rules()]
    assert len(names) == len(set(names))
    assert set(PARAMETERS_NAMED) <= set(names)
    assert {"engulfing", "hammer", "shooting_star", "morning_star", "evening_star", "doji"} <= set(
        names
    )
    assert all(rule.description for rule in builtin_rules())
    assert builtin_rule("golden_cross").name == "golden_cross"
    with pytest.raises(NotFound, match="golden_cross"):
        builtin_rule("golden_cros")


def test_since_filters_without_changing_events(
    spx: dict[str, Any], events: list[SignalEvent]
) -> None:
    since = datetime(2008, 1, 1, tzinfo=UTC)
    rules = [builtin_rule("death_cross"), builtin_rule("rsi_oversold")]
    later = evaluate_rules("^GSPC", spx, rules=rules, since=since)
    assert later
    assert later == [
        e for e in events if e.rule in {"death_cross", "rsi_oversold"} and e.ts >= since
    ]


def test_user_rules_mix_with_builtin_ones(spx: dict[str, Any]) -> None:
    def sma_gap(bars: BarArrays) -> np.ndarray:
        close = bars["close"]
        return np.asarray((close - talib.SMA(close, timeperiod=20)) / close)

    stretched = ThresholdRule(
        "stretched", sma_gap, 0.05, "above", signal=-1, label="close vs SMA(20)"
    )
    got = evaluate_rules("^GSPC", spx, rules=[stretched, builtin_rule("hammer")])
    assert {e.rule for e in got} == {"stretched", "hammer"}
    with pytest.raises(ValueError, match="TA-Lib candlestick"):
        CandlestickRule("nope", "SMA", "Not a candle")


def test_missing_columns_are_named(spx: dict[str, Any]) -> None:
    close_only = {"ts": spx["ts"], "close": spx["close"]}
    assert evaluate_rules("^GSPC", close_only, rules=[builtin_rule("golden_cross")])
    with pytest.raises(ValueError, match="'open'"):
        evaluate_rules("^GSPC", close_only)


def random_walk(seed: int, n: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    body = close * rng.normal(0, 0.006, n)
    open_ = close - body
    wick = close * rng.uniform(0, 0.01, (2, n))
    return BarArrays(
        {
            "ts": np.datetime64("2015-01-01") + np.arange(n),
            "open": open_,
            "high": np.maximum(open_, close) + wick[0],
            "low": np.minimum(open_, close) - wick[1],
            "close": close,
            "volume": rng.lognormal(12, 0.4, n),
        }
    )


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_lookahead_in_the_library(seed: int) -> None:
    n = 260
    bars = random_walk(seed, n)
    full = evaluate_rules("RW", bars)
    assert full
    # Daily bars without gaps: an event's bar index is its day offset from the first bar.
    event_bars = sorted({(e.ts - bars.timestamp(0)).days for e in full})
    rng = np.random.default_rng(seed)
    sample = rng.choice(event_bars, size=min(12, len(event_bars)), replace=False).tolist()
    cuts = sorted(set(sample) | {0, 100, 201, n - 2})
    for t in cuts:
        cutoff = bars.timestamp(t)
        assert evaluate_rules("RW", bars.head(t + 1)) == [e for e in full if e.ts <= cutoff]
