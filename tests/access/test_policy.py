"""The access policy as properties: whoever holds no role in the owning agency, is not the
CDO and has no agreement for it, never sees a dataset that is not open data; and a change
needs a role in the owning agency."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from statedata.access.policy import (
    Action,
    Actor,
    DatasetFacts,
    Role,
    can,
    is_open,
    needs_approval,
)
from statedata.catalog.models import Agency, Dataset

AGENCIES = ["DPH", "DSS", "DOT"]

datasets = st.builds(
    lambda agency, classification, access, status, state, listed: Dataset(
        id="abcd-2345",
        agency=Agency(code=agency, name=agency) if agency else None,
        classification=classification,
        access_level=access,
        status=status,
        publication_state=state,
        metadata_public=listed,
    ),
    st.sampled_from([*AGENCIES, None]),
    st.sampled_from(["public", "protected", "personal", "private"]),
    st.sampled_from(["public", "restricted public", "non-public"]),
    st.sampled_from(["active", "deprecated", "archived"]),
    st.sampled_from(["published", "draft"]),
    st.booleans(),
)

memberships = st.frozensets(
    st.tuples(st.sampled_from(AGENCIES), st.sampled_from([Role.DATA_OFFICER, Role.PUBLISHER])),
    max_size=4,
)

actors = st.builds(
    lambda name, held, cdo, analyst, granted: Actor(
        name=name,
        roles=frozenset({r for _, r in held} | ({Role.CDO} if cdo else set()))
        | ({Role.ANALYST} if analyst else set()),
        agencies=frozenset(code for code, _ in held),
        memberships=held,
        granted=frozenset({"abcd-2345"} if granted else set()),
    ),
    st.sampled_from([None, "someone"]),
    memberships,
    st.booleans(),
    st.booleans(),
    st.booleans(),
).filter(lambda a: a.name is not None or (not a.memberships and not a.roles and not a.granted))


def _staff(actor: Actor, dataset: Dataset, *roles: Role) -> bool:
    wanted = set(roles) or {Role.DATA_OFFICER, Role.PUBLISHER}
    code = dataset.agency.code if dataset.agency else None
    return any(c == code and r in wanted for c, r in actor.memberships)


@given(actors, datasets)
def test_outsiders_never_see_what_is_not_open(actor, dataset):
    insider = actor.is_cdo or _staff(actor, dataset)
    if is_open(dataset) or insider:
        return
    granted = (
        dataset.id in actor.granted
        and dataset.publication_state == "published"
        and dataset.status != "archived"
    )
    assert can(actor, Action.READ_ROWS, dataset) == granted
    listed = (
        dataset.metadata_public
        and dataset.publication_state == "published"
        and dataset.status != "archived"
    )
    assert can(actor, Action.READ_METADATA, dataset) == (granted or listed)


@given(actors, datasets)
def test_drafts_are_for_the_agency_and_the_cdo_only(actor, dataset):
    if dataset.publication_state != "draft":
        return
    insider = actor.is_cdo or _staff(actor, dataset)
    assert can(actor, Action.READ_ROWS, dataset) == insider
    assert can(actor, Action.READ_METADATA, dataset) == insider


@given(actors, datasets)
def test_changes_need_a_role_in_the_owning_agency(actor, dataset):
    if actor.is_cdo:
        assert can(actor, Action.APPROVE, dataset)
        return
    assert can(actor, Action.PUBLISH, dataset) == _staff(actor, dataset)
    assert can(actor, Action.APPROVE, dataset) == _staff(actor, dataset, Role.DATA_OFFICER)
    assert can(actor, Action.MANAGE, dataset) == _staff(actor, dataset, Role.DATA_OFFICER)


@given(actors, datasets)
def test_an_agreement_never_lets_anyone_change_anything(actor, dataset):
    without = Actor(actor.name, actor.roles, actor.agencies, actor.memberships, frozenset())
    for action in (Action.PUBLISH, Action.APPROVE, Action.MANAGE):
        assert can(actor, action, dataset) == can(without, action, dataset)


@given(actors, datasets)
def test_open_data_is_open_to_all(actor, dataset):
    if is_open(dataset):
        assert can(actor, Action.READ_ROWS, dataset)


@given(actors, datasets)
def test_only_those_who_cannot_approve_make_drafts(actor, dataset):
    assert needs_approval(actor, dataset) == (not can(actor, Action.APPROVE, dataset))
    assert not needs_approval(actor, dataset, drafts_need_approval=False)


def test_a_role_in_one_agency_is_not_a_role_in_another():
    officer_here_publisher_there = Actor(
        name="ana",
        roles=frozenset({Role.DATA_OFFICER, Role.PUBLISHER}),
        agencies=frozenset({"DPH", "DSS"}),
        memberships=frozenset({("DPH", Role.DATA_OFFICER), ("DSS", Role.PUBLISHER)}),
    )
    assert officer_here_publisher_there.has_role_in("DPH", Role.DATA_OFFICER)
    assert not officer_here_publisher_there.has_role_in("DSS", Role.DATA_OFFICER)
    assert officer_here_publisher_there.staff_agencies(Role.DATA_OFFICER) == {"DPH"}


def facts_of(dataset: Dataset) -> DatasetFacts:
    return DatasetFacts(
        id=dataset.id,
        agency_code=dataset.agency.code if dataset.agency else None,
        classification=dataset.classification,
        access_level=dataset.access_level,
        status=dataset.status,
        publication_state=dataset.publication_state,
        metadata_public=bool(dataset.metadata_public),
    )


@given(actors, datasets, st.sampled_from(list(Action)))
def test_a_datasets_facts_are_decided_as_the_dataset_is(actor, dataset, action):
    """`visible_ids` decides over facts read as columns: the same answer, every time."""
    assert can(actor, action, facts_of(dataset)) == can(actor, action, dataset)
