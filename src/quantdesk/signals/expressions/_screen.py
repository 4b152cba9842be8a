"""Screen a universe of symbols with one condition, at each symbol's latest bar.

Work is spread over processes (``spawn`` start method, so it behaves the same on every
platform and never forks a process that already runs threads). Workers receive the expression
*text* and recompile it, plus plain numpy arrays per symbol; nothing else crosses the boundary.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from quantdesk.core.errors import ValidationError
from quantdesk.indicators.registry import IndicatorRegistry
from quantdesk.signals.expressions._data import BarData, ColumnArrays, to_columns
from quantdesk.signals.expressions._expression import Expression, compile_expression

_CHUNKS_PER_WORKER = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ScreenMatch:
    """A symbol whose latest bar satisfies the condition, with the numbers behind it."""

    symbol: str
    ts: datetime | None
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """Every match, every skipped symbol with its reason, and how many symbols were checked."""

    expression: str
    lookback: int
    matches: tuple[ScreenMatch, ...]
    skipped: Mapping[str, str] = field(default_factory=dict)
    evaluated: int = 0

    @property
    def symbols(self) -> list[str]:
        """Return the matching symbols in order."""
        return [match.symbol for match in self.matches]


@dataclass(frozen=True, slots=True)
class _Outcome:
    symbol: str
    status: Literal["match", "miss", "skip"]
    ts: int | None = None
    values: dict[str, float] = field(default_factory=dict)
    reason: str = ""


_Job = tuple[str, ColumnArrays | None, int, str]

# Per worker process: the expression compiled once by the pool initializer.
_WORKER_EXPRESSION: list[Expression] = []


def screen(
    expression: str | Expression,
    universe: Mapping[str, BarData],
    *,
    workers: int = 2,
    registry: IndicatorRegistry | None = None,
) -> ScreenResult:
    """Return the symbols of ``universe`` whose latest bar satisfies ``expression``.

    Parameters
    ----------
    expression
        A condition (text or compiled by :func:`compile_expression`).
    universe
        Symbol → bar data (a mapping of equal-length arrays or a polars ``DataFrame``). A
        ``ts`` column (int64 epoch µs or datetimes) is used to report each match's bar time.
    workers
        Processes to use; ``1`` evaluates inline in this process.
    registry
        Indicator registry for text expressions; the default catalogue when omitted. With
        ``workers > 1`` a custom registry must be picklable (its compute functions defined at
        module level), since each worker receives it.

    Returns
    -------
    ScreenResult
        Matches sorted by symbol, each with the bar time and the value of every numeric
        sub-expression keyed by its source text; skipped symbols with the reason (history
        shorter than the expression needs, missing columns). A condition that is unknown at the
        latest bar (a NaN input there) does not match.

    Raises
    ------
    ExpressionError
        When the expression does not compile or is not a condition.
    ValueError
        When ``workers`` is below 1, or a custom registry cannot be sent to workers.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if isinstance(expression, Expression):
        compiled = (
            expression
            if expression.kind == "boolean"
            else compile_expression(expression.text, expression.registry)
        )
    else:
        compiled = compile_expression(expression, registry)
    jobs = [_prepare(symbol, data, compiled) for symbol, data in universe.items()]
    if workers == 1 or len(jobs) <= 1:
        outcomes = [_run(compiled, job) for job in jobs]
    else:
        outcomes = _run_parallel(compiled, jobs, workers)
    return _collect(compiled, outcomes)


def _prepare(symbol: str, data: BarData, expression: Expression) -> _Job:
    try:
        columns, length = to_columns(data, expression.required_inputs, with_ts=True)
    except ValidationError as exc:
        return symbol, None, 0, "; ".join(issue.reason for issue in exc.issues) or exc.message
    return symbol, columns, length, ""


def _run(expression: Expression, job: _Job) -> _Outcome:
    symbol, columns, length, problem = job
    if columns is None:
        return _Outcome(symbol, "skip", reason=f"unusable data: {problem}")
    needed = expression.lookback + 1
    if length < needed:
        return _Outcome(
            symbol,
            "skip",
            reason=(
                f"history too short: {length} bar{'s' if length != 1 else ''}, the expression "
                f"needs at least {needed} (lookback {expression.lookback})"
            ),
        )
    value, values = expression.snapshot(columns, length)
    ts_column = columns.get("ts")
    ts = int(ts_column[-1]) if ts_column is not None else None
    return _Outcome(symbol, "match" if value == 1.0 else "miss", ts=ts, values=values)


def _run_parallel(expression: Expression, jobs: list[_Job], workers: int) -> list[_Outcome]:
    chunk_count = min(len(jobs), workers * _CHUNKS_PER_WORKER)
    size, extra = divmod(len(jobs), chunk_count)
    bounds: list[tuple[int, int]] = []
    start = 0
    for index in range(chunk_count):
        stop = start + size + (1 if index < extra else 0)
        bounds.append((start, stop))
        start = stop
    if "fork" in multiprocessing.get_all_start_methods():
        return _run_forked(expression, jobs, bounds, workers)
    chunks = [jobs[lo:hi] for lo, hi in bounds]
    payload = _registry_payload(expression.registry)
    with ProcessPoolExecutor(
        max_workers=min(workers, chunk_count),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(expression.text, payload),
    ) as pool:
        return [outcome for chunk in pool.map(_screen_chunk, chunks) for outcome in chunk]


def _run_forked(
    expression: Expression, jobs: list[_Job], bounds: list[tuple[int, int]], workers: int
) -> list[_Outcome]:
    # Forked workers inherit the compiled expression, the loaded indicator catalogue and the
    # bar arrays (copy-on-write), so nothing but chunk bounds and small outcomes is pickled and
    # no worker re-imports anything. The children only run numpy/TA-Lib code.
    _FORKED[:] = [(expression, jobs)]
    try:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(bounds)),
            mp_context=multiprocessing.get_context("fork"),
        ) as pool:
            return [outcome for chunk in pool.map(_screen_bounds, bounds) for outcome in chunk]
    finally:
        _FORKED.clear()


def _screen_bounds(bounds: tuple[int, int]) -> list[_Outcome]:
    expression, jobs = _FORKED[0]
    return [_run(expression, job) for job in jobs[bounds[0] : bounds[1]]]


def _registry_payload(registry: IndicatorRegistry) -> bytes | None:
    catalog = sys.modules.get("quantdesk.indicators.catalog")
    if catalog is not None and getattr(catalog, "REGISTRY", None) is registry:
        return None  # workers import the catalogue themselves
    try:
        return pickle.dumps(registry)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ValueError(
            "this indicator registry cannot be sent to worker processes (its compute "
            "functions must be defined at module level); screen with workers=1"
        ) from exc


_FORKED: list[tuple[Expression, list[_Job]]] = []


def _init_worker(text: str, payload: bytes | None) -> None:
    # The payload is the parent's own pickle of its registry, never outside input.
    registry = pickle.loads(payload) if payload is not None else None
    _WORKER_EXPRESSION[:] = [compile_expression(text, registry)]


def _screen_chunk(jobs: Sequence[_Job]) -> list[_Outcome]:
    expression = _WORKER_EXPRESSION[0]
    return [_run(expression, job) for job in jobs]


def _collect(expression: Expression, outcomes: list[_Outcome]) -> ScreenResult:
    matches = sorted(
        (
            ScreenMatch(outcome.symbol, _to_datetime(outcome.ts), outcome.values)
            for outcome in outcomes
            if outcome.status == "match"
        ),
        key=lambda match: match.symbol,
    )
    skipped = {
        outcome.symbol: outcome.reason
        for outcome in sorted(outcomes, key=lambda item: item.symbol)
        if outcome.status == "skip"
    }
    return ScreenResult(
        expression=expression.text,
        lookback=expression.lookback,
        matches=tuple(matches),
        skipped=skipped,
        evaluated=sum(1 for outcome in outcomes if outcome.status != "skip"),
    )


def _to_datetime(ts: int | None) -> datetime | None:
    return None if ts is None else _EPOCH + timedelta(microseconds=ts)
