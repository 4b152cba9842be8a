"""Turn caller bar data (a mapping of arrays or a polars frame) into plain numpy columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from quantdesk.core.errors import Issue, ValidationError

BarData = Mapping[str, Any] | pl.DataFrame
ColumnArrays = dict[str, npt.NDArray[np.generic]]


def to_columns(
    data: BarData, required: Iterable[str], *, with_ts: bool = False
) -> tuple[ColumnArrays, int]:
    """Return the ``required`` columns (plus ``ts`` when present and asked for) as arrays.

    Parameters
    ----------
    data
        A mapping of equal-length 1-D arrays or a polars ``DataFrame``. Price columns become
        float64; ``ts`` becomes int64 epoch microseconds (from integers or datetimes).
    required
        Column names the expression reads.
    with_ts
        Also return ``ts`` when the data has it.

    Returns
    -------
    tuple[dict[str, numpy.ndarray], int]
        The columns and their common length.

    Raises
    ------
    ValidationError
        When a required column is missing, not 1-D, or the lengths differ.
    TypeError
        When ``data`` is neither a mapping nor a polars ``DataFrame``.
    """
    if isinstance(data, pl.DataFrame):
        available: set[str] = set(data.columns)
    elif isinstance(data, Mapping):
        available = set(data)
    else:
        raise TypeError(
            f"bar data must be a mapping of arrays or a polars DataFrame, not {type(data).__name__}"
        )
    wanted = list(dict.fromkeys(required))
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ValidationError(
            "bar data lacks columns the expression needs",
            [Issue("data", f"missing column {name!r}", field=name) for name in missing],
        )
    if with_ts and "ts" in available and "ts" not in wanted:
        wanted.append("ts")
    columns: ColumnArrays = {}
    for name in wanted:
        raw = data[name]
        column = raw.to_numpy() if isinstance(raw, pl.Series) else np.asarray(raw)
        if column.ndim != 1:
            raise ValidationError(
                "bar data must be one-dimensional",
                [Issue("data", f"column {name!r} has shape {column.shape}", field=name)],
            )
        columns[name] = (
            _timestamps(column) if name == "ts" else column.astype(np.float64, copy=False)
        )
    lengths = {name: column.shape[0] for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValidationError(
            "bar data columns differ in length",
            [Issue("data", f"columns must be equally long, got {shown}")],
        )
    length = next(iter(lengths.values())) if lengths else _length_of(data)
    return columns, length


def _timestamps(column: npt.NDArray[np.generic]) -> npt.NDArray[np.int64]:
    if np.issubdtype(column.dtype, np.datetime64):
        return column.astype("datetime64[us]").astype(np.int64)
    return column.astype(np.int64, copy=False)


def _length_of(data: BarData) -> int:
    if isinstance(data, pl.DataFrame):
        return data.height
    lengths = {np.asarray(value).shape[0] for value in data.values() if np.ndim(value) == 1}
    return lengths.pop() if len(lengths) == 1 else 0
