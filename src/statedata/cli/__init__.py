"""The `statedata` command: thin wrappers that parse options, call a part, print the outcome.

Every command takes `--home` (or `STATEDATA_HOME`). A `StatedataError` becomes one plain
message on stderr and exit status 1; nothing here holds logic a part should own.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from statedata.catalog import DatasetMetadata, audit, service
from statedata.catalog.vocab import Classification, frequency_name
from statedata.errors import StatedataError, from_validation
from statedata.installation import Installation

app = typer.Typer(
    help="statedata: publish, keep fresh and serve a state's open data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="List, show and deprecate datasets.", no_args_is_help=True)
agencies_app = typer.Typer(help="Add and list agencies.", no_args_is_help=True)
files_app = typer.Typer(help="Files and links attached to a dataset.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
users_app = typer.Typer(help="Staff and analysts who use the API.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for writing through the SODA API.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(agencies_app, name="agencies")
app.add_typer(files_app, name="files")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

out = Console()
err = Console(stderr=True, soft_wrap=True)

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="STATEDATA_HOME", help="The installation's home folder."),
]


@contextmanager
def opened(home: Path | None):  # type: ignore[no-untyped-def]
    """The installation at `home`, with errors turned into a message and exit status 1."""
    installation = None
    try:
        installation = Installation.open(home)
        yield installation
    except (StatedataError, ValidationError) as error:
        problem = error if isinstance(error, StatedataError) else from_validation(error)
        err.print(f"[red]Error:[/red] {problem.message}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        if installation is not None:
            installation.close()


@app.command()
def init(home: Home = None) -> None:
    """Create the home folder and the catalog, or bring them up to date and tidy (safe to
    run again: it also deletes files that crashed publishes left behind)."""
    from statedata.storage.versions import sweep_orphans

    with opened(home) as installation:
        for path in sweep_orphans(installation):
            err.print(f"Removed {path}, left by a publish that did not finish.", highlight=False)
        out.print(f"Ready: {installation.settings.home.resolve()}")


@app.command()
def publish(
    path: Annotated[Path, typer.Argument(help="The file to publish.")],
    agency: Annotated[str | None, typer.Option(help="Code of the publishing agency.")] = None,
    title: Annotated[str | None, typer.Option(help="Title of a new dataset.")] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Id of an existing dataset to update.")
    ] = None,
    mode: Annotated[str, typer.Option(help="replace, append or upsert.")] = "replace",
    row_id: Annotated[
        str | None, typer.Option("--row-id", help="Column that identifies each row.")
    ] = None,
    classification: Annotated[
        Classification, typer.Option(help="public, protected, personal or private.")
    ] = Classification.PUBLIC,
    schema: Annotated[
        Path | None, typer.Option(help="A Frictionless Table Schema (JSON) to validate against.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="Plain-language description.")] = None,
    category: Annotated[str | None, typer.Option(help="One of the portal's categories.")] = None,
    frequency: Annotated[
        str | None, typer.Option(help="Expected update frequency, e.g. 'monthly' or R/P1M.")
    ] = None,
    home: Home = None,
) -> None:
    """Publish a file as a new dataset (prints its id) or as a new version of --dataset."""
    from statedata.ingest import TableSchema, open_table
    from statedata.storage import NewDataset
    from statedata.storage import publish as publish_rows

    with opened(home) as installation:
        if dataset is None and not title:
            raise_usage("A new dataset needs --title (or give --dataset to update one).")
        if dataset is None and not agency:
            raise_usage("Name the publishing agency with --agency CODE.")
        declared = TableSchema.load(schema) if schema else None
        source = open_table(path, schema=declared)
        new = None
        if dataset is None:
            with installation.catalog.session() as session:
                service.get_agency(session, agency)  # type: ignore[arg-type]
            new = NewDataset(
                DatasetMetadata(
                    title=title,
                    description=description,
                    category=category,
                    classification=classification,
                    update_frequency=frequency,
                    row_identifier=row_id,
                ),
                agency,
            )
        size_mb = path.stat().st_size / 1e6
        with _spinner(f"Publishing {path.name} ({size_mb:,.1f} MB)"):
            result = publish_rows(
                installation,
                source,
                dataset_id=dataset,
                new=new,
                mode=mode,
                row_identifier=row_id,
                actor="cli",
            )
        if source.attach_original:
            from statedata.storage.files import add_file

            add_file(installation, result.dataset_id, path, actor="cli")
        for note in result.notes:
            err.print(f"Note: {note}", highlight=False)
        err.print(
            f"Version {result.version}: {result.row_count:,} rows "
            f"({result.rows_created:,} created, {result.rows_updated:,} updated, "
            f"{result.rows_deleted:,} deleted).",
            highlight=False,
        )
        print(result.dataset_id)


def raise_usage(message: str) -> None:
    err.print(f"[red]Error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


@contextmanager
def _spinner(label: str):  # type: ignore[no-untyped-def]
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        progress.add_task(label, total=None)
        yield


@datasets_app.command("list")
def datasets_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's datasets.")] = None,
    status: Annotated[str | None, typer.Option(help="active, deprecated or archived.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: Home = None,
) -> None:
    """List datasets with their agency, frequency, rows and last update."""
    with opened(home) as installation, installation.catalog.session() as session:
        rows = service.list_datasets(session, agency_code=agency, status=status)
        if as_json:
            print(json.dumps([_summary(d) for d in rows], indent=2, default=str))
            return
        table = Table("id", "title", "agency", "frequency", "rows", "data updated", "status")
        for d in rows:
            table.add_row(
                d.id,
                d.title,
                d.agency.code if d.agency else "(none)",
                frequency_name(d.update_frequency) or "",
                f"{d.current_version.row_count:,}" if d.current_version else "",
                d.data_updated_at.date().isoformat() if d.data_updated_at else "",
                d.status,
            )
        out.print(table)


def _summary(d) -> dict:  # type: ignore[no-untyped-def]
    return {
        "id": d.id,
        "title": d.title,
        "agency": d.agency.code if d.agency else None,
        "category": d.category,
        "classification": d.classification,
        "update_frequency": d.update_frequency,
        "rows": d.current_version.row_count if d.current_version else None,
        "data_updated_at": d.data_updated_at,
        "status": d.status,
    }


@datasets_app.command("show")
def datasets_show(dataset_id: str, home: Home = None) -> None:
    """Show one dataset's metadata, data dictionary, versions and files."""
    from statedata.catalog.documents import dataset_document

    with opened(home) as installation, installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id)
        document = dataset_document(session, dataset, installation.settings.base_url)
        print(json.dumps(document, indent=2, default=str))


@datasets_app.command("deprecate")
def datasets_deprecate(
    dataset_id: str,
    reason: Annotated[str, typer.Option(help="Why, in plain words.")],
    replaced_by: Annotated[str | None, typer.Option(help="Id of the replacement.")] = None,
    home: Home = None,
) -> None:
    """Mark a dataset deprecated, with a reason and its replacement."""
    with opened(home) as installation, installation.catalog.session() as session:
        service.deprecate(session, dataset_id, reason, replaced_by, actor="cli")
        out.print(f"{dataset_id} is deprecated.")


@agencies_app.command("add")
def agencies_add(
    code: str,
    name: str,
    parent: Annotated[str | None, typer.Option(help="Code of the parent agency.")] = None,
    home: Home = None,
) -> None:
    """Add an agency."""
    with opened(home) as installation, installation.catalog.session() as session:
        agency = service.add_agency(session, code, name, parent, actor="cli")
        out.print(f"Added {agency.code}: {agency.name}")


@agencies_app.command("list")
def agencies_list(home: Home = None) -> None:
    """List agencies and how many datasets each has."""
    with opened(home) as installation, installation.catalog.session() as session:
        counts = service.dataset_counts_by_agency(session)
        table = Table("code", "name", "parent", "datasets")
        for agency in service.list_agencies(session):
            table.add_row(
                agency.code,
                agency.name,
                agency.parent.code if agency.parent else "",
                str(counts.get(agency.id, 0)),
            )
        out.print(table)


@files_app.command("add")
def files_add(
    dataset_id: str,
    path: Path,
    title: Annotated[str | None, typer.Option(help="What the file is.")] = None,
    home: Home = None,
) -> None:
    """Attach a file (a PDF, a zipped shapefile, imagery) to a dataset."""
    from statedata.storage.files import add_file

    with opened(home) as installation:
        item = add_file(installation, dataset_id, path, title=title, actor="cli")
        out.print(f"Attached {item.file_name} ({item.byte_size:,} bytes, {item.checksum})")


@files_app.command("link")
def files_link(
    dataset_id: str,
    url: str,
    title: Annotated[str, typer.Option(help="What the link points to.")],
    home: Home = None,
) -> None:
    """Attach a link to an external service (an ArcGIS layer, an API, a dashboard)."""
    from statedata.storage.files import add_link

    with opened(home) as installation:
        add_link(installation, dataset_id, url, title, actor="cli")
        out.print(f"Linked {url}")


@files_app.command("list")
def files_list(dataset_id: str, home: Home = None) -> None:
    """List a dataset's files and links."""
    from statedata.storage.files import list_files

    with opened(home) as installation:
        table = Table("id", "kind", "title", "name or url", "bytes", "checksum")
        for item in list_files(installation, dataset_id):
            table.add_row(
                str(item.id),
                item.kind,
                item.title,
                item.file_name or item.url or "",
                f"{item.byte_size:,}" if item.byte_size else "",
                item.checksum or "",
            )
        out.print(table)


@audit_app.command("verify")
def audit_verify(home: Home = None) -> None:
    """Check that no audit entry was changed or removed."""
    with opened(home) as installation, installation.catalog.session() as session:
        problems = audit.verify(session)
        if problems:
            for problem in problems:
                err.print(f"[red]{problem}[/red]")
            raise typer.Exit(1)
        out.print("The audit log is whole.")


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="cdo, data_officer, publisher or analyst.")],
    agency: Annotated[str | None, typer.Option(help="Code of the user's agency.")] = None,
    display_name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    home: Home = None,
) -> None:
    """Add a user (a publisher or data officer belongs to an agency)."""
    from statedata.access.accounts import add_user

    with opened(home) as installation, installation.catalog.session() as session:
        user = add_user(session, name, role, agency, display_name, email, actor="cli")
        out.print(f"Added {user.name} ({user.role}{', ' + agency.upper() if agency else ''})")


@users_app.command("list")
def users_list(home: Home = None) -> None:
    """List users with their role and agency."""
    from statedata.access.accounts import list_users

    with opened(home) as installation, installation.catalog.session() as session:
        table = Table("name", "display name", "role", "agency")
        for user in list_users(session):
            table.add_row(
                user.name, user.display_name, user.role, user.agency.code if user.agency else ""
            )
        out.print(table)


@keys_app.command("create")
def keys_create(
    user: str,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "API key",
    expires_in_days: Annotated[
        int | None, typer.Option(help="Days until the key stops working.")
    ] = None,
    home: Home = None,
) -> None:
    """Create an API key for a user; its secret is shown this once."""
    from statedata.access.accounts import create_key

    with opened(home) as installation, installation.catalog.session() as session:
        key, secret = create_key(session, user, name, expires_in_days, actor="cli")
        err.print("Keep the secret now: it is not stored and cannot be shown again.")
        print(f"key id: {key.key_id}")
        print(f"secret: {secret}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, home: Home = None) -> None:
    """Revoke an API key at once."""
    from statedata.access.accounts import revoke_key

    with opened(home) as installation, installation.catalog.session() as session:
        revoke_key(session, key_id, actor="cli")
        out.print(f"Revoked {key_id}.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    home: Home = None,
) -> None:
    """Serve the portal and its APIs."""
    import uvicorn

    from statedata.api.app import create_app

    with opened(home) as installation:
        out.print(f"Serving {installation.settings.home.resolve()} on http://{host}:{port}")
        uvicorn.run(create_app(installation), host=host, port=port, log_level="info")


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the portal once it is built.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    home: Home = None,
) -> None:
    """Build the demo portal (once; a second run reuses it), then optionally serve it."""
    from rich.progress import BarColumn, MofNCompleteColumn

    from statedata.demo import build_demo, demo_is_built

    with opened(home) as installation:
        if demo_is_built(installation):
            out.print("The demo portal is already built; reusing it.")
        else:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as progress:
                task = progress.add_task("Building the demo portal", total=None)

                def report(step: str, done: int, total: int) -> None:
                    progress.update(task, description=step, completed=done, total=total)

                summary = build_demo(installation, progress=report)
            out.print(
                f"Built {summary.datasets} datasets from {summary.agencies} agencies "
                f"({summary.datasets_with_rows} with rows, {summary.total_rows:,} rows) "
                f"in {summary.seconds:.0f} s."
            )
    if serve_after:
        serve(host=host, port=port, home=home)


# Each part's command group lives in a module beside this one; importing it adds the group.
from statedata.cli import accounts as _accounts  # noqa: E402, F401
from statedata.cli import agreements as _agreements  # noqa: E402, F401
from statedata.cli import data_requests as _data_requests  # noqa: E402, F401
from statedata.cli import drafts as _drafts  # noqa: E402, F401
from statedata.cli import feeds as _feeds  # noqa: E402, F401
from statedata.cli import freshness as _freshness  # noqa: E402, F401
from statedata.cli import metrics as _metrics  # noqa: E402, F401
from statedata.cli import search as _search  # noqa: E402, F401
from statedata.cli import suggestions as _suggestions  # noqa: E402, F401
