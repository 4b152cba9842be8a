"""Walk-forward evaluation: same rows for every predictor, honest verdicts, clear errors."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import pytest
from ml_fixtures import synthetic_bars
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

from quantdesk.core.errors import ValidationError
from quantdesk.ml.baselines import EwmaVolatility, RollingVolatility, default_baselines
from quantdesk.ml.evaluation import detect_gaps, walk_forward_evaluate
from quantdesk.ml.features import FeatureSpec, build_features
from quantdesk.ml.labels import forward_realized_variance
from quantdesk.ml.models import GarchVolatility, LightGBMDirection, LightGBMSettings, LinearReturn
from quantdesk.ml.splits import walk_forward_splits

FAST = LightGBMSettings(n_estimators=20, min_child_samples=20)
INDEX = pd.bdate_range("2012-01-02", periods=900, tz="UTC")


def _planted_direction(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.normal(size=(900, 3)), index=INDEX, columns=["ret_1", "b", "c"])
    score = 1.5 * features["b"] + rng.normal(0, 1, 900)
    labels = pd.Series(np.where(score > 0.2, 1.0, np.where(score < -0.2, -1.0, np.nan)), INDEX)
    return features, labels


def test_direction_model_with_a_planted_signal_beats_its_baselines_on_the_same_rows() -> None:
    features, labels = _planted_direction()
    splits = walk_forward_splits(INDEX, horizon=1, min_train_size=300, test_size=150, embargo=2)
    model = partial(LightGBMDirection, FAST)
    report = walk_forward_evaluate("direction", model, features, labels, splits)
    assert report.primary_metric == "log_loss"
    assert report.beats_baseline
    assert report.folds_won == len(report.folds) == 4
    predictions = report.predictions
    # Every scored row has a label and a forecast from every predictor, in one fold only.
    assert predictions.index.is_unique
    expected_rows = labels.index[np.concatenate([f.test for f in splits])]
    assert predictions.index.equals(expected_rows[labels.loc[expected_rows].notna().to_numpy()])
    assert predictions.notna().all().all()
    truth = predictions["y_true"] > 0
    pooled = report.pooled["lightgbm_direction"]
    assert pooled["log_loss"] == pytest.approx(
        log_loss(truth, predictions["lightgbm_direction_proba"])
    )
    assert pooled["auc"] == pytest.approx(
        roc_auc_score(truth, predictions["lightgbm_direction_proba"])
    )
    for name in ("always_up", "majority_class", "last_return_sign"):
        assert name in report.pooled
        assert report.pooled[name]["log_loss"] == pytest.approx(
            log_loss(truth, predictions[f"{name}_proba"])
        )
    assert report.pooled["always_up"]["balanced_accuracy"] == 0.5
    assert set(report.calibration) == {"lightgbm_direction", *report.baseline_names}
    assert sum(f.n_test for f in report.folds) == len(predictions)
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.fold_frame().shape == (4, 4)
    assert "lightgbm_direction.log_loss" in report.flat_metrics()


def test_direction_model_on_noise_does_not_beat_the_base_rate() -> None:
    features, _ = _planted_direction(1)
    noise = pd.Series(np.where(np.random.default_rng(2).uniform(size=900) < 0.55, 1.0, -1.0), INDEX)
    splits = walk_forward_splits(INDEX, horizon=1, min_train_size=300, test_size=150)
    report = walk_forward_evaluate(
        "direction", partial(LightGBMDirection, FAST), features, noise, splits
    )
    assert not report.beats_baseline
    assert report.pooled[report.best_baseline]["log_loss"] <= report.pooled["always_up"]["log_loss"]


def test_return_model_uses_mse_and_constant_baselines_have_no_ic() -> None:
    features, _ = _planted_direction(3)
    target = 0.01 * features["b"] + pd.Series(np.random.default_rng(4).normal(0, 0.01, 900), INDEX)
    splits = walk_forward_splits(INDEX, horizon=1, min_train_size=300, test_size=300)
    report = walk_forward_evaluate("return", LinearReturn, features, target, splits)
    assert report.primary_metric == "mse"
    assert report.beats_baseline
    predictions = report.predictions
    assert report.pooled["ridge_return"]["mse"] == pytest.approx(
        mean_squared_error(predictions["y_true"], predictions["ridge_return"])
    )
    assert np.isnan(report.pooled["zero_return"]["ic"])
    assert np.isnan(
        json.loads(json.dumps(report.to_dict()))["pooled"]["zero_return"]["ic"] or np.nan
    )


def test_volatility_evaluation_with_garch_and_zero_labels() -> None:
    bars = synthetic_bars(700, seed=5)
    spec = FeatureSpec(
        return_horizons=(1,),
        volatility_windows=(5,),
        indicators=(),
        range_window=0,
        volume_window=0,
        calendar=False,
    )
    features = build_features(bars, spec).frame
    returns = np.log(bars["close"]).diff()
    labels = forward_realized_variance(bars["close"], 1)
    splits = walk_forward_splits(features.index, horizon=1, min_train_size=300, test_size=200)
    baselines = [partial(EwmaVolatility, returns, 1), partial(RollingVolatility, returns, 1, 21)]
    report = walk_forward_evaluate(
        "volatility", partial(GarchVolatility, returns, 1), features, labels, splits, baselines
    )
    assert report.primary_metric == "qlike"
    assert np.isfinite(report.pooled["garch_t"]["qlike"])
    zeroed = labels.copy()
    zeroed.iloc[
        features.index.get_indexer(features.index[[450, 460]]) + len(labels) - len(features)
    ] = 0.0
    report = walk_forward_evaluate(
        "volatility", partial(GarchVolatility, returns, 1), features, zeroed, splits, baselines
    )
    assert report.primary_metric == "qlike_unnormalized"
    assert any("exactly 0" in note for note in report.notes)


def test_gap_detection() -> None:
    index = pd.DatetimeIndex(
        ["2024-03-28", "2024-04-02", "2024-04-03", "2024-04-12", "2024-04-15"], tz="UTC"
    )  # a 5-day Easter break is normal; 3 -> 12 April is a hole
    gaps = detect_gaps(index)
    assert len(gaps) == 1
    assert (gaps[0].start, gaps[0].end) == (index[2], index[3])
    assert gaps[0].calendar_days == 9
    assert gaps[0].missing_weekdays == 6  # Apr 4, 5, 8, 9, 10, 11
    features, labels = _planted_direction()
    holey = features.drop(features.index[400:410])
    splits = walk_forward_splits(holey.index, horizon=1, min_train_size=300, test_size=200)
    report = walk_forward_evaluate(
        "direction", partial(LightGBMDirection, FAST), holey, labels, splits
    )
    assert len(report.gaps) == 1


def test_bad_input_names_the_parameter() -> None:
    features, labels = _planted_direction()
    splits = walk_forward_splits(INDEX, horizon=1, min_train_size=300, test_size=300)
    model = partial(LightGBMDirection, FAST)

    def location(**changes: object) -> str:
        arguments: dict[str, object] = {
            "task": "direction",
            "model_factory": model,
            "features": features,
            "labels": labels,
            "splits": splits,
            **changes,
        }
        with pytest.raises(ValidationError) as error:
            walk_forward_evaluate(**arguments)  # type: ignore[arg-type]
        return error.value.issues[0].location

    assert location(features=features.assign(b=np.nan)) == "features"
    assert location(task="weather") == "task"
    assert location(splits=[]) == "splits"
    short = walk_forward_splits(2000, horizon=1, min_train_size=300, test_size=300)
    assert location(splits=short) == "splits"
    assert location(labels=labels.where(labels.index > INDEX[299])) == "splits"
    assert location(model_factory=LinearReturn) == "model_factory"
    assert location(baselines=default_baselines("return")) == "baselines"
    assert location(labels=pd.Series(1.0, index=range(900))) == "labels"
