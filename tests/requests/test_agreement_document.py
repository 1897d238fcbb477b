"""An agreement rendered as a document: HTML from the uniform template and a PDF that says
the same, with every party, dataset, purpose, citation, date, signature and exhibit."""

from __future__ import annotations

import datetime as dt
import io
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from statedata.access.accounts import actor_for, add_user, get_user
from statedata.access.policy import Actor, Role
from statedata.catalog import DatasetMetadata, service
from statedata.config import DEFAULT_CATEGORIES
from statedata.requests import agreements
from statedata.requests.agreement_document import render_html, render_pdf, to_latin1
from statedata.requests.agreements import AgreementIn
from statedata.requests.authorities import add_known

CDO = Actor(name="cdo", roles=frozenset({Role.CDO}))


@pytest.fixture
def agreement_id(installation) -> int:
    """A three-party agreement, signed by two of its parties so far."""
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOL", "Department of Labor")
        add_user(session, "dph.officer", "data_officer", "DPH", display_name="Dana Officer")
        add_user(session, "ana.analyst", "analyst", display_name="Ana Analyst")
        dataset = service.create_dataset(
            session,
            DatasetMetadata(title="Overdose deaths by town", classification="protected"),
            "DPH",
            DEFAULT_CATEGORIES,
        )
        add_known(session, CDO)
        draft = AgreementIn.model_validate(
            {
                "kind": "data_sharing_agreement",
                "title": "Overdose and employment study",
                "parties": [
                    {"agency": "DPH", "role": "provider"},
                    {"agency": "DOL", "role": "recipient"},
                    {"organisation": "State University", "role": "recipient"},
                ],
                "datasets": [dataset.id],
                "purposes": ["Measure return to work after an overdose"],
                "authorities": ["C.G.S. § 4-67p", "45 CFR 164.512"],
                "users": ["ana.analyst"],
                "effective_date": "2026-01-01",
                "expiry_date": "2099-12-31",
                "exhibits": [
                    {"kind": "confidentiality", "body": "Keep it secret.\n\nKeep it safe."},
                    {"kind": "data_destruction_certificate", "body": ""},
                ],
                "destruction_method": "by secure deletion",
            }
        )
        agreement = agreements.create_agreement(session, CDO, draft)
        agreements.send_for_signature(session, CDO, agreement.id)
        officer = actor_for(session, get_user(session, "dph.officer"))
        agreements.sign(session, officer, agreement.id, agreement.parties[0].id)
        agreements.sign(session, CDO, agreement.id, agreement.parties[2].id, "Pat Provost")
        return agreement.id


class _Text(HTMLParser):
    """The text a reader sees: everything inside <body>, tags dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        self.in_body = self.in_body or tag == "body"
        self.parts.append(" ")

    def handle_endtag(self, tag):
        self.parts.append(" ")

    def handle_data(self, data):
        if self.in_body:
            self.parts.append(data)


def words(text: str) -> str:
    return " ".join(text.split())


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return words("".join(parser.parts))


def pdf_text(data: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    # The PDF marks list items with bullets where the HTML has <li>.
    return words(text.replace("\u2022", " "))


def render(installation, agreement_id: int) -> tuple[str, bytes]:
    with installation.catalog.session() as session:
        agreement = agreements.get_agreement(session, CDO, agreement_id)
        return render_html(session, agreement), render_pdf(session, agreement)


def test_html_names_parties_datasets_purposes_citations_dates_and_signatures(
    installation, agreement_id
):
    html, _ = render(installation, agreement_id)
    text = html_text(html)
    assert text.startswith("Data Sharing Agreement: Overdose and employment study")
    for expected in (
        "Department of Public Health (DPH), which provides the data.",
        "Department of Labor (DOL), which receives the data.",
        "State University, which receives the data.",
        "Measure return to work after an overdose",
        "Overdose deaths by town",
        "C.G.S. § 4-67p: Chief Data Officer; state data plan; agency data officers",
        "45 CFR 164.512: HIPAA Privacy Rule",
        "Ana Analyst (user ana.analyst)",
        "takes effect on 2026-01-01 and ends at the end of 2099-12-31",
        "destroys the data by secure deletion",
        f"signed by Dana Officer on {dt.date.today().isoformat()}",
        "signed by Pat Provost on",
        "Department of Labor (recipient): not yet signed.",
        "Exhibit A: Confidentiality and non-disclosure agreement",
        "Keep it secret. Keep it safe.",
        "Exhibit B: Data destruction certificate To be attached.",
        "Status: Sent for signature.",
    ):
        assert expected in text, expected


def test_html_escapes_what_users_typed(installation, agreement_id):
    with installation.catalog.session() as session:
        agreement = agreements.get_agreement(session, CDO, agreement_id)
        agreement.title = "<script>alert(1)</script>"
        html = render_html(session, agreement)
        session.rollback()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_pdf_says_what_the_html_says(installation, agreement_id):
    html, pdf = render(installation, agreement_id)
    assert pdf.startswith(b"%PDF-")
    in_pdf = pdf_text(pdf)
    assert "C.G.S. § 4-67p" in in_pdf and "State University" in in_pdf
    # Every sentence of the HTML is in the PDF, in the same order.
    position = 0
    for sentence in re.split(r"(?<=[.:])\s+", html_text(html)):
        found = in_pdf.find(sentence, position)
        assert found >= 0, sentence
        position = found


@given(st.text(max_size=40))
def test_latin1_fallback_always_encodes(text):
    encoded = to_latin1(text).encode("latin-1")  # raises if anything is left outside it
    assert bool(encoded) == bool(text)
    # Latin-1 text (§ and accented letters among it) is kept exactly.
    kept = "".join(c for c in text if ord(c) < 256)
    assert to_latin1(kept) == kept


def test_typographic_marks_become_plain():
    assert to_latin1("O’Neil — “data” … café §") == 'O\'Neil - "data" ... café §'
