"""`statedata feeds ...` run as a user would, in a subprocess on SQLite: add, list, show,
run, disable and enable; errors that name the field; and a password in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STATEDATA = Path(sys.executable).with_name("statedata")
PASSWORD = "Hunter2-Secret"


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATEDATA_HOME": str(home)}
    env.pop("STATEDATA_DATABASE_URL", None)
    done = subprocess.run(
        [str(STATEDATA), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "agencies", "add", "DPH", "Department of Public Health")
    first = tmp_path / "first.csv"
    first.write_text("town,cases\nAndover,1\n")
    run(home, "publish", str(first), "--agency", "DPH", "--title", "Cases by town")
    return home


def dataset_id(home: Path) -> str:
    listed = run(home, "datasets", "list", "--json", check=False)
    if listed.returncode == 0 and listed.stdout.strip().startswith(("[", "{")):
        document = json.loads(listed.stdout)
        results = document["results"] if isinstance(document, dict) else document
        return results[0]["id"]
    import re

    return re.search(r"[a-z0-9]{4}-[a-z0-9]{4}", run(home, "datasets", "list").stdout).group(0)


def test_a_folder_feed_from_the_command_line(home, tmp_path):
    drop = home / "drop" / "dph"
    drop.mkdir(parents=True)
    target = dataset_id(home)
    added = run(
        home,
        "feeds",
        "add",
        target,
        "--kind",
        "folder",
        "--path",
        str(drop),
        "--schedule",
        "0 6 * * *",
        "--transform",
        "rename:count=cases",
        "--json",
    )
    feed = json.loads(added.stdout)
    assert feed["transforms"] == [{"rename": {"count": "cases"}}]
    assert feed["source"]["path"] == str(drop.resolve())

    (drop / "new.csv").write_text("town,count\nAndover,5\nBethel,6\n")
    ran = run(home, "feeds", "run", str(feed["id"]))
    assert "succeeded (2 rows in" in ran.stdout and "version 2" in ran.stdout
    assert "unchanged" in run(home, "feeds", "run", str(feed["id"])).stdout

    (drop / "broken.csv").write_text("town,total\nAndover,5\n")
    failed = run(home, "feeds", "run", str(feed["id"]), check=False)
    assert failed.returncode == 1 and "no column 'count' to rename" in failed.stderr

    shown = json.loads(run(home, "feeds", "show", str(feed["id"]), "--json").stdout)
    assert [r["status"] for r in shown["recent_runs"]] == ["failed", "unchanged", "succeeded"]
    assert "Feed" in run(home, "feeds", "show", str(feed["id"])).stdout

    assert "disabled" in run(home, "feeds", "disable", str(feed["id"])).stdout
    listed = json.loads(run(home, "feeds", "list", "--json").stdout)
    assert [(f["id"], f["enabled"], f["next_run_at"]) for f in listed] == [
        (feed["id"], False, None)
    ]
    assert "enabled; next run" in run(home, "feeds", "enable", str(feed["id"])).stdout


def test_command_line_never_prints_a_password(home):
    target = dataset_id(home)
    url = f"postgresql://reader:{PASSWORD}@127.0.0.1:1/agency"
    # The operator names the database in the home's settings; the feed names only that.
    (home / "statedata.toml").write_text(f'[feed_databases]\nagency = "{url}"\n')
    added = run(
        home,
        "feeds",
        "add",
        target,
        "--kind",
        "sql",
        "--database",
        "agency",
        "--query",
        "SELECT town FROM cases",
        "--schedule",
        "*/5 * * * *",
    )
    outputs = [added]
    outputs.append(run(home, "feeds", "list"))
    outputs.append(run(home, "feeds", "list", "--json"))
    outputs.append(run(home, "feeds", "show", "1"))
    outputs.append(run(home, "feeds", "show", "1", "--json"))
    outputs.append(run(home, "feeds", "run", "1", check=False))
    outputs.append(run(home, "audit", "list", check=False))
    for done in outputs:
        assert PASSWORD not in done.stdout + done.stderr
    assert json.loads(outputs[4].stdout)["source"]["database"] == "agency"
    assert outputs[5].returncode == 1 and "query failed" in outputs[5].stderr


REFUSED = [
    (
        ["--kind", "http", "--url", "http://127.0.0.1:8000/api/v1/users"],
        "source.url: 127.0.0.1 is not",
    ),
    (["--kind", "http", "--url", "http://169.254.169.254/"], "source.url: 169.254.169.254"),
    (["--kind", "soda", "--portal", "http://[::1]", "--dataset", "abcd-2345"], "source.portal"),
    (["--kind", "sql", "--database", "catalog", "--query", "SELECT 1"], "source.database"),
    (["--kind", "folder", "--path", "/etc"], "source.path: the folder is outside"),
]


def test_sources_inside_the_server_are_refused_unless_the_operator_allows_them(home):
    target = dataset_id(home)
    for args, message in REFUSED:
        done = run(home, "feeds", "add", target, *args, "--schedule", "0 6 * * *", check=False)
        assert done.returncode == 1, args
        assert message in " ".join(done.stderr.split()), done.stderr
    assert json.loads(run(home, "feeds", "list", "--json").stdout) == []

    (home / "statedata.toml").write_text('feed_allowed_hosts = ["127.0.0.1"]\n')
    added = run(home, "feeds", "add", target, *REFUSED[0][0], "--schedule", "0 6 * * *")
    assert "Feed 1" in added.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "ftp", "--schedule", "0 6 * * *"], "kind: 'ftp' is not a kind of feed"),
        (["--kind", "http", "--url", "https://x.example/a.csv", "--schedule", "daily"], "schedule"),
        (["--kind", "http", "--schedule", "0 6 * * *"], "source.url"),
        (
            [
                "--kind",
                "http",
                "--url",
                "https://x.example/a.csv",
                "--schedule",
                "0 6 * * *",
                "--mode",
                "upsert",
            ],
            "mode: an upsert matches rows by the dataset's row identifier",
        ),
        (
            [
                "--kind",
                "http",
                "--url",
                "https://x.example/a.csv",
                "--schedule",
                "0 6 * * *",
                "--transform",
                "explode:a",
            ],
            "transform: 'explode:a' is not a transform",
        ),
    ],
)
def test_bad_feeds_are_refused_with_the_field_named(home, args, message):
    done = run(home, "feeds", "add", dataset_id(home), *args, check=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert json.loads(run(home, "feeds", "list", "--json").stdout) == []
