"""stored quality points and monthly usage sums

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

Two tables kept in step with the data they sum up, so the plan metrics need not recompute them
on a cold start: each dataset's day-independent quality points (filled as datasets change, and
by the metrics for any dataset without a current row), and usage summed by month (filled here
from the daily counts, then by the usage counter).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("dataset_id", sa.String(length=9), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "dataset_id", "kind"),
    )
    op.create_table(
        "stored_quality",
        sa.Column("dataset_id", sa.String(length=9), nullable=False),
        sa.Column("metadata_stamp", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.Integer(), nullable=False),
        sa.Column("described", sa.Integer(), nullable=False),
        sa.Column("tags", sa.Integer(), nullable=False),
        sa.Column("has_agency", sa.Boolean(), nullable=False),
        sa.Column("update_frequency", sa.String(length=20), nullable=True),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("required_complete", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    # The months' sums of the daily counts already kept; dates are 'YYYY-MM-DD' text in SQLite.
    if op.get_bind().dialect.name == "postgresql":
        month = "to_char(day, 'YYYY-MM')"
    else:
        month = "substr(day, 1, 7)"
    op.execute(
        "INSERT INTO usage_months (month, dataset_id, kind, count) "
        f"SELECT {month}, dataset_id, kind, sum(count) FROM usage_counts "
        f"GROUP BY {month}, dataset_id, kind"
    )


def downgrade() -> None:
    op.drop_table("stored_quality")
    op.drop_table("usage_months")
