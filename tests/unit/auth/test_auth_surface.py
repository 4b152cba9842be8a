"""The public surface of ``quantdesk.auth``: a curated ``__all__`` that keeps the service out."""

from __future__ import annotations

import subprocess
import sys

import quantdesk.auth as auth
from quantdesk.auth import models, passwords, ratelimit, rbac, secrets, tokens

EXPECTED = [
    "AuditContext",
    "AuditEntry",
    "LoginThrottle",
    "PasswordHasher",
    "Permission",
    "Principal",
    "ROLE_PERMISSIONS",
    "RateLimiter",
    "Role",
    "Scope",
    "SecretBox",
    "TokenIssuer",
    "TokenPair",
    "UserAccount",
    "permissions_for",
]


def test_public_surface_is_pinned() -> None:
    assert sorted(auth.__all__) == EXPECTED
    assert len(set(auth.__all__)) == len(auth.__all__)


def test_every_exported_name_is_the_defining_modules_object() -> None:
    homes = {
        "AuditContext": models,
        "AuditEntry": models,
        "Principal": models,
        "TokenPair": models,
        "UserAccount": models,
        "PasswordHasher": passwords,
        "LoginThrottle": ratelimit,
        "RateLimiter": ratelimit,
        "ROLE_PERMISSIONS": rbac,
        "Permission": rbac,
        "Role": rbac,
        "Scope": rbac,
        "permissions_for": rbac,
        "SecretBox": secrets,
        "TokenIssuer": tokens,
    }
    assert sorted(homes) == EXPECTED
    for name, module in homes.items():
        assert getattr(auth, name) is getattr(module, name), name


def test_importing_the_package_loads_neither_the_service_nor_the_data_layer() -> None:
    # A fresh interpreter: this test process may already have imported either.
    code = (
        "import sys, quantdesk.auth\n"
        "loaded = sorted(m for m in sys.modules if m == 'quantdesk.auth.service'"
        " or m == 'quantdesk.data' or m.startswith('quantdesk.data.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""
