"""API keys: ``qd_<prefix>_<secret>``, shown once, stored as a SHA-256 digest.

The 8-character prefix identifies a key in listings and finds its row; the secret part carries
256 bits of entropy.
"""

from __future__ import annotations

import re
import secrets

from quantdesk.auth.tokens import digest, new_secret

_KEY = re.compile(r"^qd_(?P<prefix>[a-z0-9]{8})_(?P<secret>[A-Za-z0-9_\-]{20,})$")


def new_api_key() -> tuple[str, str, str]:
    """Return ``(key, prefix, digest)`` for a new key."""
    prefix = secrets.token_hex(4)
    key = f"qd_{prefix}_{new_secret(32)}"
    return key, prefix, digest(key)


def parse_prefix(key: str) -> str | None:
    """Return the prefix of a well-formed key, or ``None``."""
    match = _KEY.match(key.strip())
    return match["prefix"] if match else None
