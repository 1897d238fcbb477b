"""Retiring datasets, as the state's open data handbook describes it.

A dataset overdue past a grace period is brought to its agency's attention. The CDO or the
agency's data officer may retire a dataset for a stated reason: it then carries a notice for
30 days (a setting) before it leaves public lists and search; it stays reachable by its id,
pointing at its replacement and archive. A dataset published within the last 7 days, or one
that turns out to contain protected data, is withdrawn at once. Every retirement is listed in
a public "Retired datasets" dataset with the reason, the dates, the replacement and the
archive link.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statedata.catalog import DatasetMetadata, audit, notices, service
from statedata.catalog.models import Agency, Dataset, as_utc, utcnow
from statedata.catalog.vocab import Status
from statedata.errors import Conflict, DatasetNotFound, InvalidInput
from statedata.freshness.report import rows as freshness_rows
from statedata.freshness.status import Freshness
from statedata.installation import Installation

# The handbook's reasons, in plain words.
REASONS: dict[str, str] = {
    "inaccurate": "The data is inaccurate",
    "protected_data": "It contains protected data",
    "replaced": "It was discontinued or replaced",
    "published_by_mistake": "It was published by mistake",
    "rarely_used": "It is rarely used",
    "outdated": "It is out of date",
    "not_ours": "It is not the publisher's data",
}
# Reasons that cannot wait for a notice period.
AT_ONCE = {"protected_data", "published_by_mistake"}
WITHDRAW_WITHIN = dt.timedelta(days=7)
REGISTER_TITLE = "Retired datasets"
REGISTER_KEY = "retired_datasets"
REGISTER_COLUMNS = [
    "dataset_id",
    "title",
    "agency",
    "reason",
    "explanation",
    "notice_date",
    "retired_date",
    "replaced_by",
    "archive_url",
]


def retire(
    session: Session,
    dataset_id: str,
    reason: str,
    actor: str,
    notice_days: int,
    explanation: str | None = None,
    replaced_by: str | None = None,
    archive_url: str | None = None,
    now: dt.datetime | None = None,
) -> Dataset:
    """Start retiring a dataset: a notice now, out of public view after `notice_days`, or at
    once when it is new or must not stay up."""
    now = now or utcnow()
    if reason not in REASONS:
        raise InvalidInput(
            f"'{reason}' is not a reason to retire a dataset. Use one of: {', '.join(REASONS)}.",
            field="reason",
        )
    if archive_url and not archive_url.startswith(("http://", "https://")):
        raise InvalidInput("The archive link must be a full web address.", field="archive_url")
    dataset = service.get_dataset(session, dataset_id)
    if dataset.retirement_noticed_at is not None or dataset.status == Status.RETIRED.value:
        raise Conflict(f"Dataset {dataset_id} is already being retired.")
    if replaced_by is not None:
        if replaced_by == dataset_id:
            raise InvalidInput("A dataset cannot replace itself.", field="replaced_by")
        service.get_dataset(session, replaced_by)
    at_once = reason in AT_ONCE or as_utc(dataset.created_at) >= now - WITHDRAW_WITHIN
    plain = REASONS[reason] + (f": {explanation.strip()}" if explanation else "")
    dataset.retirement_reason = reason
    dataset.status_reason = plain
    dataset.replaced_by = replaced_by
    dataset.archive_url = archive_url
    dataset.retirement_noticed_at = now
    dataset.retire_after = now if at_once else now + dt.timedelta(days=notice_days)
    if at_once:
        dataset.status = Status.RETIRED.value
        dataset.retired_at = now
    else:
        dataset.status = Status.DEPRECATED.value
    dataset.metadata_updated_at = now
    audit.record(
        session,
        actor,
        "dataset.retire",
        dataset.id,
        reason=reason,
        at_once=at_once,
        retire_after=dataset.retire_after.isoformat(),
        replaced_by=replaced_by,
    )
    return dataset


def cancel(session: Session, dataset_id: str, actor: str) -> Dataset:
    """Stop a retirement during its notice period (the data was fixed after all)."""
    dataset = service.get_dataset(session, dataset_id)
    if dataset.retirement_noticed_at is None or dataset.retired_at is not None:
        raise Conflict(f"Dataset {dataset_id} has no retirement to cancel.")
    dataset.status = Status.ACTIVE.value
    dataset.status_reason = None
    dataset.retirement_reason = None
    dataset.retirement_noticed_at = None
    dataset.retire_after = None
    audit.record(session, actor, "dataset.retire.cancel", dataset.id)
    return dataset


def apply_due(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Take out of public view every dataset whose notice period is over; their ids."""
    now = now or utcnow()
    due = session.scalars(
        select(Dataset).where(
            Dataset.retire_after.is_not(None),
            Dataset.retired_at.is_(None),
            Dataset.retire_after <= now,
        )
    ).all()
    for dataset in due:
        dataset.status = Status.RETIRED.value
        dataset.retired_at = now
        audit.record(session, "system", "dataset.retired", dataset.id)
    return [d.id for d in due]


def tell_agencies_of_long_overdue(
    session: Session, as_of: dt.date, grace_days: int
) -> dict[str, list[str]]:
    """A notice to each agency listing its datasets overdue by more than `grace_days`: update
    them, or retire them. One notice per agency per day; returns agency -> dataset ids."""
    late: dict[str, list] = defaultdict(list)
    for row in freshness_rows(session, as_of):
        if (
            row.agency
            and row.status in (Freshness.OVERDUE, Freshness.STALE)
            and row.days_late > grace_days
            and row.dataset_status == Status.ACTIVE.value
        ):
            late[row.agency].append(row)
    agencies = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(late)))}
    for code, found in late.items():
        lines = "\n".join(f"- {r.title} ({r.id}): {r.days_late} days late" for r in found)
        notices.notify_agency(
            session,
            agencies[code],
            "freshness.long_overdue",
            f"{len(found)} dataset(s) are more than {grace_days} days overdue",
            "Publish an update, or retire the dataset with a reason if it will not be "
            f"updated again:\n{lines}",
            link="/api/v1/freshness?status=overdue",
            dedupe_key=f"freshness:long_overdue:{code}:{as_of.isoformat()}",
        )
    return {code: [r.id for r in found] for code, found in late.items()}


def register_rows(session: Session) -> list[dict]:
    """The public register: every retirement of an open dataset, newest first. A dataset that
    was never open data is not named in it."""
    retiring = session.scalars(
        select(Dataset)
        .options(selectinload(Dataset.agency))
        .where(Dataset.retirement_noticed_at.is_not(None))
        .order_by(Dataset.retirement_noticed_at.desc(), Dataset.id)
    ).all()
    return [
        {
            "dataset_id": d.id,
            "title": d.title,
            "agency": d.agency.name if d.agency else "",
            "reason": REASONS.get(d.retirement_reason or "", d.retirement_reason or ""),
            "explanation": d.status_reason or "",
            "notice_date": d.retirement_noticed_at.date().isoformat()
            if d.retirement_noticed_at
            else "",
            "retired_date": (d.retired_at or d.retire_after).date().isoformat()
            if (d.retired_at or d.retire_after)
            else "",
            "replaced_by": d.replaced_by or "",
            "archive_url": d.archive_url or "",
        }
        for d in retiring
        if d.classification == "public" and d.access_level == "public"
    ]


def _state_file(installation: Installation) -> Path:
    return installation.settings.home / "system-datasets.json"


def _register_id(installation: Installation) -> str | None:
    path = _state_file(installation)
    if not path.exists():
        return None
    return json.loads(path.read_text()).get(REGISTER_KEY)


def _remember_register(installation: Installation, dataset_id: str) -> None:
    path = _state_file(installation)
    state = json.loads(path.read_text()) if path.exists() else {}
    state[REGISTER_KEY] = dataset_id
    path.write_text(json.dumps(state, indent=2))


def publish_register(installation: Installation) -> str:
    """Publish (or replace) the public "Retired datasets" dataset; its id."""
    from statedata.ingest import open_table
    from statedata.storage import NewDataset, publish

    with installation.catalog.session() as session:
        found = register_rows(session)
    folder = installation.settings.home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".csv", dir=folder, delete=False, newline="", encoding="utf-8"
    ) as handle:
        writer = csv.DictWriter(handle, fieldnames=REGISTER_COLUMNS)
        writer.writeheader()
        writer.writerows(found)
        path = Path(handle.name)
    try:
        existing = _register_id(installation)
        if existing is not None:
            with installation.catalog.session() as session:
                try:
                    service.get_dataset(session, existing)
                except DatasetNotFound:
                    existing = None
        if existing is not None:
            publish(installation, open_table(path), dataset_id=existing, actor="system")
            return existing
        metadata = DatasetMetadata(
            title=REGISTER_TITLE,
            description=(
                "Every dataset this portal has retired or is retiring: why, when the notice "
                "went up, when it left public view, what replaces it and where its last "
                "version is archived. Updated whenever a dataset is retired."
            ),
            category="Government",
            tags=["open data", "retired datasets", "data inventory"],
            license="public-domain",
            update_frequency="as needed",
            row_identifier="dataset_id",
        )
        result = publish(
            installation, open_table(path), new=NewDataset(metadata, None), actor="system"
        )
        _remember_register(installation, result.dataset_id)
        return result.dataset_id
    finally:
        path.unlink(missing_ok=True)
