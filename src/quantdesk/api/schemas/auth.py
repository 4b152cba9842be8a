"""Account, token, API-key, secret and audit wire models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from quantdesk.auth.models import ApiKey, AuditEntry, TokenPair, UserAccount
from quantdesk.auth.ports import StoredSecret
from quantdesk.auth.rbac import Role, Scope

Email = Annotated[str, Field(min_length=3, max_length=320, examples=["ada@example.com"])]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Code = Annotated[str, Field(min_length=6, max_length=32, description="TOTP or recovery code")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenResponse(BaseModel):
    """Tokens from a sign-in or a refresh."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str
    refresh_expires_at: datetime

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        """Return the wire model of ``pair``."""
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            refresh_expires_at=pair.refresh_expires_at,
        )


class RefreshRequest(_Body):
    """A refresh token to rotate or revoke."""

    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class UserPublic(BaseModel):
    """A user as the API shows it (never the password hash or MFA secret)."""

    id: str
    email: str
    display_name: str
    role: Role
    tier: str
    is_active: bool
    mfa_enabled: bool
    created_at: datetime | None
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: UserAccount) -> UserPublic:
        """Return the wire model of ``user``."""
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            tier=user.tier,
            is_active=user.is_active,
            mfa_enabled=user.mfa_enabled,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class MePublic(UserPublic):
    """The signed-in caller, with what they may do."""

    permissions: list[str]
    via: str
    scopes: list[str] | None = None


class UsersPublic(BaseModel):
    """A page of users."""

    data: list[UserPublic]
    count: int


class UserCreate(_Body):
    """An administrator creating an account."""

    email: Email
    password: Password
    display_name: Annotated[str | None, Field(max_length=200)] = None
    role: Role = Role.VIEWER
    tier: Annotated[str | None, Field(max_length=32)] = None


class RegisterRequest(_Body):
    """Self-registration (only when switched on)."""

    email: Email
    password: Password
    display_name: Annotated[str | None, Field(max_length=200)] = None


class UserUpdate(_Body):
    """Fields an administrator may change; omitted ones stay as they are."""

    display_name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    role: Role | None = None
    is_active: bool | None = None
    tier: Annotated[str | None, Field(min_length=1, max_length=32)] = None


class PasswordChange(_Body):
    """The caller changing their own password."""

    current_password: Password
    new_password: Password


class MfaEnrolPublic(BaseModel):
    """A new TOTP secret; encode ``otpauth_uri`` as a QR code for an authenticator app."""

    secret: str
    otpauth_uri: str


class MfaCode(_Body):
    """A one-time code."""

    code: Code


class RecoveryCodesPublic(BaseModel):
    """Ten one-time recovery codes, shown once."""

    recovery_codes: list[str]


class MfaPolicyPublic(BaseModel):
    """Roles whose users must use MFA."""

    required_roles: list[Role]


class MfaPolicyUpdate(_Body):
    """Require MFA for a role, or stop requiring it."""

    role: Role
    required: bool


class ApiKeyCreate(_Body):
    """A new API key request."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)] = [Scope.READ]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = 90


class ApiKeyPublic(BaseModel):
    """An API key as listed (prefix only)."""

    id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    user_id: str

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyPublic:
        """Return the wire model of ``key``."""
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(key.scopes),
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked=key.revoked_at is not None,
            user_id=key.user_id,
        )


class ApiKeyCreated(ApiKeyPublic):
    """A new API key: ``key`` is shown this once."""

    key: str


class ApiKeysPublic(BaseModel):
    """API keys."""

    data: list[ApiKeyPublic]
    count: int


class SecretPut(_Body):
    """A credential to store encrypted (e.g. a data-provider API key)."""

    value: Annotated[str, Field(min_length=1, max_length=4096)]


class SecretPublic(BaseModel):
    """A stored credential's name and date; the value is never returned."""

    name: str
    updated_at: datetime

    @classmethod
    def of(cls, secret: StoredSecret) -> SecretPublic:
        """Return the wire model of ``secret``."""
        return cls(name=secret.name, updated_at=secret.updated_at)


class SecretsPublic(BaseModel):
    """Stored credentials."""

    data: list[SecretPublic]
    count: int


class AuditEntryPublic(BaseModel):
    """One audit record."""

    id: int | None
    at: datetime
    action: str
    outcome: str
    actor_id: str | None
    actor_email: str | None
    role: str | None
    target: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryPublic:
        """Return the wire model of ``entry``."""
        return cls(
            id=entry.id,
            at=entry.at,
            action=entry.action,
            outcome=entry.outcome,
            actor_id=entry.actor_id,
            actor_email=entry.actor_email,
            role=entry.role,
            target=entry.target,
            ip=entry.context.ip,
            user_agent=entry.context.user_agent,
            request_id=entry.context.request_id,
            before=entry.before,
            after=entry.after,
        )


class AuditPage(BaseModel):
    """A page of audit entries, newest first; pass ``next_before_id`` to get older ones."""

    data: list[AuditEntryPublic]
    count: int
    next_before_id: int | None
