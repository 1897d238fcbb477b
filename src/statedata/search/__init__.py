"""Catalog full-text search with facets: `search(installation, actor, q=..., filters=...)`.

Ranked by relevance (BM25 over title, tags, agency, category, description and the data
dictionary, title first), with English stemming and fuzzy matching of misspelled words; exact
facet counts; only what the actor may see (`access.can`), in hits, counts, snippets and
suggestions alike. The index lives in the home folder and follows the catalog by itself
(`sync.py`). Not here: the HTTP and CLI doors (`api/search.py`, `cli/search.py`).
"""

from __future__ import annotations

import datetime as dt

from statedata.access.policy import Actor
from statedata.catalog.vocab import FREQUENCY_NAMES, frequency_code
from statedata.errors import InvalidInput
from statedata.installation import Installation
from statedata.search.engine import (
    FACETS,
    MAX_RESULTS,
    SORTS,
    Hit,
    SearchResult,
    Visibility,
)
from statedata.search.sync import reindex

__all__ = [
    "FACETS",
    "SORTS",
    "Hit",
    "SearchResult",
    "ranked_ids",
    "reindex",
    "search",
    "visibility",
]

MAX_QUERY_CHARS = 500
MAX_PAGE_SIZE = 100
MAX_FILTER_VALUES = 50


def visibility(actor: Actor) -> Visibility:
    """What `access.can(actor, READ_METADATA, ...)` allows, in the index's terms."""
    if actor.is_cdo:
        return Visibility(everything=True)
    return Visibility(agencies=actor.staff_agencies(), granted=frozenset(actor.granted))


def _clean_filters(filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for facet, values in (filters or {}).items():
        if facet not in FACETS:
            raise InvalidInput(
                f"'{facet}' is not a search filter. Use one of: {', '.join(FACETS)}.",
                field=facet,
            )
        if isinstance(values, str):
            values = [values]
        wanted: list[str] = []
        for value in values or []:
            value = str(value).strip()
            if not value:
                continue
            if facet == "frequency" and value not in ("none", *FREQUENCY_NAMES):
                value = frequency_code(value)  # accepts plain names: 'monthly'
            if facet == "high_value":
                value = {"true": "yes", "1": "yes", "false": "no", "0": "no"}.get(
                    value.lower(), value.lower()
                )
            if value not in wanted:
                wanted.append(value)
        if len(wanted) > MAX_FILTER_VALUES:
            raise InvalidInput(
                f"At most {MAX_FILTER_VALUES} values may be given for '{facet}'.", field=facet
            )
        if wanted:
            clean[facet] = wanted
    return clean


def search(
    installation: Installation,
    actor: Actor,
    q: str = "",
    filters: dict[str, list[str]] | None = None,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 20,
    as_of: dt.date | None = None,
) -> SearchResult:
    """Search the catalog as `actor`. `filters` maps a facet (see `FACETS`) to the values
    wanted (any of them); `sort` is relevance, updated, title or views; `as_of` is the day
    freshness is judged on (today by default)."""
    q = q or ""
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(f"A search may be at most {MAX_QUERY_CHARS} characters long.", field="q")
    if sort not in SORTS:
        raise InvalidInput(f"Sort by one of: {', '.join(SORTS)}.", field="sort")
    if page < 1:
        raise InvalidInput("The page number starts at 1.", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE_SIZE} results.", field="page_size")
    if page * page_size > MAX_RESULTS:
        raise InvalidInput(
            f"Only the first {MAX_RESULTS} results can be paged through; narrow the search.",
            field="page",
        )
    clean = _clean_filters(filters)
    from statedata.search.sync import synced

    engine = synced(installation).engine_now()
    return engine.search(q, visibility(actor), clean, sort, page, page_size, as_of)


def ranked_ids(installation: Installation, actor: Actor, q: str) -> list[str]:
    """The ids of every dataset `actor` may see that matches `q`, most relevant first (at
    most 10,000): for doors with their own paging and filters, like the Discovery API."""
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(f"A search may be at most {MAX_QUERY_CHARS} characters long.", field="q")
    from statedata.search.sync import synced

    engine = synced(installation).engine_now()
    return engine.ranked_ids(q, visibility(actor))
