"""A class's records: each result keeps the summary the lists read (each unit's maximum, what failed, the
grading error; its scores it had already), backfilled here from the stored reports with the same function the
worker uses at record time, placed before the report on SQLite; indexes for choosing each student's counting
submission and for the queue.

Revision ID: 0004_class
Revises: 0003_sessions
"""

import sqlalchemy as sa
from alembic import op

from service import summaries

revision = "0004_class"
down_revision = "0003_sessions"
branch_labels = None
depends_on = None

_BATCH = 500
_results = sa.table("results", sa.column("id", sa.Integer), sa.column("report", sa.JSON),
                    sa.column("unit_max_scores", sa.JSON), sa.column("failing", sa.JSON),
                    sa.column("error", sa.Text))


def upgrade() -> None:
    op.add_column("results", sa.Column("unit_max_scores", sa.JSON(), nullable=True))
    op.add_column("results", sa.Column("failing", sa.JSON(), nullable=True))
    op.add_column("results", sa.Column("error", sa.Text(), nullable=True))
    conn = op.get_bind()
    last = 0
    while rows := conn.execute(sa.select(_results.c.id, _results.c.report).where(_results.c.id > last)
                               .order_by(_results.c.id).limit(_BATCH)).all():
        for result_id, report in rows:
            summary = summaries.columns(report)
            conn.execute(_results.update().where(_results.c.id == result_id).values(
                unit_max_scores=summary["unit_max_scores"], failing=summary["failing"], error=summary["error"]))
        last = rows[-1][0]
    # SQLite keeps a row's columns in order and a report spills into overflow pages: columns after it cost
    # reading the whole report, so the table is rebuilt with the summary before it (PostgreSQL keeps large
    # values apart anyway and only alters the columns).
    sqlite = conn.dialect.name == "sqlite"
    with op.batch_alter_table("results", recreate="always" if sqlite else "auto",
                              partial_reordering=[("unit_scores", "unit_max_scores", "failing", "error", "report")]
                              ) as batch:
        batch.alter_column("unit_max_scores", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("failing", existing_type=sa.JSON(), nullable=False)
    op.create_index("submissions_per_student", "submissions", ["assignment", "student", "received_at", "id"])
    op.create_index("submissions_in_queue", "submissions", ["status", "queued_at"])


def downgrade() -> None:
    op.drop_index("submissions_in_queue", "submissions")
    op.drop_index("submissions_per_student", "submissions")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("error")
        batch.drop_column("failing")
        batch.drop_column("unit_max_scores")
