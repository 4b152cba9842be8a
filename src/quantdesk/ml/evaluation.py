"""Walk-forward, out-of-sample evaluation of a model next to its naive baselines.

:func:`walk_forward_evaluate` refits a fresh model and fresh baselines on each fold's
training rows and scores all of them on **the same** test rows: rows with a label (NaN
labels, e.g. the dead zone or the last h bars, are left out of training and testing) where
every predictor gave a usable forecast (finite; positive for variances; rows any predictor
cannot forecast are left out for all and counted). Metrics are reported per fold and pooled
over every fold's test rows.

Primary metric (lower is better for all three), on which ``beats_baseline`` compares the
model with the best baseline (pooled, strictly better):

- direction: **log loss** of P(up). A proper scoring rule: it rewards calibrated
  probabilities, and the baselines' training up-rate is a real bar to clear, where balanced
  accuracy gives any constant call exactly 0.5 and says nothing about confidence.
- return: **MSE**. Rank IC is reported too, but it is undefined for the constant baselines
  (zero, historical mean), so it cannot rank a model against them.
- volatility: **QLIKE** (:func:`quantdesk.ml.metrics.qlike`). When a realised-variance label
  is exactly 0 (a flat day) QLIKE is infinite for every forecaster, and the primary becomes
  ``qlike_unnormalized``, which ranks forecasts identically on the same rows (noted in
  ``notes``).

:func:`detect_gaps` reports holes in the data: consecutive bars more than
``max_calendar_days`` calendar days apart (a normal weekend or holiday weekend is at most 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.ml.baselines import default_baselines
from quantdesk.ml.metrics import (
    CalibrationCurve,
    calibration_curve,
    direction_metrics,
    return_metrics,
    volatility_metrics,
)
from quantdesk.ml.models.base import TASKS, DirectionForecaster, ForecastModel, Task
from quantdesk.ml.splits import Fold

__all__ = [
    "PRIMARY_METRICS",
    "DataGap",
    "EvaluationReport",
    "FoldResult",
    "ModelFactory",
    "detect_gaps",
    "walk_forward_evaluate",
]

FloatArray = npt.NDArray[np.float64]
#: Builds a fresh, unfitted model (a class, or ``functools.partial`` of one).
ModelFactory = Callable[[], ForecastModel]
#: The primary metric of each task; lower is better for all of them.
PRIMARY_METRICS: dict[Task, str] = {
    "direction": "log_loss",
    "return": "mse",
    "volatility": "qlike",
}


@dataclass(frozen=True, slots=True)
class DataGap:
    """Two consecutive bars further apart than the gap threshold.

    Attributes
    ----------
    start, end
        The bars either side of the gap.
    calendar_days
        Calendar days between them.
    missing_weekdays
        Monday-to-Friday days strictly between them (holidays included).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    calendar_days: int
    missing_weekdays: int

    def as_dict(self) -> dict[str, Any]:
        """Return the gap as JSON-compatible data."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "calendar_days": self.calendar_days,
            "missing_weekdays": self.missing_weekdays,
        }


def detect_gaps(index: pd.DatetimeIndex, max_calendar_days: int = 5) -> tuple[DataGap, ...]:
    """Return every gap of more than ``max_calendar_days`` calendar days between bars.

    Parameters
    ----------
    index
        Bar times, increasing.
    max_calendar_days
        Largest normal spacing (5 allows a four-day holiday weekend plus slack).

    Returns
    -------
    tuple[DataGap, ...]
        In time order.

    Raises
    ------
    ValidationError
        If ``max_calendar_days`` < 1.
    """
    if isinstance(max_calendar_days, bool) or max_calendar_days < 1:
        raise ValidationError(
            "invalid max_calendar_days",
            [Issue("max_calendar_days", f"got {max_calendar_days!r}; use >= 1")],
        )
    days = pd.DatetimeIndex(index)
    if days.tz is not None:
        days = days.tz_localize(None)
    calendar = days.to_numpy().astype("datetime64[D]")
    spacing = np.diff(calendar.astype(np.int64))
    gaps: list[DataGap] = []
    for position in (int(p) for p in np.flatnonzero(spacing > max_calendar_days)):
        start, end = index[position], index[position + 1]
        between = np.busday_count(calendar[position] + 1, calendar[position + 1])
        gaps.append(DataGap(start, end, int(spacing[position]), int(between)))
    return tuple(gaps)


@dataclass(frozen=True)
class FoldResult:
    """One fold's sizes, bounds and each predictor's metrics on its test rows.

    Attributes
    ----------
    number
        Fold number.
    train_start, train_end, test_start, test_end
        First and last labelled training / scored test rows.
    n_train, n_test
        Labelled training rows and scored test rows.
    purged, embargoed
        Training samples the split removed.
    dropped_rows
        Labelled test rows left out because some predictor gave no usable forecast.
    metrics
        ``{predictor: {metric: value}}``.
    """

    number: int
    train_start: Any
    train_end: Any
    test_start: Any
    test_end: Any
    n_train: int
    n_test: int
    purged: int
    embargoed: int
    dropped_rows: int
    metrics: dict[str, dict[str, float]]


@dataclass(frozen=True)
class EvaluationReport:
    """Out-of-sample track record of a model next to its baselines.

    Attributes
    ----------
    task
        The task.
    model_name, model_params
        The model and its parameters (from the last fold's fit).
    baseline_names
        The baselines, in the order given.
    primary_metric
        The metric ``beats_baseline`` compares (lower is better).
    folds
        Per-fold results.
    pooled
        ``{predictor: {metric: value}}`` over all scored test rows.
    best_baseline
        The baseline with the best pooled primary metric.
    beats_baseline
        Whether the model's pooled primary metric is strictly better than the best
        baseline's.
    folds_won
        Folds in which the model beat every baseline on the primary metric.
    calibration
        Pooled calibration curves of direction forecasters.
    gaps
        Data gaps in the features' time range.
    predictions
        Out-of-sample rows: ``fold``, ``y_true``, one column per predictor (and
        ``<name>_proba`` for direction).
    notes
        Anything the reader needs to interpret the numbers.
    """

    task: Task
    model_name: str
    model_params: dict[str, Any]
    baseline_names: tuple[str, ...]
    primary_metric: str
    folds: tuple[FoldResult, ...]
    pooled: dict[str, dict[str, float]]
    best_baseline: str
    beats_baseline: bool
    folds_won: int
    calibration: dict[str, CalibrationCurve] = field(default_factory=dict)
    gaps: tuple[DataGap, ...] = ()
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    def metrics_frame(self) -> pd.DataFrame:
        """Return the pooled metrics, one row per predictor (model first)."""
        return pd.DataFrame.from_dict(self.pooled, orient="index")

    def fold_frame(self, metric: str | None = None) -> pd.DataFrame:
        """Return one metric (the primary by default) per fold and predictor."""
        name = metric or self.primary_metric
        rows = {
            fold.number: {p: values.get(name, math.nan) for p, values in fold.metrics.items()}
            for fold in self.folds
        }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("fold")

    def flat_metrics(self) -> dict[str, float]:
        """Return pooled metrics as ``{"<predictor>.<metric>": value}`` (for trackers)."""
        return {
            f"{predictor}.{metric}": value
            for predictor, values in self.pooled.items()
            for metric, value in values.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the report without predictions as JSON-compatible data (NaN → None)."""
        data: dict[str, Any] = _jsonable(
            {
                "task": self.task,
                "model_name": self.model_name,
                "model_params": self.model_params,
                "baselines": list(self.baseline_names),
                "primary_metric": self.primary_metric,
                "beats_baseline": self.beats_baseline,
                "best_baseline": self.best_baseline,
                "folds_won": self.folds_won,
                "pooled": self.pooled,
                "folds": [
                    {
                        "fold": f.number,
                        "train_start": f.train_start,
                        "train_end": f.train_end,
                        "test_start": f.test_start,
                        "test_end": f.test_end,
                        "n_train": f.n_train,
                        "n_test": f.n_test,
                        "purged": f.purged,
                        "embargoed": f.embargoed,
                        "dropped_rows": f.dropped_rows,
                        "metrics": f.metrics,
                    }
                    for f in self.folds
                ],
                "calibration": {k: v.as_dict() for k, v in self.calibration.items()},
                "gaps": [gap.as_dict() for gap in self.gaps],
                "notes": list(self.notes),
            }
        )
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# --- checks ----------------------------------------------------------------------------------


def _check_inputs(
    task: str, features: pd.DataFrame, labels: pd.Series[float], splits: Sequence[Fold]
) -> pd.Series[float]:
    if task not in TASKS:
        raise ValidationError(
            "unknown task", [Issue("task", f"got {task!r}; use direction, return or volatility")]
        )
    if not isinstance(features, pd.DataFrame) or features.shape[1] == 0 or len(features) == 0:
        raise ValidationError(
            "features must be a non-empty DataFrame",
            [Issue("features", "pass the frame from build_features (rows = bars)")],
        )
    if features.index.has_duplicates:
        raise ValidationError("features index repeats", [Issue("features", "drop duplicates")])
    values = features.to_numpy(np.float64, na_value=np.nan)
    empty = ~np.isfinite(values).any(axis=0)
    if empty.any():
        raise ValidationError(
            "features contain columns without a single finite value",
            [
                Issue("features", "every value is NaN; drop the column", field=str(name))
                for name in features.columns[empty]
            ],
        )
    if not isinstance(labels, pd.Series) or labels.index.has_duplicates:
        raise ValidationError(
            "labels must be a Series with a unique index",
            [Issue("labels", "pass the labels indexed like the features")],
        )
    aligned = labels.reindex(features.index).astype(np.float64)
    if not np.isfinite(aligned.to_numpy()).any():
        raise ValidationError(
            "no labels at the feature rows",
            [Issue("labels", "no finite label shares a date with the features")],
        )
    if not splits:
        raise ValidationError("no folds", [Issue("splits", "pass walk_forward_splits(...)")])
    n = len(features)
    for fold in splits:
        for part in (fold.train, fold.test):
            if part.size and (part.min() < 0 or part.max() >= n):
                raise ValidationError(
                    "fold positions outside the features",
                    [
                        Issue(
                            "splits",
                            f"fold {fold.number} refers to row {int(part.max())}, but the "
                            f"features have {n} rows; build the splits on the same index",
                        )
                    ],
                )
    return aligned


def _instantiate(factory: ModelFactory, task: Task, parameter: str) -> ForecastModel:
    model = factory()
    if model.task != task:
        raise ValidationError(
            "model task mismatch",
            [Issue(parameter, f"{model.name} forecasts {model.task!r}, not {task!r}")],
        )
    if task == "direction" and not isinstance(model, DirectionForecaster):
        raise ValidationError(
            "direction models need predict_proba",
            [Issue(parameter, f"{model.name} gives no P(up)")],
        )
    return model


def _metrics(
    task: Task, truth: FloatArray, prediction: FloatArray, proba: FloatArray | None
) -> dict[str, float]:
    if task == "direction":
        assert proba is not None
        return direction_metrics(truth, proba, prediction)
    if task == "return":
        return return_metrics(truth, prediction)
    return volatility_metrics(truth, prediction)


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class _Scored:
    truth: list[FloatArray] = field(default_factory=list)
    predictions: dict[str, list[FloatArray]] = field(default_factory=dict)
    probabilities: dict[str, list[FloatArray]] = field(default_factory=dict)


def walk_forward_evaluate(
    task: Task,
    model_factory: ModelFactory,
    features: pd.DataFrame,
    labels: pd.Series[float],
    splits: Sequence[Fold],
    baselines: Sequence[ModelFactory] | None = None,
    *,
    calibration_bins: int = 10,
    max_gap_days: int = 5,
) -> EvaluationReport:
    """Refit and score a model and its baselines on every fold; return the track record.

    Parameters
    ----------
    task
        ``"direction"``, ``"return"`` or ``"volatility"``.
    model_factory
        Builds a fresh unfitted model per fold.
    features
        Feature rows (e.g. ``build_features(...).frame``); the splits index its rows.
    labels
        Labels indexed like ``features`` (reindexed to it; NaN rows are not used).
    splits
        Folds over the feature rows (:func:`quantdesk.ml.splits.walk_forward_splits`).
    baselines
        Baseline factories; :func:`quantdesk.ml.baselines.default_baselines` of the task
        when omitted (volatility baselines need returns, so pass them explicitly).
    calibration_bins
        Bins of the pooled calibration curves (direction).
    max_gap_days
        Gap threshold of :func:`detect_gaps`.

    Returns
    -------
    EvaluationReport
        Per-fold and pooled metrics, the primary-metric verdict, calibration, data gaps and
        the out-of-sample predictions.

    Raises
    ------
    ValidationError
        On an unknown task, empty or all-NaN feature columns, labels that miss the features,
        folds outside the features, a fold with fewer than 2 labelled training rows, a model
        of the wrong task, repeated predictor names, or no scorable test row.
    """
    aligned = _check_inputs(task, features, labels, splits)
    factories = list(baselines) if baselines is not None else default_baselines(task)
    if not factories:
        raise ValidationError("no baselines", [Issue("baselines", "pass at least one")])
    labelled = np.isfinite(aligned.to_numpy())
    scored = _Scored()
    folds: list[FoldResult] = []
    names: list[str] = []
    model_params: dict[str, Any] = {}
    notes: list[str] = []
    frames: list[pd.DataFrame] = []
    for fold in splits:
        train = fold.train[labelled[fold.train]]
        test = fold.test[labelled[fold.test]]
        if train.size < 2:
            raise ValidationError(
                "too little training data",
                [
                    Issue(
                        "splits",
                        f"fold {fold.number} has {train.size} labelled training "
                        "rows; use a longer min_train_size or more history",
                    )
                ],
            )
        if test.size == 0:
            notes.append(f"fold {fold.number} has no labelled test row and was skipped")
            continue
        x_train, y_train = features.iloc[train], aligned.iloc[train]
        x_test = features.iloc[test]
        outputs: dict[str, tuple[FloatArray, FloatArray | None]] = {}
        for position, factory in enumerate([model_factory, *factories]):
            parameter = "model_factory" if position == 0 else "baselines"
            model = _instantiate(factory, task, parameter)
            if model.name in outputs:
                raise ValidationError(
                    "predictor names repeat",
                    [Issue(parameter, f"two predictors are named {model.name!r}")],
                )
            model.fit(x_train, y_train)
            prediction = np.asarray(model.predict(x_test), dtype=np.float64)
            proba = (
                np.asarray(model.predict_proba(x_test), dtype=np.float64)
                if isinstance(model, DirectionForecaster)
                else None
            )
            outputs[model.name] = (prediction, proba)
            if position == 0:
                model_params = model.params
        names = list(outputs)
        usable = np.ones(test.size, dtype=bool)
        for prediction, proba in outputs.values():
            usable &= np.isfinite(prediction)
            if proba is not None:
                usable &= np.isfinite(proba)
            if task == "volatility":
                usable &= prediction > 0
        truth: FloatArray = np.asarray(aligned.to_numpy(np.float64)[test][usable], np.float64)
        if truth.size == 0:
            notes.append(f"fold {fold.number}: no test row every predictor could forecast")
            continue
        metrics = {
            name: _metrics(
                task, truth, prediction[usable], None if proba is None else proba[usable]
            )
            for name, (prediction, proba) in outputs.items()
        }
        kept = test[usable]
        folds.append(
            FoldResult(
                number=fold.number,
                train_start=features.index[train[0]],
                train_end=features.index[train[-1]],
                test_start=features.index[kept[0]],
                test_end=features.index[kept[-1]],
                n_train=int(train.size),
                n_test=int(truth.size),
                purged=fold.purged,
                embargoed=fold.embargoed,
                dropped_rows=int(test.size - truth.size),
                metrics=metrics,
            )
        )
        scored.truth.append(truth)
        columns: dict[str, Any] = {"fold": fold.number, "y_true": truth}
        for name, (prediction, proba) in outputs.items():
            scored.predictions.setdefault(name, []).append(prediction[usable])
            columns[name] = prediction[usable]
            if proba is not None:
                scored.probabilities.setdefault(name, []).append(proba[usable])
                columns[f"{name}_proba"] = proba[usable]
        frames.append(pd.DataFrame(columns, index=features.index[kept]))
    if not folds:
        raise ValidationError(
            "nothing to score", [Issue("splits", "no fold has a scorable test row")]
        )
    return _report(
        task,
        names,
        model_params,
        folds,
        scored,
        frames,
        notes,
        calibration_bins,
        features.index,
        max_gap_days,
    )


def _report(
    task: Task,
    names: list[str],
    model_params: dict[str, Any],
    folds: list[FoldResult],
    scored: _Scored,
    frames: list[pd.DataFrame],
    notes: list[str],
    calibration_bins: int,
    index: pd.Index,
    max_gap_days: int,
) -> EvaluationReport:
    truth = np.concatenate(scored.truth)
    pooled: dict[str, dict[str, float]] = {}
    calibration: dict[str, CalibrationCurve] = {}
    for name in names:
        prediction = np.concatenate(scored.predictions[name])
        proba = np.concatenate(scored.probabilities[name]) if name in scored.probabilities else None
        pooled[name] = _metrics(task, truth, prediction, proba)
        if proba is not None:
            calibration[name] = calibration_curve(truth, proba, calibration_bins)
    primary = PRIMARY_METRICS[task]
    if task == "volatility" and (truth == 0).any():
        primary = "qlike_unnormalized"
        notes.append(
            f"{int((truth == 0).sum())} realised-variance label(s) are exactly 0, so QLIKE is "
            "infinite for every forecaster; qlike_unnormalized (same ranking) is the primary"
        )
    model_name, baseline_names = names[0], names[1:]

    def score(name: str, values: dict[str, dict[str, float]]) -> float:
        value = values[name][primary]
        return value if math.isfinite(value) else math.inf

    best = min(baseline_names, key=lambda name: score(name, pooled))
    beats = score(model_name, pooled) < score(best, pooled)
    won = sum(
        all(score(model_name, f.metrics) < score(b, f.metrics) for b in baseline_names)
        for f in folds
    )
    gaps = detect_gaps(index, max_gap_days) if isinstance(index, pd.DatetimeIndex) else ()
    if gaps:
        notes.append(f"{len(gaps)} data gap(s) longer than {max_gap_days} calendar days")
    return EvaluationReport(
        task=task,
        model_name=model_name,
        model_params=model_params,
        baseline_names=tuple(baseline_names),
        primary_metric=primary,
        folds=tuple(folds),
        pooled=pooled,
        best_baseline=best,
        beats_baseline=bool(beats),
        folds_won=int(won),
        calibration=calibration,
        gaps=gaps,
        predictions=pd.concat(frames),
        notes=tuple(notes),
    )
