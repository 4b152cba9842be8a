"""The indicator registry: one catalogue of every batch indicator quantdesk can compute.

Each entry (:class:`IndicatorSpec`) has a lower-case name (``rsi``, ``macd``, ``vwap``), a
group, its price inputs, typed parameters with defaults and bounds, named outputs and a
lookback (how many leading values are NaN). TA-Lib functions and quantdesk's own numba kernels
register the same way, so callers (the batch API, the expression language, the API's
``/analysis/indicators``) never care where an indicator comes from.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import Issue, NotFound, ValidationError

FloatArray = npt.NDArray[np.float64]
PriceInput = Literal["open", "high", "low", "close", "volume", "ts"]
ParamValue = int | float

#: Compute function: input arrays by name (float64, or int64 epoch-µs for ``ts``) and resolved
#: parameters → output arrays by name, each as long as the inputs, NaN through the lookback.
Compute = Callable[
    [Mapping[str, npt.NDArray[np.generic]], Mapping[str, ParamValue]], dict[str, FloatArray]
]


@dataclass(frozen=True, slots=True)
class Param:
    """A typed indicator parameter with its default and inclusive bounds."""

    name: str
    default: ParamValue
    kind: Literal["int", "float"] = "int"
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    def check(self, value: object, indicator: str) -> ParamValue:
        """Return ``value`` converted to this parameter's type, or raise ``ValidationError``."""
        location = f"{indicator}.{self.name}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(
                f"invalid parameter {location}",
                [Issue(location, f"expected a number, got {value!r}")],
            )
        if self.kind == "int":
            if float(value) != math.floor(float(value)):
                raise ValidationError(
                    f"invalid parameter {location}",
                    [Issue(location, f"must be a whole number, got {value!r}")],
                )
            converted: ParamValue = int(value)
        else:
            converted = float(value)
            if not math.isfinite(converted):
                raise ValidationError(
                    f"invalid parameter {location}", [Issue(location, "must be finite")]
                )
        if (self.minimum is not None and converted < self.minimum) or (
            self.maximum is not None and converted > self.maximum
        ):
            raise ValidationError(
                f"invalid parameter {location}",
                [Issue(location, f"{converted!r} is out of bounds; use {self.bounds_text()}")],
            )
        return converted

    def bounds_text(self) -> str:
        """Return the bounds as text, e.g. ``2..100000``."""
        low = "-inf" if self.minimum is None else _fmt(self.minimum)
        high = "inf" if self.maximum is None else _fmt(self.maximum)
        return f"{low}..{high}"


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One registered indicator."""

    name: str
    group: str
    display_name: str
    inputs: tuple[PriceInput, ...]
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    compute: Compute = field(repr=False)
    lookback: Callable[[Mapping[str, ParamValue]], int] = field(repr=False)
    source: Literal["talib", "quantdesk"] = "talib"
    description: str = ""

    def resolve(
        self, given: Mapping[str, object] | None = None, *positional: object
    ) -> dict[str, ParamValue]:
        """Return all parameters: ``positional`` in declaration order, then ``given`` by name,
        defaults for the rest; each checked against its bounds.

        Raises ``ValidationError`` naming the parameter for unknown names, too many values or
        out-of-bound values.
        """
        given = dict(given or {})
        if len(positional) > len(self.params):
            raise ValidationError(
                f"too many parameters for {self.name}",
                [
                    Issue(
                        self.name,
                        f"takes at most {len(self.params)} parameters "
                        f"({', '.join(p.name for p in self.params)}), got {len(positional)}",
                    )
                ],
            )
        values: dict[str, object] = {}
        for param, value in zip(self.params, positional, strict=False):
            values[param.name] = value
        by_name = {p.name: p for p in self.params}
        for name, value in given.items():
            if name not in by_name:
                close = difflib.get_close_matches(name, list(by_name), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ValidationError(
                    f"unknown parameter {self.name}.{name}",
                    [
                        Issue(
                            f"{self.name}.{name}",
                            f"{self.name} has parameters {', '.join(by_name) or 'none'}{hint}",
                        )
                    ],
                )
            if name in values:
                raise ValidationError(
                    f"parameter {self.name}.{name} given twice",
                    [Issue(f"{self.name}.{name}", "given both by position and by name")],
                )
            values[name] = value
        resolved: dict[str, ParamValue] = {}
        for param in self.params:
            resolved[param.name] = param.check(values.get(param.name, param.default), self.name)
        return resolved


class IndicatorRegistry:
    """Name → :class:`IndicatorSpec`, with close-match suggestions for unknown names."""

    def __init__(self) -> None:
        self._specs: dict[str, IndicatorSpec] = {}

    def register(self, spec: IndicatorSpec) -> IndicatorSpec:
        """Add ``spec``; a name can be registered once."""
        key = spec.name.lower()
        if key in self._specs:
            raise ValueError(f"indicator {key!r} is already registered")
        self._specs[key] = spec
        return spec

    def get(self, name: str) -> IndicatorSpec:
        """Return the indicator called ``name`` (any case) or raise ``NotFound`` with matches."""
        key = name.strip().lower()
        spec = self._specs.get(key)
        if spec is None:
            matches = difflib.get_close_matches(key, list(self._specs), n=3, cutoff=0.6)
            raise NotFound(f"unknown indicator {name!r}", suggestions=matches)
        return spec

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._specs

    def names(self, group: str | None = None) -> list[str]:
        """Return registered names, optionally of one group, sorted."""
        return sorted(n for n, s in self._specs.items() if group is None or s.group == group)

    def specs(self) -> list[IndicatorSpec]:
        """Return every spec, sorted by name."""
        return [self._specs[name] for name in sorted(self._specs)]
