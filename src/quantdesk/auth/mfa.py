"""Time-based one-time passwords (RFC 6238, via pyotp) and recovery codes."""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp

RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_totp_secret() -> str:
    """Return a new base32 TOTP secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, email: str, issuer: str) -> str:
    """Return the ``otpauth://`` URI an authenticator app reads (encode it as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def verify_totp(secret: str, code: str, *, at: datetime) -> bool:
    """Return whether ``code`` is valid at ``at``, allowing one 30-second step of drift."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return False
    return bool(pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1))


def totp_now(secret: str, *, at: datetime) -> str:
    """Return the code for ``at`` (used by tests and the CLI's self-check)."""
    return str(pyotp.TOTP(secret).at(at))


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Return ``count`` one-time recovery codes such as ``k7pq-x3mz-9tfa``."""
    return [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))
        for _ in range(count)
    ]


def normalise_recovery_code(code: str) -> str:
    """Return ``code`` as stored before hashing: lower case, spaces removed."""
    return code.strip().lower().replace(" ", "")
