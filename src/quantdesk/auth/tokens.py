"""Access tokens (signed JWTs) and refresh/API-key secrets (random, stored only as hashes).

Access tokens are short-lived JWTs (HS256 with a shared secret, or RS256 with a key pair) with
the claims ``iss``, ``sub``, ``role``, ``iat``, ``exp`` and ``jti``. Refresh tokens are opaque
random strings: the store keeps their SHA-256 digest, which is safe because the strings carry
256 bits of entropy (a slow hash buys nothing there).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from quantdesk.auth.rbac import Role
from quantdesk.core.clock import Clock
from quantdesk.core.errors import ConfigError, Unauthenticated
from quantdesk.core.ids import new_id

INVALID_TOKEN = "invalid or expired access token; sign in again"


def digest(secret: str) -> str:
    """Return the hex SHA-256 of a high-entropy secret (refresh token, API key, recovery code)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_secret(nbytes: int = 32) -> str:
    """Return a URL-safe random secret of ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token."""

    subject: str
    role: Role
    issued_at: datetime
    expires_at: datetime
    jti: str
    purpose: str = "access"


class TokenIssuer:
    """Sign and verify JWTs for one issuer with one algorithm."""

    def __init__(
        self,
        *,
        algorithm: Literal["HS256", "RS256"],
        signing_key: str,
        verifying_key: str,
        clock: Clock,
        issuer: str = "quantdesk",
        access_ttl: timedelta = timedelta(minutes=15),
        leeway: timedelta = timedelta(seconds=10),
    ) -> None:
        if algorithm == "HS256" and len(signing_key) < 32:
            raise ConfigError(
                "auth.jwt_secret is too short for HS256; use at least 32 random characters"
            )
        self.algorithm = algorithm
        self._signing_key = signing_key
        self._verifying_key = verifying_key
        self._clock = clock
        self.issuer = issuer
        self.access_ttl = access_ttl
        self.leeway = leeway

    def issue(
        self, subject: str, role: Role, *, purpose: str = "access", ttl: timedelta | None = None
    ) -> tuple[str, AccessClaims]:
        """Return a signed token for ``subject`` and the claims it carries."""
        now = self._clock.now().replace(microsecond=0)
        expires = now + (ttl or self.access_ttl)
        claims = AccessClaims(subject, role, now, expires, new_id("jti"), purpose)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "role": role.value,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": claims.jti,
            "typ": purpose,
        }
        token = jwt.encode(payload, self._signing_key, algorithm=self.algorithm)
        return token, claims

    def verify(self, token: str, *, purpose: str = "access") -> AccessClaims:
        """Return the claims of a valid token; raise :class:`Unauthenticated` otherwise."""
        try:
            payload = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                issuer=self.issuer,
                leeway=self.leeway,
                # Time claims are checked below against the injected clock, not the wall clock.
                options={
                    "require": ["exp", "iat", "sub", "jti", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            now = self._clock.now().timestamp()
            if payload["exp"] + self.leeway.total_seconds() < now:
                raise jwt.ExpiredSignatureError("expired")
            if payload["iat"] - self.leeway.total_seconds() > now:
                raise jwt.ImmatureSignatureError("issued in the future")
            if payload.get("typ", "access") != purpose:
                raise jwt.InvalidTokenError("wrong token type")
            role = Role(payload["role"])
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise Unauthenticated(INVALID_TOKEN) from exc
        return AccessClaims(
            subject=str(payload["sub"]),
            role=role,
            issued_at=datetime.fromtimestamp(payload["iat"], tz=self._clock.now().tzinfo),
            expires_at=datetime.fromtimestamp(payload["exp"], tz=self._clock.now().tzinfo),
            jti=str(payload["jti"]),
            purpose=purpose,
        )
