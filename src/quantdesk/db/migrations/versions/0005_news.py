"""News: ingested articles, their symbol tags and the daily sentiment derived from them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``news_articles``, ``news_article_symbols`` and ``daily_sentiment``."""
    op.create_table(
        "news_articles",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("scorer", sa.String(32), nullable=False),
        sa.Column("ingested_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_news_articles"),
    )
    op.create_index("ix_news_articles_published_at", "news_articles", ["published_at"])
    op.create_table(
        "news_article_symbols",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "article_id", name="pk_news_article_symbols"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["news_articles.id"],
            name="fk_news_article_symbols_article_id_news_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_news_article_symbols_symbol_published_at",
        "news_article_symbols",
        ["symbol", "published_at"],
    )
    op.create_index("ix_news_article_symbols_article_id", "news_article_symbols", ["article_id"])
    op.create_table(
        "daily_sentiment",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("scorer", sa.String(32), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("dispersion", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "date", "scorer", name="pk_daily_sentiment"),
    )


def downgrade() -> None:
    """Drop the news tables."""
    op.drop_table("daily_sentiment")
    op.drop_index("ix_news_article_symbols_article_id", table_name="news_article_symbols")
    op.drop_index("ix_news_article_symbols_symbol_published_at", table_name="news_article_symbols")
    op.drop_table("news_article_symbols")
    op.drop_index("ix_news_articles_published_at", table_name="news_articles")
    op.drop_table("news_articles")
