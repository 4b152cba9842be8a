"""HTTP API (FastAPI): a thin layer over the services."""

from __future__ import annotations

from quantdesk.api.main import create_app

__all__ = ["create_app"]
