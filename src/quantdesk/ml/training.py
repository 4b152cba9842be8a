"""Train, evaluate, register and use forecasting models over stored market data.

:meth:`MLService.train` builds point-in-time features from a symbol's stored daily bars,
evaluates the model walk-forward (expanding window, purged and embargoed, several test folds)
next to its naive baselines on the same rows, fits the final model on every labelled row and
registers it, with the out-of-sample track record, as a new ``candidate`` version.
:meth:`MLService.promote` makes a version ``production`` only when it beat its best baseline
on the task's primary metric out of sample; otherwise it refuses and shows the numbers.
:meth:`MLService.predict` forecasts from the latest stored bar with the production version
(or the newest one) and always reports that version's track record next to the baseline's.

Tasks (API names → what is forecast):

============  ===================================================================  ==========
task          target over the next ``horizon`` bars                                 primary
============  ===================================================================  ==========
``trend``     direction of the log return, up/down, ignoring moves inside a dead   log loss
              zone (default ±0.25 %)
``price``     log return (the price forecast is ``close * exp(return)``)            MSE
``volatility``realised variance, the sum of squared daily log returns               QLIKE
============  ===================================================================  ==========
"""

from __future__ import annotations

import math
import platform
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import polars as pl

from quantdesk.core.clock import Clock
from quantdesk.core.errors import Conflict, Issue, NotFound, ValidationError
from quantdesk.data.frames import bars_to_pandas, utc_midnight
from quantdesk.data.service import MarketDataService
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Interval
from quantdesk.ml.baselines import EwmaVolatility, RollingVolatility, default_baselines
from quantdesk.ml.evaluation import DataGap, EvaluationReport, detect_gaps, walk_forward_evaluate
from quantdesk.ml.features import FeatureSpec, build_features, read_bars
from quantdesk.ml.labels import forward_direction, forward_realized_variance, forward_return
from quantdesk.ml.models import (
    GarchVolatility,
    LightGBMDirection,
    LightGBMReturn,
    LinearReturn,
)
from quantdesk.ml.ports import ModelRegistry, ModelVersion, Stage
from quantdesk.ml.splits import walk_forward_splits

__all__ = [
    "MODEL_KINDS",
    "TASKS",
    "MLService",
    "ModelKind",
    "ModelPerformance",
    "Prediction",
    "TaskName",
    "TrainingOutcome",
    "model_name",
]

TaskName = Literal["trend", "price", "volatility"]
ModelKind = Literal["lightgbm", "ridge", "garch", "gjr"]
TASKS: dict[TaskName, Literal["direction", "return", "volatility"]] = {
    "trend": "direction",
    "price": "return",
    "volatility": "volatility",
}
MODEL_KINDS: dict[TaskName, tuple[ModelKind, ...]] = {
    "trend": ("lightgbm",),
    "price": ("lightgbm", "ridge"),
    "volatility": ("gjr", "garch"),
}
"""Models per task; the first is the default."""

MAX_HORIZON = 63
MIN_TRAIN_ROWS = 500
EMBARGO = 5
DEFAULT_DEAD_ZONE = 0.0025
_TRAINING = "training"
_EVALUATION = "evaluation"


def model_name(symbol: str, task: TaskName, horizon: int) -> str:
    """Return the registry name of a model, e.g. ``SPX-trend-5d``."""
    return f"{normalize_symbol(symbol)}-{task}-{horizon}d"


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """A registered version and the walk-forward evaluation behind it."""

    version: ModelVersion
    report: EvaluationReport
    gaps: tuple[DataGap, ...]
    rows: int
    features: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModelPerformance:
    """A version's out-of-sample record next to its best baseline's, on the same rows."""

    version: ModelVersion
    task: TaskName
    primary_metric: str
    model: dict[str, float]
    baseline_name: str
    baseline: dict[str, float]
    beats_baseline: bool
    folds: int
    folds_won: int
    calibration: dict[str, list[float]] | None
    test_start: str | None
    test_end: str | None

    @property
    def verdict(self) -> str:
        """Return a plain sentence on whether the model beats the baseline."""
        ours = self.model.get(self.primary_metric, math.nan)
        theirs = self.baseline.get(self.primary_metric, math.nan)
        window = f"out of sample {self.test_start} to {self.test_end}"
        if self.beats_baseline:
            return (
                f"The model beats the {self.baseline_name} baseline on {self.primary_metric} "
                f"{window} ({ours:.6g} vs {theirs:.6g}; won {self.folds_won} of "
                f"{self.folds} folds)."
            )
        return (
            f"No model beats the baseline: {self.primary_metric} {ours:.6g} against "
            f"{theirs:.6g} for {self.baseline_name} {window}; prefer the baseline."
        )


@dataclass(frozen=True, slots=True)
class Prediction:
    """A forecast from the latest bar, with the track record that qualifies it."""

    symbol: str
    task: TaskName
    horizon: int
    as_of: datetime
    last_close: float
    values: dict[str, float]
    performance: ModelPerformance
    notes: tuple[str, ...] = field(default_factory=tuple)


def _code_version() -> str:
    try:
        package = metadata.version("quantdesk")
    except metadata.PackageNotFoundError:
        package = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{package}+{commit}" if commit else package


class MLService:
    """Forecasting models over the bars of :class:`MarketDataService`, tracked in a registry.

    Parameters
    ----------
    market
        Source of daily bars.
    registry
        Where runs, versions and stages are kept (MLflow in the runtime).
    clock
        Time of training runs.
    sentiment
        Returns a symbol's stored daily news sentiment (``date``/``mean``/``count``/
        ``dispersion``) or ``None``; when it has rows, the sentiment features join the model's.
    """

    def __init__(
        self,
        market: MarketDataService,
        registry: ModelRegistry,
        clock: Clock,
        sentiment: Callable[[str], pd.DataFrame | pl.DataFrame | None] | None = None,
        market_symbol: str | None = "SPX",
    ) -> None:
        self._market = market
        self._registry = registry
        self._clock = clock
        self._sentiment = sentiment
        self._market_symbol = market_symbol
        self._code_version: str | None = None

    def _context(self, symbol: str, bars: pd.DataFrame) -> pd.Series | None:
        """Return the market index closes over the bars' range (``None`` for the index itself
        or when it is not stored)."""
        if self._market_symbol is None or normalize_symbol(self._market_symbol) == symbol:
            return None
        try:
            page = self._market.history(self._market_symbol, Interval.D1, bars.index[0], None)
        except NotFound:
            return None
        if page.bars.is_empty():
            return None
        closes = page.bars.select(["ts", "close"]).to_pandas().set_index("ts")["close"]
        closes.index = pd.DatetimeIndex(closes.index).tz_convert(UTC)
        return closes

    def _news(self, symbol: str, bars: pd.DataFrame) -> pd.DataFrame | pl.DataFrame | None:
        """Return the symbol's daily sentiment when some of it falls inside the bars' range."""
        if self._sentiment is None:
            return None
        frame = self._sentiment(symbol)
        if frame is None or len(frame) == 0:
            return None
        dates = pd.to_datetime(pd.Series(list(frame["date"])))
        first, last = bars.index[0].date(), bars.index[-1].date()
        inside = (dates.dt.date >= first) & (dates.dt.date <= last)
        return frame if bool(inside.any()) else None

    # -- inputs ------------------------------------------------------------------------------

    @staticmethod
    def check(task: str, horizon: int, model: str | None = None) -> tuple[TaskName, ModelKind]:
        """Validate a task, horizon and model kind; return the task and the model kind.

        Raises
        ------
        ValidationError
            Naming ``task``, ``horizon`` or ``model``.
        """
        if task not in TASKS:
            raise ValidationError(
                "unknown task",
                [Issue("task", f"{task!r}: choose one of {', '.join(TASKS)}", "task")],
            )
        name: TaskName = task
        if not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON:
            raise ValidationError(
                "horizon out of range",
                [Issue("horizon", f"must be 1 to {MAX_HORIZON} bars, got {horizon}", "horizon")],
            )
        kinds = MODEL_KINDS[name]
        if model is None:
            return name, kinds[0]
        if model not in kinds:
            raise ValidationError(
                "unknown model",
                [
                    Issue(
                        "model", f"{model!r} for {task}: choose one of {', '.join(kinds)}", "model"
                    )
                ],
            )
        return name, model

    def _bars(self, symbol: str, start: date | None, end: date | None) -> tuple[str, pd.DataFrame]:
        page = self._market.history(symbol, Interval.D1, utc_midnight(start), utc_midnight(end))
        if page.bars.is_empty():
            raise ValidationError(
                "no bars in the requested range",
                [Issue("symbol", f"{page.symbol} has no daily bars in that range", "symbol")],
            )
        return page.symbol, read_bars(bars_to_pandas(page.bars))

    @staticmethod
    def _labels(task: TaskName, close: pd.Series, horizon: int, dead_zone: float) -> pd.Series:
        if task == "trend":
            return forward_direction(close, horizon, dead_zone)
        if task == "price":
            return forward_return(close, horizon)
        return forward_realized_variance(close, horizon)

    @staticmethod
    def _factories(
        task: TaskName, kind: ModelKind, returns: pd.Series, horizon: int
    ) -> tuple[Callable[[], Any], list[Callable[[], Any]] | None]:
        if task == "trend":
            return LightGBMDirection, None
        if task == "price":
            return (LightGBMReturn if kind == "lightgbm" else partial(LinearReturn, 10.0)), None
        baselines: list[Callable[[], Any]] = [
            partial(EwmaVolatility, returns, horizon, 0.94),
            partial(RollingVolatility, returns, horizon, 21),
            partial(RollingVolatility, returns, horizon, 63),
        ]
        garch_kind: Literal["garch", "gjr"] = "gjr" if kind == "gjr" else "garch"
        return partial(GarchVolatility, returns, horizon, kind=garch_kind), baselines

    # -- training ----------------------------------------------------------------------------

    def train(
        self,
        symbol: str,
        task: str,
        horizon: int,
        *,
        model: str | None = None,
        start: date | None = None,
        end: date | None = None,
        dead_zone: float = DEFAULT_DEAD_ZONE,
    ) -> TrainingOutcome:
        """Evaluate walk-forward, fit on every labelled row and register a candidate version.

        Raises
        ------
        ValidationError
            For a bad task, horizon, model or dead zone, or too little history for at least
            one test fold after ``MIN_TRAIN_ROWS`` training rows (the message says how much).
        NotFound
            For an unknown symbol.
        """
        name, kind = self.check(task, horizon, model)
        if not (math.isfinite(dead_zone) and 0.0 <= dead_zone < 0.1):
            raise ValidationError(
                "invalid dead zone", [Issue("dead_zone", "must be in [0, 0.1)", "dead_zone")]
            )
        sym, bars = self._bars(symbol, start, end)
        close = bars["close"]
        returns = np.log(close).diff()
        spec = FeatureSpec()
        news = self._news(sym, bars)
        context = self._context(sym, bars)
        features = build_features(bars, spec, market=context, sentiment=news)
        frame = features.frame
        labels = self._labels(name, close, horizon, dead_zone).reindex(frame.index)
        needed = MIN_TRAIN_ROWS + horizon + EMBARGO + 60
        if len(frame) < needed:
            raise ValidationError(
                "too little history",
                [
                    Issue(
                        "start",
                        f"{sym} has {len(frame)} usable rows after the feature warm-up "
                        f"({features.warmup_rows} rows); training needs at least {needed}: "
                        "widen the date range",
                        "start",
                    )
                ],
            )
        test_size = max(60, (len(frame) - MIN_TRAIN_ROWS) // 5)
        splits = walk_forward_splits(
            frame.index,
            horizon=horizon,
            min_train_size=MIN_TRAIN_ROWS,
            test_size=test_size,
            embargo=EMBARGO,
        )
        factory, baselines = self._factories(name, kind, returns, horizon)
        report = walk_forward_evaluate(
            TASKS[name],
            factory,
            frame,
            labels,
            splits,
            baselines if baselines is not None else list(default_baselines(TASKS[name])),
        )
        final = factory()
        known = labels.notna()
        final.fit(frame[known], labels[known])
        gaps = detect_gaps(pd.DatetimeIndex(bars.index))
        if self._code_version is None:
            self._code_version = _code_version()
        trained_at = self._clock.now()
        data_start, data_end = bars.index[0].date().isoformat(), bars.index[-1].date().isoformat()
        params: dict[str, Any] = {
            "symbol": sym,
            "task": name,
            "horizon": horizon,
            "model": kind,
            "dead_zone": dead_zone if name == "trend" else "",
            "data_start": data_start,
            "data_end": data_end,
            "rows": int(known.sum()),
            "folds": len(splits),
            "min_train_rows": MIN_TRAIN_ROWS,
            "embargo": EMBARGO,
            "features": len(features.names),
            "sentiment": news is not None,
            "market_context": "" if context is None else self._market_symbol,
            **{f"model.{k}": v for k, v in report.model_params.items()},
        }
        tags = {
            "task": name,
            "symbol": sym,
            "horizon": str(horizon),
            "model_kind": kind,
            "primary_metric": report.primary_metric,
            "best_baseline": report.best_baseline,
            "beats_baseline": str(report.beats_baseline).lower(),
            "model_predictor": report.model_name,
            "data_window": f"{data_start}..{data_end}",
            "code_version": self._code_version,
            "python": platform.python_version(),
            "trained_at": trained_at.isoformat(),
        }
        metrics = {
            key: value
            for key, value in report.flat_metrics().items()
            if isinstance(value, float | int) and math.isfinite(value)
        }
        evaluation = report.to_dict()
        training = {
            "feature_names": list(features.names),
            "dropped_features": [list(item) for item in features.dropped],
            "gaps": [g.as_dict() for g in gaps],
            "spec": spec.to_dict(),
        }
        artifact = {
            "model": final,
            "spec": spec,
            "task": name,
            "horizon": horizon,
            "sentiment": news is not None,
            "market": context is not None,
        }
        registered = self._registry.register(
            model_name(sym, name, horizon),
            artifact,
            params=params,
            metrics=metrics,
            tags=tags,
            documents={_EVALUATION: evaluation, _TRAINING: training},
        )
        return TrainingOutcome(registered, report, gaps, int(known.sum()), tuple(features.names))

    # -- registry ----------------------------------------------------------------------------

    def models(self, name: str | None = None) -> Sequence[ModelVersion]:
        """Return registered versions (of ``name``, or every model), newest first."""
        return self._registry.versions(name)

    def in_use(self, name: str | None = None) -> list[ModelVersion]:
        """Return, per model (or for ``name``), the version predictions use: production,
        else the newest."""
        chosen: dict[str, ModelVersion] = {}
        for version in self._registry.versions(name):  # newest first per model
            current = chosen.get(version.name)
            if current is None or (
                version.stage is Stage.PRODUCTION and current.stage is not Stage.PRODUCTION
            ):
                chosen[version.name] = version
        return [chosen[key] for key in sorted(chosen)]

    def performance(self, version: ModelVersion) -> ModelPerformance:
        """Return the out-of-sample record of ``version`` next to its best baseline's."""
        evaluation = self._registry.document(version, _EVALUATION)
        pooled: dict[str, dict[str, Any]] = evaluation["pooled"]
        predictor = evaluation["model_name"]
        best = evaluation["best_baseline"]
        folds = evaluation.get("folds", [])
        calibration = None
        curves = evaluation.get("calibration") or {}
        if predictor in curves:
            calibration = {k: list(v) for k, v in curves[predictor].items() if isinstance(v, list)}
        return ModelPerformance(
            version=version,
            task=version.tags.get("task", "trend"),  # type: ignore[arg-type]
            primary_metric=evaluation["primary_metric"],
            model=_finite(pooled[predictor]),
            baseline_name=best,
            baseline=_finite(pooled[best]),
            beats_baseline=bool(evaluation["beats_baseline"]),
            folds=len(folds),
            folds_won=int(evaluation.get("folds_won", 0)),
            calibration=calibration,
            test_start=str(folds[0]["test_start"])[:10] if folds else None,
            test_end=str(folds[-1]["test_end"])[:10] if folds else None,
        )

    def promote(self, name: str, version: int) -> ModelVersion:
        """Make ``version`` of ``name`` the production version.

        Raises
        ------
        Conflict
            When the version did not beat its best baseline out of sample; the message gives
            both numbers.
        NotFound
            For an unknown model or version.
        """
        candidate = self._registry.get(name, version)
        record = self.performance(candidate)
        if not record.beats_baseline:
            ours = record.model.get(record.primary_metric, math.nan)
            theirs = record.baseline.get(record.primary_metric, math.nan)
            raise Conflict(
                f"{name} v{version} cannot be promoted: out of sample its "
                f"{record.primary_metric} is {ours:.6g} against {theirs:.6g} for the "
                f"{record.baseline_name} baseline ({record.test_start} to {record.test_end}); "
                "only a version that beats its baseline goes to production"
            )
        return self._registry.set_stage(name, version, Stage.PRODUCTION)

    # -- prediction --------------------------------------------------------------------------

    def predict(self, symbol: str, task: str, horizon: int) -> Prediction:
        """Forecast ``task`` over ``horizon`` bars from the latest stored bar of ``symbol``.

        Uses the production version, or the newest when none is in production (the notes say
        so).

        Raises
        ------
        ValidationError
            For a bad task or horizon.
        NotFound
            For an unknown symbol, or when no model was trained for it (the message says how
            to train one).
        """
        name, _ = self.check(task, horizon)
        sym, bars = self._bars(symbol, None, None)
        chosen = self._registry.get(model_name(sym, name, horizon))
        artifact = self._registry.load(chosen)
        spec: FeatureSpec = artifact["spec"]
        fitted = artifact["model"]
        close = bars["close"]
        if name == "volatility":
            fitted.returns = np.log(close).diff()  # filter the stored parameters up to today
        news = self._news(sym, bars) if artifact.get("sentiment") else None
        context = self._context(sym, bars) if artifact.get("market") else None
        frame = build_features(bars, spec, market=context, sentiment=news).frame
        latest = frame.iloc[[-1]]
        last_close = float(close.iloc[-1])
        values: dict[str, float]
        if name == "trend":
            probability = float(np.asarray(fitted.predict_proba(latest))[-1])
            values = {
                "probability_up": probability,
                "direction": 1.0 if probability >= 0.5 else -1.0,
            }
        elif name == "price":
            expected = float(np.asarray(fitted.predict(latest))[-1])
            values = {"expected_log_return": expected, "price": last_close * math.exp(expected)}
        else:
            variance = float(np.asarray(fitted.predict(latest))[-1])
            values = {
                "variance": variance,
                "volatility": math.sqrt(max(variance, 0.0)),
                "annualized_volatility": math.sqrt(max(variance, 0.0) * 252.0 / horizon),
            }
        notes: list[str] = []
        if chosen.stage is not Stage.PRODUCTION:
            notes.append(
                f"{chosen.name} has no production version; this is the newest candidate "
                f"(v{chosen.version})"
            )
        record = self.performance(chosen)
        notes.append(record.verdict)
        as_of = pd.Timestamp(frame.index[-1]).to_pydatetime()
        return Prediction(sym, name, horizon, as_of, last_close, values, record, tuple(notes))


def _finite(values: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in values.items()
        if isinstance(v, int | float) and math.isfinite(float(v))
    }


def task_names() -> tuple[str, ...]:
    """Return the task names accepted by the service."""
    return get_args(TaskName)
