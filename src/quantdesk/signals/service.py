"""The analysis service: indicators, signals, patterns and screens over stored market data.

It reads bars through the market-data service and runs the pure compute packages
(``quantdesk.indicators``, ``quantdesk.signals``) on them. Indicators always warm up on the
full stored history before the requested range, so the first value shown equals what the same
indicator would show in a longer chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.data.service import MarketDataService
from quantdesk.domain import Instrument, Interval
from quantdesk.indicators.registry import IndicatorRegistry, IndicatorSpec, ParamValue
from quantdesk.signals.events import SignalEvent
from quantdesk.signals.expressions import ExpressionError, ScreenResult, compile_expression
from quantdesk.signals.expressions import screen as run_screen
from quantdesk.signals.expressions._ast import Call, Name, Negate, Number
from quantdesk.signals.expressions._parser import parse
from quantdesk.signals.library import evaluate_rules
from quantdesk.signals.patterns import Level, support_resistance_levels

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """One indicator to compute: registry name, resolved parameters and a display label."""

    spec: IndicatorSpec
    params: Mapping[str, ParamValue]

    @property
    def label(self) -> str:
        """Return ``name(p1,p2,...)`` with every parameter value, e.g. ``macd(12,26,9)``."""
        values = ",".join(_fmt(v) for v in self.params.values())
        return f"{self.spec.name}({values})"


@dataclass(frozen=True, slots=True)
class TechnicalResult:
    """Indicator series over a time range: ``frame`` has ``ts`` plus one column per output."""

    instrument: Instrument
    interval: Interval
    frame: pl.DataFrame
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PatternsResult:
    """Support/resistance levels at the latest bar and chart-pattern events."""

    instrument: Instrument
    interval: Interval
    levels: list[Level]
    events: list[SignalEvent]
    last_close: float


def _fmt(value: ParamValue) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def parse_indicator_list(text: str, registry: IndicatorRegistry) -> list[IndicatorRequest]:
    """Return the indicators named in ``text``, e.g. ``"rsi(14), macd(), bbands(20, 2, 2)"``.

    Each item is an indicator name, optionally called with numeric arguments (positional in
    the registry's parameter order, or ``name=value``). Errors point at the column of the
    mistake.
    """
    requests: list[IndicatorRequest] = []
    for start, item in _split_top_level(text):
        stripped = item.strip()
        if not stripped:
            raise ExpressionError("empty indicator in the list", text=text, position=start)
        offset = start + (len(item) - len(item.lstrip()))
        try:
            node = parse(stripped)
        except ExpressionError as exc:
            raise ExpressionError(
                exc.reason, text=text, position=offset + exc.position, length=exc.length
            ) from None
        positional: tuple[ParamValue, ...] = ()
        keywords: dict[str, ParamValue] = {}
        if isinstance(node, Name):
            name = node.name
        elif isinstance(node, Call):
            name = node.name
            positional = tuple(_literal(arg, text, offset) for arg in node.args)
            keywords = {kw.name: _literal(kw.value, text, offset) for kw in node.keywords}
        else:
            raise ExpressionError(
                "expected an indicator such as rsi(14)",
                text=text,
                position=offset,
                length=len(stripped),
            )
        try:
            spec = registry.get(name)
        except NotFound as exc:
            hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
            raise ExpressionError(
                f"unknown indicator '{name}'{hint}", text=text, position=offset, length=len(name)
            ) from None
        try:
            params = spec.resolve(keywords, *positional)
        except ValidationError as exc:
            reason = exc.issues[0].reason if exc.issues else exc.message
            raise ExpressionError(
                f"{spec.name}: {reason}", text=text, position=offset, length=len(stripped)
            ) from None
        requests.append(IndicatorRequest(spec, params))
    return requests


def _split_top_level(text: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append((start, text[start:index]))
            start = index + 1
    items.append((start, text[start:]))
    return items


def _literal(node: object, text: str, offset: int) -> ParamValue:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Negate) and isinstance(node.operand, Number):
        return -node.operand.value
    span = getattr(node, "span", None)
    position = offset + (span.start if span is not None else 0)
    raise ExpressionError("indicator parameters must be numbers", text=text, position=position)


def bar_arrays(frame: pl.DataFrame) -> dict[str, npt.NDArray[np.generic]]:
    """Return a bar frame's columns as float64 arrays plus ``ts`` as int64 epoch µs."""
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "ts": frame.get_column("ts").dt.epoch("us").to_numpy().astype(np.int64)
    }
    for column in ("open", "high", "low", "close", "volume"):
        arrays[column] = frame.get_column(column).cast(pl.Float64).to_numpy().astype(np.float64)
    return arrays


class AnalysisService:
    """Technical analysis over the stored history of one symbol or a universe."""

    def __init__(
        self,
        market: MarketDataService,
        registry: IndicatorRegistry,
        *,
        screen_workers: int = 2,
    ) -> None:
        self._market = market
        self._registry = registry
        self._workers = screen_workers

    @property
    def registry(self) -> IndicatorRegistry:
        """Return the indicator registry."""
        return self._registry

    def _history(
        self, symbol: str, interval: Interval, end: datetime | None = None
    ) -> tuple[Instrument, pl.DataFrame]:
        page = self._market.history(symbol, interval, None, end)
        instrument = self._market.resolve(page.symbol)
        return instrument, page.bars

    def technical(
        self,
        symbol: str,
        requests: Sequence[IndicatorRequest],
        interval: Interval = Interval.D1,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> TechnicalResult:
        """Compute ``requests`` on ``symbol`` and return the series in ``[start, end)``.

        Raises ``ValidationError`` when the stored history is shorter than an indicator's
        lookback, naming the indicator and how many bars it needs.
        """
        if not requests:
            raise ValidationError("no indicators", [Issue("indicators", "ask for at least one")])
        instrument, frame = self._history(symbol, interval, end)
        arrays = bar_arrays(frame)
        columns: dict[str, FloatArray] = {}
        sources: dict[str, tuple[str, str]] = {}
        for position, request in enumerate(requests):
            lookback = request.spec.lookback(request.params)
            if frame.height <= lookback:
                raise ValidationError(
                    "history too short",
                    [
                        Issue(
                            f"indicators[{position}]",
                            f"{request.label} needs at least {lookback + 1} {interval.value} bars; "
                            f"{instrument.symbol} has {frame.height}",
                        )
                    ],
                )
            inputs: dict[str, npt.NDArray[np.generic]] = {
                name: arrays[name] for name in request.spec.inputs
            }
            outputs = request.spec.compute(inputs, request.params)
            for output, values in outputs.items():
                key = request.label if len(outputs) == 1 else f"{request.label}.{output}"
                columns[key] = values
                sources[key] = (request.spec.name, output)
        result = frame.select("ts").with_columns(
            [
                pl.Series(key, values, dtype=pl.Float64).fill_nan(None)
                for key, values in columns.items()
            ]
        )
        if start is not None:
            result = result.filter(pl.col("ts") >= start)
        return TechnicalResult(instrument, interval, result, sources)

    def signals(
        self,
        symbol: str,
        interval: Interval = Interval.D1,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> tuple[Instrument, list[SignalEvent]]:
        """Return the built-in signal events of ``symbol`` at or after ``since``, newest first."""
        instrument, frame = self._history(symbol, interval)
        if frame.is_empty():
            return instrument, []
        events = evaluate_rules(instrument.symbol, bar_arrays(frame), since=since)
        events.sort(key=lambda e: (e.ts, e.rule), reverse=True)
        return instrument, events[:limit] if limit is not None else events

    def patterns(
        self,
        symbol: str,
        interval: Interval = Interval.D1,
        since: datetime | None = None,
    ) -> PatternsResult:
        """Return support/resistance levels now and the chart-pattern events since ``since``."""
        from quantdesk.signals.library import builtin_rules

        instrument, frame = self._history(symbol, interval)
        if frame.height < 3:
            raise ValidationError(
                "history too short",
                [
                    Issue(
                        "symbol",
                        f"{instrument.symbol} has {frame.height} bars; patterns need at least 3",
                    )
                ],
            )
        arrays = bar_arrays(frame)
        levels = support_resistance_levels(arrays)
        pattern_rules = [r for r in builtin_rules() if _is_pattern_rule(r.name)]
        events = evaluate_rules(instrument.symbol, arrays, pattern_rules, since=since)
        events.sort(key=lambda e: (e.ts, e.rule), reverse=True)
        last_close = float(frame.item(frame.height - 1, "close"))
        return PatternsResult(instrument, interval, levels, events, last_close)

    def screen(
        self,
        expression: str,
        universe: Sequence[str] | None = None,
        interval: Interval = Interval.D1,
    ) -> tuple[ScreenResult, list[str]]:
        """Evaluate a condition at the latest bar of every symbol in ``universe``.

        ``universe`` defaults to every symbol stored at ``interval``. Returns the screen result
        and the symbols that are unknown.
        """
        compiled = compile_expression(expression, self._registry)
        if universe:
            symbols = list(dict.fromkeys(universe))
        else:
            symbols = sorted(
                {s.symbol for s in self._market.bar_store.list_symbols() if s.interval == interval}
            )
        data: dict[str, dict[str, npt.NDArray[np.generic]]] = {}
        unknown: list[str] = []
        for symbol in symbols:
            try:
                _, frame = self._history(symbol, interval)
            except NotFound:
                unknown.append(symbol)
                continue
            except ValidationError:
                unknown.append(symbol)
                continue
            data[symbol] = bar_arrays(frame)
        # Spawning workers costs seconds (each imports the indicator catalogue); a small universe
        # is faster inline.
        workers = self._workers if len(data) >= 200 else 1
        return run_screen(compiled, data, workers=workers), unknown


_PATTERN_RULES = (
    "breakout",
    "breakdown",
    "double_top",
    "double_bottom",
    "head_and_shoulders",
    "inverse_head_and_shoulders",
    "trendline_break",
)


def _is_pattern_rule(name: str) -> bool:
    return name.startswith(_PATTERN_RULES)
