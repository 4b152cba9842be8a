"""Technical analysis: indicators, signals, patterns and screens."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query

from quantdesk.api.deps import RuntimeDep, requires
from quantdesk.api.routes.market import SymbolPath
from quantdesk.api.schemas.analysis import (
    IndicatorPublic,
    IndicatorsPublic,
    LevelPublic,
    PatternsPublic,
    ScreenMatchPublic,
    ScreenPublic,
    ScreenRequest,
    ScreenSkipPublic,
    SeriesPublic,
    SignalEventPublic,
    SignalsPublic,
    TechnicalPublic,
    TechnicalRequest,
)
from quantdesk.auth.rbac import Permission
from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.data.service import parse_time
from quantdesk.domain import Interval
from quantdesk.signals.service import IndicatorRequest

router = APIRouter(
    prefix="/analysis", tags=["analysis"], dependencies=[requires(Permission.ANALYSIS_RUN)]
)


def _interval(value: str) -> Interval:
    try:
        return Interval.parse(value)
    except ValueError as exc:
        raise ValidationError("invalid interval", [Issue("interval", str(exc))]) from None


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@router.get("/indicators", response_model=IndicatorsPublic)
def read_indicators(
    runtime: RuntimeDep,
    group: Annotated[str | None, Query(description="overlap, momentum, pattern, ...")] = None,
) -> IndicatorsPublic:
    """List the indicator registry: names, parameters with bounds, inputs and outputs."""
    specs = [s for s in runtime.analysis.registry.specs() if group is None or s.group == group]
    return IndicatorsPublic(data=[IndicatorPublic.of(s) for s in specs], count=len(specs))


@router.post("/technical", response_model=TechnicalPublic)
def create_technical(body: TechnicalRequest, runtime: RuntimeDep) -> TechnicalPublic:
    """Compute indicators on a symbol and return their series over the range."""
    registry = runtime.analysis.registry
    requests = []
    for position, call in enumerate(body.indicators):
        try:
            spec = registry.get(call.name)
        except NotFound as exc:
            raise ValidationError(
                "unknown indicator",
                [Issue(f"indicators[{position}].name", exc.message)],
            ) from None
        params = {k: int(v) if float(v).is_integer() else v for k, v in call.params.items()}
        requests.append(IndicatorRequest(spec, spec.resolve(params)))
    result = runtime.analysis.technical(
        body.symbol,
        requests,
        _interval(body.interval),
        parse_time(body.start, "start"),
        parse_time(body.end, "end", end=True),
    )
    series = {
        key: SeriesPublic(
            indicator=indicator,
            output=output,
            values=[_finite(v) for v in result.frame.get_column(key).to_list()],
        )
        for key, (indicator, output) in result.columns.items()
    }
    return TechnicalPublic(
        symbol=result.instrument.symbol,
        interval=result.interval.value,
        synthetic=result.instrument.synthetic,
        ts=result.frame.get_column("ts").to_list(),
        series=series,
    )


@router.get("/signals/{symbol}", response_model=SignalsPublic)
def read_signals(
    symbol: SymbolPath,
    runtime: RuntimeDep,
    since: Annotated[str | None, Query(description="Only events at or after this date")] = None,
    interval: str = "1d",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> SignalsPublic:
    """Return recent signal events of a symbol, newest first, with why each fired."""
    instrument, events = runtime.analysis.signals(
        symbol, _interval(interval), parse_time(since, "since"), limit
    )
    return SignalsPublic(
        symbol=instrument.symbol,
        synthetic=instrument.synthetic,
        data=[SignalEventPublic.of(e) for e in events],
        count=len(events),
    )


@router.get("/patterns/{symbol}", response_model=PatternsPublic)
def read_patterns(
    symbol: SymbolPath,
    runtime: RuntimeDep,
    since: Annotated[str | None, Query(description="Only events at or after this date")] = None,
    interval: str = "1d",
) -> PatternsPublic:
    """Return support/resistance levels and chart-pattern events of a symbol."""
    result = runtime.analysis.patterns(symbol, _interval(interval), parse_time(since, "since"))
    return PatternsPublic(
        symbol=result.instrument.symbol,
        synthetic=result.instrument.synthetic,
        last_close=result.last_close,
        levels=[LevelPublic.of(level) for level in result.levels],
        events=[SignalEventPublic.of(e) for e in result.events],
    )


@router.post("/screen", response_model=ScreenPublic)
def create_screen(body: ScreenRequest, runtime: RuntimeDep) -> ScreenPublic:
    """Evaluate a condition at the latest bar of every symbol of a universe."""
    result, unknown = runtime.analysis.screen(
        body.expression, body.universe, _interval(body.interval)
    )
    skipped = [ScreenSkipPublic(symbol=s, reason=r) for s, r in result.skipped.items()]
    skipped += [ScreenSkipPublic(symbol=s, reason="unknown symbol") for s in unknown]
    return ScreenPublic(
        expression=result.expression,
        scanned=result.evaluated,
        count=len(result.matches),
        matches=[
            ScreenMatchPublic(
                symbol=m.symbol,
                ts=m.ts,
                values={k: _finite(v) for k, v in m.values.items()},
            )
            for m in result.matches
        ],
        skipped=skipped,
    )
