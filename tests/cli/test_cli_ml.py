"""``quantdesk ml`` on the real bundled S&P 500 history."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantdesk.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qd-cli-ml")
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


def test_train_predict_evaluate_models_and_the_promotion_rule(home: Path) -> None:
    trained = runner.invoke(app, ["ml", "train", "SPX", "--task", "price", "--horizon", "5"])
    assert trained.exit_code == 0, trained.output
    assert "Registered SPX-price-5d v1" in trained.stdout
    assert "baseline: zero_return" in trained.stdout
    assert "data gap: 2001-09-10 to 2001-09-17" in trained.stdout
    assert (home / "mlflow.db").is_file()  # tracked in the local MLflow store

    predicted = runner.invoke(app, ["ml", "predict", "SPX", "--task", "price", "--json"])
    assert predicted.exit_code == 0, predicted.output
    payload = json.loads(predicted.stdout)
    assert payload["model"] == "SPX-price-5d v1"
    assert set(payload["forecast"]) == {"expected_log_return", "price"}
    verdict = "beats the" if payload["beats_baseline"] else "No model beats the baseline"
    assert any(verdict in note for note in payload["notes"])

    evaluated = runner.invoke(app, ["ml", "evaluate", "SPX-price-5d"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "mse *" in evaluated.stdout  # the primary metric is marked

    listed = runner.invoke(app, ["ml", "models"])
    assert "SPX-price-5d" in listed.stdout

    promoted = runner.invoke(app, ["ml", "promote", "SPX-price-5d", "1"])
    if payload["beats_baseline"]:
        assert promoted.exit_code == 0, promoted.output
    else:
        assert promoted.exit_code == 1
        assert "cannot be promoted" in promoted.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ml", "train", "SPX", "--task", "weather"], "unknown task"),
        (["ml", "train", "SPX", "--horizon", "0"], "horizon"),
        (["ml", "train", "NOPE"], "NOPE"),
        (["ml", "predict", "SPX", "--task", "volatility", "--horizon", "3"], "trained"),
    ],
)
def test_bad_ml_input_is_a_clear_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
