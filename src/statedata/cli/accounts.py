"""`statedata users ...` beyond add and list: passwords, agency roles, disabling."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from statedata.cli import Home, err, opened, out, users_app


@users_app.command("password")
def users_password(
    name: str,
    password_env: Annotated[
        str | None,
        typer.Option(help="Read the password from this environment variable instead of asking."),
    ] = None,
    home: Home = None,
) -> None:
    """Set a user's password so they can sign in on the web (asks for it twice)."""
    from statedata.access import passwords
    from statedata.access.accounts import get_user
    from statedata.access.sessions import end_all

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            err.print(f"[red]Error:[/red] The variable {password_env} is empty or not set.")
            raise typer.Exit(1)
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with opened(home) as installation, installation.catalog.session() as session:
        user = get_user(session, name)
        passwords.set_password(session, user, password, actor="cli")
        ended = end_all(session, user, "cli")
        out.print(f"Password set for {user.name}; {ended} open sign-in(s) ended.")


AgencyCode = Annotated[str, typer.Option(help="Code of the agency.")]
AgencyRole = Annotated[str, typer.Option(help="data_officer or publisher.")]


def _change_role(
    change: Callable[..., object], done: str, name: str, agency: str, role: str, home: Path | None
) -> None:
    """Grant or revoke (`change`) the role, then say so: "NAME {done} a ROLE of AGENCY"."""
    with opened(home) as installation, installation.catalog.session() as session:
        change(session, name, agency, role, actor="cli")
        out.print(f"{name} {done} a {role.replace('_', ' ')} of {agency.upper()}.")


@users_app.command("grant")
def users_grant(name: str, agency: AgencyCode, role: AgencyRole, home: Home = None) -> None:
    """Give a user a role in an agency (a user may hold roles in several)."""
    from statedata.access.accounts import grant_role

    _change_role(grant_role, "is now", name, agency, role, home)


@users_app.command("revoke")
def users_revoke(name: str, agency: AgencyCode, role: AgencyRole, home: Home = None) -> None:
    """Take a role in an agency away from a user."""
    from statedata.access.accounts import revoke_role

    _change_role(revoke_role, "is no longer", name, agency, role, home)


@users_app.command("disable")
def users_disable(name: str, home: Home = None) -> None:
    """Disable a user: their sign-ins end and their API keys stop working."""
    from statedata.access.accounts import disable_user

    with opened(home) as installation, installation.catalog.session() as session:
        disable_user(session, name, actor="cli")
        out.print(f"Disabled {name}.")


@users_app.command("app-token")
def users_app_token(
    name: str,
    app: Annotated[str, typer.Option("--app", help="The app the token is for.")],
    home: Home = None,
) -> None:
    """Register an app token for a user's app (sent as X-App-Token for the higher limit)."""
    from statedata.access import app_tokens

    with opened(home) as installation, installation.catalog.session() as session:
        token = app_tokens.create(session, name, app, actor="cli")
        print(token.token)
