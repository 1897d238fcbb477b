"""`python -m statedata.cli`: the same as the `statedata` command."""

from statedata.cli import app

app()
