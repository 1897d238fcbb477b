"""The `statedata` command run as a user runs it: a real process, a temporary home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STATEDATA = [sys.executable, "-m", "statedata.cli"]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATEDATA_HOME": str(home), "COLUMNS": "200"}
    result = subprocess.run(
        [*STATEDATA, *args], capture_output=True, text=True, env=env, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"statedata {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "agencies", "add", "DPH", "Department of Public Health")
    return home


def test_publish_prints_the_dataset_id_and_shows_it(home, write_file):
    path = write_file("towns.csv", "town,cases\nAndover,3\nAvon,7\n")
    result = run(
        home,
        "publish",
        str(path),
        "--agency",
        "DPH",
        "--title",
        "Cases by town",
        "--frequency",
        "weekly",
        "--category",
        "Health and Human Services",
        "--row-id",
        "town",
    )
    dataset_id = result.stdout.strip()
    assert len(dataset_id) == 9 and dataset_id[4] == "-"
    assert "2 rows" in result.stderr
    shown = json.loads(run(home, "datasets", "show", dataset_id).stdout)
    assert shown["title"] == "Cases by town"
    assert shown["update_frequency"]["name"] == "weekly"
    assert shown["row_identifier"] == "town"
    listed = json.loads(run(home, "datasets", "list", "--json").stdout)
    assert [d["id"] for d in listed] == [dataset_id]


def test_update_modes_from_the_cli(home, write_file):
    first = run(
        home,
        "publish",
        str(write_file("a.csv", "town,cases\nAndover,3\nAvon,7\n")),
        "--agency",
        "DPH",
        "--title",
        "T",
        "--row-id",
        "town",
    ).stdout.strip()
    result = run(
        home,
        "publish",
        str(write_file("u.csv", "town,cases,:deleted\nAvon,,true\nBethel,1,\n")),
        "--dataset",
        first,
        "--mode",
        "upsert",
    )
    assert result.stdout.strip() == first
    assert "1 created, 0 updated, 1 deleted" in result.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("a,b\n1,2\n3\n", [], "line 3 has 1 values"),
        ("a,b\n1,2\n", ["--classification", "secret"], "secret"),
        ("a,b\n1,2\n", ["--frequency", "sometimes"], "not an update frequency"),
        ("a,b\n1,2\n", ["--category", "Sports"], "not one of this portal's categories"),
    ],
)
def test_bad_input_exits_non_zero_with_the_reason(home, write_file, content, args, message):
    path = write_file("bad.csv", content)
    result = run(home, "publish", str(path), "--agency", "DPH", "--title", "T", *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(run(home, "datasets", "list", "--json").stdout) == []


def test_publish_to_unknown_agency_or_dataset(home, write_file):
    path = write_file("a.csv", "a,b\n1,2\n")
    unknown_agency = run(home, "publish", str(path), "--agency", "XYZ", "--title", "T", check=False)
    assert unknown_agency.returncode == 1 and "no agency with code 'XYZ'" in unknown_agency.stderr
    unknown_dataset = run(home, "publish", str(path), "--dataset", "abcd-2345", check=False)
    assert (
        unknown_dataset.returncode == 1
        and "no dataset with id 'abcd-2345'" in unknown_dataset.stderr
    )
    missing_title = run(home, "publish", str(path), "--agency", "DPH", check=False)
    assert missing_title.returncode == 2 and "--title" in missing_title.stderr


def test_agencies_and_deprecation(home, write_file):
    run(home, "agencies", "add", "OCME", "Office of the Chief Medical Examiner", "--parent", "DPH")
    listing = run(home, "agencies", "list").stdout
    assert "OCME" in listing and "Office of the Chief Medical Examiner" in listing
    old = run(
        home, "publish", str(write_file("a.csv", "a\n1\n")), "--agency", "DPH", "--title", "Old"
    ).stdout.strip()
    new = run(
        home, "publish", str(write_file("b.csv", "a\n1\n")), "--agency", "DPH", "--title", "New"
    ).stdout.strip()
    run(home, "datasets", "deprecate", old, "--reason", "Replaced", "--replaced-by", new)
    shown = json.loads(run(home, "datasets", "show", old).stdout)
    assert (shown["status"], shown["replaced_by"]) == ("deprecated", new)
    assert "whole" in run(home, "audit", "verify").stdout


def test_users_grant_and_revoke_say_what_changed_and_refuse_what_cannot_be(home):
    run(home, "users", "add", "pat", "--role", "analyst")
    granted = run(home, "users", "grant", "pat", "--agency", "dph", "--role", "data_officer")
    assert granted.stdout.strip() == "pat is now a data officer of DPH."
    not_a_role = run(home, "users", "grant", "pat", "--agency", "DPH", "--role", "cdo", check=False)
    assert not_a_role.returncode == 1
    assert "'cdo' is not an agency role. Use data_officer or publisher." in not_a_role.stderr
    revoked = run(home, "users", "revoke", "pat", "--agency", "dph", "--role", "data_officer")
    assert revoked.stdout.strip() == "pat is no longer a data officer of DPH."
    again = run(
        home, "users", "revoke", "pat", "--agency", "DPH", "--role", "data_officer", check=False
    )
    assert again.returncode == 1 and "pat is not a data officer of DPH." in again.stderr
    unknown = run(
        home, "users", "grant", "pat", "--agency", "NOPE", "--role", "publisher", check=False
    )
    assert unknown.returncode == 1 and unknown.stdout == ""


def test_a_misspelt_setting_is_refused_by_name(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "statedata.toml").write_text('databse_url = "postgresql://elsewhere/catalog"\n')
    result = run(home, "init", check=False)
    assert result.returncode == 1
    assert "databse_url: is not a name we know" in result.stderr
    assert not (home / "catalog.sqlite").exists()
