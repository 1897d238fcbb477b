"""Catalog search benchmark (issue #6): statedata's search next to SQLite FTS5, same text.

Generates N datasets (100,000 by default) whose titles, descriptions, tags, agencies and
categories are drawn from Zipf-distributed vocabularies (a few words are everywhere, most are
rare, as in a real catalog), then indexes them twice:

1. statedata's search index (`statedata.search.engine.Engine`, tantivy), from plain `Record`s;
2. SQLite FTS5 (stdlib sqlite3, porter stemming, bm25 with the same field weights) over the
   same title, description, tags, agency name and category, with a side table for the facets.

Then, for broad, medium and rare single words and two-word queries, times top-20 plus two
facet counts (agency, category), as the public (open datasets only) would ask:

- statedata: `Engine.search(q, Visibility(), facets=("agency", "category"))`, the method
  `statedata.search.search()` calls after it has checked its input and compared the catalog's
  watermark (one small SQL statement, not timed here since there is no catalog database);
  it includes the visibility filter, the fuzzy retry when nothing matches, reading the 20 hits'
  stored fields and their highlighted snippets;
- statedata, all facets: the same with all eight facets, as /api/v1/search answers;
- FTS5: `SELECT ... WHERE docs MATCH ? AND open ORDER BY bm25(...) LIMIT 20`, a count, and two
  `GROUP BY` counts over the same match.

Prints the median per query class and overall, and the ratio FTS5 / statedata. Writes the
figures to WORKDIR/search-results.json. It only measures; it asserts nothing.

    .venv/bin/python bench/search.py [--datasets 100000] [--workdir bench/out] [--repeat 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

from statedata.search.engine import Engine, Visibility
from statedata.search.records import Record

SEED = 20261126
CIVIC = [
    "data",
    "report",
    "annual",
    "state",
    "town",
    "county",
    "public",
    "health",
    "school",
    "student",
    "traffic",
    "crash",
    "road",
    "bridge",
    "permit",
    "license",
    "inspection",
    "restaurant",
    "food",
    "water",
    "quality",
    "energy",
    "housing",
    "tax",
    "revenue",
    "budget",
    "payroll",
    "employee",
    "election",
    "voter",
    "crime",
    "police",
    "arrest",
    "court",
    "case",
    "hospital",
    "covid",
    "vaccine",
    "test",
    "death",
    "birth",
    "population",
    "income",
    "business",
    "grant",
    "contract",
    "vendor",
    "payment",
    "environment",
    "air",
    "emission",
    "waste",
    "park",
    "forest",
    "wildlife",
    "fishing",
    "hunting",
    "boat",
    "transit",
    "bus",
    "rail",
    "airport",
    "weather",
    "flood",
    "storm",
    "energy",
    "electric",
    "utility",
    "broadband",
    "internet",
    "library",
    "museum",
    "veteran",
    "child",
    "youth",
    "senior",
    "disability",
    "medicaid",
    "insurance",
    "claim",
    "complaint",
    "consumer",
    "recall",
    "alcohol",
    "tobacco",
    "cannabis",
    "lottery",
    "gaming",
    "casino",
    "prison",
    "inmate",
    "parole",
    "probation",
]
SYLLABLES = [a + b for a in "bcdfghklmnprstvwz" for b in ("a", "e", "i", "o", "u", "ai", "ou")]
AGENCY_WORDS = ["Department", "Office", "Commission", "Board", "Authority", "Council", "Division"]
CATEGORIES = [
    "Business",
    "Education",
    "Environment and Natural Resources",
    "Government",
    "Health and Human Services",
    "Housing and Development",
    "Local Government",
    "Public Safety",
    "Tax and Revenue",
    "Transportation",
]


def zipf_weights(n: int, s: float = 1.07) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    words = list(dict.fromkeys(CIVIC))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def generate(n: int) -> tuple[list[Record], list[str]]:
    rng = random.Random(SEED)
    vocabulary = make_vocabulary(rng, 50_000)
    weights = zipf_weights(len(vocabulary))
    tags = vocabulary[:3000]
    tag_weights = zipf_weights(len(tags), 1.2)
    agencies = [
        (f"A{i:03d}", f"{rng.choice(AGENCY_WORDS)} of {' '.join(rng.sample(CIVIC, 2)).title()}")
        for i in range(120)
    ]
    agency_weights = zipf_weights(len(agencies), 1.0)
    category_weights = zipf_weights(len(CATEGORIES), 0.8)
    records = []
    for i in range(n):
        title = " ".join(rng.choices(vocabulary, cum_weights=weights, k=rng.randint(3, 7)))
        description = " ".join(rng.choices(vocabulary, cum_weights=weights, k=rng.randint(15, 60)))
        code, name = rng.choices(agencies, cum_weights=agency_weights)[0]
        records.append(
            Record(
                id=f"{i // 10000:04d}-{i % 10000:04d}",
                title=title.capitalize(),
                description=description.capitalize() + ".",
                agency=code,
                agency_name=name,
                category=rng.choices(CATEGORIES, cum_weights=category_weights)[0],
                tags=tuple(
                    dict.fromkeys(rng.choices(tags, cum_weights=tag_weights, k=rng.randint(1, 5)))
                ),
                update_frequency=rng.choice(["R/P1D", "R/P1M", "R/P1Y", None]),
                popularity=int(rng.paretovariate(1.2)),
                # One in twenty is not open data: the public's filter has work to do.
                open=rng.random() >= 0.05,
            )
        )
    return records, vocabulary


def doc_frequencies(records: list[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        for word in set(f"{r.title} {r.description}".lower().replace(".", "").split()):
            counts[word] = counts.get(word, 0) + 1
    return counts


def query_classes(records: list[Record], rng: random.Random) -> dict[str, list[str]]:
    df = doc_frequencies(records)
    ranked = sorted(df, key=lambda w: -df[w])
    n = len(records)
    broad = [w for w in ranked if df[w] >= n * 0.05][:20]
    medium = [w for w in ranked if n * 0.002 <= df[w] <= n * 0.01]
    rare = [w for w in ranked if 2 <= df[w] <= 20]
    classes = {
        "broad": rng.sample(broad, min(10, len(broad))),
        "medium": rng.sample(medium, min(10, len(medium))),
        "rare": rng.sample(rare, min(10, len(rare))),
    }
    classes["two words"] = [f"{rng.choice(broad)} {rng.choice(medium)}" for _ in range(5)] + [
        f"{rng.choice(medium)} {rng.choice(medium)}" for _ in range(5)
    ]
    return classes


def build_statedata(records: list[Record], folder: Path) -> tuple[Engine, float]:
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    engine = Engine(folder, facet_cache=0)  # every query counted afresh: no cached facets
    engine.write(records)
    return engine, time.perf_counter() - started


def build_fts5(records: list[Record], path: Path) -> tuple[sqlite3.Connection, float]:
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE meta (rowid INTEGER PRIMARY KEY, id TEXT, agency TEXT, category TEXT, "
        "open INTEGER)"
    )
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, keywords, description, "
        "tokenize='porter unicode61')"
    )
    with db:
        for n, r in enumerate(records, 1):
            keywords = " ".join([*r.tags, r.category, r.agency_name, r.agency])
            db.execute(
                "INSERT INTO meta VALUES (?, ?, ?, ?, ?)",
                (n, r.id, r.agency, r.category, int(r.open)),
            )
            db.execute(
                "INSERT INTO docs (rowid, title, keywords, description) VALUES (?, ?, ?, ?)",
                (n, r.title, keywords, r.description),
            )
    db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    db.commit()
    return db, time.perf_counter() - started


def fts5_query(db: sqlite3.Connection, q: str) -> tuple[int, list[str], dict, dict]:
    match = " ".join('"' + w.replace('"', '""') + '"' for w in q.split())
    where = "docs MATCH ? AND meta.open = 1"
    # CROSS JOIN keeps SQLite's planner from scanning meta first: the match drives the join.
    join = "FROM docs CROSS JOIN meta ON meta.rowid = docs.rowid"
    top = [
        row[0]
        for row in db.execute(
            f"SELECT meta.id {join} WHERE {where} ORDER BY bm25(docs, 4.0, 2.0, 1.0) LIMIT 20",
            (match,),
        )
    ]
    total = db.execute(f"SELECT count(*) {join} WHERE {where}", (match,)).fetchone()[0]
    agencies = dict(
        db.execute(f"SELECT meta.agency, count(*) {join} WHERE {where} GROUP BY 1", (match,))
    )
    categories = dict(
        db.execute(f"SELECT meta.category, count(*) {join} WHERE {where} GROUP BY 1", (match,))
    )
    return total, top, agencies, categories


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds of `repeat` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    records, _ = generate(args.datasets)
    print(f"generated {len(records):,} datasets in {time.perf_counter() - started:.1f} s")
    classes = query_classes(records, random.Random(SEED + 1))
    engine, statedata_build = build_statedata(records, args.workdir / "search-bench-index")
    print(f"statedata index built in {statedata_build:.1f} s")
    db, fts_build = build_fts5(records, args.workdir / "search-bench-fts5.sqlite")
    print(f"FTS5 index built in {fts_build:.1f} s")

    public = Visibility()
    rows = []
    for name, queries in classes.items():
        for q in queries:
            ours = engine.search(q, public, facets=("agency", "category"))
            theirs = fts5_query(db, q)
            rows.append(
                {
                    "class": name,
                    "q": q,
                    "total": ours.total,
                    "fts5_total": theirs[0],
                    "statedata_ms": timed(
                        lambda q=q: engine.search(q, public, facets=("agency", "category")),
                        args.repeat,
                    ),
                    "statedata_all_facets_ms": timed(
                        lambda q=q: engine.search(q, public), args.repeat
                    ),
                    "fts5_ms": timed(lambda q=q: fts5_query(db, q), args.repeat),
                }
            )

    def summary(selected: list[dict]) -> dict:
        ours = statistics.median(r["statedata_ms"] for r in selected)
        everything = statistics.median(r["statedata_all_facets_ms"] for r in selected)
        theirs = statistics.median(r["fts5_ms"] for r in selected)
        return {
            "queries": len(selected),
            "median_hits": statistics.median(r["total"] for r in selected),
            "statedata_ms": round(ours, 2),
            "statedata_all_facets_ms": round(everything, 2),
            "fts5_ms": round(theirs, 2),
            "fts5_over_statedata": round(theirs / ours, 1) if ours else None,
            "statedata_max_ms": round(max(r["statedata_ms"] for r in selected), 2),
            "fts5_max_ms": round(max(r["fts5_ms"] for r in selected), 2),
        }

    summaries = {name: summary([r for r in rows if r["class"] == name]) for name in classes}
    summaries["overall"] = summary(rows)
    header = (
        f"{'class':<10} {'queries':>7} {'hits':>8} {'statedata':>10} {'all facets':>11} "
        f"{'FTS5':>9} {'FTS5/sd':>8} {'sd max':>8} {'FTS5 max':>9}"
    )
    print(f"\nmedian ms, top-20 + agency and category counts, {len(records):,} datasets")
    print(header)
    for name, s in summaries.items():
        print(
            f"{name:<10} {s['queries']:>7} {s['median_hits']:>8.0f} {s['statedata_ms']:>10.2f} "
            f"{s['statedata_all_facets_ms']:>11.2f} {s['fts5_ms']:>9.2f} "
            f"{s['fts5_over_statedata']:>7.1f}x {s['statedata_max_ms']:>8.2f} "
            f"{s['fts5_max_ms']:>9.2f}"
        )
    target = summaries["overall"]["statedata_ms"]
    print(f"\ntarget: statedata median under 5 ms: {'met' if target < 5 else 'NOT met'}")
    results = {
        "datasets": len(records),
        "repeat": args.repeat,
        "build_s": {"statedata": round(statedata_build, 1), "fts5": round(fts_build, 1)},
        "summary": summaries,
        "queries": rows,
    }
    out = args.workdir / "search-results.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
