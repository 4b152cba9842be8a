"""Build streaming indicators by name and run a named set of them over one instrument's bars."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.indicators.streaming import custom, directional, momentum, overlap, volume
from quantdesk.indicators.streaming._base import (
    SNAPSHOT_VERSION,
    Output,
    StreamingIndicator,
    kinds,
    resolve_params,
)

# The modules define the indicators; importing them registers every kind.
_MODULES = (overlap, momentum, directional, volume, custom)


def stream_names() -> list[str]:
    """Return the names :func:`make_stream` accepts, sorted."""
    return sorted(kinds())


def stream_class(name: str) -> type[StreamingIndicator]:
    """Return the streaming class registered as ``name`` (any case).

    Raises
    ------
    NotFound
        If no streaming indicator has that name; ``suggestions`` lists close matches.
    """
    key = name.strip().lower()
    available = kinds()
    cls = available.get(key)
    if cls is None:
        matches = difflib.get_close_matches(key, list(available), n=3, cutoff=0.6)
        raise NotFound(f"unknown streaming indicator {name!r}", suggestions=matches)
    return cls


def make_stream(name: str, **params: Any) -> StreamingIndicator:
    """Return a fresh streaming indicator by registry name with TA-Lib parameter names.

    Parameters
    ----------
    name
        Lower-case registry name (``rsi``, ``macd``, ``bbands``, ``vwap``, ...), any case.
    **params
        Parameters by their TA-Lib names (``timeperiod``, ``fastperiod``, ``nbdevup``, ...);
        missing ones take TA-Lib's defaults.

    Returns
    -------
    StreamingIndicator
        The indicator, before its first bar.

    Raises
    ------
    NotFound
        For an unknown name, with close matches as suggestions.
    ValidationError
        For an unknown parameter or a value out of bounds; the issue names ``indicator.param``.
    """
    cls = stream_class(name)
    return cls(**resolve_params(cls.kind, cls.PARAMS, params))


def restore_stream(snapshot: Mapping[str, Any]) -> StreamingIndicator:
    """Rebuild any streaming indicator from its :meth:`StreamingIndicator.snapshot`.

    Raises
    ------
    NotFound
        If the snapshot's kind is unknown.
    ValidationError
        If the snapshot is malformed or of another version.
    """
    return StreamingIndicator.restore(snapshot)


class StreamingEngine:
    """A named set of streaming indicators for one instrument, updated together bar by bar.

    Examples
    --------
    >>> engine = StreamingEngine()
    >>> engine.add("rsi_14", "rsi", timeperiod=14)
    RsiStream(timeperiod=14)
    >>> values = engine.update(open=1.0, high=1.2, low=0.9, close=1.1, volume=1e3)
    """

    __slots__ = ("_streams",)

    def __init__(self) -> None:
        self._streams: dict[str, StreamingIndicator] = {}

    def add(self, key: str, name: str, **params: Any) -> StreamingIndicator:
        """Add indicator ``name`` under ``key``; it sees the bars from the next update on.

        Parameters
        ----------
        key
            The label its value is reported under (``"rsi_14"``).
        name, **params
            As for :func:`make_stream`.

        Returns
        -------
        StreamingIndicator
            The added indicator.

        Raises
        ------
        ValidationError
            If ``key`` is empty or taken, or a parameter is invalid.
        NotFound
            If ``name`` is unknown.
        """
        if not key or key in self._streams:
            reason = "must not be empty" if not key else "is already in use"
            raise ValidationError(f"invalid stream key {key!r}", [Issue("key", reason)])
        stream = make_stream(name, **params)
        self._streams[key] = stream
        return stream

    def remove(self, key: str) -> None:
        """Remove the indicator under ``key``.

        Raises
        ------
        NotFound
            If there is none.
        """
        if self._streams.pop(key, None) is None:
            raise NotFound(
                f"no stream {key!r}",
                suggestions=difflib.get_close_matches(key, list(self._streams), n=3),
            )

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> dict[str, Output]:
        """Advance every indicator by one closed bar.

        Parameters
        ----------
        open, high, low, close, volume
            The bar.
        ts
            The bar's time in epoch microseconds (UTC); needed only by ``vwap``.

        Returns
        -------
        dict
            Key → the indicator's output(s) at this bar (NaN while it warms up).
        """
        return {
            key: stream.update(open, high, low, close, volume, ts)
            for key, stream in self._streams.items()
        }

    def values(self) -> dict[str, Output]:
        """Return every indicator's latest output(s) by key."""
        return {key: stream.value for key, stream in self._streams.items()}

    def __getitem__(self, key: str) -> StreamingIndicator:
        return self._streams[key]

    def __contains__(self, key: object) -> bool:
        return key in self._streams

    def __iter__(self) -> Iterator[str]:
        return iter(self._streams)

    def __len__(self) -> int:
        return len(self._streams)

    def snapshot(self) -> dict[str, Any]:
        """Return every indicator's snapshot by key, as JSON-able plain data."""
        return {
            "kind": "engine",
            "version": SNAPSHOT_VERSION,
            "streams": {key: stream.snapshot() for key, stream in self._streams.items()},
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> StreamingEngine:
        """Rebuild an engine from :meth:`snapshot`; further updates continue bit for bit.

        Raises
        ------
        ValidationError
            If the snapshot is malformed or of another version.
        NotFound
            If it names an unknown indicator.
        """
        if (
            not isinstance(snapshot, Mapping)
            or snapshot.get("kind") != "engine"
            or snapshot.get("version") != SNAPSHOT_VERSION
            or not isinstance(snapshot.get("streams"), Mapping)
        ):
            raise ValidationError(
                "invalid engine snapshot",
                [
                    Issue(
                        "snapshot",
                        f"expected kind 'engine', version {SNAPSHOT_VERSION} "
                        "and a 'streams' object",
                    )
                ],
            )
        engine = cls()
        for key, item in snapshot["streams"].items():
            engine._streams[str(key)] = StreamingIndicator.restore(item)
        return engine
