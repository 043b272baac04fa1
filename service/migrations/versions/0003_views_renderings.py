"""Renderings: a submission's notebook view and its report's pictures, made once outside any request.

Revision ID: 0003_views
Revises: 0003_integrity
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_views"
down_revision = "0003_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renderings",
        sa.Column("submission_id", sa.String(32), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("made_from", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("renderings")
