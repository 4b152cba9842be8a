from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import Account, api_settings, make_account
from fastapi.testclient import TestClient

from quantdesk.api import create_app
from quantdesk.auth.rbac import Role
from quantdesk.data.ports import FetchRequest
from quantdesk.runtime import Runtime, build_runtime
from quantdesk.runtime.providers import SyntheticMarketConfig, bundled_provider, synthetic_provider


@pytest.fixture(scope="session")
def api_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime holding real S&P 500 / NASDAQ history, the 20-stock close-only set and a small
    synthetic market with intraday bars."""
    home: Path = tmp_path_factory.mktemp("qd-api")
    runtime = build_runtime(api_settings(home))
    runtime.market.ingest(bundled_provider("sp500-index", "nasdaq-index", "sp500-20"))
    config = SyntheticMarketConfig(seed=3, days=60, names_per_sector=1, intraday_days=2)
    runtime.market.ingest(synthetic_provider(config), FetchRequest())
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def accounts(api_runtime: Runtime) -> dict[str, Account]:
    """One signed-in user per role, plus a second analyst (a non-owner for ownership tests)."""
    made = {
        role.value: make_account(api_runtime, f"{role.value}@example.com", role) for role in Role
    }
    made["other"] = make_account(api_runtime, "other@example.com", Role.ANALYST)
    return made


@pytest.fixture(scope="session")
def app(api_runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime=api_runtime)


@pytest.fixture(scope="session")
def anon_client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client without credentials."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def client(app, accounts: dict[str, Account]) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client signed in as an analyst (market data, analysis, own portfolios)."""
    with TestClient(app, headers=accounts["analyst"].headers) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def admin_client(app, accounts: dict[str, Account]) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client signed in as an administrator."""
    with TestClient(app, headers=accounts["admin"].headers) as test_client:
        yield test_client
