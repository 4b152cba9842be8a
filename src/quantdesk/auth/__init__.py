"""Accounts and security: roles and permissions, principals, tokens, secrets, rate limits.

:mod:`~quantdesk.auth.rbac` holds the one table of roles, permissions and API-key scopes;
:mod:`~quantdesk.auth.models` the value objects (:class:`Principal`, :class:`UserAccount`,
audit entries, token pairs); :class:`PasswordHasher`, :class:`TokenIssuer`, :class:`SecretBox`,
:class:`RateLimiter` and :class:`LoginThrottle` are the building blocks. The service that
combines them over a store, :class:`~quantdesk.auth.service.AuthService`, is imported from
:mod:`quantdesk.auth.service`; importing this package does not load it.

The building blocks load on first use, so that importing the value objects (as every API route
and CLI command does) does not pull in the Redis, rate-limit and JWT libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from quantdesk.auth.models import AuditContext, AuditEntry, Principal, TokenPair, UserAccount
from quantdesk.auth.rbac import ROLE_PERMISSIONS, Permission, Role, Scope, permissions_for

if TYPE_CHECKING:
    from quantdesk.auth.passwords import PasswordHasher
    from quantdesk.auth.ratelimit import LoginThrottle, RateLimiter
    from quantdesk.auth.secrets import SecretBox
    from quantdesk.auth.tokens import TokenIssuer

_LAZY = {
    "PasswordHasher": "quantdesk.auth.passwords",
    "LoginThrottle": "quantdesk.auth.ratelimit",
    "RateLimiter": "quantdesk.auth.ratelimit",
    "SecretBox": "quantdesk.auth.secrets",
    "TokenIssuer": "quantdesk.auth.tokens",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'quantdesk.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ROLE_PERMISSIONS",
    "AuditContext",
    "AuditEntry",
    "LoginThrottle",
    "PasswordHasher",
    "Permission",
    "Principal",
    "RateLimiter",
    "Role",
    "Scope",
    "SecretBox",
    "TokenIssuer",
    "TokenPair",
    "UserAccount",
    "permissions_for",
]
