"""Relational store: SQLAlchemy models, repositories and Alembic migrations."""

from __future__ import annotations

from quantdesk.db.migrate import current_revision, upgrade
from quantdesk.db.repositories import SqlInstrumentStore
from quantdesk.db.session import make_engine, make_session_factory

__all__ = [
    "SqlInstrumentStore",
    "current_revision",
    "make_engine",
    "make_session_factory",
    "upgrade",
]
