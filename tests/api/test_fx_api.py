"""FX rates through the API: administrators store them; bad rows are named.

Runs on its own app so the rates it stores never reach other tests' portfolios.
"""

from __future__ import annotations

from pathlib import Path

from auth_helpers import api_settings, make_account
from fastapi.testclient import TestClient

from quantdesk.api import create_app
from quantdesk.auth.rbac import Role
from quantdesk.runtime import build_runtime


def test_admin_stores_rates_and_bad_rows_are_named(tmp_path: Path) -> None:
    with build_runtime(api_settings(tmp_path)) as runtime:
        admin = make_account(runtime, "fx-admin@example.com", Role.ADMIN).headers
        analyst = make_account(runtime, "fx-analyst@example.com", Role.ANALYST).headers
        with TestClient(create_app(runtime=runtime)) as client:
            good = {
                "currency": "EUR",
                "quote_currency": "USD",
                "day": "2024-01-02",
                "rate": "1.0945",
            }
            stored = client.put(
                "/api/v1/fx-rates", headers=admin, json={"rates": [good, {**good, "rate": "1.1"}]}
            )
            assert stored.status_code == 200, stored.text
            assert stored.json() == {"stored": 2}
            bad = client.put(
                "/api/v1/fx-rates",
                headers=admin,
                json={"rates": [good, {**good, "currency": "XXQ"}, {**good, "rate": "-1"}]},
            )
            assert bad.status_code == 422
            locations = {(e["location"], e["field"]) for e in bad.json()["errors"]}
            assert ("rates[1]", "currency") in locations
            assert ("rates[2]", "rate") in locations
            as_float = client.put(
                "/api/v1/fx-rates", headers=admin, json={"rates": [{**good, "rate": 1.09}]}
            )
            assert as_float.status_code == 422
            refused = client.put("/api/v1/fx-rates", headers=analyst, json={"rates": [good]})
            assert refused.status_code == 403
