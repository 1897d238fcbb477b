"""The access policy. Every read of metadata or rows, and every change, asks `can` first.

Public, active or deprecated datasets are open to everyone. Anything else (a protected,
personal or private dataset, a restricted access level, an archived dataset) is visible only to
staff of the owning agency and the Chief Data Officer. Sharing agreements will add a third way
in, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from statedata.catalog.models import Dataset
from statedata.catalog.vocab import AccessLevel, Classification, Status
from statedata.errors import DatasetNotFound, Forbidden


class Action(StrEnum):
    READ_METADATA = "read_metadata"
    READ_ROWS = "read_rows"
    PUBLISH = "publish"
    MANAGE = "manage"


class Role(StrEnum):
    CDO = "cdo"
    DATA_OFFICER = "data_officer"
    PUBLISHER = "publisher"
    ANALYST = "analyst"


@dataclass(frozen=True)
class Actor:
    """Who is asking: anonymous (no name), or a user with roles in some agencies."""

    name: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    agencies: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return self.name is None


ANONYMOUS = Actor()


def is_open(dataset: Dataset) -> bool:
    """Open to anyone: public data, publicly listed, not archived."""
    return (
        dataset.classification == Classification.PUBLIC.value
        and dataset.access_level == AccessLevel.PUBLIC.value
        and dataset.status != Status.ARCHIVED.value
    )


def _is_agency_staff(actor: Actor, dataset: Dataset) -> bool:
    return (
        dataset.agency is not None
        and dataset.agency.code in actor.agencies
        and bool(actor.roles & {Role.DATA_OFFICER, Role.PUBLISHER})
    )


def can(actor: Actor, action: Action | str, dataset: Dataset) -> bool:
    action = Action(action)
    if Role.CDO in actor.roles:
        return True
    if action in (Action.READ_METADATA, Action.READ_ROWS):
        return is_open(dataset) or _is_agency_staff(actor, dataset)
    if action is Action.PUBLISH:
        return _is_agency_staff(actor, dataset)
    return (
        Role.DATA_OFFICER in actor.roles
        and dataset.agency is not None
        and dataset.agency.code in actor.agencies
    )


def require(actor: Actor, action: Action | str, dataset: Dataset) -> None:
    """Raise unless `can`; a dataset the actor may not see is reported as missing, not hidden."""
    if can(actor, action, dataset):
        return
    if not can(actor, Action.READ_METADATA, dataset):
        # Saying "forbidden" would confirm that a non-public dataset exists.
        raise DatasetNotFound(f"There is no dataset with id '{dataset.id}'.", id=dataset.id)
    raise Forbidden(f"You may not {Action(action).value.replace('_', ' ')} dataset {dataset.id}.")
