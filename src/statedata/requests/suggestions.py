"""Public dataset suggestions: anyone proposes a dataset, votes for one once, and follows its
status; agency staff triage their agency's. Interagency data requests live elsewhere.

The rules live here; `api/suggestions.py` and `cli/suggestions.py` only call them. Senders and
voters are known only by a keyed hash (HMAC-SHA256 with the installation's secret), so the
catalog can rate-limit and count votes without holding anyone's address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from statedata.access.policy import ANONYMOUS, Action, Actor, can, is_open
from statedata.catalog import audit
from statedata.catalog.models import Agency, Dataset, as_utc, utcnow
from statedata.catalog.sharing import Suggestion, SuggestionEvent, SuggestionVote
from statedata.errors import (
    AuthenticationRequired,
    Conflict,
    Forbidden,
    InvalidInput,
    RateLimited,
    SpamSuspected,
    SuggestionDuplicate,
    SuggestionNotFound,
)

RECEIVED = "received"
UNDER_REVIEW = "under_review"
PLANNED = "planned"
PUBLISHED = "published"
DECLINED = "declined"
STATUSES = (RECEIVED, UNDER_REVIEW, PLANNED, PUBLISHED, DECLINED)
STATUS_NAMES = {
    RECEIVED: "Received",
    UNDER_REVIEW: "Under review",
    PLANNED: "Planned",
    PUBLISHED: "Published",
    DECLINED: "Declined",
}
OPEN_STATUSES = (RECEIVED, UNDER_REVIEW, PLANNED)
# Each status may move only one step on, or to declined while the suggestion is open.
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    RECEIVED: (UNDER_REVIEW, DECLINED),
    UNDER_REVIEW: (PLANNED, DECLINED),
    PLANNED: (PUBLISHED, DECLINED),
    PUBLISHED: (),
    DECLINED: (),
}
SORTS = ("newest", "votes")
PERIODS = ("week", "month")

# Lengths in characters, after surrounding spaces are removed.
TITLE_LENGTH = (5, 300)
DESCRIPTION_LENGTH = (20, 5000)
REASON_LENGTH = (10, 5000)
NOTE_LENGTH = (0, 5000)
DECLINE_REASON_LENGTH = (10, 5000)
CITATION_LENGTH = (3, 300)
EMAIL_LENGTH = 200
MAX_LINKS = 3
MAX_PERIODS = 1000
RATE_WINDOW = dt.timedelta(hours=1)

SECRET_FILE = "secret.key"
HONEYPOT_FIELD = "website"
CREATE_LOCK_KEY = 4_067_000_101  # any constant; names the advisory lock creation takes
LINK = re.compile(r"https?://|\bwww\.", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# Control characters other than tab and newline are invisible; PostgreSQL refuses NUL, and
# a lone surrogate (JSON can carry one as "\\ud800") cannot be stored as UTF-8 at all.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
SEPARATORS = re.compile(r"\r\n?|[\u2028\u2029]")


# The installation's secret and the keyed hash of senders -------------------------------------

_secret_lock = threading.Lock()
_secrets: dict[Path, bytes] = {}


def installation_secret(home: Path) -> bytes:
    """The secret in `secret.key` in the home folder, made on first use; kept by the
    installation and never shown. Another part may share the file: any content is a key."""
    path = (home / SECRET_FILE).resolve()
    with _secret_lock:
        if path in _secrets:
            return _secrets[path]
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{SECRET_FILE}.{secrets.token_hex(6)}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            try:
                # A link never replaces: if another process made the file first, theirs wins.
                os.link(draft, path)
            except FileExistsError:
                pass
            except OSError:
                # A file system without hard links: a rename, which a rival could only
                # overwrite within the same instant, before either used its key.
                if not path.exists():
                    os.replace(draft, path)
            finally:
                draft.unlink(missing_ok=True)
        key = path.read_bytes().strip()
        if len(key) < 16:
            # The installation's fault, not the caller's: an error on our side.
            raise RuntimeError(f"The installation secret {path} is too short; delete it.")
        _secrets[path] = key
        return key


def keyed_hash(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def sender_hash(secret: bytes, actor: Actor, address: str | None) -> str:
    """Who sends or votes, as a keyed hash: the user name when signed in, else the address.

    The address itself is never stored; without the secret the hash cannot be turned back."""
    if not actor.is_anonymous:
        return keyed_hash(secret, f"user:{actor.name}")
    return keyed_hash(secret, f"address:{address or 'unknown'}")


# Input --------------------------------------------------------------------------------------


@dataclass
class NewSuggestion:
    """What a sender gives. `website` is the honeypot: people never see it, robots fill it."""

    title: str
    description: str
    reason: str
    contact_email: str | None = None
    agency: str | None = None
    website: str | None = None


@dataclass
class StatusChange:
    """A move to `status`, with what that status needs."""

    status: str
    note: str = ""
    target_date: dt.date | None = None
    dataset_id: str | None = None
    decline_reason: str | None = None
    legal_citation: str | None = None
    agency: str | None = None


def clean_text(value: object, name: str, length: tuple[int, int], label: str = "") -> str:
    """The text without control characters or surrounding spaces, within `length`."""
    label = label or name.replace("_", " ")
    value = "" if value is None else value
    if not isinstance(value, str):
        raise InvalidInput(f"Give the {label} as text.", field=name)
    value = unicodedata.normalize("NFC", CONTROL.sub("", SEPARATORS.sub("\n", value))).strip()
    low, high = length
    if len(value) < low or len(value) > high:
        given = "nothing" if not value else f"{len(value)}"
        raise InvalidInput(
            f"The {label} must be {low} to {high} characters long; it has {given}.",
            field=name,
        )
    return value


def _same_title(title: str) -> str:
    return " ".join(title.split()).casefold()


def validate(new: NewSuggestion) -> NewSuggestion:
    """The suggestion cleaned, or an `InvalidInput` naming the first field that does not fit,
    or `SpamSuspected` when it looks automated."""
    if new.website not in (None, ""):
        raise SpamSuspected(
            "This suggestion looks automated and was not saved. If you are a person, leave "
            f"the '{HONEYPOT_FIELD}' field empty.",
            field=HONEYPOT_FIELD,
        )
    title = " ".join(clean_text(new.title, "title", TITLE_LENGTH).split())
    description = clean_text(new.description, "description", DESCRIPTION_LENGTH)
    reason = clean_text(new.reason, "reason", REASON_LENGTH, "reason it is needed")
    links = sum(len(LINK.findall(part)) for part in (title, description, reason))
    if links > MAX_LINKS:
        raise SpamSuspected(
            f"A suggestion may hold at most {MAX_LINKS} links; this one has {links}. "
            "Describe the data in words.",
            field="description",
        )
    email = None
    if new.contact_email not in (None, ""):
        email = clean_text(new.contact_email, "contact_email", (3, EMAIL_LENGTH))
        if not EMAIL.match(email):
            raise InvalidInput(
                f"The contact email '{email}' is not an email address; leave it out or give "
                "one like name@example.org.",
                field="contact_email",
            )
    agency = None
    if new.agency not in (None, ""):
        agency = clean_text(new.agency, "agency", (1, 32), "agency code").upper()
    return NewSuggestion(title, description, reason, email, agency, None)


def _agency(session: Session, code: str, name: str = "agency") -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise InvalidInput(
            f"There is no agency with code '{code}'. GET /api/v1/agencies lists them.",
            field=name,
        )
    return agency


def _take_turns(session: Session, key: int) -> None:
    # Checks that must see every committed suggestion (rate limit, duplicates) take turns.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        # Any write takes SQLite's write lock, so the reads that follow are current.
        session.execute(text("UPDATE suggestions SET id = id WHERE 0"))


# Creating -----------------------------------------------------------------------------------


def create(
    session: Session,
    new: NewSuggestion,
    sender: str,
    per_hour: int,
    actor: Actor = ANONYMOUS,
) -> Suggestion:
    """Save a new suggestion from `sender` (a keyed hash), at most `per_hour` an hour each."""
    new = validate(new)
    agency = _agency(session, new.agency) if new.agency else None
    _take_turns(session, CREATE_LOCK_KEY)
    since = utcnow() - RATE_WINDOW
    recent = session.scalar(
        select(func.count())
        .select_from(Suggestion)
        .where(Suggestion.submitter_hash == sender, Suggestion.created_at >= since)
    )
    if recent >= per_hour:
        oldest = session.scalar(
            select(func.min(Suggestion.created_at)).where(
                Suggestion.submitter_hash == sender, Suggestion.created_at >= since
            )
        )
        wait = as_utc(oldest) + RATE_WINDOW - utcnow() if oldest else RATE_WINDOW
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        raise RateLimited(
            f"You have sent {recent} suggestions in the last hour, the most we take. "
            f"Please try again in {minutes} minutes.",
            retry_after=minutes * 60,
        )
    wanted = _same_title(new.title)
    for other_id, other_title in session.execute(
        select(Suggestion.id, Suggestion.title).where(Suggestion.status.in_(OPEN_STATUSES))
    ):
        if _same_title(other_title) == wanted:
            raise SuggestionDuplicate(
                f"Suggestion {other_id}, '{other_title}', asks for this already and is still "
                f"open. Vote for it instead: POST /api/v1/suggestions/{other_id}/votes.",
                suggestion_id=other_id,
            )
    now = utcnow()
    suggestion = Suggestion(
        title=new.title,
        description=new.description,
        reason=new.reason,
        contact_email=new.contact_email,
        agency=agency,
        status=RECEIVED,
        vote_count=0,
        submitter_hash=sender,
        created_at=now,
        updated_at=now,
    )
    who = actor.name or "public"
    suggestion.events.append(
        SuggestionEvent(status=RECEIVED, note="Suggestion received.", actor=who, occurred_at=now)
    )
    session.add(suggestion)
    session.flush()
    audit.record(
        session,
        who,
        "suggestion.create",
        suggestion=suggestion.id,
        agency=agency.code if agency else None,
    )
    return suggestion


# Reading ------------------------------------------------------------------------------------


def get(session: Session, suggestion_id: int) -> Suggestion:
    suggestion = session.get(
        Suggestion,
        suggestion_id,
        options=[selectinload(Suggestion.agency), selectinload(Suggestion.events)],
    )
    if suggestion is None:
        raise SuggestionNotFound(
            f"There is no suggestion {suggestion_id}.", suggestion_id=suggestion_id
        )
    return suggestion


def _status(value: str, name: str = "status") -> str:
    if value not in STATUSES:
        raise InvalidInput(
            f"'{value}' is not a status. Use one of: {', '.join(STATUSES)}.", field=name
        )
    return value


def list_suggestions(
    session: Session,
    status: str | None = None,
    agency: str | None = None,
    sort: str = "newest",
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, Sequence[Suggestion]]:
    """One page of suggestions and how many match in all, newest first or most votes first."""
    if sort not in SORTS:
        raise InvalidInput(f"Sort by one of: {', '.join(SORTS)}.", field="sort")
    if limit < 1 or limit > 100 or offset < 0:
        raise InvalidInput("Ask for 1 to 100 suggestions a page, from offset 0 up.", field="limit")
    query = select(Suggestion)
    if status is not None:
        query = query.where(Suggestion.status == _status(status))
    if agency is not None:
        query = query.where(Suggestion.agency_id == _agency(session, agency).id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (
        (Suggestion.created_at.desc(), Suggestion.id.desc())
        if sort == "newest"
        else (Suggestion.vote_count.desc(), Suggestion.created_at.desc(), Suggestion.id.desc())
    )
    page = session.scalars(
        query.options(selectinload(Suggestion.agency)).order_by(*order).limit(limit).offset(offset)
    ).all()
    return total, page


def can_triage(actor: Actor, suggestion: Suggestion) -> bool:
    """Staff of the suggestion's agency and the CDO; with no agency yet, the CDO alone."""
    if actor.is_cdo:
        return True
    return actor.has_role_in(suggestion.agency.code if suggestion.agency else None)


def can_see_contact(actor: Actor, suggestion: Suggestion) -> bool:
    return can_triage(actor, suggestion)


def triage_queue(session: Session, actor: Actor) -> Sequence[Suggestion]:
    """The open suggestions the actor triages, oldest first: their agencies' and, for the
    CDO, every one (those with no agency first)."""
    if actor.is_anonymous:
        raise AuthenticationRequired("Sign in to see the suggestions your agency triages.")
    query = (
        select(Suggestion)
        .options(selectinload(Suggestion.agency))
        .where(Suggestion.status.in_(OPEN_STATUSES))
    )
    if actor.is_cdo:
        query = query.order_by(Suggestion.agency_id.is_not(None), Suggestion.created_at)
    else:
        codes = actor.staff_agencies()
        if not codes:
            raise Forbidden("The triage queue is for agency staff and the Chief Data Officer.")
        query = (
            query.join(Agency, Suggestion.agency_id == Agency.id)
            .where(Agency.code.in_(sorted(codes)))
            .order_by(Suggestion.created_at, Suggestion.id)
        )
    return session.scalars(query).all()


# Voting -------------------------------------------------------------------------------------


def vote(session: Session, suggestion_id: int, voter: str) -> int:
    """Count one vote from `voter` (a keyed hash); a second vote is a `Conflict`. Returns the
    new count."""
    # Taking the row first makes votes for one suggestion take turns on both databases, and
    # tells at once whether the suggestion exists.
    held = session.execute(
        update(Suggestion)
        .where(Suggestion.id == suggestion_id)
        .values(vote_count=Suggestion.vote_count)
    )
    if held.rowcount == 0:
        raise SuggestionNotFound(
            f"There is no suggestion {suggestion_id}.", suggestion_id=suggestion_id
        )
    status = session.scalar(select(Suggestion.status).where(Suggestion.id == suggestion_id))
    if status not in OPEN_STATUSES:
        raise Conflict(
            f"Suggestion {suggestion_id} is {STATUS_NAMES[status].lower()}; it takes no more "
            "votes.",
            suggestion_id=suggestion_id,
        )
    session.add(SuggestionVote(suggestion_id=suggestion_id, voter_hash=voter, created_at=utcnow()))
    try:
        session.flush()
    except IntegrityError:
        # The vote is the whole transaction: undo it so the session stays usable.
        session.rollback()
        raise Conflict(
            f"You have already voted for suggestion {suggestion_id}; each person votes once.",
            suggestion_id=suggestion_id,
        ) from None
    # Counted in the database, never read-add-write, so concurrent votes cannot be lost.
    session.execute(
        update(Suggestion)
        .where(Suggestion.id == suggestion_id)
        .values(vote_count=Suggestion.vote_count + 1)
    )
    return session.scalar(select(Suggestion.vote_count).where(Suggestion.id == suggestion_id))


# Triage -------------------------------------------------------------------------------------


def _require_triage(actor: Actor, suggestion: Suggestion) -> None:
    if actor.is_anonymous:
        raise AuthenticationRequired("Sign in to change a suggestion's status.")
    if not can_triage(actor, suggestion):
        if suggestion.agency is None:
            raise Forbidden(
                f"Suggestion {suggestion.id} has no agency yet; the Chief Data Officer triages it."
            )
        raise Forbidden(
            f"Only staff of {suggestion.agency.code} or the Chief Data Officer may change "
            f"suggestion {suggestion.id}."
        )


def _lock(session: Session, suggestion_id: int) -> Suggestion:
    # Status changes to one suggestion take turns, so two can never both leave one status.
    held = session.execute(
        update(Suggestion).where(Suggestion.id == suggestion_id).values(status=Suggestion.status)
    )
    if held.rowcount == 0:
        raise SuggestionNotFound(
            f"There is no suggestion {suggestion_id}.", suggestion_id=suggestion_id
        )
    suggestion = get(session, suggestion_id)
    session.refresh(suggestion)
    return suggestion


def _event(session: Session, suggestion: Suggestion, actor: Actor, note: str) -> None:
    now = utcnow()
    suggestion.updated_at = now
    suggestion.events.append(
        SuggestionEvent(status=suggestion.status, note=note, actor=actor.name, occurred_at=now)
    )
    session.flush()


def change_status(
    session: Session,
    actor: Actor,
    suggestion_id: int,
    change: StatusChange,
    today: dt.date | None = None,
) -> Suggestion:
    """Move a suggestion on one status, with a public note; only its agency's staff or the
    CDO may. Planned needs a target date, published a public dataset, declined a reason."""
    suggestion = _lock(session, suggestion_id)
    _require_triage(actor, suggestion)
    target = _status(change.status)
    note = clean_text(change.note or "", "note", NOTE_LENGTH)
    if change.agency not in (None, ""):
        # Handing a suggestion to an agency is the CDO's call; it may come with a status move.
        _assign(session, actor, suggestion, change.agency, note="")
    current = suggestion.status
    if target not in NEXT_STATUSES[current]:
        allowed = NEXT_STATUSES[current]
        then = (
            f"it can move to {' or '.join(allowed)}" if allowed else "it is closed: no more moves"
        )
        raise Conflict(
            f"Suggestion {suggestion.id} is {STATUS_NAMES[current].lower()}; {then}, not to "
            f"{target}.",
            status=current,
            allowed=list(allowed),
        )
    detail: dict[str, object] = {}
    if target == PLANNED:
        if change.target_date is None:
            raise InvalidInput(
                "Planned needs a target date (YYYY-MM-DD): when the data should be out.",
                field="target_date",
            )
        if change.target_date < (today or utcnow().date()):
            raise InvalidInput("The target date is in the past.", field="target_date")
        suggestion.target_date = change.target_date
        detail["target_date"] = change.target_date.isoformat()
    if target == PUBLISHED:
        dataset = _published_dataset(session, actor, change.dataset_id)
        suggestion.dataset_id = dataset.id
    if target == DECLINED:
        reason = clean_text(
            change.decline_reason or "",
            "decline_reason",
            DECLINE_REASON_LENGTH,
            "reason for declining",
        )
        citation = None
        if change.legal_citation not in (None, ""):
            citation = clean_text(change.legal_citation, "legal_citation", CITATION_LENGTH)
        suggestion.decline_reason = reason
        suggestion.legal_citation = citation
        detail.update(decline_reason=reason, legal_citation=citation)
    suggestion.status = target
    _event(session, suggestion, actor, note or _default_note(suggestion))
    audit.record(
        session,
        actor.name or "unknown",
        "suggestion.status",
        suggestion.dataset_id if target == PUBLISHED else None,
        suggestion=suggestion.id,
        status_from=current,
        status_to=target,
        note=note,
        **detail,
    )
    return suggestion


def _default_note(suggestion: Suggestion) -> str:
    if suggestion.status == PLANNED and suggestion.target_date:
        return f"Planned for {suggestion.target_date.isoformat()}."
    if suggestion.status == PUBLISHED:
        return f"Published as dataset {suggestion.dataset_id}."
    if suggestion.status == DECLINED:
        return suggestion.decline_reason or ""
    return STATUS_NAMES[suggestion.status] + "."


def _published_dataset(session: Session, actor: Actor, dataset_id: str | None) -> Dataset:
    if not dataset_id:
        raise InvalidInput(
            "Published needs the id of the dataset that answers the suggestion (dataset_id).",
            field="dataset_id",
        )
    dataset = session.get(Dataset, dataset_id.strip(), options=[selectinload(Dataset.agency)])
    if dataset is None or not can(actor, Action.READ_METADATA, dataset):
        raise InvalidInput(f"There is no dataset with id '{dataset_id}'.", field="dataset_id")
    if not is_open(dataset):
        raise InvalidInput(
            f"Dataset {dataset.id} is not open to the public yet; publish it openly first.",
            field="dataset_id",
        )
    return dataset


def _assign(session: Session, actor: Actor, suggestion: Suggestion, code: str, note: str) -> None:
    if not actor.is_cdo:
        raise Forbidden("Only the Chief Data Officer hands a suggestion to an agency.")
    agency = _agency(session, code)
    before = suggestion.agency.code if suggestion.agency else None
    if before == agency.code:
        return
    if suggestion.status not in OPEN_STATUSES:
        raise Conflict(
            f"Suggestion {suggestion.id} is {STATUS_NAMES[suggestion.status].lower()}; a closed "
            "suggestion keeps its agency."
        )
    suggestion.agency = agency
    _event(session, suggestion, actor, note or f"Handed to {agency.name} ({agency.code}).")
    audit.record(
        session,
        actor.name or "unknown",
        "suggestion.assign",
        suggestion=suggestion.id,
        agency_from=before,
        agency_to=agency.code,
    )


def assign_agency(
    session: Session, actor: Actor, suggestion_id: int, code: str, note: str = ""
) -> Suggestion:
    """Hand an open suggestion to an agency (the CDO only); its staff then triage it."""
    suggestion = _lock(session, suggestion_id)
    if actor.is_anonymous:
        raise AuthenticationRequired("Sign in to hand a suggestion to an agency.")
    _assign(session, actor, suggestion, code, clean_text(note, "note", NOTE_LENGTH))
    return suggestion


# Documents ----------------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def document(
    session: Session,
    suggestion: Suggestion,
    actor: Actor = ANONYMOUS,
    base_url: str = "",
    history: bool = False,
) -> dict:
    """A suggestion as the actor may see it: the contact email and who made each change only
    for its agency's staff and the CDO; the linked dataset only if the actor may see it."""
    staff = can_see_contact(actor, suggestion)
    dataset = None
    if suggestion.dataset_id:
        found = session.get(Dataset, suggestion.dataset_id)
        if found is not None and can(actor, Action.READ_METADATA, found):
            dataset = {
                "id": found.id,
                "title": found.title,
                "link": f"{base_url}/api/v1/datasets/{found.id}",
            }
    body: dict[str, object] = {
        "id": suggestion.id,
        "title": suggestion.title,
        "description": suggestion.description,
        "reason": suggestion.reason,
        "status": suggestion.status,
        "status_name": STATUS_NAMES.get(suggestion.status, suggestion.status),
        "agency": (
            {"code": suggestion.agency.code, "name": suggestion.agency.name}
            if suggestion.agency
            else None
        ),
        "vote_count": suggestion.vote_count,
        "target_date": suggestion.target_date.isoformat() if suggestion.target_date else None,
        "dataset": dataset,
        "decline_reason": suggestion.decline_reason,
        "legal_citation": suggestion.legal_citation,
        "created_at": _iso(suggestion.created_at),
        "updated_at": _iso(suggestion.updated_at),
        "link": f"{base_url}/api/v1/suggestions/{suggestion.id}",
    }
    if staff:
        body["contact_email"] = suggestion.contact_email
    if history:
        events = []
        for event in suggestion.events:
            entry: dict[str, object] = {
                "status": event.status,
                "note": event.note,
                "at": _iso(event.occurred_at),
            }
            if staff:
                entry["by"] = event.actor
            events.append(entry)
        body["history"] = events
    return body


# The plan's metric: suggestions over time ---------------------------------------------------


def _period_start(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(start: dt.date, period: str) -> dt.date:
    if period == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def counts_over_time(
    session: Session,
    period: str = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
    agency: str | None = None,
    today: dt.date | None = None,
) -> dict:
    """Suggestions received each week or month (UTC; weeks start on Monday), each period
    split by the status those suggestions have now. Periods with none are listed as zero."""
    if period not in PERIODS:
        raise InvalidInput(f"Count by {' or '.join(PERIODS)}.", field="period")
    if start is not None and end is not None and end < start:
        raise InvalidInput("The end date comes before the start date.", field="end")
    query = select(Suggestion.created_at, Suggestion.status)
    if agency is not None:
        query = query.where(Suggestion.agency_id == _agency(session, agency).id)
    days = [(as_utc(at).astimezone(dt.UTC).date(), status) for at, status in session.execute(query)]
    today = today or utcnow().date()
    first = start or min((day for day, _ in days), default=today)
    last = end or max([today, *(day for day, _ in days)])
    # Only one end given, past the other's default: the range is that one day's period.
    if start is None:
        first = min(first, last)
    if end is None:
        last = max(last, first)
    periods: dict[dt.date, dict[str, int]] = {}
    cursor = _period_start(first, period)
    while cursor <= last:
        periods[cursor] = dict.fromkeys(STATUSES, 0)
        if len(periods) > MAX_PERIODS:
            raise InvalidInput(
                f"That range holds more than {MAX_PERIODS} {period}s; ask for a shorter one.",
                field="start",
            )
        cursor = _next_period(cursor, period)
    totals = dict.fromkeys(STATUSES, 0)
    for day, status in days:
        if day < first or day > last:
            continue
        periods[_period_start(day, period)][status] += 1
        totals[status] += 1
    total = sum(totals.values())
    span = (last - first).days + 1
    return {
        "period": period,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "agency": agency.strip().upper() if agency else None,
        "total": total,
        "per_day": round(total / span, 3),
        "by_status": totals,
        "periods": [
            {"start": begins.isoformat(), "total": sum(counts.values()), "by_status": counts}
            for begins, counts in periods.items()
        ],
    }
