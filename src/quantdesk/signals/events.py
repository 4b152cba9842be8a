"""Signal events and the bar data they are computed from.

:class:`BarArrays` holds one symbol's aligned bar columns (what rules and detectors read);
:class:`SignalEvent` is what they report when a condition holds.

A :class:`SignalEvent` is point in time: the event stamped ``ts`` was computed from bars up to
and including ``ts`` only. A swing pivot that needs ``right`` later bars to be confirmed is
reported at its confirmation bar, never at the pivot bar itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Direction = Literal[1, -1]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def clip01(value: float) -> float:
    """Return ``value`` clipped to the closed interval [0, 1] (NaN maps to 0).

    Parameters
    ----------
    value
        Any float.

    Returns
    -------
    float
        ``min(1, max(0, value))``, or ``0.0`` when ``value`` is NaN.
    """
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


@dataclass(frozen=True, slots=True)
class SignalEvent:
    """One signal: a rule fired for a symbol at a bar, with the numbers behind it.

    ``direction`` is ``1`` for bullish and ``-1`` for bearish; ``strength`` in [0, 1] says how
    strongly the condition held (each rule documents its mapping); ``values`` holds the finite
    numbers behind the event (levels, indicator readings, ratios) and ``explanation`` is one
    sentence a user understands, e.g. ``"RSI(14) crossed below 30 at 28.7"``.
    """

    ts: datetime
    symbol: str
    rule: str
    direction: Direction
    strength: float
    values: Mapping[str, float] = field(hash=False)
    explanation: str

    def __post_init__(self) -> None:
        if not isinstance(self.ts, datetime):
            raise ValueError(f"ts must be a datetime, got {type(self.ts).__name__}")
        if self.ts.tzinfo is None or self.ts.utcoffset() is None:
            raise ValueError("ts must be timezone-aware (UTC)")
        object.__setattr__(self, "ts", self.ts.astimezone(UTC))
        if not self.symbol.strip():
            raise ValueError("symbol must not be empty")
        if not self.rule.strip():
            raise ValueError("rule must not be empty")
        if isinstance(self.direction, bool) or self.direction not in (1, -1):
            raise ValueError(
                f"direction must be 1 (bullish) or -1 (bearish), got {self.direction!r}"
            )
        strength = float(self.strength)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must lie in [0, 1], got {self.strength!r}")
        object.__setattr__(self, "strength", strength)
        frozen: dict[str, float] = {}
        for key, value in self.values.items():
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"values[{key!r}] must be finite, got {value!r}")
            frozen[str(key)] = number
        object.__setattr__(self, "values", MappingProxyType(frozen))
        if not self.explanation.strip():
            raise ValueError("explanation must not be empty")

    @property
    def bullish(self) -> bool:
        """Return whether the event points up."""
        return self.direction == 1

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``ts`` as ISO 8601 UTC text).

        Returns
        -------
        dict
            Keys ``ts``, ``symbol``, ``rule``, ``direction``, ``strength``, ``values`` and
            ``explanation``; every value is a str, int, float or a dict of floats.
        """
        return {
            "ts": self.ts.isoformat(),
            "symbol": self.symbol,
            "rule": self.rule,
            "direction": int(self.direction),
            "strength": self.strength,
            "values": dict(self.values),
            "explanation": self.explanation,
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> SignalEvent:
        """Return the event that :meth:`to_dict` turned into ``payload``.

        Parameters
        ----------
        payload
            A mapping with the keys written by :meth:`to_dict`.

        Returns
        -------
        SignalEvent
            The validated event.

        Raises
        ------
        ValueError
            When a field is missing or invalid.
        """
        try:
            return cls(
                ts=datetime.fromisoformat(str(payload["ts"])),
                symbol=str(payload["symbol"]),
                rule=str(payload["rule"]),
                direction=payload["direction"],
                strength=float(payload["strength"]),
                values=dict(payload["values"]),
                explanation=str(payload["explanation"]),
            )
        except KeyError as missing:
            raise ValueError(f"signal event payload lacks the field {missing}") from None


def check_int(name: str, value: int, minimum: int) -> int:
    """Return ``value`` or raise ``ValueError`` naming ``name`` unless it is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(name: str, value: float, *, maximum: float | None = None) -> float:
    """Return ``value`` or raise ``ValueError`` naming ``name`` unless 0 < value (<= maximum)."""
    number = float(value)
    if not number > 0 or not np.isfinite(number) or (maximum is not None and number > maximum):
        bound = "" if maximum is None else f" and <= {maximum:g}"
        raise ValueError(f"{name} must be a finite number > 0{bound}, got {value!r}")
    return number


def to_epoch_us(ts: Any) -> IntArray:
    """Return timestamps as int64 epoch microseconds (UTC).

    Parameters
    ----------
    ts
        int epoch microseconds, ``datetime64`` values (read as UTC) or timezone-aware
        ``datetime`` objects (any zone; converted to UTC).

    Returns
    -------
    numpy.ndarray
        1-D int64 array.

    Raises
    ------
    ValueError
        For naive datetimes, floats or anything else that is not a timestamp.
    """
    array = np.asarray(ts)
    if array.ndim != 1:
        raise ValueError(f"ts must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind == "M":
        return array.astype("datetime64[us]").astype(np.int64)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind != "O":
        raise ValueError(f"ts must hold datetimes or int epoch microseconds, got {array.dtype}")
    out = np.empty(array.shape[0], dtype=np.int64)
    for i, value in enumerate(array):
        if isinstance(value, np.datetime64):
            out[i] = value.astype("datetime64[us]").astype(np.int64)
        elif isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"ts[{i}] is a naive datetime; use timezone-aware UTC values")
            out[i] = (value - _EPOCH) // _MICROSECOND
        else:
            raise ValueError(f"ts[{i}] is not a timestamp: {value!r}")
    return out


def from_epoch_us(value: int) -> datetime:
    """Return the aware UTC datetime of ``value`` epoch microseconds."""
    return _EPOCH + timedelta(microseconds=int(value))


class BarArrays(Mapping[str, npt.NDArray[Any]]):
    """Aligned bar columns of one symbol, read-only: the data every rule evaluates.

    ``ts`` is int64 epoch microseconds (UTC), strictly increasing; every other column is a
    float64 array of the same length (``open``, ``high``, ``low``, ``close``, ``volume`` and
    any extra series a user rule wants). A ``symbol`` entry, when given, is kept as
    :attr:`symbol` rather than as a column. ``len()`` counts columns; :attr:`bar_count`
    counts bars.
    """

    __slots__ = ("_bar_count", "_columns", "_symbol")

    def __init__(self, data: Mapping[str, Any]) -> None:
        if "ts" not in data:
            raise ValueError("data needs a 'ts' column (datetimes or int epoch microseconds)")
        ts = to_epoch_us(data["ts"])
        if ts.shape[0] > 1 and bool(np.any(np.diff(ts) <= 0)):
            raise ValueError("ts must be strictly increasing")
        ts.setflags(write=False)
        columns: dict[str, npt.NDArray[Any]] = {"ts": ts}
        symbol = data.get("symbol")
        for key, value in data.items():
            if key in ("ts", "symbol"):
                continue
            column = np.array(value, dtype=np.float64)
            if column.shape != ts.shape:
                raise ValueError(
                    f"column {key!r} has shape {column.shape}; expected {ts.shape} like ts"
                )
            column.setflags(write=False)
            columns[key] = column
        if "close" not in columns:
            raise ValueError("data needs a 'close' column")
        self._columns = columns
        self._bar_count = int(ts.shape[0])
        self._symbol = None if symbol is None else str(symbol)

    @classmethod
    def coerce(cls, data: Mapping[str, Any]) -> BarArrays:
        """Return ``data`` itself when it is already a :class:`BarArrays`, else convert it."""
        return data if isinstance(data, BarArrays) else cls(data)

    def __getitem__(self, key: str) -> npt.NDArray[Any]:
        try:
            return self._columns[key]
        except KeyError:
            known = ", ".join(self._columns)
            raise KeyError(f"data has no {key!r} column (columns: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return f"BarArrays(symbol={self._symbol!r}, bars={self._bar_count}, columns={list(self)})"

    @property
    def bar_count(self) -> int:
        """Return the number of bars."""
        return self._bar_count

    @property
    def symbol(self) -> str | None:
        """Return the symbol carried in the data, if any."""
        return self._symbol

    @property
    def ts(self) -> IntArray:
        """Return the bar timestamps as int64 epoch microseconds."""
        return self._columns["ts"]

    def column(self, name: str, needed_by: str = "") -> FloatArray:
        """Return the float column ``name`` or raise ``ValueError`` saying who needs it."""
        if name not in self._columns:
            who = f"; {needed_by} needs it" if needed_by else ""
            raise ValueError(f"data has no {name!r} column{who}")
        return self._columns[name]

    @property
    def close(self) -> FloatArray:
        """Return the closes."""
        return self._columns["close"]

    def timestamp(self, index: int) -> datetime:
        """Return the aware UTC datetime of bar ``index``."""
        return from_epoch_us(int(self.ts[index]))

    def head(self, count: int) -> BarArrays:
        """Return the first ``count`` bars (what was known at bar ``count - 1``)."""
        data: dict[str, Any] = {key: value[:count] for key, value in self._columns.items()}
        if self._symbol is not None:
            data["symbol"] = self._symbol
        return BarArrays(data)
