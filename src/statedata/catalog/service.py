"""Reading and changing the catalog: agencies, datasets and their metadata.

Functions take a SQLAlchemy session and leave committing to the caller (`Catalog.session()`),
so one publish changes the catalog in one transaction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from statedata import ids
from statedata.catalog import audit
from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Agency, Dataset, DatasetTag, utcnow
from statedata.catalog.vocab import AccessLevel, Classification, Status
from statedata.errors import AgencyNotFound, AlreadyExists, DatasetNotFound, InvalidInput


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:200] or "dataset"


# Agencies ---------------------------------------------------------------------------------


def add_agency(
    session: Session, code: str, name: str, parent_code: str | None = None, actor: str = "system"
) -> Agency:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{0,31}", code):
        raise InvalidInput(
            f"'{code}' is not a usable agency code: use 1 to 32 letters, digits, '-' or '_'.",
            field="code",
        )
    if session.scalar(select(Agency).where(Agency.code == code)):
        raise AlreadyExists(f"An agency with code {code} already exists.", code=code)
    parent = get_agency(session, parent_code) if parent_code else None
    agency = Agency(code=code, name=name.strip(), parent=parent)
    session.add(agency)
    session.flush()
    audit.record(session, actor, "agency.add", code=code, name=agency.name)
    return agency


def get_agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise AgencyNotFound(
            f"There is no agency with code '{code}'. `statedata agencies list` shows them.",
            code=code,
        )
    return agency


def list_agencies(session: Session) -> Sequence[Agency]:
    return session.scalars(
        select(Agency).options(selectinload(Agency.parent)).order_by(Agency.name)
    ).all()


def dataset_counts_by_agency(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Dataset.agency_id, func.count()).group_by(Dataset.agency_id)
    ).all()
    return {agency_id: count for agency_id, count in rows if agency_id is not None}


# Datasets ---------------------------------------------------------------------------------


def check_category(category: str | None, categories: Sequence[str]) -> None:
    if category is not None and category not in categories:
        raise InvalidInput(
            f"'{category}' is not one of this portal's categories: {', '.join(categories)}.",
            field="category",
        )


def _unused_id(session: Session) -> str:
    while True:
        candidate = ids.new_dataset_id()
        if session.get(Dataset, candidate) is None:
            return candidate


def create_dataset(
    session: Session,
    metadata: DatasetMetadata,
    agency_code: str | None,
    categories: Sequence[str],
    actor: str = "system",
    dataset_id: str | None = None,
) -> Dataset:
    """A new dataset with no rows yet; `agency_code` None makes an unattributed dataset."""
    if not metadata.title:
        raise InvalidInput("A dataset needs a title.", field="title")
    check_category(metadata.category, categories)
    if dataset_id is not None:
        if not ids.is_dataset_id(dataset_id):
            raise InvalidInput(f"'{dataset_id}' is not a dataset id like 'abcd-1234'.")
        if session.get(Dataset, dataset_id) is not None:
            raise AlreadyExists(f"Dataset {dataset_id} already exists.")
    dataset = Dataset(
        id=dataset_id or _unused_id(session),
        slug=slugify(metadata.title),
        title=metadata.title,
        agency=get_agency(session, agency_code) if agency_code else None,
        related_documents=[],
        high_value_criteria=[],
        demographic_dimensions=[],
        status=Status.ACTIVE.value,
        classification=Classification.PUBLIC.value,
        access_level=AccessLevel.PUBLIC.value,
    )
    session.add(dataset)
    _apply(dataset, metadata)
    session.flush()
    audit.record(session, actor, "dataset.create", dataset.id, title=dataset.title)
    return dataset


def _apply(dataset: Dataset, metadata: DatasetMetadata) -> None:
    for name, value in metadata.given().items():
        if name == "tags":
            dataset.tags = [DatasetTag(tag=t) for t in value or []]
        elif name == "related_documents":
            dataset.related_documents = value or []
        elif name in ("high_value_criteria", "demographic_dimensions"):
            setattr(dataset, name, value or [])
        elif name == "title":
            dataset.title = value
            dataset.slug = slugify(value)
        else:
            setattr(dataset, name, value.value if hasattr(value, "value") else value)
    if metadata.classification is not None and "access_level" not in metadata.given():
        # A non-public class cannot stay listed as public by accident.
        if metadata.classification != Classification.PUBLIC:
            dataset.access_level = AccessLevel.NON_PUBLIC.value
        else:
            dataset.access_level = AccessLevel.PUBLIC.value
    dataset.metadata_updated_at = utcnow()


def update_metadata(
    session: Session,
    dataset_id: str,
    metadata: DatasetMetadata,
    categories: Sequence[str],
    actor: str = "system",
) -> Dataset:
    dataset = get_dataset(session, dataset_id)
    check_category(metadata.category, categories)
    _apply(dataset, metadata)
    session.flush()
    audit.record(session, actor, "dataset.update", dataset.id, fields=sorted(metadata.given()))
    return dataset


def lock_dataset(session: Session, dataset_id: str) -> None:
    """Hold the dataset's row until the transaction ends, so changes to it take turns.

    A write is the portable way: PostgreSQL locks the row, and SQLite takes its write lock
    before the reads that follow, so they see the latest committed state.
    """
    session.execute(update(Dataset).where(Dataset.id == dataset_id).values(status=Dataset.status))


def get_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(
        Dataset,
        dataset_id,
        options=[
            selectinload(Dataset.tags),
            selectinload(Dataset.columns),
            selectinload(Dataset.agency),
            selectinload(Dataset.files),
            selectinload(Dataset.current_version),
        ],
    )
    if dataset is None:
        raise DatasetNotFound(f"There is no dataset with id '{dataset_id}'.", id=dataset_id)
    return dataset


def list_datasets(
    session: Session,
    agency_code: str | None = None,
    status: str | None = None,
    classification: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    include_retired: bool = False,
) -> Sequence[Dataset]:
    """Datasets in title order. Retired datasets are left out of lists unless asked for (or
    asked for by `status`); they stay reachable by id."""
    query = (
        select(Dataset)
        .options(
            selectinload(Dataset.tags),
            selectinload(Dataset.agency),
            selectinload(Dataset.current_version),
            selectinload(Dataset.columns),
            selectinload(Dataset.files),
        )
        .order_by(Dataset.title, Dataset.id)
        .offset(offset)
    )
    if agency_code:
        query = query.where(Dataset.agency_id == get_agency(session, agency_code).id)
    if status:
        query = query.where(Dataset.status == status)
    elif not include_retired:
        query = query.where(Dataset.status != Status.RETIRED.value)
    if classification:
        query = query.where(Dataset.classification == classification)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def deprecate(
    session: Session,
    dataset_id: str,
    reason: str,
    replaced_by: str | None = None,
    actor: str = "system",
) -> Dataset:
    """Mark a dataset deprecated, with a plain reason and, if there is one, its replacement."""
    if not reason.strip():
        raise InvalidInput("Say why the dataset is deprecated.", field="reason")
    dataset = get_dataset(session, dataset_id)
    if replaced_by is not None:
        if replaced_by == dataset_id:
            raise InvalidInput("A dataset cannot replace itself.", field="replaced_by")
        get_dataset(session, replaced_by)
    dataset.status = Status.DEPRECATED.value
    dataset.status_reason = reason.strip()
    dataset.replaced_by = replaced_by
    dataset.metadata_updated_at = utcnow()
    audit.record(
        session, actor, "dataset.deprecate", dataset.id, reason=reason, replaced_by=replaced_by
    )
    return dataset
