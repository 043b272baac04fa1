"""Manual grades per course: a student taking an assignment in two courses (a repeated course, a second
section) has one manual grade in each, not one shared grade that either course's staff overwrote.

Each existing grade moves to the course of the submission it was given on.

Revision ID: 0009_manual_grades_per_course
Revises: 0008_lti_advantage
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_manual_grades_per_course"
down_revision = "0008_lti_advantage"
branch_labels = None
depends_on = None

_COLUMNS = "assignment, student, submission_id, score, comment, graded_at"


def _table(name: str, key: tuple[str, ...], key_name: str, with_course: bool) -> None:
    op.create_table(
        name,
        *([sa.Column("course", sa.String(100), nullable=False)] if with_course else []),
        sa.Column("assignment", sa.String(100), sa.ForeignKey("assignments.name"), nullable=False),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("submission_id", sa.String(32), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=key_name),
    )


def upgrade() -> None:
    _table("manual_grades_next", ("course", "assignment", "student"), "manual_grades_per_course", True)
    op.execute(f"INSERT INTO manual_grades_next (course, {_COLUMNS}) SELECT s.course, "
               f"{', '.join('m.' + c for c in _COLUMNS.split(', '))} "
               "FROM manual_grades m JOIN submissions s ON s.id = m.submission_id")
    op.drop_table("manual_grades")
    op.rename_table("manual_grades_next", "manual_grades")


def downgrade() -> None:
    """Back to one grade per student and assignment: the one given last is kept."""
    _table("manual_grades_previous", ("assignment", "student"), "manual_grades_per_student", False)
    op.execute(f"INSERT INTO manual_grades_previous ({_COLUMNS}) SELECT {_COLUMNS} FROM manual_grades m "
               "WHERE NOT EXISTS (SELECT 1 FROM manual_grades m2 WHERE m2.assignment = m.assignment "
               "AND m2.student = m.student AND (m2.graded_at > m.graded_at OR (m2.graded_at = m.graded_at "
               "AND m2.course > m.course)))")
    op.drop_table("manual_grades")
    op.rename_table("manual_grades_previous", "manual_grades")
