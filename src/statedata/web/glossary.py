"""The glossary: the plan's words in plain language, from the catalog's own vocabularies so
the page and the metadata never disagree."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from statedata.catalog.vocab import (
    CLASSIFICATION_MEANINGS,
    HIGH_VALUE_CRITERIA,
    UPDATE_FREQUENCIES,
    Classification,
)
from statedata.web.base import render
from statedata.web.freshness_text import STATUS_MEANINGS

router = APIRouter(include_in_schema=False)


@router.get("/glossary", response_class=HTMLResponse)
def glossary(request: Request) -> HTMLResponse:
    return render(
        request,
        "glossary.html",
        classifications=[(c.value, CLASSIFICATION_MEANINGS[c]) for c in Classification],
        criteria=list(HIGH_VALUE_CRITERIA.items()),
        frequencies=list(UPDATE_FREQUENCIES),
        statuses=list(STATUS_MEANINGS.items()),
    )
