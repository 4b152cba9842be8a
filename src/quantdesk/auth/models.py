"""Account value objects shared by the auth service, its store and the interfaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from quantdesk.auth.rbac import Permission, Role, Scope, permissions_for


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A user as stored. ``password_hash`` and ``mfa_secret`` never leave the service."""

    id: str
    email: str
    display_name: str
    role: Role
    password_hash: str
    is_active: bool = True
    tier: str = "free"
    mfa_enabled: bool = False
    mfa_secret: str | None = None  # encrypted with the secret box
    created_at: datetime | None = None
    last_login_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user, or a user acting through an API key."""

    user_id: str
    email: str
    role: Role
    tier: str
    via: Literal["token", "api_key"]
    scopes: frozenset[Scope] | None = None
    api_key_id: str | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        user: UserAccount,
        *,
        via: Literal["token", "api_key"],
        scopes: frozenset[Scope] | None = None,
        api_key_id: str | None = None,
    ) -> Principal:
        """Return the principal for ``user`` with its effective permissions."""
        return cls(
            user_id=user.id,
            email=user.email,
            role=user.role,
            tier=user.tier,
            via=via,
            scopes=scopes,
            api_key_id=api_key_id,
            permissions=permissions_for(user.role, scopes),
        )

    @property
    def is_admin(self) -> bool:
        """Return whether this principal may see every user's resources."""
        return self.role is Role.ADMIN and Permission.USERS_ADMIN in self.permissions

    def can(self, permission: Permission) -> bool:
        """Return whether the principal holds ``permission``."""
        return permission in self.permissions

    def owns(self, owner_id: str) -> bool:
        """Return whether a resource owned by ``owner_id`` is visible to this principal."""
        return self.user_id == owner_id or self.is_admin


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A stored refresh token (only its hash is kept)."""

    id: str
    user_id: str
    family_id: str
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key (only its hash is kept); ``prefix`` identifies it in listings."""

    id: str
    user_id: str
    name: str
    prefix: str
    key_hash: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        """Return whether the key is neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Where a request came from; recorded with every audit entry."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One append-only audit record."""

    action: str
    outcome: Literal["success", "failure"]
    at: datetime
    actor_id: str | None = None
    actor_email: str | None = None
    role: str | None = None
    target: str | None = None
    context: AuditContext = field(default_factory=AuditContext)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a successful sign-in or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_at: datetime
    token_type: str = "bearer"
