"""`statedata agreements ...` and `statedata authorities ...`: sharing agreements and the
registry of legal authorities from the command line. The rules live in `requests.agreements`
and `requests.authorities`.

Without --as, a command runs as the installation's operator ("cli"), with the Chief Data
Officer's powers, like every other command; --as USER acts as that user (a data officer signs
for their agency that way).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from statedata.cli import Home, app, err, opened, out
from statedata.errors import InvalidInput

agreements_app = typer.Typer(
    help="Sharing agreements: draft, send, sign, end, certify destruction, render.",
    no_args_is_help=True,
)
authorities_app = typer.Typer(
    help="The registry of legal authorities (statutes, regulations, orders) that govern data.",
    no_args_is_help=True,
)
app.add_typer(agreements_app, name="agreements")
app.add_typer(authorities_app, name="authorities")

As = Annotated[
    str | None,
    typer.Option("--as", help="The user to act as (default: the operator, with CDO powers)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _actor(session, name: str | None):  # type: ignore[no-untyped-def]
    from statedata.access.accounts import actor_for, get_user
    from statedata.access.policy import Actor, Role

    if name is None:
        return Actor(name="cli", roles=frozenset({Role.CDO}))
    return actor_for(session, get_user(session, name))


def _print(document: dict) -> None:
    print(json.dumps(document, indent=2, default=str, ensure_ascii=False))


def _read_json(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(f"{path} is not a readable JSON file: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{path} must hold one JSON object with the agreement's fields.")
    return document


@agreements_app.command("create")
def agreements_create(
    path: Annotated[Path, typer.Argument(help="The agreement's fields as a JSON file.")],
    user: As = None,
    home: Home = None,
) -> None:
    """Draft an agreement from a JSON file (kind, title, parties, datasets, purposes,
    authorities, users, effective_date, expiry_date, exhibits)."""
    from statedata.requests import agreements

    with opened(home) as installation:
        draft = agreements.AgreementIn.model_validate(_read_json(path))
        with installation.catalog.session() as session:
            agreement = agreements.create_agreement(session, _actor(session, user), draft)
            out.print(f"Drafted {agreement.reference} (id {agreement.id}).")


@agreements_app.command("list")
def agreements_list(
    status: Annotated[str | None, typer.Option(help="draft, signing, executed, ...")] = None,
    agency: Annotated[str | None, typer.Option(help="Only those this agency is party to.")] = None,
    user: As = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """List the agreements, newest first."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        found = agreements.list_agreements(session, _actor(session, user), status, agency)
        if as_json:
            _print({"results": [agreements.summary(a) for a in found]})
            return
        table = Table("id", "reference", "title", "kind", "status", "parties", "expires")
        for a in found:
            table.add_row(
                str(a.id),
                a.reference,
                a.title,
                a.kind,
                a.status,
                ", ".join(agreements.summary(a)["parties"]),
                str(a.expiry_date or ""),
            )
        out.print(table)


@agreements_app.command("show")
def agreements_show(agreement_id: int, user: As = None, home: Home = None) -> None:
    """Show one agreement as JSON."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        agreement = agreements.get_agreement(session, _actor(session, user), agreement_id)
        _print(agreements.agreement_document(session, agreement))


@agreements_app.command("send")
def agreements_send(agreement_id: int, user: As = None, home: Home = None) -> None:
    """Fix a draft's text and send it to every party for signature."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        agreement = agreements.send_for_signature(session, _actor(session, user), agreement_id)
        out.print(f"{agreement.reference} is out for signature.")


@agreements_app.command("sign")
def agreements_sign(
    agreement_id: int,
    party: Annotated[int, typer.Option(help="The party's id (`agreements show` lists them).")],
    signed_by: Annotated[
        str | None, typer.Option(help="Who signed (required for an outside organisation).")
    ] = None,
    user: As = None,
    home: Home = None,
) -> None:
    """Sign for one party: as a data officer of that agency (--as), or record an outside
    organisation's signature as the CDO with --signed-by."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        agreement = agreements.sign(session, _actor(session, user), agreement_id, party, signed_by)
        out.print(f"Signed. {agreement.reference} is {agreement.status}.")


@agreements_app.command("terminate")
def agreements_terminate(
    agreement_id: int,
    reason: Annotated[str, typer.Option(help="Why, in plain words.")],
    user: As = None,
    home: Home = None,
) -> None:
    """End an agreement before its expiry date."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        agreement = agreements.terminate(session, _actor(session, user), agreement_id, reason)
        out.print(f"{agreement.reference} is terminated.")


@agreements_app.command("certify-destruction")
def agreements_certify_destruction(
    agreement_id: int,
    party: Annotated[int, typer.Option(help="The recipient party's id.")],
    certified_by: Annotated[
        str | None, typer.Option(help="Who certified (required for an outside organisation).")
    ] = None,
    user: As = None,
    home: Home = None,
) -> None:
    """Record a recipient's data destruction certificate for an ended agreement."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        agreement = agreements.certify_destruction(
            session, _actor(session, user), agreement_id, party, certified_by
        )
        out.print(f"Destruction certified for {agreement.reference}.")


@agreements_app.command("destruction-outstanding")
def agreements_destruction_outstanding(
    agency: Annotated[str | None, typer.Option(help="One agency's report.")] = None,
    user: As = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Ended agreements whose recipients have not filed a destruction certificate."""
    from statedata.requests import agreements

    with opened(home) as installation, installation.catalog.session() as session:
        rows = agreements.destruction_outstanding(session, _actor(session, user), agency)
        if as_json:
            _print(agreements.outstanding_document(rows))
            return
        table = Table("agency", "agreement", "ended", "recipient", "owed by this agency")
        for row in rows:
            table.add_row(
                row.agency.code,
                row.agreement.reference,
                str(row.agreement.ended_at.date() if row.agreement.ended_at else ""),
                agreements.party_name(row.party),
                "yes" if row.owes else "no",
            )
        out.print(table)


@agreements_app.command("warn-expiring")
def agreements_warn_expiring(
    today: Annotated[
        str | None, typer.Option(help="Run as of this day (YYYY-MM-DD); default today.")
    ] = None,
    home: Home = None,
) -> None:
    """Warn parties 60 and 30 days before an agreement expires (each once) and mark those past
    their expiry date as expired. Run it daily."""
    from statedata.requests import agreements

    with opened(home) as installation:
        try:
            day = dt.date.fromisoformat(today) if today else None
        except ValueError:
            raise InvalidInput(f"'{today}' is not a day like 2025-06-30.") from None
        with installation.catalog.session() as session:
            report = agreements.warn_expiring(session, day)
        out.print(
            f"60-day warnings: {len(report.warned_60)}; 30-day warnings: "
            f"{len(report.warned_30)}; expired: {len(report.expired)}."
        )
        for reference in report.expired:
            out.print(f"{reference} has expired.")


@agreements_app.command("render")
def agreements_render(
    agreement_id: int,
    format: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    output: Annotated[
        Path | None, typer.Option(help="Write here (default: <reference>.<format>).")
    ] = None,
    user: As = None,
    home: Home = None,
) -> None:
    """Write the agreement as a document to read or sign: HTML or PDF."""
    from statedata.requests import agreement_document, agreements

    if format not in ("html", "pdf"):
        err.print(f"[red]Error:[/red] --format is html or pdf, not '{format}'.", highlight=False)
        raise typer.Exit(2)
    with opened(home) as installation, installation.catalog.session() as session:
        agreement = agreements.get_agreement(session, _actor(session, user), agreement_id)
        target = output or Path(f"{agreement.reference}.{format}")
        if format == "html":
            target.write_text(agreement_document.render_html(session, agreement), "utf-8")
        else:
            target.write_bytes(agreement_document.render_pdf(session, agreement))
        out.print(f"Wrote {target}")


@authorities_app.command("add")
def authorities_add(
    citation: Annotated[str, typer.Argument(help="e.g. 'C.G.S. § 4-67p' or '45 CFR 164.512'.")],
    title: Annotated[str, typer.Option(help="The law's title.")],
    kind: Annotated[str, typer.Option(help="state statute, federal statute, ... court order.")],
    summary: Annotated[str, typer.Option(help="What it says, in plain words.")] = "",
    url: Annotated[str | None, typer.Option(help="Where its text is published.")] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="A dataset it governs (repeat for more).")
    ] = None,
    user: As = None,
    home: Home = None,
) -> None:
    """Add a legal authority to the registry."""
    from statedata.requests import authorities

    with opened(home) as installation, installation.catalog.session() as session:
        authority = authorities.add_authority(
            session, _actor(session, user), citation, title, kind, summary, url, dataset or []
        )
        out.print(f"Added {authority.citation} (id {authority.id}).")


@authorities_app.command("add-known")
def authorities_add_known(user: As = None, home: Home = None) -> None:
    """Add the laws the state's data sharing playbook names (C.G.S. § 4-67p, HIPAA's 45 CFR
    164.512, FERPA) where the registry lacks them."""
    from statedata.requests import authorities

    with opened(home) as installation, installation.catalog.session() as session:
        added = authorities.add_known(session, _actor(session, user))
        out.print(f"Added {len(added)}: {', '.join(a.citation for a in added) or 'none'}.")


@authorities_app.command("list")
def authorities_list(
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Only those governing this dataset.")] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """List the registry with the datasets each authority governs."""
    from statedata.requests import authorities

    with opened(home) as installation, installation.catalog.session() as session:
        operator = _actor(session, None)
        found = authorities.list_authorities(session, kind, dataset)
        if as_json:
            _print(
                {"results": [authorities.authority_document(session, operator, a) for a in found]}
            )
            return
        table = Table("id", "citation", "title", "kind", "datasets")
        for a in found:
            table.add_row(
                str(a.id), a.citation, a.title, a.kind, ", ".join(d.dataset_id for d in a.datasets)
            )
        out.print(table)


@authorities_app.command("link")
def authorities_link(
    authority: Annotated[str, typer.Argument(help="The authority's id or citation.")],
    datasets: Annotated[list[str], typer.Argument(help="Dataset ids.")],
    remove: Annotated[bool, typer.Option(help="Unlink them instead.")] = False,
    user: As = None,
    home: Home = None,
) -> None:
    """Link datasets to the authority that governs them (or unlink them with --remove)."""
    from statedata.requests import authorities

    with opened(home) as installation, installation.catalog.session() as session:
        found = authorities.resolve(session, authority)
        change = {"remove": datasets} if remove else {"add": datasets}
        authorities.link_datasets(session, _actor(session, user), found.id, **change)
        out.print(f"{'Unlinked' if remove else 'Linked'} {len(datasets)} to {found.citation}.")
