"""The data requests API through a real server with API keys: a request from draft to
completed, refusals with clear codes that change nothing, and nothing shown to outsiders."""

from __future__ import annotations

import pytest

from statedata.access.accounts import add_user, create_key
from statedata.catalog import service
from statedata.catalog.sharing import Agreement, AgreementParty

FORM = {
    "organisation": "Office of Early Childhood",
    "title": "Home visiting and birth outcomes",
    "purpose": "Learn whether home visiting improves birth outcomes.",
    "planned_use": "A matched analysis published as aggregate tables.",
    "who_has_access": "Two named research analysts.",
    "data_elements": [
        {
            "elements": ["birth_weight"],
            "level": "individual",
            "period_start": "2019-01-01",
            "period_end": "2023-12-31",
        }
    ],
    "recurring": False,
    "retention_period": "Three years",
    "destruction_method": "Secure deletion, certified.",
    "agencies": ["DPH"],
    "legal_basis": "C.G.S. § 4-67n",
}


@pytest.fixture
def keys(installation) -> dict[str, dict[str, str]]:
    """An Authorization header for each of: an analyst, DPH's data officer, an officer of
    another agency, and the CDO."""
    headers = {}
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOL", "Department of Labor")
        for name, role, agency in (
            ("ana", "analyst", None),
            ("dph.officer", "data_officer", "DPH"),
            ("dol.officer", "data_officer", "DOL"),
            ("chief", "cdo", None),
        ):
            add_user(session, name, role, agency)
            key, secret = create_key(session, name)
            headers[name] = {"Authorization": f"Bearer {key.key_id}:{secret}"}
    return headers


@pytest.fixture
def executed_agreement(installation) -> int:
    with installation.catalog.session() as session:
        row = Agreement(
            reference="AG-0001",
            title="Home visiting",
            kind="data_sharing_agreement",
            status="executed",
            created_by="chief",
        )
        row.parties = [
            AgreementParty(organisation=name, role="provider") for name in ("DPH", "OEC", "DSS")
        ]
        session.add(row)
        session.flush()
        return row.id


def test_a_request_from_draft_to_completed(http, keys, executed_agreement):
    created = http.post("/api/v1/data-requests", json=FORM, headers=keys["ana"])
    assert created.status_code == 201, created.text
    request = created.json()
    key, reference = request["id"], request["reference"]
    assert request["stage"] == "draft" and request["next_stage"] == "submitted"

    edited = http.patch(
        f"/api/v1/data-requests/{key}", json={"title": "Birth outcomes"}, headers=keys["ana"]
    )
    assert edited.status_code == 200 and edited.json()["title"] == "Birth outcomes"

    def move(who: str, to: str, **extra: object):  # type: ignore[no-untyped-def]
        return http.post(
            f"/api/v1/data-requests/{reference}/stage", json={"to": to, **extra}, headers=keys[who]
        )

    assert move("ana", "submitted").status_code == 200
    queue = http.get("/api/v1/data-requests/queue", headers=keys["dph.officer"]).json()
    assert [r["reference"] for r in queue["results"]] == [reference]
    assert queue["results"][0]["days_since_submission"] == 0

    assert move("dph.officer", "legal_review", reason="Counsel reviewing").status_code == 200
    no_agreement = move("dph.officer", "agreement_executed")
    assert no_agreement.status_code == 409
    assert no_agreement.json()["code"] == "state.conflict"
    assert "names no sharing agreement" in no_agreement.json()["message"]
    linked = move("dph.officer", "agreement_executed", agreement_id=executed_agreement)
    assert linked.status_code == 200, linked.text
    for stage in ("data_matched", "analysis", "pre_publication_review"):
        assert move("dph.officer", stage).status_code == 200
    done = move("chief", "completed", reason="Report published")
    assert done.status_code == 200

    shown = http.get(f"/api/v1/data-requests/{key}", headers=keys["ana"]).json()
    assert shown["stage"] == "completed" and shown["last_reason"] == "Report published"
    assert [h["to"] for h in shown["history"]] == [
        "draft",
        "submitted",
        "legal_review",
        "agreement_executed",
        "data_matched",
        "analysis",
        "pre_publication_review",
        "completed",
    ]
    assert shown["history"][2]["reason"] == "Counsel reviewing"

    survey = f"/api/v1/data-requests/{key}/satisfaction"
    assert http.post(survey, json={"score": 4}, headers=keys["dph.officer"]).status_code == 403
    assert http.post(survey, json={"score": 9}, headers=keys["ana"]).status_code == 400
    answered = http.post(survey, json={"score": 4, "comment": "Clear"}, headers=keys["ana"])
    assert answered.status_code == 200 and answered.json()["satisfaction"]["score"] == 4
    again = http.post(survey, json={"score": 1}, headers=keys["ana"])
    assert again.status_code == 409 and again.json()["code"] == "state.conflict"

    closed = move("chief", "declined", reason="Too late")
    assert closed.status_code == 409 and "closed" in closed.json()["message"]

    figures = http.get("/api/v1/metrics/data-sharing").json()
    assert figures["time_to_fulfil"]["overall"]["end_to_end"]["count"] == 1
    assert set(figures["time_to_fulfil"]["by_agency"]) == {"DPH"}
    assert figures["agreements"]["executed"] == {"total": 1, "multi_party": 1, "share": 1.0}
    assert figures["satisfaction"]["distribution"]["4"] == 1
    assert "Birth outcomes" not in str(figures) and "Clear" not in str(figures)
    past = http.get("/api/v1/metrics/data-sharing", params={"as_of": "2001-01-01"}).json()
    assert past["time_to_fulfil"]["overall"]["end_to_end"]["count"] == 0
    assert http.get("/api/v1/metrics/data-sharing", params={"as_of": "soon"}).status_code == 400


def test_refusals_are_clear_and_change_nothing(http, keys):
    anonymous = http.post("/api/v1/data-requests", json=FORM)
    assert anonymous.status_code == 401
    assert http.get("/api/v1/data-requests").status_code == 401

    bad = http.post(
        "/api/v1/data-requests", json={**FORM, "agencies": [], "level": "x"}, headers=keys["ana"]
    )
    assert bad.status_code == 400
    assert "agencies" in bad.json()["message"] and "level" in bad.json()["message"]
    unknown = http.post(
        "/api/v1/data-requests", json={**FORM, "agencies": ["XYZ"]}, headers=keys["ana"]
    )
    assert unknown.status_code == 400 and "XYZ" in unknown.json()["message"]
    assert http.get("/api/v1/data-requests", headers=keys["ana"]).json()["total"] == 0

    key = http.post("/api/v1/data-requests", json=FORM, headers=keys["ana"]).json()["id"]
    stage = f"/api/v1/data-requests/{key}/stage"
    # A draft is the requester's own: the agency does not see it yet.
    assert http.get(f"/api/v1/data-requests/{key}", headers=keys["dph.officer"]).status_code == 404
    assert http.post(stage, json={"to": "submitted"}, headers=keys["ana"]).status_code == 200

    skipped = http.post(stage, json={"to": "analysis"}, headers=keys["dph.officer"])
    assert skipped.status_code == 409
    assert skipped.json()["code"] == "state.conflict"
    assert "'legal review'" in skipped.json()["message"]
    wrong_role = http.post(stage, json={"to": "legal_review"}, headers=keys["ana"])
    assert wrong_role.status_code == 403
    no_reason = http.post(stage, json={"to": "declined"}, headers=keys["dph.officer"])
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["message"]
    unknown_stage = http.post(stage, json={"to": "approved"}, headers=keys["dph.officer"])
    assert unknown_stage.status_code == 400
    too_late = http.patch(
        f"/api/v1/data-requests/{key}", json={"title": "New"}, headers=keys["ana"]
    )
    assert too_late.status_code == 409

    shown = http.get(f"/api/v1/data-requests/{key}", headers=keys["dph.officer"]).json()
    assert shown["stage"] == "submitted" and len(shown["history"]) == 2
    assert shown["title"] == FORM["title"]


def test_outsiders_see_nothing(http, keys):
    created = http.post("/api/v1/data-requests", json=FORM, headers=keys["ana"]).json()
    key, reference = created["id"], created["reference"]
    http.post(f"/api/v1/data-requests/{key}/stage", json={"to": "submitted"}, headers=keys["ana"])

    for path in (f"/api/v1/data-requests/{key}", f"/api/v1/data-requests/{reference}"):
        outsider = http.get(path, headers=keys["dol.officer"])
        assert outsider.status_code == 404
        assert FORM["title"] not in outsider.text and FORM["organisation"] not in outsider.text
        assert http.get(path).status_code == 401
    missing = http.get("/api/v1/data-requests/424242", headers=keys["dol.officer"])
    assert missing.status_code == 404
    assert missing.json()["code"] == outsider.json()["code"]  # the same answer as no request

    moved = http.post(
        f"/api/v1/data-requests/{key}/stage",
        json={"to": "declined", "reason": "No"},
        headers=keys["dol.officer"],
    )
    assert moved.status_code == 404
    assert http.get("/api/v1/data-requests", headers=keys["dol.officer"]).json()["total"] == 0
    assert http.get("/api/v1/data-requests/queue", headers=keys["dol.officer"]).json() == {
        "total": 0,
        "results": [],
    }
    seen_by_cdo = http.get("/api/v1/data-requests", headers=keys["chief"]).json()
    assert [r["reference"] for r in seen_by_cdo["results"]] == [reference]
    listed = http.get(
        "/api/v1/data-requests", params={"stage": "submitted"}, headers=keys["ana"]
    ).json()
    assert listed["results"][0]["stage"] == "submitted"
