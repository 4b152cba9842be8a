"""Application settings.

Every value can be set from the environment with the ``QUANTDESK_`` prefix, nested sections
joined by ``__``::

    QUANTDESK_HOME=/data/quantdesk
    QUANTDESK_STORAGE__BACKEND=postgres
    QUANTDESK_DATABASE__URL=postgresql+psycopg://user@db/quantdesk
    QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY=...

Only the composition root (``quantdesk.runtime``) builds a :class:`Settings`; library code takes
the values it needs as arguments.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDER_SECRETS = {"demo", "changeme", "changethis", "secret", "password", ""}
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@]+:)(?P<pw>[^@]+)(?P<tail>@)")


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by asterisks."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}****{m['tail']}", url)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StorageSettings(_Section):
    """Market-data (bar) store.

    ``backend`` picks the adapter: ``duckdb`` (a file under ``QUANTDESK_HOME``) or
    ``postgres``. For PostgreSQL, ``url`` defaults to ``database.url`` when that is PostgreSQL.
    """

    backend: Literal["duckdb", "postgres"] = "duckdb"
    duckdb_path: Path | None = None
    url: str | None = None
    duckdb_threads: Annotated[int, Field(ge=1, le=256)] | None = None


class DatabaseSettings(_Section):
    """Relational store (instruments, and later users, portfolios, alerts, jobs).

    SQLite under ``QUANTDESK_HOME`` by default; any SQLAlchemy URL otherwise, e.g.
    ``postgresql+psycopg://user@host/db``.
    """

    url: str | None = None
    echo: bool = False


class ApiSettings(_Section):
    """HTTP API server."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    cors_origins: list[str] = Field(default_factory=list)
    max_page_size: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    default_page_size: Annotated[int, Field(ge=1, le=1_000_000)] = 1_000


Role = Literal["admin", "advisor", "trader", "analyst", "viewer"]


class AuthSettings(_Section):
    """Accounts and tokens.

    HS256 signs with ``jwt_secret``; RS256 with the PEM key pair at ``jwt_private_key_path`` /
    ``jwt_public_key_path``. In the demo profile a missing HS256 secret is generated once and kept
    in ``QUANTDESK_HOME/secrets/jwt.key`` (mode 0600); production requires a real one.
    """

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_private_key_path: Path | None = None
    jwt_public_key_path: Path | None = None
    issuer: str = "quantdesk"
    access_token_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    refresh_token_days: Annotated[int, Field(ge=1, le=365)] = 7
    leeway_seconds: Annotated[int, Field(ge=0, le=120)] = 10
    self_registration: bool = False
    default_role: Role = "viewer"
    mfa_issuer: str = "quantdesk"
    min_password_length: Annotated[int, Field(ge=8, le=128)] = 12
    argon2_time_cost: Annotated[int, Field(ge=1, le=20)] = 3
    argon2_memory_kib: Annotated[int, Field(ge=1024, le=4 * 1024 * 1024)] = 64 * 1024
    argon2_parallelism: Annotated[int, Field(ge=1, le=16)] = 2


class SecurityLimits(_Section):
    """Abuse protection: brute-force lockout and request limits."""

    login_delay_after: Annotated[int, Field(ge=1, le=100)] = 3
    login_lockout_after: Annotated[int, Field(ge=1, le=1000)] = 10
    login_lockout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    login_ip_factor: Annotated[int, Field(ge=1, le=1000)] = 5
    max_body_bytes: Annotated[int, Field(ge=1024, le=1 << 31)] = 10 * 1024 * 1024


class RateLimitSettings(_Section):
    """Per-user (per-IP when anonymous) request limits, in ``limits`` notation.

    ``tiers`` maps a user's tier to its limit; ``anonymous`` applies to callers without
    credentials. ``groups`` scales a limit for expensive route groups (a factor < 1 is stricter).
    """

    enabled: bool = True
    anonymous: str = "60/minute"
    default_tier: str = "free"
    tiers: dict[str, str] = Field(
        default_factory=lambda: {"free": "100/minute", "pro": "10000/minute"}
    )
    groups: dict[str, float] = Field(
        default_factory=lambda: {"auth": 0.2, "analysis": 0.5, "default": 1.0}
    )


class RedisSettings(_Section):
    """Redis, used for rate limits and the bus when ``url`` is set (``redis://host:6379/0``)."""

    url: str | None = None


class SecretsSettings(_Section):
    """Encryption of third-party credentials users store (provider and broker keys).

    ``master_keys`` are Fernet keys, newest first; older keys still decrypt, and
    ``quantdesk secrets rotate`` re-encrypts everything with the first. In the demo profile a
    missing key is generated once into ``QUANTDESK_HOME/secrets/master.key`` (mode 0600).
    """

    master_keys: list[SecretStr] = Field(default_factory=list)


class MLSettings(_Section):
    """Model tracking and registry (MLflow).

    ``tracking_uri`` defaults to a SQLite store ``QUANTDESK_HOME/mlflow.db`` with artifacts in
    ``QUANTDESK_HOME/mlartifacts``; set it to a remote tracking server (``http://host:5000``)
    or a database URL to share models between machines.
    """

    tracking_uri: str | None = None
    experiment: str = Field(default="quantdesk", min_length=1, max_length=100)


class LoggingSettings(_Section):
    """Logging: ``auto`` is readable in a terminal and JSON lines otherwise."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class ProviderSettings(_Section):
    """HTTP market-data providers."""

    alphavantage_api_key: SecretStr | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    backoff_seconds: Annotated[float, Field(ge=0, le=60)] = 0.5
    yahoo_base_url: str = "https://query1.finance.yahoo.com"
    alphavantage_base_url: str = "https://www.alphavantage.co"
    stooq_base_url: str = "https://stooq.com"


class Settings(BaseSettings):
    """Effective configuration of one quantdesk process."""

    model_config = SettingsConfigDict(
        env_prefix="QUANTDESK_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".quantdesk")
    profile: Literal["demo", "production"] = "demo"
    storage: StorageSettings = Field(default_factory=StorageSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    security: SecurityLimits = Field(default_factory=SecurityLimits)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    ml: MLSettings = Field(default_factory=MLSettings)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.api.default_page_size > self.api.max_page_size:
            raise ValueError("api.default_page_size must not exceed api.max_page_size")
        if self.profile != "demo":
            key = self.providers.alphavantage_api_key
            if key is not None and key.get_secret_value().strip().lower() in _PLACEHOLDER_SECRETS:
                raise ValueError(
                    "providers.alphavantage_api_key is a placeholder; set "
                    "QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY to a real key or unset it"
                )
            secret = self.auth.jwt_secret
            if self.auth.jwt_algorithm == "HS256" and (
                secret is None
                or secret.get_secret_value().strip().lower() in _PLACEHOLDER_SECRETS
                or len(secret.get_secret_value()) < 32
            ):
                raise ValueError(
                    "auth.jwt_secret must be a random string of at least 32 characters in "
                    "production; set QUANTDESK_AUTH__JWT_SECRET (e.g. from "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
            if self.auth.jwt_algorithm == "RS256" and (
                self.auth.jwt_private_key_path is None or self.auth.jwt_public_key_path is None
            ):
                raise ValueError(
                    "auth.jwt_algorithm is RS256 but the key pair is not set; set "
                    "QUANTDESK_AUTH__JWT_PRIVATE_KEY_PATH and QUANTDESK_AUTH__JWT_PUBLIC_KEY_PATH"
                )
            if not self.secrets.master_keys:
                raise ValueError(
                    "secrets.master_keys is empty in production; set "
                    "QUANTDESK_SECRETS__MASTER_KEYS to a JSON list of Fernet keys, e.g. "
                    "'[\"<key>\"]'"
                )
        if self.storage.backend == "postgres" and self.postgres_bar_store_url is None:
            raise ValueError(
                "storage.backend is 'postgres' but no PostgreSQL URL is set; set "
                "QUANTDESK_STORAGE__URL or a postgresql QUANTDESK_DATABASE__URL"
            )
        return self

    @property
    def home_dir(self) -> Path:
        """Return ``home`` with ``~`` expanded."""
        return self.home.expanduser()

    @property
    def duckdb_path(self) -> Path:
        """Return the DuckDB market-data file."""
        return (self.storage.duckdb_path or self.home_dir / "market.duckdb").expanduser()

    @property
    def database_url(self) -> str:
        """Return the SQLAlchemy URL of the relational store."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.home_dir / 'quantdesk.db'}"

    @property
    def mlflow_tracking_uri(self) -> str:
        """Return the MLflow tracking (and registry) URI."""
        if self.ml.tracking_uri:
            return self.ml.tracking_uri
        return f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        """Return where model artifacts go with the default local tracking store."""
        return self.home_dir / "mlartifacts"

    @property
    def postgres_bar_store_url(self) -> str | None:
        """Return the PostgreSQL URL of the bar store, if one is configured."""
        if self.storage.url:
            return self.storage.url
        if self.database.url and self.database.url.startswith("postgresql"):
            return self.database.url
        return None

    def masked(self) -> dict[str, Any]:
        """Return the effective settings as plain data with every secret masked."""
        data = self.model_dump(mode="json")
        data["home"] = str(self.home_dir)
        data["storage"]["duckdb_path"] = str(self.duckdb_path)
        data["database"]["url"] = mask_url(self.database_url)
        if data["storage"]["url"]:
            data["storage"]["url"] = mask_url(data["storage"]["url"])
        if data["redis"]["url"]:
            data["redis"]["url"] = mask_url(data["redis"]["url"])
        data["ml"]["tracking_uri"] = mask_url(self.mlflow_tracking_uri)
        return data
