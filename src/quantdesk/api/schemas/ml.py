"""Forecasting wire models: training, predictions with their track record, the registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from quantdesk.ml.ports import ModelVersion, Stage
from quantdesk.ml.training import (
    MAX_HORIZON,
    ModelKind,
    ModelPerformance,
    Prediction,
    TaskName,
    TrainingOutcome,
)

Symbol = Annotated[str, Field(min_length=1, max_length=32, examples=["SPX"])]
Horizon = Annotated[int, Field(ge=1, le=MAX_HORIZON, description="Bars ahead")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Body):
    """What to forecast: a symbol and a horizon in bars."""

    symbol: Symbol
    horizon: Horizon = 5


class TrainRequest(_Body):
    """Train and register a model on stored daily bars (walk-forward evaluated)."""

    symbol: Symbol
    task: TaskName
    horizon: Horizon = 5
    model: ModelKind | None = Field(
        default=None, description="lightgbm (trend, price), ridge (price), gjr or garch"
    )
    start: date | None = None
    end: date | None = None
    dead_zone: Annotated[float, Field(ge=0.0, lt=0.1)] = 0.0025


class ModelVersionPublic(BaseModel):
    """A registered model version."""

    name: str
    version: int
    stage: Stage
    run_id: str
    created_at: datetime
    params: dict[str, str]
    tags: dict[str, str]

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionPublic:
        """Return the wire form of ``version``."""
        return cls(
            name=version.name,
            version=version.version,
            stage=version.stage,
            run_id=version.run_id,
            created_at=version.created_at,
            params=dict(version.params),
            tags=dict(version.tags),
        )


class PerformancePublic(BaseModel):
    """A version's out-of-sample metrics next to its best baseline's on the same rows."""

    model: ModelVersionPublic
    task: str
    primary_metric: str
    metrics: dict[str, float]
    baseline: str
    baseline_metrics: dict[str, float]
    beats_baseline: bool
    folds: int
    folds_won: int
    test_start: str | None
    test_end: str | None
    calibration: dict[str, list[float]] | None
    verdict: str = Field(description="Plain words: does the model beat the baseline?")

    @classmethod
    def of(cls, record: ModelPerformance) -> PerformancePublic:
        """Return the wire form of ``record``."""
        return cls(
            model=ModelVersionPublic.of(record.version),
            task=record.task,
            primary_metric=record.primary_metric,
            metrics=record.model,
            baseline=record.baseline_name,
            baseline_metrics=record.baseline,
            beats_baseline=record.beats_baseline,
            folds=record.folds,
            folds_won=record.folds_won,
            test_start=record.test_start,
            test_end=record.test_end,
            calibration=record.calibration,
            verdict=record.verdict,
        )


class PredictionPublic(BaseModel):
    """A forecast from the latest bar with the model's and the baseline's track record."""

    symbol: str
    task: str
    horizon: int
    as_of: datetime
    last_close: float
    forecast: dict[str, float]
    performance: PerformancePublic
    notes: list[str]

    @classmethod
    def of(cls, prediction: Prediction) -> PredictionPublic:
        """Return the wire form of ``prediction``."""
        return cls(
            symbol=prediction.symbol,
            task=prediction.task,
            horizon=prediction.horizon,
            as_of=prediction.as_of,
            last_close=prediction.last_close,
            forecast=prediction.values,
            performance=PerformancePublic.of(prediction.performance),
            notes=list(prediction.notes),
        )


class TrainingPublic(BaseModel):
    """A trained, registered version with its evaluation and the data gaps found."""

    model: ModelVersionPublic
    rows: int
    features: list[str]
    primary_metric: str
    beats_baseline: bool
    best_baseline: str
    pooled: dict[str, dict[str, Any]]
    gaps: list[dict[str, Any]] = Field(description="Gaps of more than 5 calendar days")
    notes: list[str]

    @classmethod
    def of(cls, outcome: TrainingOutcome) -> TrainingPublic:
        """Return the wire form of ``outcome``."""
        report = outcome.report.to_dict()
        return cls(
            model=ModelVersionPublic.of(outcome.version),
            rows=outcome.rows,
            features=list(outcome.features),
            primary_metric=report["primary_metric"],
            beats_baseline=bool(report["beats_baseline"]),
            best_baseline=report["best_baseline"],
            pooled=report["pooled"],
            gaps=[gap.as_dict() for gap in outcome.gaps],
            notes=list(outcome.report.notes),
        )


class ModelsPublic(BaseModel):
    """Registered versions, newest first per model."""

    models: list[ModelVersionPublic]


class PerformancesPublic(BaseModel):
    """Per model: the version in use and its out-of-sample record."""

    models: list[PerformancePublic]
