"""Revocable sessions and the token-guessing throttle: a session generation per principal, failed sign-ins.

Revision ID: 0003_sessions
Revises: 0003_views
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sessions"
down_revision = "0003_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_generations",
        sa.Column("principal", sa.String(120), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_failures_address", "sign_in_failures", ["address"])
    op.create_index("ix_sign_in_failures_at", "sign_in_failures", ["at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("session_generations")
