"""The plan metrics for an installation (leaving out the portal's own metric datasets), as CSV
rows, and published into the portal itself as two datasets, like data.ct.gov's own asset
inventory: "Open data plan metrics" (one row per metric per month) and "Dataset inventory"
(one row per public dataset).

The two datasets' ids are kept in `metrics-datasets.json` in the home folder, so publishing
again replaces their rows and the ids stay the same.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Dataset
from statedata.catalog.vocab import frequency_name
from statedata.errors import NotFound
from statedata.freshness import Freshness
from statedata.installation import Installation
from statedata.metrics import plan

STATE_FILE = "metrics-datasets.json"
ACTOR = "statedata metrics"
PLAN_TITLE = "Open data plan metrics"
INVENTORY_TITLE = "Dataset inventory"
CSV_FIELDS = ("key", "name", "goal", "unit", "as_of", "agency", "value", "definition")


def own_datasets(installation: Installation) -> dict[str, str]:
    """The portal's own metric datasets: {"plan_metrics": id, "inventory": id}, when published."""
    path = installation.settings.home / STATE_FILE
    if not path.exists():
        return {}
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)}


def report(
    installation: Installation,
    as_of: dt.date | None = None,
    agency: str | None = None,
    since_year: int = plan.DEFAULT_SINCE_YEAR,
) -> plan.Report:
    """Every plan metric on `as_of`, leaving out the portal's own metric datasets."""
    with installation.catalog.session() as session:
        return plan.compute(
            session,
            as_of,
            agency=agency,
            since_year=since_year,
            exclude=tuple(own_datasets(installation).values()),
            keep_in=installation.settings.cache_dir / "metrics",
        )


def csv_rows(found: plan.Report) -> list[dict[str, Any]]:
    """One row per metric: its value on the day, with what it means."""
    return [
        {
            "key": m.key,
            "name": m.name,
            "goal": m.goal,
            "unit": m.unit,
            "as_of": found.as_of.isoformat(),
            "agency": found.agency or "",
            "value": "" if m.value is None else m.value,
            "definition": m.definition,
        }
        for m in found.metrics
    ]


def series_table(found: plan.Report) -> pa.Table:
    """One row per metric per month (metrics without a series give the day's value)."""
    rows: dict[str, list[Any]] = {
        k: [] for k in ("metric", "name", "goal", "unit", "month", "measured_on", "value")
    }
    ends = dict(plan.month_ends(found.as_of))
    for metric in found.metrics:
        points = metric.series or [{"month": found.as_of.strftime("%Y-%m"), "value": metric.value}]
        for point in points:
            rows["metric"].append(metric.key)
            rows["name"].append(metric.name)
            rows["goal"].append(metric.goal)
            rows["unit"].append(metric.unit)
            rows["month"].append(point["month"])
            rows["measured_on"].append(ends.get(point["month"], found.as_of))
            value = point["value"]
            rows["value"].append(None if value is None else float(value))
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("metric", pa.string()),
                ("name", pa.string()),
                ("goal", pa.int32()),
                ("unit", pa.string()),
                ("month", pa.string()),
                ("measured_on", pa.date32()),
                ("value", pa.float64()),
            ]
        ),
    )


def inventory_table(installation: Installation, as_of: dt.date) -> pa.Table:
    """One row per public dataset: id, title, agency, category, frequency, last update,
    freshness status and quality score on `as_of`."""
    exclude = tuple(own_datasets(installation).values())
    with installation.catalog.session() as session:
        data = plan.load_datasets(session, exclude, with_metadata=True)
    state = plan.day_state(data, as_of.toordinal())
    chosen = state.public
    with installation.catalog.session() as session:
        scores, required = plan.quality_scores_of(session, data, chosen, None, state)
    picked = np.flatnonzero(chosen)
    statuses = list(Freshness)
    return pa.table(
        {
            "dataset_id": [data.ids[i] for i in picked],
            "title": [data.extra["title"][i] for i in picked],
            "agency": [
                None if data.no_agency[i] else data.agency_codes[int(data.agency[i])]
                for i in picked
            ],
            "category": [data.extra["category"][i] for i in picked],
            "update_frequency": [
                _frequency(data.frequencies[int(data.frequency[i])]) for i in picked
            ],
            "last_data_update": [dt.date.fromordinal(int(state.last[i])) for i in picked],
            "freshness_status": [statuses[int(state.status[i])].value for i in picked],
            "days_late": [int(state.days_late[i]) for i in picked],
            "quality_score": [int(scores[i]) for i in picked],
            "required_metadata_complete": [bool(required[i]) for i in picked],
            "updated_automatically": [bool(state.automated[i]) for i in picked],
        },
        schema=pa.schema(
            [
                ("dataset_id", pa.string()),
                ("title", pa.string()),
                ("agency", pa.string()),
                ("category", pa.string()),
                ("update_frequency", pa.string()),
                ("last_data_update", pa.date32()),
                ("freshness_status", pa.string()),
                ("days_late", pa.int32()),
                ("quality_score", pa.int32()),
                ("required_metadata_complete", pa.bool_()),
                ("updated_automatically", pa.bool_()),
            ]
        ),
    )


def _frequency(code: str | None) -> str | None:
    return frequency_name(code) or code


@dataclass(frozen=True)
class Published:
    plan_metrics: str
    inventory: str
    metric_rows: int
    inventory_rows: int


PLAN_METADATA = DatasetMetadata(
    title=PLAN_TITLE,
    description=(
        "The open data plan's metrics, measured by the portal itself: traffic, how often and "
        "how consistently datasets are updated, agency attribution, metadata completeness, "
        "demographic breakdowns, automated updates, suggestions and data requests. One row "
        "per metric per month; each metric's definition is in the metrics API "
        "(/api/v1/metrics)."
    ),
    tags=["open data", "metrics", "open data plan"],
    update_frequency="R/P1M",
    license="public-domain",
)
INVENTORY_METADATA = DatasetMetadata(
    title=INVENTORY_TITLE,
    description=(
        "Every public dataset on the portal with its agency, category, expected update "
        "frequency, last data update, freshness status and metadata quality score. The "
        "portal's own asset inventory, refreshed when the metrics are published."
    ),
    tags=["open data", "inventory", "metadata"],
    update_frequency="R/P1M",
    license="public-domain",
)


def publish_metrics(installation: Installation, as_of: dt.date | None = None) -> Published:
    """Publish (replace) the two metric datasets; create them the first time."""
    from statedata.ingest import open_table
    from statedata.storage import NewDataset, publish

    as_of = as_of or dt.datetime.now(dt.UTC).date()
    known = _existing(installation)
    tables = {
        "plan_metrics": (series_table(report(installation, as_of)), PLAN_METADATA),
        "inventory": (inventory_table(installation, as_of), INVENTORY_METADATA),
    }
    ids: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="statedata-metrics-") as folder:
        for name, (table, metadata) in tables.items():
            path = Path(folder) / f"{name.replace('_', '-')}.parquet"
            pq.write_table(table, path)
            dataset_id = known.get(name)
            result = publish(
                installation,
                open_table(path),
                dataset_id=dataset_id,
                new=None if dataset_id else NewDataset(metadata=metadata, agency_code=None),
                mode="replace",
                actor=ACTOR,
            )
            ids[name] = result.dataset_id
            # Kept at once, so a failure on the second dataset cannot orphan the first.
            _save(installation, {**known, **ids})
    return Published(
        plan_metrics=ids["plan_metrics"],
        inventory=ids["inventory"],
        metric_rows=tables["plan_metrics"][0].num_rows,
        inventory_rows=tables["inventory"][0].num_rows,
    )


def _existing(installation: Installation) -> dict[str, str]:
    """The ids on file whose datasets still exist."""
    found = own_datasets(installation)
    if not found:
        return {}
    with installation.catalog.session() as session:
        present = set(
            session.scalars(select(Dataset.id).where(Dataset.id.in_(list(found.values()))))
        )
    return {k: v for k, v in found.items() if v in present}


def _save(installation: Installation, ids: dict[str, str]) -> None:
    path = installation.settings.home / STATE_FILE
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(ids, indent=2, sort_keys=True))
    temp.replace(path)


def dataset_of(installation: Installation, name: str) -> str:
    found = own_datasets(installation).get(name)
    if found is None:
        raise NotFound("The metrics have not been published yet: run 'statedata metrics publish'.")
    return found
