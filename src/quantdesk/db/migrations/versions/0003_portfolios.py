"""Portfolios: portfolios, their transactions and daily FX rates.

Amounts are ``NUMERIC(38, 12)`` on PostgreSQL. SQLite has no exact decimal type (NUMERIC
affinity keeps 15 significant digits), so there they are stored as decimal text; the
``ExactDecimal`` column type of ``quantdesk.db.models`` reads both back as ``Decimal``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_AMOUNT = sa.Numeric(38, 12).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    """Create ``portfolios``, ``portfolio_transactions`` and ``fx_rates``."""
    op.create_table(
        "portfolios",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("benchmark_symbol", sa.String(32), nullable=True),
        sa.Column("lot_method", sa.String(16), nullable=False),
        sa.Column("allow_short", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_portfolios"),
        sa.UniqueConstraint("owner_id", "name", name="uq_portfolios_owner_id"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_portfolios_owner_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_portfolios_owner_id", "portfolios", ["owner_id"])
    op.create_table(
        "portfolio_transactions",
        sa.Column("portfolio_id", sa.String(32), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("quantity", _AMOUNT, nullable=False),
        sa.Column("price", _AMOUNT, nullable=False),
        sa.Column("fees", _AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("portfolio_id", "id", name="pk_portfolio_transactions"),
        sa.UniqueConstraint(
            "portfolio_id", "sequence", name="uq_portfolio_transactions_portfolio_id"
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name="fk_portfolio_transactions_portfolio_id_portfolios",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_portfolio_transactions_portfolio_id_trade_date",
        "portfolio_transactions",
        ["portfolio_id", "trade_date"],
    )
    op.create_table(
        "fx_rates",
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("quote_currency", sa.String(3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", _AMOUNT, nullable=False),
        sa.PrimaryKeyConstraint("currency", "quote_currency", "day", name="pk_fx_rates"),
    )


def downgrade() -> None:
    """Drop the portfolio tables."""
    op.drop_table("fx_rates")
    op.drop_index(
        "ix_portfolio_transactions_portfolio_id_trade_date", table_name="portfolio_transactions"
    )
    op.drop_table("portfolio_transactions")
    op.drop_index("ix_portfolios_owner_id", table_name="portfolios")
    op.drop_table("portfolios")
