"""Shared fixtures.

Service-backed tests read ``QUANTDESK_TEST_POSTGRES_URL`` / ``QUANTDESK_TEST_REDIS_URL``. They
skip with a visible reason when these are unset, and fail instead when
``QUANTDESK_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


def _require_services() -> bool:
    return os.environ.get("QUANTDESK_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def service_url(variable: str) -> str:
    """Return the URL in ``variable`` or skip (fail when services are required)."""
    url = os.environ.get(variable, "").strip()
    if not url:
        message = f"{variable} is not set; this test needs that service"
        if _require_services():
            pytest.fail(message + " and QUANTDESK_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Return the URL of the test PostgreSQL server (psycopg form, ``postgresql://...``)."""
    return service_url("QUANTDESK_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return the URL of the test Redis server (``redis://host:6379/0``)."""
    return service_url("QUANTDESK_TEST_REDIS_URL")


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """Create a throw-away schema and return a URL whose search_path points at it."""
    import psycopg

    name = f"qd_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{name}"')
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{name}" CASCADE')
