"""Reading rows: the policy's check, and a record in the audit log of every read of rows
that are not open data (who, which dataset, by which door)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from statedata.access.policy import Action, Actor, is_open, require
from statedata.catalog import audit
from statedata.catalog.models import Dataset


def require_rows(session: Session, actor: Actor, dataset: Dataset, door: str) -> None:
    require(actor, Action.READ_ROWS, dataset)
    if not is_open(dataset):
        audit.record(session, actor.name or "anonymous", "rows.read", dataset.id, door=door)
