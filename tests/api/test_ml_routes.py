"""Forecast routes on the real S&P 500: train, track record, promotion rule, predictions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def volatility(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/api/v1/ml/models/train", json={"symbol": "SPX", "task": "volatility", "horizon": 1}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def trend(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/api/v1/ml/models/train", json={"symbol": "SPX", "task": "trend", "horizon": 5}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_training_registers_a_candidate_with_its_out_of_sample_record(
    volatility: dict[str, Any],
) -> None:
    model = volatility["model"]
    assert model["name"] == "SPX-volatility-1d"
    assert model["stage"] == "candidate"
    assert model["params"]["model"] == "gjr"
    assert model["tags"]["data_window"].startswith("1999-01-04..")
    assert "code_version" in model["tags"]
    primary = volatility["primary_metric"]
    pooled = volatility["pooled"]
    assert {"gjr_garch_t", "ewma", "rolling_21", "rolling_63"} <= pooled.keys()
    best = volatility["best_baseline"]
    assert volatility["beats_baseline"] == (pooled["gjr_garch_t"][primary] < pooled[best][primary])
    # the September 2001 market closure is the one gap of more than 5 calendar days
    assert [gap["start"][:10] for gap in volatility["gaps"]] == ["2001-09-10"]


def test_a_model_that_beats_its_baseline_can_be_promoted_and_predicts(
    client: TestClient, volatility: dict[str, Any]
) -> None:
    assert volatility["beats_baseline"] is True  # GJR-GARCH beats EWMA on this index
    name, version = volatility["model"]["name"], volatility["model"]["version"]
    promoted = client.post(f"/api/v1/ml/models/{name}/versions/{version}/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["stage"] == "production"
    response = client.post("/api/v1/ml/predict/volatility", json={"symbol": "SPX", "horizon": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    forecast = body["forecast"]
    assert forecast["variance"] > 0
    assert forecast["volatility"] == pytest.approx(math.sqrt(forecast["variance"]))
    assert forecast["annualized_volatility"] == pytest.approx(math.sqrt(forecast["variance"] * 252))
    assert body["as_of"].startswith("2018-12-31")
    performance = body["performance"]
    assert performance["model"]["stage"] == "production"
    assert performance["beats_baseline"] is True
    assert performance["baseline_metrics"], "the baseline's record is reported alongside"
    assert "beats the" in performance["verdict"]


def test_a_model_that_does_not_beat_its_baseline_says_so_and_is_not_promoted(
    client: TestClient, trend: dict[str, Any]
) -> None:
    name, version = trend["model"]["name"], trend["model"]["version"]
    if trend["beats_baseline"]:
        pytest.skip("the direction model beat its baseline on this run")
    refused = client.post(f"/api/v1/ml/models/{name}/versions/{version}/promote")
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    primary = trend["primary_metric"]
    ours = trend["pooled"]["lightgbm_direction"][primary]
    theirs = trend["pooled"][trend["best_baseline"]][primary]
    assert f"{ours:.6g}" in detail
    assert f"{theirs:.6g}" in detail
    prediction = client.post("/api/v1/ml/predict/trend", json={"symbol": "SPX", "horizon": 5})
    assert prediction.status_code == 200, prediction.text
    body = prediction.json()
    assert 0.0 <= body["forecast"]["probability_up"] <= 1.0
    assert any("No model beats the baseline" in note for note in body["notes"])
    assert any("no production version" in note for note in body["notes"])
    assert body["performance"]["calibration"] is not None


def test_performance_and_models_list_what_was_trained(
    client: TestClient, volatility: dict[str, Any], trend: dict[str, Any]
) -> None:
    performance = client.get("/api/v1/ml/model/performance").json()["models"]
    names = {record["model"]["name"] for record in performance}
    assert {"SPX-volatility-1d", "SPX-trend-5d"} <= names
    listed = client.get("/api/v1/ml/models", params={"name": "SPX-trend-5d"}).json()["models"]
    assert [m["version"] for m in listed] == sorted((m["version"] for m in listed), reverse=True)


@pytest.mark.parametrize(
    ("path", "body", "status", "text"),
    [
        ("/api/v1/ml/models/train", {"symbol": "NOPE", "task": "trend"}, 404, "NOPE"),
        ("/api/v1/ml/models/train", {"symbol": "SPX", "task": "trend", "horizon": 0}, 422, ""),
        ("/api/v1/ml/models/train", {"symbol": "SPX", "task": "trend", "horizon": 64}, 422, ""),
        ("/api/v1/ml/models/train", {"symbol": "SPX", "task": "weather"}, 422, ""),
        (
            "/api/v1/ml/models/train",
            {"symbol": "SPX", "task": "trend", "model": "garch"},
            422,
            "model",
        ),
        (
            "/api/v1/ml/models/train",
            {"symbol": "SPX", "task": "trend", "start": "2018-01-01"},
            422,
            "too little history",
        ),
        ("/api/v1/ml/predict/trend", {"symbol": "IXIC", "horizon": 5}, 404, "trained"),
        ("/api/v1/ml/predict/price", {"symbol": "SPX", "horizon": 99}, 422, ""),
        ("/api/v1/ml/models/SPX-trend-5d/versions/999/promote", None, 404, "999"),
    ],
)
def test_bad_ml_requests_are_clear_4xx(
    client: TestClient, path: str, body: dict[str, Any] | None, status: int, text: str
) -> None:
    response = client.post(path, json=body) if body is not None else client.post(path)
    assert response.status_code == status, response.text
    assert text in response.text


def test_a_stock_model_gets_the_index_as_market_context(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ml/models/train",
        json={"symbol": "AAPL", "task": "price", "horizon": 5, "model": "ridge"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["model"]["params"]["market_context"] == "SPX"
    assert {"mkt_ret_1", "mkt_ret_5", "mkt_ret_21"} <= set(body["features"])
    # AAPL's bundled history is close-only: the range features are left out, not invented
    assert "parkinson_vol_21" not in body["features"]
    prediction = client.post("/api/v1/ml/predict/price", json={"symbol": "AAPL", "horizon": 5})
    assert prediction.status_code == 200, prediction.text
    assert prediction.json()["forecast"]["price"] > 0
