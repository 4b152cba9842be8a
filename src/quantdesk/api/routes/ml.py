"""Forecasts: train and register models, predict with their track record, promote versions.

Models are shared by every user (the registry is the platform's). Every prediction carries
the version used, its out-of-sample record and the best baseline's on the same rows, and says
plainly when the model does not beat the baseline. Training runs in the request (seconds on
daily bars).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from quantdesk.api.deps import RuntimeDep, requires
from quantdesk.api.schemas.ml import (
    ModelsPublic,
    ModelVersionPublic,
    PerformancePublic,
    PerformancesPublic,
    PredictionPublic,
    PredictRequest,
    TrainingPublic,
    TrainRequest,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission
from quantdesk.ml.training import MLService, TaskName

router = APIRouter(prefix="/ml", tags=["ml"])

ReadDep = Annotated[Principal, requires(Permission.ML_READ)]
TrainDep = Annotated[Principal, requires(Permission.ML_TRAIN)]
ModelName = Annotated[str, Path(min_length=1, max_length=80, description="e.g. SPX-trend-5d")]


def get_ml_service(runtime: RuntimeDep) -> MLService:
    """Return the forecasting service."""
    return runtime.ml


ServiceDep = Annotated[MLService, Depends(get_ml_service)]


def _predict(task: TaskName, body: PredictRequest, service: MLService) -> PredictionPublic:
    return PredictionPublic.of(service.predict(body.symbol, task, body.horizon))


@router.post("/predict/price", response_model=PredictionPublic)
def predict_price(
    body: PredictRequest, principal: ReadDep, service: ServiceDep
) -> PredictionPublic:
    """Expected log return over the horizon and the implied price, with the track record."""
    return _predict("price", body, service)


@router.post("/predict/trend", response_model=PredictionPublic)
def predict_trend(
    body: PredictRequest, principal: ReadDep, service: ServiceDep
) -> PredictionPublic:
    """Probability that the price is up after the horizon, with the track record."""
    return _predict("trend", body, service)


@router.post("/predict/volatility", response_model=PredictionPublic)
def predict_volatility(
    body: PredictRequest, principal: ReadDep, service: ServiceDep
) -> PredictionPublic:
    """Forecast variance and volatility over the horizon, with the track record."""
    return _predict("volatility", body, service)


@router.get("/model/performance", response_model=PerformancesPublic)
def read_performance(
    principal: ReadDep,
    service: ServiceDep,
    name: Annotated[str | None, Query(max_length=80, description="One model only")] = None,
) -> PerformancesPublic:
    """Per model, the version in use (production, else newest): out-of-sample metrics vs the
    best baseline, calibration and when it was trained."""
    records = [PerformancePublic.of(service.performance(v)) for v in service.in_use(name)]
    return PerformancesPublic(models=records)


@router.get("/models", response_model=ModelsPublic)
def list_models(
    principal: ReadDep,
    service: ServiceDep,
    name: Annotated[str | None, Query(max_length=80)] = None,
) -> ModelsPublic:
    """Every registered version (of ``name``), newest first per model."""
    return ModelsPublic(models=[ModelVersionPublic.of(v) for v in service.models(name)])


@router.post("/models/train", response_model=TrainingPublic, status_code=status.HTTP_201_CREATED)
def train_model(body: TrainRequest, principal: TrainDep, service: ServiceDep) -> TrainingPublic:
    """Evaluate walk-forward against the baselines, fit on all labelled rows and register a
    new candidate version; data gaps in the range are reported."""
    outcome = service.train(
        body.symbol,
        body.task,
        body.horizon,
        model=body.model,
        start=body.start,
        end=body.end,
        dead_zone=body.dead_zone,
    )
    return TrainingPublic.of(outcome)


@router.post("/models/{name}/versions/{version}/promote", response_model=ModelVersionPublic)
def promote_model(
    name: ModelName,
    version: Annotated[int, Path(ge=1)],
    principal: TrainDep,
    service: ServiceDep,
) -> ModelVersionPublic:
    """Make a version production; refused (409, with the numbers) unless it beat its best
    baseline out of sample."""
    return ModelVersionPublic.of(service.promote(name, version))
