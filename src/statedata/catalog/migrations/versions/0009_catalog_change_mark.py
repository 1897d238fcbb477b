"""the catalog's change mark

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

A running server answered the plan metrics by reading every dataset, version and stored
quality row again each time (about 2 s for 100,000 datasets), because nothing said cheaply
whether any of them had changed. Triggers on the tables the metrics read now count every
write, raw SQL included, in `catalog_changes` (catalog/changes.py); while the sum there stays
the same, what was worked out from those tables is still right.

Each table is counted apart, so what comes from one table alone (the versions) is reused
while that table is unchanged. SQLite has one writer at a time and row triggers only: the
table's row's counter grows with each row written. PostgreSQL has many writers: a statement
trigger adds a row per writing transaction and table (the transaction's id; a second
statement in the same transaction adds nothing), so no writer waits on another and the sum
grows by one when the transaction commits. Each write also leaves a random nonce (SQLite's
row takes a new one; PostgreSQL's rows are XORed), so a catalog restored from a backup and
written to again does not come back to a mark it had before with other data.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As catalog/changes.py WATCHED says; a migration keeps its own copy, as it stood.
WATCHED = ("agencies", "datasets", "versions", "columns", "dataset_tags", "stored_quality")
FUNCTION = "note_catalog_change"


def upgrade() -> None:
    op.create_table(
        "catalog_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", "table_name"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "INSERT INTO catalog_changes (id, table_name, changes, nonce) "
            "VALUES (txid_current(), TG_TABLE_NAME, 1, "
            "floor((random() - 0.5) * 9.2e18)::bigint) "
            "ON CONFLICT (id, table_name) DO NOTHING; "
            "RETURN NULL; "
            "END $$"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )
        return
    for table in WATCHED:
        op.execute(
            "INSERT INTO catalog_changes (id, table_name, changes, nonce) "
            f"VALUES (0, '{table}', 1, random())"
        )
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_{event}_changed AFTER {event.upper()} ON {table} "
                "BEGIN UPDATE catalog_changes SET changes = changes + 1, nonce = random() "
                f"WHERE id = 0 AND table_name = '{table}'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_changed ON {table}")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_changed")
    op.drop_table("catalog_changes")
