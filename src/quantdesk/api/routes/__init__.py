"""API routers, one per domain."""

from __future__ import annotations
