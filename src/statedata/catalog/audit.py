"""The append-only audit log: every entry carries the hash of the entry before it, so a changed
or removed entry shows. Writing is `record`; checking the chain is `verify`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from statedata.catalog.models import AuditEvent, utcnow

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 4_067_000_001  # any constant; names the audit log's advisory lock


def _utc_text(moment: dt.datetime) -> str:
    # SQLite hands back naive times and PostgreSQL aware ones in the session's zone.
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat()


def _digest(previous_hash: str, event: AuditEvent) -> str:
    body = json.dumps(
        {
            "previous": previous_hash,
            "at": _utc_text(event.occurred_at),
            "actor": event.actor,
            "action": event.action,
            "dataset": event.dataset_id,
            "detail": event.detail,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    dataset_id: str | None = None,
    **detail: object,
) -> AuditEvent:
    """Append one event in the caller's transaction."""
    # Entries are chained, so appends take turns: each holds a lock until its transaction ends.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    else:
        # In SQLite any write takes the database's write lock, even one that changes no row.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0"))
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
    previous = last.entry_hash if last else GENESIS
    event = AuditEvent(
        occurred_at=utcnow().replace(microsecond=0),
        actor=actor,
        action=action,
        dataset_id=dataset_id,
        detail=json.loads(json.dumps(detail, default=str)),
        previous_hash=previous,
    )
    event.entry_hash = _digest(previous, event)
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> list[str]:
    """Problems found walking the chain from the first entry; empty when it is whole."""
    problems: list[str] = []
    previous = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.previous_hash != previous:
            problems.append(f"entry {event.id} does not follow the entry before it")
        if _digest(event.previous_hash, event) != event.entry_hash:
            problems.append(f"entry {event.id} was changed after it was written")
        previous = event.entry_hash
    return problems
