"""The issue's own check, as a user would do it: publish a CSV with the CLI, serve the portal
with `statedata serve`, download the rows, and get the same content back."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path

import httpx

CSV_TEXT = (
    "case_id,town,reported,cases,rate,note,active\n"
    '1,Andover,2024-01-02,3,1.50,"first, with a comma",true\n'
    '2,Ansonia,2024-01-03,12,,"she said ""hi""",false\n'
    '3,Avon,2024-01-04,0,0.25,"two\nlines",true\n'
    "4,Bethel,2024-01-05,7,10,,false\n"
)


@contextmanager
def _serving(env: dict[str, str]) -> Iterator[str]:
    """`statedata serve` in its own process, until the block ends. It binds port 0, so the
    system picks a free port as it binds (a port picked beforehand could be taken by another
    process in between); uvicorn's start-up line says which."""
    cli = [sys.executable, "-m", "statedata.cli"]
    server = subprocess.Popen(
        [*cli, "serve", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said: list[str] = []
        for line in server.stderr:  # type: ignore[union-attr]
            said.append(line)
            started = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if started:
                base = started.group(1)
                break
        else:
            raise AssertionError("the server did not start: " + "".join(said))
        assert httpx.get(f"{base}/api/v1/health", timeout=30).status_code == 200
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return False


def test_csv_published_from_the_cli_downloads_back_identical(tmp_path: Path):
    env = {**os.environ, "STATEDATA_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "statedata.cli"]
    source = tmp_path / "cases.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    subprocess.run(
        [*cli, "agencies", "add", "DPH", "Department of Public Health"],
        env=env,
        check=True,
        capture_output=True,
    )
    published = subprocess.run(
        [
            *cli,
            "publish",
            str(source),
            "--agency",
            "DPH",
            "--title",
            "Cases",
            "--row-id",
            "case_id",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    dataset_id = published.stdout.strip()

    with _serving(env) as base:
        downloaded = httpx.get(f"{base}/api/v1/datasets/{dataset_id}/rows.csv", timeout=30)

    assert downloaded.status_code == 200
    original = list(csv.reader(io.StringIO(CSV_TEXT)))
    back = list(csv.reader(io.StringIO(downloaded.text)))
    assert back[0] == original[0]
    assert len(back) == len(original)
    for row_back, row_original in zip(back[1:], original[1:], strict=True):
        assert all(_same(x, y) for x, y in zip(row_back, row_original, strict=True)), (
            row_back,
            row_original,
        )


def test_sodapy_against_statedata_serve(tmp_path: Path):
    """The issue's end-to-end check for the SODA API: the real sodapy client against the real
    `statedata serve`, with a publisher's key made by the CLI."""
    from sodapy import Socrata

    env = {**os.environ, "STATEDATA_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "statedata.cli"]

    def run(*args: str) -> str:
        return subprocess.run(
            [*cli, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    source = tmp_path / "cases.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    run("agencies", "add", "DPH", "Department of Public Health")
    dataset_id = run(
        "publish", str(source), "--agency", "DPH", "--title", "Cases", "--row-id", "case_id"
    ).strip()
    run("users", "add", "pat", "--role", "publisher", "--agency", "DPH")
    key_lines = dict(line.split(": ", 1) for line in run("keys", "create", "pat").splitlines())

    with _serving(env) as base:
        client = Socrata(
            base.removeprefix("http://"),
            "e2e-app",
            username=key_lines["key id"],
            password=key_lines["secret"],
        )
        client.uri_prefix = "http://"
        assert [r["town"] for r in client.get(dataset_id, where="cases > 2", order="town")] == [
            "Andover",
            "Ansonia",
            "Bethel",
        ]
        assert len(list(client.get_all(dataset_id))) == 4
        assert client.get_metadata(dataset_id)["name"] == "Cases"
        assert [d["resource"]["id"] for d in client.datasets()] == [dataset_id]
        upserted = client.upsert(
            dataset_id,
            [{"case_id": "4", "cases": "70"}, {"case_id": "5", "town": "Canton", "cases": "1"}],
        )
        assert (upserted["Rows Updated"], upserted["Rows Created"]) == (1, 1)
        assert client.get(dataset_id, case_id="4")[0]["cases"] == "70"
        client.replace(dataset_id, [{"case_id": "9", "town": "Derby", "cases": "2"}])
        assert [r["town"] for r in client.get(dataset_id)] == ["Derby"]
        client.close()
