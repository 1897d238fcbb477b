"""Benchmark of the portal's pages (issue #6): each page type rendered by `statedata serve` on
the demo portal, median time to the whole HTML answer over loopback.

Target (there is no peer to compare with): under 100 ms at the median for every page type.

    .venv/bin/python bench/pages.py [--repeat 30] [--first-views 3] [--workdir bench/out]

The demo is built once in `<workdir>/pages-home` (as `make demo` builds it) and reused.
The first request of each page is a warm-up and is not counted (it builds the search index
and fills the caches a running server has).

Pages for signed-in people (the data requests and the story editor) are read as the demo's
CDO, who sees every request and every story, signed in through the sign-in form with the
demo password; the story preview is posted as htmx posts it, with the edit form's fields and
its CSRF token.

The chart builder's "Where?" map reads the distinct names of the text columns of the dataset
and of the boundaries once per version file; its first view after the server starts is timed
on its own, on `--first-views` fresh servers where it is the first page ("cold") and as many
where it follows one page of another dataset's rows ("after one page").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "statedata")
TARGET_MS = 100.0
HTML = {"Accept": "text/html"}
# The demo's signed-in viewer, and its password (statedata.demo.governance).
SIGNED_IN_AS = "demo.cdo"
DEMO_PASSWORD = "statedata demo 2026"
# The "Where?" map the browser test draws: electric cars per town on the demo's town shapes.
MAP_DATASET = "Electric Vehicle Registrations by Town"
MAP_CHOICES = "chart=places&x=town&measure=sum&y=total_electric"

Send = Callable[[], httpx.Response]


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


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    """`statedata serve` on a free loopback port, once it answers; its process and address."""
    port = free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--home", str(home), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=base_url, timeout=60) as client:
        while True:
            try:
                if client.get("/api/v1/health").status_code == 200:
                    return server, base_url
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                stop(server)
                raise SystemExit("the server did not start")
            time.sleep(0.2)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def map_path(client: httpx.Client) -> str:
    """The "Where?" map page, found through the API (which reads no place names)."""
    datasets = client.get("/api/v1/datasets", params={"limit": 1000}).json()["results"]
    found = next(d for d in datasets if d["title"] == MAP_DATASET)
    return f"/d/{found['id']}/chart?{MAP_CHOICES}"


def page_paths(client: httpx.Client) -> dict[str, str]:
    """One address of each page type, found on the demo itself."""
    datasets = client.get("/api/v1/datasets", params={"limit": 1000}).json()["results"]
    with_rows = next(d for d in datasets if d.get("row_count"))
    agency = next(d["agency"]["code"] for d in datasets if d.get("agency"))
    columns = client.get(f"/api/v1/datasets/{with_rows['id']}").json()["columns"]
    sort_by = columns[-1]["field_name"]
    # /d/{id} answers with a redirect to data.ct.gov's form of the address; time that page.
    canonical = client.get(f"/d/{with_rows['id']}", headers=HTML)
    dataset_path = canonical.headers.get("location", f"/d/{with_rows['id']}")
    stories = client.get("/stories", headers=HTML).text
    story = re.search(r'href="(/stories/[a-z0-9-]+)"', stories).group(1)  # type: ignore[union-attr]
    paths = {
        "home": "/",
        "browse (words)": "/browse?q=school+budget",
        "browse (facet)": "/browse?category=Health+and+Human+Services",
        "dataset": dataset_path,
        "preview, sorted": f"/d/{with_rows['id']}/preview?sort={sort_by}&desc=1",
        "chart, Where? map": map_path(client),
        "agency": f"/agencies/{agency}",
        "agencies": "/agencies",
        "glossary": "/glossary",
        "suggestions": "/suggestions",
        "suggest form": "/suggestions/new",
        "sign in": "/signin",
        "stories": "/stories",
        "a story": story,
        "metrics": "/metrics",
    }
    return paths


class FormFields(HTMLParser):
    """What a browser sends for the form with id `form_id` (text, hidden, textarea, select),
    without the submit buttons."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside or ("name" not in found and tag != "option"):
            return
        if tag == "input" and found.get("type", "text") not in ("submit", "button", "checkbox"):
            self.fields[found["name"]] = found.get("value", "")
        elif tag == "textarea":
            self._textarea = found["name"]
            self.fields[self._textarea] = ""
        elif tag == "select":
            self._select = found["name"]
        # A select sends its selected option, else its first.
        elif (
            tag == "option"
            and self._select is not None
            and ("selected" in found or self._select not in self.fields)
        ):
            self.fields[self._select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def signed_in_pages(base_url: str) -> dict[str, tuple[str, Send]]:
    """The pages for signed-in people, each as (address, how to ask for it), on a client
    signed in through the sign-in form (its cookie kept by the client)."""
    client = httpx.Client(base_url=base_url, timeout=60)
    signed = client.post(
        "/signin", data={"name": SIGNED_IN_AS, "password": DEMO_PASSWORD, "next": "/"}
    )
    if signed.status_code != 303:
        raise SystemExit(f"signing in as {SIGNED_IN_AS} answered {signed.status_code}")
    requests_list = client.get("/data-requests", headers=HTML).text
    request_id = re.search(r'href="/data-requests/(\d+)"', requests_list).group(1)  # type: ignore[union-attr]
    desk = client.get("/staff/stories", headers=HTML).text
    slug = re.search(r'href="/staff/stories/([a-z0-9-]+)/edit"', desk).group(1)  # type: ignore[union-attr]
    edit_path = f"/staff/stories/{slug}/edit"
    form = FormFields("story-form")
    form.feed(client.get(edit_path, headers=HTML).text)
    preview = {**form.fields, "action": "preview"}
    htmx = {**HTML, "HX-Request": "true"}

    def get(path: str) -> tuple[str, Send]:
        return path, lambda: client.get(path, headers=HTML)

    return {
        "data requests": get("/data-requests"),
        "data request form": get("/data-requests/new"),
        "a data request": get(f"/data-requests/{request_id}"),
        "story desk": get("/staff/stories"),
        "new story": get("/staff/stories/new"),
        "story editor": get(edit_path),
        "story preview (htmx)": (
            "POST /staff/stories/preview",
            lambda: client.post("/staff/stories/preview", data=preview, headers=htmx),
        ),
    }


def measure(path: str, send: Send, repeat: int) -> dict:
    """Median and 90th percentile of `repeat` answers, after one warm-up."""
    first = send()
    if first.status_code != 200:
        return {"path": path, "status": first.status_code}
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = send()
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return {
        "path": path,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 2),
        "bytes": len(answer.content),
    }


def first_views(home: Path, count: int) -> dict:
    """The "Where?" map page as the first page of `count` fresh servers ("cold"), and on
    `count` more, right after a first page of another dataset's rows ("after one page", which
    has loaded the catalog's mappings and the SoQL compiler). Either way the map reads the
    distinct names of every text column of the dataset and of the boundaries (kept afterwards)
    and loads DuckDB's spatial extension."""
    found: dict = {"cold": [], "after one page": []}
    path = ""
    for _ in range(count):
        for kind, times in found.items():
            server, base_url = start_server(home)
            try:
                with httpx.Client(base_url=base_url, timeout=60) as client:
                    path = map_path(client)
                    if kind == "after one page":
                        other = page_paths_first_rows(client, path)
                        assert client.get(other, headers=HTML).status_code == 200, other
                    started = time.perf_counter()
                    answer = client.get(path, headers=HTML)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
            finally:
                stop(server)
    return {
        "path": path,
        **{
            kind: {
                "median_ms": round(statistics.median(times), 2),
                "times_ms": [round(t, 2) for t in times],
            }
            for kind, times in found.items()
        },
    }


def page_paths_first_rows(client: httpx.Client, map_page: str) -> str:
    """The rows fragment of a dataset other than the map's (it draws no chart form)."""
    datasets = client.get("/api/v1/datasets", params={"limit": 1000}).json()["results"]
    other = next(d for d in datasets if d.get("row_count") and d["id"] not in map_page)
    return f"/d/{other['id']}/preview"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--first-views", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    home = demo_home(args.workdir)
    first = first_views(home, args.first_views) if args.first_views > 0 else None
    server, base_url = start_server(home)
    results = {}
    try:
        client = httpx.Client(base_url=base_url, timeout=60)
        for name, path in page_paths(client).items():
            results[name] = measure(path, lambda p=path: client.get(p, headers=HTML), args.repeat)
        for name, (path, send) in signed_in_pages(base_url).items():
            results[name] = measure(path, send, args.repeat)
    finally:
        stop(server)
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
    if first is not None:
        for kind in ("cold", "after one page"):
            each = ", ".join(f"{t:.0f}" for t in first[kind]["times_ms"])
            print(
                f"Where? map, first view, {kind}: median {first[kind]['median_ms']:.2f} ms "
                f"({each} ms)"
            )
    print(f"load average: {os.getloadavg()}")
    out = args.workdir / "pages-results.json"
    out.write_text(
        json.dumps({"results": results, "map_first_view": first, "load": os.getloadavg()}, indent=2)
    )
    print(f"Written to {out}")


if __name__ == "__main__":
    sys.exit(main())
