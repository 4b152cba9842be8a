"""Out-of-sample evidence for quantdesk's ML core on real S&P 500 data (not synthetic).

Data: the S&P 500 index daily OHLCV bundled with ``arch`` (``arch.data.sp500.load()``,
1999-01-04 .. 2018-12-31, 5,031 bars), features from ``quantdesk.ml.build_features`` with
the default :class:`FeatureSpec`. Walk-forward: expanding training window, one test fold per
calendar year, at least 750 training rows before the first fold, purging of the label
horizon and an embargo of 5 bars before each fold; every model and baseline is refitted per
fold and scored on the same test rows.

(a) volatility: GARCH(1,1)-t and GJR-GARCH(1,1,1)-t (``arch``) against RiskMetrics EWMA
    (lambda 0.94) and rolling 21/63-day variance, forecasting the realised variance (sum of
    squared daily log returns) over the next 1 and 5 days; QLIKE and MSE.
(b) direction: LightGBM on the features, 5-day horizon, dead zone +-0.25 % log return,
    against always-up, majority class and last-return sign; hit rate, balanced accuracy,
    AUC, Brier, log loss.
(c) return: LightGBM regressor and ridge on the 5-day forward log return against zero and
    the historical mean; MSE, IC, rank IC.

Usage: ``python benchmarks/ml_evidence.py [--output docs/ml-evidence.md]``. Runs in about a
minute on one core; prints every table and writes the markdown report.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Sequence
from functools import partial
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from arch.data import sp500

from quantdesk.ml import (
    DataGap,
    EvaluationReport,
    EwmaVolatility,
    FeatureSpec,
    GarchVolatility,
    LightGBMDirection,
    LightGBMReturn,
    LinearReturn,
    RollingVolatility,
    build_features,
    default_baselines,
    forward_direction,
    forward_realized_variance,
    forward_return,
    read_bars,
    walk_forward_evaluate,
    walk_forward_splits,
)
from quantdesk.ml.metrics import qlike

MIN_TRAIN = 750
EMBARGO = 5
DEAD_ZONE = 0.0025
DIRECTION_HORIZON = 5


def _table(frame: pd.DataFrame, digits: dict[str, str]) -> str:
    columns = [str(c) for c in frame.columns]
    lines = [
        "| " + " | ".join(["", *columns]) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for name, row in frame.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, float | np.floating):
                if math.isnan(value):
                    cells.append("n/a")
                elif math.isinf(value):
                    cells.append("inf")
                else:
                    cells.append(format(value, digits.get(column, ".4f")))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def _newey_west_t(differences: np.ndarray, lags: int) -> float:
    """Return the Diebold-Mariano t statistic of mean(differences) with a Bartlett HAC."""
    d = differences - differences.mean()
    n = d.size
    variance = float(d @ d) / n
    for lag in range(1, lags + 1):
        weight = 1.0 - lag / (lags + 1)
        variance += 2.0 * weight * float(d[lag:] @ d[:-lag]) / n
    return float(differences.mean() / math.sqrt(variance / n))


def _volatility(
    features: pd.DataFrame, close: pd.Series, returns: pd.Series, horizon: int
) -> tuple[pd.DataFrame, list[str], list[EvaluationReport]]:
    labels = forward_realized_variance(close, horizon)
    splits = walk_forward_splits(
        features.index,
        horizon=horizon,
        min_train_size=MIN_TRAIN,
        test_frequency="Y",
        embargo=EMBARGO,
    )
    baselines = [
        partial(EwmaVolatility, returns, horizon, 0.94),
        partial(RollingVolatility, returns, horizon, 21),
        partial(RollingVolatility, returns, horizon, 63),
    ]
    reports = [
        walk_forward_evaluate(
            "volatility",
            partial(GarchVolatility, returns, horizon, kind=kind),
            features,
            labels,
            splits,
            baselines,
        )
        for kind in ("garch", "gjr")
    ]
    first, second = reports
    if not first.predictions.index.equals(second.predictions.index):
        raise RuntimeError("the two GARCH runs scored different rows")
    predictions = first.predictions.join(second.predictions[["gjr_garch_t"]])
    truth = predictions["y_true"].to_numpy()
    positive = truth > 0
    names = ["garch_t", "gjr_garch_t", "ewma", "rolling_21", "rolling_63"]
    rows = {}
    for name in names:
        pooled = (second if name == "gjr_garch_t" else first).pooled[name]
        forecast = predictions[name].to_numpy()
        rows[name] = {
            "QLIKE": pooled["qlike"],
            "QLIKE (s>0 rows)": qlike(truth[positive], forecast[positive]),
            "QLIKE unnormalised": pooled["qlike_unnormalized"],
            "MSE (x1e8)": pooled["mse"] * 1e8,
            "folds won vs best baseline": sum(
                f.metrics[name][first.primary_metric]
                < min(f.metrics[b][first.primary_metric] for b in first.baseline_names)
                for f in (second if name == "gjr_garch_t" else first).folds
            )
            if name in ("garch_t", "gjr_garch_t")
            else "",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    notes = [
        f"{len(first.folds)} yearly folds "
        f"{first.folds[0].test_start:%Y}-{first.folds[-1].test_end:%Y}, "
        f"{len(predictions)} scored forecasts; primary metric {first.primary_metric}.",
        *first.notes,
    ]
    # Diebold-Mariano on the per-row QLIKE loss (unnormalised form: defined at s = 0).
    loss = {
        name: truth / predictions[name].to_numpy() + np.log(predictions[name].to_numpy())
        for name in names
    }
    lags = max(horizon, 5)
    for model in ("garch_t", "gjr_garch_t"):
        statistic = _newey_west_t(loss[model] - loss["ewma"], lags)
        notes.append(
            f"Diebold-Mariano {model} vs ewma (QLIKE loss, Newey-West {lags} lags): "
            f"t = {statistic:.2f} (negative favours {model})."
        )
    return table, notes, reports


def _direction(
    features: pd.DataFrame, close: pd.Series
) -> tuple[pd.DataFrame, list[str], EvaluationReport]:
    labels = forward_direction(close, DIRECTION_HORIZON, DEAD_ZONE)
    splits = walk_forward_splits(
        features.index,
        horizon=DIRECTION_HORIZON,
        min_train_size=MIN_TRAIN,
        test_frequency="Y",
        embargo=EMBARGO,
    )
    report = walk_forward_evaluate(
        "direction", LightGBMDirection, features, labels, splits, default_baselines("direction")
    )
    columns = {
        "hit_rate": "hit rate",
        "balanced_accuracy": "balanced accuracy",
        "auc": "AUC",
        "brier": "Brier",
        "log_loss": "log loss",
        "predicted_up_rate": "called up",
    }
    table = report.metrics_frame()[list(columns)].rename(columns=columns)
    aligned = labels.reindex(features.index)
    notes = [
        f"{len(report.folds)} yearly folds, {len(report.predictions)} scored rows; "
        f"{int(aligned.isna().sum())} of {len(aligned)} feature rows have no label (dead zone "
        f"or the last {DIRECTION_HORIZON} bars); observed up-rate on the scored rows "
        f"{report.pooled['always_up']['up_rate']:.3f}.",
        f"Primary metric {report.primary_metric}: beats best baseline "
        f"({report.best_baseline}) = {report.beats_baseline}; "
        f"folds won against every baseline: {report.folds_won} of {len(report.folds)}.",
    ]
    return table, notes, report


def _returns(features: pd.DataFrame, close: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    labels = forward_return(close, DIRECTION_HORIZON)
    splits = walk_forward_splits(
        features.index,
        horizon=DIRECTION_HORIZON,
        min_train_size=MIN_TRAIN,
        test_frequency="Y",
        embargo=EMBARGO,
    )
    rows: dict[str, dict[str, float]] = {}
    notes = []
    for factory in (LightGBMReturn, partial(LinearReturn, 10.0)):
        report = walk_forward_evaluate("return", factory, features, labels, splits)
        for name, values in report.pooled.items():
            rows[name] = {
                "MSE (x1e4)": values["mse"] * 1e4,
                "MAE (x1e2)": values["mae"] * 1e2,
                "IC": values["ic"],
                "rank IC": values["rank_ic"],
            }
        notes.append(
            f"{report.model_name}: beats best baseline ({report.best_baseline}) on MSE = "
            f"{report.beats_baseline}; folds won {report.folds_won} of {len(report.folds)}."
        )
    return pd.DataFrame.from_dict(rows, orient="index"), notes


def _calibration(report: EvaluationReport) -> pd.DataFrame:
    curve = report.calibration[report.model_name]
    return pd.DataFrame(
        {
            "P(up) bin": [
                f"{lo:.1f}-{hi:.1f}"
                for lo, hi in zip(curve.bin_lower, curve.bin_upper, strict=True)
            ],
            "mean P(up)": curve.mean_predicted,
            "observed up-rate": curve.observed,
            "rows": curve.count.astype(float),
        }
    ).set_index("P(up) bin")


def _gap_text(gap: DataGap) -> str:
    text = f"{gap.start:%Y-%m-%d} -> {gap.end:%Y-%m-%d} ({gap.missing_weekdays} weekdays)"
    if gap.start == pd.Timestamp("2001-09-10", tz="UTC"):
        text += ", the market closure after 11 September 2001"
    return text


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evidence and write the markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/ml-evidence.md")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    raw = sp500.load()
    bars = read_bars(raw.drop(columns=["Adj Close"]))
    close = bars["close"]
    returns = np.log(close).diff()
    feature_set = build_features(bars, FeatureSpec())
    features = feature_set.frame
    sections: list[str] = []

    def emit(title: str, table: pd.DataFrame, notes: list[str], digits: dict[str, str]) -> None:
        text = _table(table, digits)
        print(f"\n## {title}\n\n{text}\n")
        for note in notes:
            print(f"- {note}")
        sections.append(f"### {title}\n\n{text}\n\n" + "".join(f"- {n}\n" for n in notes))

    volatility_digits = {
        "QLIKE": ".4f",
        "QLIKE (s>0 rows)": ".4f",
        "QLIKE unnormalised": ".4f",
        "MSE (x1e8)": ".3f",
    }
    gaps: tuple[DataGap, ...] = ()
    findings: list[str] = []
    for horizon in (1, 5):
        table, notes, reports = _volatility(features, close, returns, horizon)
        gaps = reports[0].gaps
        emit(f"(a) Volatility, {horizon}-day realised variance", table, notes, volatility_digits)
        ranking = table["QLIKE unnormalised"].sort_values()
        findings.append(
            f"{horizon}-day variance: lowest QLIKE {ranking.index[0]}, then "
            f"{', '.join(ranking.index[1:])}; GARCH-t beats EWMA: "
            f"{ranking['garch_t'] < ranking['ewma']}, GJR-GARCH-t beats EWMA: "
            f"{ranking['gjr_garch_t'] < ranking['ewma']}."
        )
    table, notes, direction = _direction(features, close)
    findings.append(
        f"Direction ({DIRECTION_HORIZON}-day): LightGBM log loss "
        f"{direction.pooled[direction.model_name]['log_loss']:.4f} against "
        f"{direction.pooled[direction.best_baseline]['log_loss']:.4f} for {direction.best_baseline}"
        f" (beats baseline: {direction.beats_baseline}); AUC "
        f"{direction.pooled[direction.model_name]['auc']:.3f}. The constant baselines' pooled "
        "AUC differs from 0.5 only because their training up-rate changes from fold to fold."
    )
    emit(
        f"(b) Direction, {DIRECTION_HORIZON}-day horizon, dead zone +-{DEAD_ZONE:.2%}",
        table,
        notes,
        {"called up": ".3f"},
    )
    emit(
        "(b) LightGBM direction calibration (pooled)",
        _calibration(direction),
        [],
        {"rows": ".0f", "mean P(up)": ".3f", "observed up-rate": ".3f"},
    )
    table, notes = _returns(features, close)
    emit(f"(c) Return, {DIRECTION_HORIZON}-day forward log return", table, notes, {})
    best_return = table["MSE (x1e4)"].idxmin()
    findings.append(
        f"Return ({DIRECTION_HORIZON}-day): lowest MSE {best_return}; rank IC of the models "
        f"{table.loc['lightgbm_return', 'rank IC']:.3f} (LightGBM) and "
        f"{table.loc['ridge_return', 'rank IC']:.3f} (ridge)."
    )
    elapsed = time.perf_counter() - started
    setup = "\n".join(
        [
            "# ML evidence: S&P 500 (real data), walk-forward out of sample",
            "",
            "Generated by `python benchmarks/ml_evidence.py`; every number below is "
            "out of sample. Do not edit by hand: rerun the script.",
            "",
            "## Setup",
            "",
            f"- Data: S&P 500 index daily OHLCV from `arch.data.sp500` "
            f"({bars.index[0]:%Y-%m-%d} .. {bars.index[-1]:%Y-%m-%d}, {len(bars)} bars).",
            f"- Features: `build_features(bars, FeatureSpec())`, {len(feature_set.names)} "
            f"columns ({', '.join(feature_set.names)}); the first {feature_set.warmup_rows} "
            "bars are warm-up (SMA(200)); no market or sentiment context (the series is the "
            "index itself).",
            f"- Splits: `walk_forward_splits(..., min_train_size={MIN_TRAIN}, "
            f"test_frequency='Y', embargo={EMBARGO})`, expanding window, purge = label "
            "horizon; every model and baseline refitted per fold, all scored on the same "
            "test rows.",
            "- Volatility label: realised variance of the next h daily log returns "
            "(`forward_realized_variance`); GARCH fitted on per-cent returns of the training "
            "window, variance filtered forward with fixed parameters to each forecast date.",
            f"- Direction label: sign of the {DIRECTION_HORIZON}-day forward log return, NaN "
            f"inside +-{DEAD_ZONE} (`forward_direction`); LightGBM with the default "
            "`LightGBMSettings` (200 trees, 15 leaves, learning rate 0.03, seed 0, 1 thread).",
            "- QLIKE = mean(s/v - ln(s/v) - 1) (0 is perfect); it is infinite when a "
            "realised-variance proxy is exactly 0 (a flat close-to-close day), so the table "
            "also shows it over the rows with s > 0 and the unnormalised form "
            "mean(s/v + ln v), which ranks forecasts identically on all rows.",
            "- Data gaps over 5 calendar days (`detect_gaps`): "
            + (", ".join(_gap_text(gap) for gap in gaps) or "none")
            + ".",
            f"- Runtime {elapsed:.0f} s; Python {platform.python_version()}, lightgbm "
            f"{version('lightgbm')}, arch {version('arch')}, scikit-learn "
            f"{version('scikit-learn')}, pandas {version('pandas')}.",
            "",
            "## Reading the numbers",
            "",
            *(f"- {finding}" for finding in findings),
            "- Daily index direction and return are close to unpredictable from price, "
            "volume and calendar features; a model that does not beat the base rate here is "
            "the expected, honest outcome, while volatility clusters and is forecastable "
            "(see (a)).",
            "",
            "## Results",
            "",
        ]
    )
    output = Path(arguments.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(setup + "\n" + "\n".join(sections))
    print(f"\nwrote {output} in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
