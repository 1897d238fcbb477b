"""which datasets changed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

The change mark (0009) says that something changed, not what: after one dataset's change a
running server read all 100,000 datasets again (about 2 s). The triggers on the five tables
whose rows belong to a dataset now also note the dataset in `catalog_dataset_changes`, one
row per dataset with its latest change, so a reader that kept an earlier reading reads again
only the datasets changed since (catalog/changes.py).

SQLite has one writer at a time: the row notes the catalog's count of writes (the sum of
`catalog_changes`) just after the write, in the same trigger, so it is larger than any count
a reader saw before it. PostgreSQL's statement triggers read the rows the statement wrote
(transition tables) and note the writing transaction's id; a reader keeps its snapshot, and
a dataset whose latest writer that snapshot did not see has changed since. A transaction
that writes two datasets waits for another writing one of them (their rows here are locked
until it commits), as it would for the datasets' own rows. TRUNCATE notes '*': everything.

Each note also takes a random nonce. A reader keeps the nonces of the notes it saw; if the
ones still there no longer add up to them, the catalog did not come from the one it read
(restored from a backup, or moved to another server whose transaction ids mean other
things), and it reads everything again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Each table whose rows belong to a dataset, and the column that names it.
BELONGING = {
    "datasets": "id",
    "versions": "dataset_id",
    "columns": "dataset_id",
    "dataset_tags": "dataset_id",
    "stored_quality": "dataset_id",
}
FUNCTION = "note_dataset_change"
EVERYTHING = "*"
# Random, below 2**31 so that 100,000 of them sum without overflow.
NONCE_SQLITE = "abs(random() % 2147483648)"
NONCE_POSTGRES = "floor(random() * 2147483648)::bigint"


def upgrade() -> None:
    op.create_table(
        "catalog_dataset_changes",
        sa.Column("dataset_id", sa.String(length=9), nullable=False),
        sa.Column("change_number", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    # Readers ask for the changes after a number (PostgreSQL: from its snapshot's oldest).
    op.create_index(
        "ix_catalog_dataset_changes_change_number", "catalog_dataset_changes", ["change_number"]
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _postgres_triggers() -> None:
    note = (
        "INSERT INTO catalog_dataset_changes AS noted (dataset_id, change_number, nonce) "
        f"SELECT dataset_id, txid_current(), {NONCE_POSTGRES} "
        "FROM ({rows}) AS written ORDER BY dataset_id "
        "ON CONFLICT (dataset_id) DO UPDATE "
        "SET change_number = excluded.change_number, nonce = excluded.nonce "
        "WHERE noted.change_number <> excluded.change_number"
    )
    new_rows = "SELECT DISTINCT %1$I AS dataset_id FROM new_rows"
    old_rows = "SELECT DISTINCT %1$I AS dataset_id FROM old_rows"
    both = f"{new_rows} UNION {old_rows}"
    everything = f"SELECT '{EVERYTHING}'::varchar AS dataset_id"
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'TRUNCATE' THEN "
        f"EXECUTE {_quoted(note.format(rows=everything))}; "
        "ELSIF TG_OP = 'INSERT' THEN "
        f"EXECUTE format({_quoted(note.format(rows=new_rows))}, TG_ARGV[0]); "
        "ELSIF TG_OP = 'UPDATE' THEN "
        f"EXECUTE format({_quoted(note.format(rows=both))}, TG_ARGV[0]); "
        "ELSE "
        f"EXECUTE format({_quoted(note.format(rows=old_rows))}, TG_ARGV[0]); "
        "END IF; "
        "RETURN NULL; "
        "END $$"
    )
    referencing = {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
        "truncate": "",
    }
    for table, column in BELONGING.items():
        for event, transition in referencing.items():
            op.execute(
                f"CREATE TRIGGER {table}_{event}_noted AFTER {event.upper()} ON {table} "
                f"{transition} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}('{column}')"
            )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sqlite_body(table: str, rows: list[str]) -> str:
    # One trigger both counts the write and notes the dataset, in this order: the note must
    # carry a count no reader has seen (SQLite does not promise an order between triggers).
    count = (
        "UPDATE catalog_changes SET changes = changes + 1, nonce = random() "
        f"WHERE id = 0 AND table_name = '{table}';"
    )
    notes = [
        "INSERT INTO catalog_dataset_changes (dataset_id, change_number, nonce) "
        f"SELECT {row}, (SELECT sum(changes) FROM catalog_changes), {NONCE_SQLITE} "
        f"WHERE {row} IS NOT NULL ON CONFLICT (dataset_id) DO UPDATE "
        "SET change_number = excluded.change_number, nonce = excluded.nonce;"
        for row in rows
    ]
    return " ".join([count, *notes])


def _sqlite_triggers() -> None:
    for table, column in BELONGING.items():
        events = {
            "insert": [f"NEW.{column}"],
            "update": [f"NEW.{column}", f"OLD.{column}"],
            "delete": [f"OLD.{column}"],
        }
        for event, rows in events.items():
            op.execute(f"DROP TRIGGER {table}_{event}_changed")
            op.execute(
                f"CREATE TRIGGER {table}_{event}_changed AFTER {event.upper()} ON {table} "
                f"BEGIN {_sqlite_body(table, rows)} END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in BELONGING:
            for event in ("insert", "update", "delete", "truncate"):
                op.execute(f"DROP TRIGGER {table}_{event}_noted ON {table}")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        for table in BELONGING:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_changed")
                op.execute(
                    f"CREATE TRIGGER {table}_{event}_changed AFTER {event.upper()} ON {table} "
                    "BEGIN UPDATE catalog_changes SET changes = changes + 1, nonce = random() "
                    f"WHERE id = 0 AND table_name = '{table}'; END"
                )
    op.drop_index("ix_catalog_dataset_changes_change_number", "catalog_dataset_changes")
    op.drop_table("catalog_dataset_changes")
