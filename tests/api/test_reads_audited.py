"""Every read of rows that are not open data is in the audit log: who, which dataset, which
door. Reads of open data are not (they are counted, without identities, as usage)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, audit
from statedata.catalog.models import AuditEvent
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish


@pytest.fixture
def datasets(installation, agency, write_file):
    made = {}
    for title, classification in [("Open counts", "public"), ("Case notes", "protected")]:
        path = write_file(f"{classification}.csv", "town,cases\nAvon,3\n")
        made[classification] = publish(
            installation,
            open_table(path),
            new=NewDataset(DatasetMetadata(title=title, classification=classification), agency),
        ).dataset_id
    with installation.catalog.session() as session:
        add_user(session, "pat", "publisher", agency)
        key, secret = create_key(session, "pat")
    made["auth"] = basic_auth(f"{key.key_id}:{secret}")
    return made


def _reads(installation) -> list[AuditEvent]:
    with installation.catalog.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "rows.read")))


def test_reads_of_protected_rows_are_audited_by_door(installation, live_server, datasets):
    protected = datasets["protected"]
    with httpx.Client(base_url=live_server.url, headers=datasets["auth"], timeout=30) as c:
        assert c.get(f"/resource/{protected}.json").status_code == 200
        assert c.get(f"/resource/{protected}/1.json").status_code == 200
        assert c.get(f"/api/v1/datasets/{protected}/rows.csv").status_code == 200
        assert (
            c.post(
                f"/api/v3/views/{protected}/query.json", json={"query": "SELECT town"}
            ).status_code
            == 200
        )
        assert c.get(f"/resource/{datasets['public']}.json").status_code == 200
    reads = _reads(installation)
    assert [(e.actor, e.dataset_id, e.detail["door"]) for e in reads] == [
        ("pat", protected, "soda"),
        ("pat", protected, "soda"),
        ("pat", protected, "download"),
        ("pat", protected, "soda3"),
    ]
    with installation.catalog.session() as session:
        assert audit.verify(session) == []


def test_a_refused_read_is_not_a_read(installation, live_server, datasets):
    assert httpx.get(f"{live_server.url}/resource/{datasets['protected']}.json").status_code == 404
    assert _reads(installation) == []
