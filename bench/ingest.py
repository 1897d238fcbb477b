"""Ingest benchmark (issue #2): one generated CSV loaded four ways in the same run.

1. `statedata publish` -- the CLI in its own process (or, when the CLI is not installed, the
   same steps through the Python API in a `python -c` process): sniff, type, number rows, write
   a zstd Parquet version, check it, checksum it, record it in the catalog.
2. DuckDB's own `COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'` in its own process, with
   DuckDB's defaults (threads, compression): the floor, so the ratio is statedata's overhead.
   A second DuckDB run with statedata's Parquet options (zstd level 1, 122880-row groups) is
   shown as a reference, to tell the cost of the compression choice from the cost of everything
   else.
3. PostgreSQL `COPY ... FROM STDIN WITH (FORMAT csv, HEADER)` streamed by psycopg, the way
   CKAN's XLoader loads its DataStore: into a fresh table shaped like a DataStore table
   (`_id serial primary key`, `_full_text tsvector`, then one column per CSV column). Columns
   are `text` by default, as XLoader creates them; `--pg-columns typed` uses real types.
4. PostgreSQL, XLoader's whole load: the same COPY, then, in the same session, what XLoader's
   `load_csv` and `create_column_indexes` do after it: fill `_full_text` with one
   `UPDATE t SET _full_text = to_tsvector(concat_ws(' ', <every column>))`
   (`_populate_fulltext`), then build CKAN's default full-text index on `_full_text`
   (`create_indexes`; GIN by default here, `--xloader-fts-index gist` for CKAN's configured
   default). Timed end to end, COPY included. XLoader's Python pass that rewrites the file to
   UTF-8 before the COPY is left out, so this is still XLoader's best case.

Prints wall time, rows/second, CPU time and peak memory of each, and the ratios against the
targets (statedata >= 0.8x DuckDB COPY, >= 5x PostgreSQL COPY, the same 5x shown against
XLoader's whole load). Writes the figures to WORKDIR/ingest-results.json. No assertions: it
only measures.

    .venv/bin/python bench/ingest.py [--rows 10000000] [--workdir bench/out]
        [--pg-url postgresql://postgres@127.0.0.1:5432/test] [--repeat 1]
        [--skip statedata|duckdb|duckdb-zstd|postgres|postgres-xloader]...
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Measured, machine, reusable_csv, run_measured, table

REPO = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 1
TARGET_VS_DUCKDB = 0.8
TARGET_VS_POSTGRES = 5.0
APP_NAME = "statedata-bench-ingest"
# The measuring process never imports DuckDB (see common.py on ru_maxrss): DuckDB work it needs
# (generating the CSV, counting output rows) runs in a child of this Python.
PYTHON = Path(sys.executable)
DUCK_QUERY = """
import json, sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(sys.argv[1]).fetchall() if sys.argv[1] else []
print(json.dumps({"rows": rows, "version": duckdb.__version__}, default=str))
"""

FIRST_NAMES = [
    "Maria", "James", "Aisha", "Wei", "Carlos", "Olivia", "Noah", "Fatima", "Liam", "Sofia",
    "Mateo", "Emma", "Yusuf", "Ava", "Ethan", "Mia", "Lucas", "Isabella", "Kwame", "Chloe",
    "Daniel", "Priya", "Samuel", "Grace", "Hiroshi", "Leah", "Omar", "Zoe", "Ivan", "Nora",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Garcia", "Johnson", "Nguyen", "Brown", "Rodriguez", "Lee", "Williams", "Patel",
    "Jones", "O'Brien", "Kim", "Martinez", "Davis", "Lopez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Clark", "Lewis", "Walker", "Hall", "Young",
]  # fmt: skip
TOWNS = [
    "Hartford", "New Haven", "Bridgeport", "Stamford", "Waterbury", "Norwalk", "Danbury",
    "New Britain", "West Hartford", "Greenwich", "Fairfield", "Hamden", "Bristol", "Meriden",
    "Manchester", "West Haven", "Milford", "Stratford", "East Hartford", "Middletown",
    "Wallingford", "Enfield", "Southington", "Shelton", "Norwich", "Torrington", "Trumbull",
    "Glastonbury", "Naugatuck", "Newington", "Cheshire", "Vernon", "Windsor", "New London",
]  # fmt: skip
STATUSES = ["Open", "Closed", "Pending review", "Referred", "Withdrawn", "Approved"]
PROGRAMS = ["SNAP", "WIC", "Medicaid", "HUSKY A", "Energy assistance", "Child care", "TANF"]

# Column name, PostgreSQL type for --pg-columns typed. XLoader uses `text` for every column.
COLUMNS = [
    ("record_id", "bigint"),
    ("full_name", "text"),
    ("town", "text"),
    ("program", "text"),
    ("amount", "numeric(14,2)"),
    ("quantity", "integer"),
    ("score", "double precision"),
    ("event_date", "date"),
    ("recorded_at", "timestamp"),
    ("status", "text"),
    ("is_active", "boolean"),
    ("note", "text"),
]


def duck(sql: str) -> dict:
    """Run one DuckDB statement in a child process; its rows and DuckDB's version."""
    done = subprocess.run(
        [str(PYTHON), "-c", DUCK_QUERY, sql], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"duckdb failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: list[str], salt: int) -> str:
    return f"{_sql_list(values)}[1 + (hash(i, {salt}) % {len(values)})::INTEGER]"


def generate_csv(path: Path, rows: int) -> dict:
    """Write `rows` deterministic pseudo-random rows (hash of the row number) with DuckDB."""
    meta_path = path.with_suffix(".json")
    reused = reusable_csv(path, rows, GENERATOR_VERSION)
    if reused is not None:
        return reused
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".csv.part")
    select = f"""
        SELECT
            i + 1 AS record_id,
            {_pick(FIRST_NAMES, 1)} || ' ' || {_pick(LAST_NAMES, 2)} AS full_name,
            {_pick(TOWNS, 3)} AS town,
            {_pick(PROGRAMS, 4)} AS program,
            CASE WHEN hash(i, 5) % 50 = 0 THEN NULL
                 ELSE (hash(i, 6) % 2000000)::BIGINT * 0.01 - 2500 END AS amount,
            (hash(i, 7) % 500)::INTEGER AS quantity,
            round((hash(i, 8) % 1000000)::DOUBLE / 9973.0, 4) AS score,
            DATE '2010-01-01' + (hash(i, 9) % 5475)::INTEGER AS event_date,
            TIMESTAMP '2010-01-01 00:00:00' + to_seconds((hash(i, 10) % 473040000)::BIGINT)
                AS recorded_at,
            {_pick(STATUSES, 11)} AS status,
            hash(i, 12) % 3 <> 0 AS is_active,
            CASE hash(i, 13) % 4
                WHEN 0 THEN 'Visit in ' || {_pick(TOWNS, 14)} || ', follow-up due'
                WHEN 1 THEN 'Caller said "call back later", ref ' || (hash(i, 15) % 100000)::VARCHAR
                WHEN 2 THEN 'Documents received'
                ELSE 'Transferred from ' || {_pick(PROGRAMS, 16)} || ', case '
                     || (hash(i, 17) % 1000000)::VARCHAR
            END AS note
        FROM range({rows}) AS t(i)
        ORDER BY i
    """
    started = time.perf_counter()
    version = duck(f"COPY ({select}) TO '{temp}' (FORMAT csv, HEADER true, DELIMITER ',')")[
        "version"
    ]
    os.replace(temp, path)
    meta = {
        "rows": rows,
        "generator": GENERATOR_VERSION,
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
        "duckdb": version,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["reused"] = False
    return meta


def warm_cache(path: Path) -> None:
    """Read the file once so every method starts with it in the page cache."""
    with path.open("rb") as handle:
        while handle.read(16 << 20):
            pass


# statedata ------------------------------------------------------------------------------------

API_SETUP = """
import sys
from statedata.catalog import service
from statedata.errors import AlreadyExists
from statedata.installation import Installation
inst = Installation.open(sys.argv[1])
try:
    with inst.catalog.session() as session:
        service.add_agency(session, sys.argv[2], sys.argv[3])
except AlreadyExists:
    pass
inst.close()
"""

API_PUBLISH = """
import sys
from statedata.catalog.metadata import DatasetMetadata
from statedata.ingest import open_table
from statedata.installation import Installation
from statedata.storage import NewDataset, publish
path, agency, title, home = sys.argv[1:5]
inst = Installation.open(home)
result = publish(
    inst, open_table(path), new=NewDataset(DatasetMetadata(title=title), agency)
)
print(result.dataset_id)
inst.close()
"""


def statedata_cli(python: Path) -> Path | None:
    """The `statedata` console script, if it runs and has `publish`."""
    script = python.parent / "statedata"
    if not script.exists():
        return None
    try:
        help_text = subprocess.run(
            [str(script), "--help"], capture_output=True, text=True, timeout=120
        )
        if help_text.returncode != 0 or "publish" not in help_text.stdout:
            return None
        publish_help = subprocess.run(
            [str(script), "publish", "--help"], capture_output=True, text=True, timeout=120
        )
        if publish_help.returncode != 0 or "--home" not in publish_help.stdout:
            return None
    except (OSError, subprocess.TimeoutExpired):
        return None
    return script


def setup_home(home: Path, python: Path, cli: Path | None) -> None:
    shutil.rmtree(home, ignore_errors=True)
    if cli is not None:
        subprocess.run([str(cli), "init", "--home", str(home)], check=True, capture_output=True)
        added = subprocess.run(
            [str(cli), "agencies", "add", "BENCH", "Benchmark agency", "--home", str(home)],
            capture_output=True,
            text=True,
        )
        if added.returncode != 0 and "exist" not in (added.stdout + added.stderr).lower():
            raise RuntimeError(f"statedata agencies add failed: {added.stderr or added.stdout}")
    else:
        subprocess.run(
            [str(python), "-c", API_SETUP, str(home), "BENCH", "Benchmark agency"],
            check=True,
            capture_output=True,
        )


def run_statedata(csv: Path, home: Path, python: Path, cli: Path | None, log_dir: Path) -> Measured:
    title = f"Ingest benchmark {csv.stem}"
    if cli is not None:
        argv = [
            str(cli), "publish", str(csv), "--agency", "BENCH", "--title", title,
            "--home", str(home),
        ]  # fmt: skip
    else:
        argv = [str(python), "-c", API_PUBLISH, str(csv), "BENCH", title, str(home)]
    measured = run_measured(argv, log_dir=log_dir)
    measured.extra["via"] = "cli" if cli is not None else "python-api"
    if measured.returncode == 0:
        files = sorted((home / "data").glob("*/v*.parquet"))
        if files:
            parquet = files[-1]
            measured.extra["output_mb"] = parquet.stat().st_size / (1 << 20)
            measured.extra["rows_out"] = parquet_rows(parquet)
            measured.extra["dataset_id"] = parquet.parent.name
    return measured


# DuckDB ---------------------------------------------------------------------------------------

DUCKDB_COPY = """
import sys, duckdb
src, dst, options = sys.argv[1:4]
con = duckdb.connect()
con.execute(f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}' ({options})")
con.close()
"""


def run_duckdb(csv: Path, out: Path, python: Path, options: str, log_dir: Path) -> Measured:
    out.unlink(missing_ok=True)
    argv = [str(python), "-c", DUCKDB_COPY, str(csv), str(out), options]
    measured = run_measured(argv, log_dir=log_dir)
    measured.extra["options"] = options
    if measured.returncode == 0 and out.exists():
        measured.extra["output_mb"] = out.stat().st_size / (1 << 20)
        measured.extra["rows_out"] = parquet_rows(out)
    out.unlink(missing_ok=True)
    return measured


def parquet_rows(path: Path) -> int:
    quoted = str(path).replace("'", "''")
    return duck(f"SELECT count(*) FROM read_parquet('{quoted}')")["rows"][0][0]


# PostgreSQL -----------------------------------------------------------------------------------

# One psycopg session streaming the CSV into the table with COPY FROM STDIN.
COPY_STEP = """
with psycopg.connect(url, application_name=app) as conn:
    with conn.cursor() as cur, open(path, "rb") as handle:
        sql = (f"COPY {table} ({columns}) FROM STDIN "
               "WITH (FORMAT csv, HEADER true, DELIMITER ',', ENCODING 'UTF8')")
        with cur.copy(sql) as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
    conn.commit()
"""
PG_COPY = (
    """
import sys, psycopg
url, table, columns, path, app = sys.argv[1:6]
"""
    + COPY_STEP
)


# XLoader's load after the COPY, in the same session (ckanext-xloader `load_csv`, then
# `create_column_indexes`): `_populate_fulltext` fills _full_text with one UPDATE over every
# column (XLoader writes `coalesce(col, '') || ' ' || ...`, with `::text` on non-text columns;
# concat_ws(' ', ...) is the same text with nulls left out), then CKAN's datastore
# `create_indexes` builds the full-text index on _full_text. The _id primary key exists already.
# Each step is committed, as XLoader does.
PG_XLOADER = (
    """
import sys, psycopg
url, table, columns, path, app, fts_method = sys.argv[1:7]
"""
    + COPY_STEP
    + """    conn.execute(f"UPDATE {table} SET _full_text = to_tsvector(concat_ws(' ', {columns}))")
    conn.commit()
    conn.execute(f'CREATE INDEX "{table}_full_text_idx" ON {table} USING {fts_method}(_full_text)')
    conn.commit()
"""
)


def run_postgres(
    csv: Path,
    pg_url: str,
    python: Path,
    typed: bool,
    log_dir: Path,
    xloader_fts: str | None = None,
) -> Measured:
    """PostgreSQL COPY alone, or with `xloader_fts` ("gin"/"gist") XLoader's whole load."""
    import psycopg

    suffix = "" if xloader_fts is None else "_xloader"
    table_name = f"statedata_bench_ingest_{os.getpid()}{suffix}"
    column_defs = ", ".join(f'"{name}" {kind if typed else "text"}' for name, kind in COLUMNS)
    column_names = ", ".join(f'"{name}"' for name, _ in COLUMNS)
    app = f"{APP_NAME}-{os.getpid()}{suffix}"
    if xloader_fts is None:
        argv = [str(python), "-c", PG_COPY, pg_url, table_name, column_names, str(csv), app]
    else:
        argv = [
            str(python), "-c", PG_XLOADER, pg_url, table_name, column_names, str(csv), app,
            xloader_fts,
        ]  # fmt: skip
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP TABLE IF EXISTS {table_name}")
        # The shape of a CKAN DataStore table: _id serial primary key, _full_text tsvector.
        admin.execute(
            f"CREATE TABLE {table_name} (_id serial PRIMARY KEY, _full_text tsvector, "
            f"{column_defs})"
        )
        try:

            def backend_pid() -> int | None:
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [app]
                ).fetchone()
                return row[0] if row else None

            measured = run_measured(argv, watch=backend_pid, log_dir=log_dir)
            measured.extra["columns"] = "typed" if typed else "text"
            if xloader_fts is not None:
                measured.extra["fts_index"] = xloader_fts
            if measured.returncode == 0:
                rows_out, full_text_rows = admin.execute(
                    f"SELECT count(*), count(_full_text) FROM {table_name}"
                ).fetchone()
                measured.extra["rows_out"] = rows_out
                if xloader_fts is not None:
                    measured.extra["full_text_rows"] = full_text_rows
                    measured.extra["indexes"] = [
                        row[0]
                        for row in admin.execute(
                            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table_name]
                        ).fetchall()
                    ]
                # Table, its TOAST and its indexes (with XLoader's UPDATE: the dead row versions).
                measured.extra["output_mb"] = admin.execute(
                    "SELECT pg_total_relation_size(%s)", [table_name]
                ).fetchone()[0] / (1 << 20)
        finally:
            # The child has exited, but its backend may still be closing; end it (it is ours,
            # found by this run's application_name) so the DROP does not wait on its locks.
            with contextlib.suppress(psycopg.Error):
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    [app],
                )
            admin.execute(f"DROP TABLE IF EXISTS {table_name}")
    return measured


# Report ---------------------------------------------------------------------------------------


HEADERS = [
    "method", "wall s", "rows/s", "CPU s", "rows/CPU-s", "peak RSS MB", "server RSS MB",
    "output MB",
]  # fmt: skip


def summarise(runs: list[Measured], rows: int) -> dict:
    ok = [r for r in runs if r.returncode == 0]
    if not ok:
        return {"ok": False, "error": (runs[-1].stderr or runs[-1].stdout)[-2000:]}
    wall = statistics.median(r.wall_s for r in ok)
    side = [r.side_peak_mb for r in ok if r.side_peak_mb is not None]
    cpu = statistics.median(r.cpu_s for r in ok)
    server_cpus = [r.side_cpu_s for r in ok if r.side_cpu_s is not None]
    server_cpu = statistics.median(server_cpus) if server_cpus else None
    return {
        "ok": True,
        "wall_s": wall,
        "wall_s_min": min(r.wall_s for r in ok),
        "rows_per_s": rows / wall,
        "cpu_s": cpu,
        "server_cpu_s": server_cpu,
        # Client and server CPU time together: less swayed by other work on the machine.
        "rows_per_cpu_s": rows / (cpu + (server_cpu or 0)),
        "peak_mb": max(r.peak_mb for r in ok),
        "server_peak_mb": max(side) if side else None,
        "output_mb": ok[-1].extra.get("output_mb"),
        "rows_out": ok[-1].extra.get("rows_out"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--pg-columns", choices=["text", "typed"], default="text",
        help="column types of the PostgreSQL table: text (what XLoader does) or typed",
    )  # fmt: skip
    parser.add_argument(
        "--statedata-via", choices=["auto", "cli", "api"], default="auto",
        help="run publish through the CLI, the Python API, or the CLI when it is installed",
    )  # fmt: skip
    parser.add_argument(
        "--skip", action="append", default=[],
        choices=["statedata", "duckdb", "duckdb-zstd", "postgres", "postgres-xloader"],
        help="leave a method out",
    )  # fmt: skip
    parser.add_argument(
        "--xloader-fts-index", choices=["gin", "gist"], default="gin",
        help="index method of the _full_text index in XLoader's whole load (CKAN's "
        "ckan.datastore.default_fts_index_method; its configured default is gist)",
    )  # fmt: skip
    parser.add_argument("--python", type=Path, default=None, help="python of the statedata venv")
    args = parser.parse_args(argv)

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    python = args.python or (REPO / ".venv" / "bin" / "python")
    if not python.exists():
        python = Path(sys.executable)
    python = python.absolute()  # keep the venv's bin/ (do not resolve the symlink away)
    global PYTHON
    PYTHON = python
    duckdb_version = duck("")["version"]

    csv = workdir / f"ingest-{args.rows}.csv"
    print(f"CSV: {csv} ({args.rows:,} rows) ...", flush=True)
    meta = generate_csv(csv, args.rows)
    print(
        f"CSV: {meta['bytes'] / 1e9:.2f} GB, "
        + ("reused" if meta["reused"] else f"generated in {meta['seconds']} s"),
        flush=True,
    )
    warm_cache(csv)

    cli = None
    if args.statedata_via != "api":
        cli = statedata_cli(python)
        if cli is None and args.statedata_via == "cli":
            print("statedata CLI with `publish --home` not available", file=sys.stderr)
            return 2
    via = "CLI" if cli else "Python API"
    print(f"statedata publish via the {via}", flush=True)

    logs = workdir / "logs"
    home = workdir / "home"
    runs: dict[str, list[Measured]] = {
        "statedata": [], "duckdb": [], "duckdb-zstd": [], "postgres": [], "postgres-xloader": []
    }  # fmt: skip
    for round_number in range(1, args.repeat + 1):
        print(f"-- round {round_number}/{args.repeat}", flush=True)
        if "statedata" not in args.skip:
            setup_home(home, python, cli)
            m = run_statedata(csv, home, python, cli, logs)
            runs["statedata"].append(m)
            _progress("statedata publish", m)
            shutil.rmtree(home, ignore_errors=True)
        if "duckdb" not in args.skip:
            m = run_duckdb(csv, workdir / "duckdb.parquet", python, "FORMAT parquet", logs)
            runs["duckdb"].append(m)
            _progress("duckdb COPY", m)
        if "duckdb-zstd" not in args.skip:
            m = run_duckdb(
                csv, workdir / "duckdb-zstd.parquet", python,
                "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 122880",
                logs,
            )  # fmt: skip
            runs["duckdb-zstd"].append(m)
            _progress("duckdb COPY zstd", m)
        if "postgres" not in args.skip:
            try:
                m = run_postgres(csv, args.pg_url, python, args.pg_columns == "typed", logs)
            except Exception as error:  # no server is a result, not a crash
                print(f"postgres: {error}", file=sys.stderr)
                args.skip.append("postgres")
            else:
                runs["postgres"].append(m)
                _progress("postgres COPY", m)
        if "postgres-xloader" not in args.skip:
            try:
                m = run_postgres(
                    csv, args.pg_url, python, args.pg_columns == "typed", logs,
                    xloader_fts=args.xloader_fts_index,
                )  # fmt: skip
            except Exception as error:  # no server is a result, not a crash
                print(f"postgres (XLoader's whole load): {error}", file=sys.stderr)
                args.skip.append("postgres-xloader")
            else:
                runs["postgres-xloader"].append(m)
                _progress("postgres XLoader's whole load", m)

    summary = {name: summarise(r, args.rows) for name, r in runs.items() if r}
    ratios = {}
    sd = summary.get("statedata", {})
    for other, target, label in (
        ("duckdb", TARGET_VS_DUCKDB, "statedata/duckdb"),
        ("postgres", TARGET_VS_POSTGRES, "statedata/postgres"),
        ("postgres-xloader", TARGET_VS_POSTGRES, "statedata/XLoader whole load"),
    ):
        o = summary.get(other, {})
        if sd.get("ok") and o.get("ok"):
            value = sd["rows_per_s"] / o["rows_per_s"]
            ratios[f"statedata/{other}"] = {
                "label": label, "ratio": value, "target": target, "meets_target": value >= target,
                "cpu_ratio": sd["rows_per_cpu_s"] / o["rows_per_cpu_s"],
            }  # fmt: skip

    labels = {
        "statedata": f"statedata publish ({via})",
        "duckdb": "duckdb COPY -> parquet (defaults)",
        "duckdb-zstd": "duckdb COPY -> parquet (zstd, like statedata)",
        "postgres": f"postgres COPY FROM STDIN ({args.pg_columns} cols)",
        "postgres-xloader": (
            f"postgres: XLoader's whole load ({args.pg_columns} cols, "
            f"{args.xloader_fts_index} index)"
        ),
    }
    rows_out = []
    for name, s in summary.items():
        if not s["ok"]:
            rows_out.append([labels[name], "FAILED", *[None] * 7])
            continue
        server = s["server_peak_mb"]
        output = s["output_mb"]
        cpu = s["cpu_s"] + (s["server_cpu_s"] or 0)
        rows_out.append([
            labels[name], round(s["wall_s"], 2), round(s["rows_per_s"]), round(cpu, 1),
            round(s["rows_per_cpu_s"]), round(s["peak_mb"]),
            None if server is None else round(server), None if output is None else round(output),
        ])  # fmt: skip
    print()
    print(
        f"Ingest of {args.rows:,} rows, {meta['bytes'] / 1e9:.2f} GB CSV, "
        f"median of {args.repeat} run(s), {os.cpu_count()} CPUs, DuckDB {duckdb_version}"
    )
    print(table(HEADERS, rows_out))
    for r in ratios.values():
        verdict = "meets" if r["meets_target"] else "BELOW"
        print(
            f"{r['label']}: {r['ratio']:.2f}x rows/s (target >= {r['target']}x: {verdict}); "
            f"{r['cpu_ratio']:.2f}x rows per CPU-second"
        )
    print(
        "CPU s = user+system time of the client process, plus the PostgreSQL backend's for the "
        "COPY (and XLoader's UPDATE and CREATE INDEX). peak RSS = the client process (wait4 "
        "ru_maxrss and polled process-tree RSS). server RSS = the PostgreSQL backend serving "
        "the client (polled; includes the shared buffers it touched). XLoader's whole load = "
        "COPY + UPDATE _full_text + full-text index, without its Python UTF-8 rewrite of the "
        "file. Load average when done: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    for name, s in summary.items():
        if not s["ok"]:
            print(f"{name} failed: {s['error']}", file=sys.stderr)

    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "csv": {**meta, "path": str(csv)},
        "machine": machine(),
        "duckdb_version": duckdb_version,
        "statedata_via": via,
        "pg_columns": args.pg_columns,
        "xloader_fts_index": args.xloader_fts_index,
        "repeat": args.repeat,
        "summary": summary,
        "ratios": ratios,
        "runs": {name: [m.as_dict() | {"extra": m.extra} for m in r] for name, r in runs.items()},
    }
    out = workdir / "ingest-results.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    # A copy named by row count, so a small test run does not hide the last full run.
    (workdir / f"ingest-results-{args.rows}.json").write_text(out.read_text())
    print(f"results: {out}")
    return 0 if all(s["ok"] for s in summary.values()) else 1


def _progress(label: str, m: Measured) -> None:
    state = "ok" if m.returncode == 0 else f"FAILED (exit {m.returncode})"
    print(f"   {label}: {m.wall_s:.2f} s, peak {m.peak_mb:.0f} MB, {state}", flush=True)
    if m.returncode != 0:
        print((m.stderr or m.stdout)[-1500:], file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
