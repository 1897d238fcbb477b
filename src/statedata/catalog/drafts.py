"""Private first: new datasets and changes to published metadata wait for approval.

A dataset created as a draft is seen by its agency only (the access policy keeps it out of
every public door) until a data officer approves it. A change to a published dataset's
metadata, or to what its columns mean, is kept as a `MetadataDraft` (the column descriptions
under the `columns` key of its changes) and applied only when approved; until then the public
sees the metadata and the data dictionary as they were. Who may propose and who may approve
is the access policy's call, made by the caller; this module keeps the records straight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog import audit, dictionary, service
from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Dataset, MetadataDraft, utcnow
from statedata.errors import Conflict, NotFound

DRAFT = "draft"
PUBLISHED = "published"
APPROVED = "approved"
REJECTED = "rejected"
# The key of a draft's changes holding column descriptions: {field_name: description}.
COLUMNS = "columns"


def mark_draft(session: Session, dataset: Dataset, actor: str) -> None:
    dataset.publication_state = DRAFT
    audit.record(session, actor, "dataset.draft", dataset.id)


def approve_dataset(session: Session, dataset_id: str, actor: str) -> Dataset:
    """Publish a draft dataset: from now on the policy treats it by its classification."""
    dataset = service.get_dataset(session, dataset_id)
    if dataset.publication_state != DRAFT:
        raise Conflict(f"Dataset {dataset_id} is not a draft; it is already published.")
    dataset.publication_state = PUBLISHED
    dataset.approved_by = actor
    dataset.approved_at = utcnow()
    audit.record(session, actor, "dataset.approve", dataset.id)
    return dataset


def propose(
    session: Session,
    dataset_id: str,
    metadata: DatasetMetadata,
    categories: Sequence[str],
    actor: str,
    columns: Mapping[str, str] | None = None,
) -> MetadataDraft:
    """Keep a metadata change, and any column descriptions that differ from today's, for
    approval; nothing about the dataset changes yet."""
    dataset = service.get_dataset(session, dataset_id)
    changes = metadata.model_dump(mode="json", exclude_unset=True)
    # Check now, so the approver never meets a change that cannot be applied.
    described = dictionary.changed_descriptions(session, dataset.id, columns or {})
    if described:
        changes[COLUMNS] = described
    if not changes:
        raise Conflict("The change names no field to change.")
    service.check_category(metadata.category, categories)
    draft = MetadataDraft(dataset_id=dataset.id, changes=changes, proposed_by=actor)
    session.add(draft)
    session.flush()
    audit.record(
        session, actor, "metadata.propose", dataset.id, draft=draft.id, fields=sorted(changes)
    )
    return draft


def get_draft(session: Session, draft_id: int) -> MetadataDraft:
    draft = session.get(MetadataDraft, draft_id)
    if draft is None:
        raise NotFound(f"There is no metadata draft {draft_id}.", id=draft_id)
    return draft


def pending(session: Session, dataset_ids: Sequence[str] | None = None) -> Sequence[MetadataDraft]:
    query = select(MetadataDraft).where(MetadataDraft.decision.is_(None))
    if dataset_ids is not None:
        query = query.where(MetadataDraft.dataset_id.in_(list(dataset_ids)))
    return session.scalars(query.order_by(MetadataDraft.id)).all()


def decide(
    session: Session,
    draft_id: int,
    approve: bool,
    categories: Sequence[str],
    actor: str,
    note: str | None = None,
) -> MetadataDraft:
    """Approve (apply the change) or reject a pending metadata draft.

    Column descriptions apply to the columns the dataset still has: a column a newer version
    dropped has nothing left to describe."""
    draft = get_draft(session, draft_id)
    if draft.decision is not None:
        raise Conflict(f"Metadata draft {draft_id} was already {draft.decision}.")
    if approve:
        fields = {k: v for k, v in draft.changes.items() if k != COLUMNS}
        if fields:
            service.update_metadata(
                session,
                draft.dataset_id,
                DatasetMetadata.model_validate(fields),
                categories,
                actor=actor,
            )
        described = draft.changes.get(COLUMNS) or {}
        if described:
            dataset = service.get_dataset(session, draft.dataset_id)
            present = {c.field_name for c in dataset.columns}
            dictionary.describe_columns(
                session,
                draft.dataset_id,
                {name: text for name, text in described.items() if name in present},
                actor,
            )
    draft.decision = APPROVED if approve else REJECTED
    draft.decided_by = actor
    draft.decided_at = utcnow()
    draft.note = note
    audit.record(
        session, actor, f"metadata.{draft.decision}", draft.dataset_id, draft=draft.id, note=note
    )
    return draft
