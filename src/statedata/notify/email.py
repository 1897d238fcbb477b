"""Email copies of in-app notices, sent through the SMTP server the settings name
(`smtp_host`, `smtp_port`, `smtp_from`, `smtp_starttls`, `smtp_username`, `smtp_password`).

An agency's notice goes to its data officers and publishers who have an email address; a
user's notice to that user. A notice is marked `emailed_at` once sent, so each goes out once;
when the server cannot be reached, it stays unsent and the next call tries again. Nothing is
sent when `smtp_host` is unset. Deciding what to tell is the senders' job, not this module's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from statedata.catalog.models import Membership, User, utcnow
from statedata.catalog.sharing import Notice
from statedata.config import Settings
from statedata.installation import Installation

log = logging.getLogger("statedata.email")

# Notices older than this are not emailed when SMTP is first set up: old news by then.
MAX_AGE = dt.timedelta(days=7)
AGENCY_ROLES = ("data_officer", "publisher")
TIMEOUT_SECONDS = 30.0


def recipients(session: Session, notice: Notice) -> list[str]:
    """The addresses a notice goes to, each once, in a stable order."""
    if notice.user_id is not None:
        query = select(User.email).where(User.id == notice.user_id)
    elif notice.agency_id is not None:
        query = (
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.agency_id == notice.agency_id, Membership.role.in_(AGENCY_ROLES))
        )
    else:
        return []
    query = query.where(User.email.is_not(None), User.disabled_at.is_(None))
    return sorted({e.strip() for e in session.scalars(query) if e and "@" in e})


def message_for(settings: Settings, notice: Notice, to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = notice.subject
    link = f"\n\n{settings.base_url.rstrip('/')}{notice.link}" if notice.link else ""
    message.set_content(
        f"{notice.body or notice.subject}{link}\n\n"
        f"-- \n{settings.portal_title}: you get this because you work for the agency concerned."
    )
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    client = smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=TIMEOUT_SECONDS)
    if settings.smtp_starttls:
        client.starttls()
    if settings.smtp_username:
        client.login(settings.smtp_username, settings.smtp_password or "")
    return client


def _claim(session: Session, notice_id: int, now: dt.datetime) -> bool:
    """Mark the notice emailed, if nobody else has: two senders at once (a scheduler and a
    manual run) must not both mail it. A conditional update is atomic on SQLite and PostgreSQL."""
    claimed = session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.emailed_at.is_(None))
        .values(emailed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return claimed == 1


def _release(session: Session, notice_id: int) -> None:
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id)
        .values(emailed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def send_pending(installation: Installation, now: dt.datetime | None = None) -> int:
    """Email every recent notice not emailed yet; return how many were sent."""
    settings = installation.settings
    if not settings.smtp_host:
        return 0
    now = now or utcnow()
    sent = 0
    with installation.catalog.session() as session:
        pending = session.scalars(
            select(Notice.id)
            .where(Notice.emailed_at.is_(None), Notice.created_at >= now - MAX_AGE)
            .order_by(Notice.id)
        ).all()
        if not pending:
            return 0
        try:
            client = _connect(settings)
        except (OSError, smtplib.SMTPException) as error:
            # Say only what kind of failure it was: nothing of the credentials.
            log.warning("email: the SMTP server could not be used (%s)", type(error).__name__)
            return 0
        try:
            for notice_id in pending:
                if not _claim(session, notice_id, now):
                    continue
                notice = session.get(Notice, notice_id)
                to = recipients(session, notice)
                # With nobody to send to, it stays marked: there is no one to send it to later.
                if not to:
                    continue
                try:
                    client.send_message(message_for(settings, notice, to))
                except (OSError, smtplib.SMTPException) as error:
                    log.warning("email: notice %s not sent (%s)", notice_id, type(error).__name__)
                    _release(session, notice_id)
                    continue
                sent += 1
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
    return sent
