"""`statedata search` and `statedata search reindex`, run as a person would (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from statedata.search.sync import index_path

STATEDATA = [sys.executable, "-m", "statedata.cli"]


def run(installation, *args: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    env = {**os.environ, "STATEDATA_HOME": str(installation.settings.home), "COLUMNS": "200"}
    if installation.settings.database_url:
        env["STATEDATA_DATABASE_URL"] = installation.settings.database_url
    return subprocess.run(
        [*STATEDATA, "search", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_search_from_the_command_line(installation, catalog):
    found = run(installation, "restuarant", "--public")
    assert found.returncode == 0, found.stderr
    assert "Showing results for restaurant" in found.stdout
    assert "Restaurant Inspections" in found.stdout
    assert "Zyxwv" not in found.stdout  # the public does not see the protected dataset
    # The operator sees everything; --json gives the API's shape.
    as_json = run(installation, "zyxwv", "--json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["total"] == 1 and document["hits"][0]["title"].startswith("Zyxwv")
    filtered = run(installation, "--public", "--agency", "DOT", "--sort", "title", "--json")
    titles = [h["title"] for h in json.loads(filtered.stdout)["hits"]]
    assert titles == ["Bridge Inspection Reports", "Historic Town Census", "Traffic Crashes"]


def test_reindex_and_a_plain_error(installation, catalog):
    done = run(installation, "reindex", "--full")
    assert done.returncode == 0, done.stderr
    assert "10 datasets" in done.stdout
    assert index_path(installation).exists()
    bad = run(installation, "food", "--sort", "newest")
    assert bad.returncode == 1
    assert "Sort by one of" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr
