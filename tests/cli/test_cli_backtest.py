"""``quantdesk backtest`` and ``quantdesk strategies`` on the real bundled S&P 500 history."""

from __future__ import annotations

import json
import os
from pathlib import Path

import arch.data.sp500
import empyrical
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantdesk.cli.commands.backtest import parse_params
from quantdesk.cli.main import app
from quantdesk.core.errors import ValidationError

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qd-cli-backtest")
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


def test_parse_params_reads_json_values_and_names_bad_pairs() -> None:
    assert parse_params("fast=10, slow=50,weight=0.5") == {"fast": 10, "slow": 50, "weight": 0.5}
    assert parse_params('entry="rsi(14) < 30"') == {"entry": "rsi(14) < 30"}
    assert parse_params('entry=crosses_above(sma(20), sma(50)),weights={"A": 0.5, "B": 0.5}') == {
        "entry": "crosses_above(sma(20), sma(50))",
        "weights": {"A": 0.5, "B": 0.5},
    }
    assert parse_params(None) == {}
    with pytest.raises(ValidationError) as caught:
        parse_params("fast=10,slow")
    assert caught.value.issues[0].location == "params[1]"


def test_backtest_prints_metrics_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "out" / "r.html"
    result = runner.invoke(
        app,
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--symbols",
            "SPX",
            "--params",
            "fast=10,slow=50",
            "--start",
            "2010-01-01",
            "--end",
            "2015-01-01",
            "--fee-percent",
            "0.0005",
            "--fee-minimum",
            "1",
            "--report",
            str(report),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["spec"]["fee"] == {
        "kind": "percent",
        "rate": 0.0005,
        "minimum": 1.0,
        "maximum_rate": None,
    }
    assert payload["trades"] > 3
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "<svg" in html
    assert payload["metrics"]["total_return"] == pytest.approx(payload["final_equity"] / 1e5 - 1)


def test_backtest_table_output_and_buy_and_hold_check() -> None:
    """fixed_weight_rebalance with one symbol buys once and holds: trunc(0.9 * capital / first
    close) shares filled at the second bar's open, then marked at each close (arch's data)."""
    result = runner.invoke(
        app,
        [
            "backtest",
            "--strategy",
            "fixed_weight_rebalance",
            "--symbols",
            "SPX",
            "--params",
            'weights={"SPX": 0.9},every=100000',
            "--start",
            "2012-01-01",
            "--end",
            "2014-01-01",
            "--capital",
            "1000000",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    frame = arch.data.sp500.load().loc["2012-01-01":"2013-12-31"]
    shares = int(0.9 * 1_000_000 / frame["Close"].iloc[0])
    cash = 1_000_000 - shares * frame["Open"].iloc[1]
    expected = cash + shares * frame["Close"].iloc[-1]
    assert payload["final_equity"] == pytest.approx(expected, rel=1e-12)
    held = (frame["Close"].iloc[1:] * shares + cash).to_list()
    equity = pd.Series([1_000_000.0, 1_000_000.0, *held])  # initial cash, first day, held days
    returns = equity.pct_change().dropna()
    assert payload["metrics"]["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    table = runner.invoke(
        app,
        ["backtest", "--strategy", "sma_cross", "--symbols", "SPX", "--start", "2012-01-01"],
    )
    assert table.exit_code == 0, table.output
    assert "sharpe" in table.stdout
    assert "max drawdown" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "moon", "--symbols", "SPX"], "unknown strategy"),
        (["--strategy", "sma_cross", "--symbols", "SPX", "--params", "fats=3"], "fats"),
        (["--strategy", "sma_cross", "--symbols", "NOPE"], "NOPE"),
        (
            [
                "--strategy",
                "sma_cross",
                "--symbols",
                "SPX",
                "--start",
                "1980-01-01",
                "--end",
                "1981-01-01",
            ],
            "no daily bars",
        ),
        (["--strategy", "sma_cross", "--symbols", "SPX", "--start", "2020-13-01"], "YYYY-MM-DD"),
        (["--strategy", "sma_cross", "--symbols", "SPX", "--capital", "-5"], "capital"),
    ],
)
def test_bad_input_is_a_clear_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["backtest", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_strategies_lists_the_registry() -> None:
    result = runner.invoke(app, ["strategies", "--json"])
    assert result.exit_code == 0, result.output
    schemas = json.loads(result.stdout)
    assert schemas["sma_cross"]["properties"]["slow"]["default"] == 30
    table = runner.invoke(app, ["strategies"])
    assert "rsi_reversion" in table.stdout
