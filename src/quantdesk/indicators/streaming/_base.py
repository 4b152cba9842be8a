"""The streaming base class, parameter checks and snapshot encoding.

Every streaming indicator is a small pure-Python object with ``__slots__`` and float state,
advanced one closed bar at a time. Its state is plain data, so :meth:`StreamingIndicator.snapshot`
turns it into JSON-able dicts and lists (floats written with ``repr`` precision, non-finite floats
as the strings ``"nan"``, ``"inf"``, ``"-inf"``) and :meth:`StreamingIndicator.restore` rebuilds
an object that continues bit for bit where the original stopped.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.indicators.registry import Param, ParamValue

NAN = math.nan
SNAPSHOT_VERSION = 1
#: Periods above this are refused, as the registry does for TA-Lib functions.
MAX_PERIOD = 100_000
#: TA-Lib's bound for real-valued parameters (``TA_REAL_MAX``).
TA_REAL_MAX = 3e37
#: TA-Lib 0.8's relative tolerance for "no change" and "zero range" tests.
TA_EPSILON = 1e-14

#: What ``update`` returns: a float, or a tuple of floats in the order of ``outputs``.
Output: TypeAlias = float | tuple[float, ...]

_KINDS: dict[str, type[StreamingIndicator]] = {}
_SLOT_CACHE: dict[type, tuple[str, ...]] = {}


def period(name: str, default: int, minimum: int = 2) -> Param:
    """Return an integer period parameter bounded like TA-Lib's ``minimum..100000``."""
    return Param(name, default, "int", minimum, MAX_PERIOD)


def real(
    name: str, default: float, minimum: float = -TA_REAL_MAX, maximum: float = TA_REAL_MAX
) -> Param:
    """Return a finite real parameter with inclusive bounds (TA-Lib's ±3e37 unless narrower)."""
    return Param(name, default, "float", minimum, maximum)


def resolve_params(
    kind: str, specs: tuple[Param, ...], given: Mapping[str, object]
) -> dict[str, ParamValue]:
    """Return ``kind``'s parameters: ``given`` checked against ``specs``, defaults for the rest.

    Parameters
    ----------
    kind
        The indicator's registry name, used in error locations (``rsi.timeperiod``).
    specs
        The indicator's parameters.
    given
        Values by parameter name.

    Returns
    -------
    dict
        Parameter name to converted value, in declaration order.

    Raises
    ------
    ValidationError
        For an unknown name or a value of the wrong type or out of bounds; the issue's
        location is ``indicator.param``.
    """
    by_name = {spec.name: spec for spec in specs}
    for name in given:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValidationError(
                f"unknown parameter {kind}.{name}",
                [
                    Issue(
                        f"{kind}.{name}",
                        f"{kind} has parameters {', '.join(by_name) or 'none'}{hint}",
                    )
                ],
            )
    return {spec.name: spec.check(given.get(spec.name, spec.default), kind) for spec in specs}


def encode(value: object) -> Any:
    """Return ``value`` as JSON-able data (see the module docstring for the float rules)."""
    if isinstance(value, Stateful):
        return value.dump_state()
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, deque | list | tuple):
        return [encode(item) for item in value]
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


def _decode_any(raw: Any) -> Any:
    if isinstance(raw, str):
        return float(raw)
    if isinstance(raw, list):
        return tuple(_decode_any(item) for item in raw)
    return raw


def decode(raw: Any, template: object) -> Any:
    """Return ``raw`` (from :func:`encode`) rebuilt with the type of ``template``."""
    if isinstance(template, Stateful):
        template.load_state(raw)
        return template
    if isinstance(template, deque):
        return deque((_decode_any(item) for item in raw), maxlen=template.maxlen)
    if isinstance(template, tuple):
        return tuple(_decode_any(item) for item in raw)
    if isinstance(template, list):
        return [_decode_any(item) for item in raw]
    if isinstance(template, bool):
        return bool(raw)
    if isinstance(template, float):
        return float(raw)
    if isinstance(template, int):
        return int(raw)
    return _decode_any(raw)


def _slot_names(cls: type) -> tuple[str, ...]:
    names = _SLOT_CACHE.get(cls)
    if names is None:
        collected: list[str] = []
        for klass in reversed(cls.__mro__):
            slots = klass.__dict__.get("__slots__", ())
            collected.extend([slots] if isinstance(slots, str) else slots)
        names = tuple(name for name in collected if name not in {"_params", "__weakref__"})
        _SLOT_CACHE[cls] = names
    return names


class Stateful:
    """An object whose whole state is its slots, dumped and loaded as plain data."""

    __slots__ = ()

    def dump_state(self) -> dict[str, Any]:
        """Return every slot as JSON-able data."""
        return {name: encode(getattr(self, name)) for name in _slot_names(type(self))}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Overwrite every slot from ``state`` as made by :meth:`dump_state`."""
        if not isinstance(state, Mapping):
            raise ValidationError("invalid snapshot", [Issue("state", "expected an object")])
        for name in _slot_names(type(self)):
            if name not in state:
                raise ValidationError(
                    "invalid snapshot", [Issue(f"state.{name}", "missing from the snapshot")]
                )
            setattr(self, name, decode(state[name], getattr(self, name)))


class StreamingIndicator(Stateful, ABC):
    """A TA-Lib-exact indicator advanced one closed bar at a time.

    After each :meth:`update` the value equals the batch value at that bar (``talib.<NAME>`` on
    the whole series, or the quantdesk definition), NaN through the warm-up (``lookback`` bars).

    Attributes
    ----------
    kind
        The registry-style name (``rsi``).
    outputs
        Output names, the order of the tuple a multi-output indicator returns.
    """

    __slots__ = ("_count", "_lookback", "_params", "_value")
    kind: ClassVar[str] = ""
    outputs: ClassVar[tuple[str, ...]] = ("value",)
    PARAMS: ClassVar[tuple[Param, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            if cls.kind in _KINDS:
                raise ValueError(f"streaming indicator {cls.kind!r} is defined twice")
            _KINDS[cls.kind] = cls

    def __init__(self, **params: Any) -> None:
        self._setup(params)

    def _setup(self, given: Mapping[str, object]) -> dict[str, ParamValue]:
        params = resolve_params(self.kind, self.PARAMS, given)
        self._params = params
        self._count = 0
        self._lookback = 0
        self._value: Output = NAN if len(self.outputs) == 1 else (NAN,) * len(self.outputs)
        return params

    @abstractmethod
    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> Output:
        """Advance by one closed bar and return the output(s) at that bar.

        Parameters
        ----------
        open, high, low, close, volume
            The bar's prices and volume (only the ones the indicator uses are read).
        ts
            The bar's time in epoch microseconds (UTC); only session VWAP needs it.

        Returns
        -------
        float or tuple of float
            The current output, a tuple in the order of ``outputs`` for several; NaN while
            warming up.
        """

    @property
    def value(self) -> Output:
        """Return the latest output(s), NaN during the warm-up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the warm-up is over (more than ``lookback`` bars seen)."""
        return self._count > self._lookback

    @property
    def lookback(self) -> int:
        """Return the number of leading bars whose output is NaN."""
        return self._lookback

    @property
    def bars(self) -> int:
        """Return how many bars have been fed."""
        return self._count

    @property
    def params(self) -> dict[str, ParamValue]:
        """Return the resolved parameters."""
        return dict(self._params)

    def snapshot(self) -> dict[str, Any]:
        """Return the full state as JSON-able plain data.

        Returns
        -------
        dict
            ``kind``, ``version``, ``params`` and ``state``; :meth:`restore` accepts it (also
            after ``json.loads(json.dumps(...))``).
        """
        return {
            "kind": self.kind,
            "version": SNAPSHOT_VERSION,
            "params": dict(self._params),
            "state": self.dump_state(),
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> StreamingIndicator:
        """Rebuild an indicator from :meth:`snapshot`; further updates continue bit for bit.

        Parameters
        ----------
        snapshot
            A mapping made by :meth:`snapshot`, possibly through a JSON round trip.

        Returns
        -------
        StreamingIndicator
            The rebuilt indicator, an instance of ``cls``.

        Raises
        ------
        NotFound
            If the snapshot's kind is unknown.
        ValidationError
            If the snapshot is malformed, of another version, or of another kind than ``cls``.
        """
        if not isinstance(snapshot, Mapping):
            raise ValidationError("invalid snapshot", [Issue("snapshot", "expected an object")])
        version = snapshot.get("version")
        if version != SNAPSHOT_VERSION:
            raise ValidationError(
                "invalid snapshot",
                [Issue("version", f"expected {SNAPSHOT_VERSION}, got {version!r}")],
            )
        kind = snapshot.get("kind")
        target = _KINDS.get(kind) if isinstance(kind, str) else None
        if target is None:
            matches = difflib.get_close_matches(str(kind), list(_KINDS), n=3)
            raise NotFound(f"unknown streaming indicator {kind!r}", suggestions=matches)
        if not issubclass(target, cls):
            raise ValidationError(
                "invalid snapshot",
                [Issue("kind", f"{kind!r} is not a {cls.__name__}")],
            )
        params = snapshot.get("params", {})
        if not isinstance(params, Mapping):
            raise ValidationError("invalid snapshot", [Issue("params", "expected an object")])
        indicator = target(**resolve_params(target.kind, target.PARAMS, params))
        indicator.load_state(snapshot.get("state", {}))
        return indicator

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self._params.items())
        return f"{type(self).__name__}({args})"


def ma_param(name: str) -> Param:
    """Return a TA-Lib ``matype`` parameter (0..8; streaming supports a subset, see
    :func:`check_ma_type`)."""
    return Param(name, 0, "int", 0, 8)


def check_ma_type(kind: str, name: str, matype: int, supported: Mapping[int, str]) -> None:
    """Raise ``ValidationError`` if streaming has no exact core for ``matype``."""
    if matype not in supported:
        listed = ", ".join(f"{code} ({label})" for code, label in supported.items())
        raise ValidationError(
            f"invalid parameter {kind}.{name}",
            [Issue(f"{kind}.{name}", f"streaming supports {listed}; got {matype}")],
        )


def kinds() -> dict[str, type[StreamingIndicator]]:
    """Return every defined streaming indicator class by name."""
    return dict(_KINDS)
