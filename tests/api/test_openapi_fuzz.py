"""Property-based run over the whole OpenAPI schema (schemathesis), signed in as an admin.

Every operation gets generated requests, valid and invalid; no response may be a 5xx, and every
response must match the documented status codes, content types and schemas.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from auth_helpers import api_settings, make_account
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from quantdesk.api import create_app
from quantdesk.auth.rbac import Role
from quantdesk.data.ports import FetchRequest
from quantdesk.runtime import build_runtime
from quantdesk.runtime.providers import SyntheticMarketConfig, synthetic_provider

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The schema must exist when tests are collected, so the app is built at import time, on a
# throw-away home with a small synthetic market (flagged synthetic).
_HOME = Path(tempfile.mkdtemp(prefix="qd-fuzz-"))
_RUNTIME = build_runtime(api_settings(_HOME))
_RUNTIME.market.ingest(
    synthetic_provider(SyntheticMarketConfig(seed=9, days=60, names_per_sector=1, intraday_days=0)),
    FetchRequest(),
)
_ADMIN = make_account(_RUNTIME, "fuzz-admin@example.com", Role.ADMIN)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(runtime=_RUNTIME))


@pytest.fixture(scope="module", autouse=True)
def _close_runtime() -> Iterator[None]:
    yield
    _RUNTIME.close()
    shutil.rmtree(_HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_fails_and_matches_its_schema(case: Any) -> None:
    case.call_and_validate(headers=_ADMIN.headers, checks=CHECKS)
