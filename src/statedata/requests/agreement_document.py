"""An agreement as a document to read and sign: HTML from the uniform template
(`templates/agreement.html`), and a PDF with the same words.

The PDF is the same template rendered with simpler tags and laid out by fpdf2, so the two
never say different things. It uses the PDF core font Helvetica, which covers Latin-1 ("§"
among it); other characters are written as their nearest Latin-1 form.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from statedata.catalog.sharing import Agreement
from statedata.requests.agreements import KINDS, agreement_document

TEMPLATES = Path(__file__).parent / "templates"

STATUS_TEXT = {
    "draft": "Draft. The parties are still agreeing its text; it has not been sent for signature.",
    "signing": "Sent for signature. Its text is fixed; it is in force once every party signs.",
    "executed": "Executed. Every party has signed; it is in force between its effective and "
    "expiry dates.",
    "expired": "Expired. It has passed its expiry date and no longer allows any access.",
    "terminated": "Terminated. A party ended it before its expiry date.",
}

# Typographic characters users type, written in Latin-1 for the PDF's core font.
LATIN1_FALLBACKS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2022": "-",
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _day(moment: dt.datetime | None) -> str | None:
    return moment.date().isoformat() if moment is not None else None


def context(session: Session, agreement: Agreement) -> dict:
    """What the template fills in: the agreement's API document plus plain-language extras."""
    document = agreement_document(session, agreement)
    for party in document["parties"]:
        party["signed_on"] = _day(party["signed_at"])
        party["destruction_certified_on"] = _day(party["destruction_certified_at"])
    for exhibit in document["exhibits"]:
        exhibit["paragraphs"] = [
            " ".join(block.split()) for block in exhibit["body"].split("\n\n") if block.strip()
        ]
    document["kind_use"] = KINDS[agreement.kind].use
    document["status_text"] = STATUS_TEXT[agreement.status]
    document["ended_on"] = _day(agreement.ended_at)
    return document


def render_html(session: Session, agreement: Agreement, *, pdf: bool = False) -> str:
    return (
        _environment().get_template("agreement.html").render(pdf=pdf, **context(session, agreement))
    )


def to_latin1(text: str) -> str:
    """`text` in Latin-1: typographic marks as their plain forms, accents kept where Latin-1
    has them, anything else as its closest decomposition or '?'."""
    out = []
    for char in text:
        char = LATIN1_FALLBACKS.get(char, char)
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            plain = (
                unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
            )
            char = plain or "?"
        out.append(char)
    return "".join(out)


def render_pdf(session: Session, agreement: Agreement) -> bytes:
    from fpdf import FPDF

    html = to_latin1(render_html(session, agreement, pdf=True))
    pdf = FPDF(format="Letter")
    pdf.set_title(to_latin1(f"{agreement.reference}: {agreement.title}"))
    pdf.set_author("statedata")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.write_html(html)
    return bytes(pdf.output())
