"""The catalog's change mark: a number that grows whenever a table the plan metrics read is
written and committed, whoever writes it (the catalog, a feed, or raw SQL: triggers count the
writes, see migration 0009). Whatever was worked out from those tables under one mark is
still right while the mark stays the same, so a running server answers the metrics again
without reading 100,000 datasets.

Read the mark before the data it vouches for: data read afterwards is then at least as new as
the mark, and a change committed in between only means the next reader works it out again.
A transaction that has written vouches for nothing: its own writes move the mark it sees, and
if it rolls back, a later commit by someone else can bring the mark to the same number."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from statedata.catalog.models import CatalogChange

# The tables whose writes move the mark (migration 0009 puts the triggers on them).
WATCHED = ("agencies", "datasets", "versions", "columns", "dataset_tags", "stored_quality")


TableMark = tuple[int, int]  # (writes counted, their nonces)
Mark = tuple[TableMark, ...]  # one per WATCHED table, in its order


def change_mark(session: Session) -> Mark | None:
    """The catalog's change mark as the session sees it, a part per watched table; None when
    the session's transaction has written something not yet committed."""
    postgres = session.get_bind().dialect.name == "postgresql"
    nonces = func.bit_xor if postgres else func.max  # SQLite keeps one row per table
    statement = select(
        CatalogChange.table_name, func.sum(CatalogChange.changes), nonces(CatalogChange.nonce)
    ).group_by(CatalogChange.table_name)
    rows = session.execute(statement)
    found = {name: (int(changes), int(nonce)) for name, changes, nonce in rows}
    if has_written(session):
        return None
    return tuple(found.get(table, (0, 0)) for table in WATCHED)


def part(mark: Mark, table: str) -> TableMark:
    """The part of `mark` that counts writes to `table`."""
    return mark[WATCHED.index(table)]


def has_written(session: Session) -> bool:
    """Whether the session's transaction holds writes not yet committed."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return session.scalar(text("SELECT txid_current_if_assigned() IS NOT NULL")) is True
    # pysqlite opens a transaction only before a write (reads run in their own).
    return bool(connection.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]
