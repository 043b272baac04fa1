"""Course records: assignments, students, credentials, submissions, results, workers.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("policy", sa.String(10), nullable=False),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "credentials",
        sa.Column("role", sa.String(20), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("assignment", sa.String(100), sa.ForeignKey("assignments.name"), nullable=False, index=True),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False, index=True),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("notebook", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("queued_at", _TIME),
        sa.Column("started_at", _TIME),
        sa.Column("finished_at", _TIME),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_token", sa.String(32)),
        sa.Column("worker", sa.Text()),
        sa.Column("error", sa.Text()),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.String(32), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("unit_scores", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("grading_seconds", sa.Float(), nullable=False),
        sa.Column("grader_version", sa.String(40), nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.UniqueConstraint("submission_id", name="one_result_per_submission"),
    )
    op.create_table(
        "workers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("seen_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("workers", "results", "submissions", "credentials", "students", "assignments"):
        op.drop_table(table)
