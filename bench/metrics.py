"""Benchmark of the plan metrics (issue #5): every metric over a generated catalog of 100,000
datasets with a year of daily usage counts, and the freshness status of every dataset.

Targets (there is no peer to compare with): all metrics under 2 s, freshness under 1 s.

    .venv/bin/python bench/metrics.py [--datasets 100000] [--repeat 5] [--workdir bench/out]
        [--pg-url postgresql://postgres@127.0.0.1:5432/test] [--skip sqlite|postgres]

The catalog is generated once per database and size (bulk inserts through SQLAlchemy core)
and reused while its marker file matches; the figures the app keeps beside the data (each
dataset's stored quality points, usage sums by agency and listing) are written through the app's own
functions and their cost is reported as the write side. Usage is sparse and Zipf-like, as
real portals' is: a few datasets are used every day, most on a few days a year, and a day
with no use stores no row (36.5 million rows for every dataset every day would describe no
real portal).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from statedata.catalog.models import (  # noqa: E402
    Agency,
    Column,
    Dataset,
    DatasetTag,
    UsageCount,
    Version,
)
from statedata.freshness import stored_quality  # noqa: E402
from statedata.installation import Installation  # noqa: E402
from statedata.metrics import attribution, plan, snapshot, usage  # noqa: E402

GENERATOR_VERSION = 5
AS_OF = dt.date(2026, 11, 1)
TARGET_METRICS_S = 2.0
TARGET_FRESHNESS_S = 1.0
FREQUENCIES = [
    ("R/P1D", 0.08),
    ("R/P1D/WEEKDAYS", 0.02),
    ("R/P1W", 0.08),
    ("R/P2W", 0.02),
    ("R/P1M", 0.22),
    ("R/P2M", 0.02),
    ("R/P3M", 0.10),
    ("R/P6M", 0.04),
    ("R/P1Y", 0.22),
    ("irregular", 0.08),
    ("not updated", 0.07),
    (None, 0.05),
]
CATEGORIES = [
    "Health and Human Services",
    "Education",
    "Public Safety",
    "Transportation",
    "Environment and Natural Resources",
    "Housing and Development",
    "Business",
    "Tax and Revenue",
    "Local Government",
    "Government",
]
SUBJECTS = [
    "licensed facilities",
    "inspections",
    "permits issued",
    "enrollment by district",
    "arrests by town",
    "hospital admissions",
    "road crashes",
    "water quality samples",
    "grant awards",
    "payroll",
    "tax receipts",
    "building permits",
    "vaccinations",
    "student test results",
    "energy use",
]
WORDS = [
    "records",
    "reported",
    "figures",
    "program",
    "agency",
    "state",
    "residents",
    "compiled",
    "annual",
    "monthly",
    "town",
    "county",
    "district",
    "providers",
    "complete",
    "revised",
    "summary",
    "counts",
    "rates",
    "estimates",
    "inspection",
    "administrative",
    "information",
    "collected",
    "published",
    "standardised",
    "approximately",
    "significant",
    "methodology",
    "classification",
    "jurisdiction",
    "measurement",
    "corresponding",
    "respective",
]
DIMENSIONS = [
    ((), 0.70),
    (("race",), 0.05),
    (("race", "ethnicity"), 0.07),
    (("sex",), 0.05),
    (("race", "ethnicity", "sex"), 0.06),
    (("age",), 0.04),
    (("gender-identity", "race"), 0.01),
    (("age", "sex"), 0.02),
]


def _pick(rng: np.random.Generator, choices: list, n: int) -> list:
    values = [c for c, _ in choices]
    weights = np.array([w for _, w in choices], dtype=float)
    picked = rng.choice(len(values), size=n, p=weights / weights.sum())
    return [values[i] for i in picked]


def _dataset_id(i: int) -> str:
    """'abcd-1234' shaped ids, unique for up to 4.5 billion datasets."""
    block, letters = i // 10_000, ""
    for _ in range(4):
        block, digit = divmod(block, 26)
        letters += chr(97 + digit)
    return f"{letters}-{i % 10_000:04d}"


def _moment(ordinal: int, seconds: int) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromordinal(ordinal), dt.time(), dt.UTC) + dt.timedelta(
        seconds=int(seconds)
    )


def generate(installation: Installation, n: int, seed: int = 5) -> dict:
    """Fill an empty catalog with `n` datasets, their versions, columns, tags and usage."""
    rng = np.random.default_rng(seed)
    engine = installation.catalog.engine
    as_of = AS_OF.toordinal()
    started = time.perf_counter()
    with engine.begin() as con:
        agencies = [
            {
                "id": i + 1,
                "code": f"AG{i + 1:02d}",
                "name": f"Agency {i + 1}",
                "created_at": _moment(as_of - 4000, 0),
            }
            for i in range(60)
        ]
        con.execute(sa.insert(Agency), agencies)
    # Agencies publish unevenly: a few hold most datasets.
    agency_weights = 1 / np.arange(1, 61) ** 0.8
    agency_of = rng.choice(60, size=n, p=agency_weights / agency_weights.sum()) + 1
    unattributed = rng.random(n) < 0.25
    # Last updates in the plan's shares: 17% in the last 30 days, 70% not in the last year,
    # 30% not since 2015.
    band = rng.random(n)
    last = np.where(
        band < 0.17,
        as_of - rng.integers(0, 30, n),
        np.where(
            band < 0.30,
            as_of - rng.integers(31, 365, n),
            np.where(
                band < 0.70,
                rng.integers(dt.date(2016, 1, 1).toordinal(), as_of - 366, n),
                rng.integers(dt.date(2012, 6, 1).toordinal(), dt.date(2015, 12, 31).toordinal(), n),
            ),
        ),
    )
    created = np.minimum(last - rng.integers(1, 1500, n), last - 1)
    created = np.maximum(created, dt.date(2012, 1, 1).toordinal())
    frequencies = _pick(rng, FREQUENCIES, n)
    dimensions = _pick(rng, DIMENSIONS, n)
    classification = np.where(rng.random(n) < 0.06, "protected", "public")
    ids = [_dataset_id(i) for i in range(n)]
    seconds = rng.integers(0, 86_400, n)
    rows = []
    for i in range(n):
        subject = SUBJECTS[i % len(SUBJECTS)]
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(8, 40))))
        rows.append(
            {
                "id": ids[i],
                "slug": f"dataset-{i}",
                "title": f"{subject.capitalize()} {i}",
                "description": f"{subject.capitalize()} in Connecticut. {words}. Figures "
                "are as reported when published and may be revised later.",
                "agency_id": None if unattributed[i] else int(agency_of[i]),
                "category": CATEGORIES[i % len(CATEGORIES)] if rng.random() < 0.9 else None,
                "license": "cc-by-4.0" if rng.random() < 0.85 else None,
                "contact_email": "open.data@ct.gov" if rng.random() < 0.6 else None,
                "classification": str(classification[i]),
                "access_level": "public" if classification[i] == "public" else "non-public",
                "update_frequency": frequencies[i],
                "demographic_dimensions": list(dimensions[i]),
                "related_documents": [],
                "high_value_criteria": [],
                "status": "active",
                "publication_state": "published",
                "metadata_public": False,
                "spatial_coverage": "Connecticut" if rng.random() < 0.5 else None,
                "geographic_unit": "municipality" if rng.random() < 0.5 else None,
                "created_at": _moment(int(created[i]), seconds[i]),
                "metadata_updated_at": _moment(int(last[i]), seconds[i]),
                "data_updated_at": _moment(int(last[i]), seconds[i]),
            }
        )
    with engine.begin() as con:
        for start in range(0, n, 20_000):
            con.execute(sa.insert(Dataset), rows[start : start + 20_000])
    # Versions: the first publication, sometimes one in between, and the last update; one
    # in ten datasets is kept by a feed.
    versions = []
    fed = rng.random(n) < 0.10
    for i in range(n):
        days = [int(created[i])]
        if last[i] - created[i] > 60 and rng.random() < 0.5:
            days.append(int(rng.integers(created[i] + 1, last[i])))
        days.append(int(last[i]))
        for number, day in enumerate(days, start=1):
            versions.append(
                {
                    "dataset_id": ids[i],
                    "number": number,
                    "row_count": 100,
                    "byte_size": 4096,
                    "checksum": "sha256:0",
                    "schema": [],
                    "source": f"feed:{i}" if fed[i] and number > 1 else f"{ids[i]}.csv",
                    "mode": "replace",
                    "path": f"{ids[i]}/v{number}.parquet",
                    "max_row_id": 100,
                    "created_at": _moment(day, seconds[i]),
                }
            )
    with engine.begin() as con:
        for start in range(0, len(versions), 50_000):
            con.execute(sa.insert(Version), versions[start : start + 50_000])
    columns, tags = [], []
    for i in range(n):
        count = int(rng.integers(3, 15))
        described = int(rng.integers(0, count + 1))
        for position in range(count):
            columns.append(
                {
                    "dataset_id": ids[i],
                    "position": position,
                    "field_name": f"c{position}",
                    "display_name": f"Column {position}",
                    "data_type": "text",
                    "storage_type": "VARCHAR",
                    "description": "What it holds." if position < described else "",
                }
            )
        for t in range(int(rng.integers(0, 6))):
            tags.append({"dataset_id": ids[i], "tag": f"tag{(i + t) % 500}"})
    with engine.begin() as con:
        for start in range(0, len(columns), 100_000):
            con.execute(sa.insert(Column), columns[start : start + 100_000])
        con.execute(sa.insert(DatasetTag), tags)
    used = _usage(installation, rng, ids)
    return {
        "datasets": n,
        "versions": len(versions),
        "columns": len(columns),
        "tags": len(tags),
        **used,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _usage(installation: Installation, rng: np.random.Generator, ids: list[str]) -> dict:
    """A year of daily counts per kind: Zipf-like popularity, a row only for a day with use.
    Each batch is added to the sums by owner, day and month through `metrics.attribution.add`,
    as the usage counter does when it flushes; that time is reported apart."""
    n = len(ids)
    days = np.array([(AS_OF - dt.timedelta(days=d)).toordinal() for d in range(365)])
    rank = rng.permutation(n) + 1
    written, month_seconds = 0, 0.0
    engine = installation.catalog.engine

    def write(batch: list[dict]) -> None:
        nonlocal written, month_seconds
        with engine.begin() as con:
            con.execute(sa.insert(UsageCount), batch)
        started = time.perf_counter()
        sums: Counter[tuple[dt.date, str, str]] = Counter()
        for row in batch:
            sums[(row["day"], row["dataset_id"], row["kind"])] += row["count"]
        with installation.catalog.session() as session:
            attribution.add(session, sums.items())
        month_seconds += time.perf_counter() - started
        written += len(batch)

    for kind, top, exponent in (
        ("page_view", 1000, 1.0),
        ("download", 200, 1.0),
        ("api_call", 800, 1.2),
    ):
        rate = top / rank**exponent
        active = rng.binomial(365, 1 - np.exp(-rate))
        batch = []
        for i in np.flatnonzero(active):
            chosen = rng.choice(days, size=int(active[i]), replace=False)
            counts = 1 + rng.poisson(rate[i], size=len(chosen))
            for day, count in zip(chosen, counts, strict=True):
                batch.append(
                    {
                        "day": dt.date.fromordinal(int(day)),
                        "dataset_id": ids[i],
                        "kind": kind,
                        "count": int(count),
                    }
                )
            if len(batch) >= 200_000:
                write(batch)
                batch = []
        if batch:
            write(batch)
    with engine.connect() as con:
        sum_rows = con.execute(sa.text("SELECT count(*) FROM usage_rollups")).scalar()
    return {
        "usage_rows": written,
        "usage_sum_rows": int(sum_rows or 0),
        "sums_by_owner_seconds": round(month_seconds, 2),
    }


def keep_scores(installation: Installation, sample: int = 200) -> dict:
    """The write side of the stored quality points: every dataset scored once and kept
    (`freshness.stored_quality.refresh`, as after a bulk load), then the cost of keeping one
    dataset's points in step (what each commit that changes a dataset's metadata adds)."""
    started, cpu = time.perf_counter(), time.process_time()
    with installation.catalog.session() as session:
        scored = stored_quality.refresh(session)
    all_wall, all_cpu = time.perf_counter() - started, time.process_time() - cpu
    with installation.catalog.session() as session:
        ids = list(session.scalars(sa.select(Dataset.id).order_by(Dataset.id)))
    picked = [ids[i] for i in np.random.default_rng(7).choice(len(ids), sample, replace=False)]
    started, cpu = time.perf_counter(), time.process_time()
    for dataset_id in picked:
        with installation.catalog.session() as session:
            stored_quality.refresh(session, [dataset_id])
    one_wall = (time.perf_counter() - started) / sample
    one_cpu = (time.process_time() - cpu) / sample
    return {
        "scored": scored,
        "score_all_s": round(all_wall, 2),
        "score_all_cpu_s": round(all_cpu, 2),
        "score_one_ms": round(one_wall * 1000, 2),
        "score_one_cpu_ms": round(one_cpu * 1000, 2),
    }


def time_flush(installation: Installation, n: int = 1000) -> dict:
    """What the usage counter's flush costs per count with the months' sums beside the
    daily counts: `n` counts on today's date for different datasets, rolled back after."""
    with installation.catalog.session() as session:
        ids = list(session.scalars(sa.select(Dataset.id).order_by(Dataset.id).limit(n)))
    counts = [((AS_OF, dataset_id, "page_view"), 1) for dataset_id in ids]
    session = installation.catalog.session_factory()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        usage.add_counts(session, counts)
        session.flush()
        wall, used = time.perf_counter() - started, time.process_time() - cpu
    finally:
        session.rollback()
        session.close()
    return {
        "flush_per_count_ms": round(wall / n * 1000, 3),
        "flush_cpu_per_count_ms": round(used / n * 1000, 3),
    }


FIGURES = (
    ("metrics_cold", TARGET_METRICS_S),
    ("metrics_cold_file_kept", TARGET_METRICS_S),
    ("metrics_cold_after_a_change", TARGET_METRICS_S),
    ("metrics_warm", TARGET_METRICS_S),
    ("metrics_after_a_change", TARGET_METRICS_S),
    ("freshness_cold", TARGET_FRESHNESS_S),
    ("freshness_warm", TARGET_FRESHNESS_S),
    ("freshness_report", TARGET_FRESHNESS_S),
    ("freshness_report_again", TARGET_FRESHNESS_S),
)


def _clear_caches(installation: Installation, kept_file: bool) -> None:
    """Forget everything remembered in memory between runs, as a new process starts (what
    the catalog keeps stays); with `kept_file`, the reading kept in the home folder too."""
    from statedata.freshness import report

    snapshot.forget()
    report.forget()
    if kept_file:
        shutil.rmtree(installation.settings.cache_dir / "metrics", ignore_errors=True)


def timed(function, installation: Installation) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process): on a busy machine the CPU time shows
    the work done; the wall time adds the wait for a core (and PostgreSQL's own work)."""
    cpu = time.process_time()
    wall = function(installation)
    return wall, time.process_time() - cpu


def time_metrics(installation: Installation) -> float:
    """All metrics as `statedata metrics` and the API compute them (usage cache included)."""
    from statedata.metrics.publish import report

    started = time.perf_counter()
    report(installation, AS_OF)
    return time.perf_counter() - started


def change_one_dataset(installation: Installation) -> None:
    """One dataset's metadata written (to what it held) by raw SQL, outside the timing: the
    catalog's change mark moves, so a running server reads the catalog again."""
    with installation.catalog.engine.begin() as connection:
        first = connection.execute(sa.text("SELECT min(id) FROM datasets")).scalar()
        connection.execute(
            sa.text("UPDATE datasets SET update_frequency = update_frequency WHERE id = :id"),
            {"id": first},
        )


def time_freshness(installation: Installation) -> float:
    """Freshness of every dataset today: the metrics' own path (no version history needed)."""
    started = time.perf_counter()
    with installation.catalog.session() as session:
        data = plan.load_datasets(session, history=False)
    plan.day_state(data, AS_OF.toordinal())
    return time.perf_counter() - started


def time_freshness_report(installation: Installation) -> float:
    """The freshness report's rows (`statedata freshness report`), for comparison."""
    from statedata.freshness.report import rows

    started = time.perf_counter()
    with installation.catalog.session() as session:
        rows(session, AS_OF)
    return time.perf_counter() - started


def gather_statistics(installation: Installation) -> None:
    """On PostgreSQL, VACUUM ANALYZE the freshly generated catalog (outside the timing), as
    autovacuum does on a server left at its defaults. Without statistics the planner takes
    100,000 rows for a few thousand, sorts them on disk and joins them row by row: that
    measured the machine's settings (autovacuum is off on the bench machine), not a portal.
    SQLite is left as statedata leaves it: no ANALYZE."""
    engine = installation.catalog.engine
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))


def _current(marker: Path, n: int) -> bool:
    """Whether the catalog beside `marker` was generated by this generator at this size (one
    that is not is generated again from empty)."""
    expected = {"generator": GENERATOR_VERSION, "datasets": n}
    stored = json.loads(marker.read_text()) if marker.exists() else None
    return stored is not None and {k: stored.get(k) for k in expected} == expected


def run(name: str, installation: Installation, n: int, repeat: int, marker: Path) -> dict:
    expected = {"generator": GENERATOR_VERSION, "datasets": n}
    if not _current(marker, n):
        print(f"[{name}] generating {n:,} datasets ...", flush=True)
        shape = generate(installation, n)
        print(f"[{name}] scoring every dataset once and keeping the points ...", flush=True)
        shape.update(keep_scores(installation))
        marker.write_text(json.dumps({**expected, **shape}))
        print(f"[{name}] generated: {shape}", flush=True)
    shape = json.loads(marker.read_text())
    write_side = {**shape, **time_flush(installation)}
    gather_statistics(installation)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in FIGURES}
    for _ in range(repeat):
        _clear_caches(installation, kept_file=True)
        figures["freshness_cold"].append(timed(time_freshness, installation))
        figures["freshness_warm"].append(timed(time_freshness, installation))
        figures["freshness_report"].append(timed(time_freshness_report, installation))
        figures["freshness_report_again"].append(timed(time_freshness_report, installation))
        # A process that starts with nothing: no file kept, or one of an earlier catalog.
        _clear_caches(installation, kept_file=True)
        figures["metrics_cold"].append(timed(time_metrics, installation))
        figures["metrics_warm"].append(timed(time_metrics, installation))
        change_one_dataset(installation)
        figures["metrics_after_a_change"].append(timed(time_metrics, installation))
        # A new process, the catalog unchanged since the last one kept its reading.
        _clear_caches(installation, kept_file=False)
        figures["metrics_cold_file_kept"].append(timed(time_metrics, installation))
        # A new process after a change to one dataset: the versions still come from the file.
        change_one_dataset(installation)
        _clear_caches(installation, kept_file=False)
        figures["metrics_cold_after_a_change"].append(timed(time_metrics, installation))
    medians = {k: round(statistics.median(w for w, _ in v), 3) for k, v in figures.items()}
    cpu = {k: round(statistics.median(c for _, c in v), 3) for k, v in figures.items()}
    return {
        "database": name,
        "shape": shape,
        "write_side": write_side,
        "median_s": medians,
        "median_cpu_s": cpu,
        "load_average": os.getloadavg(),
        "runs": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip", action="append", default=[], choices=["sqlite", "postgres"])
    args = parser.parse_args()
    results = []
    if "sqlite" not in args.skip:
        home = args.workdir / f"metrics-{args.datasets}" / "home"
        if not _current(home.parent / "shape.json", args.datasets):
            shutil.rmtree(home, ignore_errors=True)
        installation = Installation.open(home)
        try:
            results.append(
                run("sqlite", installation, args.datasets, args.repeat, home.parent / "shape.json")
            )
        finally:
            installation.close()
    if "postgres" not in args.skip:
        results.append(_postgres(args))
    print()
    print(
        f"{'database':<10} {'what':<27} {'median s':>9} {'cpu s':>7} {'target s':>9} "
        f"{'ratio':>6} {'cpu ratio':>9}"
    )
    for result in results:
        for what, target in FIGURES:
            value, cpu = result["median_s"][what], result["median_cpu_s"][what]
            name = result["database"]
            print(
                f"{name:<10} {what:<27} {value:>9.3f} {cpu:>7.3f} {target:>9.1f} "
                f"{value / target:>6.2f} {cpu / target:>9.2f}"
            )
        print(f"(load average while measuring {result['database']}: {result['load_average']})")
        side = result["write_side"]
        print(
            f"  write side: scoring {side['scored']:,} datasets once {side['score_all_s']} s "
            f"({side['score_all_cpu_s']} s CPU); keeping one dataset's score in step "
            f"{side['score_one_ms']} ms ({side['score_one_cpu_ms']} ms CPU); sums by owner of "
            f"{side['usage_rows']:,} daily rows ({side['usage_sum_rows']:,} rows by day and "
            f"month) {side['sums_by_owner_seconds']} s; usage flush "
            f"{side['flush_per_count_ms']} ms a count ({side['flush_cpu_per_count_ms']} ms CPU)"
        )
    out = args.workdir / f"metrics-{args.datasets}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nWritten to {out}")


def _postgres(args: argparse.Namespace) -> dict:
    """A database of its own on the server, so the test database is left alone."""
    url = args.pg_url.replace("postgresql://", "postgresql+psycopg://")
    database = f"statedata_bench_metrics_{args.datasets}"
    home = args.workdir / f"metrics-{args.datasets}-pg" / "home"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        if not _current(home.parent / "shape.json", args.datasets):
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
        if not con.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
        ).scalar():
            con.execute(sa.text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    catalog_url = url.rsplit("/", 1)[0] + "/" + database
    installation = Installation.open(home, database_url=catalog_url)
    try:
        return run("postgres", installation, args.datasets, args.repeat, home.parent / "shape.json")
    finally:
        installation.close()


if __name__ == "__main__":
    main()
