"""Query benchmark (issue #3): statedata's SODA API next to Datasette and PostgreSQL.

One generated table (1M and, with --sizes, 10M rows) is loaded into statedata (`statedata
publish`), into SQLite for Datasette (`sqlite-utils`, FTS5) and into PostgreSQL (typed columns,
a GIN-indexed `_full_text` as CKAN's DataStore has). Then, in one run and per size:

  (a) a grouped aggregate with a filter,
  (b) a filtered page of 100 rows at a deep offset,
  (c) a full-text search returning 20 rows,
  (d) requests per second under 32 concurrent clients asking (b) with varying offsets.

statedata and Datasette are asked over HTTP on loopback (their JSON APIs); PostgreSQL is asked
through psycopg from this process, so its figures are the engine alone (CKAN's HTTP layer and
`datastore_search` would add to them). Medians over --repeat runs after a warm-up. Answers of
(a), (b) and (c) are compared across the engines before anything is timed.

    .venv/bin/python bench/query.py --sizes 200000          # a quick end-to-end check
    .venv/bin/python bench/query.py                          # 1M rows
    .venv/bin/python bench/query.py --sizes 1000000,10000000

Datasette and sqlite-utils are installed from bench/requirements-peers.txt into their own
virtualenv (bench/out/venv-peers) on first use. Everything generated goes under bench/out/.
"""

from __future__ import annotations

import argparse
import http.client
import inspect
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, reusable_csv, table

REPO = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 1
APP_NAME = "statedata-bench-query"
# statedata throttles callers without a registered app token per address; a client that sends
# as many calls as this one registers a token and sends it, as Socrata asks heavy clients to.
BENCH_USER = "bench.client"
TABLE = "records"  # the table's name in SQLite and (with a size suffix) in PostgreSQL
TARGETS = {
    "a_vs_datasette": 13.0,
    "a_vs_postgres": 6.0,
    "b_vs_datasette": 1.5,
    "b_vs_postgres": 1.5,
    "c_vs_postgres": 10.0,
    "c_vs_datasette": 1.0,
    "d_vs_datasette": 1.0,
}

# 169 Connecticut towns by county.
COUNTIES = {
    "Fairfield County": (
        "Bethel Bridgeport Brookfield Danbury Darien Easton Fairfield Greenwich Monroe "
        "New_Canaan New_Fairfield Newtown Norwalk Redding Ridgefield Shelton Sherman Stamford "
        "Stratford Trumbull Weston Westport Wilton"
    ),
    "Hartford County": (
        "Avon Berlin Bloomfield Bristol Burlington Canton East_Granby East_Hartford "
        "East_Windsor Enfield Farmington Glastonbury Granby Hartford Hartland Manchester "
        "Marlborough New_Britain Newington Plainville Rocky_Hill Simsbury South_Windsor "
        "Southington Suffield West_Hartford Wethersfield Windsor Windsor_Locks"
    ),
    "Litchfield County": (
        "Barkhamsted Bethlehem Bridgewater Canaan Colebrook Cornwall Goshen Harwinton Kent "
        "Litchfield Morris New_Hartford New_Milford Norfolk North_Canaan Plymouth Roxbury "
        "Salisbury Sharon Thomaston Torrington Warren Washington Watertown Winchester Woodbury"
    ),
    "Middlesex County": (
        "Chester Clinton Cromwell Deep_River Durham East_Haddam East_Hampton Essex Haddam "
        "Killingworth Middlefield Middletown Old_Saybrook Portland Westbrook"
    ),
    "New Haven County": (
        "Ansonia Beacon_Falls Bethany Branford Cheshire Derby East_Haven Guilford Hamden "
        "Madison Meriden Middlebury Milford Naugatuck New_Haven North_Branford North_Haven "
        "Orange Oxford Prospect Seymour Southbury Wallingford Waterbury West_Haven Wolcott "
        "Woodbridge"
    ),
    "New London County": (
        "Bozrah Colchester East_Lyme Franklin Griswold Groton Lebanon Ledyard Lisbon Lyme "
        "Montville New_London North_Stonington Norwich Old_Lyme Preston Salem Sprague "
        "Stonington Voluntown Waterford"
    ),
    "Tolland County": (
        "Andover Bolton Columbia Coventry Ellington Hebron Mansfield Somers Stafford Tolland "
        "Union Vernon Willington"
    ),
    "Windham County": (
        "Ashford Brooklyn Canterbury Chaplin Eastford Hampton Killingly Plainfield Pomfret "
        "Putnam Scotland Sterling Thompson Windham Woodstock"
    ),
}
TOWNS = [
    (town.replace("_", " "), county) for county, names in COUNTIES.items() for town in names.split()
]
assert len(TOWNS) == 169, len(TOWNS)
# Categories with uneven shares (percent).
CATEGORIES = [
    ("Inspection", 22), ("Permit", 18), ("Complaint", 14), ("License", 11), ("Payment", 9),
    ("Service request", 8), ("Violation", 6), ("Grant", 5), ("Registration", 4), ("Appeal", 3),
]  # fmt: skip
assert sum(share for _, share in CATEGORIES) == 100
PAGE_CATEGORY = "Permit"  # (b) pages through this category
VOCABULARY = 2000
SEARCH_RANK = 60  # (c) searches for the word of this frequency rank (0 = most frequent)


def vocabulary() -> list[str]:
    """2,000 made-up six-letter words (three consonant-vowel syllables), all different, none
    a part of another word or of a town, county or category name."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]  # 70
    words = []
    for k in range(VOCABULARY):
        n = (k * 7919 + 104729) % 70**3  # 7919 is prime to 343,000: all different
        words.append(syllables[n % 70] + syllables[(n // 70) % 70] + syllables[n // 4900])
    assert len(set(words)) == VOCABULARY
    return words


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generate_csv(path: Path, rows: int) -> dict:
    """Write `rows` deterministic rows (hashes of the row number) with DuckDB; reuse the file
    while its meta file says it was made by this generator for this many rows."""
    meta_path = path.with_suffix(".json")
    reused = reusable_csv(path, rows, GENERATOR_VERSION)
    if reused is not None:
        return reused
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".csv.part")
    towns = _sql_list([t for t, _ in TOWNS])
    counties = _sql_list([c for _, c in TOWNS])
    bounds, total = [], 0
    for name, share in CATEGORIES:
        total += share
        bounds.append(f"WHEN hash(i, 4) % 100 < {total} THEN '{name}'")
    words = _sql_list(vocabulary())
    # A word's rank r is floor(V^u) - 1 for u uniform in [0, 1): P(r) ~ 1/(r+1), Zipf-like.
    rank = f"(floor(exp(((hash(i, 20 + k) % 1000000)::DOUBLE / 1000000) * ln({VOCABULARY}))) - 1)"
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # Lists in variables: a list literal inside the lambda would be built again for every row.
    con.execute(f"SET VARIABLE towns = {towns}")
    con.execute(f"SET VARIABLE counties = {counties}")
    con.execute(f"SET VARIABLE words = {words}")
    con.execute(f"""
        COPY (
          SELECT
            i AS id,
            getvariable('towns')[1 + (hash(i, 1) % 169)::INTEGER] AS town,
            getvariable('counties')[1 + (hash(i, 1) % 169)::INTEGER] AS county,
            CASE {" ".join(bounds)} END AS category,
            round((hash(i, 5) % 10000000)::DOUBLE / 100, 2) AS amount,
            (hash(i, 6) % 100)::INTEGER AS count,
            DATE '2015-01-01' + (hash(i, 7) % 3650)::INTEGER AS day,
            array_to_string(
              list_transform(range(4 + (hash(i, 8) % 5)::INTEGER),
                             k -> getvariable('words')[1 + {rank}::INTEGER]),
              ' ') AS description
          FROM range(1, {rows} + 1) r(i)
          ORDER BY i
        ) TO '{temp}' (FORMAT csv, HEADER true)
    """)
    con.close()
    temp.rename(path)
    meta = {
        "rows": rows,
        "generator": GENERATOR_VERSION,
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - start, 1),
        "reused": False,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def csv_facts(path: Path, word: str) -> dict:
    """What the questions need to know about the data: matching counts, so that the deep
    offset is at 80% of the matching rows."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    src = f"read_csv('{path}', header = true)"
    page_rows = con.execute(
        f"SELECT count(*) FROM {src} WHERE category = ?", [PAGE_CATEGORY]
    ).fetchone()[0]
    search_rows = con.execute(
        f"SELECT count(*) FROM {src} WHERE contains(lower(concat_ws(' ', town, county, "
        "category, description)), ?)",
        [word],
    ).fetchone()[0]
    con.close()
    return {"page_rows": page_rows, "search_rows": search_rows}


# ---------------------------------------------------------------------------------------------
# Loading


def run(argv: list[str], log: Path, env: dict | None = None) -> str:
    """Run a command to completion; its output goes to `log`; returns stdout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=err, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed; see {log}")
    return done.stdout.decode()


def peers_venv(workdir: Path, log: Path) -> Path:
    """bench/out/venv-peers with Datasette and sqlite-utils, made on first use."""
    venv = workdir.parent / "venv-peers"
    requirements = REPO / "bench" / "requirements-peers.txt"
    stamp = venv / "requirements-peers.txt"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return venv
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", "--clear", str(venv)], log)
    run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)], log)
    shutil.copy(requirements, stamp)
    return venv


def _stamp_ok(meta_path: Path, rows: int, csv_meta: dict) -> dict | None:
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("rows") == rows and meta.get("csv_bytes") == csv_meta["bytes"]:
        return meta
    return None


def load_statedata(csv: Path, home: Path, rows: int, csv_meta: dict, log: Path) -> dict:
    meta_path = home.with_suffix(".json")
    meta = _stamp_ok(meta_path, rows, csv_meta)
    if meta and (home / "catalog.sqlite").exists():
        return {**meta, "reused": True}
    shutil.rmtree(home, ignore_errors=True)
    cli = str(REPO / ".venv" / "bin" / "statedata")
    start = time.perf_counter()
    run([cli, "init", "--home", str(home)], log)
    run([cli, "agencies", "add", "BENCH", "Benchmark agency", "--home", str(home)], log)
    out = run(
        [cli, "publish", str(csv), "--agency", "BENCH", "--title", f"Query bench {rows}",
         "--home", str(home)],
        log,
    )  # fmt: skip
    dataset_id = out.strip().splitlines()[-1].strip()
    meta = {
        "rows": rows,
        "csv_bytes": csv_meta["bytes"],
        "dataset_id": dataset_id,
        "load_s": round(time.perf_counter() - start, 1),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return {**meta, "reused": False}


def registered_app_token(home: Path, log: Path) -> dict[str, str]:
    """The X-App-Token header of a token registered in the statedata home (once)."""
    saved = home / "bench-app-token"
    if saved.exists():
        return {"X-App-Token": saved.read_text().strip()}
    cli = str(REPO / ".venv" / "bin" / "statedata")
    if BENCH_USER not in run([cli, "users", "list", "--home", str(home)], log):
        run([cli, "users", "add", BENCH_USER, "--role", "analyst", "--home", str(home)], log)
    printed = run(
        [cli, "users", "app-token", BENCH_USER, "--app", APP_NAME, "--home", str(home)], log
    )
    token = printed.strip().splitlines()[-1].strip()
    saved.write_text(token)
    return {"X-App-Token": token}


def load_sqlite(csv: Path, db: Path, venv: Path, rows: int, csv_meta: dict, log: Path) -> dict:
    meta_path = db.with_suffix(".json")
    meta = _stamp_ok(meta_path, rows, csv_meta)
    if meta and db.exists():
        return {**meta, "reused": True}
    db.unlink(missing_ok=True)
    tool = str(venv / "bin" / "sqlite-utils")
    start = time.perf_counter()
    run([tool, "insert", str(db), TABLE, str(csv), "--csv", "--detect-types", "--pk", "id"], log)
    inserted = time.perf_counter() - start
    run([tool, "create-index", str(db), TABLE, "category"], log)
    run([tool, "create-index", str(db), TABLE, "county"], log)
    run(
        [tool, "enable-fts", str(db), TABLE, "town", "county", "category", "description",
         "--fts5", "--create-triggers"],
        log,
    )  # fmt: skip
    run([tool, "analyze", str(db)], log)
    meta = {
        "rows": rows,
        "csv_bytes": csv_meta["bytes"],
        "load_s": round(time.perf_counter() - start, 1),
        "insert_s": round(inserted, 1),
        "db_bytes": db.stat().st_size,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return {**meta, "reused": False}


def pg_table(rows: int) -> str:
    return f"statedata_bench_query_{rows}"


def load_postgres(csv: Path, pg_url: str, rows: int, csv_meta: dict) -> dict:
    import psycopg

    name = pg_table(rows)
    stamp = json.dumps({"rows": rows, "csv_bytes": csv_meta["bytes"], "g": GENERATOR_VERSION})
    with psycopg.connect(pg_url, autocommit=True) as con:
        found = con.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", [name]
        ).fetchone()
        if found and found[0] == stamp:
            size = con.execute("SELECT pg_total_relation_size(%s::regclass)", [name]).fetchone()
            return {"table": name, "reused": True, "table_bytes": size[0]}
        start = time.perf_counter()
        con.execute(f"DROP TABLE IF EXISTS {name}")
        # Shaped like a CKAN DataStore table with typed columns: the full-text column covers
        # the text columns (as statedata's $q does), in CKAN's default 'english' configuration.
        con.execute(f"""
            CREATE TABLE {name} (
                id bigint PRIMARY KEY, town text, county text, category text,
                amount double precision, "count" integer, day date, description text,
                _full_text tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
                    coalesce(town, '') || ' ' || coalesce(county, '') || ' '
                    || coalesce(category, '') || ' ' || coalesce(description, ''))) STORED
            )""")
        with (
            con.cursor() as cur,
            cur.copy(
                f'COPY {name} (id, town, county, category, amount, "count", day, description)'
                " FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy,
            csv.open("rb") as f,
        ):
            while block := f.read(1 << 20):
                copy.write(block)
        con.execute("SET maintenance_work_mem = '512MB'")
        con.execute(f"CREATE INDEX ON {name} (category)")
        con.execute(f"CREATE INDEX ON {name} (county)")
        con.execute(f"CREATE INDEX ON {name} USING gin (_full_text)")
        con.execute(f"VACUUM ANALYZE {name}")
        con.execute(f"COMMENT ON TABLE {name} IS '{stamp}'")
        size = con.execute("SELECT pg_total_relation_size(%s::regclass)", [name]).fetchone()
        return {
            "table": name,
            "reused": False,
            "load_s": round(time.perf_counter() - start, 1),
            "table_bytes": size[0],
        }


# ---------------------------------------------------------------------------------------------
# Servers and HTTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on loopback, its output in a log file, stopped by its own pid."""

    def __init__(self, name: str, argv: list[str], port: int, ready_path: str, log: Path):
        self.name, self.port, self.ready_path = name, port, ready_path
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log.open("ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                status, _ = get(self.port, self.ready_path, timeout=30)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def get(port: int, path: str, timeout: float = 120) -> tuple[int, bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        con.request("GET", path)
        response = con.getresponse()
        return response.status, response.read()
    finally:
        con.close()


class Client:
    """One keep-alive HTTP connection; `get` returns (status, body)."""

    def __init__(self, port: int, timeout: float = 120, headers: dict | None = None) -> None:
        self.port, self.timeout, self.headers = port, timeout, headers or {}
        self.con: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.con is None:
                self.con = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.con.request("GET", path, headers=self.headers)
                response = self.con.getresponse()
                body = response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


def qs(params: dict[str, str]) -> str:
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


# ---------------------------------------------------------------------------------------------
# The questions, as each engine is asked them


def questions(dataset_id: str, facts: dict, word: str) -> dict:
    deep = max(0, int(facts["page_rows"] * 0.8) - 100)
    soda = f"/resource/{dataset_id}.json?"
    agg_sql = (
        'SELECT county, sum(amount) AS total, count(*) AS n FROM {t} WHERE "count" > 10 '
        "GROUP BY county ORDER BY total DESC"
    )
    page_sql = (
        'SELECT id, town, county, category, amount, "count", day, description FROM {t} '
        "WHERE category = '" + PAGE_CATEGORY + "' ORDER BY id LIMIT 100 OFFSET {o}"
    )

    def page_soda(offset: int, order: str = "id") -> str:
        return soda + qs({
            "$where": f"category='{PAGE_CATEGORY}'", "$order": order,
            "$limit": "100", "$offset": str(offset),
        })  # fmt: skip

    def page_soda_by_row_id(offset: int) -> str:
        return page_soda(offset, ":id")

    def page_datasette(offset: int) -> str:
        return "/bench.json?" + qs({
            "sql": page_sql.format(t=TABLE, o=offset), "_shape": "array",
        })  # fmt: skip

    return {
        "deep_offset": deep,
        "word": word,
        "a": {
            "statedata": soda
            + qs(
                {
                    "$select": "county,sum(amount) AS total,count(*) AS n",
                    "$where": "count > 10",
                    "$group": "county",
                    "$order": "total DESC",
                }
            ),
            "datasette": "/bench.json?" + qs({"sql": agg_sql.format(t=TABLE), "_shape": "array"}),
            "postgres": agg_sql,
        },
        "b": {
            "statedata": page_soda,
            # :id is SODA's paging order (and the default); here it equals id.
            "statedata_by_row_id": page_soda_by_row_id,
            "datasette": page_datasette,
            "postgres": page_sql,
        },
        "c": {
            "statedata": soda + qs({"$q": word, "$limit": "20"}),
            # Datasette's table view orders by the primary key (id) when no _sort is given.
            "datasette": f"/bench/{TABLE}.json?"
            + qs({"_search": word, "_size": "20", "_shape": "array"}),
            "postgres_fts": (
                "SELECT * FROM {t} WHERE _full_text @@ plainto_tsquery('english', %s) "
                "ORDER BY id LIMIT 20"
            ),
            "postgres_fts_unordered": (
                "SELECT * FROM {t} WHERE _full_text @@ plainto_tsquery('english', %s) LIMIT 20"
            ),
            "postgres_ilike": (
                "SELECT * FROM {t} WHERE concat_ws(' ', town, county, category, description) "
                "ILIKE %s ORDER BY id LIMIT 20"
            ),
        },
    }


def statedata_sql(home: Path, dataset_id: str, path: str) -> str:
    """The DuckDB SQL statedata runs for the SODA request `path` (for the engine-alone
    reference): parsed and compiled by statedata's own code, without the version's sidecar
    index, so what the server runs until that index is built (with it, the pages of (b) and
    (c) are read from the index's row store, without SQL)."""
    from statedata.catalog import service
    from statedata.installation import Installation
    from statedata.query import columns_of, compile_query, parse_request
    from statedata.storage.versions import version_rows_sql

    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    installation = Installation.open(home)
    try:
        with installation.catalog.session() as session:
            version = service.get_dataset(session, dataset_id).current_version
            query = parse_request(params, columns_of(version.schema))
            options = {}
            # As the SODA route compiles it: versions are stored in :id order (since 49268cd).
            if "rows_in_id_order" in inspect.signature(compile_query).parameters:
                options["rows_in_id_order"] = True
            return compile_query(query, version_rows_sql(installation, version), **options).sql
    finally:
        installation.close()


def duckdb_connection(home: Path):
    from statedata.installation import Installation
    from statedata.storage.duck import connect

    installation = Installation.open(home)
    try:
        return connect(installation.settings)
    finally:
        installation.close()


# ---------------------------------------------------------------------------------------------
# Checking that the engines agree


def _num(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


def check_answers(size: int, answers: dict) -> list[str]:
    """Warnings where the engines' answers to (a), (b) or (c) differ."""
    warnings = []
    a = {}
    for engine, rows in answers["a"].items():
        a[engine] = [(r["county"], round(_num(r["total"]), 2), int(r["n"])) for r in rows]
    ref = a.get("postgres")
    for engine, rows in a.items():
        if ref is None or len(rows) != len(ref):
            warnings.append(f"(a) {engine}: {len(rows)} rows, postgres {len(ref or [])}")
            continue
        for mine, theirs in zip(rows, ref, strict=True):
            if (
                mine[0] != theirs[0]
                or mine[2] != theirs[2]
                or not math.isclose(mine[1], theirs[1], rel_tol=1e-9)
            ):
                warnings.append(f"(a) {engine} differs from postgres: {mine} vs {theirs}")
                break
    ids = {engine: [int(r["id"]) for r in rows] for engine, rows in answers["b"].items()}
    ref_ids = ids.get("postgres")
    for engine, got in ids.items():
        if got != ref_ids:
            warnings.append(
                f"(b) {engine} gives other rows than postgres "
                f"({len(got)} rows, first ids {got[:3]} vs {(ref_ids or [])[:3]})"
            )
    cids = {engine: [int(r["id"]) for r in rows] for engine, rows in answers["c"].items()}
    ref_c = cids.get("postgres_fts")
    for engine, got in cids.items():
        if engine == "postgres_fts_unordered":
            continue
        if got != ref_c:
            warnings.append(
                f"(c) {engine} gives other rows than postgres_fts: {got[:5]} vs {(ref_c or [])[:5]}"
            )
    return [f"{size:,} rows: {w}" for w in warnings]


# ---------------------------------------------------------------------------------------------
# Timing


def timed(fn, repeat: int, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {
        "median_ms": round(statistics.median(times) * 1000, 2),
        "min_ms": round(min(times) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
        "runs_ms": [round(t * 1000, 2) for t in times],
    }


def http_fn(client: Client, path: str):
    def fn() -> bytes:
        status, body = client.get(path)
        if status != 200:
            raise RuntimeError(f"HTTP {status} for {path}: {body[:300]!r}")
        return body

    return fn


def throughput(
    port: int,
    make_path,
    deep: int,
    clients: int,
    seconds: float,
    seed: int,
    headers: dict | None = None,
    server_pid: int | None = None,
) -> dict:
    """`clients` threads, each with its own keep-alive connection, ask (b) at random offsets in
    [0, deep] for `seconds`; count answers, errors and latencies. The server's peak RSS and
    thread count are polled on the side."""
    start_barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]
    results: list[dict] = [{} for _ in range(clients)]

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        client = Client(port, timeout=60, headers=headers)
        ok = errors = 0
        latencies: list[float] = []
        kinds: dict[str, int] = {}
        start_barrier.wait()
        while time.perf_counter() < stop_at[0]:
            path = make_path(rng.randint(0, deep))
            began = time.perf_counter()
            try:
                status, _ = client.get(path)
            except Exception as error:
                errors += 1
                kinds[type(error).__name__] = kinds.get(type(error).__name__, 0) + 1
                client.close()
                continue
            if status == 200:
                ok += 1
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
                kinds[f"HTTP {status}"] = kinds.get(f"HTTP {status}", 0) + 1
        client.close()
        results[index] = {"ok": ok, "errors": errors, "latencies": latencies, "kinds": kinds}

    server = {"rss_before_mb": None, "peak_rss_mb": 0.0, "peak_threads": 0}
    polling = threading.Event()

    def poll_server() -> None:
        import psutil

        try:
            proc = psutil.Process(server_pid)
            server["rss_before_mb"] = round(proc.memory_info().rss / 2**20)
            while not polling.is_set():
                with proc.oneshot():
                    rss, count = proc.memory_info().rss / 2**20, proc.num_threads()
                server["peak_rss_mb"] = round(max(server["peak_rss_mb"], rss))
                server["peak_threads"] = max(server["peak_threads"], count)
                polling.wait(0.2)
        except psutil.Error:
            pass

    poller = threading.Thread(target=poll_server, daemon=True)
    if server_pid:
        poller.start()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start_barrier.wait()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.perf_counter() - began
    polling.set()
    if server_pid:
        poller.join()
    ok = sum(r.get("ok", 0) for r in results)
    errors = sum(r.get("errors", 0) for r in results)
    latencies = sorted(x for r in results for x in r.get("latencies", []))
    kinds: dict[str, int] = {}
    for r in results:
        for k, v in r.get("kinds", {}).items():
            kinds[k] = kinds.get(k, 0) + v

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "ok": ok,
        "errors": errors,
        "error_kinds": kinds,
        "rps": round(ok / elapsed, 1),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "server": server,
    }


# ---------------------------------------------------------------------------------------------


def bench_size(rows: int, args, workdir: Path, venv: Path, log: Path) -> dict:
    print(f"\n=== {rows:,} rows ===", flush=True)
    csv = workdir / f"data-{rows}.csv"
    csv_meta = generate_csv(csv, rows)
    how = "reused" if csv_meta["reused"] else f"generated in {csv_meta['seconds']} s"
    print(f"CSV {csv} ({csv_meta['bytes'] / 1e6:.0f} MB, {how})", flush=True)
    word = vocabulary()[SEARCH_RANK]
    facts = csv_facts(csv, word)
    print(
        f"(b) pages category '{PAGE_CATEGORY}' ({facts['page_rows']:,} rows); "
        f"(c) searches '{word}' ({facts['search_rows']:,} rows match)",
        flush=True,
    )
    loads = {}
    loads["statedata"] = load_statedata(csv, workdir / f"home-{rows}", rows, csv_meta, log)
    print(f"statedata: {loads['statedata']}", flush=True)
    db = workdir / "sqlite" / f"{rows}" / "bench.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    loads["sqlite"] = load_sqlite(csv, db, venv, rows, csv_meta, log)
    print(f"sqlite: {loads['sqlite']}", flush=True)
    loads["postgres"] = load_postgres(csv, args.pg_url, rows, csv_meta)
    print(f"postgres: {loads['postgres']}", flush=True)

    dataset_id = loads["statedata"]["dataset_id"]
    home = workdir / f"home-{rows}"
    q = questions(dataset_id, facts, word)
    deep = q["deep_offset"]
    pg_t = pg_table(rows)

    app_token = registered_app_token(home, log)
    sd_port, ds_port = free_port(), free_port()
    statedata = Server(
        "statedata",
        [str(REPO / ".venv" / "bin" / "statedata"), "serve", "--home", str(home),
         "--host", "127.0.0.1", "--port", str(sd_port)],
        sd_port, f"/resource/{dataset_id}.json?$limit=1",
        workdir / "logs" / f"statedata-{rows}.log",
    )  # fmt: skip
    datasette = Server(
        "datasette",
        [str(venv / "bin" / "datasette"), "serve", "-i", str(db), "--host", "127.0.0.1",
         "--port", str(ds_port), "--setting", "sql_time_limit_ms", "60000",
         "--setting", "max_returned_rows", "1000"],
        ds_port, "/-/versions.json", workdir / "logs" / f"datasette-{rows}.log",
    )  # fmt: skip
    result: dict = {"rows": rows, "facts": facts, "word": word, "deep_offset": deep,
                    "loads": loads, "csv": csv_meta}  # fmt: skip
    import psycopg
    from psycopg.rows import dict_row

    pg = psycopg.connect(args.pg_url, autocommit=True, application_name=APP_NAME)
    try:
        statedata.wait_ready()
        datasette.wait_ready()
        sd, ds = Client(sd_port, headers=app_token), Client(ds_port)

        def pg_rows(sql: str, params: list | None = None) -> list[dict]:
            with pg.cursor(row_factory=dict_row) as cur:
                return cur.execute(sql, params).fetchall()

        # -- answers agree?
        def fetch(client: Client, path: str) -> list[dict]:
            status, body = client.get(path)
            if status != 200:
                raise RuntimeError(f"HTTP {status} for {path}: {body[:500]!r}")
            return json.loads(body)

        answers = {
            "a": {
                "statedata": fetch(sd, q["a"]["statedata"]),
                "datasette": fetch(ds, q["a"]["datasette"]),
                "postgres": pg_rows(q["a"]["postgres"].format(t=pg_t)),
            },
            "b": {
                "statedata": fetch(sd, q["b"]["statedata"](deep)),
                "statedata_by_row_id": fetch(sd, q["b"]["statedata_by_row_id"](deep)),
                "datasette": fetch(ds, q["b"]["datasette"](deep)),
                "postgres": pg_rows(q["b"]["postgres"].format(t=pg_t, o=deep)),
            },
            "c": {
                "statedata": fetch(sd, q["c"]["statedata"]),
                "datasette": fetch(ds, q["c"]["datasette"]),
                "postgres_fts": pg_rows(q["c"]["postgres_fts"].format(t=pg_t), [word]),
                "postgres_fts_unordered": pg_rows(
                    q["c"]["postgres_fts_unordered"].format(t=pg_t), [word]
                ),
                "postgres_ilike": pg_rows(q["c"]["postgres_ilike"].format(t=pg_t), [f"%{word}%"]),
            },
        }
        counts = {
            "statedata": int(fetch(sd, f"/resource/{dataset_id}.json?"
                                   + qs({"$select": "count(*) AS n", "$q": word}))[0]["n"]),
            "datasette": fetch(ds, "/bench.json?" + qs({
                "sql": f"SELECT count(*) AS n FROM {TABLE} WHERE rowid IN (SELECT rowid FROM "
                       f"{TABLE}_fts WHERE {TABLE}_fts MATCH :w)",
                "w": word, "_shape": "array"}))[0]["n"],
            "postgres_fts": pg_rows(f"SELECT count(*) AS n FROM {pg_t} WHERE _full_text @@ "
                                    "plainto_tsquery('english', %s)", [word])[0]["n"],
            "duckdb_on_csv": facts["search_rows"],
        }  # fmt: skip
        warnings = check_answers(rows, answers)
        if len(set(counts.values())) != 1:
            warnings.append(f"{rows:,} rows: (c) match counts differ: {counts}")
        result["search_match_counts"] = counts
        result["warnings"] = warnings
        for w in warnings:
            print(f"WARNING: {w}", flush=True)
        if not warnings:
            print("answers agree: (a), (b) and (c) give the same rows on every engine", flush=True)

        # -- the engine-alone reference: statedata's own SQL on DuckDB in this process
        duck = duckdb_connection(home)
        duck_sql = {
            "a": statedata_sql(home, dataset_id, q["a"]["statedata"]),
            "b": statedata_sql(home, dataset_id, q["b"]["statedata"](deep)),
            "c": statedata_sql(home, dataset_id, q["c"]["statedata"]),
        }
        result["statedata_sql"] = duck_sql

        # -- medians
        print(f"timing (a), (b), (c): {args.repeat} runs each after 2 warm-ups ...", flush=True)
        timings: dict[str, dict[str, dict]] = {"a": {}, "b": {}, "c": {}}
        rep = args.repeat
        timings["a"]["statedata"] = timed(http_fn(sd, q["a"]["statedata"]), rep)
        timings["a"]["datasette"] = timed(http_fn(ds, q["a"]["datasette"]), rep)
        timings["a"]["postgres"] = timed(lambda: pg_rows(q["a"]["postgres"].format(t=pg_t)), rep)
        timings["a"]["duckdb"] = timed(lambda: duck.execute(duck_sql["a"]).fetchall(), rep)
        timings["b"]["statedata"] = timed(http_fn(sd, q["b"]["statedata"](deep)), rep)
        timings["b"]["statedata_by_row_id"] = timed(
            http_fn(sd, q["b"]["statedata_by_row_id"](deep)), rep
        )
        timings["b"]["datasette"] = timed(http_fn(ds, q["b"]["datasette"](deep)), rep)
        timings["b"]["postgres"] = timed(
            lambda: pg_rows(q["b"]["postgres"].format(t=pg_t, o=deep)), rep
        )
        timings["b"]["duckdb"] = timed(lambda: duck.execute(duck_sql["b"]).fetchall(), rep)
        timings["c"]["statedata"] = timed(http_fn(sd, q["c"]["statedata"]), rep)
        timings["c"]["datasette"] = timed(http_fn(ds, q["c"]["datasette"]), rep)
        for form in ("postgres_fts", "postgres_fts_unordered"):
            timings["c"][form] = timed(
                lambda f=form: pg_rows(q["c"][f].format(t=pg_t), [word]), rep
            )
        timings["c"]["postgres_ilike"] = timed(
            lambda: pg_rows(q["c"]["postgres_ilike"].format(t=pg_t), [f"%{word}%"]), rep
        )
        timings["c"]["duckdb"] = timed(lambda: duck.execute(duck_sql["c"]).fetchall(), rep)
        duck.close()
        sd.close()
        ds.close()
        result["timings"] = timings

        # -- throughput
        tp = {}
        for name, server, maker, headers in (
            ("statedata", statedata, q["b"]["statedata"], app_token),
            ("datasette", datasette, q["b"]["datasette"], None),
            ("statedata_by_row_id", statedata, q["b"]["statedata_by_row_id"], app_token),
        ):
            print(f"(d) {name}: {args.clients} clients for {args.duration:g} s ...", flush=True)
            tp[name] = throughput(
                server.port, maker, deep, args.clients, args.duration, seed=rows,
                headers=headers, server_pid=server.proc.pid,
            )  # fmt: skip
        result["throughput"] = tp
    finally:
        pg.close()
        statedata.stop()
        datasette.stop()
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def report(result: dict) -> str:
    t, tp = result["timings"], result["throughput"]
    lines = [
        f"{result['rows']:,} rows: (b) offset {result['deep_offset']:,} of "
        f"{result['facts']['page_rows']:,} '{PAGE_CATEGORY}' rows; (c) '{result['word']}' "
        f"({result['facts']['search_rows']:,} matching rows)",
        "",
    ]

    def ms(q: str, engine: str) -> float | None:
        entry = t[q].get(engine)
        return entry["median_ms"] if entry else None

    rows = [
        ["statedata (SODA over HTTP)", ms("a", "statedata"), ms("b", "statedata"),
         ms("c", "statedata"), tp["statedata"]["rps"], tp["statedata"]["errors"]],
        ["  (b), (d) with $order=:id", None, ms("b", "statedata_by_row_id"), None,
         tp.get("statedata_by_row_id", {}).get("rps"),
         tp.get("statedata_by_row_id", {}).get("errors")],
        ["Datasette 0.65.5 (JSON over HTTP)", ms("a", "datasette"), ms("b", "datasette"),
         ms("c", "datasette"), tp["datasette"]["rps"], tp["datasette"]["errors"]],
        ["PostgreSQL 15 (engine, psycopg) FTS", ms("a", "postgres"), ms("b", "postgres"),
         ms("c", "postgres_fts"), None, None],
        ["  (c) FTS without ORDER BY", None, None, ms("c", "postgres_fts_unordered"), None, None],
        ["  (c) ILIKE substring", None, None, ms("c", "postgres_ilike"), None, None],
        ["DuckDB alone, SQL without index", ms("a", "duckdb"), ms("b", "duckdb"),
         ms("c", "duckdb"), None, None],
    ]  # fmt: skip
    lines.append(table(
        ["engine", "(a) agg ms", "(b) page ms", "(c) search ms", "(d) req/s", "(d) errors"], rows
    ))  # fmt: skip
    lines.append(
        f"(d) latency p50/p95/p99 ms: statedata {tp['statedata']['p50_ms']}/"
        f"{tp['statedata']['p95_ms']}/{tp['statedata']['p99_ms']}, datasette "
        f"{tp['datasette']['p50_ms']}/{tp['datasette']['p95_ms']}/{tp['datasette']['p99_ms']}"
    )
    sds, dss = tp["statedata"].get("server", {}), tp["datasette"].get("server", {})
    lines.append(
        f"(d) server RSS MB before -> peak (threads): statedata {sds.get('rss_before_mb')} -> "
        f"{sds.get('peak_rss_mb')} ({sds.get('peak_threads')}), datasette "
        f"{dss.get('rss_before_mb')} -> {dss.get('peak_rss_mb')} ({dss.get('peak_threads')})"
    )
    lines.append("")

    def ratio(
        name: str,
        mine: float | None,
        theirs: float | None,
        target: float,
        higher_is_better: bool = False,
    ) -> list:
        if not mine or not theirs:
            return [name, None, target, "n/a"]
        value = mine / theirs if higher_is_better else theirs / mine
        return [name, round(value, 2), target, "meets" if value >= target else "BELOW"]

    errors_ok = tp["statedata"]["errors"] == 0
    ratios = [
        ratio("(a) vs Datasette", ms("a", "statedata"), ms("a", "datasette"),
              TARGETS["a_vs_datasette"]),
        ratio("(a) vs PostgreSQL", ms("a", "statedata"), ms("a", "postgres"),
              TARGETS["a_vs_postgres"]),
        ratio("(b) vs Datasette", ms("b", "statedata"), ms("b", "datasette"),
              TARGETS["b_vs_datasette"]),
        ratio("(b) vs PostgreSQL", ms("b", "statedata"), ms("b", "postgres"),
              TARGETS["b_vs_postgres"]),
        ratio("(c) vs PostgreSQL FTS (ORDER BY id)", ms("c", "statedata"),
              ms("c", "postgres_fts"), TARGETS["c_vs_postgres"]),
        ratio("(c) vs PostgreSQL FTS (no ORDER BY)", ms("c", "statedata"),
              ms("c", "postgres_fts_unordered"), TARGETS["c_vs_postgres"]),
        ratio("(c) vs PostgreSQL ILIKE", ms("c", "statedata"), ms("c", "postgres_ilike"),
              TARGETS["c_vs_postgres"]),
        ratio("(c) vs Datasette FTS5", ms("c", "statedata"), ms("c", "datasette"),
              TARGETS["c_vs_datasette"]),
        ratio("(d) req/s vs Datasette", tp["statedata"]["rps"], tp["datasette"]["rps"],
              TARGETS["d_vs_datasette"], higher_is_better=True),
    ]  # fmt: skip
    ratios.insert(
        4,
        ratio(
            "(b) $order=:id vs Datasette",
            ms("b", "statedata_by_row_id"),
            ms("b", "datasette"),
            TARGETS["b_vs_datasette"],
        ),
    )
    ratios.insert(
        5,
        ratio(
            "(b) $order=:id vs PostgreSQL",
            ms("b", "statedata_by_row_id"),
            ms("b", "postgres"),
            TARGETS["b_vs_postgres"],
        ),
    )
    ratios.append(
        ratio(
            "(d) $order=:id req/s vs Datasette",
            tp.get("statedata_by_row_id", {}).get("rps"),
            tp["datasette"]["rps"],
            TARGETS["d_vs_datasette"],
            higher_is_better=True,
        )
    )
    errors_ok = errors_ok and tp.get("statedata_by_row_id", {}).get("errors", 0) == 0
    all_errors = tp["statedata"]["errors"] + tp.get("statedata_by_row_id", {}).get("errors", 0)
    ratios.append(["(d) statedata errors", all_errors, 0,
                   "meets" if errors_ok else "BELOW"])  # fmt: skip
    result["ratios"] = {r[0]: {"ratio": r[1], "target": r[2], "verdict": r[3]} for r in ratios}
    lines.append(table(["statedata is ... faster", "x", "target", "verdict"], ratios))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="one size")
    parser.add_argument(
        "--sizes", default=None, help="comma-separated sizes, e.g. 1000000,10000000"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of (d) per server")
    parser.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "query")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")] if args.sizes else [args.rows]

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "logs" / "setup.log"
    began = time.perf_counter()
    venv = peers_venv(workdir, log)
    import duckdb
    import psycopg

    versions = {
        "duckdb": duckdb.__version__,
        "psycopg": psycopg.__version__,
        "datasette": run([str(venv / "bin" / "datasette"), "--version"], log).strip(),
        "sqlite": run([str(venv / "bin" / "python"), "-c",
                       "import sqlite3; print(sqlite3.sqlite_version)"], log).strip(),
    }  # fmt: skip
    with psycopg.connect(args.pg_url, autocommit=True) as con:
        versions["postgres"] = con.execute("SHOW server_version").fetchone()[0]
        versions["postgres_shared_buffers"] = con.execute("SHOW shared_buffers").fetchone()[0]
        versions["postgres_work_mem"] = con.execute("SHOW work_mem").fetchone()[0]
    results = []
    reports = []
    for rows in sizes:
        result = bench_size(rows, args, workdir, venv, log)
        text = report(result)
        print("\n" + text, flush=True)
        results.append(result)
        reports.append(text)
    info = machine()
    out = {
        "machine": info,
        "versions": versions,
        "settings": {"repeat": args.repeat, "clients": args.clients, "duration": args.duration},
        "results": results,
        "wall_s": round(time.perf_counter() - began, 1),
    }
    path = REPO / "bench" / "out" / "query-results.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print("\n" + "\n\n".join(reports))
    print(
        f"\nversions: {versions}\nmachine: {info.get('cpu_model')}, {info['cpus_logical']} CPUs, "
        f"{info['memory_gb']} GB; load average at the end {info['load_average']}\n"
        f"whole run {out['wall_s']} s; results in {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
