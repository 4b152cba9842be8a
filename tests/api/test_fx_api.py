"""FX rates through the API: administrators store them; bad rows are named."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_admin_stores_rates_and_bad_rows_are_named(
    admin_client: TestClient, client: TestClient
) -> None:
    good = {"currency": "EUR", "quote_currency": "USD", "day": "2024-01-02", "rate": "1.0945"}
    stored = admin_client.put("/api/v1/fx-rates", json={"rates": [good, {**good, "rate": "1.1"}]})
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"stored": 2}
    bad = admin_client.put(
        "/api/v1/fx-rates",
        json={"rates": [good, {**good, "currency": "XXQ"}, {**good, "rate": "-1"}]},
    )
    assert bad.status_code == 422
    locations = {(e["location"], e["field"]) for e in bad.json()["errors"]}
    assert ("rates[1]", "currency") in locations
    assert ("rates[2]", "rate") in locations
    float_rate = admin_client.put("/api/v1/fx-rates", json={"rates": [{**good, "rate": 1.09}]})
    assert float_rate.status_code == 422
    assert client.put("/api/v1/fx-rates", json={"rates": [good]}).status_code == 403
