from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

import quantdesk.signals as signals
from quantdesk.signals import BarArrays, SignalEvent, clip01, to_epoch_us

T0 = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)


def _event(**changes: Any) -> SignalEvent:
    fields: dict[str, Any] = {
        "ts": T0,
        "symbol": "SPY",
        "rule": "rsi_oversold",
        "direction": 1,
        "strength": 0.4,
        "values": {"RSI(14)": 28.7, "level": 30},
        "explanation": "RSI(14) crossed below 30 at 28.70",
    }
    fields.update(changes)
    return SignalEvent(**fields)


def test_event_keeps_its_fields_and_freezes_values() -> None:
    event = _event()
    assert event.ts == T0
    assert event.direction == 1
    assert event.bullish
    assert event.values == {"RSI(14)": 28.7, "level": 30.0}
    assert isinstance(event.values["level"], float)
    with pytest.raises(TypeError):
        event.values["level"] = 1.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.strength = 0.9  # type: ignore[misc]
    assert hash(event) == hash(_event())
    assert event == _event()


def test_event_converts_aware_timestamps_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    event = _event(ts=datetime(2024, 3, 1, 16, 0, tzinfo=eastern))
    assert event.ts == T0
    assert event.ts.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ts": datetime(2024, 3, 1)}, "timezone-aware"),
        ({"strength": 1.01}, "strength"),
        ({"strength": -0.01}, "strength"),
        ({"strength": float("nan")}, "strength"),
        ({"direction": 0}, "direction"),
        ({"direction": 2}, "direction"),
        ({"direction": True}, "direction"),
        ({"values": {"level": float("inf")}}, "values"),
        ({"values": {"level": float("nan")}}, "values"),
        ({"explanation": "  "}, "explanation"),
        ({"rule": ""}, "rule"),
        ({"symbol": ""}, "symbol"),
    ],
)
def test_event_rejects_invalid_fields(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _event(**changes)


def test_event_strength_bounds_are_inclusive() -> None:
    assert _event(strength=0).strength == 0.0
    assert _event(strength=1).strength == 1.0


def test_to_dict_is_json_ready_and_round_trips() -> None:
    event = _event(direction=-1)
    payload = event.to_dict()
    assert payload == {
        "ts": "2024-03-01T21:00:00+00:00",
        "symbol": "SPY",
        "rule": "rsi_oversold",
        "direction": -1,
        "strength": 0.4,
        "values": {"RSI(14)": 28.7, "level": 30.0},
        "explanation": "RSI(14) crossed below 30 at 28.70",
    }
    text = json.dumps(payload)
    assert SignalEvent.from_dict(json.loads(text)) == event


def test_from_dict_names_a_missing_field() -> None:
    payload = _event().to_dict()
    del payload["rule"]
    with pytest.raises(ValueError, match="rule"):
        SignalEvent.from_dict(payload)


def test_clip01() -> None:
    assert [clip01(v) for v in (-1.0, 0.25, 7.0, float("nan"))] == [0.0, 0.25, 1.0, 0.0]


def test_to_epoch_us_accepts_datetime64_ints_and_aware_datetimes() -> None:
    expected = np.array([1_709_251_200_000_000, 1_709_337_600_000_000], dtype=np.int64)
    days = np.array(["2024-03-01", "2024-03-02"], dtype="datetime64[D]")
    assert to_epoch_us(days).tolist() == expected.tolist()
    assert to_epoch_us(expected).tolist() == expected.tolist()
    aware = [
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 2, 1, tzinfo=timezone(timedelta(hours=1))),
    ]
    assert to_epoch_us(np.array(aware, dtype=object)).tolist() == expected.tolist()
    with pytest.raises(ValueError, match="naive"):
        to_epoch_us(np.array([datetime(2024, 3, 1)], dtype=object))
    with pytest.raises(ValueError, match="ts"):
        to_epoch_us(np.array([1.5, 2.5]))


def test_bar_arrays_validates_and_slices() -> None:
    days = np.datetime64("2024-01-01") + np.arange(4)
    bars = BarArrays({"ts": days, "close": [1, 2, 3, 4], "high": [2, 3, 4, 5], "symbol": "AAPL"})
    assert bars.symbol == "AAPL"
    assert bars.bar_count == 4
    assert set(bars) == {"ts", "close", "high"}
    assert bars.close.dtype == np.float64
    assert bars.timestamp(1) == datetime(2024, 1, 2, tzinfo=UTC)
    head = bars.head(2)
    assert head.bar_count == 2
    assert head.close.tolist() == [1.0, 2.0]
    assert head.symbol == "AAPL"
    assert BarArrays.coerce(bars) is bars
    with pytest.raises(ValueError, match="read-only"):
        bars.close[0] = 9.0
    with pytest.raises(ValueError, match="'volume'"):
        bars.column("volume", "detect_breakouts")
    with pytest.raises(KeyError, match="open"):
        bars["open"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"close": [1.0]}, "'ts'"),
        ({"ts": [1, 2]}, "'close'"),
        ({"ts": [2, 1], "close": [1.0, 2.0]}, "increasing"),
        ({"ts": [1, 1], "close": [1.0, 2.0]}, "increasing"),
        ({"ts": [1, 2], "close": [1.0, 2.0, 3.0]}, "'close'"),
    ],
)
def test_bar_arrays_rejects_bad_data(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BarArrays(data)


def test_public_surface_exports_the_signal_api() -> None:
    expected = {
        "BarArrays",
        "CandlestickRule",
        "CrossRule",
        "DetectorRule",
        "Direction",
        "Divergence",
        "DivergenceRule",
        "Level",
        "Pivot",
        "Rule",
        "SeriesFn",
        "SignalEvent",
        "SwingPivots",
        "ThresholdRule",
        "builtin_rule",
        "builtin_rules",
        "clip01",
        "crosses_above",
        "crosses_below",
        "detect_breakouts",
        "detect_double_tops",
        "detect_head_and_shoulders",
        "detect_trendline_breaks",
        "divergence",
        "evaluate_rules",
        "support_resistance_levels",
        "swing_pivots",
        "threshold_cross",
        "to_epoch_us",
    }
    assert expected <= set(signals.__all__)
    assert len(signals.__all__) == len(set(signals.__all__))
    for name in signals.__all__:
        assert hasattr(signals, name), name
