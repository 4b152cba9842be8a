"""Walk-forward and purged k-fold splits: purging, embargo and window sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.ml.splits import purged_kfold_splits, walk_forward_splits


def test_walk_forward_example_by_hand() -> None:
    folds = walk_forward_splits(20, horizon=2, min_train_size=5, test_size=5, embargo=1)
    # First test sample: 5 train + 2 purged + 1 embargoed = position 8.
    assert [(f.test[0], f.test[-1]) for f in folds] == [(8, 12), (13, 17), (18, 19)]
    assert [(f.train[0], f.train[-1]) for f in folds] == [(0, 4), (0, 9), (0, 14)]
    assert all(f.purged == 2 and f.embargoed == 1 for f in folds)
    rolling = walk_forward_splits(
        20, horizon=2, min_train_size=5, test_size=5, embargo=1, window="rolling"
    )
    assert [(f.train[0], f.train[-1]) for f in rolling] == [(0, 4), (5, 9), (10, 14)]


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(20, 400),
    horizon=st.integers(1, 10),
    embargo=st.integers(0, 10),
    min_train=st.integers(1, 60),
    test_size=st.integers(1, 50),
    rolling=st.booleans(),
    extra=st.integers(0, 40),
)
def test_walk_forward_properties(
    n: int, horizon: int, embargo: int, min_train: int, test_size: int, rolling: bool, extra: int
) -> None:
    window = "rolling" if rolling else "expanding"
    train_size = min_train + extra
    first = min_train + horizon + embargo
    if first >= n:
        with pytest.raises(ValidationError) as error:
            walk_forward_splits(
                n, horizon=horizon, min_train_size=min_train, test_size=test_size, embargo=embargo
            )
        assert error.value.issues[0].location == "index"
        return
    folds = walk_forward_splits(
        n,
        horizon=horizon,
        min_train_size=min_train,
        test_size=test_size,
        window=window,
        train_size=train_size,
        embargo=embargo,
    )
    tests = np.concatenate([f.test for f in folds])
    assert tests.tolist() == list(range(first, n))  # contiguous, disjoint, to the end
    for number, fold in enumerate(folds):
        a, b = int(fold.test[0]), int(fold.test[-1]) + 1
        # Purging: no training label window [i, i + h] meets the test labels [a, b - 1 + h].
        assert not np.any((fold.train + horizon >= a) & (fold.train <= b - 1 + horizon))
        # Embargo: nothing in the gap of `embargo` samples before the purged zone.
        assert not np.any((fold.train >= a - horizon - embargo) & (fold.train < a))
        assert fold.train.max() == a - horizon - embargo - 1
        assert np.all(np.diff(fold.train) == 1)
        if window == "expanding":
            assert fold.train[0] == 0
            if number:
                assert fold.train.size == folds[number - 1].train.size + test_size
        else:
            assert fold.train.size == min(train_size, a - horizon - embargo)
            assert fold.train.size >= min_train


def test_walk_forward_by_calendar_year() -> None:
    index = pd.bdate_range("2010-01-01", "2013-12-31", tz="UTC")
    folds = walk_forward_splits(index, horizon=5, min_train_size=250, test_frequency="Y", embargo=5)
    assert [index[f.test[0]].year for f in folds] == [2011, 2012, 2013]
    assert all(index[f.test].year.nunique() == 1 for f in folds)
    assert index[folds[-1].test[-1]] == index[-1]
    first_2011 = int(np.argmax(index.year == 2011))
    assert folds[0].train[-1] == first_2011 - 5 - 5 - 1


def test_n_folds_splits_the_remainder() -> None:
    folds = walk_forward_splits(100, horizon=1, min_train_size=9, n_folds=3)
    assert [f.test.size for f in folds] == [30, 30, 30]


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(10, 300),
    k=st.integers(2, 8),
    horizon=st.integers(1, 8),
    embargo=st.integers(0, 8),
)
def test_purged_kfold_properties(n: int, k: int, horizon: int, embargo: int) -> None:
    folds = purged_kfold_splits(n, n_splits=k, horizon=horizon, embargo=embargo)
    assert np.concatenate([f.test for f in folds]).tolist() == list(range(n))
    for fold in folds:
        a, b = int(fold.test[0]), int(fold.test[-1]) + 1
        train = fold.train
        assert not np.intersect1d(train, fold.test).size
        overlap = (train + horizon >= a) & (train <= b - 1 + horizon)
        assert not overlap.any()
        # After the block: nothing until purge (h) + embargo samples have passed.
        after = train[train >= b]
        if after.size:
            assert after[0] == b + horizon + embargo
        expected_embargo = max(0, min(n, b + horizon + embargo) - min(n, b + horizon))
        assert fold.embargoed == expected_embargo
        assert train.size + fold.test.size + fold.purged + fold.embargoed == n


def test_bad_parameters_are_named() -> None:
    cases = [
        ({"horizon": 0}, "horizon"),
        ({"embargo": -1}, "embargo"),
        ({"window": "sliding"}, "window"),
        ({"test_size": None}, "test_size"),
        ({"window": "rolling", "train_size": 5}, "train_size"),
    ]
    for change, location in cases:
        arguments = {"horizon": 1, "min_train_size": 10, "test_size": 5, **change}
        with pytest.raises(ValidationError) as error:
            walk_forward_splits(100, **arguments)  # type: ignore[arg-type]
        assert location in [issue.location for issue in error.value.issues]
    with pytest.raises(ValidationError) as error:
        walk_forward_splits(100, horizon=1, min_train_size=10, test_frequency="Y")
    assert error.value.issues[0].location == "index"
    with pytest.raises(ValidationError) as error:
        purged_kfold_splits(3, n_splits=5, horizon=1)
    assert error.value.issues[0].location == "index"
