"""Saved backtest results: exact round trips, atomic writes and clear errors on bad files.

Real data: the SMA crossover on ``arch.data.sp500`` (with a benchmark, so every metric is
set) and a 30-bar run that never trades (NaN metrics, empty frames). Spec hashes are checked
against ``hashlib`` on hand-written canonical JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import arch.data.sp500
import pandas as pd
import pytest

from quantdesk.backtest import BacktestResult, artifacts, make_strategy, run_backtest
from quantdesk.backtest.artifacts import load_result, load_spec, save_result, spec_hash
from quantdesk.core.errors import NotFound, ValidationError

CASH = 100_000.0
SERIES = ("equity", "daily_equity", "returns", "cash")
FRAMES = ("positions", "fills", "orders", "trades")


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    frame: pd.DataFrame = arch.data.sp500.load()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    return frame


@pytest.fixture(scope="module")
def result(sp500: pd.DataFrame) -> BacktestResult:
    strategy = make_strategy("sma_cross", fast=20, slow=50)
    run = run_backtest(strategy, {"SPX": sp500}, cash=CASH, benchmark=sp500["Close"])
    return dataclasses.replace(run, log=("2000-01-03 entered SPX", "ünïcödé ✓ & <tags>"))


@pytest.fixture(scope="module")
def idle(sp500: pd.DataFrame) -> BacktestResult:
    strategy = make_strategy("sma_cross", fast=20, slow=50)
    return run_backtest(strategy, {"SPX": sp500.iloc[:30]}, cash=CASH)


def same_value(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    return type(left) is type(right) and bool(left == right)


def assert_same(loaded: BacktestResult, saved: BacktestResult) -> None:
    for name in SERIES:
        pd.testing.assert_series_equal(
            getattr(loaded, name), getattr(saved, name), check_exact=True, check_freq=True
        )
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(saved, name), check_exact=True)
    for name in ("metrics", "risk"):
        loaded_fields, saved_fields = getattr(loaded, name), getattr(saved, name)
        assert type(loaded_fields) is type(saved_fields)
        for field in dataclasses.fields(saved_fields):
            a, b = getattr(loaded_fields, field.name), getattr(saved_fields, field.name)
            assert same_value(a, b), (name, field.name, a, b)
    assert loaded.strategy == saved.strategy
    assert loaded.initial_cash == saved.initial_cash
    assert loaded.symbols == saved.symbols
    assert loaded.log == saved.log
    assert loaded.final_equity == saved.final_equity


def test_round_trip_of_a_real_run(tmp_path: Path, result: BacktestResult) -> None:
    assert result.metrics.beta is not None  # benchmark fields are set
    assert result.risk.longest_drawdown_start is not None
    path = save_result(result, tmp_path / "sma")
    assert path == tmp_path / "sma"
    loaded = load_result(path)
    assert_same(loaded, result)
    assert loaded.equity.index.tz is not None
    assert str(loaded.equity.index.tz) == "UTC"
    assert loaded.equity.index.name == "ts"
    assert loaded.daily_equity.index.name == "date"
    assert loaded.trades["entry_ts"].dtype == result.trades["entry_ts"].dtype
    assert loaded.risk.longest_drawdown_start == result.risk.longest_drawdown_start
    assert loaded.risk.longest_drawdown_start.unit == result.risk.longest_drawdown_start.unit
    assert load_spec(path) is None
    assert os.listdir(tmp_path) == ["sma"]  # no staging or backup directory left


def test_round_trip_of_nan_metrics_and_empty_frames(tmp_path: Path, idle: BacktestResult) -> None:
    assert idle.trades.empty
    assert idle.fills.empty
    assert math.isnan(idle.metrics.sharpe)
    assert math.isnan(idle.metrics.profit_factor)
    assert idle.risk.longest_drawdown_start is None
    loaded = load_result(save_result(idle, tmp_path / "idle"))
    assert_same(loaded, idle)
    manifest = (tmp_path / "idle" / "manifest.json").read_text()
    assert "NaN" not in manifest  # strict JSON: non-finite floats are tagged
    assert json.loads(manifest)["metrics"]["sharpe"] == {"__float__": "nan"}


def test_infinite_metrics_survive(tmp_path: Path, result: BacktestResult) -> None:
    metrics = dataclasses.replace(result.metrics, profit_factor=math.inf, average_loss=-math.inf)
    made = dataclasses.replace(result, metrics=metrics)
    loaded = load_result(save_result(made, tmp_path / "inf"))
    assert loaded.metrics.profit_factor == math.inf
    assert loaded.metrics.average_loss == -math.inf
    json.loads((tmp_path / "inf" / "manifest.json").read_text())  # still strict JSON


def test_spec_is_stored_with_its_hash(tmp_path: Path, result: BacktestResult) -> None:
    spec = {
        "strategy": "sma_cross",
        "params": {"fast": 20, "slow": 50},
        "costs": {"fee_bps": 1.5, "stop": math.nan},
        "capital": CASH,
        "symbols": ("SPX",),
    }
    path = save_result(result, tmp_path / "run", spec=spec)
    loaded = load_spec(path)
    assert loaded is not None
    assert loaded["params"] == {"fast": 20, "slow": 50}
    assert loaded["symbols"] == ["SPX"]  # JSON has lists only
    assert math.isnan(loaded["costs"]["stop"])
    manifest = json.loads((path / "manifest.json").read_text())
    plain = {
        "capital": 100000.0,
        "costs": {"fee_bps": 1.5, "stop": {"__float__": "nan"}},
        "params": {"fast": 20, "slow": 50},
        "strategy": "sma_cross",
        "symbols": ["SPX"],
    }
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"))
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert manifest["spec_hash"] == expected == spec_hash(spec)
    assert spec_hash({**spec, "params": {"slow": 50, "fast": 20}}) == expected  # key order
    assert spec_hash({**spec, "capital": 1.0}) != expected


def test_unserialisable_spec_is_refused_before_writing(
    tmp_path: Path, result: BacktestResult
) -> None:
    with pytest.raises(ValidationError, match=r"spec\.model"):
        save_result(result, tmp_path / "run", spec={"model": object()})
    assert not (tmp_path / "run").exists()


def test_overwrite_replaces_a_previous_result(
    tmp_path: Path, result: BacktestResult, idle: BacktestResult
) -> None:
    target = tmp_path / "run"
    save_result(idle, target)
    save_result(result, target)
    assert_same(load_result(target), result)
    assert os.listdir(tmp_path) == ["run"]


def test_failure_mid_write_keeps_the_previous_result(
    tmp_path: Path,
    result: BacktestResult,
    idle: BacktestResult,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "run"
    save_result(idle, target)
    before = sorted(os.listdir(target))
    calls = {"n": 0}
    real = artifacts._write_frame

    def flaky(frame: pd.DataFrame, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # after four files are already written
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(artifacts, "_write_frame", flaky)
    with pytest.raises(OSError, match="disk full"):
        save_result(result, target)
    assert calls["n"] == 5
    assert os.listdir(tmp_path) == ["run"]  # no staging directory left behind
    assert sorted(os.listdir(target)) == before
    assert_same(load_result(target), idle)


def test_failure_mid_write_of_a_new_result_leaves_nothing(
    tmp_path: Path, result: BacktestResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(artifacts, "_write_text", broken)  # the manifest, written last
    with pytest.raises(OSError, match="disk full"):
        save_result(result, tmp_path / "deep" / "run")
    assert os.listdir(tmp_path / "deep") == []


def test_failed_swap_puts_the_previous_result_back(
    tmp_path: Path,
    result: BacktestResult,
    idle: BacktestResult,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "run"
    save_result(idle, target)
    real = os.replace

    def refuse_staging(source: Any, destination: Any) -> None:
        if str(source).endswith(".tmp"):
            raise OSError("rename failed")
        real(source, destination)

    monkeypatch.setattr(artifacts.os, "replace", refuse_staging)
    with pytest.raises(OSError, match="rename failed"):
        save_result(result, target)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["run"]
    assert_same(load_result(target), idle)


def test_refuses_to_replace_something_else(tmp_path: Path, result: BacktestResult) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "todo.txt").write_text("keep me")
    with pytest.raises(ValidationError, match="not a saved backtest result"):
        save_result(result, precious)
    assert (precious / "todo.txt").read_text() == "keep me"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValidationError):
        save_result(result, a_file)
    assert a_file.read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_same(load_result(save_result(result, empty)), result)


def test_missing_directory_or_file(tmp_path: Path, idle: BacktestResult) -> None:
    with pytest.raises(NotFound, match="no saved backtest result"):
        load_result(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotFound, match=r"manifest\.json is missing"):
        load_result(tmp_path / "plain")
    path = save_result(idle, tmp_path / "run")
    (path / "fills.parquet").unlink()
    with pytest.raises(NotFound, match=r"fills\.parquet is missing"):
        load_result(path)


def test_corrupt_parquet_is_named(tmp_path: Path, result: BacktestResult) -> None:
    path = save_result(result, tmp_path / "run")
    data = bytearray((path / "trades.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "trades.parquet").write_bytes(bytes(data))
    with pytest.raises(ValidationError, match=r"trades\.parquet.*checksum mismatch") as caught:
        load_result(path)
    assert caught.value.issues[0].location == str(path / "trades.parquet")


def test_unreadable_parquet_with_a_matching_checksum(
    tmp_path: Path, result: BacktestResult
) -> None:
    path = save_result(result, tmp_path / "run")
    garbage = b"not parquet at all"
    (path / "equity.parquet").write_bytes(garbage)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["equity.parquet"] = hashlib.sha256(garbage).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValidationError, match=r"equity\.parquet.*unreadable Parquet"):
        load_result(path)


def test_corrupt_manifest_is_named(tmp_path: Path, idle: BacktestResult) -> None:
    path = save_result(idle, tmp_path / "run")
    manifest = path / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text[: len(text) // 2])
    with pytest.raises(ValidationError, match=r"manifest\.json.*unreadable JSON"):
        load_result(path)
    data = json.loads(text)
    for change, pattern in (
        ({"version": 99}, "format version 99"),
        ({"format": "other"}, "not a quantdesk.backtest-result manifest"),
        ({"metrics": {"sharpe": 1.0}}, "fields do not describe a result"),
    ):
        manifest.write_text(json.dumps({**data, **change}))
        with pytest.raises(ValidationError, match=pattern):
            load_result(path)
    del data["risk"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValidationError, match="missing keys risk"):
        load_result(path)
