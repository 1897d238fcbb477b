"""`statedata drafts ...`: what waits for a data officer's approval, and the decisions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from statedata.cli import Home, app, opened, out

drafts_app = typer.Typer(
    help="Draft datasets and metadata changes waiting for approval.", no_args_is_help=True
)
app.add_typer(drafts_app, name="drafts")


@drafts_app.command("list")
def drafts_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's drafts.")] = None,
    home: Home = None,
) -> None:
    """List draft datasets and pending metadata changes."""
    from statedata.catalog import drafts, service

    with opened(home) as installation, installation.catalog.session() as session:
        datasets = service.list_datasets(session, agency_code=agency)
        table = Table("what", "dataset", "title / fields", "proposed by")
        for dataset in datasets:
            if dataset.publication_state == drafts.DRAFT:
                table.add_row("new dataset", dataset.id, dataset.title, "")
        for draft in drafts.pending(session, [d.id for d in datasets]):
            table.add_row(
                f"change #{draft.id}", draft.dataset_id, ", ".join(draft.changes), draft.proposed_by
            )
        out.print(table)


@drafts_app.command("approve")
def drafts_approve(
    target: Annotated[str, typer.Argument(help="A draft dataset's id, or a change's number.")],
    note: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
    home: Home = None,
) -> None:
    """Approve a draft dataset (publish it) or a metadata change (apply it)."""
    from statedata.catalog import drafts

    with opened(home) as installation, installation.catalog.session() as session:
        if target.isdigit():
            drafts.decide(session, int(target), True, installation.settings.categories, "cli", note)
            out.print(f"Applied metadata change #{target}.")
        else:
            drafts.approve_dataset(session, target, "cli")
            out.print(f"Published dataset {target}.")


@drafts_app.command("reject")
def drafts_reject(
    change: int,
    note: Annotated[str, typer.Option(help="Why, in plain words; the proposer sees it.")],
    home: Home = None,
) -> None:
    """Reject a metadata change, saying why."""
    from statedata.catalog import drafts

    with opened(home) as installation, installation.catalog.session() as session:
        drafts.decide(session, change, False, installation.settings.categories, "cli", note)
        out.print(f"Rejected metadata change #{change}.")
