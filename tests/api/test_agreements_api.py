"""Agreements, legal authorities and notices over a real server: the whole life of an
agreement through the API, who may do what, and the access an executed agreement opens to a
protected dataset's rows through the SODA API."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service
from statedata.ingest import open_table
from statedata.requests import agreements
from statedata.storage import NewDataset, publish

TODAY = dt.date.today()


@pytest.fixture
def setting(installation, write_file) -> dict:
    """Two agencies, their data officers, an analyst, the CDO, each with an API key; a
    protected DPH dataset with rows and a public one."""
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOL", "Department of Labor")
    path = write_file("deaths.csv", "town,deaths\nAndover,3\nAvon,5\n")
    protected = publish(
        installation,
        open_table(path),
        new=NewDataset(
            DatasetMetadata(title="Overdose deaths by town", classification="protected"), "DPH"
        ),
    ).dataset_id
    public = publish(
        installation,
        open_table(write_file("clinics.csv", "name\nNorth\n")),
        new=NewDataset(DatasetMetadata(title="Clinics"), "DPH"),
    ).dataset_id
    keys = {}
    with installation.catalog.session() as session:
        for name, role, agency in (
            ("dph.officer", "data_officer", "DPH"),
            ("dph.publisher", "publisher", "DPH"),
            ("dol.officer", "data_officer", "DOL"),
            ("ana.analyst", "analyst", None),
            ("other.analyst", "analyst", None),
            ("chief", "cdo", None),
        ):
            add_user(session, name, role, agency, display_name=name.replace(".", " ").title())
            key, secret = create_key(session, name)
            keys[name] = {"Authorization": f"Bearer {key.key_id}:{secret}"}
    return {"protected": protected, "public": public, "keys": keys}


def body(setting: dict, **changes) -> dict:
    fields = {
        "kind": "data_use_agreement",
        "title": "Overdose and employment study",
        "parties": [
            {"agency": "DPH", "role": "provider"},
            {"agency": "DOL", "role": "recipient"},
        ],
        "datasets": [setting["protected"]],
        "purposes": ["Study employment after overdose"],
        "authorities": ["C.G.S. § 4-67p"],
        "users": ["ana.analyst"],
        "effective_date": (TODAY - dt.timedelta(days=1)).isoformat(),
        "expiry_date": (TODAY + dt.timedelta(days=90)).isoformat(),
        "exhibits": [{"kind": "user_acknowledgement", "body": "I will keep the data safe."}],
    }
    fields.update(changes)
    return fields


def add_authority(http, setting) -> dict:
    response = http.post(
        "/api/v1/authorities",
        json={
            "citation": "C.G.S. § 4-67p",
            "title": "Chief Data Officer; state data plan; agency data officers",
            "kind": "state statute",
            "url": "https://www.cga.ct.gov/current/pub/chap_050.htm#sec_4-67p",
            "datasets": [setting["protected"]],
        },
        headers=setting["keys"]["dph.officer"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_executed_agreement_lets_the_named_analyst_read_the_rows(http, installation, setting):
    keys, protected = setting["keys"], setting["protected"]
    add_authority(http, setting)
    rows_url = f"/resource/{protected}.json"

    def analyst_reads() -> int:
        return http.get(rows_url, headers=keys["ana.analyst"]).status_code

    created = http.post("/api/v1/agreements", json=body(setting), headers=keys["dph.officer"])
    assert created.status_code == 201, created.text
    agreement = created.json()
    url = f"/api/v1/agreements/{agreement['id']}"
    assert agreement["status"] == "draft" and agreement["reference"].startswith("AGR-")
    assert analyst_reads() == 404

    assert http.post(f"{url}/send", headers=keys["dph.officer"]).json()["status"] == "signing"
    assert analyst_reads() == 404
    # An edit once sent is refused, and changes nothing.
    refused = http.patch(url, json={"title": "Changed"}, headers=keys["dph.officer"])
    assert refused.status_code == 409 and refused.json()["code"] == "state.conflict"

    dph, dol = agreement["parties"]
    signed = http.post(f"{url}/sign", json={"party_id": dph["id"]}, headers=keys["dph.officer"])
    assert signed.json()["status"] == "signing"
    assert analyst_reads() == 404
    signed = http.post(f"{url}/sign", json={"party_id": dol["id"]}, headers=keys["dol.officer"])
    assert signed.status_code == 200 and signed.json()["status"] == "executed"

    rows = http.get(rows_url, headers=keys["ana.analyst"])
    assert rows.status_code == 200
    assert sorted((r["town"], r["deaths"]) for r in rows.json()) == [
        ("Andover", "3"),
        ("Avon", "5"),
    ]
    # Nobody else gained anything.
    assert http.get(rows_url, headers=keys["other.analyst"]).status_code == 404
    assert http.get(rows_url).status_code == 404

    # Past its expiry date the daily job marks it expired, and the same call is refused again.
    with installation.catalog.session() as session:
        report = agreements.warn_expiring(session, TODAY + dt.timedelta(days=91))
    assert report.expired == [agreement["reference"]]
    assert analyst_reads() == 404
    assert http.get(url, headers=keys["ana.analyst"]).json()["status"] == "expired"


def test_wrong_roles_get_403_or_404(http, setting):
    keys = setting["keys"]
    add_authority(http, setting)
    refused = http.post("/api/v1/agreements", json=body(setting), headers=keys["ana.analyst"])
    assert refused.status_code == 403
    assert http.post("/api/v1/agreements", json=body(setting)).status_code == 401
    agreement = http.post(
        "/api/v1/agreements", json=body(setting), headers=keys["dph.officer"]
    ).json()
    url = f"/api/v1/agreements/{agreement['id']}"
    # Someone with no part in it is told it does not exist, whatever they try.
    for method, path, payload in (
        ("GET", url, None),
        ("PATCH", url, {"title": "x"}),
        ("POST", f"{url}/send", None),
        ("POST", f"{url}/terminate", {"reason": "x"}),
        ("GET", f"{url}/document.html", None),
        ("GET", f"{url}/document.pdf", None),
    ):
        response = http.request(method, path, json=payload, headers=keys["other.analyst"])
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "agreement.missing"
    assert http.get("/api/v1/agreements", headers=keys["other.analyst"]).json()["total"] == 0
    assert http.get(url).status_code == 401
    # Those who may see it but not change it get 403.
    for who in ("ana.analyst", "dph.publisher"):
        assert http.get(url, headers=keys[who]).status_code == 200
        assert http.post(f"{url}/send", headers=keys[who]).status_code == 403
    http.post(f"{url}/send", headers=keys["dph.officer"])
    dph = agreement["parties"][0]
    wrong = http.post(f"{url}/sign", json={"party_id": dph["id"]}, headers=keys["dol.officer"])
    assert wrong.status_code == 403
    assert http.get(url, headers=keys["chief"]).json()["parties"][0]["signed_at"] is None


def test_bad_input_is_a_clear_400(http, setting):
    keys = setting["keys"]
    bad = http.post(
        "/api/v1/agreements", json=body(setting, kind="handshake"), headers=keys["dph.officer"]
    )
    assert bad.status_code == 400 and "handshake" in bad.json()["message"]
    bad = http.post(
        "/api/v1/agreements",
        json=body(setting, authorities=["No Such Act"]),
        headers=keys["dph.officer"],
    )
    assert bad.status_code == 400 and bad.json()["data"]["field"] == "authorities"
    assert http.get("/api/v1/agreements", headers=keys["chief"]).json()["total"] == 0


def test_documents_html_and_pdf(http, setting):
    keys = setting["keys"]
    add_authority(http, setting)
    agreement = http.post(
        "/api/v1/agreements", json=body(setting), headers=keys["dph.officer"]
    ).json()
    url = f"/api/v1/agreements/{agreement['id']}"
    html = http.get(f"{url}/document.html", headers=keys["ana.analyst"])
    assert html.headers["content-type"].startswith("text/html")
    for text in ("Department of Public Health", "Department of Labor", "C.G.S. § 4-67p"):
        assert text in html.text
    pdf = http.get(f"{url}/document.pdf", headers=keys["ana.analyst"])
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("Department of Public Health", "Department of Labor", "C.G.S. § 4-67p"):
        assert expected in " ".join(text.split())


def test_termination_certificates_and_the_outstanding_report(http, setting):
    keys = setting["keys"]
    add_authority(http, setting)
    agreement = http.post(
        "/api/v1/agreements", json=body(setting), headers=keys["dph.officer"]
    ).json()
    url = f"/api/v1/agreements/{agreement['id']}"
    dph, dol = agreement["parties"]
    http.post(f"{url}/send", headers=keys["dph.officer"])
    http.post(f"{url}/sign", json={"party_id": dph["id"]}, headers=keys["dph.officer"])
    http.post(f"{url}/sign", json={"party_id": dol["id"]}, headers=keys["dol.officer"])
    ended = http.post(
        f"{url}/terminate", json={"reason": "Done early."}, headers=keys["dol.officer"]
    )
    assert ended.json()["status"] == "terminated" and ended.json()["end_reason"] == "Done early."

    report = http.get("/api/v1/agreements/destruction-outstanding", headers=keys["dph.officer"])
    assert report.status_code == 200
    [entry] = report.json()["agencies"]
    assert entry["agency"] == "DPH"
    assert [(o["recipient"], o["owed_by_this_agency"]) for o in entry["outstanding"]] == [
        ("Department of Labor", False)
    ]
    assert http.get("/api/v1/agreements/destruction-outstanding").status_code == 401
    other = http.get(
        "/api/v1/agreements/destruction-outstanding?agency=DOL", headers=keys["dph.officer"]
    )
    assert other.status_code == 403

    certified = http.post(
        f"{url}/destruction-certificates", json={"party_id": dol["id"]}, headers=keys["dol.officer"]
    )
    assert certified.status_code == 200
    assert certified.json()["parties"][1]["destruction_certified_by"] == "Dol Officer"
    again = http.post(
        f"{url}/destruction-certificates", json={"party_id": dol["id"]}, headers=keys["dol.officer"]
    )
    assert again.status_code == 409
    report = http.get("/api/v1/agreements/destruction-outstanding", headers=keys["chief"])
    assert report.json() == {"agencies": []}


def test_authorities_registry(http, setting):
    keys = setting["keys"]
    created = add_authority(http, setting)
    assert created["datasets"] == [{"id": setting["protected"], "title": "Overdose deaths by town"}]
    # Anyone reads the registry; a protected dataset it governs is shown only to those who may
    # see it, and asking by its id does not confirm it exists.
    public_view = http.get(f"/api/v1/authorities/{created['id']}").json()
    assert public_view["citation"] == "C.G.S. § 4-67p" and public_view["datasets"] == []
    assert http.get(f"/api/v1/authorities?dataset={setting['protected']}").json()["total"] == 0
    listed = http.get(
        f"/api/v1/authorities?dataset={setting['protected']}", headers=keys["dph.publisher"]
    ).json()
    assert listed["total"] == 1
    duplicate = http.post(
        "/api/v1/authorities",
        json={"citation": "C.G.S. §  4-67p", "title": "Again", "kind": "state statute"},
        headers=keys["chief"],
    )
    assert duplicate.status_code == 409
    # Only the CDO and data officers keep it; a data officer links only their agency's data.
    assert (
        http.patch(
            f"/api/v1/authorities/{created['id']}", json={"title": "x"}, headers=keys["ana.analyst"]
        ).status_code
        == 403
    )
    changed = http.patch(
        f"/api/v1/authorities/{created['id']}",
        json={"summary": "The state data plan."},
        headers=keys["dol.officer"],
    )
    assert changed.json()["summary"] == "The state data plan."
    links = f"/api/v1/authorities/{created['id']}/datasets"
    assert (
        http.post(links, json={"add": [setting["public"]]}, headers=keys["dol.officer"]).status_code
        == 403
    )
    assert (
        http.post(
            links, json={"remove": [setting["protected"]]}, headers=keys["dol.officer"]
        ).json()["code"]
        == "dataset.missing"
    )
    linked = http.post(links, json={"add": [setting["public"]]}, headers=keys["dph.officer"])
    assert sorted(d["title"] for d in linked.json()["datasets"]) == [
        "Clinics",
        "Overdose deaths by town",
    ]
    bad_kind = http.post(
        "/api/v1/authorities",
        json={"citation": "X", "title": "Y", "kind": "rumour"},
        headers=keys["chief"],
    )
    assert bad_kind.status_code == 400 and bad_kind.json()["data"]["field"] == "kind"


def test_notices_for_staff_of_party_agencies(http, installation, setting):
    keys = setting["keys"]
    add_authority(http, setting)
    agreement = http.post(
        "/api/v1/agreements",
        json=body(setting, expiry_date=(TODAY + dt.timedelta(days=45)).isoformat()),
        headers=keys["dph.officer"],
    ).json()
    url = f"/api/v1/agreements/{agreement['id']}"
    http.post(f"{url}/send", headers=keys["dph.officer"])
    for party, who in zip(agreement["parties"], ("dph.officer", "dol.officer"), strict=True):
        http.post(f"{url}/sign", json={"party_id": party["id"]}, headers=keys[who])
    with installation.catalog.session() as session:
        assert agreements.warn_expiring(session, TODAY).warned_60 == [agreement["reference"]]
    subjects = [
        n["subject"]
        for n in http.get("/api/v1/notices", headers=keys["dph.publisher"]).json()["results"]
    ]
    assert f"Agreement {agreement['reference']} expires in 45 days" in subjects
    assert http.get("/api/v1/notices", headers=keys["other.analyst"]).json()["total"] == 0
    assert http.get("/api/v1/notices").status_code == 401

    notice = http.get("/api/v1/notices", headers=keys["dol.officer"]).json()["results"][0]
    # Not yours: reported as missing.
    assert (
        http.post(f"/api/v1/notices/{notice['id']}/read", headers=keys["dph.officer"]).status_code
        == 404
    )
    read = http.post(f"/api/v1/notices/{notice['id']}/read", headers=keys["dol.officer"])
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = http.get("/api/v1/notices", headers=keys["dol.officer"]).json()["results"]
    assert notice["id"] not in [n["id"] for n in unread]
    everything = http.get("/api/v1/notices?all=true", headers=keys["dol.officer"]).json()
    assert notice["id"] in [n["id"] for n in everything["results"]]
