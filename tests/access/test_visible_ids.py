"""`visible_ids` reads each dataset's facts as columns and asks `can`, on both databases: the
datasets it gives are those `can` lets each actor see when asked dataset by dataset."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import update

from statedata.access import Action, Actor, Role, can, visible_ids
from statedata.access.policy import ANONYMOUS
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import Dataset

KINDS = list(
    itertools.product(
        ["DPH", "DOT", None],  # agency
        ["public", "protected"],  # classification
        ["public", "non-public"],  # access level
        ["active", "archived", "retired"],  # status
        ["published", "draft"],  # publication state
        [False, True],  # metadata listed for all
    )
)
ACTORS = {
    "anyone": ANONYMOUS,
    "DPH publisher": Actor(
        name="pub",
        roles=frozenset({Role.PUBLISHER}),
        agencies=frozenset({"DPH"}),
        memberships=frozenset({("DPH", Role.PUBLISHER)}),
    ),
    "analyst with an agreement": Actor(name="ana", roles=frozenset({Role.ANALYST})),
    "CDO": Actor(name="cdo", roles=frozenset({Role.CDO})),
}


@pytest.fixture
def catalog(installation) -> list[str]:
    ids = []
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOT", "Department of Transportation")
        for number, (agency, classification, access, status, state, listed) in enumerate(KINDS):
            dataset = service.create_dataset(
                session, DatasetMetadata(title=f"Dataset {number}"), agency, []
            )
            session.flush()
            session.execute(
                update(Dataset)
                .where(Dataset.id == dataset.id)
                .values(
                    classification=classification,
                    access_level=access,
                    status=status,
                    publication_state=state,
                    metadata_public=listed,
                )
            )
            ids.append(dataset.id)
    return ids


@pytest.mark.parametrize("who", list(ACTORS))
def test_visible_ids_are_those_can_lets_through_one_by_one(installation, catalog, who):
    actor = ACTORS[who]
    if who == "analyst with an agreement":
        actor = Actor(name="ana", roles=actor.roles, granted=frozenset(catalog[::3]))
    with installation.catalog.session() as session:
        everything = service.list_datasets(session, include_retired=True)
        expected = {d.id for d in everything if can(actor, Action.READ_METADATA, d)}
        found = visible_ids(session, actor)
        live = visible_ids(session, actor, include_retired=False)
    assert found == expected
    assert 0 < len(found) <= len(catalog)
    assert live == {i for i in expected if i not in _retired(installation)}


def _retired(installation) -> set[str]:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        return {d.id for d in service.list_datasets(session, status="retired")}
