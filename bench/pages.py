"""Benchmark of the portal's pages (issue #6): each page type rendered by `statedata serve` on
the demo portal, median time to the whole HTML answer over loopback.

Target (there is no peer to compare with): under 100 ms at the median for every page type.

    .venv/bin/python bench/pages.py [--repeat 30] [--workdir bench/out]

The demo is built once in `<workdir>/pages-home` (as `make demo` builds it) and reused.
The first request of each page is a warm-up and is not counted (it builds the search index
and fills the caches a running server has).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "statedata")
TARGET_MS = 100.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_home(workdir: Path) -> Path:
    home = workdir / "pages-home"
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([CLI, "demo", "--home", str(home)], check=True, stdout=subprocess.DEVNULL)
    return home


def page_paths(client: httpx.Client) -> dict[str, str]:
    """One address of each page type, found on the demo itself."""
    datasets = client.get("/api/v1/datasets", params={"limit": 1000}).json()["results"]
    with_rows = next(d for d in datasets if d.get("row_count"))
    agency = next(d["agency"]["code"] for d in datasets if d.get("agency"))
    columns = client.get(f"/api/v1/datasets/{with_rows['id']}").json()["columns"]
    sort_by = columns[-1]["field_name"]
    # /d/{id} answers with a redirect to data.ct.gov's form of the address; time that page.
    canonical = client.get(f"/d/{with_rows['id']}", headers={"Accept": "text/html"})
    dataset_path = canonical.headers.get("location", f"/d/{with_rows['id']}")
    paths = {
        "home": "/",
        "browse (words)": "/browse?q=school+budget",
        "browse (facet)": "/browse?category=Health+and+Human+Services",
        "dataset": dataset_path,
        "preview, sorted": f"/d/{with_rows['id']}/preview?sort={sort_by}&desc=1",
        "agency": f"/agencies/{agency}",
        "agencies": "/agencies",
        "glossary": "/glossary",
        "suggestions": "/suggestions",
        "suggest form": "/suggestions/new",
        "sign in": "/signin",
        "stories": "/stories",
        "metrics": "/metrics",
    }
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    home = demo_home(args.workdir)
    port = free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--home", str(home), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = {}
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        html = {"Accept": "text/html"}
        for name, path in page_paths(client).items():
            first = client.get(path, headers=html)
            if first.status_code != 200:
                results[name] = {"path": path, "status": first.status_code}
                continue
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                answer = client.get(path, headers=html)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            results[name] = {
                "path": path,
                "median_ms": round(statistics.median(times), 2),
                "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 2),
                "bytes": len(answer.content),
            }
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{'page':<22} {'median ms':>10} {'p90 ms':>8} {'target':>7} {'median/target':>14}")
    for name, figures in results.items():
        if "median_ms" not in figures:
            print(f"{name:<22} status {figures['status']} at {figures['path']}")
            continue
        ratio = figures["median_ms"] / TARGET_MS
        print(
            f"{name:<22} {figures['median_ms']:>10.2f} {figures['p90_ms']:>8.2f} "
            f"{TARGET_MS:>7.0f} {ratio:>14.2f}"
        )
    print(f"load average: {os.getloadavg()}")
    out = args.workdir / "pages-results.json"
    out.write_text(json.dumps({"results": results, "load": os.getloadavg()}, indent=2))
    print(f"Written to {out}")


if __name__ == "__main__":
    sys.exit(main())
