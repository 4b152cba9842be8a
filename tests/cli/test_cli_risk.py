"""``quantdesk risk`` on the real bundled 20-stock history."""

from __future__ import annotations

import os
from pathlib import Path

import empyrical
import pandas as pd
import pytest
from skfolio.datasets import load_sp500_dataset
from typer.testing import CliRunner

from quantdesk.cli.commands.risk import parse_weights
from quantdesk.cli.main import app
from quantdesk.core.errors import ValidationError

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qd-cli-risk")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUANTDESK_HOME", str(path))
        result = runner.invoke(app, ["ingest", "demo", "--dataset", "sp500-20"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for key in list(os.environ):
        if key.startswith("QUANTDESK_") and not key.startswith("QUANTDESK_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("QUANTDESK_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")


def test_calculate_prints_historical_var_matching_empyrical() -> None:
    result = runner.invoke(
        app,
        [
            "risk",
            "calculate",
            "KO=0.5,PEP=0.5",
            "--start",
            "2016-01-04",
            "--end",
            "2018-12-31",
            "--lookback",
            "0",
            "--method",
            "historical",
            "--value",
            "100000",
        ],
    )
    assert result.exit_code == 0, result.output
    prices = load_sp500_dataset()[["KO", "PEP"]].loc["2016-01-04":"2018-12-31"]
    returns = prices.pct_change().iloc[1:] @ pd.Series({"KO": 0.5, "PEP": 0.5})
    amount = -empyrical.value_at_risk(returns.to_numpy(), cutoff=0.05) * 100_000
    assert f"{amount:,.2f}" in result.output


def test_size_and_stress_and_monte_carlo_run() -> None:
    sized = runner.invoke(
        app,
        [
            "risk",
            "size",
            "fixed_fractional",
            "--equity",
            "50000",
            "--entry",
            "20",
            "--stop",
            "19",
            "--risk",
            "0.02",
        ],
    )
    assert sized.exit_code == 0, sized.output
    assert "1,000.0000" in sized.output  # 2% of 50,000 = 1,000 at 1 per share -> 1,000 shares
    stressed = runner.invoke(app, ["risk", "stress", "KO=1", "--shock", "all=-0.1"])
    assert stressed.exit_code == 0, stressed.output
    assert "covid_2020" in stressed.output
    assert "-10.00%" in stressed.output
    simulated = runner.invoke(
        app,
        [
            "risk",
            "monte-carlo",
            "--initial",
            "1000",
            "--periods",
            "12",
            "--expected-return",
            "0.005",
            "--volatility",
            "0.04",
            "--goal",
            "1100",
        ],
    )
    assert simulated.exit_code == 0, simulated.output
    assert "P(goal at end)" in simulated.output


def test_bad_input_exits_2_naming_the_problem() -> None:
    result = runner.invoke(app, ["risk", "calculate", "KO=half"])
    assert result.exit_code == 2
    assert "SYMBOL=WEIGHT" in result.output
    unknown = runner.invoke(app, ["risk", "size", "martingale"])
    assert unknown.exit_code == 2
    with pytest.raises(ValidationError):
        parse_weights("=1")
