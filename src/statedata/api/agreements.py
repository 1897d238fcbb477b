"""The sharing agreements API under /api/v1/agreements: draft, edit, send, sign, terminate,
destruction certificates, and the agreement as a document. Thin: the rules live in
`requests.agreements`, the wording in `requests.agreement_document`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from statedata.access import Actor
from statedata.api import deps
from statedata.errors import AuthenticationRequired
from statedata.requests import agreement_document, agreements

router = APIRouter(prefix="/api/v1", tags=["agreements"])


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_id: int
    signed_by: str | None = Field(
        default=None,
        max_length=200,
        description="Who signed: required for an outside organisation; for an agency, "
        "defaults to the data officer signing.",
    )


class Termination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=20_000)


class Certificate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_id: int
    certified_by: str | None = Field(default=None, max_length=200)


def _signed_in(actor: Actor) -> None:
    if actor.is_anonymous:
        raise AuthenticationRequired("Give an API key (or sign in) to see sharing agreements.")


@router.post("/agreements", status_code=201, summary="Draft an agreement from the template")
def create_agreement(
    body: agreements.AgreementIn, session: deps.SessionDep, actor: deps.ActorDep
) -> dict:
    agreement = agreements.create_agreement(session, actor, body)
    return agreements.agreement_document(session, agreement)


@router.get("/agreements", summary="The agreements you may see")
def list_agreements(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    status: Annotated[str | None, Query(description="draft, signing, executed, ...")] = None,
    agency: Annotated[str | None, Query(description="Only those this agency is party to")] = None,
) -> dict:
    _signed_in(actor)
    found = agreements.list_agreements(session, actor, status, agency)
    return {"total": len(found), "results": [agreements.summary(a) for a in found]}


@router.get(
    "/agreements/destruction-outstanding",
    summary="Ended agreements whose recipients have not certified destruction, by agency",
)
def destruction_outstanding(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    agency: Annotated[str | None, Query(description="One agency's report")] = None,
) -> dict:
    rows = agreements.destruction_outstanding(session, actor, agency)
    return agreements.outstanding_document(rows)


@router.get("/agreements/{agreement_id}", summary="One agreement")
def get_agreement(agreement_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> dict:
    _signed_in(actor)
    agreement = agreements.get_agreement(session, actor, agreement_id)
    return agreements.agreement_document(session, agreement)


@router.patch("/agreements/{agreement_id}", summary="Change a draft")
def update_agreement(
    agreement_id: int,
    body: agreements.AgreementChanges,
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> dict:
    _signed_in(actor)
    agreement = agreements.update_agreement(session, actor, agreement_id, body)
    return agreements.agreement_document(session, agreement)


@router.post("/agreements/{agreement_id}/send", summary="Fix the text and send for signature")
def send_agreement(agreement_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> dict:
    _signed_in(actor)
    agreement = agreements.send_for_signature(session, actor, agreement_id)
    return agreements.agreement_document(session, agreement)


@router.post("/agreements/{agreement_id}/sign", summary="Sign for one party")
def sign_agreement(
    agreement_id: int, body: Signature, session: deps.SessionDep, actor: deps.ActorDep
) -> dict:
    _signed_in(actor)
    agreement = agreements.sign(session, actor, agreement_id, body.party_id, body.signed_by)
    return agreements.agreement_document(session, agreement)


@router.post("/agreements/{agreement_id}/terminate", summary="End an agreement early")
def terminate_agreement(
    agreement_id: int, body: Termination, session: deps.SessionDep, actor: deps.ActorDep
) -> dict:
    _signed_in(actor)
    agreement = agreements.terminate(session, actor, agreement_id, body.reason)
    return agreements.agreement_document(session, agreement)


@router.post(
    "/agreements/{agreement_id}/destruction-certificates",
    summary="Record a recipient's data destruction certificate",
)
def certify_destruction(
    agreement_id: int, body: Certificate, session: deps.SessionDep, actor: deps.ActorDep
) -> dict:
    _signed_in(actor)
    agreement = agreements.certify_destruction(
        session, actor, agreement_id, body.party_id, body.certified_by
    )
    return agreements.agreement_document(session, agreement)


@router.get(
    "/agreements/{agreement_id}/document.html",
    summary="The agreement as a document to read",
    response_class=HTMLResponse,
)
def agreement_html(agreement_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> Response:
    _signed_in(actor)
    agreement = agreements.get_agreement(session, actor, agreement_id)
    return HTMLResponse(agreement_document.render_html(session, agreement))


@router.get(
    "/agreements/{agreement_id}/document.pdf",
    summary="The agreement as a PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def agreement_pdf(agreement_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> Response:
    _signed_in(actor)
    agreement = agreements.get_agreement(session, actor, agreement_id)
    return Response(
        agreement_document.render_pdf(session, agreement),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{agreement.reference}.pdf"'},
    )
