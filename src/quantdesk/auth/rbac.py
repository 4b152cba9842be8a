"""Roles, permissions and API-key scopes: the one table every check reads.

A request is allowed when the caller's role grants the permission and, for API keys, the key's
scopes do too (the effective set is the intersection). Ownership (a user sees only their own
portfolios, orders, keys...) is checked by the services, which answer "not found" to non-owners.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user is for."""

    ADMIN = "admin"
    ADVISOR = "advisor"
    TRADER = "trader"
    ANALYST = "analyst"
    VIEWER = "viewer"


class Permission(StrEnum):
    """One action a route may require."""

    ACCOUNT = "account"  # own profile, password, MFA, API keys and stored secrets
    MARKET_READ = "market:read"
    MARKET_WRITE = "market:write"
    ANALYSIS_RUN = "analysis:run"
    RISK_RUN = "risk:run"
    PORTFOLIO_READ = "portfolio:read"
    PORTFOLIO_WRITE = "portfolio:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    BACKTEST_RUN = "backtest:run"
    ML_READ = "ml:read"
    ML_TRAIN = "ml:train"
    CLIENTS_MANAGE = "clients:manage"
    LIQUIDITY_READ = "liquidity:read"
    USERS_ADMIN = "users:admin"
    AUDIT_READ = "audit:read"


class Scope(StrEnum):
    """What an API key may be used for, on top of its owner's role."""

    READ = "read"
    TRADE = "trade"
    ADMIN = "admin"


_P = Permission
_BASE = frozenset({_P.ACCOUNT, _P.MARKET_READ, _P.ANALYSIS_RUN})
_OWN_PORTFOLIOS = frozenset({_P.PORTFOLIO_READ, _P.PORTFOLIO_WRITE, _P.RISK_RUN})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ADVISOR: _BASE | _OWN_PORTFOLIOS | {_P.CLIENTS_MANAGE, _P.LIQUIDITY_READ},
    Role.TRADER: _BASE | _OWN_PORTFOLIOS | {_P.ORDERS_READ, _P.ORDERS_WRITE},
    Role.ANALYST: _BASE | _OWN_PORTFOLIOS | {_P.BACKTEST_RUN, _P.ML_READ, _P.ML_TRAIN},
    Role.VIEWER: _BASE,
}
"""Role → permissions. Viewers read market data and run analysis, nothing else."""

_READ = frozenset(
    {
        _P.ACCOUNT,
        _P.MARKET_READ,
        _P.ANALYSIS_RUN,
        _P.RISK_RUN,
        _P.PORTFOLIO_READ,
        _P.ORDERS_READ,
        _P.BACKTEST_RUN,
        _P.ML_READ,
        _P.LIQUIDITY_READ,
    }
)
SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.READ: _READ,
    Scope.TRADE: _READ | {_P.ORDERS_WRITE, _P.PORTFOLIO_WRITE},
    Scope.ADMIN: frozenset(Permission),
}
"""API-key scope → the permissions it can carry (still capped by the owner's role)."""


def permissions_for(role: Role, scopes: frozenset[Scope] | None = None) -> frozenset[Permission]:
    """Return the effective permissions of ``role``, narrowed by API-key ``scopes`` if given."""
    granted = ROLE_PERMISSIONS[role]
    if scopes is None:
        return granted
    allowed: frozenset[Permission] = frozenset().union(*(SCOPE_PERMISSIONS[s] for s in scopes))
    return granted & allowed
