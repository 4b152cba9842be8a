"""Forward labels: hand-worked values, a dead zone, and no label for the last h bars."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.ml.labels import (
    forward_direction,
    forward_realized_variance,
    forward_return,
    forward_sum,
    forward_volatility,
    make_labels,
)

INDEX = pd.bdate_range("2024-01-01", periods=5, tz="UTC")
CLOSE = pd.Series([100.0, 110.0, 121.0, 108.9, 108.9], index=INDEX)  # +10%, +10%, -10%, 0


def test_forward_return_by_hand() -> None:
    one = forward_return(CLOSE, 1)
    expected = [math.log(1.1), math.log(1.1), math.log(0.9), 0.0]
    np.testing.assert_allclose(one.iloc[:4], expected, rtol=1e-12, atol=1e-15)
    assert math.isnan(one.iloc[4])
    two = forward_return(CLOSE, 2)
    np.testing.assert_allclose(two.iloc[:3], [math.log(1.21), math.log(0.99), math.log(0.9)])
    assert two.iloc[3:].isna().all()
    assert one.index.equals(INDEX)


def test_direction_dead_zone_is_nan_not_a_class() -> None:
    close = pd.Series(
        [100.0, 101.0, 100.9, 98.9, 99.0, 99.0],
        index=pd.bdate_range("2024-01-01", periods=6, tz="UTC"),
    )
    # Next-day log returns: +0.995%, -0.099%, -2.00%, +0.101%, 0.
    labels = forward_direction(close, 1, dead_zone=0.005)
    assert labels.iloc[0] == 1.0
    assert math.isnan(labels.iloc[1])
    assert labels.iloc[2] == -1.0
    assert math.isnan(labels.iloc[3])
    assert math.isnan(labels.iloc[4])  # exactly flat
    assert math.isnan(labels.iloc[5])  # no future bar
    no_zone = forward_direction(close, 1)
    assert no_zone.iloc[:4].tolist() == [1.0, -1.0, -1.0, 1.0]


def test_forward_realised_variance_and_volatility_by_hand() -> None:
    r = [math.log(1.1), math.log(1.1), math.log(0.9), 0.0]
    variance = forward_realized_variance(CLOSE, 2)
    np.testing.assert_allclose(
        variance.iloc[:3], [r[0] ** 2 + r[1] ** 2, r[1] ** 2 + r[2] ** 2, r[2] ** 2 + r[3] ** 2]
    )
    assert variance.iloc[3:].isna().all()
    np.testing.assert_allclose(forward_volatility(CLOSE, 2).iloc[:3], np.sqrt(variance.iloc[:3]))
    pd.testing.assert_series_equal(make_labels(CLOSE, "volatility", 2), variance)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 10.0), min_size=2, max_size=40),
    data=st.data(),
)
def test_forward_sum_matches_a_loop_and_never_fills_the_tail(
    values: list[float], data: st.DataObject
) -> None:
    horizon = data.draw(st.integers(1, len(values) - 1))
    series = pd.Series(values, index=pd.bdate_range("2020-01-01", periods=len(values)))
    result = forward_sum(series, horizon)
    n = len(values)
    for t in range(n):
        if t + horizon < n:
            assert result.iloc[t] == pytest.approx(sum(values[t + 1 : t + horizon + 1]), abs=1e-9)
        else:
            assert math.isnan(result.iloc[t])


def test_horizon_out_of_range_names_the_parameter() -> None:
    for horizon in (0, 5, -1):
        with pytest.raises(ValidationError) as error:
            forward_return(CLOSE, horizon)
        assert error.value.issues[0].location == "horizon"
    with pytest.raises(ValidationError) as error:
        forward_direction(CLOSE, 1, dead_zone=-0.1)
    assert error.value.issues[0].location == "dead_zone"
    with pytest.raises(ValidationError) as error:
        make_labels(CLOSE, "nope", 1)  # type: ignore[arg-type]
    assert error.value.issues[0].location == "task"
