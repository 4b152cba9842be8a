"""Compose the account service, the rate limiter and the login guard from settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from quantdesk.auth.passwords import PasswordHasher
from quantdesk.auth.ratelimit import (
    LoginThrottle,
    MemoryFailureStore,
    RateLimiter,
    RedisFailureStore,
)
from quantdesk.auth.rbac import Role
from quantdesk.auth.secrets import SecretBox, load_or_create_key_file
from quantdesk.auth.service import AuthService
from quantdesk.auth.tokens import TokenIssuer
from quantdesk.config import Settings
from quantdesk.core.clock import Clock
from quantdesk.core.errors import ConfigError
from quantdesk.db.accounts import SqlAuthStore


def secrets_dir(settings: Settings) -> Path:
    """Return the folder holding generated demo keys."""
    return settings.home_dir / "secrets"


def build_secret_box(settings: Settings) -> SecretBox:
    """Return the cipher for stored credentials (a generated key file in the demo profile)."""
    keys = list(settings.secrets.master_keys)
    if not keys:
        if settings.profile != "demo":
            raise ConfigError("secrets.master_keys is empty; set QUANTDESK_SECRETS__MASTER_KEYS")
        return SecretBox([load_or_create_key_file(secrets_dir(settings) / "master.key")])
    return SecretBox(keys)


def build_token_issuer(settings: Settings, clock: Clock) -> TokenIssuer:
    """Return the JWT issuer for the configured algorithm and keys."""
    auth = settings.auth
    if auth.jwt_algorithm == "RS256":
        if auth.jwt_private_key_path is None or auth.jwt_public_key_path is None:
            raise ConfigError(
                "auth.jwt_algorithm is RS256; set QUANTDESK_AUTH__JWT_PRIVATE_KEY_PATH and "
                "QUANTDESK_AUTH__JWT_PUBLIC_KEY_PATH"
            )
        try:
            signing = auth.jwt_private_key_path.expanduser().read_text()
            verifying = auth.jwt_public_key_path.expanduser().read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the RS256 key pair: {exc}") from exc
    else:
        if auth.jwt_secret is not None:
            signing = auth.jwt_secret.get_secret_value()
        elif settings.profile == "demo":
            signing = load_or_create_key_file(secrets_dir(settings) / "jwt.key")
        else:
            raise ConfigError("auth.jwt_secret is not set; set QUANTDESK_AUTH__JWT_SECRET")
        verifying = signing
    return TokenIssuer(
        algorithm=auth.jwt_algorithm,
        signing_key=signing,
        verifying_key=verifying,
        clock=clock,
        issuer=auth.issuer,
        access_ttl=timedelta(minutes=auth.access_token_minutes),
        leeway=timedelta(seconds=auth.leeway_seconds),
    )


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Return the request limiter: in memory, or Redis when ``redis.url`` is set."""
    return RateLimiter.from_settings(settings.rate_limits, settings.redis.url)


def build_login_throttle(settings: Settings) -> LoginThrottle:
    """Return the brute-force guard, sharing Redis when ``redis.url`` is set."""
    limits = settings.security
    store = (
        RedisFailureStore.from_url(settings.redis.url)
        if settings.redis.url
        else MemoryFailureStore()
    )
    return LoginThrottle.from_settings(limits, store)


def build_auth_service(
    settings: Settings, engine: Engine, clock: Clock, guard: LoginThrottle
) -> AuthService:
    """Return the account service over the relational store."""
    auth = settings.auth
    return AuthService(
        SqlAuthStore(engine),
        hasher=PasswordHasher(
            time_cost=auth.argon2_time_cost,
            memory_kib=auth.argon2_memory_kib,
            parallelism=auth.argon2_parallelism,
        ),
        issuer=build_token_issuer(settings, clock),
        cipher=build_secret_box(settings),
        guard=guard,
        clock=clock,
        refresh_ttl=timedelta(days=auth.refresh_token_days),
        min_password_length=auth.min_password_length,
        self_registration=auth.self_registration,
        default_role=Role(auth.default_role),
        mfa_issuer=auth.mfa_issuer,
        default_tier=settings.rate_limits.default_tier,
    )
