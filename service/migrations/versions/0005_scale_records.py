"""Scale-out records: the configuration every machine shares, each assignment's version, workers by id.

Revision ID: 0005_scale
Revises: 0004_class
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_scale"
down_revision = "0004_class"   # follows main's head at the merge (the brief said 0003_views)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_settings",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("assignments") as table:
        table.add_column(sa.Column("version", sa.String(64), nullable=True))
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("worker_id", sa.String(32), nullable=True))
    with op.batch_alter_table("workers") as table:
        table.add_column(sa.Column("host", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("pid", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("machine", sa.String(80), nullable=False, server_default=""))
        table.add_column(sa.Column("serves", sa.JSON(), nullable=True))
        table.add_column(sa.Column("state", sa.Text(), nullable=False, server_default="ready"))


def downgrade() -> None:
    with op.batch_alter_table("workers") as table:
        for column in ("state", "serves", "machine", "pid", "host"):
            table.drop_column(column)
    with op.batch_alter_table("submissions") as table:
        table.drop_column("worker_id")
    with op.batch_alter_table("assignments") as table:
        table.drop_column("version")
    op.drop_table("shared_settings")
