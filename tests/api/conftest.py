from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quantdesk.api import create_app
from quantdesk.config import Settings
from quantdesk.data.ports import FetchRequest
from quantdesk.runtime import Runtime, build_runtime
from quantdesk.runtime.providers import SyntheticMarketConfig, bundled_provider, synthetic_provider


@pytest.fixture(scope="session")
def api_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime holding real S&P 500 / NASDAQ history, the 20-stock close-only set and a small
    synthetic market with intraday bars."""
    home: Path = tmp_path_factory.mktemp("qd-api")
    settings = Settings(home=home)
    runtime = build_runtime(settings)
    runtime.market.ingest(bundled_provider("sp500-index", "nasdaq-index", "sp500-20"))
    config = SyntheticMarketConfig(seed=3, days=60, names_per_sector=1, intraday_days=2)
    runtime.market.ingest(synthetic_provider(config), FetchRequest())
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def client(api_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=api_runtime)) as test_client:
        yield test_client
