"""The docs keep up with the code: every setting and every CLI command is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from statedata.config import ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"`{name}`" in text, f"setting {name} is not in docs/configuration.md"
        assert f"`{ENV_NAMES[name]}`" in text, f"{ENV_NAMES[name]} is not in docs/configuration.md"


def test_cli_reference_is_current(tmp_path):
    generated = tmp_path / "cli.md"
    typer = Path(sys.executable).with_name("typer")
    subprocess.run(
        [
            str(typer),
            "statedata.cli.main",
            "utils",
            "docs",
            "--name",
            "statedata",
            "--title",
            "The statedata command line",
            "--output",
            str(generated),
        ],
        check=True,
        capture_output=True,
    )
    assert generated.read_text() == (ROOT / "docs" / "cli.md").read_text(), (
        "docs/cli.md is out of date: run `make docs`"
    )


def test_readme_shows_the_two_commands_first():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
