"""The MLflow-backed model registry: tracked runs, versions, stages and artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantdesk.core.errors import NotFound
from quantdesk.ml.ports import Stage
from quantdesk.ml.registry import MlflowModelRegistry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> MlflowModelRegistry:
    home: Path = tmp_path_factory.mktemp("qd-mlflow")
    return MlflowModelRegistry(f"sqlite:///{home / 'mlflow.db'}", home / "artifacts", "tests")


def test_register_stage_load_and_documents(registry: MlflowModelRegistry) -> None:
    first = registry.register(
        "SPX-direction-5",
        {"coef": [1.0, 2.0]},
        params={"horizon": 5, "model": "lightgbm"},
        metrics={"oos.balanced_accuracy": 0.52, "baseline.majority.balanced_accuracy": 0.5},
        tags={"task": "direction", "symbol": "SPX"},
        documents={"calibration": {"bins": [0.1, 0.2], "observed": [0.0, 0.5]}},
    )
    assert (first.version, first.stage) == (1, Stage.CANDIDATE)
    assert first.params == {"horizon": "5", "model": "lightgbm"}
    assert first.metrics["oos.balanced_accuracy"] == pytest.approx(0.52)
    assert first.tags["task"] == "direction"
    assert registry.load(first) == {"coef": [1.0, 2.0]}
    assert registry.document(first, "calibration")["observed"] == [0.0, 0.5]
    with pytest.raises(NotFound):
        registry.document(first, "missing")

    second = registry.register(
        "SPX-direction-5", "model two", params={}, metrics={}, tags={"task": "direction"}
    )
    assert second.version == 2
    assert registry.get("SPX-direction-5").version == 2  # newest without a production one
    registry.set_stage("SPX-direction-5", 1, Stage.PRODUCTION)
    assert registry.get("SPX-direction-5").version == 1  # production wins
    registry.set_stage("SPX-direction-5", 2, Stage.PRODUCTION)
    stages = {v.version: v.stage for v in registry.versions("SPX-direction-5")}
    assert stages == {2: Stage.PRODUCTION, 1: Stage.CANDIDATE}
    registry.set_stage("SPX-direction-5", 2, Stage.CANDIDATE)
    assert {v.stage for v in registry.versions("SPX-direction-5")} == {Stage.CANDIDATE}


def test_unknown_models_and_versions_are_not_found(registry: MlflowModelRegistry) -> None:
    with pytest.raises(NotFound, match="no model named"):
        registry.get("NOPE-volatility-1")
    with pytest.raises(NotFound, match="no version 99"):
        registry.get("SPX-direction-5", 99)
