"""Time-series splits with purging and embargo (López de Prado, *Advances in Financial
Machine Learning*, 2018, ch. 7 and 12).

Samples are bars in time order, at positions ``0 .. n - 1``. The label of sample i covers the
bar window ``[i, i + h]`` (see :mod:`quantdesk.ml.labels`), so a test block of positions
``[a, b)`` has labels spanning ``[a, b - 1 + h]``.

- **Purging** removes every training sample whose label window overlaps the test labels'
  span, with closed intervals (sharing one bar counts): before the block, samples
  ``i >= a - h``; after it (k-fold only), samples ``i <= b - 1 + h``.
- **Embargo** removes ``embargo`` more samples next to the purged ones.

  - :func:`purged_kfold_splits` trains on both sides of each test block; as in López de
    Prado the embargo drops the ``embargo`` samples that follow the purged zone after the
    block, whose features (rolling windows) still overlap the test period.
  - :func:`walk_forward_splits` trains only on the past, so nothing follows a test block
    inside a split and the after-test embargo has nothing to act on; the embargo is applied
    as a gap before the test block instead (scikit-learn's ``TimeSeriesSplit(gap=...)``): the
    last training sample is ``a - h - embargo - 1``. This is the conservative reading: it
    also covers a deployment delay and serial dependence across the boundary.

Walk-forward windows: ``"expanding"`` trains on every eligible sample from position 0;
``"rolling"`` on the last ``train_size`` eligible samples, so every fold trains on exactly
``train_size`` samples. Test blocks are consecutive and non-overlapping: of ``test_size``
bars, ``n_folds`` equal blocks, or calendar periods (``test_frequency="Y"`` for years,
``"Q"``, ``"M"``); the first block starts once ``min_train_size`` training samples exist (at
a period boundary for calendar blocks) and the last one runs to the end of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError

__all__ = ["Fold", "WindowKind", "purged_kfold_splits", "walk_forward_splits"]

IntArray = npt.NDArray[np.int64]
WindowKind = Literal["expanding", "rolling"]


@dataclass(frozen=True, slots=True)
class Fold:
    """One split: training and test sample positions (sorted, int64).

    Attributes
    ----------
    number
        0-based fold number, in time order of the test blocks.
    train, test
        Sample positions.
    purged
        Training samples removed because their label window overlaps the test labels.
    embargoed
        Training samples removed by the embargo.
    """

    number: int
    train: IntArray
    test: IntArray
    purged: int
    embargoed: int

    def as_dict(self, index: pd.Index | None = None) -> dict[str, Any]:
        """Return the fold's sizes and bounds (labels from ``index`` when given)."""

        def label(position: int) -> Any:
            return position if index is None else index[position]

        return {
            "fold": self.number,
            "n_train": int(self.train.size),
            "n_test": int(self.test.size),
            "train_start": label(int(self.train[0])) if self.train.size else None,
            "train_end": label(int(self.train[-1])) if self.train.size else None,
            "test_start": label(int(self.test[0])),
            "test_end": label(int(self.test[-1])),
            "purged": self.purged,
            "embargoed": self.embargoed,
        }


def _whole(issues: list[Issue], name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        issues.append(Issue(name, f"got {value!r}; use a whole number >= {minimum}"))
        return minimum
    return int(value)


def _length(index: pd.Index | int, issues: list[Issue]) -> int:
    if isinstance(index, pd.Index):
        return len(index)
    return _whole(issues, "index", index, 1)


def _raise(issues: list[Issue], message: str) -> None:
    if issues:
        raise ValidationError(message, issues)


def _test_blocks(
    index: pd.Index | int,
    n: int,
    first: int,
    test_size: int | None,
    n_folds: int | None,
    test_frequency: str | None,
) -> list[tuple[int, int]]:
    if test_size is not None:
        return [(start, min(start + test_size, n)) for start in range(first, n, test_size)]
    if n_folds is not None:
        size = (n - first) // n_folds
        if size < 1:
            raise ValidationError(
                "too little history for the splits",
                [Issue("n_folds", f"{n - first} test bars cannot make {n_folds} folds")],
            )
        starts = [first + k * size for k in range(n_folds)]
        return list(zip(starts, [*starts[1:], n], strict=True))
    if not isinstance(index, pd.DatetimeIndex):
        raise ValidationError(
            "test_frequency needs times",
            [Issue("index", "pass the samples' DatetimeIndex to split by calendar period")],
        )
    naive = index.tz_convert(None) if index.tz is not None else index
    try:
        periods = naive.to_period(test_frequency).asi8
    except (TypeError, ValueError) as error:
        raise ValidationError(
            "invalid test_frequency",
            [Issue("test_frequency", f"{test_frequency!r}: {error}; use 'Y', 'Q' or 'M'")],
        ) from None
    boundaries = np.flatnonzero(np.r_[True, periods[1:] != periods[:-1]])
    starts = [int(b) for b in boundaries if b >= first]
    return list(zip(starts, [*starts[1:], n], strict=True))


def walk_forward_splits(
    index: pd.Index | int,
    *,
    horizon: int,
    min_train_size: int,
    test_size: int | None = None,
    n_folds: int | None = None,
    test_frequency: str | None = None,
    window: WindowKind = "expanding",
    train_size: int | None = None,
    embargo: int = 0,
) -> list[Fold]:
    """Return walk-forward folds: train on the purged, embargoed past, test on the next block.

    For a test block ``[a, b)`` the training samples are ``[lo, a - horizon - embargo)``
    with ``lo = 0`` (expanding) or ``a - horizon - embargo - train_size`` (rolling).

    Parameters
    ----------
    index
        The samples' index (a ``DatetimeIndex`` for ``test_frequency``) or their count.
    horizon
        Label horizon h in bars (label window ``[i, i + h]``), >= 1.
    min_train_size
        Training samples the first fold needs, >= 1.
    test_size, n_folds, test_frequency
        Exactly one: bars per test block, number of equal blocks, or a pandas period alias
        (``"Y"``, ``"Q"``, ``"M"``) for calendar blocks.
    window
        ``"expanding"`` or ``"rolling"``.
    train_size
        Rolling window length (defaults to ``min_train_size``; must be >= it).
    embargo
        Extra gap in bars between the purged training set and each test block, >= 0.

    Returns
    -------
    list[Fold]
        Folds in time order.

    Raises
    ------
    ValidationError
        On a bad parameter, or when the data is too short for one fold (the issue says how
        many bars the first fold needs).
    """
    issues: list[Issue] = []
    n = _length(index, issues)
    h = _whole(issues, "horizon", horizon, 1)
    minimum = _whole(issues, "min_train_size", min_train_size, 1)
    gap = _whole(issues, "embargo", embargo, 0)
    chosen = [v is not None for v in (test_size, n_folds, test_frequency)]
    if sum(chosen) != 1:
        issues.append(Issue("test_size", "give exactly one of test_size, n_folds, test_frequency"))
    if test_size is not None:
        test_size = _whole(issues, "test_size", test_size, 1)
    if n_folds is not None:
        n_folds = _whole(issues, "n_folds", n_folds, 1)
    if window not in ("expanding", "rolling"):
        issues.append(Issue("window", f"got {window!r}; use 'expanding' or 'rolling'"))
    size = minimum if train_size is None else _whole(issues, "train_size", train_size, 1)
    if window == "rolling" and size < minimum:
        issues.append(Issue("train_size", f"got {size}; must be >= min_train_size ({minimum})"))
    _raise(issues, "invalid walk-forward split parameters")
    first = minimum + h + gap
    if first >= n:
        raise ValidationError(
            "too little history for the splits",
            [
                Issue(
                    "index",
                    f"has {n} samples; the first test sample needs min_train_size + horizon + "
                    f"embargo = {first} samples before it. Use more history or smaller values",
                )
            ],
        )
    blocks = _test_blocks(index, n, first, test_size, n_folds, test_frequency)
    if not blocks:
        raise ValidationError(
            "too little history for the splits",
            [
                Issue(
                    "test_frequency",
                    f"no whole {test_frequency!r} period starts after the "
                    f"first {first} samples; use more history or a shorter period",
                )
            ],
        )
    folds: list[Fold] = []
    for number, (start, stop) in enumerate(blocks):
        high = start - h - gap
        low = 0 if window == "expanding" else max(0, high - size)
        folds.append(
            Fold(
                number=number,
                train=np.arange(low, high, dtype=np.int64),
                test=np.arange(start, stop, dtype=np.int64),
                purged=h,
                embargoed=gap,
            )
        )
    return folds


def purged_kfold_splits(
    index: pd.Index | int, *, n_splits: int, horizon: int, embargo: int = 0
) -> list[Fold]:
    """Return purged k-fold splits with an after-test embargo (López de Prado ch. 7).

    The samples are cut into ``n_splits`` contiguous test blocks; each fold trains on every
    other sample except those purged (label window overlapping the block's labels, on both
    sides) and the ``embargo`` samples after the purged zone that follows the block. Use it
    for model selection inside a training window; score strategies with
    :func:`walk_forward_splits`, which never trains on the future.

    Parameters
    ----------
    index
        The samples' index or their count.
    n_splits
        Number of folds, >= 2.
    horizon
        Label horizon h in bars, >= 1.
    embargo
        Samples dropped after each test block's purged zone, >= 0.

    Returns
    -------
    list[Fold]
        One fold per block, in time order.

    Raises
    ------
    ValidationError
        On a bad parameter or fewer samples than folds.
    """
    issues: list[Issue] = []
    n = _length(index, issues)
    k = _whole(issues, "n_splits", n_splits, 2)
    h = _whole(issues, "horizon", horizon, 1)
    gap = _whole(issues, "embargo", embargo, 0)
    _raise(issues, "invalid purged k-fold parameters")
    if n < k:
        raise ValidationError(
            "too little history for the splits",
            [Issue("index", f"has {n} samples for {k} folds")],
        )
    edges = np.linspace(0, n, k + 1).astype(np.int64)
    folds: list[Fold] = []
    positions = np.arange(n, dtype=np.int64)
    for number in range(k):
        start, stop = int(edges[number]), int(edges[number + 1])
        before = positions < max(0, start - h)
        purge_end = min(n, stop + h)  # samples start .. stop - 1 + h overlap the test labels
        embargo_end = min(n, purge_end + gap)
        after = positions >= embargo_end
        purged = (start - max(0, start - h)) + (purge_end - stop)
        folds.append(
            Fold(
                number=number,
                train=positions[before | after],
                test=positions[start:stop],
                purged=int(purged),
                embargoed=int(embargo_end - purge_end),
            )
        )
    return folds
