"""The catalog's change mark: a number that grows whenever a table the plan metrics read is
written and committed, whoever writes it (the catalog, a feed, or raw SQL: triggers count the
writes, see migration 0009). Whatever was worked out from those tables under one mark is
still right while the mark stays the same, so a running server answers the metrics again
without reading 100,000 datasets.

Read the mark before the data it vouches for: data read afterwards is then at least as new as
the mark, and a change committed in between only means the next reader works it out again.
A transaction that has written vouches for nothing: its own writes move the mark it sees, and
if it rolls back, a later commit by someone else can bring the mark to the same number.

Which datasets changed is noted too (migration 0010): with the mark comes a position, and
`changed_datasets` gives the datasets written since a position, so a reader that kept an
earlier reading reads again only those."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    cast,
    func,
    literal,
    not_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

from statedata.catalog.models import CatalogChange, CatalogDatasetChange, Dataset

# The tables whose writes move the mark (migration 0009 puts the triggers on them).
WATCHED = ("agencies", "datasets", "versions", "columns", "dataset_tags", "stored_quality")


TableMark = tuple[int, int]  # (writes counted, their nonces)
Mark = tuple[TableMark, ...]  # one per WATCHED table, in its order
# Where a reader stood: SQLite, the catalog's count of writes; PostgreSQL, its snapshot.
Position = int | str
EVERY_DATASET = "*"  # noted for a TRUNCATE


class _TxidSnapshot(UserDefinedType):
    """PostgreSQL's txid_snapshot, for casting a kept snapshot's text back."""

    cache_ok = True

    def get_col_spec(self) -> str:
        return "txid_snapshot"


def change_mark(session: Session) -> Mark | None:
    """The catalog's change mark as the session sees it, a part per watched table; None when
    the session's transaction has written something not yet committed."""
    found = mark_and_position(session)
    return None if found is None else found[0]


def mark_and_position(session: Session) -> tuple[Mark, Position | None] | None:
    """The change mark and the position it was read at, in one statement (so they agree):
    `changed_datasets` takes the position later. None as for `change_mark`; the position is
    None on a PostgreSQL catalog never written to since migration 0009."""
    postgres = session.get_bind().dialect.name == "postgresql"
    nonces = func.bit_xor if postgres else func.max  # SQLite keeps one row per table
    columns = [
        CatalogChange.table_name,
        func.sum(CatalogChange.changes),
        nonces(CatalogChange.nonce),
    ]
    if postgres:  # the statement's own snapshot: the rows summed are those it saw
        columns.append(cast(func.txid_current_snapshot(), String))
    rows = session.execute(select(*columns).group_by(CatalogChange.table_name)).all()
    found = {row[0]: (int(row[1]), int(row[2])) for row in rows}
    if has_written(session):
        return None
    mark = tuple(found.get(table, (0, 0)) for table in WATCHED)
    position: Position | None
    if postgres:
        position = rows[0][3] if rows else None
    else:
        # Each write raises one table's count, and a noted dataset carries the sum just after.
        position = sum(changes for changes, _ in found.values())
    return mark, position


def seen_at(since: Position) -> Any:
    """Whether a note was there for a reader at position `since` (its write committed)."""
    noted = CatalogDatasetChange
    if isinstance(since, str):
        return func.txid_visible_in_snapshot(noted.change_number, _snapshot(since))
    return noted.change_number <= since


def _snapshot(since: str) -> Any:
    return cast(literal(since, String), _TxidSnapshot())


def noted_nonce(dataset_id: Any, since: Position) -> Any:
    """The nonce of the note on the dataset `dataset_id` (a column) that a reader at `since`
    saw, 0 without one: what a reading keeps of each dataset to check the next
    `changed_datasets` with."""
    noted = CatalogDatasetChange
    found = select(noted.nonce).where(noted.dataset_id == dataset_id, seen_at(since))
    return func.coalesce(found.scalar_subquery(), 0)


@dataclass(frozen=True)
class Changed:
    """The datasets written since a position, and the sum of the nonces of the notes a reader
    there saw on the datasets there now: equal to the sum a reading kept of the others
    (`noted_nonce`), unless the catalog is not one that came from the catalog it read."""

    ids: frozenset[str]
    seen_nonces: int


def changed_datasets(session: Session, since: Position) -> Changed | None:
    """The ids of the datasets whose rows were written after `since` (a position from
    `mark_and_position`), removed ones included, and the sum of the nonces (see `Changed`);
    None when every dataset may have changed (a table was truncated). Those written while
    this runs may be in it too. One statement, so both parts agree."""
    noted = CatalogDatasetChange
    unseen: Any = not_(seen_at(since))
    if isinstance(since, str):
        # Each transaction older than the snapshot's oldest running one was seen: the index
        # leaves those out.
        unseen = and_(noted.change_number >= func.txid_snapshot_xmin(_snapshot(since)), unseen)
    there = select(Dataset.id).where(Dataset.id == noted.dataset_id).exists()
    statement = union_all(
        select(noted.dataset_id, literal(0, BigInteger)).where(unseen),
        select(literal(None, String), func.coalesce(func.sum(noted.nonce), 0)).where(
            seen_at(since), there
        ),
    )
    ids: set[str] = set()
    seen_nonces = 0
    for dataset_id, total in session.execute(statement):
        if dataset_id is None:
            seen_nonces = int(total)
        else:
            ids.add(dataset_id)
    if EVERY_DATASET in ids:
        return None
    return Changed(frozenset(ids), seen_nonces)


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


# Every committed row of a table folded into its row 0: the sum of the counts and the XOR of
# the nonces are what they were, so every mark stays the same. Rows of transactions still
# running are not visible to the DELETE and stay as they are.
_FOLD = text(
    "WITH gone AS ("
    " DELETE FROM catalog_changes WHERE id <> 0 RETURNING table_name, changes, nonce"
    "), folded AS ("
    " INSERT INTO catalog_changes (id, table_name, changes, nonce)"
    " SELECT 0, table_name, sum(changes), bit_xor(nonce) FROM gone GROUP BY table_name"
    " ON CONFLICT (id, table_name) DO UPDATE SET"
    " changes = catalog_changes.changes + excluded.changes,"
    " nonce = catalog_changes.nonce # excluded.nonce"
    " RETURNING 1"
    ") SELECT count(*) FROM gone"
)


def fold_counts(session: Session) -> int:
    """Fold PostgreSQL's rows of counted writes (one per writing transaction and table) into
    one row per table, leaving the mark as it was; the number of rows folded. SQLite keeps
    one row per table already: nothing to do. The scheduler does this each round."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return int(session.execute(_FOLD).scalar_one())
