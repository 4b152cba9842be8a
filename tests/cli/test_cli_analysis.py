"""``quantdesk analyze|signals|patterns|screen`` on the real S&P 500 history."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import talib
from arch.data import sp500
from typer.testing import CliRunner

from quantdesk.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qd-cli-analysis")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUANTDESK_HOME", str(path))
        result = runner.invoke(app, ["ingest", "demo", "--dataset", "sp500-index"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for key in list(os.environ):
        if key.startswith("QUANTDESK_") and not key.startswith("QUANTDESK_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("QUANTDESK_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")


def test_analyze_csv_matches_talib() -> None:
    result = runner.invoke(
        app, ["analyze", "SPX", "-i", "rsi(14), bbands(20, 2, 2)", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(io.StringIO(result.stdout))
    close = sp500.load()["Close"].to_numpy(float)
    upper, _, _ = talib.BBANDS(close, 20, 2, 2)
    assert frame.height == len(close)
    np.testing.assert_allclose(
        frame.get_column("rsi(14)").to_numpy()[14:], talib.RSI(close, 14)[14:], rtol=1e-12
    )
    np.testing.assert_allclose(
        frame.get_column("bbands(20,2,2,0).upper").to_numpy()[19:], upper[19:], rtol=1e-12
    )


def test_analyze_bad_indicator_list() -> None:
    result = runner.invoke(app, ["analyze", "SPX", "-i", "rsi(14), rsl(3)"])
    assert result.exit_code == 2
    assert "unknown indicator 'rsl'; did you mean rsi" in result.output
    assert "at column 10" in result.output
    result = runner.invoke(app, ["analyze", "SPX", "-i", "rsi(0)"])
    assert result.exit_code == 2
    assert "out of bounds" in result.output


def test_signals_json() -> None:
    result = runner.invoke(app, ["signals", "SPX", "--since", "2018-12-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert events
    assert all(event["ts"] >= "2018-12-01" for event in events)
    assert {"rule", "direction", "strength", "explanation", "values"} <= set(events[0])


def test_patterns_table() -> None:
    result = runner.invoke(app, ["patterns", "SPX"])
    assert result.exit_code == 0, result.output
    assert "SPX levels (last close 2,506.85)" in result.output


def test_screen_json_and_errors() -> None:
    result = runner.invoke(app, ["screen", "close > sma(200)", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    close = sp500.load()["Close"].to_numpy(float)
    # SPX closed 2018 below its 200-day average, so it must not match.
    assert close[-1] < talib.SMA(close, 200)[-1]
    assert payload["matches"] == []
    assert payload["scanned"] == 1
    bad = runner.invoke(app, ["screen", "close > sma(200"])
    assert bad.exit_code == 2
    assert "^" in bad.output
