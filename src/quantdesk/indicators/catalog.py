"""The default indicator catalogue: every TA-Lib function plus quantdesk's own indicators.

:data:`REGISTRY` is built on import. TA-Lib entries are read from TA-Lib's own metadata
(``talib.abstract``): inputs are TA-Lib's declared default price series, parameters keep
TA-Lib's names and defaults, and each parameter's bounds are found once by probing TA-Lib on a
tiny array (the binding only reports defaults, not ranges). Calls go straight to the TA-Lib
function with float64 arrays.

Decisions worth knowing:

- ``MAVP`` is not registered: its second input is a per-bar array of periods, not a price
  series, so it does not fit the price-input model.
- TA-Lib >= 0.6 ships ``VWAP``, ``SUPERTREND`` and ``DONCHIAN``. Those names belong to
  quantdesk's definitions (:mod:`quantdesk.indicators.custom`, plan-defined outputs and session
  rules); TA-Lib's versions stay reachable as ``talib_vwap``, ``talib_supertrend`` and
  ``talib_donchian``.
- Integer outputs (candlestick patterns' -100/0/100, ``MAXINDEX`` ...) come back as float64
  with NaN through the lookback, where TA-Lib itself writes 0.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import talib
from talib import abstract

from quantdesk.indicators.custom import custom_specs
from quantdesk.indicators.registry import (
    FloatArray,
    IndicatorRegistry,
    IndicatorSpec,
    Param,
    ParamValue,
    PriceInput,
)

__all__ = ["REGISTRY", "TALIB_EXCLUDED", "build_registry"]

# TA-Lib's stubs cover the indicator functions, not its metadata API: use that untyped.
_ABSTRACT: Any = abstract
_TALIB: Any = talib

#: TA-Lib functions left out of the catalogue (see the module docstring).
TALIB_EXCLUDED = frozenset({"MAVP"})

_GROUPS = {
    "Overlap Studies": "overlap",
    "Momentum Indicators": "momentum",
    "Volatility Indicators": "volatility",
    "Volume Indicators": "volume",
    "Price Transform": "price",
    "Statistic Functions": "statistic",
    "Cycle Indicators": "cycle",
    "Math Operators": "math_operator",
    "Math Transform": "math_transform",
    "Pattern Recognition": "pattern",
}

_MACD_OUTPUTS = {"macd": "macd", "macdsignal": "signal", "macdhist": "hist"}
_BANDS_OUTPUTS = {"upperband": "upper", "middleband": "middle", "lowerband": "lower"}
_FRIENDLY_OUTPUTS: dict[str, dict[str, str]] = {
    "MACD": _MACD_OUTPUTS,
    "MACDEXT": _MACD_OUTPUTS,
    "MACDFIX": _MACD_OUTPUTS,
    "BBANDS": _BANDS_OUTPUTS,
    "STOCH": {"slowk": "k", "slowd": "d"},
    "STOCHF": {"fastk": "k", "fastd": "d"},
    "STOCHRSI": {"fastk": "k", "fastd": "d"},
    "AROON": {"aroondown": "down", "aroonup": "up"},
}

_PRICE_INPUTS: dict[str, PriceInput] = {
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": "volume",
}
_INTEGER_TYPES = frozenset({2, 3})  # TA_OptInput_IntegerRange, TA_OptInput_IntegerList
_PROBE_LENGTH = 8
_PROBE_LADDER_DOWN = (0.0, -1.0, -1e30)
_PROBE_LADDER_UP = (1.0, 100.0, 1e4, 1e30)


# The spec's compute: one direct TA-Lib call, outputs renamed to the friendly names.
class _TalibCompute:
    __slots__ = ("function", "inputs", "lookback", "outputs")

    def __init__(
        self,
        name: str,
        inputs: tuple[PriceInput, ...],
        outputs: tuple[str, ...],
        lookback: _TalibLookback,
    ) -> None:
        self.function = getattr(talib, name)
        self.inputs = inputs
        self.outputs = outputs
        self.lookback = lookback

    def __call__(
        self, inputs: Mapping[str, npt.NDArray[np.generic]], params: Mapping[str, ParamValue]
    ) -> dict[str, FloatArray]:
        arrays = [np.ascontiguousarray(inputs[name], dtype=np.float64) for name in self.inputs]
        result = self.function(*arrays, **params)
        values: tuple[npt.NDArray[np.generic], ...] = (
            result if isinstance(result, tuple) else (result,)
        )
        if all(array.dtype == np.float64 for array in values):
            return dict(zip(self.outputs, cast("tuple[FloatArray, ...]", values), strict=True))
        # Integer outputs (patterns, indices) hold 0 through the lookback: make that NaN.
        lookback = self.lookback(params)
        converted: dict[str, FloatArray] = {}
        for name, array in zip(self.outputs, values, strict=True):
            as_float = array.astype(np.float64)
            as_float[: min(lookback, as_float.shape[0])] = np.nan
            converted[name] = as_float
        return converted


# TA-Lib's own lookback for the parameters (defaults fill gaps), cached per parameters.
class _TalibLookback:
    __slots__ = ("cached", "defaults", "name")

    def __init__(self, name: str, defaults: dict[str, ParamValue]) -> None:
        self.name = name
        self.defaults = defaults
        self.cached = functools.lru_cache(maxsize=256)(self._lookback)

    def _lookback(self, items: tuple[tuple[str, ParamValue], ...]) -> int:
        function = _ABSTRACT.Function(self.name)
        function.set_parameters(dict(items))
        return int(function.lookback)

    def __call__(self, params: Mapping[str, ParamValue]) -> int:
        merged = {name: params.get(name, default) for name, default in self.defaults.items()}
        return int(self.cached(tuple(merged.items())))


def _flatten_inputs(input_names: Mapping[str, str | list[str]]) -> tuple[PriceInput, ...]:
    flattened: list[PriceInput] = []
    for declared in input_names.values():
        for series in [declared] if isinstance(declared, str) else declared:
            if series.lower() not in _PRICE_INPUTS:
                raise ValueError(f"TA-Lib input {series!r} is not a price series")
            flattened.append(_PRICE_INPUTS[series.lower()])
    return tuple(flattened)


def _output_names(name: str, talib_outputs: list[str]) -> tuple[str, ...]:
    if len(talib_outputs) == 1:
        return ("value",)
    friendly = _FRIENDLY_OUTPUTS.get(name, {})
    return tuple(friendly.get(output.lower(), output.lower()) for output in talib_outputs)


# TA-Lib's binding reports defaults but not ranges: ask TA-Lib itself on a tiny array.
class _Prober:
    def __init__(self, name: str, n_inputs: int, defaults: dict[str, ParamValue]) -> None:
        self.function = getattr(talib, name)
        self.arrays = [np.linspace(1.0, 2.0, _PROBE_LENGTH)] * n_inputs
        self.defaults = defaults

    def accepts(self, param: str, value: ParamValue) -> bool:
        try:
            self.function(*self.arrays, **{**self.defaults, param: value})
        except Exception:
            return False
        return True

    def int_bounds(self, param: str, default: int, listed: bool) -> tuple[int | None, int | None]:
        minimum = next((v for v in range(-1, default + 1) if self.accepts(param, v)), None)
        if minimum is None:
            return None, None
        if listed:  # an enumeration such as matype: accepted values are consecutive
            maximum = minimum
            while maximum < minimum + 64 and self.accepts(param, maximum + 1):
                maximum += 1
            return minimum, maximum
        if self.accepts(param, 100_000) and not self.accepts(param, 100_001):
            return minimum, 100_000
        good, bad = max(minimum, default), 2**31 - 1
        if self.accepts(param, bad):
            return minimum, None
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if self.accepts(param, middle) else (good, middle)
        return minimum, good

    def float_bound(self, param: str, default: float, upward: bool) -> float | None:
        good = default
        for candidate in _PROBE_LADDER_UP if upward else _PROBE_LADDER_DOWN:
            if (candidate <= good) if upward else (candidate >= good):
                continue
            if self.accepts(param, candidate):
                good = candidate
                continue
            bad = candidate
            while abs(bad - good) > 1e-9 * max(1.0, abs(good)):
                middle = (good + bad) / 2.0
                good, bad = (middle, bad) if self.accepts(param, middle) else (good, middle)
            rounded = float(f"{good:.6g}")
            return rounded if self.accepts(param, rounded) else good
        return None


def _talib_params(name: str, defaults: dict[str, ParamValue], n_inputs: int) -> tuple[Param, ...]:
    prober = _Prober(name, n_inputs, defaults)
    params: list[Param] = []
    for index, (param, default) in enumerate(defaults.items()):
        info = _TALIB._ta_lib._ta_getOptInputParameterInfo(name.encode(), index)
        description = str(info.get("help") or info.get("display_name") or "")
        if info["type"] in _INTEGER_TYPES:
            low, high = prober.int_bounds(param, int(default), listed=info["type"] == 3)
            params.append(Param(param, int(default), "int", low, high, description))
        else:
            value = float(default)
            low_f = prober.float_bound(param, value, upward=False)
            high_f = prober.float_bound(param, value, upward=True)
            params.append(Param(param, value, "float", low_f, high_f, description))
    return tuple(params)


def _talib_spec(name: str, registered_name: str) -> IndicatorSpec:
    info = _ABSTRACT.Function(name).info
    inputs = _flatten_inputs(info["input_names"])
    defaults: dict[str, ParamValue] = dict(info["parameters"])
    params = _talib_params(name, defaults, len(inputs))
    outputs = _output_names(name, list(info["output_names"]))
    lookback = _TalibLookback(name, {p.name: p.default for p in params})
    group = _GROUPS[info["group"]]
    return IndicatorSpec(
        name=registered_name,
        group=group,
        display_name=str(info["display_name"]),
        inputs=inputs,
        params=params,
        outputs=outputs,
        compute=_TalibCompute(name, inputs, outputs, lookback),
        lookback=lookback,
        source="talib",
        description=f"{info['display_name']} (TA-Lib {name}).",
    )


def build_registry() -> IndicatorRegistry:
    """Build a registry of every TA-Lib function and every quantdesk indicator.

    Returns
    -------
    IndicatorRegistry
        TA-Lib functions under their lower-case names (except :data:`TALIB_EXCLUDED`; those
        whose name a quantdesk indicator takes get a ``talib_`` prefix), then quantdesk's own.
    """
    registry = IndicatorRegistry()
    own = custom_specs()
    taken = {spec.name for spec in own}
    for name in _TALIB.get_functions():
        if name in TALIB_EXCLUDED:
            continue
        lower = name.lower()
        registry.register(_talib_spec(name, f"talib_{lower}" if lower in taken else lower))
    for spec in own:
        registry.register(spec)
    return registry


#: The default catalogue.
REGISTRY: IndicatorRegistry = build_registry()
