"""The audit log is hash-chained: a changed or removed entry is detected."""

from __future__ import annotations

from sqlalchemy import delete, select

from statedata.catalog import audit, service
from statedata.catalog.models import AuditEvent


def _events(installation, n: int) -> None:
    with installation.catalog.session() as session:
        for i in range(n):
            audit.record(session, "tester", "test.event", None, number=i)


def test_untouched_log_verifies(installation, agency):
    _events(installation, 3)
    with installation.catalog.session() as session:
        assert audit.verify(session) == []
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[0] == "agency.add"


def test_changed_entry_is_detected(installation):
    _events(installation, 3)
    with installation.catalog.session() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(1)).first()
        event.actor = "someone else"
    with installation.catalog.session() as session:
        problems = audit.verify(session)
    assert any("was changed" in p for p in problems)


def test_removed_entry_is_detected(installation):
    _events(installation, 3)
    with installation.catalog.session() as session:
        second = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id).offset(1)).first()
        session.execute(delete(AuditEvent).where(AuditEvent.id == second))
    with installation.catalog.session() as session:
        problems = audit.verify(session)
    assert any("does not follow" in p for p in problems)


def test_catalog_changes_are_audited(installation, agency):
    from statedata.catalog import DatasetMetadata
    from statedata.config import DEFAULT_CATEGORIES

    with installation.catalog.session() as session:
        d = service.create_dataset(session, DatasetMetadata(title="T"), agency, DEFAULT_CATEGORIES)
        service.deprecate(session, d.id, "no longer collected")
    with installation.catalog.session() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.dataset_id == d.id).order_by(AuditEvent.id)
        ).all()
    assert actions == ["dataset.create", "dataset.deprecate"]


def test_concurrent_appends_keep_one_chain(installation):
    from concurrent.futures import ThreadPoolExecutor

    def append(i: int) -> None:
        with installation.catalog.session() as session:
            audit.record(session, f"writer{i}", "test.event", None, number=i)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(40)))
    with installation.catalog.session() as session:
        assert audit.verify(session) == []
