"""usage summed by owner: agency and listing

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

The plan's traffic metrics need use by agency of the datasets public now, by day for the last
30 days and by month for a year. Reading a row per dataset, kind and month (usage_months) was
most of a cold metrics run, so use is now summed by owner: each dataset's counts go to its
agency and listing (`usage_owners`), and `usage_rollups` keeps the sums per day and month, kind
and owner; both are kept in step by the usage counter and moved by a commit hook when a
dataset's agency or listing changes (metrics/attribution.py). The per-dataset monthly sums are
no longer read, so they go; one dataset's counts are read through a new index instead.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# A data story's views are counted apart from datasets' (metrics/usage.py STORY_KINDS).
STORY_KINDS = "('story_view')"
# Public and listed, as metrics/attribution.py LISTED says it; a count of an id that is not a
# dataset belongs to no agency and is not listed.
LISTED = (
    "COALESCE(d.classification = 'public' AND d.access_level = 'public' "
    "AND COALESCE(d.publication_state, 'published') = 'published', false)"
)


def upgrade() -> None:
    op.create_index("ix_usage_counts_dataset_id", "usage_counts", ["dataset_id"])
    op.create_table(
        "usage_owners",
        sa.Column("dataset_id", sa.String(length=9), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "usage_rollups",
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("span", "period", "kind", "agency_id", "listed"),
    )
    op.execute(
        "INSERT INTO usage_owners (dataset_id, agency_id, listed) "
        f"SELECT u.dataset_id, COALESCE(d.agency_id, 0), {LISTED} "
        f"FROM (SELECT DISTINCT dataset_id FROM usage_counts WHERE kind NOT IN {STORY_KINDS}) u "
        "LEFT JOIN datasets d ON d.id = u.dataset_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        periods = {"day": "to_char(c.day, 'YYYY-MM-DD')", "month": "to_char(c.day, 'YYYY-MM')"}
    else:  # dates are 'YYYY-MM-DD' text in SQLite
        periods = {"day": "c.day", "month": "substr(c.day, 1, 7)"}
    for span, period in periods.items():
        # Story views have no owner row: agency 0, listed.
        op.execute(
            "INSERT INTO usage_rollups (span, period, kind, agency_id, listed, count) "
            f"SELECT '{span}', {period}, c.kind, COALESCE(o.agency_id, 0), "
            "COALESCE(o.listed, true), sum(c.count) "
            "FROM usage_counts c LEFT JOIN usage_owners o ON o.dataset_id = c.dataset_id "
            f"GROUP BY {period}, c.kind, COALESCE(o.agency_id, 0), COALESCE(o.listed, true)"
        )
    op.drop_table("usage_months")


def downgrade() -> None:
    op.create_table(
        "usage_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("dataset_id", sa.String(length=9), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "dataset_id", "kind"),
    )
    if op.get_bind().dialect.name == "postgresql":
        month = "to_char(day, 'YYYY-MM')"
    else:
        month = "substr(day, 1, 7)"
    op.execute(
        "INSERT INTO usage_months (month, dataset_id, kind, count) "
        f"SELECT {month}, dataset_id, kind, sum(count) FROM usage_counts "
        f"GROUP BY {month}, dataset_id, kind"
    )
    op.drop_table("usage_rollups")
    op.drop_table("usage_owners")
    op.drop_index("ix_usage_counts_dataset_id", table_name="usage_counts")
