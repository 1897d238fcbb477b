"""`statedata search "words"`: search the catalog from the command line, and
`statedata search reindex`: bring the search index up to date (or rebuild it with --full).

Without --as or --public a search runs as the installation's operator, with the Chief Data
Officer's view, like every other command; --public shows what anyone may see.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from statedata.cli import Home, app, opened, out

Many = Annotated[list[str] | None, typer.Option(help="Repeat for several values.")]


def _actor(session, name: str | None, public: bool):  # type: ignore[no-untyped-def]
    from statedata.access.accounts import actor_for, get_user
    from statedata.access.policy import ANONYMOUS, Actor, Role

    if public:
        return ANONYMOUS
    if name is None:
        return Actor(name="cli", roles=frozenset({Role.CDO}))
    return actor_for(session, get_user(session, name))


@app.command("search")
def search_command(
    words: Annotated[
        list[str] | None,
        typer.Argument(help='Words to look for; "reindex" alone brings the index up to date.'),
    ] = None,
    agency: Many = None,
    category: Many = None,
    tag: Many = None,
    frequency: Many = None,
    freshness: Many = None,
    classification: Many = None,
    high_value: Annotated[
        bool, typer.Option("--high-value", help="Only high-value datasets.")
    ] = False,
    disaggregated_by: Many = None,
    sort: Annotated[str, typer.Option(help="relevance, updated, title or views.")] = "relevance",
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Search as this user (default: the operator).")
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="Search as the public.")] = False,
    full: Annotated[bool, typer.Option("--full", help="With reindex: rebuild whole.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: Home = None,
) -> None:
    """Search the catalog, with the facet counts; or `statedata search reindex`."""
    from statedata import search as catalog_search

    words = words or []
    with opened(home) as installation:
        if words == ["reindex"]:
            count = catalog_search.reindex(installation, full=full)
            out.print(f"The search index holds {count} datasets and is up to date.")
            return
        given = {
            "agency": agency,
            "category": category,
            "tag": tag,
            "frequency": frequency,
            "freshness": freshness,
            "classification": classification,
            "high_value": ["yes"] if high_value else None,
            "disaggregated_by": disaggregated_by,
        }
        filters = {k: v for k, v in given.items() if v}
        with installation.catalog.session() as session:
            actor = _actor(session, as_user, public)
        result = catalog_search.search(
            installation,
            actor,
            q=" ".join(words),
            filters=filters,
            sort=sort,
            page=page,
            page_size=page_size,
        )
    if as_json:
        from statedata.search.documents import result_document

        print(json.dumps(result_document(result, ""), indent=2, ensure_ascii=False))
        return
    if result.corrected_query:
        out.print(f"Showing results for [bold]{result.corrected_query}[/bold]", highlight=False)
    table = Table("id", "title", "agency", "category", "freshness", title=f"{result.total} found")
    for hit in result.hits:
        table.add_row(hit.id, hit.title, hit.agency, hit.category, hit.freshness)
    out.print(table)
    for facet, values in result.facets.items():
        if values:
            shown = ", ".join(f"{label} ({n})" for _, label, n in values[:8])
            out.print(f"[bold]{facet}[/bold]: {shown}", highlight=False)
