"""Accounts for API tests: fast hashing, generous limits, one signed-in user per role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quantdesk.auth.models import AuditContext, UserAccount
from quantdesk.auth.rbac import Role
from quantdesk.config import Settings
from quantdesk.runtime import Runtime

PASSWORD = "correct horse battery staple"

# Cheap Argon2 parameters keep the suite fast; production defaults are tested in unit tests.
FAST_AUTH = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
GENEROUS_LIMITS = {"tiers": {"free": "100000/minute", "pro": "100000/minute"}}


@dataclass(frozen=True)
class Account:
    """A test user and a valid access token for them."""

    user: UserAccount
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def api_settings(home: Path, **overrides: object) -> Settings:
    """Settings for API tests: fast hashing, generous rate limits."""
    values: dict[str, object] = {
        "home": home,
        "auth": FAST_AUTH,
        "rate_limits": {**GENEROUS_LIMITS, "anonymous": "100000/minute"},
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_account(runtime: Runtime, email: str, role: Role) -> Account:
    """Create a user with ``role`` and sign them in."""
    user = runtime.auth.create_user(
        email=email, password=PASSWORD, role=role, actor=None, context=AuditContext()
    )
    pair = runtime.auth.login(email, PASSWORD, context=AuditContext(ip="testclient"))
    return Account(user, pair.access_token)
