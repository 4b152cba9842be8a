"""Identifiers."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str = "") -> str:
    """Return a new unique, roughly time-ordered identifier such as ``req_01h...``.

    The first 10 hex digits are milliseconds since the epoch, so identifiers sort by creation
    time; 16 random hex digits follow.
    """
    stamp = f"{int(time.time() * 1000):010x}"
    body = stamp + secrets.token_hex(8)
    return f"{prefix}_{body}" if prefix else body
