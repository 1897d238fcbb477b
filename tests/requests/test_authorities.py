"""The registry of legal authorities: who keeps it, unique citations, linking governed
datasets (a data officer only their agency's), what readers see, and the known laws."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from statedata.access.accounts import actor_for, add_user, get_user
from statedata.access.policy import Actor, Role
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import AuditEvent
from statedata.config import DEFAULT_CATEGORIES
from statedata.errors import (
    AlreadyExists,
    AuthorityNotFound,
    Conflict,
    DatasetNotFound,
    Forbidden,
    InvalidInput,
)
from statedata.requests import agreements, authorities

CDO = Actor(name="cdo", roles=frozenset({Role.CDO}))


@pytest.fixture
def datasets(installation) -> dict[str, str]:
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOL", "Department of Labor")
        add_user(session, "dph.officer", "data_officer", "DPH")
        add_user(session, "dph.publisher", "publisher", "DPH")
        add_user(session, "dol.officer", "data_officer", "DOL")
        add_user(session, "ana.analyst", "analyst")
        make = service.create_dataset
        return {
            "secret": make(
                session,
                DatasetMetadata(title="Case reports", classification="protected"),
                "DPH",
                DEFAULT_CATEGORIES,
            ).id,
            "open": make(session, DatasetMetadata(title="Clinics"), "DPH", DEFAULT_CATEGORIES).id,
        }


def actor(installation, name: str) -> Actor:
    with installation.catalog.session() as session:
        return actor_for(session, get_user(session, name))


def add(installation, who: Actor, **fields):
    values = {"citation": "45 CFR 164.512", "title": "HIPAA", "kind": "federal regulation"}
    values.update(fields)
    with installation.catalog.session() as session:
        return authorities.add_authority(session, who, **values).id


def test_data_officers_and_the_cdo_keep_the_registry(installation, datasets):
    authority_id = add(
        installation, actor(installation, "dph.officer"), datasets=[datasets["secret"]]
    )
    for who in ("dph.publisher", "ana.analyst"):
        with installation.catalog.session() as session, pytest.raises(Forbidden):
            authorities.update_authority(session, actor(installation, who), authority_id, title="x")
    with installation.catalog.session() as session, pytest.raises(Forbidden):
        authorities.add_authority(session, Actor(), "X", "Y", "court order")
    with installation.catalog.session() as session:
        changed = authorities.update_authority(
            session, CDO, authority_id, kind="federal_regulation", url="", summary=" s "
        )
        assert (changed.kind, changed.url, changed.summary) == ("federal regulation", None, "s")
        actions = session.scalars(select(AuditEvent.action)).all()
    assert {"authority.add", "authority.link", "authority.update"} <= set(actions)


def test_citations_are_unique(installation, datasets):
    add(installation, CDO)
    with installation.catalog.session() as session, pytest.raises(AlreadyExists):
        authorities.add_authority(session, CDO, "45  CFR 164.512", "Again", "federal regulation")
    other = add(installation, CDO, citation="C.G.S. § 4-67p", kind="state statute")
    with installation.catalog.session() as session, pytest.raises(AlreadyExists):
        authorities.update_authority(session, CDO, other, citation="45 CFR 164.512")


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "rumour"},
        {"citation": " "},
        {"title": ""},
        {"url": "ftp://x"},
        {"url": "not a url"},
    ],
)
def test_bad_entries_are_refused(installation, datasets, fields):
    with installation.catalog.session() as session, pytest.raises(InvalidInput):
        values = {"citation": "C", "title": "T", "kind": "state statute"} | fields
        authorities.add_authority(session, CDO, **values)


def test_a_data_officer_links_only_their_agencys_datasets(installation, datasets):
    authority_id = add(installation, CDO)
    with installation.catalog.session() as session:
        with pytest.raises(DatasetNotFound):  # not theirs, and protected: "no such dataset"
            authorities.link_datasets(
                session, actor(installation, "dol.officer"), authority_id, add=[datasets["secret"]]
            )
        with pytest.raises(Forbidden):  # not theirs, but public: they may see it exists
            authorities.link_datasets(
                session, actor(installation, "dol.officer"), authority_id, add=[datasets["open"]]
            )
        authorities.link_datasets(
            session, actor(installation, "dph.officer"), authority_id, add=list(datasets.values())
        )
    with installation.catalog.session() as session:
        authority = authorities.get_authority(session, authority_id)
        assert sorted(d.dataset_id for d in authority.datasets) == sorted(datasets.values())
        authorities.link_datasets(session, CDO, authority_id, remove=[datasets["open"]])
    with installation.catalog.session() as session:
        governed = authorities.list_authorities(session, dataset_id=datasets["secret"])
        assert [a.id for a in governed] == [authority_id]
        assert authorities.list_authorities(session, dataset_id=datasets["open"]) == []


def test_readers_see_only_the_datasets_they_may_see(installation, datasets):
    authority_id = add(installation, CDO, datasets=list(datasets.values()))
    with installation.catalog.session() as session:
        authority = authorities.get_authority(session, authority_id)
        public = authorities.authority_document(session, Actor(), authority)
        staff = authorities.authority_document(
            session, actor(installation, "dph.publisher"), authority
        )
    assert [d["title"] for d in public["datasets"]] == ["Clinics"]
    assert sorted(d["title"] for d in staff["datasets"]) == ["Case reports", "Clinics"]


def test_search_and_kinds(installation, datasets):
    add(installation, CDO)
    add(installation, CDO, citation="C.G.S. § 4-67p", title="State data plan", kind="state statute")
    with installation.catalog.session() as session:
        assert [a.citation for a in authorities.list_authorities(session, q="data PLAN")] == [
            "C.G.S. § 4-67p"
        ]
        assert [
            a.citation for a in authorities.list_authorities(session, kind="state_statute")
        ] == ["C.G.S. § 4-67p"]
        assert authorities.resolve(session, "C.G.S.  § 4-67p").title == "State data plan"
        with pytest.raises(AuthorityNotFound):
            authorities.resolve(session, "No Such Act")


def test_an_entry_an_agreement_cites_cannot_be_deleted(installation, datasets):
    cited = add(installation, CDO)
    spare = add(installation, CDO, citation="Spare", kind="court order")
    with installation.catalog.session() as session:
        agreements.create_agreement(
            session,
            CDO,
            agreements.AgreementIn.model_validate(
                {
                    "kind": "nda",
                    "title": "T",
                    "parties": [
                        {"agency": "DPH", "role": "provider"},
                        {"agency": "DOL", "role": "recipient"},
                    ],
                    "datasets": [datasets["open"]],
                    "purposes": ["P"],
                    "authorities": ["45 CFR 164.512"],
                }
            ),
        )
    with installation.catalog.session() as session, pytest.raises(Conflict):
        authorities.delete_authority(session, CDO, cited)
    with installation.catalog.session() as session:
        authorities.delete_authority(session, CDO, spare)
    with installation.catalog.session() as session, pytest.raises(AuthorityNotFound):
        authorities.get_authority(session, spare)


def test_known_laws_are_added_once(installation, datasets):
    with installation.catalog.session() as session:
        first = authorities.add_known(session, CDO)
        assert [a.citation for a in first] == [k.citation for k in authorities.KNOWN]
        assert authorities.add_known(session, CDO) == []


@given(st.sampled_from(authorities.KINDS), st.booleans(), st.booleans())
def test_every_spelling_of_a_kind_reads_the_same(kind, underscores, upper):
    spelled = kind.replace(" ", "_") if underscores else kind
    spelled = spelled.upper() if upper else spelled
    assert authorities.kind_of(f"  {spelled} ") == kind


@given(st.text(max_size=30))
def test_anything_else_is_not_a_kind(text):
    if " ".join(text.replace("_", " ").lower().split()) in authorities.KINDS:
        return
    with pytest.raises(InvalidInput):
        authorities.kind_of(text)
