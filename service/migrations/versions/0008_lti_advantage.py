"""LTI Advantage: a platform's contexts as courses (with their service URLs), resource links as offerings, the
roster service's memberships (who left), the score changes waiting for the platform (AGS).

Revision ID: 0008_lti_advantage
Revises: 0007_lti
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_lti_advantage"
down_revision = "0007_lti"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lti_contexts",
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("context_id", sa.String(255), nullable=False),
        sa.Column("course", sa.String(100), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("memberships_url", sa.Text(), nullable=True),
        sa.Column("lineitems_url", sa.Text(), nullable=True),
        sa.Column("scores_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("issuer", "context_id", name="lti_contexts_per_issuer"),
    )
    op.create_index("ix_lti_contexts_course", "lti_contexts", ["course"])
    op.create_table(
        "lti_resource_links",
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("link_id", sa.String(255), nullable=False),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("lineitem_url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("issuer", "link_id", name="lti_resource_links_per_issuer"),
    )
    op.create_table(
        "lti_memberships",
        sa.Column("course", sa.String(100), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("course", "student", name="lti_memberships_per_course"),
    )
    op.create_table(
        "lti_score_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_lti_score_changes_course", "lti_score_changes", ["course"])
    op.create_index("lti_score_changes_due", "lti_score_changes", ["next_at"])


def downgrade() -> None:
    op.drop_index("lti_score_changes_due", "lti_score_changes")
    op.drop_index("ix_lti_score_changes_course", "lti_score_changes")
    op.drop_table("lti_score_changes")
    op.drop_table("lti_memberships")
    op.drop_table("lti_resource_links")
    op.drop_index("ix_lti_contexts_course", "lti_contexts")
    op.drop_table("lti_contexts")
