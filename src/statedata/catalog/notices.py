"""In-app notices: tell an agency's staff (or one user) that something needs them, and let
them see and dismiss what is unread.

Only the in-app side lives here; email copies (`Notice.emailed_at`) come with the email issue.
A sender that must not repeat itself passes a `dedupe_key`: the second notice with the same
key is not created, so a job that runs every day can send each reminder once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statedata.catalog.models import Agency, utcnow
from statedata.catalog.sharing import Notice
from statedata.errors import InvalidInput, NoticeNotFound

if TYPE_CHECKING:
    # Only the type: the catalog sits below `access` and never imports it at run time.
    from statedata.access.policy import Actor

MAX_SUBJECT = 300


def _send(
    session: Session,
    *,
    agency_id: int | None,
    user_id: int | None,
    kind: str,
    subject: str,
    body: str,
    link: str | None,
    dedupe_key: str | None,
) -> tuple[Notice, bool]:
    subject = subject.strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"A notice needs a subject of 1 to {MAX_SUBJECT} characters.")
    if dedupe_key is not None:
        existing = session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))
        if existing is not None:
            return existing, False
    notice = Notice(
        agency_id=agency_id,
        user_id=user_id,
        kind=kind,
        subject=subject,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
    )
    # A savepoint, so that a sender racing us to the same key costs this notice, not the
    # caller's whole transaction.
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))
        if existing is None:
            raise
        return existing, False
    return notice, True


def notify_agency(
    session: Session,
    agency: Agency,
    kind: str,
    subject: str,
    body: str = "",
    link: str | None = None,
    dedupe_key: str | None = None,
) -> tuple[Notice, bool]:
    """A notice to every staff member of `agency`. Returns the notice and whether it is new
    (False when a notice with the same `dedupe_key` was sent before)."""
    return _send(
        session,
        agency_id=agency.id,
        user_id=None,
        kind=kind,
        subject=subject,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
    )


def notify_user(
    session: Session,
    user_id: int,
    kind: str,
    subject: str,
    body: str = "",
    link: str | None = None,
    dedupe_key: str | None = None,
) -> tuple[Notice, bool]:
    """A notice to one user. Returns the notice and whether it is new."""
    return _send(
        session,
        agency_id=None,
        user_id=user_id,
        kind=kind,
        subject=subject,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
    )


def _for_actor(actor: Actor):  # type: ignore[no-untyped-def]
    """The SQL condition for notices addressed to the actor or to an agency they work for."""
    conditions = []
    if actor.user_id is not None:
        conditions.append(Notice.user_id == actor.user_id)
    agencies = actor.staff_agencies()
    if agencies:
        conditions.append(
            Notice.agency_id.in_(select(Agency.id).where(Agency.code.in_(sorted(agencies))))
        )
    return or_(*conditions) if conditions else Notice.id.is_(None)


def list_for(session: Session, actor: Actor, unread_only: bool = True) -> Sequence[Notice]:
    """The actor's notices, newest first: their own and their agencies'."""
    query = select(Notice).where(_for_actor(actor)).order_by(Notice.id.desc())
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    return session.scalars(query).all()


def mark_read(session: Session, actor: Actor, notice_id: int) -> Notice:
    """Mark a notice read. A notice that is not the actor's is reported as missing."""
    notice = session.scalar(select(Notice).where(Notice.id == notice_id, _for_actor(actor)))
    if notice is None:
        raise NoticeNotFound(f"There is no notice {notice_id}.", id=notice_id)
    if notice.read_at is None:
        notice.read_at = utcnow()
        session.flush()
    return notice


def notice_document(notice: Notice) -> dict:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "subject": notice.subject,
        "body": notice.body,
        "link": notice.link,
        "agency_id": notice.agency_id,
        "user_id": notice.user_id,
        "created_at": notice.created_at,
        "read_at": notice.read_at,
    }
