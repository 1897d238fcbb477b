"""`statedata freshness ...` and `statedata datasets set`, run as the command line runs them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from typer.testing import CliRunner

from statedata.cli.main import app

runner = CliRunner()


def run(installation, *args: str) -> str:
    home = str(installation.settings.home)
    env = {}
    if installation.settings.database_url:
        env["STATEDATA_DATABASE_URL"] = installation.settings.database_url
    result = runner.invoke(app, [*args, "--home", home], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_report_as_of_a_day_in_each_format(installation, make_dataset):
    daily = make_dataset("Daily counts", "daily", dt.date(2026, 5, 31))
    report = ["freshness", "report", "--as-of"]
    rows = json.loads(run(installation, *report, "2026-06-05", "--format", "json"))
    assert rows == [
        {
            "id": daily,
            "title": "Daily counts",
            "agency": "DPH",
            "frequency": "R/P1D",
            "frequency_name": "daily",
            "last_update": "2026-05-31",
            "due_date": "2026-06-01",
            "status": "overdue",
            "days_late": 4,
        }
    ]
    printed = run(installation, *report, "2026-06-01", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(printed)))
    assert table[0]["status"] == "due"
    assert "1 due" in run(installation, "freshness", "report", "--as-of", "2026-06-01")


def test_set_frequency_then_check_and_retire(installation, make_dataset):
    dataset_id = make_dataset("Counts", None, dt.date(2026, 1, 1))
    assert "weekly" in run(installation, "datasets", "set", dataset_id, "--frequency", "weekly")
    checked = run(installation, "freshness", "check", "--as-of", "2026-06-01")
    assert "Reminders to 1 agencies about 1 datasets" in checked
    retired = run(installation, "freshness", "retire", dataset_id, "--reason", "outdated")
    assert "carries a retirement notice" in retired
    assert "outdated" not in run(installation, "freshness", "quality", dataset_id)
    assert dataset_id in run(installation, "freshness", "priorities", "--format", "csv")
