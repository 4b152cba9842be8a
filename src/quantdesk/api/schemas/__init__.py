"""Wire models of the HTTP API (separate from domain and persistence models)."""

from __future__ import annotations
