"""The whole command line, every part's group included, as one importable `app`.

Tools that load a module by name (typer's `utils docs`) run its code afresh; this module only
imports the real `app`, so they see the groups the parts' modules add to it.
"""

from statedata.cli import app

__all__ = ["app"]
