"""The JSON shape of search results, shared by the HTTP API and the CLI's --json."""

from __future__ import annotations

from statedata.search.engine import Hit, SearchResult


def hit_document(hit: Hit, base: str) -> dict:
    return {
        "id": hit.id,
        "title": hit.title,
        "description": hit.description,
        "snippet": hit.snippet,
        "agency": hit.agency or None,
        "agency_name": hit.agency_name or None,
        "category": hit.category or None,
        "tags": hit.tags,
        "update_frequency": hit.update_frequency,
        "freshness": hit.freshness,
        "data_updated_at": hit.data_updated_at.isoformat() if hit.data_updated_at else None,
        "classification": hit.classification,
        "high_value_criteria": hit.high_value_criteria,
        "disaggregated_by": hit.disaggregated_by,
        "popularity": hit.popularity,
        "url": hit.url,
        "link": f"{base}{hit.url}",
        "api": f"{base}/api/v1/datasets/{hit.id}",
    }


def result_document(result: SearchResult, base: str) -> dict:
    return {
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
        "sort": result.sort,
        "filters": result.filters,
        "corrected_query": result.corrected_query,
        "hits": [hit_document(h, base) for h in result.hits],
        "facets": {
            facet: [{"value": v, "label": label, "count": n} for v, label, n in values]
            for facet, values in result.facets.items()
        },
    }
