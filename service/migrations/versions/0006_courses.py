"""Courses over a term: courses, their rosters, staff, offerings with dates, extensions and an audit log; every
submission belongs to a course and records its late days. Today's records move into the course `default`: its
roster is every student, it offers every registered assignment without dates (under the policy it had), and
every submission is its, on time.

Revision ID: 0006_courses
Revises: 0005_scale
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_courses"
down_revision = "0005_scale"
branch_labels = None
depends_on = None

DEFAULT = "default"


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "enrollments",
        sa.Column("course", sa.String(100), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False, index=True),
        sa.PrimaryKeyConstraint("course", "student", name="one_enrollment_per_course"),
    )
    op.create_table(
        "staff",
        sa.Column("course", sa.String(100), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.PrimaryKeyConstraint("course", "id", name="one_staff_id_per_course"),
    )
    op.create_table(
        "offerings",
        sa.Column("course", sa.String(100), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("assignment", sa.String(100), sa.ForeignKey("assignments.name"), nullable=False),
        sa.Column("opens", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_penalty_per_day", sa.Float(), nullable=False),
        sa.Column("counts", sa.String(10), nullable=False),
        sa.Column("visible_before_opens", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("course", "assignment", name="one_offering_per_course"),
    )
    op.create_table(
        "extensions",
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("course", "assignment", "student", name="one_extension_per_student"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("course", sa.String(100), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    conn = op.get_bind()
    now = "CURRENT_TIMESTAMP"
    conn.exec_driver_sql(f"INSERT INTO courses (id, title, term, time_zone, created_at) "
                         f"VALUES ('{DEFAULT}', 'Default course', '', 'Asia/Tokyo', {now})")
    conn.exec_driver_sql(f"INSERT INTO enrollments (course, student) SELECT '{DEFAULT}', id FROM students")
    conn.execute(sa.text("INSERT INTO offerings (course, assignment, late_penalty_per_day, counts, "
                         "visible_before_opens) SELECT :course, name, 0, policy, :hidden FROM assignments"),
                 {"course": DEFAULT, "hidden": False})
    op.add_column("submissions", sa.Column("course", sa.String(100), nullable=False, server_default=DEFAULT))
    op.add_column("submissions", sa.Column("late_days", sa.Integer(), nullable=False, server_default="0"))
    if conn.dialect.name != "sqlite":
        # SQLite adds a column with a reference only with a NULL default, and rebuilding the table is refused
        # while results reference it: there the course is checked by the store alone.
        op.create_foreign_key("submissions_course", "submissions", "courses", ["course"], ["id"])
    op.create_index("submissions_per_course", "submissions", ["course", "assignment"])


def downgrade() -> None:
    op.drop_index("submissions_per_course", "submissions")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("submissions_course", "submissions", type_="foreignkey")
    with op.batch_alter_table("submissions") as table:
        table.drop_column("late_days")
        table.drop_column("course")
    for name in ("audit_log", "extensions", "offerings", "staff", "enrollments", "courses"):
        op.drop_table(name)
