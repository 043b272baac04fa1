"""LTI score leases: the API process sending an offering's scores holds it until a time, so two API machines
never both create the offering's line item or post the same change.

Revision ID: 0010_lti_score_leases
Revises: 0009_manual_grades_per_course
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_lti_score_leases"
down_revision = "0009_manual_grades_per_course"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lti_score_leases",
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course", "assignment", name="lti_score_leases_per_offering"),
    )


def downgrade() -> None:
    op.drop_table("lti_score_leases")
