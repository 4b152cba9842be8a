"""Backtests over stored market data: run now, or submit to run in the background.

:meth:`BacktestService.run` loads the spec's bars from the market-data service, runs the
event-driven engine and stores the run (relational row + artifacts); the CLI uses it.
:meth:`BacktestService.submit` validates the spec and its data range at once (so bad input is
refused before anything is queued), records a ``queued`` run and hands the work to the
launcher the runtime gave it; :meth:`BacktestService.execute` does that work, reporting
progress into the run's row.

Artifacts live in ``<artifacts>/<spec hash>/``: ``result/`` (see
:mod:`quantdesk.backtest.artifacts`) and ``report.html``. The hash covers the *resolved* spec
(every strategy default filled in, the date range pinned to the first and last bar used), so
an artifact is reused when the same resolved spec runs again on identical bars (same data
digest) and recomputed when the stored bars changed.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import structlog

from quantdesk.auth.models import Principal
from quantdesk.backtest.artifacts import load_result, load_spec, save_result
from quantdesk.backtest.event import run_backtest
from quantdesk.backtest.ports import BacktestStore
from quantdesk.backtest.report import write_report
from quantdesk.backtest.results import BacktestResult
from quantdesk.backtest.spec import BacktestSpec
from quantdesk.backtest.strategies import StrategySpec, make_strategy, strategy_names, strategy_spec
from quantdesk.core.clock import Clock
from quantdesk.core.errors import Issue, NotFound, QuantdeskError, ValidationError
from quantdesk.core.ids import new_id
from quantdesk.data.frames import bars_to_pandas, utc_midnight
from quantdesk.data.service import MarketDataService
from quantdesk.domain.backtests import BacktestRun, RunStatus
from quantdesk.domain.market_data import Interval

__all__ = ["BacktestOutcome", "BacktestService", "Launcher", "PreparedBacktest", "Progress"]

Progress = Callable[[int, int], None]
"""Called with (bars done, bars in total) while a backtest runs."""

Launcher = Callable[[Callable[[], None]], None]
"""Runs a unit of work later (a thread pool, a process pool, a job queue)."""

_log = structlog.get_logger(__name__)
_PROGRESS_STEP = 0.02
_PROGRESS_SECONDS = 1.0
_REPORT = "report.html"
_RESULT = "result"


@dataclass(frozen=True, slots=True)
class PreparedBacktest:
    """A resolved spec and the data it runs on."""

    spec: BacktestSpec
    spec_hash: str
    bars: dict[str, pd.DataFrame]
    benchmark: pd.Series | None
    data_digest: str
    synthetic: tuple[str, ...]

    @property
    def bar_count(self) -> int:
        """Return the number of bars over all symbols."""
        return sum(len(frame) for frame in self.bars.values())


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """A finished run and its result."""

    run: BacktestRun
    result: BacktestResult
    report_path: Path


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_json(result: BacktestResult) -> dict[str, Any]:
    """Return the result's headline metrics, JSON-ready (non-finite numbers become ``None``)."""
    return {name: _json_number(value) for name, value in result.metrics.to_dict().items()}


class BacktestService:
    """Run strategies from the registry over stored bars and keep their results.

    Parameters
    ----------
    market
        Where bars and benchmark closes come from.
    store
        The relational store of runs.
    artifacts
        Directory of result artifacts (``QUANTDESK_HOME/backtests`` in the runtime).
    clock
        Time source of run timestamps.
    launcher
        Runs submitted work; ``None`` runs it inline (before :meth:`submit` returns).
    """

    def __init__(
        self,
        market: MarketDataService,
        store: BacktestStore,
        artifacts: Path,
        clock: Clock,
        launcher: Launcher | None = None,
    ) -> None:
        self._market = market
        self._store = store
        self._artifacts = artifacts
        self._clock = clock
        self._launch: Launcher = launcher or (lambda work: work())
        self._lock = threading.Lock()

    # -- catalogue -----------------------------------------------------------------------------

    def strategies(self) -> list[StrategySpec]:
        """Return the registered strategies, sorted by name."""
        return [strategy_spec(name) for name in strategy_names()]

    # -- preparation ---------------------------------------------------------------------------

    def prepare(self, spec: BacktestSpec) -> PreparedBacktest:
        """Resolve ``spec`` and load its bars and benchmark.

        Raises
        ------
        ValidationError
            For an unknown strategy or parameter, or a range without bars for a symbol.
        NotFound
            For an unknown symbol or benchmark.
        """
        resolved = spec.resolved()
        make_strategy(resolved.strategy, resolved.params)  # the strategy's own checks
        start = utc_midnight(resolved.start)
        end = utc_midnight(resolved.end)
        bars: dict[str, pd.DataFrame] = {}
        synthetic: list[str] = []
        issues: list[Issue] = []
        for symbol in resolved.symbols:
            page = self._market.history(symbol, Interval.D1, start, end)
            if page.bars.is_empty():
                issues.append(Issue("symbols", _empty_reason(symbol, resolved), symbol))
                continue
            bars[page.symbol] = bars_to_pandas(page.bars)
            if page.synthetic:
                synthetic.append(page.symbol)
        if issues:
            raise ValidationError("no bars in the requested range", issues)
        first = min(frame.index[0] for frame in bars.values()).date()
        last = max(frame.index[-1] for frame in bars.values()).date()
        pinned = resolved.model_copy(update={"start": first, "end": last + timedelta(days=1)})
        benchmark = None
        if pinned.benchmark is not None:
            benchmark = self._benchmark(pinned)
        return PreparedBacktest(
            spec=pinned,
            spec_hash=pinned.spec_hash(),
            bars=bars,
            benchmark=benchmark,
            data_digest=_digest(bars, benchmark),
            synthetic=tuple(synthetic),
        )

    def _benchmark(self, spec: BacktestSpec) -> pd.Series:
        assert spec.benchmark is not None
        closes = self._market.closes(
            [spec.benchmark], utc_midnight(spec.start), utc_midnight(spec.end)
        )
        symbol = closes.columns[-1]
        frame = closes.drop_nulls(symbol)
        if frame.is_empty():
            raise ValidationError(
                "no benchmark data",
                [
                    Issue(
                        "benchmark",
                        f"{spec.benchmark!r} has no daily closes between {spec.start} and "
                        f"{spec.end}; pick another benchmark or range",
                        "benchmark",
                    )
                ],
            )
        index = pd.DatetimeIndex(frame["date"].to_list(), name="ts").tz_localize(UTC)
        return pd.Series(frame[symbol].to_numpy(), index=index, name=symbol)

    # -- running -------------------------------------------------------------------------------

    def run(
        self,
        spec: BacktestSpec,
        *,
        owner: Principal | None = None,
        progress: Progress | None = None,
    ) -> BacktestOutcome:
        """Run ``spec`` now and return the stored run with its result.

        Raises
        ------
        ValidationError, NotFound
            As :meth:`prepare`.
        """
        prepared = self.prepare(spec)
        run = self._new_run(prepared, None if owner is None else owner.user_id)
        self._store.add_run(run)
        return self._execute(run, prepared, progress)

    def submit(self, principal: Principal, spec: BacktestSpec) -> BacktestRun:
        """Validate ``spec`` and its data, record a queued run and launch it; return the run.

        Raises
        ------
        ValidationError, NotFound
            As :meth:`prepare`; nothing is recorded then.
        """
        prepared = self.prepare(spec)
        run = self._new_run(prepared, principal.user_id)
        self._store.add_run(run)
        self._launch(lambda: self._execute_quietly(run, prepared))
        return self.get(principal, run.id)

    def _new_run(self, prepared: PreparedBacktest, owner_id: str | None) -> BacktestRun:
        spec = prepared.spec
        return BacktestRun(
            id=new_id("bt"),
            owner_id=owner_id,
            strategy=spec.strategy,
            symbols=tuple(spec.symbols),
            spec=spec.model_dump(mode="json"),
            spec_hash=prepared.spec_hash,
            status=RunStatus.QUEUED,
            created_at=self._clock.now(),
            data_digest=prepared.data_digest,
            synthetic=bool(prepared.synthetic),
        )

    def _execute_quietly(self, run: BacktestRun, prepared: PreparedBacktest) -> None:
        try:
            self._execute(run, prepared, None)
        except Exception as exc:  # a background worker has nobody to raise to
            _log.warning("backtest.failed", run_id=run.id, error=str(exc))  # also on the run

    def _execute(
        self, run: BacktestRun, prepared: PreparedBacktest, progress: Progress | None
    ) -> BacktestOutcome:
        self._store.update_run(run.id, status=RunStatus.RUNNING, started_at=self._clock.now())
        directory = self._artifacts / prepared.spec_hash
        try:
            result, reused = self._result(run, prepared, directory, progress)
        except Exception as exc:
            message = exc.message if isinstance(exc, QuantdeskError) else repr(exc)
            self._store.update_run(
                run.id, status=RunStatus.FAILED, finished_at=self._clock.now(), error=message
            )
            if isinstance(exc, QuantdeskError):
                raise
            raise RuntimeError(f"backtest {run.id} failed: {message}") from exc
        self._store.update_run(
            run.id,
            status=RunStatus.SUCCEEDED,
            progress=1.0,
            finished_at=self._clock.now(),
            metrics=metrics_json(result),
            reused=reused,
        )
        stored = self._store.get_run(run.id)
        assert stored is not None
        return BacktestOutcome(stored, result, directory / _REPORT)

    def _result(
        self,
        run: BacktestRun,
        prepared: PreparedBacktest,
        directory: Path,
        progress: Progress | None,
    ) -> tuple[BacktestResult, bool]:
        with self._lock:  # one writer per artifact directory
            reusable = self._reusable(directory, prepared)
            if reusable is not None:
                return reusable, True
        spec = prepared.spec
        result = run_backtest(
            make_strategy(spec.strategy, spec.params),
            prepared.bars,
            account=spec.account_config(),
            execution=spec.execution_config(),
            benchmark=prepared.benchmark,
            risk_free=spec.risk_free,
            progress=self._progress(run.id, progress),
        )
        meta: dict[str, Any] = {
            "spec": spec.model_dump(mode="json"),
            "spec_hash": prepared.spec_hash,
            "data_digest": prepared.data_digest,
            "synthetic": list(prepared.synthetic),
        }
        with self._lock:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / _REPORT).unlink(missing_ok=True)  # incomplete until rewritten
            save_result(result, directory / _RESULT, spec=meta)
            write_report(
                directory / _REPORT,
                result,
                benchmark=prepared.benchmark,
                title=f"{spec.strategy} on {', '.join(spec.symbols)}",
                spec={**meta["spec"], "hash": prepared.spec_hash},
                synthetic=bool(prepared.synthetic),
                prices=prepared.bars,
            )
        return result, False

    def _reusable(self, directory: Path, prepared: PreparedBacktest) -> BacktestResult | None:
        if not (directory / _REPORT).is_file():  # written last
            return None
        try:
            meta = load_spec(directory / _RESULT) or {}
            if meta.get("data_digest") != prepared.data_digest:
                return None
            return load_result(directory / _RESULT)
        except QuantdeskError:
            return None

    def _progress(self, run_id: str, forward: Progress | None) -> Progress:
        last = [0.0, 0.0]  # fraction, monotonic time of the last store update

        def report(done: int, total: int) -> None:
            if forward is not None:
                forward(done, total)
            fraction = done / total if total else 1.0
            now = time.monotonic()
            if fraction - last[0] >= _PROGRESS_STEP or now - last[1] >= _PROGRESS_SECONDS:
                last[0], last[1] = fraction, now
                self._store.update_run(run_id, progress=min(fraction, 0.99))

        return report

    # -- reading -------------------------------------------------------------------------------

    def get(self, principal: Principal, run_id: str) -> BacktestRun:
        """Return a run the caller may see; :class:`NotFound` otherwise (also for others' runs)."""
        run = self._store.get_run(run_id)
        if run is None or run.owner_id is None or not principal.owns(run.owner_id):
            raise NotFound(f"backtest {run_id!r} not found")
        return run

    def runs(self, principal: Principal, *, limit: int = 50) -> Sequence[BacktestRun]:
        """Return the caller's newest runs (every user's for an administrator)."""
        return self._store.list_runs(None if principal.is_admin else principal.user_id, limit=limit)

    def result(self, principal: Principal, run_id: str) -> BacktestResult:
        """Return the result of a succeeded run.

        Raises
        ------
        NotFound
            For an unknown run, another user's run, or one without a result yet.
        """
        run = self.get(principal, run_id)
        if run.status is not RunStatus.SUCCEEDED:
            raise NotFound(f"backtest {run_id!r} has no result: it is {run.status.value}")
        return load_result(self._artifacts / run.spec_hash / _RESULT)

    def report_path(self, principal: Principal, run_id: str) -> Path:
        """Return the HTML tear sheet of a succeeded run (see :meth:`result` for errors)."""
        run = self.get(principal, run_id)
        path = self._artifacts / run.spec_hash / _REPORT
        if run.status is not RunStatus.SUCCEEDED or not path.is_file():
            raise NotFound(f"backtest {run_id!r} has no report: it is {run.status.value}")
        return path

    def recover(self) -> int:
        """Mark runs left queued or running by a stopped process ``interrupted``."""
        return self._store.interrupt_unfinished(self._clock.now())


def _empty_reason(symbol: str, spec: BacktestSpec) -> str:
    window = f"between {spec.start or 'the first bar'} and {spec.end or 'the last bar'}"
    return f"{symbol} has no daily bars {window}; ingest data or widen the range"


def _digest(bars: dict[str, pd.DataFrame], benchmark: pd.Series | None) -> str:
    digest = hashlib.sha256()
    for symbol in sorted(bars):
        frame = bars[symbol]
        digest.update(symbol.encode())
        digest.update(pd.DatetimeIndex(frame.index).asi8.tobytes())
        for column in frame.columns:
            digest.update(column.encode())
            digest.update(np.ascontiguousarray(frame[column].to_numpy(np.float64)).tobytes())
    if benchmark is not None:
        digest.update(b"benchmark")
        digest.update(pd.DatetimeIndex(benchmark.index).asi8.tobytes())
        digest.update(np.ascontiguousarray(benchmark.to_numpy(np.float64)).tobytes())
    return digest.hexdigest()
