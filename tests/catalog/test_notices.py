"""In-app notices: to an agency's staff or one user, sent once per dedupe key, listed for the
people they are for and no one else, marked read."""

from __future__ import annotations

import pytest

from statedata.access.accounts import actor_for, add_user, get_user
from statedata.access.policy import Actor
from statedata.catalog import notices, service
from statedata.errors import InvalidInput, NoticeNotFound


@pytest.fixture
def people(installation):
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOL", "Department of Labor")
        add_user(session, "dph.publisher", "publisher", "DPH")
        add_user(session, "dol.officer", "data_officer", "DOL")
        add_user(session, "ana.analyst", "analyst")


def actor(installation, name: str) -> Actor:
    with installation.catalog.session() as session:
        return actor_for(session, get_user(session, name))


def test_agency_notices_reach_its_staff_only(installation, people):
    with installation.catalog.session() as session:
        dph = service.get_agency(session, "DPH")
        _, new = notices.notify_agency(session, dph, "test", "Something for DPH")
        assert new
    with installation.catalog.session() as session:
        seen = notices.list_for(session, actor(installation, "dph.publisher"))
        assert [n.subject for n in seen] == ["Something for DPH"]
        assert notices.list_for(session, actor(installation, "dol.officer")) == []
        assert notices.list_for(session, actor(installation, "ana.analyst")) == []
        assert notices.list_for(session, Actor()) == []


def test_user_notices_reach_that_user_only(installation, people):
    with installation.catalog.session() as session:
        ana = get_user(session, "ana.analyst")
        notices.notify_user(session, ana.id, "test", "For Ana", "body", link="/x")
    with installation.catalog.session() as session:
        [notice] = notices.list_for(session, actor(installation, "ana.analyst"))
        assert (notice.subject, notice.body, notice.link) == ("For Ana", "body", "/x")
        assert notices.list_for(session, actor(installation, "dph.publisher")) == []


def test_a_dedupe_key_sends_once(installation, people):
    for _ in range(3):
        with installation.catalog.session() as session:
            dol = service.get_agency(session, "DOL")
            notices.notify_agency(session, dol, "test", "Once", dedupe_key="k:1")
    with installation.catalog.session() as session:
        _, new = notices.notify_agency(
            session, service.get_agency(session, "DOL"), "test", "Once", dedupe_key="k:1"
        )
        assert not new
        assert len(notices.list_for(session, actor(installation, "dol.officer"))) == 1


def test_mark_read(installation, people):
    with installation.catalog.session() as session:
        notice, _ = notices.notify_agency(
            session, service.get_agency(session, "DOL"), "test", "Read me"
        )
        notice_id = notice.id
    with installation.catalog.session() as session:
        with pytest.raises(NoticeNotFound):
            notices.mark_read(session, actor(installation, "dph.publisher"), notice_id)
        read = notices.mark_read(session, actor(installation, "dol.officer"), notice_id)
        first = read.read_at
        assert first is not None
        # Reading again keeps the first time.
        assert (
            notices.mark_read(session, actor(installation, "dol.officer"), notice_id).read_at
            == first
        )
    with installation.catalog.session() as session:
        officer = actor(installation, "dol.officer")
        assert notices.list_for(session, officer) == []
        assert [n.id for n in notices.list_for(session, officer, unread_only=False)] == [notice_id]


def test_a_subject_is_required(installation, people):
    with installation.catalog.session() as session, pytest.raises(InvalidInput):
        notices.notify_agency(session, service.get_agency(session, "DPH"), "test", "  ")
