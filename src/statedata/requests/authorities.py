"""The registry of legal authorities: the statutes, regulations and orders that govern data,
each with its citation and the datasets it governs.

Anyone may read the registry (a dataset the reader may not see is left out of its list). The
Chief Data Officer and agency data officers add and edit entries; a data officer links only
datasets of their own agency. Agreements cite entries from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statedata.access.policy import Action, Actor, Role, can, require
from statedata.catalog import audit, service
from statedata.catalog.sharing import AgreementAuthority, AuthorityDataset, LegalAuthority
from statedata.errors import AlreadyExists, AuthorityNotFound, Conflict, Forbidden, InvalidInput

KINDS = (
    "state statute",
    "federal statute",
    "state regulation",
    "federal regulation",
    "executive order",
    "court order",
)
MAX_CITATION = 200
MAX_TITLE = 500
URL = re.compile(r"^https?://\S+$")


def kind_of(value: str) -> str:
    """The stored kind for a plain name or its snake_case form ('state_statute' ->
    'state statute')."""
    text = " ".join(value.replace("_", " ").lower().split())
    if text not in KINDS:
        raise InvalidInput(
            f"'{value}' is not a kind of legal authority. Use one of: {', '.join(KINDS)}.",
            field="kind",
        )
    return text


def _citation(value: str) -> str:
    text = " ".join(value.split())
    if not text or len(text) > MAX_CITATION:
        raise InvalidInput(
            f"A citation is 1 to {MAX_CITATION} characters, e.g. 'C.G.S. § 4-67p'.",
            field="citation",
        )
    return text


def _title(value: str) -> str:
    text = " ".join(value.split())
    if not text or len(text) > MAX_TITLE:
        raise InvalidInput(f"A title is 1 to {MAX_TITLE} characters.", field="title")
    return text


def _url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not URL.match(value) or len(value) > 1000:
        raise InvalidInput(f"'{value}' is not a web address (http:// or https://).", field="url")
    return value


def _require_editor(actor: Actor) -> None:
    if actor.is_cdo or actor.staff_agencies(Role.DATA_OFFICER):
        return
    raise Forbidden("Only the Chief Data Officer and agency data officers keep the registry.")


def get_authority(session: Session, authority_id: int) -> LegalAuthority:
    authority = session.get(
        LegalAuthority, authority_id, options=[selectinload(LegalAuthority.datasets)]
    )
    if authority is None:
        raise AuthorityNotFound(f"There is no legal authority {authority_id}.", id=authority_id)
    return authority


def find_by_citation(session: Session, citation: str) -> LegalAuthority:
    text = " ".join(citation.split())
    authority = session.scalar(select(LegalAuthority).where(LegalAuthority.citation == text))
    if authority is None:
        raise AuthorityNotFound(
            f"There is no legal authority cited as '{text}'. `statedata authorities list` "
            "shows the registry.",
            citation=text,
        )
    return authority


def resolve(session: Session, reference: str | int) -> LegalAuthority:
    """An authority by id (a number) or by citation."""
    if isinstance(reference, int) or str(reference).isdigit():
        return get_authority(session, int(reference))
    return find_by_citation(session, str(reference))


def add_authority(
    session: Session,
    actor: Actor,
    citation: str,
    title: str,
    kind: str,
    summary: str = "",
    url: str | None = None,
    datasets: Iterable[str] = (),
) -> LegalAuthority:
    _require_editor(actor)
    citation = _citation(citation)
    if session.scalar(select(LegalAuthority.id).where(LegalAuthority.citation == citation)):
        raise AlreadyExists(f"'{citation}' is already in the registry.", citation=citation)
    authority = LegalAuthority(
        citation=citation,
        title=_title(title),
        kind=kind_of(kind),
        summary=summary.strip(),
        url=_url(url),
    )
    session.add(authority)
    session.flush()
    audit.record(
        session, actor.name or "system", "authority.add", citation=citation, kind=authority.kind
    )
    if datasets:
        link_datasets(session, actor, authority.id, add=datasets)
    return authority


def update_authority(
    session: Session,
    actor: Actor,
    authority_id: int,
    *,
    citation: str | None = None,
    title: str | None = None,
    kind: str | None = None,
    summary: str | None = None,
    url: str | None = None,
) -> LegalAuthority:
    """Change the given fields (None leaves a field as it is; an empty url removes it)."""
    _require_editor(actor)
    authority = get_authority(session, authority_id)
    changes: dict[str, object] = {}
    if citation is not None:
        new = _citation(citation)
        if new != authority.citation:
            taken = session.scalar(select(LegalAuthority.id).where(LegalAuthority.citation == new))
            if taken:
                raise AlreadyExists(f"'{new}' is already in the registry.", citation=new)
            changes["citation"] = new
    if title is not None:
        changes["title"] = _title(title)
    if kind is not None:
        changes["kind"] = kind_of(kind)
    if summary is not None:
        changes["summary"] = summary.strip()
    if url is not None:
        changes["url"] = _url(url)
    for name, value in changes.items():
        setattr(authority, name, value)
    if changes:
        session.flush()
        audit.record(
            session,
            actor.name or "system",
            "authority.update",
            id=authority.id,
            fields=sorted(changes),
        )
    return authority


def link_datasets(
    session: Session,
    actor: Actor,
    authority_id: int,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> LegalAuthority:
    """Link datasets to the authority that governs them, or unlink them. A data officer may
    (un)link only datasets of their own agency; all of the change happens or none of it."""
    _require_editor(actor)
    authority = get_authority(session, authority_id)
    linked = {link.dataset_id for link in authority.datasets}
    to_add, to_remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    for dataset_id in to_add + to_remove:
        dataset = service.get_dataset(session, dataset_id)
        # Missing, or not visible to the actor: both answer "no such dataset".
        require(actor, Action.MANAGE, dataset)
    for dataset_id in to_add:
        if dataset_id not in linked:
            authority.datasets.append(AuthorityDataset(dataset_id=dataset_id))
    for link in list(authority.datasets):
        if link.dataset_id in to_remove:
            authority.datasets.remove(link)
    session.flush()
    for dataset_id in to_add:
        if dataset_id not in linked:
            audit.record(
                session,
                actor.name or "system",
                "authority.link",
                dataset_id=dataset_id,
                citation=authority.citation,
            )
    for dataset_id in to_remove:
        if dataset_id in linked:
            audit.record(
                session,
                actor.name or "system",
                "authority.unlink",
                dataset_id=dataset_id,
                citation=authority.citation,
            )
    return authority


def delete_authority(session: Session, actor: Actor, authority_id: int) -> None:
    """Remove an entry no agreement cites (an agreement's citations are part of its text)."""
    _require_editor(actor)
    authority = get_authority(session, authority_id)
    cited = session.scalar(
        select(AgreementAuthority.agreement_id).where(
            AgreementAuthority.authority_id == authority_id
        )
    )
    if cited is not None:
        raise Conflict(
            f"'{authority.citation}' is cited by an agreement, so it stays in the registry.",
            citation=authority.citation,
        )
    citation = authority.citation
    session.delete(authority)
    session.flush()
    audit.record(session, actor.name or "system", "authority.delete", citation=citation)


def list_authorities(
    session: Session,
    kind: str | None = None,
    dataset_id: str | None = None,
    q: str | None = None,
) -> Sequence[LegalAuthority]:
    query = (
        select(LegalAuthority)
        .options(selectinload(LegalAuthority.datasets))
        .order_by(LegalAuthority.citation)
    )
    if kind:
        query = query.where(LegalAuthority.kind == kind_of(kind))
    if dataset_id:
        query = query.where(
            LegalAuthority.id.in_(
                select(AuthorityDataset.authority_id).where(
                    AuthorityDataset.dataset_id == dataset_id
                )
            )
        )
    found = session.scalars(query).all()
    if q:
        words = q.lower().split()
        found = [
            a
            for a in found
            if all(w in f"{a.citation} {a.title} {a.summary}".lower() for w in words)
        ]
    return found


def visible_dataset_ids(session: Session, actor: Actor, authority: LegalAuthority) -> list[str]:
    """The datasets the authority governs that the actor may see."""
    shown = []
    for link in authority.datasets:
        dataset = service.get_dataset(session, link.dataset_id)
        if can(actor, Action.READ_METADATA, dataset):
            shown.append(dataset.id)
    return shown


def authority_document(session: Session, actor: Actor, authority: LegalAuthority) -> dict:
    datasets = []
    for dataset_id in visible_dataset_ids(session, actor, authority):
        dataset = service.get_dataset(session, dataset_id)
        datasets.append({"id": dataset.id, "title": dataset.title})
    return {
        "id": authority.id,
        "citation": authority.citation,
        "title": authority.title,
        "kind": authority.kind,
        "summary": authority.summary,
        "url": authority.url,
        "datasets": datasets,
    }


@dataclass(frozen=True)
class Known:
    citation: str
    title: str
    kind: str
    summary: str
    url: str


# Laws the state's data sharing playbook names, with citations checked against the playbook
# and the published text of each law. An installation may load them with `add_known`.
KNOWN = (
    Known(
        "C.G.S. § 4-67p",
        "Chief Data Officer; state data plan; agency data officers",
        "state statute",
        "Creates the state data plan and the Chief Data Officer, and has each executive "
        "branch agency name a data officer to answer requests for its data.",
        "https://www.cga.ct.gov/current/pub/chap_050.htm#sec_4-67p",
    ),
    Known(
        "45 CFR 164.512",
        "HIPAA Privacy Rule: uses and disclosures for which an authorization or opportunity "
        "to agree or object is not required",
        "federal regulation",
        "When a covered entity may use or share protected health information without the "
        "person's written authorization, for example for public health activities or "
        "research.",
        "https://www.ecfr.gov/current/title-45/section-164.512",
    ),
    Known(
        "20 U.S.C. § 1232g",
        "Family Educational Rights and Privacy Act (FERPA)",
        "federal statute",
        "Protects the privacy of students' education records and says when schools may "
        "share them without consent.",
        "https://www.law.cornell.edu/uscode/text/20/1232g",
    ),
    Known(
        "34 CFR Part 99",
        "Family Educational Rights and Privacy regulations",
        "federal regulation",
        "The U.S. Department of Education's rules carrying out FERPA, including the "
        "conditions for disclosing education records for studies and audits.",
        "https://www.ecfr.gov/current/title-34/part-99",
    ),
)


def add_known(session: Session, actor: Actor) -> list[LegalAuthority]:
    """Add the laws in `KNOWN` that the registry does not hold yet; returns those added."""
    added = []
    for known in KNOWN:
        exists = session.scalar(
            select(LegalAuthority.id).where(LegalAuthority.citation == known.citation)
        )
        if exists is None:
            added.append(
                add_authority(
                    session,
                    actor,
                    known.citation,
                    known.title,
                    known.kind,
                    known.summary,
                    known.url,
                )
            )
    return added
