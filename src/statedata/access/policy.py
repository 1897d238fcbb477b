"""The access policy. Every read of metadata or rows, and every change, asks `can` first.

Who may see what:
- open data (public, publicly listed, published, not archived): everyone;
- anything else (protected, personal or private data, a restricted or non-public access
  level, an archived dataset, a draft): the owning agency's staff and the Chief Data Officer;
- the rows of a non-public dataset, and its metadata: also the users named in an executed,
  unexpired sharing agreement that covers that dataset (`Actor.granted`, worked out when the
  actor signs in or presents a key, by `access.grants`);
- the metadata (never the rows) of a published non-public dataset the agency chose to list
  (`metadata_public`): everyone.

Changing a dataset is for the agency's staff: publishers publish, data officers also approve
drafts and manage the dataset. An analyst has no agency role and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog.models import Agency, Dataset
from statedata.catalog.vocab import AccessLevel, Classification, Status
from statedata.errors import DatasetNotFound, Forbidden


class Action(StrEnum):
    READ_METADATA = "read_metadata"
    READ_ROWS = "read_rows"
    PUBLISH = "publish"
    APPROVE = "approve"
    MANAGE = "manage"


class Role(StrEnum):
    CDO = "cdo"
    DATA_OFFICER = "data_officer"
    PUBLISHER = "publisher"
    ANALYST = "analyst"


AGENCY_ROLES = frozenset({Role.DATA_OFFICER, Role.PUBLISHER})
PUBLISHED = "published"
DRAFT = "draft"


@dataclass(frozen=True)
class Actor:
    """Who is asking: anonymous (no name), or a user with roles, in agencies.

    `memberships` pairs an agency code with the role held there. `roles` and `agencies` are
    every role held anywhere and every agency the user is staff of; an actor built from those
    two alone holds each of the roles in each of the agencies.
    """

    name: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    agencies: frozenset[str] = field(default_factory=frozenset)
    memberships: frozenset[tuple[str, Role]] = field(default_factory=frozenset)
    granted: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.name is None

    @property
    def is_cdo(self) -> bool:
        return Role.CDO in self.roles

    def has_role_in(self, agency_code: str | None, *roles: Role) -> bool:
        """Whether the actor holds one of `roles` (any agency role when none are given) in
        the agency."""
        if agency_code is None:
            return False
        wanted = set(roles) or AGENCY_ROLES
        if self.memberships:
            return any(code == agency_code and role in wanted for code, role in self.memberships)
        return agency_code in self.agencies and bool(self.roles & wanted)

    def staff_agencies(self, *roles: Role) -> frozenset[str]:
        """The agencies where the actor holds one of `roles` (any agency role when none)."""
        wanted = set(roles) or AGENCY_ROLES
        if self.memberships:
            return frozenset(code for code, role in self.memberships if role in wanted)
        return self.agencies if self.roles & wanted else frozenset()


ANONYMOUS = Actor()


@dataclass(frozen=True)
class DatasetFacts:
    """What the policy reads of a dataset, read as a few columns: for deciding over many
    datasets at once without loading each one with its agency (`visible_ids`)."""

    id: str
    agency_code: str | None
    classification: str
    access_level: str
    status: str
    publication_state: str | None
    metadata_public: bool


def is_open(dataset: Dataset | DatasetFacts) -> bool:
    """Open to anyone: public data, publicly listed, published, not archived."""
    return (
        dataset.classification == Classification.PUBLIC.value
        and dataset.access_level == AccessLevel.PUBLIC.value
        and dataset.status != Status.ARCHIVED.value
        and (dataset.publication_state or PUBLISHED) == PUBLISHED
    )


def is_listed(dataset: Dataset | DatasetFacts) -> bool:
    """Not open data, but its metadata may be shown to all (as DCAT-US inventories list
    non-public datasets with their `rights`); its rows stay protected."""
    return (
        bool(dataset.metadata_public)
        and dataset.status != Status.ARCHIVED.value
        and (dataset.publication_state or PUBLISHED) == PUBLISHED
    )


def _agency_code(dataset: Dataset | DatasetFacts) -> str | None:
    if isinstance(dataset, DatasetFacts):
        return dataset.agency_code
    return dataset.agency.code if dataset.agency is not None else None


def _granted(actor: Actor, dataset: Dataset | DatasetFacts) -> bool:
    # An agreement covers data an agency holds; it cannot open a draft nobody approved.
    return (
        dataset.id in actor.granted
        and (dataset.publication_state or PUBLISHED) == PUBLISHED
        and dataset.status != Status.ARCHIVED.value
    )


def can(actor: Actor, action: Action | str, dataset: Dataset | DatasetFacts) -> bool:
    action = Action(action)
    if actor.is_cdo:
        return True
    agency = _agency_code(dataset)
    if action in (Action.READ_METADATA, Action.READ_ROWS):
        if is_open(dataset) or actor.has_role_in(agency) or _granted(actor, dataset):
            return True
        return action is Action.READ_METADATA and is_listed(dataset)
    if action is Action.PUBLISH:
        return actor.has_role_in(agency)
    return actor.has_role_in(agency, Role.DATA_OFFICER)


def visible_ids(session: Session, actor: Actor, include_retired: bool = True) -> set[str]:
    """The ids of the datasets whose metadata `actor` may read, decided by `can` over each
    one's facts (a single query: loading 100,000 datasets with their agencies to ask the
    same took minutes)."""
    query = select(
        Dataset.id,
        Agency.code,
        Dataset.classification,
        Dataset.access_level,
        Dataset.status,
        Dataset.publication_state,
        Dataset.metadata_public,
    ).outerjoin(Agency, Agency.id == Dataset.agency_id)
    if not include_retired:
        query = query.where(Dataset.status != Status.RETIRED.value)
    return {
        row[0]
        for row in session.execute(query)
        if can(actor, Action.READ_METADATA, DatasetFacts(*row[:6], bool(row[6])))
    }


def require(actor: Actor, action: Action | str, dataset: Dataset) -> None:
    """Raise unless `can`; a dataset the actor may not see is reported as missing, not hidden."""
    if can(actor, action, dataset):
        return
    if not can(actor, Action.READ_METADATA, dataset):
        # Saying "forbidden" would confirm that a non-public dataset exists.
        raise DatasetNotFound(f"There is no dataset with id '{dataset.id}'.", id=dataset.id)
    raise Forbidden(f"You may not {Action(action).value.replace('_', ' ')} dataset {dataset.id}.")


def needs_approval(actor: Actor, dataset: Dataset, drafts_need_approval: bool = True) -> bool:
    """Whether the actor's new dataset or metadata change waits for a data officer: yes for
    a publisher, no for the agency's data officer or the CDO, who are the approvers."""
    return drafts_need_approval and not can(actor, Action.APPROVE, dataset)
