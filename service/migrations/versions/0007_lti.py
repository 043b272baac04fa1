"""LTI 1.3: registered platforms and their deployments, OIDC logins in flight, platform users by issuer and sub.

Revision ID: 0007_lti
Revises: 0006_courses
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_lti"
down_revision = "0006_courses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("auth_url", sa.Text(), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=False),
        sa.Column("jwks_url", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("issuer", "client_id", name="one_registration_per_client"),
    )
    op.create_table(
        "lti_deployments",
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("deployment_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "deployment_id", name="lti_deployments_per_platform"),
    )
    op.create_table(
        "lti_logins",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lti_logins_started_at", "lti_logins", ["started_at"])
    op.create_table(
        "lti_users",
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "subject", name="lti_users_per_issuer"),
    )


def downgrade() -> None:
    op.drop_table("lti_users")
    op.drop_index("ix_lti_logins_started_at", "lti_logins")
    op.drop_table("lti_logins")
    op.drop_table("lti_deployments")
    op.drop_table("lti_platforms")
