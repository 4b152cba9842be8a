"""Backtest runs: status, progress, resolved spec and headline metrics of each run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``backtest_runs``."""
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=True),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("data_digest", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("reused", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_runs"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_backtest_runs_owner_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_backtest_runs_owner_id_created_at", "backtest_runs", ["owner_id", "created_at"]
    )
    op.create_index("ix_backtest_runs_status", "backtest_runs", ["status"])
    op.create_index("ix_backtest_runs_spec_hash", "backtest_runs", ["spec_hash"])


def downgrade() -> None:
    """Drop ``backtest_runs``."""
    op.drop_index("ix_backtest_runs_spec_hash", table_name="backtest_runs")
    op.drop_index("ix_backtest_runs_status", table_name="backtest_runs")
    op.drop_index("ix_backtest_runs_owner_id_created_at", table_name="backtest_runs")
    op.drop_table("backtest_runs")
