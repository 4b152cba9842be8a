from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from quantdesk.auth.apikeys import new_api_key, parse_prefix
from quantdesk.auth.rbac import Role
from quantdesk.auth.tokens import TokenIssuer, digest
from quantdesk.core.clock import SimClock
from quantdesk.core.errors import ConfigError, Unauthenticated

SECRET = "k" * 16 + "0123456789abcdef0123"
START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def issuer(clock: SimClock, **kwargs: object) -> TokenIssuer:
    return TokenIssuer(
        algorithm="HS256",
        signing_key=SECRET,
        verifying_key=SECRET,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_access_token_claims_decode_with_plain_pyjwt() -> None:
    clock = SimClock(START)
    token, claims = issuer(clock).issue("usr_1", Role.TRADER)
    payload = jwt.decode(
        token, SECRET, algorithms=["HS256"], issuer="quantdesk", options={"verify_exp": False}
    )
    assert payload["sub"] == "usr_1"
    assert payload["role"] == "trader"
    assert payload["iat"] == int(START.timestamp())
    assert payload["exp"] == int(START.timestamp()) + 15 * 60
    assert payload["jti"] == claims.jti
    assert issuer(clock).verify(token).subject == "usr_1"


def test_expiry_honours_a_small_leeway() -> None:
    clock = SimClock(START)
    tokens = issuer(clock, leeway=timedelta(seconds=10))
    token, _ = tokens.issue("usr_1", Role.VIEWER)
    clock.advance(timedelta(minutes=15, seconds=9))
    assert tokens.verify(token).subject == "usr_1"
    clock.advance(timedelta(seconds=2))
    with pytest.raises(Unauthenticated):
        tokens.verify(token)


def test_tampered_wrong_key_and_unsigned_tokens_are_rejected() -> None:
    clock = SimClock(START)
    tokens = issuer(clock)
    token, _ = tokens.issue("usr_1", Role.VIEWER)
    head, body, signature = token.split(".")
    forged_body = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(body).replace(b"viewer", b"admin\x20")
    ).decode()
    for bad in (
        f"{head}.{forged_body}.{signature}",
        jwt.encode({"sub": "usr_1", "role": "admin"}, "x" * 40, algorithm="HS256"),
        jwt.encode(
            {"sub": "usr_1", "role": "admin", "iss": "quantdesk", "iat": 1, "exp": 2**40},
            None,
            algorithm="none",
        ),
    ):
        with pytest.raises(Unauthenticated):
            tokens.verify(bad)


def test_refresh_purpose_tokens_are_not_access_tokens() -> None:
    clock = SimClock(START)
    tokens = issuer(clock)
    token, _ = tokens.issue("usr_1", Role.VIEWER, purpose="mfa")
    with pytest.raises(Unauthenticated):
        tokens.verify(token)


def test_rs256_with_a_key_pair() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    clock = SimClock(START)
    tokens = TokenIssuer(algorithm="RS256", signing_key=private, verifying_key=public, clock=clock)
    token, _ = tokens.issue("usr_9", Role.ANALYST)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert tokens.verify(token).role is Role.ANALYST
    # An HS256 token signed with the public key (the classic key-confusion attack) fails.
    confused = jwt.encode(
        {"sub": "usr_9", "role": "admin", "iss": "quantdesk", "iat": 1, "exp": 2**40, "jti": "x"},
        public.encode()[:64],
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated):
        tokens.verify(confused)


def test_short_hs256_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="jwt_secret"):
        TokenIssuer(
            algorithm="HS256", signing_key="short", verifying_key="short", clock=SimClock(START)
        )


def test_api_keys_are_stored_as_sha256_and_parse_their_prefix() -> None:
    key, prefix, key_hash = new_api_key()
    assert key.startswith(f"qd_{prefix}_")
    assert key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert digest(key) == key_hash
    assert parse_prefix(key) == prefix
    assert parse_prefix("qd_short_x") is None
    assert parse_prefix("Bearer abc") is None
    assert len({new_api_key()[0] for _ in range(50)}) == 50
