"""Integrity: manual grades belong to the student and the assignment (not to one submission, which a
resubmission would leave behind); every upload attempt is recorded for the rate limit.

Existing manual grades move over with the submission they were given on; where a student had several on
one assignment, the one given last is kept (the instructor's latest word; before, only the one on the
counting submission was shown).

Revision ID: 0003_integrity
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_integrity"
down_revision = "0002"
branch_labels = None
depends_on = None

_LAST_GIVEN = """
INSERT INTO manual_grades_next (assignment, student, submission_id, score, comment, graded_at)
SELECT s.assignment, s.student, m.submission_id, m.score, m.comment, m.graded_at
FROM manual_grades m JOIN submissions s ON s.id = m.submission_id
WHERE NOT EXISTS (
    SELECT 1 FROM manual_grades m2 JOIN submissions s2 ON s2.id = m2.submission_id
    WHERE s2.assignment = s.assignment AND s2.student = s.student
      AND (m2.graded_at > m.graded_at OR (m2.graded_at = m.graded_at AND m2.submission_id > m.submission_id)))
"""


def upgrade() -> None:
    op.create_table(
        "manual_grades_next",
        sa.Column("assignment", sa.String(100), sa.ForeignKey("assignments.name"), nullable=False),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("submission_id", sa.String(32), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("assignment", "student", name="manual_grades_per_student"),
    )
    op.execute(_LAST_GIVEN)
    op.drop_table("manual_grades")
    op.rename_table("manual_grades_next", "manual_grades")
    op.create_table(
        "upload_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_upload_attempts_student", "upload_attempts", ["student"])


def downgrade() -> None:
    op.drop_index("ix_upload_attempts_student", "upload_attempts")
    op.drop_table("upload_attempts")
    op.create_table(
        "manual_grades_previous",
        sa.Column("submission_id", sa.String(32), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name="manual_grades_per_submission"),
    )
    op.execute("INSERT INTO manual_grades_previous (submission_id, score, comment, graded_at) "
               "SELECT submission_id, score, comment, graded_at FROM manual_grades")
    op.drop_table("manual_grades")
    op.rename_table("manual_grades_previous", "manual_grades")
